-- Maintenance bookkeeping: one row per (run_date, step), written by the scheduled function as it goes,
-- so each step reports its own status, counts, time and error, and a re-run resumes what did not finish.
--   status   running (begun, not finished: crashed or still going), done, failed (error_code says why)
--   progress the resume point of a batched step (e.g. {"after_user": "<uuid>"}) and its counts so far;
--            null once the step is done
--   seconds  time spent in the step over all its attempts
-- A step recorded `done` for a date is skipped by later runs for that date (a retried schedule changes
-- nothing). Service role only.

create table public.maintenance_runs (
  run_date date not null,
  step text not null check (step ~ '^[a-z][a-z0-9_]*$'),
  status text not null default 'running' check (status in ('running', 'done', 'failed')),
  counts jsonb not null default '{}'::jsonb,
  progress jsonb,
  error_code text check (error_code ~ '^[a-z][a-z0-9_]*$'),
  error_message text check (length(error_message) <= 2000),
  seconds double precision not null default 0 check (seconds >= 0),
  runs integer not null default 1 check (runs >= 1),   -- attempts at the step for this date
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  primary key (run_date, step),
  check ((status = 'failed') = (error_code is not null)),
  check (status = 'running' or finished_at is not null)
);
create index maintenance_runs_step_run_date_idx on public.maintenance_runs (step, run_date desc);

alter table public.maintenance_runs enable row level security;

revoke all on public.maintenance_runs from anon, authenticated;
revoke truncate, references, trigger on public.maintenance_runs from service_role;

-- Begins (or resumes) a step: returns its row. A step already done comes back with status 'done' and
-- is left as it is; otherwise the row is (re)marked running, one more attempt, keeping its progress.
create or replace function public.begin_maintenance_step(p_run_date date, p_step text)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  insert into public.maintenance_runs as mr (run_date, step)
  values (p_run_date, p_step)
  on conflict (run_date, step) do update
    set status = case when mr.status = 'done' then 'done' else 'running' end,
        runs = mr.runs + (mr.status <> 'done')::integer,
        started_at = case when mr.status = 'done' then mr.started_at else now() end,
        error_code = case when mr.status = 'done' then mr.error_code end,
        error_message = case when mr.status = 'done' then mr.error_message end
  returning to_jsonb(mr.*)
$$;

-- Saves a batched step's resume point and its counts so far (the step is still running).
create or replace function public.save_maintenance_progress(p_run_date date, p_step text, p_progress jsonb)
returns void
language sql
security invoker
set search_path = ''
as $$
  update public.maintenance_runs
     set progress = p_progress
   where run_date = p_run_date and step = p_step and status = 'running'
$$;

-- Ends an attempt: done (counts, progress cleared) or failed (error code and message, progress kept).
create or replace function public.finish_maintenance_step(
  p_run_date date, p_step text, p_status text, p_counts jsonb, p_seconds double precision,
  p_error_code text default null, p_error_message text default null)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_row jsonb;
begin
  if p_status not in ('done', 'failed') or (p_status = 'failed') <> (p_error_code is not null)
     or p_seconds is null or p_seconds < 0 then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'need p_status done (no error code) or failed (with an error code), p_seconds >= 0';
  end if;
  update public.maintenance_runs mr
     set status = p_status,
         counts = case when p_status = 'done' then coalesce(p_counts, '{}'::jsonb) else mr.counts end,
         progress = case when p_status = 'done' then null else mr.progress end,
         error_code = p_error_code,
         error_message = left(p_error_message, 2000),
         seconds = mr.seconds + p_seconds,
         finished_at = now()
   where mr.run_date = p_run_date and mr.step = p_step
  returning to_jsonb(mr.*) into v_row;
  if v_row is null then
    raise exception using errcode = 'P0002', message = 'not_found', detail = 'no such maintenance step begun';
  end if;
  return v_row;
end;
$$;

revoke execute on function public.begin_maintenance_step(date, text) from public, anon, authenticated;
revoke execute on function public.save_maintenance_progress(date, text, jsonb) from public, anon, authenticated;
revoke execute on function public.finish_maintenance_step(date, text, text, jsonb, double precision, text, text)
  from public, anon, authenticated;
grant execute on function public.begin_maintenance_step(date, text) to service_role;
grant execute on function public.save_maintenance_progress(date, text, jsonb) to service_role;
grant execute on function public.finish_maintenance_step(date, text, text, jsonb, double precision, text, text)
  to service_role;
