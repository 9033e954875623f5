-- Actor: service role. record_answer writes an answer's mastery items as one INSERT (new skills) and one UPDATE
-- (known skills), and its difficulty steps as one UPDATE (20261207080000_record_answer_set_based.sql): the rows,
-- history rows, counters and errors are the ones the per-skill loop wrote, which this file pins down.
begin;

create temp table fx as
select tests.create_user('setbased.a@test.local') as a,
       (select id from public.questions where external_ref = 'math.linear_equations.001') as q_one,   -- skill 1
       (select id from public.questions where external_ref = 'math.area_perimeter.013') as q_three,   -- 1, 10, 11
       (select id from public.questions where external_ref = 'math.area_perimeter.002') as q_two,     -- 1, 10
       (select id from public.questions where external_ref = 'math.area_perimeter.003') as q_two_b,   -- 1, 10
       (select id from public.skills where code = 'math.linear_equations') as s1,
       (select id from public.skills where code = 'math.area_perimeter') as s10,
       (select id from public.skills where code = 'math.pythagorean_theorem') as s11;
create temp table qs_before as
  select qs.question_id, qs.skill_id, qs.elo_difficulty, qs.attempts from public.question_skills qs
  where qs.question_id in (select q_two from fx union all select q_two_b from fx);
create temp table state (k text primary key, v jsonb);
grant select on fx, qs_before to service_role;
grant select, insert on state to service_role;

select plan(17);

select tests.authenticate_as_service_role();
insert into state select 's', public.start_session(a, 'adaptive', '{}') from fx;
create temp view sess as select (v ->> 'id')::uuid as id from state where k = 's';
grant select on sess to service_role;
select public.serve_question(a, (select id from sess), q, '{}')
from fx, lateral (values (q_one), (q_three), (q_two), (q_two_b)) v(q);

-- the answer payload for question p_q with key p_key
create function pg_temp.answer(p_q bigint, p_key text) returns jsonb language sql as $$
  select jsonb_build_object('session_id', (select id from sess), 'question_id', p_q, 'idempotency_key', p_key,
                            'is_correct', true)
$$;
create function pg_temp.item(p_skill bigint, p_version integer, p_mastery double precision) returns jsonb
language sql as $$
  select jsonb_build_object('skill_id', p_skill, 'expected_version', p_version, 'p_mastery', p_mastery)
$$;

-- 1. one new skill, then a question with one known and two new skills: one INSERT and one UPDATE
select is(public.record_answer(a, pg_temp.answer(q_one, 'sb-1'), jsonb_build_array(pg_temp.item(s1, 0, 0.4)),
                               '[]', '{}') ->> 'status', 'created', 'first answer creates the skill row') from fx;
select is(public.record_answer(a, pg_temp.answer(q_three, 'sb-2'),
                               jsonb_build_array(pg_temp.item(s11, 0, 0.35), pg_temp.item(s1, 1, 0.5),
                                                 pg_temp.item(s10, 0, 0.3)),
                               '[]', '{}') ->> 'status', 'created', 'known and new skills in one answer') from fx;
select results_eq(
  'select skill_id, version, total_attempts, correct_attempts, p_mastery from public.user_skill_mastery
   where user_id = (select a from fx) order by skill_id',
  $$select * from (values ((select s1 from fx), 2, 2, 2, 0.5::double precision),
                          ((select s10 from fx), 1, 1, 1, 0.3::double precision),
                          ((select s11 from fx), 1, 1, 1, 0.35::double precision)) v$$,
  'each item wrote its row once: version and attempts advance by one');
select results_eq(
  'select skill_id, trigger_type, session_id, question_id, mastery_before, mastery_after, mastery_version
   from public.mastery_history where user_id = (select a from fx) and question_id = (select q_three from fx)
   order by skill_id',
  $$select * from (values
      ((select s1 from fx), 'question', (select id from sess), (select q_three from fx), 0.4::double precision, 0.5::double precision, 2),
      ((select s10 from fx), 'question', (select id from sess), (select q_three from fx), 0.3::double precision, 0.3::double precision, 1),
      ((select s11 from fx), 'question', (select id from sess), (select q_three from fx), 0.183::double precision, 0.35::double precision, 1)) v$$,
  'one history row per skill: before = stored mastery (update) or the prior p_init (insert)');
select is(tests.row_count('mastery_history', format('user_id = %L', (select a from fx))), 4::bigint,
          'history rows = mastery items (1 + 3)');

-- 2. conflicts: nothing is written, and the first item in skill order that did not write is reported
select is(tests.error_of(format('select public.record_answer(%L, %L, %L, %L, %L)', a, pg_temp.answer(q_two, 'sb-3'),
            jsonb_build_array(pg_temp.item(s10, 1, 0.4), pg_temp.item(s1, 1, 0.6)), '[]', '{}')),
          jsonb_build_object('sqlstate', 'PT409', 'message', 'mastery_version_conflict', 'detail',
            jsonb_build_object('skill_id', s1, 'expected_version', 1, 'actual_version', 2)::text),
          'a stale version is a conflict naming the skill, expected and actual version') from fx;
