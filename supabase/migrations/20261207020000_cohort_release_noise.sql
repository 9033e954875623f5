-- Peer statistics that can't be subtracted (issue 14, deliverable 5).
--
-- Before: learners could call a live per-request computation (until the cache was first filled) and read exact
-- means and percentiles of any cohort of >= 10 learners; 9 sybil accounts plus a target recovered the target's
-- mean mastery exactly (10 x mean - sum of the nine). Now:
--   * learners read only the nightly release (private.cohort_mastery_stats); nothing is computed per call;
--   * a scope (overall, or one skill) is released only with >= 50 permanent learners (k = 50, true count);
--   * every figure comes from one Laplace-noised histogram (epsilon = 1 per scope per nightly release) and is
--     rounded to 0.05;
--   * the noise is a function of a random seed stored once per release date (private.cohort_release_seeds)
--     and of the scope and bin: re-reading (or re-running the release for the same night) returns the same
--     figure, so averaging reads removes nothing; one release per date, never re-computed on changed data
--     (the same noise on two different data sets would let their difference through exactly).
--
-- Sensitivity argument. Each learner contributes one value in [0, 1] to a scope (their effective mastery of the
-- skill, or their mean over the skills they practised for 'all'), i.e. exactly one count in one of 20 bins of
-- width 0.05. Changing one learner's value moves at most two bins by 1: L1 sensitivity 2, so Laplace noise of
-- scale 2 / epsilon per bin makes the histogram epsilon-differentially private (replace-one neighbours;
-- add/remove-one has sensitivity 1, so the same scale gives epsilon / 2 there). Mean, p10..p90, the share below
-- 0.5 and the displayed cohort size are computed from the noisy histogram only (post-processing: no further
-- budget). Noisy counts are clamped at 0 before use. A learner is in the 'all' scope and in each skill scope
-- they practised, so one night's releases spend up to (1 + skills practised) x epsilon on them by composition,
-- and successive nights compose too (fresh noise each night on slowly changing data).
-- The k = 50 gate uses the true count (it tells only whether n >= 50).

-- One random seed per release date, drawn by the database when that night's release is made; the table is
-- closed to every API role (read only inside the definer refresh). Tests insert a known seed to fix the noise.
-- released_at marks the night as released (also when no scope reached k, so learners then read
-- 'cohort_below_k' rather than 'not_yet_released').
create table private.cohort_release_seeds (
  released_on date primary key,
  seed text not null check (length(seed) >= 32),
  created_at timestamptz not null default now(),
  released_at timestamptz
);
alter table private.cohort_release_seeds enable row level security;
revoke all on private.cohort_release_seeds from public, anon, authenticated, service_role;

-- The cache now holds one night's release; the k >= 10 check gives way to k >= 50 (enforced by the refresh,
-- checked here on the stored true count, which is never served).
alter table private.cohort_mastery_stats drop constraint if exists cohort_mastery_stats_learners_check;
alter table private.cohort_mastery_stats add column released_on date;
alter table private.cohort_mastery_stats add column true_learners integer;
delete from private.cohort_mastery_stats where true;  -- exact k = 10 figures: never served again
alter table private.cohort_mastery_stats alter column released_on set not null;
alter table private.cohort_mastery_stats alter column true_learners set not null;
alter table private.cohort_mastery_stats add constraint cohort_mastery_stats_k_check check (true_learners >= 50);

-- A uniform draw in (0, 1) from the first 56 bits of sha256(seed | label): deterministic given the seed,
-- unpredictable without it.
create or replace function private.release_uniform(p_seed text, p_label text)
returns double precision
language sql
immutable
set search_path = ''
as $$
  select (('x' || encode(substring(sha256(convert_to(p_seed || '|' || p_label, 'UTF8')) from 1 for 7), 'hex'))
            ::bit(56)::bigint + 0.5) / 72057594037927936.0   -- 2^56
$$;
revoke execute on function private.release_uniform(text, text) from public, anon, authenticated, service_role;
grant execute on function private.release_uniform(text, text) to service_role;

-- The release of one scope from its true bin counts (20 bins of width 0.05 over [0, 1]), pure: the same
-- counts, seed and scope give the same figures. Laplace by inversion: -b sign(u - 1/2) ln(1 - 2|u - 1/2|).
-- Breakpoints: the q-th share of the clamped noisy total, linear within its bin. Every figure is rounded to
-- 0.05 (the bin width); the displayed size to 10 and never below k.
create or replace function private.cohort_release_figures(p_counts integer[], p_seed text, p_scope text,
                                                          p_epsilon double precision default 1.0,
                                                          p_k integer default 50)
