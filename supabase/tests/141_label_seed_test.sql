-- Actors: a learner (authenticated), the service role and anon, on the label seed
-- (20261207140000_label_seed_difficulty.sql) and question_bank()'s label_seed_difficulty
-- (20261207140100_question_bank_label_seed.sql): the seed a question's difficulty label stands for, whatever its
-- Elo rows say now; the nightly cold start's seed map is fitted and applied on it.
begin;

-- Two skills and two questions of their own: a hard one-skill question whose Elo row was moved (to 1700, as
-- the nightly IRT or the online Elo steps move them) and a medium two-skill one with rows as created (1200).
create temp table fx (name text primary key, id bigint);
with s as (
  insert into public.skills (topic_id, code, name)
  values (1, 'test.label.a', 'Label seed A'), (1, 'test.label.b', 'Label seed B') returning id, code
), q as (
  insert into public.questions (external_ref, topic_id, question_type, difficulty_label, exam_section, stem)
  values ('q.test.label.hard', 1, 'numeric', 'hard', 'math', 'x = ?'),
         ('q.test.label.medium', 1, 'numeric', 'medium', 'math', 'y = ?') returning id, external_ref
), tagged as (
  insert into public.question_skills (question_id, skill_id, elo_difficulty)
  select q.id, s.id, case when q.external_ref = 'q.test.label.hard' then 1700 else 1200 end
  from q join s on q.external_ref = 'q.test.label.medium' or s.code = 'test.label.a'
  returning question_id
)
insert into fx select case when q.external_ref like '%hard' then 'hard' else 'medium' end, q.id from q;
grant select on fx to authenticated, service_role, anon;

-- A question's value in one of question_bank()'s columns (the bank as the current role reads it).
create function pg_temp.bank(p_column text, p_name text) returns text language sql as $$
  select b -> p_column ->> (e.n - 1)::integer
  from (select public.question_bank() as b) x
  cross join lateral json_array_elements_text(x.b -> 'id') with ordinality as e(id, n)
  where e.id::bigint = (select id from fx where name = p_name)
$$;

select plan(12);

-- the learner
select tests.authenticate_as(tests.create_user('label.seed@test.local'));
select is(array[private.label_elo_base('easy'), private.label_elo_base('medium'), private.label_elo_base('hard'),
                private.label_elo_base('other')], array[1000, 1200, 1400, null]::double precision[],
          'learner: the Elo bases of easy / medium / hard are 1000 / 1200 / 1400, nothing for another label');
select is(round(private.predictor_label_seed_difficulty('easy', 1)::numeric, 12), round((-ln(10) / 2)::numeric, 12),
          'learner: an easy one-skill question''s label seed is (1000 − 1200) · ln 10 / 400');
select is(round(private.predictor_label_seed_difficulty('medium', 2)::numeric, 12), round(ln(3.0)::numeric, 12),
          'learner: a medium two-skill question''s label seed is log 3 (P = 1/2 · 1/2, the conjunctive rule)');
select is(round(private.predictor_label_seed_difficulty('hard', 3)::numeric, 12),
          round(ln((1 - power(1 / (1 + sqrt(10.0)), 3)) / power(1 / (1 + sqrt(10.0)), 3))::numeric, 12),
          'learner: a hard three-skill question''s label seed is log((1 − P)/P), P = (1 / (1 + 10^(1/2)))^3');
select is(array[private.predictor_label_seed_difficulty('other', 1), private.predictor_label_seed_difficulty('hard', null)],
          array[null, null]::double precision[], 'learner: no label seed for an unknown label or count');
select is(pg_temp.bank('label_seed_difficulty', 'hard') || ' / '
            || round(pg_temp.bank('seed_difficulty', 'hard')::numeric, 12),
          '1.1513 / ' || round((1700 - 1200) * ln(10.0) / 400, 12),
          'learner: question_bank carries the hard question''s label seed (to 1e-4), its Elo rows still seed b');
select is(pg_temp.bank('label_seed_difficulty', 'medium'), '1.0986',
          'learner: question_bank carries the medium two-skill question''s label seed');
select is((with bank as materialized (select public.question_bank() as b)
           select count(*) from bank
           cross join lateral json_array_elements_text(bank.b -> 'id') with ordinality as e(id, n)
           join public.questions q on q.id = e.id::bigint
           where (bank.b -> 'label_seed_difficulty' ->> (e.n - 1)::integer)::numeric
                 is distinct from round(private.predictor_label_seed_difficulty(q.difficulty_label,
                   (select count(*)::integer from public.question_skills qs where qs.question_id = q.id))::numeric, 4)),
          0::bigint, 'learner: every question in the bank carries its label and skill count''s seed');

-- the service role (the nightly predictor_fit step)
select tests.authenticate_as_service_role();
select is(pg_temp.bank('label_seed_difficulty', 'hard'), '1.1513',
          'service role: question_bank carries the label seed for the nightly fit');
select is(json_array_length(public.question_bank() -> 'label_seed_difficulty'),
          json_array_length(public.question_bank() -> 'id'), 'service role: one label seed per question');

-- anon
select tests.authenticate_as_anon();
select throws_ok($$select private.predictor_label_seed_difficulty('hard', 1)$$, '42501', null,
                 'anon cannot call predictor_label_seed_difficulty');
select throws_ok($$select private.label_elo_base('hard')$$, '42501', null, 'anon cannot call label_elo_base');

reset role;
select * from finish();
rollback;
