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

select plan(125);

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

-- cohort RPC: callable, but returns nothing below k = 10 learners. Expected sizes are counted
-- directly (as postgres) so the test also holds when other suites left learners in the cluster.
reset role;
-- the live computation (the maintenance cache is tested in 110_cohort_stats_cache_test.sql)
delete from private.cohort_mastery_stats where true;
create temp table cohort (scope text primary key, learners integer);
grant select on cohort to authenticated;
insert into cohort
  select 'all', count(distinct user_id) from public.user_skill_mastery where total_attempts > 0
  union all
  select 'skill1', count(*) from public.user_skill_mastery where skill_id = 1 and total_attempts > 0;
select tests.authenticate_as((select id from ids where name = 'a'));
select is((select count(*) from public.cohort_mastery_distribution(null)),
          (select case when learners >= 10 then 1 else 0 end::bigint from cohort where scope = 'all'),
          'the overall distribution is withheld below k = 10 learners');
select is((select count(*) from public.cohort_mastery_distribution(1)),
          (select case when learners >= 10 then 1 else 0 end::bigint from cohort where scope = 'skill1'),
          'a skill''s distribution is withheld below k = 10 learners');

reset role;
do $$
begin
  for i in 1..10 loop
    perform tests.simulate_learner(tests.create_user(format('peer%s@test.local', i)), 3);
  end loop;
end;
$$;
update cohort set learners = learners + 10;
select tests.authenticate_as((select id from ids where name = 'a'));

select results_eq('select learners from public.cohort_mastery_distribution(null)',
                  $$select learners from cohort where scope = 'all'$$,
                  'with 10 more learners the overall distribution is one aggregate row over all of them');
select ok((select p10 <= p25 and p25 <= p50 and p50 <= p75 and p75 <= p90 and share_below_half between 0 and 1
           from public.cohort_mastery_distribution(null)), 'percentile breakpoints are ordered');
select results_eq('select skill_id, learners from public.cohort_mastery_distribution(1)',
                  $$select 1::bigint, learners from cohort where scope = 'skill1'$$,
                  'skill 1 (practised by every fixture learner) has a cohort row');
select is((select count(*) from public.cohort_mastery_distribution(
             (select id from public.skills where code = 'sci.hypothesis_evaluation'))),
          (select case when count(*) >= 10 then 1 else 0 end::bigint from public.user_skill_mastery m
           join public.skills s on s.id = m.skill_id
           where s.code = 'sci.hypothesis_evaluation' and m.total_attempts > 0),
          'a skill the fixture never practised follows the same threshold');
select is(tests.row_count('user_skill_mastery'), (select n from expected where tbl = 'user_skill_mastery'),
          'the cohort helper does not widen what the learner can read');

select * from finish();
rollback;
