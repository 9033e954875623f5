-- Actor: the service role calling record_answer directly with hostile predictor payloads (p_answer.predictor).
-- Whatever is sent, private.apply_predictor_update (20261207060100_predictor_online_update.sql) moves θ and δ
-- by at most the step schedule's K at the stored count (the evidence weight is 1 here: served 45 s before),
-- on the side correctness allows; counts by exactly one; the question's b only on a counted learner's first
-- answer, by at most 0.1 logit; nothing for a repeat, a zero-evidence answer or no payload.
begin;

-- No stored seed line, whatever rows earlier tests left (rolled back): the new question's starting b is then
-- its Elo-row seed (20261207160000_predictor_seed_line.sql; 150_seed_line_test.sql covers the line).
update public.predictor_weights set seed_offset = null, seed_scale = null where seed_offset is not null;

-- Two skills and a two-skill question of their own (Elo rows at 1200: seed b = log 3), so values are exact.
create temp table fx (name text primary key, id bigint);
with s as (
  insert into public.skills (topic_id, code, name)
  values (1, 'test.pred.a', 'Predictor bounds A'), (1, 'test.pred.b', 'Predictor bounds B') returning id, code
), q as (
  insert into public.questions (external_ref, topic_id, question_type, difficulty_label, exam_section, stem)
  values ('q.test.pred', 1, 'numeric', 'medium', 'math', 'x = ?') returning id
), tagged as (
  insert into public.question_skills (question_id, skill_id) select q.id, s.id from q, s returning question_id
)
insert into fx select 'skill_' || right(s.code, 1), s.id from s
union all select 'question', (select min(question_id) from tagged);

create temp table learners (name text primary key, id uuid);
insert into learners values ('a', tests.create_user('pred.a@test.local')), ('b', tests.create_user('pred.b@test.local')),
  ('c', tests.create_user('pred.c@test.local')), ('anonymous', tests.create_anonymous_user());

-- One answer in a fresh session with the given payload, served p_seconds before (as the service role).
create function pg_temp.hostile(p_learner text, p_correct boolean, p_predictor jsonb, p_seconds integer default 45)
returns jsonb language plpgsql as $$
declare
  v_user uuid := (select id from learners where name = p_learner);
  v_question bigint := (select id from fx where name = 'question');
  v_session uuid := (public.start_session(v_user, 'adaptive', '{}'::jsonb) ->> 'id')::uuid;
begin
  perform public.serve_question(v_user, v_session, v_question, '{"why": "test"}'::jsonb);
  update public.session_questions sq set served_at = now() - make_interval(secs => p_seconds)
   where sq.session_id = v_session;
  return public.record_answer(v_user, jsonb_build_object(
      'session_id', v_session, 'question_id', v_question, 'idempotency_key', gen_random_uuid()::text,
      'user_answer', '["1"]'::jsonb, 'is_correct', p_correct, 'predictor', p_predictor),
    '[]'::jsonb, '[]'::jsonb, jsonb_build_object('is_correct', p_correct));
end;
$$;
create function pg_temp.state(p_learner text) returns text language sql as $$
  select format('theta=%s answers=%s correct=%s | a: %s %s %s | b: %s %s %s',
    round(s.theta::numeric, 12), s.answers, s.correct,
    round(da.deviation::numeric, 12), da.answers, da.correct, round(db.deviation::numeric, 12), db.answers, db.correct)
  from learners l
  left join public.learner_predictor_state s on s.user_id = l.id
  left join public.learner_skill_predictor_state da on da.user_id = l.id and da.skill_id = (select id from fx where name = 'skill_a')
  left join public.learner_skill_predictor_state db on db.user_id = l.id and db.skill_id = (select id from fx where name = 'skill_b')
  where l.name = p_learner
$$;
create function pg_temp.item() returns text language sql as $$
  select format('b=%s answers=%s', round(p.predictor_difficulty::numeric, 12), p.predictor_answers)
  from public.question_difficulty_params p where p.question_id = (select id from fx where name = 'question')
$$;
create function pg_temp.payload(p_theta double precision, p_a double precision, p_b double precision,
                                p_item double precision) returns jsonb language sql as $$
  select jsonb_build_object('theta_step', p_theta, 'item_step', p_item, 'skills', jsonb_build_array(
    jsonb_build_object('skill_id', (select id from fx where name = 'skill_a'), 'deviation_step', p_a),
    jsonb_build_object('skill_id', (select id from fx where name = 'skill_b'), 'deviation_step', p_b)))
$$;

grant select on fx, learners to service_role;

select plan(14);
select tests.authenticate_as_service_role();

-- A correct answer claiming huge steps, one of them of the wrong sign, and an upward difficulty step.
select is(pg_temp.hostile('a', true, pg_temp.payload(100, 100, -5, 3)) ->> 'status', 'created',
          'a hostile payload is recorded (the answer itself is valid)');