select is(tests.error_of(format('select public.record_answer(%L, %L, %L, %L, %L)', a, pg_temp.answer(q_two, 'sb-3'),
            jsonb_build_array(pg_temp.item(s10, 7, 0.4), pg_temp.item(s1, 9, 0.6)), '[]', '{}')) ->> 'detail',
          jsonb_build_object('skill_id', s1, 'expected_version', 9, 'actual_version', 2)::text,
          'two stale items: the lower skill id is reported') from fx;
select is(tests.error_of(format('select public.record_answer(%L, %L, %L, %L, %L)', a, pg_temp.answer(q_two, 'sb-3'),
            jsonb_build_array(pg_temp.item(s1, 2, 0.6), pg_temp.item(s10, 0, 0.4)), '[]', '{}')) ->> 'detail',
          jsonb_build_object('skill_id', s10, 'expected_version', 0, 'actual_version', 1)::text,
          'expected_version 0 for a row that exists is a conflict (the valid update is rolled back)') from fx;
select results_eq(
  'select (select count(*) from public.mastery_history where user_id = (select a from fx)),
          (select sum(version) from public.user_skill_mastery where user_id = (select a from fx)),
          (select answered_at is null from public.session_questions where session_id = (select id from sess)
             and question_id = (select q_two from fx))',
  $$values (4::bigint, 4::bigint, true)$$,
  'a refused answer leaves no history row, no version change and the question unanswered');

-- 3. invalid payloads
select is(tests.error_of(format('select public.record_answer(%L, %L, %L, %L, %L)', a, pg_temp.answer(q_two, 'sb-3'),
            jsonb_build_array(pg_temp.item(s10, 1, 0.4), pg_temp.item(s10, 1, 0.5)), '[]', '{}')),
          '{"sqlstate": "PT400", "message": "invalid_payload", "detail": "each skill appears at most once in p_mastery"}'::jsonb,
          'a skill named twice is an invalid payload') from fx;
select is(tests.error_of(format('select public.record_answer(%L, %L, %L, %L, %L)', a, pg_temp.answer(q_two, 'sb-3'),
            jsonb_build_array(pg_temp.item(s1, 9, 0.6), jsonb_build_object('skill_id', s10, 'expected_version', 1)),
            '[]', '{}')),
          '{"sqlstate": "PT400", "message": "invalid_payload", "detail": "each p_mastery item needs skill_id, expected_version and p_mastery"}'::jsonb,
          'an item without p_mastery is an invalid payload') from fx;

-- 4. difficulty steps: one UPDATE with the loop's arithmetic (each step clipped to ±8, a skill named twice
--    takes both steps and two attempts); an untagged skill is refused, the lowest id first
select is(public.record_answer(a, pg_temp.answer(q_two, 'sb-4'),
            jsonb_build_array(pg_temp.item(s1, 2, 0.6), pg_temp.item(s10, 1, 0.4)),
            jsonb_build_array(jsonb_build_object('skill_id', s10, 'delta', 20), jsonb_build_object('skill_id', s1, 'delta', -1.5),
                              jsonb_build_object('skill_id', s10, 'delta', -3)), '{}') ->> 'status',
          'created', 'answer with difficulty steps') from fx;
select results_eq(
  'select qs.skill_id, qs.elo_difficulty - b.elo_difficulty, qs.attempts - b.attempts
   from public.question_skills qs join qs_before b using (question_id, skill_id)
   where qs.question_id = (select q_two from fx) order by qs.skill_id',
  $$select * from (values ((select s1 from fx), -1.5::double precision, 1), ((select s10 from fx), 5::double precision, 2)) v$$,
  'clipped steps are summed per skill, attempts counted per step');
select is(tests.error_of(format('select public.record_answer(%L, %L, %L, %L, %L)', a, pg_temp.answer(q_two_b, 'sb-5'), '[]',
            jsonb_build_array(jsonb_build_object('skill_id', null, 'delta', 1), jsonb_build_object('skill_id', s11, 'delta', 1),
                              jsonb_build_object('skill_id', s1, 'delta', 1)), '{}')),
          jsonb_build_object('sqlstate', 'PT404', 'message', 'question_skill_not_found',
                             'detail', format('question %s is not tagged with skill %s', q_two_b, s11)),
          'a step for a skill the question lacks is refused (the lowest id first)') from fx;
select results_eq(
  'select qs.skill_id, qs.elo_difficulty - b.elo_difficulty, qs.attempts - b.attempts
   from public.question_skills qs join qs_before b using (question_id, skill_id)
   where qs.question_id = (select q_two_b from fx) order by qs.skill_id',
  $$select * from (values ((select s1 from fx), 0::double precision, 0), ((select s10 from fx), 0::double precision, 0)) v$$,
  'the refused answer moved no difficulty');
select is(public.record_answer(a, pg_temp.answer(q_two_b, 'sb-5'), '[]',
            jsonb_build_array(jsonb_build_object('skill_id', s1, 'delta', 1)), '{}') ->> 'status',
          'created', 'an answer without mastery items still records') from fx;
select results_eq(
  'select (select count(*) from public.mastery_history where user_id = (select a from fx)),
          (select count(*) from public.learning_events where user_id = (select a from fx) and event_type = ''answer_submitted''),
          (select total_interactions from public.practice_sessions where id = (select id from sess))',
  $$values (6::bigint, 4::bigint, 4)$$,
  'history rows = items written (1 + 3 + 2), one event and one interaction per answer');

select * from finish();
rollback;
