-- Actor: anon (the public API key, no user). No table, not even content, and no RPC.
begin;

create temp table ids as select * from tests.create_active_learners();

select plan(124);

select tests.authenticate_as_anon();

select is(auth.uid(), null, 'anon has no user id');
select throws_ok(format('select count(*) from public.%I', tbl), '42501', null, format('anon cannot read %s', tbl))
from tests.all_tables();
select throws_ok(format('insert into public.%I default values', tbl), '42501', null,
                 format('anon cannot insert into %s', tbl))
from tests.all_tables();
select throws_ok(format('update public.%I set %I = %I', tbl, plain_column, plain_column), '42501', null,
                 format('anon cannot update %s', tbl))
from tests.all_tables();
select throws_ok(format('delete from public.%I', tbl), '42501', null, format('anon cannot delete from %s', tbl))
from tests.all_tables();
select throws_ok(format('select %s', c), '42501', null, format('anon cannot call %s', split_part(c, '(', 1)))
from tests.write_rpc_calls() c;
select throws_ok('select * from public.cohort_mastery_distribution(null)', '42501', null,
                 'anon cannot call the cohort RPC');

reset role;
select ok(tests.row_count('practice_sessions') > 0, 'the rows anon was denied do exist');

select * from finish();
rollback;
