-- Actor: the service role (and the table owner, as a migration or a bulk load writes). A session_questions row is
-- graded only once answered (20261207170100_session_questions_graded_only_when_answered.sql), so reads of the
-- graded answers may also say `answered_at is not null` (the partial covering index's predicate).
begin;

create temp table fx as
select tests.create_user('graded.answered@test.local') as a,
       (select id from public.questions where external_ref = 'math.linear_equations.001') as q;
create temp table state (k text primary key, v jsonb);
grant select on fx to service_role;
grant select, insert on state to service_role;

select plan(4);

select ok((select convalidated from pg_constraint
           where conname = 'session_questions_graded_only_when_answered'
             and conrelid = 'public.session_questions'::regclass),
          'the check exists and is validated');

select tests.authenticate_as_service_role();
insert into state select 's', public.start_session(a, 'adaptive', '{}') from fx;
select public.serve_question(a, (select (v ->> 'id')::uuid from state where k = 's'), q, '{}') from fx;
reset role;

select throws_ok(
  $$update public.session_questions set is_correct = true
    where user_id = (select a from fx) and answered_at is null$$,
  '23514', null, 'a served, unanswered row cannot be graded');
select lives_ok(
  $$update public.session_questions set is_correct = true, answered_at = now(), idempotency_key = 'graded-1'
    where user_id = (select a from fx) and answered_at is null$$,
  'graded together with answered_at (as record_answer writes it)');
select is((select count(*)::integer from public.session_questions
           where user_id = (select a from fx) and is_correct is not null and answered_at is null),
          0, 'no graded row without answered_at');

select * from finish();
rollback;
