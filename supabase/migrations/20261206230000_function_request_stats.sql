-- The functions' request log, as far as it reaches the database: per minute, function, instance, HTTP status
-- and error code, how many requests and a latency histogram. Each function instance aggregates in memory and
-- flushes about once a minute (functions/smartpractice/api/request_stats.py), so the table grows with
-- minutes × instances × outcomes, never with the number of requests a script sends. Learners can neither
-- read nor write it (RLS on, no policies); the functions write through record_function_request_stats with
-- the service role; analysts read it through the monitoring views (20261206230100_monitoring_views.sql).

create table public.function_request_stats (
  minute timestamptz not null check (minute = date_trunc('minute', minute)),
  function_name text not null check (function_name ~ '^[a-z][a-z0-9_]{0,63}$'),
  instance_id text not null check (length(instance_id) between 1 and 128),
  status smallint not null check (status between 100 and 599),
  error_code text not null default '' check (error_code ~ '^[a-z0-9_]{0,64}$'),
  requests integer not null check (requests > 0),
  latency_ms_sum double precision not null check (latency_ms_sum >= 0),
  latency_ms_max double precision not null check (latency_ms_max >= 0),
  -- counts per latency bucket; the upper bounds are private.latency_bucket_bounds_ms(), the last is unbounded
  latency_buckets integer[] not null check (cardinality(latency_buckets) = 12 and 0 <= all (latency_buckets)),
  primary key (minute, function_name, instance_id, status, error_code)
);

comment on table public.function_request_stats is
  'Per-minute request counts and latency histograms of the cloud functions (written by the functions, '
  'service role only). Read it through monitoring.function_requests_hourly.';

alter table public.function_request_stats enable row level security;
-- No policies: only the service role (which bypasses RLS) and postgres touch it.
revoke all on public.function_request_stats from public, anon, authenticated;
grant select, insert, update, delete on public.function_request_stats to service_role;


-- The upper bounds (ms) of the latency buckets; the Python side holds the same tuple (LATENCY_BOUNDS_MS) and a
-- test keeps them equal.
create function private.latency_bucket_bounds_ms()
returns double precision[]
language sql
immutable
parallel safe
set search_path = ''
as $$ select array[5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 'Infinity']::double precision[] $$;

revoke execute on function private.latency_bucket_bounds_ms() from public;


create function public.record_function_request_stats(p_instance_id text, p_rows jsonb)
returns integer
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_rows integer;
begin
  if jsonb_typeof(p_rows) is distinct from 'array' then
    raise exception 'p_rows must be a JSON array' using errcode = '22023';
  end if;
  if jsonb_array_length(p_rows) > 5000 then
    raise exception 'at most 5000 rows per call, got %', jsonb_array_length(p_rows) using errcode = '22023';
  end if;

  insert into public.function_request_stats as s
    (minute, function_name, instance_id, status, error_code, requests, latency_ms_sum, latency_ms_max,
     latency_buckets)
  -- the caller sends each key once (the in-memory aggregate is keyed the same way)
  select date_trunc('minute', r.minute), r.function_name, p_instance_id, r.status, coalesce(r.error_code, ''),
         r.requests, r.latency_ms_sum, r.latency_ms_max, r.latency_buckets
  from jsonb_to_recordset(p_rows) as r(minute timestamptz, function_name text, status smallint, error_code text,
                                       requests integer, latency_ms_sum double precision,
                                       latency_ms_max double precision, latency_buckets integer[])
  on conflict (minute, function_name, instance_id, status, error_code) do update
    set requests = s.requests + excluded.requests,
        latency_ms_sum = s.latency_ms_sum + excluded.latency_ms_sum,
        latency_ms_max = greatest(s.latency_ms_max, excluded.latency_ms_max),
        latency_buckets = (select array_agg(u.a + u.b order by u.i)
                           from unnest(s.latency_buckets, excluded.latency_buckets) with ordinality as u(a, b, i));
  get diagnostics v_rows = row_count;

  -- Retention: 35 days (the primary key leads with minute, so this is an index range, usually empty).
  delete from public.function_request_stats where minute < now() - interval '35 days';
  return v_rows;
end
$$;

revoke execute on function public.record_function_request_stats(text, jsonb) from public, anon, authenticated;
grant execute on function public.record_function_request_stats(text, jsonb) to service_role;
