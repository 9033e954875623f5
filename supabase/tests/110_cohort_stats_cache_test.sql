-- Actors: service role (maintenance), a learner, anon. The cohort cache holds one nightly release (k = 50,
-- Laplace-noised histogram, epsilon 1, figures rounded to 0.05): filled by refresh_cohort_stats(date), once
-- per date, and the only thing learners read. The noise is fixed by the seed of the release date.
begin;

delete from private.cohort_mastery_stats where true;
delete from private.cohort_release_seeds where true;
do $$
begin
  for i in 1..55 loop
    perform tests.simulate_learner(tests.create_user(format('cohort%s@test.local', i)), 3);
  end loop;
end;
$$;
insert into private.cohort_release_seeds (released_on, seed) values ('2026-12-01', repeat('0123456789abcdef', 4));
create temp table expected as
  select b.scope, b.skill_id, f.*
  from private.cohort_bin_counts() b
  cross join lateral private.cohort_release_figures(b.counts, repeat('0123456789abcdef', 4), b.scope) f
  where b.learners >= 50;
grant select on expected to authenticated, service_role;
create temp table learner as select tests.create_user('cohort.viewer@test.local') as id;
create temp table unpractised (id bigint);
with added as (
  insert into public.skills (topic_id, code, name) values (1, 'test.unpractised', 'Unpractised') returning id
)
insert into unpractised select id from added;
grant select on learner, unpractised to authenticated;

select plan(14);

-- The release is a pure function of the bin counts, the seed and the scope (pinned: 100 learners, 5 a bin).
select results_eq(
  $$select learners, mean_mastery, p10, p25, p50, p75, p90, share_below_half
    from private.cohort_release_figures(array_fill(5, array[20]), 'pinned-seed-for-the-release-test-0001', 'all')$$,
  $$values (120, 0.5::float8, 0.1::float8, 0.25::float8, 0.5::float8, 0.75::float8, 0.85::float8, 0.5::float8)$$,
  'the release of a flat histogram under a pinned seed (rounded to 0.05, size to 10)');
select results_eq(
  $$select * from private.cohort_release_figures(array_fill(5, array[20]), 'pinned-seed-for-the-release-test-0001', 'all')$$,
  $$select * from private.cohort_release_figures(array_fill(5, array[20]), 'pinned-seed-for-the-release-test-0001', 'all')$$,
  'the same seed and scope give the same figures: re-reading averages nothing away');
select isnt(
  (select mean_mastery from private.cohort_release_figures(array[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,60],
                                                           'pinned-seed-for-the-release-test-0001', 'x')),
  null, 'a cohort all in the top bin still gets figures');
select throws_ok($$select * from private.cohort_release_figures(array[1, 2], 's', 'all')$$, '22023', null,
                 'bin counts other than 20 are refused');

select tests.authenticate_as((select id from learner));
select throws_ok($$select public.refresh_cohort_stats('2026-12-01')$$, '42501', null,
                 'a learner cannot refresh the cohort cache');
select throws_ok('select count(*) from private.cohort_mastery_stats', '42501', null,
                 'a learner cannot read the cache table');
select throws_ok('select count(*) from private.cohort_release_seeds', '42501', null,
                 'nor the release seeds');

select tests.authenticate_as_service_role();
select is(public.refresh_cohort_stats('2026-12-01'),
          jsonb_build_object('cohort_stats_rows', (select count(*) from expected)),
          'the release writes the overall row and one per skill practised by >= 50 learners');
select is(public.refresh_cohort_stats('2026-12-01'), '{"cohort_stats_rows": 0}'::jsonb,
          'a second run for the same night keeps that night''s release');
select is(public.refresh_cohort_stats('2026-11-30'), '{"cohort_stats_rows": 0}'::jsonb,
          'and an older night never replaces a newer release');

-- a change after the release is not seen until the next night: the cache is what learners read
reset role;
update public.user_skill_mastery set effective_mastery = 0.999 where total_attempts > 0;
select tests.authenticate_as((select id from learner));
select results_eq(
  $$select learners, mean_mastery, p10, p25, p50, p75, p90, share_below_half, released_on, k, epsilon, withheld_reason
    from public.cohort_mastery_distribution(null)$$,
  $$select learners, mean_mastery, p10, p25, p50, p75, p90, share_below_half, '2026-12-01'::date, 50, 1.0::float8,
           null::text from expected where scope = 'all'$$,
  'learners read the cached overall release: the seeded noisy figures, with date, k and epsilon');
select is((select count(*) from public.cohort_mastery_distribution(1) where withheld_reason is null), 1::bigint,
          'a skill practised by >= 50 learners has released figures');
select is((select (learners, mean_mastery, withheld_reason)::text
           from public.cohort_mastery_distribution((select id from unpractised))),
          '(,,cohort_below_k)', 'a skill below k = 50 learners gets nothing but the reason');

select tests.authenticate_as_anon();
select throws_ok('select * from public.cohort_mastery_distribution(null)', '42501', null,
                 'anon still cannot read the cohort distribution');

select * from finish();
rollback;
