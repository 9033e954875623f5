-- The nightly job marks sessions idle for a set time as abandoned (issue 14, deliverable 1).
--
-- A session still 'active' whose last activity (start, or its last answer) is older than the idle threshold
-- becomes 'abandoned' with ended_at = its last activity (when it really ended). Completed and already
-- abandoned sessions are never touched, so a second run changes nothing. The cutoff is taken from the run
-- date (the end of that UTC day minus the threshold), never later than now() minus the threshold, so a run
-- for a future date cannot end a session someone used within the threshold.
--
-- Hosted limits (8 s statement_timeout, db-max-rows 1000): one call updates at most p_max_rows sessions, the
-- oldest first, through the partial index below, and returns counts only (one jsonb value, never rows); the
-- maintenance step calls it until `done`. Rows another transaction holds (an answer in flight) are skipped:
-- the answer just moved their last activity anyway.

create index practice_sessions_active_last_activity_idx
  on public.practice_sessions (last_activity_at, id) where status = 'active';

create or replace function public.abandon_idle_sessions(p_run_date date, p_idle_hours double precision,
                                                        p_max_rows integer)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_cutoff timestamptz;
  v_rows integer;
begin
  if p_run_date is null or p_idle_hours is null or p_idle_hours <= 0 or p_max_rows is null or p_max_rows < 1 then
    raise exception 'abandon_idle_sessions: need a run date, p_idle_hours > 0 and p_max_rows >= 1'
      using errcode = '22023';
  end if;
  v_cutoff := least((p_run_date + 1)::timestamp at time zone 'UTC', now())
              - make_interval(secs => p_idle_hours * 3600);
  -- The slice is picked once (a materialised CTE): as an IN-subquery the planner may rescan it, and each
  -- rescan with SKIP LOCKED can pick other rows, so one call could exceed p_max_rows.
  with picked as materialized (
    select a.id from public.practice_sessions a
    where a.status = 'active' and a.last_activity_at < v_cutoff
    order by a.last_activity_at, a.id
    limit p_max_rows
    for update skip locked
  )
  update public.practice_sessions s
     set status = 'abandoned', ended_at = s.last_activity_at
    from picked
   where s.id = picked.id and s.status = 'active';
  get diagnostics v_rows = row_count;
  return jsonb_build_object('sessions_abandoned', v_rows, 'done', v_rows < p_max_rows,
                            'cutoff', v_cutoff);
end;
$$;
revoke execute on function public.abandon_idle_sessions(date, double precision, integer) from public, anon, authenticated;
grant execute on function public.abandon_idle_sessions(date, double precision, integer) to service_role;
