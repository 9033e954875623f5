-- Foundations: the non-exposed `private` schema and the guard shared by the append-only tables.
-- PostgREST exposes only `public`; security-definer code and trigger functions live here.

create schema if not exists private;
revoke all on schema private from public;
-- Roles get USAGE so they can call the few private functions explicitly granted to them;
-- nothing in `private` is executable or readable without an explicit grant.
grant usage on schema private to service_role, authenticated;

-- Append-only guard (mastery_history, learning_events).
-- UPDATE and TRUNCATE are always refused. DELETE is refused unless it is
--   * the cascade of an auth.users deletion: by the time the foreign-key cascade reaches the child rows
--     the parent user row is already gone, so "the owner no longer exists" identifies exactly that case;
--   * retention of learning_events (private.delete_expired_learning_events, maintenance_rpcs), which the
--     guard recognises by the transaction-local cut-off that function sets for its own statement.
create or replace function private.forbid_append_only_mutation()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_retention_cutoff text := current_setting('smartpractice.retention_cutoff', true);
begin
  if tg_op = 'DELETE' then
    if not exists (select 1 from auth.users u where u.id = old.user_id) then
      return old;  -- account deletion cascade
    end if;
    if coalesce(v_retention_cutoff, '') <> ''
       and (tg_table_name = 'learning_events' or tg_table_schema = 'event_partitions')
       and old.created_at < v_retention_cutoff::timestamptz then
      return old;  -- retention (private.delete_expired_learning_events)
    end if;
  end if;
  raise exception using
    errcode = 'PT405',
    message = 'append_only_violation',
    detail = format('%s on %I.%I is not allowed; rows are removed only with their user', tg_op,
                    tg_table_schema, tg_table_name),
    hint = 'append-only table';
end;
$$;

revoke execute on function private.forbid_append_only_mutation() from public, anon, authenticated, service_role;
