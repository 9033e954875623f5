-- Maintenance bookkeeping: one row per (run_date, step) so the scheduled function can skip a step
-- already done for that date. Service role only.

create table public.maintenance_runs (
  run_date date not null,
  step text not null check (step ~ '^[a-z][a-z0-9_]*$'),
  counts jsonb not null default '{}'::jsonb,
  runs integer not null default 1 check (runs >= 1),   -- how many times the step was (re)applied
  started_at timestamptz not null default now(),
  finished_at timestamptz not null default now(),
  primary key (run_date, step)
);

alter table public.maintenance_runs enable row level security;

revoke all on public.maintenance_runs from anon, authenticated;
revoke truncate, references, trigger on public.maintenance_runs from service_role;
