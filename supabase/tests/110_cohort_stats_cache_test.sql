-- Actors: service role (maintenance), a learner, anon. The cohort cache: filled by refresh_cohort_stats,
-- then served to learners instead of the live scan, with the same k ≥ 10 rule.
begin;

delete from private.cohort_mastery_stats where true;
do $$
begin
  for i in 1..12 loop
    perform tests.simulate_learner(tests.create_user(format('cohort%s@test.local', i)), 3);
  end loop;
end;
$$;
create temp table live as select * from private.cohort_mastery_distribution_live(null);
create temp table expected_rows as
  select 1 + (select count(*) from (select m.skill_id from public.user_skill_mastery m where m.total_attempts > 0
                                    group by m.skill_id having count(*) >= 10) s) as n;
grant select on live, expected_rows to authenticated, service_role;
create temp table learner as select tests.create_user('cohort.viewer@test.local') as id;
create temp table unpractised (id bigint);
with added as (
  insert into public.skills (topic_id, code, name) values (1, 'test.unpractised', 'Unpractised') returning id
)
insert into unpractised select id from added;
grant select on learner, unpractised to authenticated;

select plan(7);

select tests.authenticate_as((select id from learner));
select throws_ok('select public.refresh_cohort_stats()', '42501', null, 'a learner cannot refresh the cohort cache');
select throws_ok('select count(*) from private.cohort_mastery_stats', '42501', null,
                 'a learner cannot read the cache table');

select tests.authenticate_as_service_role();
select is(public.refresh_cohort_stats(), jsonb_build_object('cohort_stats_rows', (select n from expected_rows)),
          'the refresh writes the overall row and one per skill practised by ≥ 10 learners');

-- a change after the refresh is not seen until the next refresh: the cache is what learners read
reset role;
update public.user_skill_mastery set effective_mastery = 0.999 where total_attempts > 0;
select tests.authenticate_as((select id from learner));
select results_eq('select learners, p50, mean_mastery from public.cohort_mastery_distribution(null)',
                  'select learners, p50, mean_mastery from live',
                  'learners read the cached overall distribution');
select is((select count(*) from public.cohort_mastery_distribution(1)), 1::bigint,
          'a skill practised by ≥ 10 learners has a cached row');
select is((select count(*) from public.cohort_mastery_distribution(
             (select id from unpractised))),
          0::bigint, 'a skill nobody practised has none');

select tests.authenticate_as_anon();
select throws_ok('select * from public.cohort_mastery_distribution(null)', '42501', null,
                 'anon still cannot read the cohort distribution');

select * from finish();
rollback;
