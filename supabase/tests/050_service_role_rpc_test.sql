-- Actor: service role (the cloud functions). Session RPCs: start/serve/record/complete, idempotent
-- answers, optimistic-concurrency conflicts, ownership and state errors, atomicity.
begin;

create temp table fx as
select tests.create_user('rpc.a@test.local') as a, tests.create_user('rpc.b@test.local') as b,
       (select id from public.questions where external_ref = 'math.linear_equations.001') as q1,
       (select id from public.questions where external_ref = 'math.linear_equations.002') as q2,
       (select id from public.questions where external_ref = 'math.linear_equations.003') as q3,
       (select id from public.skills where code = 'math.linear_equations') as skill1,
       (select times_seen from public.question_difficulty_params p
        where p.question_id = (select id from public.questions where external_ref = 'math.linear_equations.001'))
         as q1_times_seen;
create temp table qs_before as
  select qs.skill_id, qs.elo_difficulty, qs.attempts from public.question_skills qs
  where qs.question_id = (select q1 from fx);
create temp table state (k text primary key, v jsonb);
grant select on fx, qs_before to service_role;
grant select, insert on state to service_role;

select plan(55);

select tests.authenticate_as_service_role();

-- start_session
insert into state select 's1', public.start_session(a, 'adaptive', '{"topic": "math.algebra"}') from fx;
select results_eq(
  $$select v ->> 'status', v ->> 'mode', (v ->> 'user_id')::uuid, v -> 'filters' from state where k = 's1'$$,
  $$select 'active', 'adaptive', a, '{"topic": "math.algebra"}'::jsonb from fx$$,
  'start_session returns the new active session row');
select throws_ok(format('select public.start_session(%L, %L)', a, 'speedrun'), '23514', null,
                 'start_session rejects an unknown mode') from fx;
create temp view s1 as select (v ->> 'id')::uuid as id from state where k = 's1';
grant select on s1 to service_role;

-- serve_question
insert into state select 'served', public.serve_question(a, (select id from s1), q1, '{"why": "weak skill"}') from fx;
select results_eq($$select (v ->> 'position')::integer, v -> 'selection_reason', v ->> 'answered_at' from state where k = 'served'$$,
                  $$values (1, '{"why": "weak skill"}'::jsonb, null::text)$$,
                  'serve_question records the served question with its reason, unanswered');
select is(public.serve_question(a, (select id from s1), q1, '{}') ->> 'id', (select v ->> 'id' from state where k = 'served'),
          'serving the same question again returns the existing row') from fx;
select is(tests.row_count('session_questions', format('session_id = %L', (select id from s1))), 1::bigint,
          'one session_questions row per (session, question)');
select throws_ok(format('select public.serve_question(%L, %L, 99999999, %L)', a, (select id from s1), '{}'),
                 'PT404', 'question_not_found', 'serving an unknown question: PT404 question_not_found') from fx;
select throws_ok(format('select public.serve_question(%L, %L, %s, %L)', b, (select id from s1), q2, '{}'),
                 'PT404', 'session_not_found', 'another learner''s session is not found') from fx;

-- record_answer: created
insert into state select 'r1', tests.answer(a, (select id from s1), q1, true, 'key-1') from fx;
select is(v, '{"status": "created", "response": {"is_correct": true}}'::jsonb, 'record_answer returns created + response')
from state where k = 'r1';
select results_eq(
  format($$select is_correct, confidence_score::integer, time_spent_seconds, idempotency_key, response,
                  answered_at is not null, position
           from public.session_questions where session_id = %L and question_id = %s$$,
         (select id from s1), (select q1 from fx)),
  $$values (true, 4, 45.5::double precision, 'key-1', '{"is_correct": true}'::jsonb, true, 1)$$,
  'the served row now holds the answer, its key and the stored response');
select results_eq(
  format('select skill_id, version, total_attempts, correct_attempts from public.user_skill_mastery where user_id = %L order by skill_id',
         (select a from fx)),
  format('select skill_id, 1, 1, 1 from public.question_skills where question_id = %s order by skill_id', (select q1 from fx)),
  'a mastery row at version 1 for every skill of the question');
select results_eq(
  format('select skill_id, elo_difficulty, attempts from public.question_skills where question_id = %s order by skill_id',
         (select q1 from fx)),
  'select skill_id, elo_difficulty - 4, attempts + 1 from qs_before order by skill_id',
  'question × skill difficulty changed by the additive delta, attempts + 1');
