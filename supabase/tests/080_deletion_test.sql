-- Account deletion: deleting the auth.users row removes every row of that user in every learner
-- table (the append-only guards let the cascade through) and leaves other learners untouched.
begin;

create temp table ids as select * from tests.create_active_learners();
create temp table before as
  select t as tbl,
         tests.row_count(t, format('user_id = %L', (select id from ids where name = 'a'))) as a_rows,
         tests.row_count(t, format('user_id = %L', (select id from ids where name = 'b'))) as b_rows
  from tests.learner_tables() t;

select plan(29);

select ok(b.a_rows > 0, format('fixture: the learner has rows in %s', b.tbl)) from before b order by b.tbl;

select lives_ok(format('delete from auth.users where id = %L', (select id from ids where name = 'a')),
                'deleting the auth user succeeds despite append-only history and events');

select is(tests.row_count(b.tbl, format('user_id = %L', (select id from ids where name = 'a'))), 0::bigint,
          format('no %s rows of the deleted user remain', b.tbl))
from before b order by b.tbl;

select is((select sum(tests.row_count(b.tbl, format('user_id = %L', (select id from ids where name = 'b'))))
           from before b), (select sum(b_rows) from before), 'the other learner keeps every row');
select throws_ok(format('delete from public.learning_events where user_id = %L', (select id from ids where name = 'b')),
                 'PT405', 'append_only_violation', 'the guard still protects a user who exists');

select * from finish();
rollback;
