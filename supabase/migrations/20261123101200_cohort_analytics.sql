-- Cohort (peer) analytics exposed only as k-anonymous aggregates (k >= 10): learners may compare
-- themselves with percentile breakpoints but can never see another learner's row. The
-- security-definer body lives in `private`; the public wrapper is what PostgREST exposes.

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