select is((select times_seen from public.question_difficulty_params where question_id = (select q1 from fx)),
          (select q1_times_seen + 1 from fx), 'question_difficulty_params.times_seen + 1');
select is(tests.row_count('learning_events', format('user_id = %L and event_type = %L', (select a from fx), 'answer_submitted')),
          1::bigint, 'one answer_submitted event');
select is(tests.row_count('mastery_history', format('user_id = %L', (select a from fx))),
          (select count(*) from qs_before), 'one history row per skill changed');

-- idempotent retry
insert into state select 'fp1', tests.footprint(a) from fx;
insert into state select 'dup', tests.answer(a, (select id from s1), q1, true, 'key-1') from fx;
select is(v, '{"status": "duplicate", "response": {"is_correct": true}}'::jsonb,
          'the same idempotency key returns duplicate + the stored response') from state where k = 'dup';
select is(tests.footprint(a), (select v from state where k = 'fp1'), 'a duplicate changes nothing') from fx;
select throws_ok(format('select tests.answer(%L, %L, %s, false, %L)', a, (select id from s1), q1, 'key-other'),
                 'PT409', 'question_already_answered', 'answering an answered question with another key: PT409') from fx;

select throws_ok(format('select tests.answer(%L, %L, %s, false, %L)', a, (select id from s1), q1, 'key-1'),
                 'PT409', 'idempotency_key_reused', 'the same key with another body: PT409 idempotency_key_reused') from fx;
select is(tests.footprint(a), (select v from state where k = 'fp1'), 'a reused key changes nothing') from fx;

-- served-first: a question this session never served is refused, and nothing is written
select throws_ok(format('select tests.answer(%L, %L, %s, true, %L)', a, (select id from s1), q2, 'key-unserved'),
                 'PT409', 'question_not_served', 'answering a question the session never served: PT409') from fx;
select is(tests.footprint(a), (select v from state where k = 'fp1'), 'an unserved answer changes nothing') from fx;
insert into state select 'serve1', public.serve_question(a, (select id from s1), q2, '{}') from fx;
insert into state select 'fp2', tests.footprint(a) from fx;

-- optimistic concurrency
select throws_ok(
  format('select public.record_answer(%L, %L, %L, %L, %L)', a,
         jsonb_build_object('session_id', (select id from s1), 'question_id', q2, 'idempotency_key', 'key-2', 'is_correct', true),
         jsonb_build_array(jsonb_build_object('skill_id', skill1, 'expected_version', 0, 'p_mastery', 0.5)), '[]', '{}'),
  'PT409', 'mastery_version_conflict', 'expected_version 0 for an existing row: PT409 mastery_version_conflict') from fx;
select is(
  tests.error_of(format('select public.record_answer(%L, %L, %L, %L, %L)', a,
    jsonb_build_object('session_id', (select id from s1), 'question_id', q2, 'idempotency_key', 'key-2', 'is_correct', true),
    jsonb_build_array(jsonb_build_object('skill_id', skill1, 'expected_version', 7, 'p_mastery', 0.5)), '[]', '{}')),
  jsonb_build_object('sqlstate', 'PT409', 'message', 'mastery_version_conflict',
                     'detail', jsonb_build_object('skill_id', skill1, 'expected_version', 7, 'actual_version', 1)::text),
  'a stale expected_version: PT409 naming the skill, the expected and the actual version') from fx;
select is(tests.footprint(a), (select v from state where k = 'fp2'),
          'a conflicting answer leaves nothing behind (answer, events, Elo all rolled back)') from fx;
insert into state select 'r2', tests.answer(a, (select id from s1), q2, false, 'key-2') from fx;
select is(v ->> 'status', 'created', 'the retry with re-read versions succeeds') from state where k = 'r2';
select is((select version from public.user_skill_mastery where user_id = (select a from fx) and skill_id = (select skill1 from fx)),
          2, 'the shared skill moved to version 2');

-- payload and ownership errors
insert into state select 'serve2', public.serve_question(a, (select id from s1), q3, '{}') from fx;
select throws_ok(format('select public.record_answer(%L, %L, %L, %L, %L)', a,
                        jsonb_build_object('session_id', (select id from s1), 'question_id', q3, 'is_correct', true), '[]', '[]', '{}'),
                 'PT400', 'invalid_payload', 'an answer without idempotency key: PT400') from fx;
