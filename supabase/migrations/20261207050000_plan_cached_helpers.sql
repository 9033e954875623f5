-- Plan-cached helpers (issue 16). A `language sql` function that cannot be inlined (it has a SET clause, or is
-- security definer) is parsed and planned again on every call: PostgreSQL caches a SQL function's plan only
-- for the duration of the calling statement (src/backend/executor/functions.c, init_sql_fcache), and a
-- plpgsql caller evaluates it per transaction. record_answer and serve_question call these four once or
-- more per answer. plpgsql keeps the compiled function and its statement plans for the session (the
-- connection PostgREST or Supavisor holds), so the same body costs its execution only.
-- Measured on the 1M-answer data (benchmarks/bench_db.py): private.is_anonymous_learner 0.21 -> 0.09 ms
-- backend CPU per call. Every body below is the latest one, unchanged; only the language differs.

-- private.answer_request: the body of 20261207010000_served_first_answers.sql, unchanged, in plpgsql
create or replace function private.answer_request(p_answer jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select jsonb_build_object(
      'session_id', lower(p_answer ->> 'session_id'),
      'question_id', (p_answer ->> 'question_id')::bigint,
      'user_answer', coalesce(p_answer -> 'user_answer', 'null'::jsonb),
      'confidence_score', coalesce((p_answer ->> 'confidence_score')::integer, 3),
      'time_spent_seconds', (p_answer ->> 'time_spent_seconds')::double precision,
      'hint_used', coalesce((p_answer ->> 'hint_used')::boolean, false),
      'solution_viewed', coalesce((p_answer ->> 'solution_viewed')::boolean, false))
  );
end;
$$;
revoke execute on function private.answer_request(jsonb) from public, anon, authenticated, service_role;
grant execute on function private.answer_request(jsonb) to service_role;

-- private.session_target: the body of 20261207010000_served_first_answers.sql, unchanged, in plpgsql
create or replace function private.session_target(p_session public.practice_sessions)
returns integer
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select coalesce((p_session.filters ->> 'target_questions')::integer, 20)
  );
end;
$$;
revoke execute on function private.session_target(public.practice_sessions) from public, anon, authenticated, service_role;
grant execute on function private.session_target(public.practice_sessions) to service_role;

-- private.is_anonymous_learner: the body of 20261206210000_anonymous_learners.sql, unchanged, in plpgsql
create or replace function private.is_anonymous_learner(p_user_id uuid)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (
    select coalesce((select u.is_anonymous from auth.users u where u.id = p_user_id), false)
  );
end;
$$;
revoke execute on function private.is_anonymous_learner(uuid) from public, anon, authenticated, service_role;
grant execute on function private.is_anonymous_learner(uuid) to service_role;

-- private.answered_recently: the body of 20261207010300_repeat_answer_evidence.sql, unchanged, in plpgsql
create or replace function private.answered_recently(p_user_id uuid, p_question_id bigint, p_except uuid)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  return (
    select exists (select 1 from public.session_questions sq
                   where sq.user_id = p_user_id and sq.question_id = p_question_id and sq.id <> p_except
                     and sq.answered_at > now() - interval '7 days')
  );
end;
$$;
revoke execute on function private.answered_recently(uuid, bigint, uuid) from public, anon, authenticated, service_role;
grant execute on function private.answered_recently(uuid, bigint, uuid) to service_role;

