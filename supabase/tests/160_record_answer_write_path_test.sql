-- Actor: service role. What makes record_answer write less per answer (20261207180000..180200) without changing
-- what it writes: the session row's per-answer update reads no indexed column (so it can be HOT), the exposure
-- counter is updated in place and still created by a question's first answer, and session_questions keeps room
-- on each page for the answers of the rows served there.
begin;

create temp table fx as
select tests.create_user('writepath.a@test.local') as a,
       tests.create_user('writepath.b@test.local') as b,
       (select id from public.questions where external_ref = 'math.linear_equations.001') as q;
create temp table state (k text primary key, v jsonb);
grant select on fx to service_role;
grant select, insert on state to service_role;

select plan(8);

-- 1. schema: no practice_sessions index has last_activity_at or total_interactions as a key, an included column,
--    an expression or in its predicate; the idle sweep's partial index is keyed on started_at
select is((select count(*) from pg_index i
           join pg_attribute att on att.attrelid = i.indrelid
                                and att.attname in ('last_activity_at', 'total_interactions')
           where i.indrelid = 'public.practice_sessions'::regclass
             and (att.attnum = any (i.indkey::int2[])
                  or coalesce(pg_get_expr(i.indpred, i.indrelid), '') like '%' || att.attname || '%'
                  or coalesce(pg_get_expr(i.indexprs, i.indrelid), '') like '%' || att.attname || '%')),
          0::bigint, 'no practice_sessions index reads the columns an answer updates');
select is(pg_get_indexdef('public.practice_sessions_active_started_at_idx'::regclass),
          'CREATE INDEX practice_sessions_active_started_at_idx ON public.practice_sessions USING btree '
          || '(started_at, id) WHERE (status = ''active''::text)',
          'the active sessions are one partial index');
select is((select reloptions from pg_class where oid = 'public.session_questions'::regclass), array['fillfactor=35'],
          'session_questions inserts leave two thirds of a page for the answers');

-- 2. the exposure counter: a question without its row gets it from the first answer, then counts every answer
delete from public.question_difficulty_params where question_id = (select q from fx);

select tests.authenticate_as_service_role();
insert into state select 'sa', public.start_session(a, 'adaptive', '{}') from fx;
insert into state select 'sb', public.start_session(b, 'adaptive', '{}') from fx;
select public.serve_question(a, (select (v ->> 'id')::uuid from state where k = 'sa'), q, '{}') from fx;
select public.serve_question(b, (select (v ->> 'id')::uuid from state where k = 'sb'), q, '{}') from fx;

select is(public.record_answer(a, jsonb_build_object('session_id', (select (v ->> 'id')::uuid from state where k = 'sa'),
                                                     'question_id', q, 'idempotency_key', 'wp-a', 'is_correct', true),
                               '[]', '[]', '{}') ->> 'status', 'created', 'first answer to the question') from fx;
select results_eq(
  $$select times_seen, discrimination, difficulty, guessing, calibrated_at from public.question_difficulty_params
    where question_id = (select q from fx)$$,
  $$values (1, 1::double precision, 0::double precision, 0::double precision, null::timestamptz)$$,
  'the first answer creates the counter row with its defaults and times_seen 1');
select is(public.record_answer(b, jsonb_build_object('session_id', (select (v ->> 'id')::uuid from state where k = 'sb'),
                                                     'question_id', q, 'idempotency_key', 'wp-b', 'is_correct', false),
                               '[]', '[]', '{}') ->> 'status', 'created', 'another learner answers it') from fx;
select is((select times_seen from public.question_difficulty_params where question_id = (select q from fx)), 2,
          'the second answer updates the row in place: times_seen 2');

-- 3. the session rows: one interaction each, last activity never before the start
select results_eq(
  $$select total_interactions, last_activity_at >= started_at from public.practice_sessions
    where id in (select (v ->> 'id')::uuid from state) order by user_id = (select a from fx) desc$$,
  $$values (1, true), (1, true)$$,
  'each answer counted once on its session');

select * from finish();
rollback;
