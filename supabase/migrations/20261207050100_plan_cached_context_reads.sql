-- Plan-cached context reads (issue 16). answer_context (every submit_answer), session_summary_context
-- (every complete_session) and insights_context (every insights) were `language sql` with
-- `set search_path`, which PostgreSQL never inlines and plans again on every call
-- (src/backend/executor/functions.c caches a SQL function's plan only within the calling statement; every
-- PostgREST RPC is a new statement). In plpgsql the plans are cached for the connection's life.
-- answer_context measured on the 1M-answer data: 2.6 ms -> 0.5-0.7 ms backend CPU per call.
-- The bodies are the latest ones (20261207010300_repeat_answer_evidence.sql, 20261207000300_learner_numbers_
-- contexts.sql) wrapped in `return (...)`; answer_context also gains the session's mode and the question's
-- served_at (issue 14, see 20261207030000_exam_results_and_answer_timing.sql). Later changes belong here.

-- public.answer_context: the body of 20261207010300_repeat_answer_evidence.sql in plpgsql, plus mode and served_at
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
      'session', (select jsonb_build_object('id', s.id, 'status', s.status, 'mode', s.mode)
                  from public.practice_sessions s, me
                  where s.id = p_session_id and s.user_id = me.user_id),
      'served_at', (select sq.served_at from public.session_questions sq, me
                    where sq.session_id = p_session_id and sq.question_id = p_question_id
                      and sq.user_id = me.user_id),
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


-- public.insights_context: the body of 20261207000300_learner_numbers_contexts.sql, unchanged, in plpgsql
create or replace function public.insights_context(p_since timestamptz)
returns json
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
    attempts as (
      select sq.session_id, sq.question_id, sq.is_correct, sq.confidence_score, sq.time_spent_seconds,
             sq.answered_at, q.expected_time_seconds, q.difficulty_label, q.topic_id
      from public.session_questions sq
      join public.questions q on q.id = sq.question_id, me
      where sq.user_id = me.user_id and sq.answered_at >= p_since and sq.is_correct is not null
      order by sq.answered_at desc
      limit 20000
    ),
    tagged as (
      select qs.question_id, array_agg(qs.skill_id order by qs.skill_id) as skill_ids
      from public.question_skills qs
      where qs.question_id in (select a.question_id from attempts a)
      group by qs.question_id
    ),
    history as (
      select h.skill_id, h.mastery_after, h.created_at
      from public.mastery_history h, me
      where h.user_id = me.user_id and h.created_at >= p_since
      order by h.created_at desc
      limit 50000
    )
    select json_build_object(
      'mastery', (select coalesce(json_agg(m order by m.skill_id), '[]'::json)
                  from public.user_skill_mastery m, me where m.user_id = me.user_id),
      'skills', (select coalesce(json_agg(json_build_object('id', s.id, 'name', s.name, 'topic_id', s.topic_id)
                                          order by s.id), '[]'::json) from public.skills s),
      'topics', (select coalesce(json_agg(json_build_object('id', t.id, 'name', t.name, 'subject_id', t.subject_id,
                                                            'exam_weight', t.exam_weight,
                                                            'exam_section', sub.exam_section) order by t.id), '[]'::json)
                 from public.topics t join public.subjects sub on sub.id = t.subject_id),
      'prerequisites', (select coalesce(json_agg(json_build_array(sp.skill_id, sp.prerequisite_skill_id)), '[]'::json)
                        from public.skill_prerequisites sp),
      'attempts', (select json_build_object(
                     'session_id', coalesce(array_agg(a.session_id order by a.answered_at), '{}'),
                     'is_correct', coalesce(array_agg(a.is_correct order by a.answered_at), '{}'),
                     'confidence_score', coalesce(array_agg(a.confidence_score order by a.answered_at), '{}'),
                     'answered_epoch', coalesce(array_agg(extract(epoch from a.answered_at) order by a.answered_at),
                                                '{}'),
                     'time_spent_seconds', coalesce(array_agg(a.time_spent_seconds order by a.answered_at), '{}'),
                     'expected_time_seconds', coalesce(array_agg(a.expected_time_seconds order by a.answered_at), '{}'),
                     'difficulty_label', coalesce(array_agg(a.difficulty_label order by a.answered_at), '{}'),
                     'topic_id', coalesce(array_agg(a.topic_id order by a.answered_at), '{}'),
                     'skill_ids', coalesce(json_agg(coalesce(t.skill_ids, '{}') order by a.answered_at), '[]'::json))
                   from attempts a left join tagged t on t.question_id = a.question_id),
      'history', (select json_build_object(
                    'skill_id', coalesce(array_agg(h.skill_id order by h.created_at), '{}'),
                    'mastery_after', coalesce(array_agg(h.mastery_after order by h.created_at), '{}'),
                    'epoch', coalesce(array_agg(extract(epoch from h.created_at) order by h.created_at), '{}'))
                  from history h),
      'sessions', (select coalesce(json_agg(json_build_object('id', s.id, 'status', s.status,
                                                              'started_at', s.started_at, 'ended_at', s.ended_at)
                                            order by s.started_at), '[]'::json)
                   from public.practice_sessions s, me
                   where s.user_id = me.user_id and s.started_at >= p_since),
      'cohort', (select coalesce(json_agg(c), '[]'::json) from public.cohort_mastery_distribution(null) c),
      -- The learner's top open gaps as the nightly job scored them (private.knowledge_gap_scores).
      'gaps', (select coalesce(json_agg(g order by g.priority_score desc, g.skill_id), '[]'::json)
               from (select kg.skill_id, kg.severity, kg.priority_score, kg.gap_score, kg.updated_at
                     from public.knowledge_gaps kg, me
                     where kg.user_id = me.user_id and kg.status = 'open'
                     order by kg.priority_score desc, kg.skill_id limit 5) g),
      'profile', (select row_to_json(p) from public.learner_profiles p, me where p.user_id = me.user_id),
      'snapshots', (select coalesce(json_agg(json_build_object(
                      'date', s.snapshot_date, 'avg_mastery', s.avg_mastery, 'predicted_score', s.predicted_score,
                      'sections', s.predicted_section_scores, 'answered', s.questions_answered,
                      'pass_probability', s.snapshot_data -> 'pass_probability')
                      order by s.snapshot_date), '[]'::json)
                    from public.user_performance_snapshots s, me
                    where s.user_id = me.user_id and s.snapshot_type = 'daily' and s.snapshot_date >= p_since::date)
    )
  );
end;
$$;
revoke execute on function public.insights_context(timestamptz) from public, anon;
grant execute on function public.insights_context(timestamptz) to authenticated, service_role;

