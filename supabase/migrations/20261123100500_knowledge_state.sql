-- Knowledge state: per-skill BKT parameters and the per-learner × skill state (BKT, Elo, fsrs
-- memory). Every write of user_skill_mastery bumps `version` (optimistic concurrency).

create table public.bkt_params (
  skill_id bigint primary key references public.skills (id) on delete cascade,
  p_init double precision not null default 0.2 check (p_init between 0 and 1),
  p_learn double precision not null default 0.15 check (p_learn between 0 and 1),
  p_guess double precision not null default 0.2 check (p_guess between 0 and 1),
  p_slip double precision not null default 0.1 check (p_slip between 0 and 1),
  p_forget double precision not null default 0 check (p_forget between 0 and 1),
  fitted_at timestamptz,
  n_obs integer not null default 0 check (n_obs >= 0)
);
comment on table public.bkt_params is 'BKT with forgetting per skill; refitted nightly by EM (upsert_bkt_params).';

create table public.user_skill_mastery (
  user_id uuid not null references auth.users (id) on delete cascade,
  skill_id bigint not null references public.skills (id) on delete cascade,
  -- BKT
  p_mastery double precision not null check (p_mastery between 0 and 1),           -- P(known) at last review
  effective_mastery double precision not null check (effective_mastery between 0 and 1),  -- after forgetting
  -- multi-skill Elo (seed 003), 1200-centred
  elo_rating double precision not null default 1200,
  elo_uncertainty double precision not null default 64 check (elo_uncertainty >= 0),
  elo_count integer not null default 0 check (elo_count >= 0),
  -- fsrs memory state
  stability double precision check (stability > 0),
  difficulty double precision,
  memory_state smallint,
  memory_step integer,
  last_review timestamptz,
  due timestamptz,
  reps integer not null default 0 check (reps >= 0),
  lapses integer not null default 0 check (lapses >= 0),
  -- counters and trend (seed 000)
  total_attempts integer not null default 0 check (total_attempts >= 0),
  correct_attempts integer not null default 0 check (correct_attempts >= 0),
  learning_velocity double precision not null default 0,
  plateau_flag boolean not null default false,
  last_practiced_at timestamptz,
  version integer not null default 1 check (version >= 1),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id, skill_id),
  check (correct_attempts <= total_attempts),
  check ((stability is null) = (difficulty is null))
);
create index user_skill_mastery_skill_id_idx on public.user_skill_mastery (skill_id);
create index user_skill_mastery_due_idx on public.user_skill_mastery (due);

-- Version discipline lives in the table, not in callers: insert starts at 1, every update is +1.
create or replace function private.bump_mastery_version()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    new.version := 1;
    new.created_at := now();
  else
    new.version := old.version + 1;
    new.created_at := old.created_at;
  end if;
  new.updated_at := now();
  return new;
end;
$$;
revoke execute on function private.bump_mastery_version() from public, anon, authenticated, service_role;

create trigger user_skill_mastery_version
  before insert or update on public.user_skill_mastery
  for each row execute function private.bump_mastery_version();

alter table public.bkt_params enable row level security;
alter table public.user_skill_mastery enable row level security;

create policy "Authenticated users can read BKT parameters" on public.bkt_params
  for select to authenticated using (true);
create policy "Learners can read their own skill mastery" on public.user_skill_mastery
  for select to authenticated using ((select auth.uid()) = user_id);

revoke all on public.bkt_params, public.user_skill_mastery from anon;
revoke insert, update, delete, truncate, references, trigger on public.bkt_params,
  public.user_skill_mastery from authenticated;
revoke truncate, references, trigger on public.bkt_params, public.user_skill_mastery from service_role;
