-- Performance snapshots (seed 000): one per completed session ('session_complete', related_id =
-- session id) and one per learner per day ('daily'). Written by service-role RPCs only.

create table public.user_performance_snapshots (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  snapshot_type text not null check (snapshot_type in ('session_complete', 'daily')),
  snapshot_date date not null default (now() at time zone 'UTC')::date,
  related_id uuid,                                   -- practice session for 'session_complete'
  avg_mastery double precision check (avg_mastery between 0 and 1),
  skills_tracked integer not null default 0 check (skills_tracked >= 0),
  predicted_score double precision,                  -- predicted exam score (point estimate)
  predicted_score_low double precision,              -- interval (e.g. 80 %)
  predicted_score_high double precision,
  predicted_section_scores jsonb not null default '{}'::jsonb,  -- {"math": {"score":…, "low":…, "high":…}}
  questions_answered integer not null default 0 check (questions_answered >= 0),  -- in the session / day
  correct_answers integer not null default 0 check (correct_answers >= 0),
  total_questions_answered integer not null default 0 check (total_questions_answered >= 0),  -- all time
  snapshot_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  check (predicted_score_low is null or predicted_score_high is null or predicted_score_low <= predicted_score_high),
  check ((snapshot_type = 'session_complete') = (related_id is not null))
);
create index user_performance_snapshots_user_id_created_at_idx
  on public.user_performance_snapshots (user_id, created_at desc);
create unique index user_performance_snapshots_session_uidx
  on public.user_performance_snapshots (related_id) where snapshot_type = 'session_complete';
create unique index user_performance_snapshots_daily_uidx
  on public.user_performance_snapshots (user_id, snapshot_date) where snapshot_type = 'daily';

alter table public.user_performance_snapshots enable row level security;

create policy "Learners can read their own performance snapshots" on public.user_performance_snapshots
  for select to authenticated using ((select auth.uid()) = user_id);

revoke all on public.user_performance_snapshots from anon;
revoke insert, update, delete, truncate, references, trigger on public.user_performance_snapshots from authenticated;
revoke truncate, references, trigger on public.user_performance_snapshots from service_role;
