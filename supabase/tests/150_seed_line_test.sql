-- Actors: a learner (authenticated), the service role and anon, on the nightly seed line
-- (20261207160000_predictor_seed_line.sql): a question without a stored b is served the latest stored line on
-- its label seed (private.served_cold_difficulty), the Elo-row seed while no line exists; a question with a
-- stored b is served that b, line or not. Also the weights' length (20261207192000, 20261207220000): 8, older
-- rows padded with 0.
begin;

-- No line yet, whatever rows earlier tests left (rolled back at the end).
update public.predictor_weights set seed_offset = null, seed_scale = null where seed_offset is not null;

-- One skill and two hard questions: a cold one (no stored b, its Elo row moved to 1700) and a calibrated one.
create temp table fx (name text primary key, id bigint);
with s as (
  insert into public.skills (topic_id, code, name) values (1, 'test.line.a', 'Seed line A') returning id
), q as (
  insert into public.questions (external_ref, topic_id, question_type, difficulty_label, exam_section, stem)
  values ('q.test.line.cold', 1, 'numeric', 'hard', 'math', 'x = ?'),
         ('q.test.line.calibrated', 1, 'numeric', 'hard', 'math', 'y = ?') returning id, external_ref
), tagged as (
  insert into public.question_skills (question_id, skill_id, elo_difficulty)
  select q.id, s.id, 1700 from q cross join s returning question_id
)
insert into fx select replace(q.external_ref, 'q.test.line.', ''), q.id from q;
insert into public.question_difficulty_params (question_id, predictor_difficulty)
select id, 0.25 from fx where name = 'calibrated';
grant select on fx to authenticated, service_role, anon;

-- A question's value in one of question_bank()'s columns (the bank as the current role reads it).
create function pg_temp.bank(p_column text, p_name text) returns text language sql as $$
  select b -> p_column ->> (e.n - 1)::integer
  from (select public.question_bank() as b) x
  cross join lateral json_array_elements_text(x.b -> 'id') with ordinality as e(id, n)
  where e.id::bigint = (select id from fx where name = p_name)
$$;

select plan(13);

-- the learner, before any line
create temp table learner as select tests.create_user('seed.line@test.local') as id;
grant select on learner to authenticated;
select tests.authenticate_as((select id from learner));
select is(private.served_cold_difficulty('hard', 1), null, 'learner: no line stored, no served cold difficulty');
select is(round(pg_temp.bank('predictor_difficulty', 'cold')::numeric, 12), round((1700 - 1200) * ln(10.0) / 400, 12),
          'learner: with no line, a cold question is served its Elo-row seed (the old rule)');

-- the service role stores a night's line with its weights (an older line first: the latest one is served)
select tests.authenticate_as_service_role();
select isnt(public.insert_predictor_weights(
              '{"fitted_at": "2998-01-01T00:00:00Z", "n_answers": 500, "weights": [0, 1, 0, 0, 0, 0, 0, 0],
                "seed_offset": 2.0, "seed_scale": 0.1}'::jsonb), null, 'service role: stores a line with weights');
select isnt(public.insert_predictor_weights(
              '{"fitted_at": "2999-01-01T00:00:00Z", "n_answers": 500, "weights": [0, 1, 0, 0, 0, 0, 0, 0],
                "seed_offset": -0.63, "seed_scale": 0.55}'::jsonb), null, 'service role: stores a later line');
select isnt(public.insert_predictor_weights(
              '{"fitted_at": "2999-01-02T00:00:00Z", "n_answers": 500, "weights": [0, 1, 0, 0, 0, 0, 0, 0]}'::jsonb),
            null, 'service role: a later weights row without a line does not hide the latest line');
select throws_ok($$select public.insert_predictor_weights(
                   '{"n_answers": 1, "weights": [0, 1, 0, 0, 0, 0, 0, 0], "seed_offset": 1.0}'::jsonb)$$, '23514', null,
                 'service role: half a line is refused');
select is(round(pg_temp.bank('predictor_difficulty', 'cold')::numeric, 12), round(-0.63 + 0.55 * 1.1513, 12),
          'service role: the bank serves the cold question the latest line on its label seed (to 1e-4)');
-- 8 weights since 20261207220000 (the 7th on log of the question's number of skills, 20261207192000; the 8th on a
-- skill new to the learner): the rows stored before got a 7th and an 8th weight 0 (the same predictions), and a
-- 7-long vector is refused
select is((select w.weights from public.predictor_weights w where w.fitted_at = '2000-01-01T00:00:00Z'
           and w.n_answers = 0 order by w.id limit 1), '{0, 1, 0, 0, 0, 0, 0, 0}'::float8[],
          'service role: the plain-model row stored before has a 7th and an 8th weight 0');
select throws_ok($$select public.insert_predictor_weights('{"n_answers": 1, "weights": [0, 1, 0, 0, 0, 0, 0]}'::jsonb)$$,
                 '23514', null, 'service role: 7 weights are refused');

-- the learner, after the night
reset role;
select tests.authenticate_as((select id from learner));
select is(round(pg_temp.bank('predictor_difficulty', 'cold')::numeric, 12), round(-0.63 + 0.55 * 1.1513, 12),
          'learner: a cold question is served offset + scale · label seed, not its moved Elo row');
select is(round(private.served_cold_difficulty('hard', 1)::numeric, 12), round(-0.63 + 0.55 * 1.1513, 12),
          'learner: served_cold_difficulty is the line on the label seed');
select is(pg_temp.bank('predictor_difficulty', 'calibrated')::double precision, 0.25::double precision,
          'learner: a question with a stored b is served it, line or not');

-- anon
select tests.authenticate_as_anon();
select throws_ok($$select private.served_cold_difficulty('hard', 1)$$, '42501', null,
                 'anon cannot call served_cold_difficulty');

reset role;
select * from finish();
rollback;
