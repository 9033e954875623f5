-- Cohort (peer) analytics exposed only as k-anonymous aggregates (k >= 10): learners may compare
-- themselves with percentile breakpoints but can never see another learner's row. The
-- security-definer body lives in `private`; the public wrapper is what PostgREST exposes. The breakpoints
-- are served from a cache the nightly maintenance fills (live until it has been filled once).

create or replace function private.cohort_mastery_distribution_live(p_skill_id bigint)
returns table (
  skill_id bigint,
  learners integer,
  mean_mastery double precision,
  p10 double precision,
  p25 double precision,
  p50 double precision,
  p75 double precision,
  p90 double precision,
  share_below_half double precision     -- "X % of learners struggle with this"
)
language sql
stable
security definer
set search_path = ''
as $$
  with per_learner as (
    -- one value per learner: the skill's effective mastery, or the learner's mean over skills
    select m.user_id, avg(m.effective_mastery) as mastery
    from public.user_skill_mastery m
    where m.total_attempts > 0
      and (p_skill_id is null or m.skill_id = p_skill_id)
    group by m.user_id
  )
  select p_skill_id,
         count(*)::integer,
         avg(mastery),
         percentile_cont(0.10) within group (order by mastery),
         percentile_cont(0.25) within group (order by mastery),
         percentile_cont(0.50) within group (order by mastery),
         percentile_cont(0.75) within group (order by mastery),
         percentile_cont(0.90) within group (order by mastery),
         avg(case when mastery < 0.5 then 1.0 else 0.0 end)::double precision
  from per_learner
  having count(*) >= 10          -- k-anonymity: no result at all for fewer than 10 learners
$$;
revoke execute on function private.cohort_mastery_distribution_live(bigint) from public, anon, authenticated, service_role;
grant execute on function private.cohort_mastery_distribution_live(bigint) to service_role;

-- The cache: the breakpoints above computed once per maintenance run instead of on every insights call.
-- Computing them scans every learner's mastery row (10,000 learners × 36 skills = 360,000 rows), far too
-- much for a per-request read. It is filled by public.refresh_cohort_stats() (the maintenance `aggregates`
-- step, service role only). Until it has been filled once, cohort_mastery_distribution computes live, so a
-- new installation still shows percentiles. The k ≥ 10 rule applies to the cached rows exactly as to the
-- live ones.
create table private.cohort_mastery_stats (
  scope text not null primary key,            -- 'all' (each learner's mean) or the skill id as text
  skill_id bigint references public.skills (id) on delete cascade,
  learners integer not null check (learners >= 10),
  mean_mastery double precision not null,
  p10 double precision not null,
  p25 double precision not null,
  p50 double precision not null,
  p75 double precision not null,
  p90 double precision not null,
  share_below_half double precision not null,
  refreshed_at timestamptz not null default now(),
  check ((scope = 'all') = (skill_id is null))
);
-- Not exposed (private schema) and read only by the security-definer functions below; RLS with no
-- policies keeps it closed even if a grant were added by mistake.
alter table private.cohort_mastery_stats enable row level security;
revoke all on private.cohort_mastery_stats from public, anon, authenticated, service_role;

create or replace function private.refresh_cohort_mastery_stats()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_rows integer;
begin
  delete from private.cohort_mastery_stats where true;
  insert into private.cohort_mastery_stats (scope, skill_id, learners, mean_mastery, p10, p25, p50, p75, p90,
                                            share_below_half)
  select 'all', null, d.learners, d.mean_mastery, d.p10, d.p25, d.p50, d.p75, d.p90, d.share_below_half
  from private.cohort_mastery_distribution_live(null) d
  union all
  select m.skill_id::text, m.skill_id, count(*)::integer, avg(m.effective_mastery),
         percentile_cont(0.10) within group (order by m.effective_mastery),
         percentile_cont(0.25) within group (order by m.effective_mastery),
         percentile_cont(0.50) within group (order by m.effective_mastery),
         percentile_cont(0.75) within group (order by m.effective_mastery),
         percentile_cont(0.90) within group (order by m.effective_mastery),
         avg(case when m.effective_mastery < 0.5 then 1.0 else 0.0 end)::double precision
  from public.user_skill_mastery m
  where m.total_attempts > 0
  group by m.skill_id
  having count(*) >= 10;
  get diagnostics v_rows = row_count;
  return v_rows;
end;
$$;
revoke execute on function private.refresh_cohort_mastery_stats() from public, anon, authenticated, service_role;
grant execute on function private.refresh_cohort_mastery_stats() to service_role;

-- What the insights read: the cache when it has been filled, else the live computation.
create or replace function private.cohort_mastery_distribution(p_skill_id bigint)
returns table (
  skill_id bigint,
  learners integer,
  mean_mastery double precision,
  p10 double precision,
  p25 double precision,
  p50 double precision,
  p75 double precision,
  p90 double precision,
  share_below_half double precision
)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if exists (select 1 from private.cohort_mastery_stats) then
    return query
      select p_skill_id, c.learners, c.mean_mastery, c.p10, c.p25, c.p50, c.p75, c.p90, c.share_below_half
      from private.cohort_mastery_stats c
      where c.scope = coalesce(p_skill_id::text, 'all');
  else
    return query select * from private.cohort_mastery_distribution_live(p_skill_id);
  end if;
end;
$$;
revoke execute on function private.cohort_mastery_distribution(bigint) from public, anon, authenticated, service_role;
grant execute on function private.cohort_mastery_distribution(bigint) to authenticated, service_role;

-- p_skill_id null → distribution of each learner's mean mastery over the skills they practised.
create or replace function public.cohort_mastery_distribution(p_skill_id bigint default null)
returns table (
  skill_id bigint,
  learners integer,
  mean_mastery double precision,
  p10 double precision,
  p25 double precision,
  p50 double precision,
  p75 double precision,
  p90 double precision,
  share_below_half double precision
)
language sql
stable
security invoker
set search_path = ''
as $$
  select * from private.cohort_mastery_distribution(p_skill_id)
$$;
revoke execute on function public.cohort_mastery_distribution(bigint) from public, anon, authenticated;
grant execute on function public.cohort_mastery_distribution(bigint) to authenticated, service_role;

-- Maintenance entry point (service role only): {"cohort_stats_rows": n}.
create or replace function public.refresh_cohort_stats()
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select jsonb_build_object('cohort_stats_rows', private.refresh_cohort_mastery_stats())
$$;
revoke execute on function public.refresh_cohort_stats() from public, anon, authenticated;
grant execute on function public.refresh_cohort_stats() to service_role;
