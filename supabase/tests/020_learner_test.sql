-- Actor: a learner (authenticated, own JWT). Reads all of their own rows and the content; cannot
-- read answer keys or maintenance data; cannot write any table; cannot call write RPCs; sees peers
-- only through the k-anonymous cohort RPC.
begin;

create temp table ids as select * from tests.create_active_learners();
grant select on ids to authenticated;
create temp table expected as
  select t as tbl, tests.row_count(t, format('user_id = %L', (select id from ids where name = 'a'))) as n
  from tests.learner_tables() t;
grant select on expected to authenticated;

select plan(141);

select isnt(e.n, 0::bigint, format('fixture: learner A owns rows in %s', e.tbl)) from expected e order by e.tbl;

select tests.authenticate_as((select id from ids where name = 'a'));

-- SELECT: all own rows, nothing else
select is(tests.row_count(e.tbl), e.n, format('learner reads exactly their own %s rows', e.tbl))
from expected e order by e.tbl;
select ok(tests.row_count(t) > 0, format('learner reads content table %s', t)) from tests.content_tables() t;
select throws_ok(format('select count(*) from public.%I', t), '42501', null,
                 format('learner cannot read %s', t))
from tests.restricted_tables() t;

-- INSERT / UPDATE / DELETE: denied everywhere (writes go through service-role RPCs)
select throws_ok(format('insert into public.%I default values', tbl), '42501', null,
                 format('learner cannot insert into %s', tbl))
from tests.all_tables();
select throws_ok(format('update public.%I set %I = %I', tbl, plain_column, plain_column), '42501', null,
                 format('learner cannot update %s', tbl))
from tests.all_tables();
select throws_ok(format('delete from public.%I', tbl), '42501', null, format('learner cannot delete from %s', tbl))
from tests.all_tables();

-- write RPCs: denied (even for their own user id)
select throws_ok(format('select %s', c), '42501', null, format('learner cannot call %s', split_part(c, '(', 1)))
from tests.write_rpc_calls() c;

-- cohort RPC: callable, but serves only the nightly noised release (k = 50; figures null with a reason
-- otherwise). Expected sizes are counted directly (as postgres) so the test also holds when other suites
-- left learners in the cluster. The release itself is tested in 110_cohort_stats_cache_test.sql.
reset role;
delete from private.cohort_mastery_stats where true;
delete from private.cohort_release_seeds where true;
create temp table cohort (scope text primary key, learners integer);
grant select on cohort to authenticated;
select tests.authenticate_as((select id from ids where name = 'a'));
select is((select (learners, p50, withheld_reason)::text from public.cohort_mastery_distribution(null)),
          '(,,not_yet_released)', 'before any nightly release the overall row has no figures, only the reason');
select is((select withheld_reason from public.cohort_mastery_distribution(1)), 'not_yet_released',
          'nor has a skill''s row: nothing is computed per call');

reset role;
do $$
begin
  for i in 1..50 loop
    perform tests.simulate_learner(tests.create_user(format('peer%s@test.local', i)), 3);
  end loop;
end;
$$;
insert into cohort
  select b.scope, b.learners from private.cohort_bin_counts() b where b.scope in ('all', '1');
select public.refresh_cohort_stats(current_date);
select tests.authenticate_as((select id from ids where name = 'a'));

select ok((select learners >= 50 and learners % 10 = 0 and withheld_reason is null and released_on = current_date
           from public.cohort_mastery_distribution(null)),
          'with 50 more learners the overall row is released: a noised size rounded to 10, at least k = 50');
select ok((select p10 <= p25 and p25 <= p50 and p50 <= p75 and p75 <= p90 and share_below_half between 0 and 1
                  and abs(mean_mastery * 20 - round(mean_mastery * 20)) < 1e-9
                  and abs(p50 * 20 - round(p50 * 20)) < 1e-9
           from public.cohort_mastery_distribution(null)), 'breakpoints are ordered and rounded to 0.05');
select is((select (skill_id, withheld_reason is null)::text from public.cohort_mastery_distribution(1)),
          (select format('(1,%s)', case when learners >= 50 then 't' else 'f' end) from cohort where scope = '1'),
          'skill 1 (practised by every fixture learner) is released exactly when it has 50 learners');
select is((select withheld_reason from public.cohort_mastery_distribution(
             (select id from public.skills where code = 'sci.hypothesis_evaluation'))),
          (select case when count(*) >= 50 then null else 'cohort_below_k' end from public.user_skill_mastery m
           join public.skills s on s.id = m.skill_id
           where s.code = 'sci.hypothesis_evaluation' and m.total_attempts > 0),
          'a skill the fixture never practised follows the same threshold');
select is(tests.row_count('user_skill_mastery'), (select n from expected where tbl = 'user_skill_mastery'),
          'the cohort helper does not widen what the learner can read');

select * from finish();
rollback;
