-- Served-first answers and honest idempotency keys (issue 14, "Item security"):
--   * record_answer accepts only a question serve_question put into this session and not answered yet
--     (PT409 question_not_served / question_already_answered), and no answer past the session's
--     target_questions (PT409 session_target_reached); serve_question serves no more than target_questions.
--     Refused answers write nothing, so submit_answer returns no key for them: a learner obtains the keys of
--     served-and-answered questions only.
--   * each answer stores its canonical request (session_questions.request); a key reused with another body
--     is refused with PT409 idempotency_key_reused and changes nothing; the same body replays as before.
-- Functions redefined from 20261123101300_session_rpcs.sql
-- (serve_question) and 20261123103000_learner_context_rpcs.sql (answer_context).

alter table public.session_questions add column request jsonb;
comment on column public.session_questions.request is
  'Canonical body of the answer submission (private.answer_request): a reused idempotency key must carry it.';

-- The fields of a submission that make it "the same request" (answered_at and is_correct are the server's).
create or replace function private.answer_request(p_answer jsonb)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'session_id', lower(p_answer ->> 'session_id'),
    'question_id', (p_answer ->> 'question_id')::bigint,
    'user_answer', coalesce(p_answer -> 'user_answer', 'null'::jsonb),
    'confidence_score', coalesce((p_answer ->> 'confidence_score')::integer, 3),
    'time_spent_seconds', (p_answer ->> 'time_spent_seconds')::double precision,
    'hint_used', coalesce((p_answer ->> 'hint_used')::boolean, false),
    'solution_viewed', coalesce((p_answer ->> 'solution_viewed')::boolean, false))
$$;
revoke execute on function private.answer_request(jsonb) from public, anon, authenticated, service_role;
grant execute on function private.answer_request(jsonb) to service_role;

-- A stored answer replays only for the same request; rows from before this migration carry none and replay.
create or replace function private.require_same_request(p_existing public.session_questions, p_request jsonb)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_existing.request is not null and p_existing.request <> p_request then
    raise exception using errcode = 'PT409', message = 'idempotency_key_reused',
      detail = 'this idempotency key was used for another answer',
      hint = 'send a fresh idempotency key for a new answer';
  end if;
end;
$$;
revoke execute on function private.require_same_request(public.session_questions, jsonb)
  from public, anon, authenticated, service_role;
grant execute on function private.require_same_request(public.session_questions, jsonb) to service_role;

-- The session's answer cap: filters.target_questions (start_session always sets it; 20 = the service default).
create or replace function private.session_target(p_session public.practice_sessions)
returns integer
language sql
immutable
set search_path = ''
as $$
  select coalesce((p_session.filters ->> 'target_questions')::integer, 20)
$$;
revoke execute on function private.session_target(public.practice_sessions) from public, anon, authenticated, service_role;
grant execute on function private.session_target(public.practice_sessions) to service_role;

-- record_answer's served-first checks (question_not_served, question_already_answered, session_target_reached,
-- idempotency_key_reused) are in its one later definition, 20261207010300_repeat_answer_evidence.sql (after the
-- answer limit of 20261207010100 and the difficulty bound of 20261207010200): none of these has been deployed, so
-- the intermediate full copies are not kept.

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

-- answer_context: the earlier answer under this key now carries its canonical request, so the service can
-- refuse a reused key before computing anything.
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
    'session', (select jsonb_build_object('id', s.id, 'status', s.status)
                from public.practice_sessions s, me
                where s.id = p_session_id and s.user_id = me.user_id),
    'answered', (select count(*) from public.session_questions sq, me
                 where sq.session_id = p_session_id and sq.user_id = me.user_id
                   and sq.answered_at is not null and sq.question_id <> p_question_id),
    'correct', (select count(*) from public.session_questions sq, me
                where sq.session_id = p_session_id and sq.user_id = me.user_id
                  and sq.answered_at is not null and sq.question_id <> p_question_id and sq.is_correct),
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
