-- Serving rate per learner (issue 14, "Exposure control": the serving rate is bounded per learner): at most
-- 20 questions served per rolling minute across a learner's sessions, enforced where every function instance
-- shares it (PT429 rate_limited with retry_after_seconds, as 20261207010100_learner_rate_limits.sql; the
-- functions answer 429 with Retry-After). A human reads and answers a question in tens of seconds; 20 a minute
-- lets a quick learner skim, while stems cannot be pulled at machine speed. Re-serving an already served
-- question (a retried next_question) is not counted.
-- Redefines serve_question from 20261207010000_served_first_answers.sql (adds the limit).

create index session_questions_user_id_served_at_idx on public.session_questions (user_id, served_at);

create or replace function public.serve_question(
  p_user_id uuid,
  p_session_id uuid,
  p_question_id bigint,
  p_reason jsonb
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_row public.session_questions;
  v_question jsonb;
  v_session public.practice_sessions;
begin
  perform private.lock_session(p_user_id, p_session_id, false);
  select jsonb_build_object(
           'id', q.id, 'stem', q.stem, 'question_type', q.question_type, 'options', q.options,
           'exam_section', q.exam_section, 'difficulty_label', q.difficulty_label,
           'skills', (select coalesce(jsonb_agg(jsonb_build_object('skill_id', s.id, 'name', s.name) order by s.id),
                                      '[]'::jsonb)
                      from public.question_skills qs join public.skills s on s.id = qs.skill_id
                      where qs.question_id = q.id))
    into v_question
  from public.questions q where q.id = p_question_id;

  select sq.* into v_row
  from public.session_questions sq
  where sq.session_id = p_session_id and sq.question_id = p_question_id;
  if found then
    return to_jsonb(v_row) || jsonb_build_object('question', v_question);
  end if;

  v_session := private.lock_session(p_user_id, p_session_id, true);
  -- Serving rate: at most 20 new questions per learner per rolling minute, across all their sessions.
  -- One learner's serves are serialised (as their session starts are), so concurrent calls count each other.
  perform pg_advisory_xact_lock(hashtextextended('serve_question:' || p_user_id::text, 0));
  perform private.require_under_limit('questions_served', (
    select array_agg(sq.served_at) from public.session_questions sq
    where sq.user_id = p_user_id and sq.served_at > now() - interval '1 minute'), 20, interval '1 minute');
  perform private.require_question(p_question_id);
  -- target_questions caps what a session serves, and so (served-first) what it can answer.
  if (select count(*) from public.session_questions sq where sq.session_id = p_session_id)
     >= private.session_target(v_session) then
    raise exception using errcode = 'PT409', message = 'session_target_reached',
      detail = format('session %s already served its %s questions', p_session_id, private.session_target(v_session)),
      hint = 'complete the session and start a new one';
  end if;
  insert into public.session_questions (session_id, user_id, question_id, position, selection_reason)
  values (p_session_id, p_user_id, p_question_id,
          (select coalesce(max(sq.position), 0) + 1 from public.session_questions sq
           where sq.session_id = p_session_id),
          p_reason)
  returning * into v_row;

  update public.practice_sessions s set last_activity_at = now() where s.id = p_session_id;
  insert into public.learning_events (user_id, session_id, question_id, event_type, event_data)
  values (p_user_id, p_session_id, p_question_id, 'question_served',
          jsonb_build_object('position', v_row.position, 'reason', p_reason));
  return to_jsonb(v_row) || jsonb_build_object('question', v_question);
end;
$$;
revoke execute on function public.serve_question(uuid, uuid, bigint, jsonb) from public, anon, authenticated;
grant execute on function public.serve_question(uuid, uuid, bigint, jsonb) to service_role;
