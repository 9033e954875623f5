-- insights' predicted scores and readiness come from the production predictor (issue 15, deliverable 1): the
-- learner's expected proportion correct over each exam section's active questions, P = c + (1 − c) σ(w · x) at
-- the stored predictor state (learner/predictor.py), i.e. the test characteristic curve, instead of mastery.
-- private.predictor_score_inputs() computes them for the calling learner and insights_context gains one key,
-- 'predictor_scores', with its value, so insights stays one round trip and sends no row per question however
-- large the bank (smartpractice.learner.predictor_scores holds the definitions):
--   'learner': the stored θ and answer counts (null: no predictor state yet), 'weights': the latest nightly
--     weights (the plain model σ(z) before any fit), as next_question_context sends them;
--   'offsets': the grid of Δ around θ, in logits (every 0.25 within ±2, then ±2.5, ±3, ±4, ±6);
--   'sections': per exam section of the active bank, its questions, the learner's graded answers in it (all
--     time) and 'curve': the mean P over its active questions at θ + Δ for each offset (a monotone curve in θ,
--     from which Python reads the score at Δ = 0, its interval and the pass probability);
--   'information': Σ over the learner's distinct answered questions of the Fisher information about θ at the
--     stored state, w_z² (1 − c) s² (1 − s) / (c + (1 − c) s), s = σ(w · x) (the SE of θ is 1/sqrt(1 + it)).
-- b is the stored predictor difficulty or, before any, the seed from the question's Elo rows (the formula of
-- private.predictor_seed_difficulty, inlined: a stack test compares it with the function), and the floor
-- 1/options (0 for numeric), as question_bank() serves them.
-- The rest of insights_context's body is the one of 20261207100000_insights_history_in_sql.sql.

