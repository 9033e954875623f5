-- Actors: a learner with a predictor state, another learner, anon. insights_context's predictor_scores block
-- (20261207120000_insights_predictor_scores.sql) is the caller's own: their θ and answers, per section of the
-- active bank a curve over the offsets that rises with ability; session_summary_context sends the same block
-- (20261207120100); another learner's call carries none of it. The curves are evaluated per logit bucket
-- (20261207150000): within (√3/144) · 0.05² ≈ 3.0e-5 of the exact per-question curve computed here, whose
-- logit includes the 7th weight on log(number of skills) (20261207192000) and the 8th on "one of the question's
-- skills is new to the learner" (20261207220000: no state row, or 0 answers, on one of its skills).
begin;

-- The served weights are this test's own (rolled back with it), never a row another test's night left behind.
insert into public.predictor_weights (fitted_at, n_answers, weights)
  values (now() + interval '1 day', 1000, '{0.2, 0.8, 0.05, 0.3, 0.08, -0.15, -0.4, -0.45}');

create temp table ids as select * from tests.create_active_learners();
insert into public.learner_predictor_state (user_id, theta, answers, correct)
  values ((select id from ids where name = 'a'), 0.75, 30, 20)
  on conflict (user_id) do update set theta = excluded.theta, answers = excluded.answers, correct = excluded.correct;
delete from public.learner_predictor_state where user_id = (select id from ids where name = 'b');
create temp table fixture as
  select (select count(distinct q.exam_section) from public.questions q where q.is_active) as sections,
         (select s.id from public.practice_sessions s where s.user_id = (select id from ids where name = 'a')
          order by s.started_at limit 1) as a_session,
         (select coalesce(jsonb_object_agg(x.exam_section, x.n), '{}'::jsonb)
          from (select q.exam_section, count(*) as n from public.session_questions sq
                join public.questions q on q.id = sq.question_id
                where sq.user_id = (select id from ids where name = 'a') and sq.is_correct is not null
                group by q.exam_section) x) as a_answers,
         -- a's active questions with one of their skills new to a (no state row or 0 answers), and without one
         (select count(*) filter (where x.new) from (
            select bool_or(coalesce(d.answers, 0) = 0) as new
            from public.questions q join public.question_skills qs on qs.question_id = q.id
            left join public.learner_skill_predictor_state d
              on d.user_id = (select id from ids where name = 'a') and d.skill_id = qs.skill_id
            where q.is_active group by q.id) x) as a_new,
         (select count(*) from public.questions q where q.is_active) as active;
grant select on ids, fixture to authenticated, anon;

-- The exact per-question curve of learner a, as postgres: per active question its floor and logit without the
-- ability term (b the stored predictor difficulty or the seed, the skills' means at a's state), then per section
-- the mean P at θ + Δ for every offset.
create temp table exact as
  with st as (
    select s.theta, s.answers, s.correct from public.learner_predictor_state s
    where s.user_id = (select id from ids where name = 'a')
  ),
  w as (
    select coalesce((select pw.weights from public.predictor_weights pw order by pw.fitted_at desc, pw.id desc
                     limit 1), '{0, 1, 0, 0, 0, 0, 0, 0}'::float8[]) as w
  ),
  question as (
    select q.id, q.exam_section,
           case when q.question_type = 'multiple_choice' and jsonb_array_length(q.options) >= 2
                then 1.0::float8 / jsonb_array_length(q.options) else 0.0::float8 end as c,
           coalesce(max(p.predictor_difficulty),
                    private.served_cold_difficulty(q.difficulty_label, count(*)::integer),  -- the seed line, if any
                    private.predictor_seed_difficulty(array_agg(qs.elo_difficulty order by qs.skill_id))) as b,
           avg(coalesce(d.deviation, 0.0)) as dev, avg(ln(1.0 + coalesce(d.correct, 0))) as succ,
           avg(ln(1.0 + coalesce(d.answers - d.correct, 0))) as fail, ln(count(*)::float8) as log_skills,
           bool_or(coalesce(d.answers, 0) = 0)::integer as new_skill
    from public.questions q
    join public.question_skills qs on qs.question_id = q.id
    left join public.question_difficulty_params p on p.question_id = q.id
    left join public.learner_skill_predictor_state d
      on d.user_id = (select id from ids where name = 'a') and d.skill_id = qs.skill_id
    where q.is_active
    group by q.id
  )
  select qn.exam_section as section, o.d,
         avg(qn.c + (1.0 - qn.c) / (1.0 + exp(-(w.w[1] + w.w[2] * (st.theta + o.d + qn.dev - qn.b) + w.w[3] * qn.succ
                                                 + w.w[4] * qn.fail + w.w[5] * ln(1.0 + st.correct)
                                                 + w.w[6] * ln(1.0 + st.answers - st.correct)
                                                 + w.w[7] * qn.log_skills + w.w[8] * qn.new_skill)))) as p
  from question qn, st, w,
       unnest('{-6, -4, -3, -2.5, -2, -1.75, -1.5, -1.25, -1, -0.75, -0.5, -0.25, 0,
                0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 6}'::float8[]) o(d)
  group by qn.exam_section, o.d;
