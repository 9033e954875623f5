-- Content taxonomy: subject → topic → skill, with exam weights and prerequisite graphs.
-- Readable by every authenticated user; written only by service_role (content administration).

create table public.subjects (
  id bigint generated always as identity primary key,
  code text not null unique check (code ~ '^[a-z][a-z0-9_]*$'),
  name text not null,
  exam_section text not null,                 -- section of the target exam this subject is scored in
  description text,
  created_at timestamptz not null default now()
);
comment on table public.subjects is 'Top level of the content hierarchy (subject → topic → skill).';

create table public.topics (
  id bigint generated always as identity primary key,
  subject_id bigint not null references public.subjects (id) on delete cascade,
  code text not null unique check (code ~ '^[a-z][a-z0-9_.]*$'),
  name text not null,
  description text,
  exam_weight numeric(5, 4) not null default 0 check (exam_weight between 0 and 1),
  position integer not null default 0,
  created_at timestamptz not null default now()
);
comment on column public.topics.exam_weight is 'Share of the subject''s exam section covered by this topic (0–1).';
create index topics_subject_id_idx on public.topics (subject_id);

create table public.skills (
  id bigint generated always as identity primary key,
  topic_id bigint not null references public.topics (id) on delete cascade,
  code text not null unique check (code ~ '^[a-z][a-z0-9_.]*$'),
  name text not null,
  description text,
  position integer not null default 0,
  created_at timestamptz not null default now()
);
comment on table public.skills is 'Unit of knowledge tracing: mastery, Elo and BKT parameters are per skill.';
create index skills_topic_id_idx on public.skills (topic_id);

-- Topic graph (seed 002): prerequisite / related topics.
create table public.topic_relationships (
  topic_id bigint not null references public.topics (id) on delete cascade,
  related_topic_id bigint not null references public.topics (id) on delete cascade,
  relationship_type text not null check (relationship_type in ('prerequisite', 'related')),
  strength numeric(3, 2) not null default 1 check (strength > 0 and strength <= 1),
  primary key (topic_id, related_topic_id, relationship_type),
  check (topic_id <> related_topic_id)
);
comment on table public.topic_relationships is
  'relationship_type = prerequisite: related_topic_id must be learned before topic_id.';
create index topic_relationships_related_topic_id_idx on public.topic_relationships (related_topic_id);

-- Skill-level prerequisites drive selection (do not serve a skill before its prerequisites).
create table public.skill_prerequisites (
  skill_id bigint not null references public.skills (id) on delete cascade,
  prerequisite_skill_id bigint not null references public.skills (id) on delete cascade,
  primary key (skill_id, prerequisite_skill_id),
  check (skill_id <> prerequisite_skill_id)
);
create index skill_prerequisites_prerequisite_skill_id_idx on public.skill_prerequisites (prerequisite_skill_id);

alter table public.subjects enable row level security;
alter table public.topics enable row level security;
alter table public.skills enable row level security;
alter table public.topic_relationships enable row level security;
alter table public.skill_prerequisites enable row level security;

create policy "Authenticated users can read subjects" on public.subjects
  for select to authenticated using (true);
create policy "Authenticated users can read topics" on public.topics
  for select to authenticated using (true);
create policy "Authenticated users can read skills" on public.skills
  for select to authenticated using (true);
create policy "Authenticated users can read topic relationships" on public.topic_relationships
  for select to authenticated using (true);
create policy "Authenticated users can read skill prerequisites" on public.skill_prerequisites
  for select to authenticated using (true);

-- Supabase grants ALL on new public tables to anon/authenticated: keep only what each role needs.
revoke all on public.subjects, public.topics, public.skills, public.topic_relationships,
  public.skill_prerequisites from anon;
revoke insert, update, delete, truncate, references, trigger on public.subjects, public.topics,
  public.skills, public.topic_relationships, public.skill_prerequisites from authenticated;
revoke truncate, references, trigger on public.subjects, public.topics, public.skills,
  public.topic_relationships, public.skill_prerequisites from service_role;
revoke all on all sequences in schema public from anon, authenticated;
