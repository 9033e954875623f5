-- Mastery history (seed 001): one row per change of a learner's mastery, written ONLY by the
-- trigger on user_skill_mastery. Context comes from transaction-local settings set by the RPCs:
--   smartpractice.trigger_type  quiz | question | explanation | decay | reset  (unset → 'reset')
--   smartpractice.session_id    practice session of the change, if any
--   smartpractice.question_id   question whose answer caused the change, if any
-- Append-only: no UPDATE/DELETE except the cascade of deleting the user.

create table public.mastery_history (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  skill_id bigint not null references public.skills (id) on delete cascade,
  session_id uuid references public.practice_sessions (id) on delete cascade,
  question_id bigint,
  trigger_type text not null check (trigger_type in ('quiz', 'question', 'explanation', 'decay', 'reset')),
  mastery_before double precision check (mastery_before between 0 and 1),  -- effective mastery; p_init on first practice
  mastery_after double precision not null check (mastery_after between 0 and 1),
  delta double precision generated always as (mastery_after - mastery_before) stored,
  p_mastery_after double precision not null check (p_mastery_after between 0 and 1),
  elo_rating_after double precision not null,
  mastery_version integer not null,           -- user_skill_mastery.version this row describes
  created_at timestamptz not null default now()
);
comment on table public.mastery_history is
  'Written only by trigger on user_skill_mastery; mastery_* are effective mastery values.';
create index mastery_history_user_id_created_at_idx on public.mastery_history (user_id, created_at);
create index mastery_history_skill_id_idx on public.mastery_history (skill_id);
create index mastery_history_session_id_idx on public.mastery_history (session_id) where session_id is not null;

-- Written by STATEMENT-level triggers with transition tables: one INSERT ... SELECT per statement, so the
-- nightly decay (millions of rows in a few statements) is not capped by one PL/pgSQL call and one
-- single-row INSERT per changed row. Updates never change the key (user_id, skill_id): no grant or RPC
-- allows it, so old and new rows pair up on it.
--   insert → mastery_before = the skill's p_init; update → only when effective or BKT mastery changed.
create or replace function private.record_inserted_mastery_history()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.mastery_history (user_id, skill_id, session_id, question_id, trigger_type,
    mastery_before, mastery_after, p_mastery_after, elo_rating_after, mastery_version)
  select n.user_id, n.skill_id,
         nullif(current_setting('smartpractice.session_id', true), '')::uuid,
         nullif(current_setting('smartpractice.question_id', true), '')::bigint,
         coalesce(nullif(current_setting('smartpractice.trigger_type', true), ''), 'reset'),
         b.p_init, n.effective_mastery, n.p_mastery, n.elo_rating, n.version
  from new_rows n
  left join public.bkt_params b on b.skill_id = n.skill_id
  order by n.user_id, n.skill_id;
  return null;
end;
$$;
revoke execute on function private.record_inserted_mastery_history() from public, anon, authenticated, service_role;

create or replace function private.record_updated_mastery_history()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.mastery_history (user_id, skill_id, session_id, question_id, trigger_type,
    mastery_before, mastery_after, p_mastery_after, elo_rating_after, mastery_version)
  select n.user_id, n.skill_id,
         nullif(current_setting('smartpractice.session_id', true), '')::uuid,
         nullif(current_setting('smartpractice.question_id', true), '')::bigint,
         coalesce(nullif(current_setting('smartpractice.trigger_type', true), ''), 'reset'),
         o.effective_mastery, n.effective_mastery, n.p_mastery, n.elo_rating, n.version
  from new_rows n
  join old_rows o on o.user_id = n.user_id and o.skill_id = n.skill_id
  -- Elo/memory/counter-only changes are not mastery changes
  where n.effective_mastery is distinct from o.effective_mastery
     or n.p_mastery is distinct from o.p_mastery
  order by n.user_id, n.skill_id;
  return null;
end;
$$;
revoke execute on function private.record_updated_mastery_history() from public, anon, authenticated, service_role;

create trigger user_skill_mastery_history_on_insert
  after insert on public.user_skill_mastery
  referencing new table as new_rows
  for each statement execute function private.record_inserted_mastery_history();
create trigger user_skill_mastery_history_on_update
  after update on public.user_skill_mastery
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.record_updated_mastery_history();

-- Only the history trigger may insert: a statement run from it is at trigger depth 2 when this guard
-- fires (once per statement); anything else is a direct insert and is refused.
create or replace function private.forbid_direct_history_insert()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if pg_trigger_depth() < 2 then
    raise exception using
      errcode = 'PT405',
      message = 'append_only_violation',
      detail = 'mastery_history is written only by the trigger on user_skill_mastery',
      hint = 'write user_skill_mastery instead';
  end if;
  return new;
end;
$$;
revoke execute on function private.forbid_direct_history_insert() from public, anon, authenticated, service_role;

create trigger mastery_history_insert_guard
  before insert on public.mastery_history
  for each statement execute function private.forbid_direct_history_insert();
create trigger mastery_history_append_only
  before update or delete on public.mastery_history
  for each row execute function private.forbid_append_only_mutation();
create trigger mastery_history_no_truncate
  before truncate on public.mastery_history
  for each statement execute function private.forbid_append_only_mutation();

alter table public.mastery_history enable row level security;

create policy "Learners can read their own mastery history" on public.mastery_history
  for select to authenticated using ((select auth.uid()) = user_id);

revoke all on public.mastery_history from anon;
revoke insert, update, delete, truncate, references, trigger on public.mastery_history from authenticated;
revoke insert, update, delete, truncate, references, trigger on public.mastery_history from service_role;
revoke all on sequence public.mastery_history_id_seq from anon, authenticated, service_role;
