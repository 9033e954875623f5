-- The nightly cohort release, counted in slices of learners.
--
-- Before: refresh_cohort_stats(date) counted every learner's bins in one statement: 15-18 s on 100k learners x
-- 20 skills here, above the 8 s statement timeout a hosted project gives the API roles (service_role inherits
-- authenticator's 8 s: https://supabase.com/docs/guides/database/postgres/timeouts, "Role level"). Now the
-- nightly job counts bins per slice of learners (public.cohort_bins_slice, like refresh_aggregates_slice: by
-- user_id, the slice size halved by the caller on a timeout) into a staging table, and the release
-- (refresh_cohort_stats) only turns the staged counts into noised figures: one pass over ~(1 + skills) x 20
-- rows.
--
-- Privacy is unchanged: every learner is in exactly one slice, so they still add one count to one bin per scope
-- (sensitivity 2 under replace-one, as 20261207020000_cohort_release_noise.sql argues); slices read the data at
-- slightly different moments, which changes which bin a learner lands in, never how many counts they add.
-- A release date is still released once; the staged counts are deleted when it is.

create table private.cohort_bin_staging (
  released_on date not null,
  scope text not null,     -- 'all' or the skill id as text, as in private.cohort_mastery_stats
  skill_id bigint,         -- null for 'all'
  bin smallint not null check (bin between 1 and 20),
  learners integer not null check (learners >= 0),
  primary key (released_on, scope, bin)
);
alter table private.cohort_bin_staging enable row level security;
revoke all on private.cohort_bin_staging from public, anon, authenticated, service_role;

-- The true bin counts of the learners p_after_user < user_id <= p_last_user (either bound null: open), per scope
-- and bin; anonymous learners count nowhere. The one definition of "a learner's bin" (cohort_bin_counts() below
-- is the whole table through it).
create or replace function private.cohort_bin_counts_slice(p_after_user uuid, p_last_user uuid)
returns table (scope text, skill_id bigint, bin integer, learners integer)
language sql
stable
security definer
set search_path = ''
as $$
  with practised as (
    select m.user_id, m.skill_id, m.effective_mastery
    from public.user_skill_mastery m
    where m.total_attempts > 0
      and (p_after_user is null or m.user_id > p_after_user)
      and (p_last_user is null or m.user_id <= p_last_user)
      and not exists (select 1 from auth.users u where u.id = m.user_id and u.is_anonymous)
  )
  select 'all'::text, null::bigint, least(20, greatest(1, width_bucket(p.mastery, 0.0, 1.0, 20))), count(*)::integer
  from (select r.user_id, avg(r.effective_mastery) as mastery from practised r group by r.user_id) p
  group by 3
  union all
  select r.skill_id::text, r.skill_id, least(20, greatest(1, width_bucket(r.effective_mastery, 0.0, 1.0, 20))),
         count(*)::integer
  from practised r
  group by r.skill_id, 3
$$;
revoke execute on function private.cohort_bin_counts_slice(uuid, uuid) from public, anon, authenticated, service_role;
grant execute on function private.cohort_bin_counts_slice(uuid, uuid) to service_role;

-- Counts per bin (parallel arrays, bins 1..20, repeats summed) as the 20-element array the release reads.
create or replace function private.bin_count_array(p_bins integer[], p_counts integer[])
returns integer[]
language sql
immutable
set search_path = ''
as $$
  select array(select coalesce(sum(u.n), 0)::integer
               from generate_series(1, 20) g(bin)
               left join unnest(p_bins, p_counts) as u(bin, n) on u.bin = g.bin
               group by g.bin order by g.bin)
$$;
revoke execute on function private.bin_count_array(integer[], integer[]) from public, anon, authenticated;
grant execute on function private.bin_count_array(integer[], integer[]) to service_role;

-- Every learner at once, as 20-element count arrays per scope (SQL callers and tests); same result as before.
create or replace function private.cohort_bin_counts()
returns table (scope text, skill_id bigint, learners integer, counts integer[])
language sql
stable
security definer
set search_path = ''
as $$
  select c.scope, c.skill_id, sum(c.learners)::integer, private.bin_count_array(array_agg(c.bin), array_agg(c.learners))
  from private.cohort_bin_counts_slice(null, null) c
  group by c.scope, c.skill_id
$$;
revoke execute on function private.cohort_bin_counts() from public, anon, authenticated, service_role;
grant execute on function private.cohort_bin_counts() to service_role;

-- One slice of the nightly count: the learners p_after_user < user_id <= last_user_id (the p_max_users-th
-- learner after p_after_user; the slice finding fewer is the last, open-ended one: "done"), added to the staging
-- counts of p_release_date. The first slice (p_after_user null) starts the date's count afresh, so a restarted
-- count never adds a learner twice. A date already released (or an older one) counts nothing: "released".
create or replace function private.cohort_bins_slice(p_release_date date, p_after_user uuid,
                                                     p_max_users integer)
returns jsonb
language plpgsql
security definer
set search_path = ''
set plan_cache_mode = 'force_custom_plan'  -- the slice bounds decide the plan
as $$
declare
  v_hi uuid;
  v_found integer;
begin
  if p_release_date is null or p_max_users is null or p_max_users not between 1 and 50000 then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'need p_release_date and 1 <= p_max_users <= 50000';
  end if;
  if exists (select 1 from private.cohort_release_seeds
             where released_on >= p_release_date and released_at is not null) then
    return jsonb_build_object('cohort_learners', 0, 'last_user_id', null, 'done', true, 'released', true);
  end if;
  if p_after_user is null then
    delete from private.cohort_bin_staging where released_on <= p_release_date;
  end if;
  select count(*), (array_agg(u.user_id order by u.user_id desc))[1] into v_found, v_hi
  from (select distinct m.user_id
        from public.user_skill_mastery m
        where p_after_user is null or m.user_id > p_after_user
        order by m.user_id
        limit p_max_users) u;
  if v_found < p_max_users then
    v_hi := null;
  end if;
  insert into private.cohort_bin_staging as st (released_on, scope, skill_id, bin, learners)
  select p_release_date, c.scope, c.skill_id, c.bin, c.learners
  from private.cohort_bin_counts_slice(p_after_user, v_hi) c
  on conflict (released_on, scope, bin) do update set learners = st.learners + excluded.learners;
  return jsonb_build_object('cohort_learners', v_found, 'last_user_id', v_hi, 'done', v_hi is null,
                            'released', false);
end;
$$;
revoke execute on function private.cohort_bins_slice(date, uuid, integer) from public, anon, authenticated, service_role;
grant execute on function private.cohort_bins_slice(date, uuid, integer) to service_role;

-- Maintenance entry point (service role only).
create or replace function public.cohort_bins_slice(p_release_date date, p_after_user uuid default null,
                                                    p_max_users integer default 5000)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  select private.cohort_bins_slice(p_release_date, p_after_user, p_max_users)
$$;
revoke execute on function public.cohort_bins_slice(date, uuid, integer) from public, anon, authenticated;
grant execute on function public.cohort_bins_slice(date, uuid, integer) to service_role;

-- The release from the staged counts of p_release_date (once per date, only forward, as before). With nothing
-- staged for the date, every learner is counted here first (SQL callers, tests: one statement, as before).
create or replace function private.refresh_cohort_mastery_stats(p_release_date date)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_seed text;
  v_rows integer;
  v_slice jsonb;
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
  if not exists (select 1 from private.cohort_bin_staging where released_on = p_release_date) then
    v_slice := private.cohort_bins_slice(p_release_date, null, 50000);
    while not (v_slice ->> 'done')::boolean loop
      v_slice := private.cohort_bins_slice(p_release_date, (v_slice ->> 'last_user_id')::uuid, 50000);
    end loop;
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
  from (select st.scope, st.skill_id, sum(st.learners)::integer as learners,
               private.bin_count_array(array_agg(st.bin::integer), array_agg(st.learners)) as counts
        from private.cohort_bin_staging st
        where st.released_on = p_release_date
        group by st.scope, st.skill_id) b
  cross join lateral private.cohort_release_figures(b.counts, v_seed, b.scope) f
  where b.learners >= 50;
  get diagnostics v_rows = row_count;
  delete from private.cohort_bin_staging where released_on <= p_release_date;
  update private.cohort_release_seeds set released_at = now() where released_on = p_release_date;
  return v_rows;
end;
$$;
revoke execute on function private.refresh_cohort_mastery_stats(date) from public, anon, authenticated, service_role;
grant execute on function private.refresh_cohort_mastery_stats(date) to service_role;
