-- Session modes and server-timed answers (issue 14, deliverables 1 and 4):
--   * answer_context also returns the session's mode (exam answers withhold their key, explanation and
--     correctness until complete_session) and the server's served_at of this question in this session (an
--     answer's evidence is weighed by the server's time between serving and answering, never the client's claim).
--   * exam_results(p_user_id, p_session_id): the keys, explanations and correctness of the answered questions
--     of a COMPLETED session of this learner, which complete_session returns for an exam; nothing for a
--     session still active, another learner's, or questions served but not answered.
-- Redefines answer_context from 20261207010300_repeat_answer_evidence.sql (adds session.mode and served_at).

create or replace function public.answer_context(p_session_id uuid, p_question_id bigint, p_idempotency_key text)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
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
$$;
revoke execute on function public.answer_context(uuid, bigint, text) from public, anon;
grant execute on function public.answer_context(uuid, bigint, text) to authenticated, service_role;

create or replace function public.exam_results(p_user_id uuid, p_session_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'question_id', sq.question_id, 'position', sq.position, 'user_answer', sq.user_answer,
           'is_correct', sq.is_correct, 'correct_answer', k.correct_answer, 'explanation', k.explanation)
           order by sq.position), '[]'::jsonb)
  from public.practice_sessions s
  join public.session_questions sq on sq.session_id = s.id and sq.user_id = s.user_id
  join public.question_answer_keys k on k.question_id = sq.question_id
  where s.id = p_session_id and s.user_id = p_user_id and s.status = 'completed' and sq.answered_at is not null
$$;
revoke execute on function public.exam_results(uuid, uuid) from public, anon, authenticated;
grant execute on function public.exam_results(uuid, uuid) to service_role;
