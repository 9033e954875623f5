-- Plan-cached context reads (issue 16). answer_context (every submit_answer) and session_summary_context
-- (every complete_session) were `language sql` with `set search_path`, which PostgreSQL never inlines and
-- plans again on every call (src/backend/executor/functions.c caches a SQL function's plan only within the
-- calling statement; every PostgREST RPC is a new statement). In plpgsql the plans are cached for the
-- connection's life. answer_context measured on the 1M-answer data: 2.6 ms -> 0.5-0.7 ms backend CPU per call.
-- The bodies are the latest ones (20261207010300_repeat_answer_evidence.sql, 20261207000300_learner_numbers_
-- contexts.sql), unchanged, wrapped in `return (...)`: a later change to either body should be made here.

-- public.answer_context: the body of 20261207010300_repeat_answer_evidence.sql, unchanged, in plpgsql
create or replace function public.answer_context(p_session_id uuid, p_question_id bigint, p_idempotency_key text)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return (
    with me as (
      select auth.uid() as user_id
    ),
    question_skill as (
      select qs.skill_id, s.name, qs.elo_difficulty, qs.attempts
      from public.question_skills qs
      join public.skills s on s.id = qs.skill_id
      where qs.question_id = p_question_id
    )
    select jsonb_build_object(
      'earlier', (select jsonb_build_object('answered_at', sq.answered_at, 'response', sq.response,
                                          'request', sq.request)
                  from public.session_questions sq, me
                  where sq.user_id = me.user_id and sq.idempotency_key = p_idempotency_key),
      'session', (select jsonb_build_object('id', s.id, 'status', s.status)
                  from public.practice_sessions s, me
                  where s.id = p_session_id and s.user_id = me.user_id),
      'answered', (select count(*) from public.session_questions sq, me
                   where sq.session_id = p_session_id and sq.user_id = me.user_id
                     and sq.answered_at is not null and sq.question_id <> p_question_id),
      'correct', (select count(*) from public.session_questions sq, me
                  where sq.session_id = p_session_id and sq.user_id = me.user_id
                    and sq.answered_at is not null and sq.question_id <> p_question_id and sq.is_correct),
      -- the same cooling rule as private.answered_recently (this learner's own rows, under RLS)
      'repeat', exists (select 1 from public.session_questions sq, me
                        where sq.user_id = me.user_id and sq.question_id = p_question_id
                          and sq.session_id <> p_session_id and sq.answered_at > now() - interval '7 days'),
      'question', (select jsonb_build_object(
                     'id', q.id, 'question_type', q.question_type, 'expected_time_seconds', q.expected_time_seconds,
                     'skills', (select jsonb_agg(to_jsonb(k) order by k.skill_id) from question_skill k))
                   from public.questions q
                   where q.id = p_question_id and q.is_active and exists (select 1 from question_skill)),
      'mastery', (select coalesce(jsonb_agg(to_jsonb(m) order by m.skill_id), '[]'::jsonb)
                  from public.user_skill_mastery m, me
                  where m.user_id = me.user_id and m.skill_id in (select k.skill_id from question_skill k)),
      'bkt_params', (select coalesce(jsonb_agg(to_jsonb(b) order by b.skill_id), '[]'::jsonb)
                     from public.bkt_params b where b.skill_id in (select k.skill_id from question_skill k))
    )
  );
end;
$$;
revoke execute on function public.answer_context(uuid, bigint, text) from public, anon;
grant execute on function public.answer_context(uuid, bigint, text) to authenticated, service_role;

-- public.session_summary_context: the body of 20261207000300_learner_numbers_contexts.sql, unchanged, in plpgsql
create or replace function public.session_summary_context(p_session_id uuid)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return (
    with me as (
      select auth.uid() as user_id
    )
    select jsonb_build_object(
      'answers', (select coalesce(jsonb_agg(jsonb_build_object(
                    'question_id', sq.question_id, 'is_correct', sq.is_correct,
                    'time_spent_seconds', sq.time_spent_seconds, 'response', sq.response) order by sq.position),
                    '[]'::jsonb)
                  from public.session_questions sq, me
                  where sq.session_id = p_session_id and sq.user_id = me.user_id and sq.answered_at is not null),
      'mastery', (select coalesce(jsonb_agg(jsonb_build_object(
                    'skill_id', m.skill_id, 'effective_mastery', m.effective_mastery) order by m.skill_id), '[]'::jsonb)
                  from public.user_skill_mastery m, me where m.user_id = me.user_id),
      'skills', (select coalesce(jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name, 'topic_id', s.topic_id)
                                           order by s.id), '[]'::jsonb) from public.skills s),
      'topics', (select coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'subject_id', t.subject_id,
                                                              'exam_weight', t.exam_weight,
                                                              'exam_section', sub.exam_section) order by t.id),
                                 '[]'::jsonb)
                 from public.topics t join public.subjects sub on sub.id = t.subject_id),
      'profile', (select to_jsonb(p) from public.learner_profiles p, me where p.user_id = me.user_id)
    )
  );
end;
$$;
revoke execute on function public.session_summary_context(uuid) from public, anon;
grant execute on function public.session_summary_context(uuid) to authenticated, service_role;

