-- Learning events: append-only log, range-partitioned by month on created_at (no default
-- partition: a missing month fails loudly). Partitions live in the non-exposed schema
-- `event_partitions` so PostgREST never sees them as tables; access goes through the parent,
-- whose privileges and RLS apply. Raw events older than 24 months are dropped by whole partitions.

create schema if not exists event_partitions;
revoke all on schema event_partitions from public;

create table public.learning_events (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  session_id uuid,                -- no FK: the log outlives nothing but its user
  question_id bigint,
  event_type text not null check (event_type in (
    'session_started', 'question_served', 'answer_submitted', 'session_completed')),
  event_data jsonb not null default '{}'::jsonb check (jsonb_typeof(event_data) = 'object'),
  created_at timestamptz not null default now(),
  primary key (id, created_at)
) partition by range (created_at);
create index learning_events_user_id_created_at_idx on public.learning_events (user_id, created_at);

-- Creates the monthly partitions [p_from's month, + p_months) that do not exist yet.
create or replace function private.ensure_learning_event_partitions(p_from date, p_months integer)
returns text[]
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_first timestamp := date_trunc('month', p_from::timestamp);
  v_start timestamptz;
  v_name text;
  v_created text[] := '{}'::text[];
begin
  for i in 0 .. p_months - 1 loop
    v_start := (v_first + make_interval(months => i)) at time zone 'UTC';
    v_name := 'learning_events_p' || to_char(v_start at time zone 'UTC', 'YYYYMM');
    if to_regclass('event_partitions.' || v_name) is null then
      execute format(
        'create table event_partitions.%I partition of public.learning_events for values from (%L) to (%L)',
        v_name, v_start, (v_first + make_interval(months => i + 1)) at time zone 'UTC');
      execute format('alter table event_partitions.%I enable row level security', v_name);
      execute format('revoke all on event_partitions.%I from public, anon, authenticated, service_role', v_name);
      v_created := v_created || v_name;
    end if;
  end loop;
  return v_created;
end;
$$;
revoke execute on function private.ensure_learning_event_partitions(date, integer)
  from public, anon, authenticated, service_role;

-- Drops partitions whose whole range ends at or before p_cutoff; returns their names.
create or replace function private.drop_learning_event_partitions_before(p_cutoff timestamptz)
returns text[]
language plpgsql
security definer
set search_path = ''
as $$
declare
  r record;
  v_dropped text[] := '{}'::text[];
begin
  for r in
    select c.oid::regclass as rel, c.relname,
           substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid) from 'TO \(''([^'']+)''\)')::timestamptz
             as upper_bound
    from pg_catalog.pg_inherits i
    join pg_catalog.pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'public.learning_events'::regclass
    order by 3
  loop
    if r.upper_bound <= p_cutoff then
      execute format('drop table %s', r.rel);
      v_dropped := v_dropped || r.relname::text;
    end if;
  end loop;
  return v_dropped;
end;
$$;
revoke execute on function private.drop_learning_event_partitions_before(timestamptz)
  from public, anon, authenticated, service_role;

-- Retention window (24 months back) + current month + 3 months ahead.
select private.ensure_learning_event_partitions((now() - interval '24 months')::date, 28);

create trigger learning_events_append_only
  before update or delete on public.learning_events
  for each row execute function private.forbid_append_only_mutation();
create trigger learning_events_no_truncate
  before truncate on public.learning_events
  for each statement execute function private.forbid_append_only_mutation();

alter table public.learning_events enable row level security;

create policy "Learners can read their own learning events" on public.learning_events
  for select to authenticated using ((select auth.uid()) = user_id);

revoke all on public.learning_events from anon;
revoke insert, update, delete, truncate, references, trigger on public.learning_events from authenticated;
revoke update, delete, truncate, references, trigger on public.learning_events from service_role;
