-- Retention to the day, and never from a future date: apply_retention dropped whole monthly partitions only, so events up to a month
-- past the 24-month cut-off survived until the next month's run. It now also deletes the expired rows
-- of the partition that straddles the cut-off. learning_events stays append-only for everyone: the only
-- delete path is private.delete_expired_learning_events (security definer, service role only), which
-- the guard recognises by a transaction-local cut-off it sets for its own statement.

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

create or replace function private.delete_expired_learning_events(p_cutoff timestamptz)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_deleted integer;
begin
  perform set_config('smartpractice.retention_cutoff', p_cutoff::text, true);
  delete from public.learning_events e where e.created_at < p_cutoff;
  get diagnostics v_deleted = row_count;
  perform set_config('smartpractice.retention_cutoff', '', true);
  return v_deleted;
end;
$$;
revoke execute on function private.delete_expired_learning_events(timestamptz) from public, anon, authenticated, service_role;
grant execute on function private.delete_expired_learning_events(timestamptz) to service_role;

create or replace function public.apply_retention(p_run_date date)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_cutoff timestamptz := (p_run_date - interval '24 months')::timestamp at time zone 'UTC';
  v_dropped text[];
  v_deleted integer;
  v_created text[];
begin
  -- Counting 24 months back from a future date would drop current data: refuse it.
  if p_run_date is null or p_run_date > (now() at time zone 'UTC')::date then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = format('run date %s is after today (UTC)', p_run_date);
  end if;
  v_dropped := private.drop_learning_event_partitions_before(v_cutoff);
  v_deleted := private.delete_expired_learning_events(v_cutoff);  -- the straddling partition's old rows
  v_created := private.ensure_learning_event_partitions(p_run_date, 4);
  return jsonb_build_object('cutoff', v_cutoff, 'dropped_partitions', to_jsonb(v_dropped),
                            'events_deleted', v_deleted, 'created_partitions', to_jsonb(v_created));
end;
$$;