returns table (
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
immutable
set search_path = ''
as $$
declare
  v_bins constant integer := 20;
  v_scale double precision;
  v_noisy double precision[] := array[]::double precision[];
  v_total double precision := 0;
  v_sum double precision := 0;
  v_below double precision := 0;
  v_u double precision;
  v_c double precision;
  v_q double precision;
  v_cum double precision;
  v_points double precision[] := array[]::double precision[];
begin
  if p_counts is null or cardinality(p_counts) <> v_bins then
    raise exception 'cohort_release_figures: need % bin counts, got %', v_bins, cardinality(p_counts)
      using errcode = '22023';
  end if;
  if p_epsilon is null or p_epsilon <= 0 then
    raise exception 'cohort_release_figures: epsilon must be > 0' using errcode = '22023';
  end if;
  v_scale := 2.0 / p_epsilon;
  for i in 1..v_bins loop
    v_u := private.release_uniform(p_seed, p_scope || '|' || i);
    v_c := greatest(0.0, p_counts[i] - v_scale * sign(v_u - 0.5) * ln(1.0 - 2.0 * abs(v_u - 0.5)));
    v_noisy := v_noisy || v_c;
    v_total := v_total + v_c;
    v_sum := v_sum + v_c * (i - 0.5) / v_bins;
    if i <= v_bins / 2 then
      v_below := v_below + v_c;
    end if;
  end loop;
  if v_total < 1.0 then
    return;  -- noise swallowed everything: nothing to release (not reached with >= k learners in practice)
  end if;
  foreach v_q in array array[0.10, 0.25, 0.50, 0.75, 0.90] loop
    v_cum := 0;
    for i in 1..v_bins loop
      if v_cum + v_noisy[i] >= v_q * v_total and v_noisy[i] > 0 then
        v_points := v_points || ((i - 1) + (v_q * v_total - v_cum) / v_noisy[i]) / v_bins;
        exit;
      end if;
      v_cum := v_cum + v_noisy[i];
    end loop;
  end loop;
  return query select greatest(p_k, (round(v_total / 10) * 10)::integer),
                      round((v_sum / v_total * 20)::numeric)::double precision / 20,
                      round((v_points[1] * 20)::numeric)::double precision / 20,
                      round((v_points[2] * 20)::numeric)::double precision / 20,
                      round((v_points[3] * 20)::numeric)::double precision / 20,
                      round((v_points[4] * 20)::numeric)::double precision / 20,
                      round((v_points[5] * 20)::numeric)::double precision / 20,
                      round((v_below / v_total * 20)::numeric)::double precision / 20;
end;
$$;
revoke execute on function private.cohort_release_figures(integer[], text, text, double precision, integer)
  from public, anon, authenticated, service_role;
grant execute on function private.cohort_release_figures(integer[], text, text, double precision, integer)
  to service_role;

-- The true bin counts per scope over permanent learners (anonymous ones count nowhere, as before): what the
-- release is computed from. Service role only (exact counts).
create or replace function private.cohort_bin_counts()
returns table (scope text, skill_id bigint, learners integer, counts integer[])
language sql
stable
security definer
set search_path = ''
as $$
  -- Two hash aggregates over the table (no sort, no materialised copy of its rows): the per-learner means,
  -- and skill × bin directly. Anonymous learners: an anti-join against the (few) anonymous users.
  with bins as (
    select 'all'::text as scope, null::bigint as skill_id,
           least(20, greatest(1, width_bucket(p.mastery, 0.0, 1.0, 20))) as bin, count(*)::integer as n
    from (select m.user_id, avg(m.effective_mastery) as mastery
          from public.user_skill_mastery m
          where m.total_attempts > 0
            and not exists (select 1 from auth.users u where u.id = m.user_id and u.is_anonymous)
          group by m.user_id) p
    group by 3
    union all
    select m.skill_id::text, m.skill_id,
           least(20, greatest(1, width_bucket(m.effective_mastery, 0.0, 1.0, 20))), count(*)::integer
    from public.user_skill_mastery m
    where m.total_attempts > 0
      and not exists (select 1 from auth.users u where u.id = m.user_id and u.is_anonymous)
    group by m.skill_id, 3
  ),
  scopes as (
    select b.scope, b.skill_id, sum(b.n)::integer as learners, jsonb_object_agg(b.bin::text, b.n) as by_bin
    from bins b group by b.scope, b.skill_id
  )
  select s.scope, s.skill_id, s.learners,
         array(select coalesce((s.by_bin ->> g::text)::integer, 0) from generate_series(1, 20) g order by g)
  from scopes s
$$;
revoke execute on function private.cohort_bin_counts() from public, anon, authenticated, service_role;
grant execute on function private.cohort_bin_counts() to service_role;

-- The nightly release for p_release_date: once per date, only forward (a re-run or an older date keeps what
-- is cached and returns 0 rows written).
drop function if exists public.refresh_cohort_stats();
drop function if exists private.refresh_cohort_mastery_stats();
create or replace function private.refresh_cohort_mastery_stats(p_release_date date)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_seed text;
  v_rows integer;
begin
  if p_release_date is null then
    raise exception 'refresh_cohort_stats: p_release_date is required' using errcode = '22023';
  end if;
  -- one release at a time (two concurrent runs would otherwise both pass the check below)
  perform pg_advisory_xact_lock(hashtextextended('private.cohort_mastery_stats', 0));
  if exists (select 1 from private.cohort_release_seeds
             where released_on >= p_release_date and released_at is not null) then
    return 0;
  end if;
  insert into private.cohort_release_seeds (released_on, seed)
  values (p_release_date, replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))
  on conflict (released_on) do nothing;
  select s.seed into v_seed from private.cohort_release_seeds s where s.released_on = p_release_date;
  delete from private.cohort_mastery_stats where true;
  insert into private.cohort_mastery_stats (scope, skill_id, learners, mean_mastery, p10, p25, p50, p75, p90,
                                            share_below_half, released_on, true_learners)
  select b.scope, b.skill_id, f.learners, f.mean_mastery, f.p10, f.p25, f.p50, f.p75, f.p90, f.share_below_half,
         p_release_date, b.learners
  from private.cohort_bin_counts() b
  cross join lateral private.cohort_release_figures(b.counts, v_seed, b.scope) f
  where b.learners >= 50;
  get diagnostics v_rows = row_count;
  update private.cohort_release_seeds set released_at = now() where released_on = p_release_date;
  return v_rows;