-- The inputs of the predictor's exam scores for the calling learner (auth.uid(); security invoker, so RLS keeps
-- it to their own rows): insights_context and session_summary_context send it as 'predictor_scores'.
create or replace function private.predictor_score_inputs()
returns json
language sql
stable
security invoker
set search_path = ''
as $$
  with me as (
    select auth.uid() as user_id
  ),
  pstate as (
    select s.theta, s.answers, s.correct
    from public.learner_predictor_state s, me
    where s.user_id = me.user_id
  ),
  pweights as (
    select coalesce((select w.weights from public.predictor_weights w order by w.fitted_at desc, w.id desc limit 1),
                    '{0, 1, 0, 0, 0, 0}'::float8[]) as w
  ),
  answered as (
    select sq.question_id, count(*) as n
    from public.session_questions sq, me
    where sq.user_id = me.user_id and sq.is_correct is not null
    group by sq.question_id
  ),
  question_state as (
    -- per question of the active bank or answered by the learner: floor, b, and the means over its skills of
    -- δ_k and the log success/failure counts at the stored state (the prior for a skill never answered)
    select q.id, q.exam_section, q.is_active,
           case when q.question_type = 'multiple_choice' and jsonb_array_length(q.options) >= 2
                then 1.0::float8 / jsonb_array_length(q.options) else 0.0::float8 end as floor,
           coalesce(p.predictor_difficulty,
                    case when t.log_p > -1e-9 then -6.0::float8
                         else least(6.0::float8, greatest(-6.0::float8, ln(1 - exp(t.log_p)) - t.log_p)) end) as b,
           t.dev, t.succ, t.fail
    from (select qs.question_id,
                 -- private.predictor_seed_difficulty inlined (a plpgsql call per question cost ~10 µs each):
                 -- log P = −Σ log(1 + e^{(d − 1200) ln 10 / 400}) over the question's Elo rows
                 -sum(greatest((qs.elo_difficulty - 1200) * ln(10.0::float8) / 400, 0)
                      + ln(1 + exp(-abs((qs.elo_difficulty - 1200) * ln(10.0::float8) / 400)))) as log_p,
                 avg(coalesce(d.deviation, 0.0::float8)) as dev,
                 avg(ln((1 + coalesce(d.correct, 0))::float8)) as succ,
                 avg(ln((1 + coalesce(d.answers - d.correct, 0))::float8)) as fail
          from public.question_skills qs
          left join public.learner_skill_predictor_state d
            on d.user_id = (select me.user_id from me) and d.skill_id = qs.skill_id
          group by qs.question_id) t
    join public.questions q on q.id = t.question_id
    left join public.question_difficulty_params p on p.question_id = q.id
    where q.is_active or q.id in (select a.question_id from answered a)
  ),
  offsets as (
    -- Δ in logits: every 0.25 within ±2 (where the 90 % interval of an SE ≤ 1 ends and pass probabilities
    -- between 0.02 and 0.98 put the cut), then sparser out to ±6 (the abilities' bound)
    select unnest('{-6, -4, -3, -2.5, -2, -1.75, -1.5, -1.25, -1, -0.75, -0.5, -0.25, 0,
                    0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 6}'::float8[]) as d
  ),
  pw as (
    select w.w[1] as w0, w.w[2] as wz, w.w[3] as ws, w.w[4] as wf,
           w.w[5] * ln((1 + st.correct)::float8) + w.w[6] * ln((1 + st.answers - st.correct)::float8) as wall,
           st.theta
    from pweights w cross join pstate st
  ),
  question_logit as (
    -- per active question, w · x at θ without the ability term: logit(θ + Δ) = a + w_z (θ + Δ)
    select qs.exam_section, qs.floor,
           pw.w0 + pw.wz * (qs.dev - qs.b) + pw.ws * qs.succ + pw.wf * qs.fail + pw.wall as a
    from question_state qs cross join pw
    where qs.is_active
  ),
  curves as (
    -- per section, the mean P at θ + Δ, with σ(x) = (1 + tanh(x/2)) / 2 (no overflow for any x)
    select c.exam_section, array_agg(c.p order by c.d) as curve
    from (select ql.exam_section, o.d,
                 avg(ql.floor + (1.0 - ql.floor) * (0.5 + 0.5 * tanh(0.5 * (ql.a + pw.wz * (pw.theta + o.d)))))
                   as p
          from question_logit ql cross join offsets o cross join pw
          group by ql.exam_section, o.d) c
    group by c.exam_section
  ),
  information as (
    -- Σ over the learner's distinct answered questions of w_z² (1 − c) s² (1 − s) / (c + (1 − c) s) at θ
    select coalesce(sum(case when i.floor + (1.0 - i.floor) * i.s > 0
                             then i.wz * i.wz * (1.0 - i.floor) * i.s * i.s * (1.0 - i.s)
                                  / (i.floor + (1.0 - i.floor) * i.s)
                             else 0.0 end), 0.0) as total
    from (select qs.floor, pw.wz,
                 1.0 / (1.0 + exp(least(700.0::float8, greatest(-700.0::float8,
                   -(pw.w0 + pw.wz * (pw.theta + qs.dev - qs.b) + pw.ws * qs.succ + pw.wf * qs.fail
                     + pw.wall))))) as s
          from question_state qs cross join pw
          where qs.id in (select a.question_id from answered a)) i
  )
  select json_build_object(
    'learner', (select json_build_object('theta', st.theta, 'answers', st.answers, 'correct', st.correct)
                from pstate st),
    'weights', (select to_json(pw.w) from pweights pw),
    'offsets', (select array_agg(o.d order by o.d) from offsets o),
    'information', (select i.total from information i),
    'sections', (select coalesce(json_agg(json_build_object(
                           'section', b.exam_section, 'questions', b.questions,
                           'answers', coalesce(sa.n, 0), 'curve', c.curve) order by b.exam_section), '[]'::json)
                 from (select qs.exam_section, count(*) as questions from question_state qs where qs.is_active
                       group by qs.exam_section) b
                 left join (select q.exam_section, sum(a.n) as n from answered a
                            join public.questions q on q.id = a.question_id group by q.exam_section) sa
                   on sa.exam_section = b.exam_section
                 left join curves c on c.exam_section = b.exam_section))
$$;
revoke execute on function private.predictor_score_inputs() from public, anon;
grant execute on function private.predictor_score_inputs() to authenticated, service_role;

create or replace function public.insights_context(p_since timestamptz, p_now timestamptz)
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return (
    with me as (
      select auth.uid() as user_id
    ),
    attempts as (
      -- sessions numbered within the window: insights only groups answers by session (a uuid is 38 bytes of JSON)
      select dense_rank() over (order by sq.session_id) as session_id, sq.question_id, sq.is_correct, sq.confidence_score, sq.time_spent_seconds,
             sq.answered_at, q.expected_time_seconds, q.difficulty_label, q.topic_id
      from public.session_questions sq
      join public.questions q on q.id = sq.question_id, me
      where sq.user_id = me.user_id and sq.answered_at >= p_since and sq.is_correct is not null
      order by sq.answered_at desc
      limit 20000
    ),
    tagged as (
      select qs.question_id, array_agg(qs.skill_id order by qs.skill_id) as skill_ids
      from public.question_skills qs
      where qs.question_id in (select a.question_id from attempts a)
      group by qs.question_id
    ),
    history as (
      select h.skill_id, h.mastery_after, h.created_at
      from public.mastery_history h, me
      where h.user_id = me.user_id and h.created_at >= p_since
      order by h.created_at desc
      limit 50000
    ),
    zone as (
      select coalesce((select nullif(p.time_zone, '') from public.learner_profiles p, me where p.user_id = me.user_id),
                      'UTC') as name
    ),
    points as (
      select h.skill_id, h.mastery_after, h.created_at,
             (extract(epoch from h.created_at) - extract(epoch from p_now))::float8 / 86400.0 as t
      from history h
      where h.created_at <= p_now
    ),
    windows (name, starts) as (
      values ('velocity', p_since), ('plateau', p_now - interval '14 days')
    ),
    fits as (
      select pt.skill_id, w.name, count(*) as n, min(pt.t) as first, max(pt.t) as last,
             regr_sxx(pt.mastery_after, pt.t) as sxx, regr_sxy(pt.mastery_after, pt.t) as sxy,
             regr_syy(pt.mastery_after, pt.t) as syy,
             (array_agg(pt.mastery_after order by pt.created_at desc))[1] as latest
      from points pt join windows w on pt.created_at > w.starts
      group by pt.skill_id, w.name
    )
    select json_build_object(
      'mastery', (select coalesce(json_agg(m order by m.skill_id), '[]'::json)
                  from public.user_skill_mastery m, me where m.user_id = me.user_id),
      'skills', (select coalesce(json_agg(json_build_object('id', s.id, 'name', s.name, 'topic_id', s.topic_id)
                                          order by s.id), '[]'::json) from public.skills s),
      'topics', (select coalesce(json_agg(json_build_object('id', t.id, 'name', t.name, 'subject_id', t.subject_id,
                                                            'exam_weight', t.exam_weight,
                                                            'exam_section', sub.exam_section) order by t.id), '[]'::json)
                 from public.topics t join public.subjects sub on sub.id = t.subject_id),
      'prerequisites', (select coalesce(json_agg(json_build_array(sp.skill_id, sp.prerequisite_skill_id)), '[]'::json)
                        from public.skill_prerequisites sp),
      'attempts', (select json_build_object(
                     'session_id', coalesce(array_agg(a.session_id order by a.answered_at), '{}'),
                     'is_correct', coalesce(array_agg(a.is_correct order by a.answered_at), '{}'),
                     'confidence_score', coalesce(array_agg(a.confidence_score order by a.answered_at), '{}'),
                     'answered_epoch', coalesce(array_agg(extract(epoch from a.answered_at) order by a.answered_at),
                                                '{}'),
                     'time_spent_seconds', coalesce(array_agg(a.time_spent_seconds order by a.answered_at), '{}'),
                     'expected_time_seconds', coalesce(array_agg(a.expected_time_seconds order by a.answered_at), '{}'),
                     'difficulty_label', coalesce(array_agg(a.difficulty_label order by a.answered_at), '{}'),
                     'topic_id', coalesce(array_agg(a.topic_id order by a.answered_at), '{}'),
                     'skill_ids', coalesce(json_agg(coalesce(t.skill_ids, '{}') order by a.answered_at), '[]'::json))
                   from attempts a left join tagged t on t.question_id = a.question_id),
      'skill_trends', (select coalesce(json_object_agg(w.name, (
                         select json_build_object(
                           'skill_id', coalesce(array_agg(f.skill_id order by f.skill_id), '{}'),
                           'n', coalesce(array_agg(f.n order by f.skill_id), '{}'),
                           'first', coalesce(array_agg(f.first order by f.skill_id), '{}'),
                           'last', coalesce(array_agg(f.last order by f.skill_id), '{}'),
                           'sxx', coalesce(array_agg(f.sxx order by f.skill_id), '{}'),
                           'sxy', coalesce(array_agg(f.sxy order by f.skill_id), '{}'),
                           'syy', coalesce(array_agg(f.syy order by f.skill_id), '{}'),
                           'latest', coalesce(array_agg(f.latest order by f.skill_id), '{}'))
                         from fits f where f.name = w.name)), '{}'::json)
                       from windows w),
      'history_days', (select json_build_object(
                         'day', coalesce(array_agg(d.day order by d.day, d.skill_id), '{}'),
                         'skill_id', coalesce(array_agg(d.skill_id order by d.day, d.skill_id), '{}'),
                         'mastery_after', coalesce(array_agg(d.mastery_after order by d.day, d.skill_id), '{}'))
                       from (select distinct on (h.skill_id, (h.created_at at time zone z.name)::date)
                                    h.skill_id, (h.created_at at time zone z.name)::date as day, h.mastery_after
                             from history h, zone z
                             order by h.skill_id, (h.created_at at time zone z.name)::date, h.created_at desc) d),
      'sessions', (select coalesce(json_agg(json_build_object('id', s.id, 'status', s.status,
                                                              'started_at', s.started_at, 'ended_at', s.ended_at)
                                            order by s.started_at), '[]'::json)
                   from public.practice_sessions s, me
                   where s.user_id = me.user_id and s.started_at >= p_since),
      'cohort', (select coalesce(json_agg(c), '[]'::json) from public.cohort_mastery_distribution(null) c),
      -- The learner's top open gaps as the nightly job scored them (private.knowledge_gap_scores).
      'gaps', (select coalesce(json_agg(g order by g.priority_score desc, g.skill_id), '[]'::json)
               from (select kg.skill_id, kg.severity, kg.priority_score, kg.gap_score, kg.updated_at
                     from public.knowledge_gaps kg, me
                     where kg.user_id = me.user_id and kg.status = 'open'
                     order by kg.priority_score desc, kg.skill_id limit 5) g),
      'profile', (select row_to_json(p) from public.learner_profiles p, me where p.user_id = me.user_id),
      'predictor_scores', private.predictor_score_inputs(),
      'snapshots', (select coalesce(json_agg(json_build_object(
                      'date', s.snapshot_date, 'avg_mastery', s.avg_mastery, 'predicted_score', s.predicted_score,
                      'sections', s.predicted_section_scores, 'answered', s.questions_answered,
                      'pass_probability', s.snapshot_data -> 'pass_probability')
                      order by s.snapshot_date), '[]'::json)
                    from public.user_performance_snapshots s, me
                    where s.user_id = me.user_id and s.snapshot_type = 'daily' and s.snapshot_date >= p_since::date)
    )
  );
end;
$$;
revoke execute on function public.insights_context(timestamptz, timestamptz) from public, anon;
grant execute on function public.insights_context(timestamptz, timestamptz) to authenticated, service_role;

