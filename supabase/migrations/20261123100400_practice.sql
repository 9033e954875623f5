-- Practice: sessions and the questions served/answered in them. learning_sessions (seed 001) is
-- merged into practice_sessions: its summary fields are filled when the session completes.
-- Learners read their own rows; every write goes through service-role RPCs.

create table public.practice_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  mode text not null default 'adaptive' check (mode in ('adaptive', 'review', 'exam', 'topic')),
  status text not null default 'active' check (status in ('active', 'completed', 'abandoned')),
  filters jsonb not null default '{}'::jsonb check (jsonb_typeof(filters) = 'object'),
  started_at timestamptz not null default now(),
  ended_at timestamptz,
  last_activity_at timestamptz not null default now(),
  -- summary (seed 001 learning_sessions)
  concepts_touched bigint[] not null default '{}',      -- skill ids practised in the session
  total_interactions integer not null default 0 check (total_interactions >= 0),
  mastery_gained jsonb not null default '{}'::jsonb,   -- {"<skill_id>": delta}
  metadata jsonb not null default '{}'::jsonb,
  unique (id, user_id),                                -- target of session_questions' ownership FK
  check ((status = 'active') = (ended_at is null))
);
create index practice_sessions_user_id_started_at_idx on public.practice_sessions (user_id, started_at desc);

create table public.session_questions (
  id uuid primary key default gen_random_uuid(),
  session_id uuid not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  question_id bigint not null references public.questions (id),
  position integer not null check (position > 0),
  served_at timestamptz not null default now(),
  selection_reason jsonb,
  user_answer jsonb,
  is_correct boolean,
  confidence_score smallint not null default 3 check (confidence_score between 1 and 5),
  time_spent_seconds double precision check (time_spent_seconds >= 0),
  hint_used boolean not null default false,
  solution_viewed boolean not null default false,
  answered_at timestamptz,
  idempotency_key text check (length(idempotency_key) between 1 and 200),
  response jsonb,                                        -- stored RPC response, replayed on retry
  -- the answering user must own the session
  foreign key (session_id, user_id) references public.practice_sessions (id, user_id) on delete cascade,
  unique (session_id, question_id),
  unique (user_id, idempotency_key),
  check ((answered_at is null) = (idempotency_key is null)),
  check (answered_at is null or is_correct is not null)
);
comment on column public.session_questions.idempotency_key is
  'Client key of the answer submission; unique per user, a retry returns the stored response.';
create index session_questions_question_id_idx on public.session_questions (question_id);
-- The analytics read answers by day and by learner. A row carries the stored response and selection reason
-- (~1.3 kB), so scanning the table reads gigabytes; these two narrow covering indexes let the nightly
-- aggregates, snapshots and refit reads run as index-only scans over a few dozen bytes per answer.
create index session_questions_answered_at_idx on public.session_questions (answered_at)
  include (user_id, question_id, is_correct, time_spent_seconds, confidence_score, hint_used, solution_viewed)
  where answered_at is not null;
create index session_questions_user_id_answered_at_idx on public.session_questions (user_id, answered_at)
  include (question_id, is_correct, time_spent_seconds)
  where answered_at is not null;

alter table public.practice_sessions enable row level security;
alter table public.session_questions enable row level security;

create policy "Learners can read their own sessions" on public.practice_sessions
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Learners can read their own session questions" on public.session_questions
  for select to authenticated using ((select auth.uid()) = user_id);

revoke all on public.practice_sessions, public.session_questions from anon;
revoke insert, update, delete, truncate, references, trigger on public.practice_sessions,
  public.session_questions from authenticated;
revoke truncate, references, trigger on public.practice_sessions, public.session_questions from service_role;