end;
$$;
revoke execute on function private.refresh_cohort_mastery_stats(date) from public, anon, authenticated, service_role;
grant execute on function private.refresh_cohort_mastery_stats(date) to service_role;

-- Maintenance entry point (service role only): {"cohort_stats_rows": n} (0 when that night is released already).
create or replace function public.refresh_cohort_stats(p_release_date date)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select jsonb_build_object('cohort_stats_rows', private.refresh_cohort_mastery_stats(p_release_date))
$$;
revoke execute on function public.refresh_cohort_stats(date) from public, anon, authenticated;
grant execute on function public.refresh_cohort_stats(date) to service_role;

-- What learners read: always one row for the scope asked, from the cached release only. Figures are null,
-- with withheld_reason, when nothing has been released yet ('not_yet_released') or the scope had fewer than
-- k = 50 learners that night ('cohort_below_k'). The live computation is no longer reachable by learners.
drop function if exists public.cohort_mastery_distribution(bigint);
drop function if exists private.cohort_mastery_distribution(bigint);
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
  share_below_half double precision,
  released_on date,
  k integer,
  epsilon double precision,
  withheld_reason text
)
language sql
stable
security definer
set search_path = ''
as $$
  with latest as (select max(s.released_on) as released_on from private.cohort_release_seeds s
                  where s.released_at is not null)
  select p_skill_id, c.learners, c.mean_mastery, c.p10, c.p25, c.p50, c.p75, c.p90, c.share_below_half,
         l.released_on, 50, 1.0::double precision,
         case when l.released_on is null then 'not_yet_released'
              when c.scope is null then 'cohort_below_k' end
  from latest l
  left join private.cohort_mastery_stats c
    on c.scope = coalesce(p_skill_id::text, 'all') and c.released_on = l.released_on
$$;
revoke execute on function private.cohort_mastery_distribution(bigint) from public, anon, authenticated, service_role;
grant execute on function private.cohort_mastery_distribution(bigint) to authenticated, service_role;

-- p_skill_id null → the overall scope (each learner's mean mastery over the skills they practised).
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
  share_below_half double precision,
  released_on date,
  k integer,
  epsilon double precision,
  withheld_reason text
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
