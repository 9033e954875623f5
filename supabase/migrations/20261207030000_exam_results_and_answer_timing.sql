-- Session modes and server-timed answers (issue 14, deliverables 1 and 4):
--   * answer_context also returns the session's mode (exam answers withhold their key, explanation and
--     correctness until complete_session) and the server's served_at of this question in this session (an
--     answer's evidence is weighed by the server's time between serving and answering, never the client's claim).
--     Its one definition with both is in 20261207050100_plan_cached_context_reads.sql (plpgsql, plan-cached).
--   * exam_results(p_user_id, p_session_id): the keys, explanations and correctness of the answered questions
--     of a COMPLETED session of this learner, which complete_session returns for an exam; nothing for a
--     session still active, another learner's, or questions served but not answered.

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
