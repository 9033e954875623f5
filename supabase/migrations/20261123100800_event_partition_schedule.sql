-- Scheduling: pg_cron creates the next months' learning_events partitions (idempotent, monthly).
-- apply_retention (maintenance RPC) does the same and also drops expired partitions.
-- Guarded so the migration also applies where pg_cron is not installed.

do $$
begin
  if exists (select from pg_extension where extname = 'pg_cron') then
    perform cron.schedule(
      'smartpractice-learning-event-partitions',
      '5 0 1 * *',
      'select private.ensure_learning_event_partitions(current_date, 4)'
    );
  end if;
end;
$$;