select throws_ok(format('select public.record_answer(%L, %L, %L, %L, %L)', a,
                        jsonb_build_object('session_id', (select id from s1), 'question_id', q3, 'idempotency_key', 'key-3', 'is_correct', true),
                        '[]', jsonb_build_array(jsonb_build_object('skill_id',
                          (select id from public.skills where code = 'sci.genetics'), 'delta', 3)), '{}'),
                 'PT404', 'question_skill_not_found', 'a difficulty delta for a skill the question lacks: PT404') from fx;
select throws_ok(format('select tests.answer(%L, %L, %s, true)', b, (select id from s1), q3),
                 'PT404', 'session_not_found', 'answering into another learner''s session: PT404') from fx;
select throws_ok(format('select tests.answer(%L, %L, %s, true)', a, gen_random_uuid(), q3),
                 'PT404', 'session_not_found', 'answering into an unknown session: PT404') from fx;
select throws_ok(format('select tests.answer(%L, %L, 99999999, true)', a, (select id from s1)),
                 'PT404', 'question_not_found', 'answering an unknown question: PT404') from fx;

-- complete_session
insert into state select 'c1', public.complete_session(a, (select id from s1),
  '{"predicted_score": 650, "predicted_score_low": 610, "predicted_score_high": 690, "avg_mastery": 0.42,
    "snapshot_data": {"accuracy": 0.5}}') from fx;
select is(v ->> 'status', 'completed', 'complete_session completes') from state where k = 'c1';
select results_eq(
  format('select status, ended_at is not null, total_interactions, concepts_touched from public.practice_sessions where id = %L',
         (select id from s1)),
  format($$select 'completed', true, 2, array_agg(distinct skill_id order by skill_id) from public.question_skills
           where question_id in (%s, %s)$$, (select q1 from fx), (select q2 from fx)),
  'session row: completed, ended, 2 interactions, the skills practised');
select is((select array_agg(k::bigint order by k::bigint) from jsonb_object_keys(
             (select mastery_gained from public.practice_sessions where id = (select id from s1))) k),
          (select concepts_touched from public.practice_sessions where id = (select id from s1)),
          'mastery_gained has one entry per skill practised (from mastery_history)');
select results_eq(
  format($$select snapshot_type, related_id, questions_answered, correct_answers, total_questions_answered,
                  predicted_score, predicted_score_low, predicted_score_high, avg_mastery, snapshot_data
           from public.user_performance_snapshots where user_id = %L$$, (select a from fx)),
  format($$values ('session_complete', %L::uuid, 2, 1, 2, 650::double precision, 610::double precision,
                   690::double precision, 0.42::double precision, '{"accuracy": 0.5}'::jsonb)$$, (select id from s1)),
  'one session_complete snapshot: counts from the database, predictions from the caller');
select is(tests.row_count('learning_events', format('user_id = %L and event_type = %L', (select a from fx), 'session_completed')),
          1::bigint, 'one session_completed event');
select is(public.complete_session(a, (select id from s1), '{}') ->> 'status', 'already_completed',
          'completing again reports already_completed') from fx;
select is(public.complete_session(a, (select id from s1), '{}') -> 'snapshot' ->> 'id',
          (select v -> 'snapshot' ->> 'id' from state where k = 'c1'), '… and returns the same snapshot') from fx;
select is(tests.row_count('user_performance_snapshots', format('related_id = %L', (select id from s1))), 1::bigint,
          'still exactly one snapshot for the session');
select throws_ok(format('select tests.answer(%L, %L, %s, true)', a, (select id from s1), q3),
                 'PT409', 'session_not_active', 'answering into a completed session: PT409 session_not_active') from fx;
select throws_ok(format('select public.serve_question(%L, %L, %s, %L)', a, (select id from s1),
                        (select id from public.questions where external_ref = 'math.linear_equations.004'), '{}'),
                 'PT409', 'session_not_active', 'serving into a completed session: PT409') from fx;
select is(tests.answer(a, (select id from s1), q1, true, 'key-1') ->> 'status', 'duplicate',
          'a late retry of an earlier answer still replays after completion') from fx;
select throws_ok(format('select public.complete_session(%L, %L, %L)', a, gen_random_uuid(), '{}'),
                 'PT404', 'session_not_found', 'completing an unknown session: PT404') from fx;
select throws_ok(format('select public.complete_session(%L, %L, %L)', b, (select id from s1), '{}'),
                 'PT404', 'session_not_found', 'completing another learner''s session: PT404') from fx;

