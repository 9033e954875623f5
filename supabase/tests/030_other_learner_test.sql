-- Actor: another learner (B) and a token without a subject. B sees none of A's rows in any table
-- (counts, not just errors), cannot change them, and cannot act for A through an RPC.
begin;

create temp table ids as select * from tests.create_active_learners();
grant select on ids to authenticated;
create temp table expected as
  select t as tbl,
         tests.row_count(t, format('user_id = %L', (select id from ids where name = 'a'))) as a_rows,
         tests.row_count(t, format('user_id = %L', (select id from ids where name = 'b'))) as b_rows
  from tests.learner_tables() t;
grant select on expected to authenticated;

select plan(79);

select ok(e.a_rows > 0 and e.b_rows > 0, format('fixture: both learners own rows in %s', e.tbl))
from expected e order by e.tbl;

select tests.authenticate_as((select id from ids where name = 'b'));

select is(tests.row_count(e.tbl, format('user_id = %L', (select id from ids where name = 'a'))), 0::bigint,
          format('learner B reads 0 of learner A''s %s rows', e.tbl))
from expected e order by e.tbl;
select is(tests.row_count(e.tbl), e.b_rows, format('learner B reads only their own %s rows', e.tbl))
from expected e order by e.tbl;
select throws_ok(format('update public.%I set user_id = user_id where user_id = %L', e.tbl,
                        (select id from ids where name = 'a')), '42501', null,
                 format('learner B cannot update learner A''s %s rows', e.tbl))
from expected e order by e.tbl;
select throws_ok(format('delete from public.%I where user_id = %L', e.tbl, (select id from ids where name = 'a')),
                 '42501', null, format('learner B cannot delete learner A''s %s rows', e.tbl))
from expected e order by e.tbl;
select throws_ok(format($$select public.start_session(%L)$$, (select id from ids where name = 'a')), '42501', null,
                 'learner B cannot start a session for learner A');

-- an authenticated token without `sub`: auth.uid() is null, so no row matches any policy
set local request.jwt.claims = '{"role": "authenticated"}';
select is(tests.row_count(e.tbl), 0::bigint, format('a token without subject reads 0 %s rows', e.tbl))
from expected e order by e.tbl;

select * from finish();
rollback;
