-- learning_events partitions no longer depend on a scheduler. learning_events has no default partition on
-- purpose (a missing month fails loudly), so a month without a partition fails every session start and answer.
-- pg_cron is off by default on hosted Supabase, and the 4 months the first migration created ran out ~3 months
-- after a deploy. Now:
--   * this migration creates the current month and the 12 after it, when it is applied;
--   * the nightly maintenance run calls extend_learning_event_partitions (step "partitions") every night,
--     which keeps 12 months ahead of today (and the run date's month), recorded in maintenance_runs;
--   * where pg_cron is installed, its monthly job keeps the same 12 months (same job name: rescheduled).
-- All three go through private.ensure_learning_event_partitions (20261123100700_learning_events.sql), which
-- creates only the months that are missing.

create or replace function public.extend_learning_event_partitions(p_run_date date)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_today date := (now() at time zone 'UTC')::date;
  v_first date;
  v_created text[];
  v_future integer;
begin
  if p_run_date is null or p_run_date > v_today then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = format('run date %s is after today (UTC) or missing', p_run_date);
  end if;
  v_first := date_trunc('month', p_run_date::timestamp)::date;
  -- from the run date's month through the 12 months after the current one
  v_created := private.ensure_learning_event_partitions(
    v_first,
    (extract(year from v_today) * 12 + extract(month from v_today)
     - extract(year from v_first) * 12 - extract(month from v_first))::integer + 13);
  -- months after the current one that have a partition (the monitoring health check's measure)
  select count(*)::integer into v_future
  from pg_catalog.pg_inherits i
  join pg_catalog.pg_class c on c.oid = i.inhrelid
  where i.inhparent = 'public.learning_events'::regclass
    and c.relname > 'learning_events_p' || to_char(v_today, 'YYYYMM');
  return jsonb_build_object('created_partitions', to_jsonb(v_created), 'future_months', v_future);
end;
$$;
revoke execute on function public.extend_learning_event_partitions(date) from public, anon, authenticated;
grant execute on function public.extend_learning_event_partitions(date) to service_role;

select public.extend_learning_event_partitions((now() at time zone 'UTC')::date);

do $$
begin
  if exists (select from pg_extension where extname = 'pg_cron') then
    perform cron.schedule(
      'smartpractice-learning-event-partitions',
      '5 0 1 * *',
      'select private.ensure_learning_event_partitions(current_date, 13)'
    );
  end if;
end;
$$;
