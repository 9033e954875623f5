-- Analyst views for latency and error rates (sql/monitoring_queries.sql reads them). Schema `monitoring` is
-- not exposed through the API (supabase/config.toml `api.schemas`) and only its owner (postgres, which the
-- SQL editor uses) can use it.

create extension if not exists pg_stat_statements with schema extensions;  -- hosted Supabase has it enabled

create schema if not exists monitoring;
revoke all on schema monitoring from public;
comment on schema monitoring is 'Analyst views and helpers (postgres only; not exposed through the API).';


-- Every RPC the API runs, from pg_stat_statements: PostgREST calls a function as `"public"."<name>"(...)`,
-- one top-level statement per request, so grouping the statements by that name gives the database time of
-- each RPC. Since the last `extensions.pg_stat_statements_reset()`. Slowest first (by mean time per call).
create view monitoring.slowest_rpcs as
with statements as (
  select (regexp_match(s.query, '"?public"?\."?([a-z_][a-z0-9_]*)"?\s*\('))[1] as rpc, s.*
  from extensions.pg_stat_statements as s
  where s.dbid = (select d.oid from pg_catalog.pg_database as d where d.datname = pg_catalog.current_database())
),
database_time as (
  select nullif(sum(s.total_exec_time), 0) as total_ms
  from extensions.pg_stat_statements as s
  where s.dbid = (select d.oid from pg_catalog.pg_database as d where d.datname = pg_catalog.current_database())
)
select st.rpc,
       sum(st.calls)::bigint as calls,
       round(sum(st.total_exec_time)::numeric, 1) as total_ms,
       round((sum(st.total_exec_time) / nullif(sum(st.calls), 0))::numeric, 3) as mean_ms,
       round(max(st.max_exec_time)::numeric, 3) as max_ms,
       round(sum(st.rows)::numeric / nullif(sum(st.calls), 0), 1) as rows_per_call,
       round((100 * sum(st.total_exec_time) / (select dt.total_ms from database_time as dt))::numeric, 2)
         as share_of_database_time_pct,
       round(100.0 * sum(st.shared_blks_hit) / nullif(sum(st.shared_blks_hit + st.shared_blks_read), 0), 2)
         as cache_hit_pct,
       count(*)::integer as statement_variants
from statements as st
where st.rpc is not null
  and exists (select 1 from pg_catalog.pg_proc as p
              where p.proname = st.rpc and p.pronamespace = 'public'::regnamespace)
group by st.rpc
order by mean_ms desc nulls last, st.rpc;

comment on view monitoring.slowest_rpcs is
  'Database time per public RPC from pg_stat_statements since its last reset, slowest (mean per call) first.';


-- The latency below which a fraction q of the requests of a histogram finished: the upper bound of the first
-- bucket whose cumulative count reaches q × total ('Infinity' when that is the open last bucket; null when the
-- histogram is empty). Bucket bounds: private.latency_bucket_bounds_ms().
create function monitoring.histogram_quantile_ms(p_buckets bigint[], p_q double precision)
returns double precision
language sql
immutable
set search_path = ''
as $$
  select (private.latency_bucket_bounds_ms())[min(c.i)]
  from (select u.i, sum(u.n) over (order by u.i) as cumulative, sum(u.n) over () as total
        from unnest(p_buckets) with ordinality as u(n, i)) as c
  where c.total > 0 and c.cumulative >= p_q * c.total
$$;


-- Requests, error rates and latency of the cloud functions between p_from and p_to, per period
-- (p_period: 'minute', 'hour', 'day', or 'all' for one row per function), from function_request_stats.
-- error_rate_pct counts every status >= 500 (503 `unavailable` included); client errors are shown apart, as
-- they are the caller's fault. p50/p95/p99 are bucket upper bounds ("at most"), capped at the slowest request,
-- in ms.
create function monitoring.function_request_report(p_from timestamptz, p_to timestamptz, p_period text)
returns table (period_start timestamptz, function_name text, requests bigint, client_errors bigint,
               server_errors bigint, unavailable bigint, error_rate_pct numeric, mean_ms numeric,
               p50_ms double precision, p95_ms double precision, p99_ms double precision, max_ms numeric)
language plpgsql
stable
set search_path = ''
as $$
#variable_conflict use_column
begin
  if p_period is null or p_period not in ('minute', 'hour', 'day', 'all') then
    raise exception 'p_period must be minute, hour, day or all, got %', p_period using errcode = '22023';
  end if;
  return query
  with rows_in_range as (
    select case when p_period = 'all' then p_from else date_trunc(p_period, s.minute) end as period_start, s.*
    from public.function_request_stats as s
    where s.minute >= p_from and s.minute < p_to
  ),
  histograms as (
    select b.period_start, b.function_name, array_agg(b.n order by b.i) as buckets
    from (select r.period_start, r.function_name, u.i, sum(u.n)::bigint as n
          from rows_in_range as r, unnest(r.latency_buckets) with ordinality as u(n, i)
          group by r.period_start, r.function_name, u.i) as b
    group by b.period_start, b.function_name
  )
  select r.period_start, r.function_name,
         sum(r.requests)::bigint,
         coalesce(sum(r.requests) filter (where r.status between 400 and 499), 0)::bigint,
         coalesce(sum(r.requests) filter (where r.status >= 500), 0)::bigint,
         coalesce(sum(r.requests) filter (where r.status = 503), 0)::bigint,
         round(100.0 * coalesce(sum(r.requests) filter (where r.status >= 500), 0) / sum(r.requests), 2),
         round((sum(r.latency_ms_sum) / sum(r.requests))::numeric, 1),
         least(monitoring.histogram_quantile_ms(h.buckets, 0.50), max(r.latency_ms_max)),
         least(monitoring.histogram_quantile_ms(h.buckets, 0.95), max(r.latency_ms_max)),
         least(monitoring.histogram_quantile_ms(h.buckets, 0.99), max(r.latency_ms_max)),
         round(max(r.latency_ms_max)::numeric, 1)
  from rows_in_range as r
  join histograms as h using (period_start, function_name)
  group by r.period_start, r.function_name, h.buckets
  order by r.period_start, r.function_name;
end
$$;

revoke execute on function monitoring.histogram_quantile_ms(bigint[], double precision) from public;
revoke execute on function monitoring.function_request_report(timestamptz, timestamptz, text) from public;

comment on function monitoring.function_request_report(timestamptz, timestamptz, text) is
  'Requests, error rates and latency quantiles of the cloud functions per period (minute|hour|day|all).';