select is(pg_temp.state('a'), 'theta=0.800000000000 answers=1 correct=1 | a: 0.400000000000 1 1 | b: 0.000000000000 1 1',
          'θ moves by K_ability(0) = 0.8 at most, δ by K_deviation(0) = 0.4, a wrong-signed step by 0; counts +1');
select is(pg_temp.item(), format('b=%s answers=1', round(ln(3.0)::numeric, 12)),
          'a correct answer cannot raise the difficulty: b stays at its seed log 3 (answers counted)');

-- A wrong answer from the same learner on another day: steps only downward, by K at the stored counts.
update public.session_questions sq set answered_at = answered_at - interval '8 days'
 where sq.user_id = (select id from learners where name = 'a');
select pg_temp.hostile('a', false, pg_temp.payload(-100, -100, 7, -3));
select is(pg_temp.state('a'), format('theta=%s answers=2 correct=1 | a: %s 2 1 | b: %s 2 1',
            round((0.8 - 0.8 / 1.15)::numeric, 12), round((0.4 - 0.4 / 1.1)::numeric, 12),
            0.0::numeric(13, 12)),
          'a wrong answer moves θ by −K_ability(1) and each δ by −K_deviation(1); an upward claim moves nothing');
select is(pg_temp.item(), format('b=%s answers=1', round(ln(3.0)::numeric, 12)),
          'the question''s b moves only on a learner''s first answer to it');

-- Another learner's first answer, correct, claiming −3 logits of difficulty: at most max_item_step 0.1.
select pg_temp.hostile('b', true, pg_temp.payload(0.01, 0, 0, -3));
select is(pg_temp.item(), format('b=%s answers=2', round((ln(3.0) - 0.1)::numeric, 12)),
          'one learner moves b by at most 0.1 logit');

-- A repeat (answered in another session within 7 days): nothing moves, whatever is sent.
select pg_temp.hostile('b', true, pg_temp.payload(0.5, 0.3, 0.3, -0.1));
select is(pg_temp.state('b'), 'theta=0.010000000000 answers=1 correct=1 | a: 0.000000000000 1 1 | b: 0.000000000000 1 1',
          'a repeat answer moves no θ, δ or count');

-- Zero evidence: answered 2 s after serving (below half of the 10 s minimum for numeric questions).
select pg_temp.hostile('c', true, pg_temp.payload(0.5, 0.3, 0.3, -0.1), 2);
select is((select count(*) from public.learner_predictor_state s join learners l on l.id = s.user_id where l.name = 'c')
          + (select count(*) from public.learner_skill_predictor_state s join learners l on l.id = s.user_id
             where l.name = 'c'), 0::bigint, 'a zero-evidence answer moves nothing (no state is even created)');
select is(pg_temp.item(), format('b=%s answers=2', round((ln(3.0) - 0.1)::numeric, 12)),
          'nor the question''s b');

-- Partial evidence: 8 s for a numeric question (minimum 10 s) is w = (8 − 5) / 5 = 0.6, and the bound is w·K.
update public.session_questions sq set answered_at = answered_at - interval '8 days'
 where sq.user_id = (select id from learners where name = 'c');
select pg_temp.hostile('c', true, pg_temp.payload(100, 0, 0, -3), 8);
select is(pg_temp.state('c'), 'theta=0.480000000000 answers=1 correct=1 | a: 0.000000000000 1 1 | b: 0.000000000000 1 1',
          'at evidence weight 0.6 θ moves by at most 0.6 × K_ability(0) = 0.48');

-- An anonymous learner's answer moves their own θ, never the shared b.
select pg_temp.hostile('anonymous', true, pg_temp.payload(0.2, 0.1, 0.1, -0.1));
select is(pg_temp.state('anonymous'),
          'theta=0.200000000000 answers=1 correct=1 | a: 0.100000000000 1 1 | b: 0.100000000000 1 1',
          'an anonymous learner''s own state moves');
select is(pg_temp.item(), format('b=%s answers=2', round((ln(3.0) - 0.1)::numeric, 12)),
          'an anonymous learner never moves b (nor did c: their zero-evidence answer was their first)');

-- Malformed payloads are refused before anything moves.
select throws_ok($$select pg_temp.hostile('b', true, jsonb_build_object('theta_step', 0.1, 'skills',
                   jsonb_build_array(jsonb_build_object('skill_id', 1, 'deviation_step', 0.1))))$$,
                 'PT400', 'invalid_payload', 'a skill the question does not have is refused');
select throws_ok($$select pg_temp.hostile('b', true, jsonb_build_object('theta_step', '"lots"'::jsonb))$$,
                 'PT400', 'invalid_payload', 'a step that is not a number is refused');

select * from finish();
rollback;
