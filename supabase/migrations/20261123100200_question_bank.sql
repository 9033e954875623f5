-- Question bank: questions (no answers here), the question × skill tagging with per-skill Elo
-- difficulty, and IRT calibration parameters. Answer keys live in question_answer_keys.

create table public.questions (
  id bigint generated always as identity primary key,
  external_ref text not null unique,          -- stable authoring reference, e.g. 'math.linear_equations.007'
  topic_id bigint not null references public.topics (id),   -- primary topic (for browsing/filters)
  question_type text not null check (question_type in ('multiple_choice', 'numeric')),
  difficulty_label text not null check (difficulty_label in ('easy', 'medium', 'hard')),
  exam_section text not null,
  stem text not null,
  options jsonb check (options is null or jsonb_typeof(options) = 'array'),  -- [{"key":"A","text":"…"}]
  expected_time_seconds integer not null default 90 check (expected_time_seconds > 0),
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  check ((question_type = 'multiple_choice') = (options is not null))
);
create index questions_topic_id_idx on public.questions (topic_id);

-- Multi-skill Elo (seed 003): one difficulty per question × skill, changed only by additive
-- increments (d = d + delta) so concurrent answers to a hot question never conflict.
create table public.question_skills (
  question_id bigint not null references public.questions (id) on delete cascade,
  skill_id bigint not null references public.skills (id) on delete cascade,
  weight double precision not null default 1 check (weight > 0 and weight <= 1),
  elo_difficulty double precision not null default 1200,
  attempts integer not null default 0 check (attempts >= 0),
  primary key (question_id, skill_id)
);
comment on column public.question_skills.elo_difficulty is 'Elo scale: 1200 = average, 400 points = 10:1 odds.';
create index question_skills_skill_id_idx on public.question_skills (skill_id);

-- IRT 3PL parameters per question (a = discrimination, b = difficulty in logits, c = guessing).
create table public.question_difficulty_params (
  question_id bigint primary key references public.questions (id) on delete cascade,
  discrimination double precision not null default 1 check (discrimination > 0),
  difficulty double precision not null default 0,
  guessing double precision not null default 0 check (guessing >= 0 and guessing < 1),
  times_seen integer not null default 0 check (times_seen >= 0),
  calibrated_at timestamptz
);

alter table public.questions enable row level security;
alter table public.question_skills enable row level security;
alter table public.question_difficulty_params enable row level security;

create policy "Authenticated users can read questions" on public.questions
  for select to authenticated using (true);
create policy "Authenticated users can read question skills" on public.question_skills
  for select to authenticated using (true);
create policy "Authenticated users can read question difficulty parameters" on public.question_difficulty_params
  for select to authenticated using (true);

revoke all on public.questions, public.question_skills, public.question_difficulty_params from anon;
revoke insert, update, delete, truncate, references, trigger on public.questions, public.question_skills,
  public.question_difficulty_params from authenticated;
revoke truncate, references, trigger on public.questions, public.question_skills,
  public.question_difficulty_params from service_role;
revoke all on all sequences in schema public from anon, authenticated;
