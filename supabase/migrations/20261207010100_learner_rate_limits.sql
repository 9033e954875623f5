-- Per-learner limits (issue 14, "Limits and keys"), enforced in the database so every function instance
-- shares them, by counting the learner's recent rows (no new infrastructure):
--   * session starts: at most 30 per rolling hour (PT429 rate_limited);
--   * answers: at most 300 per rolling 10 minutes, 30 a minute on average (PT429 rate_limited); a human
--     answers a question in tens of seconds, and served-first already bounds answers by what was served;
--   * active sessions: at most 3; starting another marks the least recently active ones 'abandoned'
--     (ended_at = now()), so a client that forgets complete_session keeps working and a learner cannot
--     hold unlimited open sessions. An abandoned session takes no answers (409 session_not_active).
-- PT429's detail carries {"retry_after_seconds": n}: when the oldest counted row leaves the window; the
-- functions answer 429 with that Retry-After.

create or replace function private.require_under_limit(p_limit text, p_times timestamptz[], p_max integer,
                                                       p_window interval)
returns void
language plpgsql
stable
set search_path = ''
as $$
declare
  v_oldest timestamptz;
begin
  if coalesce(cardinality(p_times), 0) < p_max then
    return;
  end if;
  -- the row whose leaving the window brings the count under the limit
  select t into v_oldest from unnest(p_times) t order by t desc offset p_max - 1 limit 1;
  raise exception using errcode = 'PT429', message = 'rate_limited',
    detail = jsonb_build_object('limit', p_limit, 'max', p_max, 'window_seconds', extract(epoch from p_window)::integer,
                                'retry_after_seconds',
                                greatest(1, ceil(extract(epoch from v_oldest + p_window - now())))::integer)::text,
    hint = 'wait Retry-After seconds';
end;
$$;
revoke execute on function private.require_under_limit(text, timestamptz[], integer, interval)
  from public, anon, authenticated, service_role;
grant execute on function private.require_under_limit(text, timestamptz[], integer, interval) to service_role;

-- start_session → the practice_sessions row as json (from 20261123101300_session_rpcs.sql, with the limits).
create or replace function public.start_session(
  p_user_id uuid,
  p_mode text default 'adaptive',
  p_filters jsonb default '{}'
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_session public.practice_sessions;
begin
  if p_user_id is null then
    raise exception using errcode = 'PT400', message = 'invalid_payload', detail = 'p_user_id is required';
  end if;
  -- one learner's session starts are serialised, so concurrent starts count each other
  perform pg_advisory_xact_lock(hashtextextended('start_session:' || p_user_id::text, 0));
  perform private.require_under_limit('session_starts', (
    select array_agg(s.started_at) from public.practice_sessions s
    where s.user_id = p_user_id and s.started_at > now() - interval '1 hour'), 30, interval '1 hour');
  -- at most 3 active sessions: starting a fourth abandons the oldest (least recently active) ones
  update public.practice_sessions s
     set status = 'abandoned', ended_at = now()
   where s.id in (select a.id from public.practice_sessions a
                  where a.user_id = p_user_id and a.status = 'active'
                  order by a.last_activity_at desc, a.started_at desc
                  offset 2);
  insert into public.practice_sessions (user_id, mode, filters)
  values (p_user_id, coalesce(p_mode, 'adaptive'), coalesce(p_filters, '{}'::jsonb))
  returning * into v_session;

  insert into public.learning_events (user_id, session_id, event_type, event_data)
  values (p_user_id, v_session.id, 'session_started',
          jsonb_build_object('mode', v_session.mode, 'filters', v_session.filters));
  return to_jsonb(v_session);
end;
$$;
revoke execute on function public.start_session(uuid, text, jsonb) from public, anon, authenticated;
grant execute on function public.start_session(uuid, text, jsonb) to service_role;

-- record_answer's answer limit (after the session lock) is in its later definition,
-- 20261207010300_repeat_answer_evidence.sql; the intermediate full copy is not kept (never deployed).
