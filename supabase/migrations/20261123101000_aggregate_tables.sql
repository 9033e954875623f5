-- Pre-computed analytics (seed 002): daily / weekly per learner, daily per learner × topic,
-- rolling 30/90-day + all-time metrics, and knowledge gaps. Filled by refresh_aggregates().

create table public.daily_user_stats (
  user_id uuid not null references auth.users (id) on delete cascade,
  stat_date date not null,
  questions_answered integer not null default 0,
  correct_answers integer not null default 0,
  accuracy double precision,                       -- correct / answered (0–1)
  total_time_seconds double precision not null default 0,
  avg_time_seconds double precision,
  avg_confidence double precision,
  hints_used integer not null default 0,
  solutions_viewed integer not null default 0,
  sessions_started integer not null default 0,
  sessions_completed integer not null default 0,
  skills_practiced integer not null default 0,
  mastery_gained double precision not null default 0,   -- sum of mastery_history deltas that day
  updated_at timestamptz not null default now(),
  primary key (user_id, stat_date)
);

create table public.weekly_user_stats (
  user_id uuid not null references auth.users (id) on delete cascade,
  week_start date not null check (extract(isodow from week_start) = 1),   -- Monday
  questions_answered integer not null default 0,
  correct_answers integer not null default 0,
  accuracy double precision,
  accuracy_change double precision,               -- vs the previous week (percentage points)
  total_time_seconds double precision not null default 0,
  active_days integer not null default 0 check (active_days between 0 and 7),
  sessions_completed integer not null default 0,
  skills_practiced integer not null default 0,
  mastery_gained double precision not null default 0,
  updated_at timestamptz not null default now(),
  primary key (user_id, week_start)
);

create table public.topic_daily_stats (
  user_id uuid not null references auth.users (id) on delete cascade,
  topic_id bigint not null references public.topics (id) on delete cascade,
  stat_date date not null,
  questions_answered integer not null default 0,
  correct_answers integer not null default 0,
  accuracy double precision,
  avg_time_seconds double precision,
  avg_mastery double precision,                   -- mean effective mastery of the topic's practised skills
  updated_at timestamptz not null default now(),
  primary key (user_id, stat_date, topic_id)
);
create index topic_daily_stats_topic_id_idx on public.topic_daily_stats (topic_id);

create table public.user_learning_metrics (
  user_id uuid primary key references auth.users (id) on delete cascade,
  as_of_date date not null,
  questions_30d integer not null default 0,
  correct_30d integer not null default 0,
  accuracy_30d double precision,
  time_30d_seconds double precision not null default 0,
  active_days_30d integer not null default 0,
  questions_90d integer not null default 0,
  correct_90d integer not null default 0,
  accuracy_90d double precision,
  active_days_90d integer not null default 0,
  questions_all_time integer not null default 0,
  correct_all_time integer not null default 0,
  accuracy_all_time double precision,
  time_all_time_seconds double precision not null default 0,
  sessions_completed_all_time integer not null default 0,
  first_activity_at timestamptz,
  last_activity_at timestamptz,
  avg_mastery double precision,
  skills_practiced integer not null default 0,
  skills_mastered integer not null default 0,     -- effective mastery >= 0.8
  skills_weak integer not null default 0,         -- effective mastery < 0.4
  current_streak_days integer not null default 0,
  updated_at timestamptz not null default now()
);

-- Seed 002 gap detection: priority = 3·gap + 2·exam_weight + 1·prerequisite_impact + 1.5·recent_failure_rate.
create table public.knowledge_gaps (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  skill_id bigint not null references public.skills (id) on delete cascade,
  gap_score double precision not null check (gap_score between 0 and 1),   -- 1 - effective mastery
  priority_score double precision not null,
  severity text not null check (severity in ('critical', 'high', 'medium', 'low')),
  recent_failure_rate double precision,
  prerequisite_impact double precision not null default 0,   -- share of dependants blocked (0–1)
  status text not null default 'open' check (status in ('open', 'resolved')),
  detected_at timestamptz not null default now(),
  resolved_at timestamptz,
  updated_at timestamptz not null default now(),
  unique (user_id, skill_id),
  check ((status = 'resolved') = (resolved_at is not null))
);
create index knowledge_gaps_skill_id_idx on public.knowledge_gaps (skill_id);

alter table public.daily_user_stats enable row level security;
alter table public.weekly_user_stats enable row level security;
alter table public.topic_daily_stats enable row level security;
alter table public.user_learning_metrics enable row level security;
alter table public.knowledge_gaps enable row level security;

create policy "Learners can read their own daily stats" on public.daily_user_stats
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Learners can read their own weekly stats" on public.weekly_user_stats
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Learners can read their own topic daily stats" on public.topic_daily_stats
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Learners can read their own learning metrics" on public.user_learning_metrics
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Learners can read their own knowledge gaps" on public.knowledge_gaps
  for select to authenticated using ((select auth.uid()) = user_id);

revoke all on public.daily_user_stats, public.weekly_user_stats, public.topic_daily_stats,
  public.user_learning_metrics, public.knowledge_gaps from anon;
revoke insert, update, delete, truncate, references, trigger on public.daily_user_stats,
  public.weekly_user_stats, public.topic_daily_stats, public.user_learning_metrics,
  public.knowledge_gaps from authenticated;
revoke truncate, references, trigger on public.daily_user_stats, public.weekly_user_stats,
  public.topic_daily_stats, public.user_learning_metrics, public.knowledge_gaps from service_role;
