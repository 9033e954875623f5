-- Actors: service role (the nightly job), a learner. The nightly release counts bins per slice of learners
-- (cohort_bins_slice) and releases from the staged counts (refresh_cohort_stats): the same release as counting
-- everyone at once, a restarted count adds nobody twice, and a released night counts nothing more.
begin;

delete from private.cohort_mastery_stats where true;
delete from private.cohort_release_seeds where true;
delete from private.cohort_bin_staging where true;
do $$
begin
  for i in 1..55 loop
    perform tests.simulate_learner(tests.create_user(format('slices%s@test.local', i)), 3);
  end loop;
end;
$$;
insert into private.cohort_release_seeds (released_on, seed) values ('2026-12-02', repeat('fedcba9876543210', 4));
create temp table expected as
  select b.scope, b.skill_id, b.learners as true_learners, b.counts, f.*
  from private.cohort_bin_counts() b
  cross join lateral private.cohort_release_figures(b.counts, repeat('fedcba9876543210', 4), b.scope) f;
create temp table slices (n integer generated always as identity, result jsonb);
grant select, insert on slices to service_role;
grant select on expected to service_role;
create temp table learner as select tests.create_user('slices.viewer@test.local') as id;
grant select on learner to authenticated;

select plan(9);

select tests.authenticate_as((select id from learner));
select throws_ok($$select public.cohort_bins_slice('2026-12-02', null, 7)$$, '42501', null,
                 'a learner cannot count cohort bins');

select tests.authenticate_as_service_role();
-- a count that starts, then restarts from the first slice, then runs to the end in slices of 7 learners
insert into slices (result) select public.cohort_bins_slice('2026-12-02', null, 7);
insert into slices (result) select public.cohort_bins_slice('2026-12-02', (select (result ->> 'last_user_id')::uuid
                                                                             from slices where n = 1), 7);
do $$
declare
  v jsonb := public.cohort_bins_slice('2026-12-02', null, 7);
begin
  insert into slices (result) values (v);
  while not (v ->> 'done')::boolean loop
    v := public.cohort_bins_slice('2026-12-02', (v ->> 'last_user_id')::uuid, 7);
    insert into slices (result) values (v);
  end loop;
end;
$$;
select is((select count(*) from slices where n > 2), 8::bigint,
          '55 learners in slices of 7: seven full slices and the open-ended last one');
select is((select sum((result ->> 'cohort_learners')::integer) from slices where n > 2), 55::bigint,
          'every learner is in exactly one slice of the count');
select is((select result ->> 'last_user_id' from slices order by n desc limit 1), null,
          'the last slice is open-ended');

reset role;
select results_eq(
  $$select st.scope, sum(st.learners)::integer, private.bin_count_array(array_agg(st.bin::integer), array_agg(st.learners))
    from private.cohort_bin_staging st where st.released_on = '2026-12-02' group by st.scope order by st.scope$$,
  $$select scope, true_learners, counts from expected order by scope$$,
  'the staged counts equal everyone counted at once, though the count was restarted after two slices');

select tests.authenticate_as_service_role();
select is(public.refresh_cohort_stats('2026-12-02'),
          jsonb_build_object('cohort_stats_rows', (select count(*) from expected where true_learners >= 50)),
          'the release from the staged counts writes every scope with >= 50 learners');
reset role;
select results_eq(
  $$select scope, learners, mean_mastery, p10, p50, p90, share_below_half from private.cohort_mastery_stats
    order by scope$$,
  $$select scope, learners, mean_mastery, p10, p50, p90, share_below_half from expected where true_learners >= 50
    order by scope$$,
  'the released figures are those of the seeded noise on the true counts');
select is((select count(*) from private.cohort_bin_staging), 0::bigint, 'the staged counts are gone once released');

select tests.authenticate_as_service_role();
select is(public.cohort_bins_slice('2026-12-02', null, 7) ->> 'released', 'true',
          'a released night counts nothing more');

select * from finish();
rollback;