-- complete_session without caller summary computes it from the data
insert into state select 's2', public.start_session(a, 'review', '{}') from fx;
select is(public.complete_session(a, (select (v ->> 'id')::uuid from state where k = 's2'), null) -> 'snapshot' ->> 'questions_answered',
          '0', 'an empty session completes with a zero-count snapshot') from fx;
select is((select avg_mastery from public.user_performance_snapshots
           where related_id = (select (v ->> 'id')::uuid from state where k = 's2')),
          (select avg(effective_mastery) from public.user_skill_mastery where user_id = (select a from fx)),
          'avg_mastery defaults to the mean effective mastery');
-- memory fields: a present key sets the value even when null, an absent key keeps the stored one
insert into state select 's3', public.start_session(a, 'adaptive', '{}') from fx;
insert into state select 'serve3-' || q, public.serve_question(a, (select (v ->> 'id')::uuid from state where k = 's3'), q, '{}')
from fx, lateral (values (q3), ((select id from public.questions where external_ref = 'math.linear_equations.004'))) v(q);
select is(public.record_answer(a,
  jsonb_build_object('session_id', (select v ->> 'id' from state where k = 's3'), 'question_id', q3,
                     'idempotency_key', 'key-m1', 'is_correct', true),
  jsonb_build_array(jsonb_build_object('skill_id', skill1, 'expected_version', 2, 'p_mastery', 0.6,
                    'memory_state', 1, 'memory_step', 1, 'due', '2030-01-01T00:00:00Z')), '[]', '{}') ->> 'status',
  'created', 'answer with memory state (learning, step 1, due 2030)') from fx;
select is(public.record_answer(a,
  jsonb_build_object('session_id', (select v ->> 'id' from state where k = 's3'),
                     'question_id', (select id from public.questions where external_ref = 'math.linear_equations.004'),
                     'idempotency_key', 'key-m2', 'is_correct', true),
  jsonb_build_array(jsonb_build_object('skill_id', skill1, 'expected_version', 3, 'p_mastery', 0.7,
                    'memory_state', 2, 'memory_step', null)), '[]', '{}') ->> 'status',
  'created', 'answer moving to review state (step null, due not sent)') from fx;
select results_eq(
  'select memory_state, memory_step, due, p_mastery, version from public.user_skill_mastery where user_id = (select a from fx) and skill_id = (select skill1 from fx)',
  $$values (2::smallint, null::integer, '2030-01-01T00:00:00Z'::timestamptz, 0.7::double precision, 4)$$,
  'memory_step null is stored, the absent due is kept');

-- target_questions caps serving and answering
insert into state select 's4', public.start_session(a, 'adaptive', '{"target_questions": 1}') from fx;
select is(public.serve_question(a, (select (v ->> 'id')::uuid from state where k = 's4'), q1, '{}') ->> 'position', '1',
          'a session with target_questions 1 serves one question') from fx;
select throws_ok(format('select public.serve_question(%L, %L, %s, %L)', a, (select v ->> 'id' from state where k = 's4'),
                        q2, '{}'),
                 'PT409', 'session_target_reached', 'serving past target_questions: PT409 session_target_reached') from fx;
select is(tests.answer(a, (select (v ->> 'id')::uuid from state where k = 's4'), q1, true) ->> 'status', 'created',
          'the served question is answered') from fx;
select throws_ok(format('select tests.answer(%L, %L, %s, true)', a, (select v ->> 'id' from state where k = 's4'), q2),
                 'PT409', 'question_not_served', 'answering past the cap, unserved: PT409 question_not_served') from fx;
-- a question served before the cap was lowered still cannot be answered past it
update public.practice_sessions set filters = '{"target_questions": 2}'
where id = (select (v ->> 'id')::uuid from state where k = 's4');
insert into state select 'serve4', public.serve_question(a, (select (v ->> 'id')::uuid from state where k = 's4'), q2, '{}') from fx;
update public.practice_sessions set filters = '{"target_questions": 1}'
where id = (select (v ->> 'id')::uuid from state where k = 's4');
select throws_ok(format('select tests.answer(%L, %L, %s, true)', a, (select v ->> 'id' from state where k = 's4'), q2),
                 'PT409', 'session_target_reached', 'answering past target_questions: PT409 session_target_reached') from fx;

select is(tests.row_count('practice_sessions', format('user_id = %L and status = %L', (select b from fx), 'active')),
          0::bigint, 'learner B was never given a session by the failed calls');

select * from finish();
rollback;
