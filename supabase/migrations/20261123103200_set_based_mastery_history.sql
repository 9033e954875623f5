-- mastery_history written by STATEMENT-level triggers with transition tables instead of one
-- PL/pgSQL call and one single-row INSERT per changed mastery row. The nightly decay updates up to
-- millions of rows in a few statements; set-based history makes that one INSERT ... SELECT per
-- statement (measured: the per-row trigger chain capped decay near 12,000 rows/s on our 2-core box).
-- Same rows, same columns, same rules as before (20261123100600_mastery_history.sql):
--   insert → mastery_before = the skill's p_init; update → only when effective or BKT mastery changed;
--   context from the transaction-local settings smartpractice.trigger_type/session_id/question_id.
-- Updates never change the key (user_id, skill_id): no grant or RPC allows it, so old and new rows
-- pair up on it.

drop trigger user_skill_mastery_history on public.user_skill_mastery;
drop function private.record_mastery_history();

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

-- The append-only guard on inserts, once per statement instead of once per row: a statement run from
-- the history trigger is at trigger depth 2; anything else is a direct insert and is refused.
drop trigger mastery_history_insert_guard on public.mastery_history;
create trigger mastery_history_insert_guard
  before insert on public.mastery_history
  for each statement execute function private.forbid_direct_history_insert();
