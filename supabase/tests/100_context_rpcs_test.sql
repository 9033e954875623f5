-- Actors: a learner, another learner, anon. The security-invoker context reads return the caller's own
-- rows only (RLS), treat another learner's session as none, and are not callable by anon.
begin;

create temp table ids as select * from tests.create_active_learners();
create temp table fixture as
  select (select s.id from public.practice_sessions s where s.user_id = (select id from ids where name = 'a')
          and s.status = 'active') as a_session,
         (select sq.idempotency_key from public.session_questions sq
          where sq.user_id = (select id from ids where name = 'b') and sq.idempotency_key is not null limit 1) as b_key,
         (select count(*) from public.questions q where q.is_active) as active_questions,
         (select count(*) from public.user_skill_mastery m where m.user_id = (select id from ids where name = 'a'))
           as a_mastery_rows,
         (select count(*) from public.user_skill_mastery m
          where m.user_id = (select id from ids where name = 'a')
            and m.skill_id in (select qs.skill_id from public.question_skills qs where qs.question_id = 1))
           as a_q1_mastery_rows,
         (select count(*) from public.question_skills qs where qs.question_id = 1) as q1_skills;
grant select on ids, fixture to authenticated, anon;

select plan(19);

select tests.authenticate_as((select id from ids where name = 'a'));
create temp table nq as select public.next_question_context((select a_session from fixture))::jsonb as c;
select is((select (c -> 'session' ->> 'id')::uuid from nq), (select a_session from fixture),
          'next_question_context: the learner''s own session');
select is((select c -> 'answered_ids' from nq), '[1, 2, 3]'::jsonb,
          'next_question_context: the questions answered in this session, in order');
select is((select (c ->> 'correct')::int from nq), 2, 'next_question_context: correct answers in this session');
select is((select jsonb_array_length(c -> 'seen' -> 'question_id')::bigint from nq), 8::bigint,
          'last seen: one entry per question this learner was ever served (1–8)');
select is((select jsonb_array_length(c -> 'mastery')::bigint from nq), (select a_mastery_rows from fixture),
          'next_question_context: all of the learner''s mastery rows');
select is((select jsonb_array_length(c -> 'prerequisites')::bigint from nq),
          (select count(*) from public.skill_prerequisites), 'next_question_context: the prerequisite graph');
select is((select json_array_length(public.question_bank() -> 'id')::bigint),
          (select active_questions from fixture), 'question_bank: every active question');

create temp table ac as select public.answer_context((select a_session from fixture), 1, 'no-such-key') as c;
select is((select (c ->> 'answered')::int || '/' || (c ->> 'correct')::int from ac), '2/1',
          'answer_context: progress counts the session''s other answered questions');
select is((select jsonb_array_length(c -> 'question' -> 'skills')::bigint from ac), (select q1_skills from fixture),
          'answer_context: the question with its skills');
select is((select jsonb_array_length(c -> 'mastery')::bigint from ac), (select a_q1_mastery_rows from fixture),
          'answer_context: mastery rows of the question''s skills only');
select ok((select c -> 'earlier' = 'null'::jsonb from ac), 'answer_context: no earlier answer for an unused key');
select ok((public.answer_context((select a_session from fixture), 1, (select b_key from fixture)) -> 'earlier')
          = 'null'::jsonb, 'answer_context: another learner''s idempotency key finds nothing');

select is((select jsonb_array_length(public.session_summary_context((select a_session from fixture)) -> 'answers')),
          3, 'session_summary_context: the session''s answers');
select is((select json_array_length(public.insights_context(now() - interval '1 day', now()) -> 'attempts' -> 'is_correct')), 11,
          'insights_context: every answer of the window');

select tests.authenticate_as((select id from ids where name = 'b'));
select is(public.next_question_context((select a_session from fixture))::jsonb, '{"session": null}'::jsonb,
          'another learner''s session reads as none, and nothing else is returned');
select ok((public.answer_context((select a_session from fixture), 1, 'x') -> 'session') = 'null'::jsonb
          and (public.answer_context((select a_session from fixture), 1, 'x') ->> 'answered')::int = 0,
          'answer_context: another learner''s session reads as none');
select is(jsonb_array_length(public.session_summary_context((select a_session from fixture)) -> 'answers'), 0,
          'session_summary_context: none of another learner''s answers');

select tests.authenticate_as_anon();
select throws_ok($$select public.next_question_context(gen_random_uuid())$$, '42501', null,
                 'anon cannot call next_question_context');
select throws_ok($$select public.insights_context(now(), now())$$, '42501', null, 'anon cannot call insights_context');

select * from finish();
rollback;