grant select on exact to authenticated;

select plan(12);

select tests.authenticate_as((select id from ids where name = 'a'));
create temp table mine as
  select (public.insights_context(now() - interval '30 days', now()) -> 'predictor_scores')::jsonb as p;
select is((select (p -> 'learner' ->> 'theta')::float8 from mine), 0.75::float8, 'the learner''s own θ');
select is((select jsonb_array_length(p -> 'sections')::bigint from mine), (select sections from fixture),
          'one entry per exam section of the active bank');
select ok((select bool_and(jsonb_array_length(s -> 'curve') = jsonb_array_length(m.p -> 'offsets'))
           from mine m, jsonb_array_elements(m.p -> 'sections') s), 'each curve has one value per offset');
select ok((select bool_and(c.v between 0 and 1 and c.v >= coalesce(c.prev, 0))
           from (select e.v::float8 as v, lag(e.v::float8) over (partition by s ->> 'section' order by e.i) as prev
                 from mine m, jsonb_array_elements(m.p -> 'sections') s,
                      jsonb_array_elements_text(s -> 'curve') with ordinality e(v, i)) c),
          'every curve is a proportion that rises with ability');
select is((select coalesce(jsonb_object_agg(s ->> 'section', (s ->> 'answers')::int)
                             filter (where (s ->> 'answers')::int > 0), '{}'::jsonb)
           from mine m, jsonb_array_elements(m.p -> 'sections') s), (select a_answers from fixture),
          'the learner''s graded answers per section');
select ok((select a_new > 0 and a_new < active from fixture),
          'the learner has active questions with a new skill and without one (the 8th feature both ways)');
select ok((select count(*) = (select count(*) from exact)
                  and max(abs(e.p - c.v::float8)) <= 3.01e-5
           from mine m, jsonb_array_elements(m.p -> 'sections') s,
                jsonb_array_elements_text(s -> 'curve') with ordinality c(v, i), exact e
           where e.section = s ->> 'section' and e.d = (m.p -> 'offsets' ->> (c.i::int - 1))::float8),
          'each curve within 3.0e-5 (the buckets'' bound) of the exact per-question curve at every offset');
select is((public.session_summary_context((select a_session from fixture)) -> 'predictor_scores')::jsonb,
          (select p from mine), 'session_summary_context: the same predictor_scores block');

select tests.authenticate_as((select id from ids where name = 'b'));
create temp table theirs as
  select (public.insights_context(now() - interval '30 days', now()) -> 'predictor_scores')::jsonb as p;
select ok((select p -> 'learner' = 'null'::jsonb and (p ->> 'information')::float8 = 0 from theirs),
          'another learner: no predictor state and no information (not the first learner''s)');
select ok((select bool_and(s -> 'curve' = 'null'::jsonb) from theirs t, jsonb_array_elements(t.p -> 'sections') s),
          'another learner: no curves');
select ok((public.session_summary_context((select a_session from fixture)) -> 'predictor_scores' -> 'learner')
          = 'null'::jsonb, 'session_summary_context: not the first learner''s state');

select tests.authenticate_as_anon();
select throws_ok($$select public.insights_context(now(), now())$$, '42501', null, 'anon cannot call insights_context');

select * from finish();
rollback;
