-- The nightly daily snapshots on the production predictor's route (issue 15: "next_question, readiness and the
-- demo all use it"). Until now the nightly wrote each active learner's section scores from BKT mastery while
-- insights and complete_session report the predictor's: the growth series beside readiness mixed two models.
-- 1. private.predictor_score_inputs_of(p_user_id): the body of private.predictor_score_inputs()
--    (20261207192000, with the skill-count weight) for a given learner; predictor_score_inputs() now calls it
--    with auth.uid(), so insights, complete_session and the nightly read one definition. Security invoker: a
--    learner calling it for another learner's id reads nothing of theirs (RLS on the state and answers); only
--    the nightly (service role) reads any learner's.
-- 2. snapshot_inputs (20261206200000) carries each active learner's predictor block ('predictor'), which the
--    nightly turns into section scores with insights' own code (service/maintenance_mastery.py). It costs one
--    predictor_score_inputs evaluation per active learner (~11.5 ms each on a loaded 2-core machine, a 720-question
--    bank): the nightly asks for 200 learners a page.
-- 3. insights_context (20261207170200) returns each daily snapshot's score_source, so readiness compares a
--    pass probability only with a snapshot of the same route. Same body otherwise.

create or replace function private.predictor_score_inputs_of(p_user_id uuid)
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return (
  with me as (
    select p_user_id as user_id
  ),
  pstate as (
    select s.theta, s.answers, s.correct
    from public.learner_predictor_state s, me
    where s.user_id = me.user_id
  ),
  pweights as (
    select coalesce((select w.weights from public.predictor_weights w order by w.fitted_at desc, w.id desc limit 1),
                    '{0, 1, 0, 0, 0, 0, 0}'::float8[]) as w
  ),
  answered as (
    select sq.question_id, count(*) as n
    from public.session_questions sq, me
    -- answered_at is not null: the same rows (20261207170100), read from the partial covering index alone
    where sq.user_id = me.user_id and sq.answered_at is not null and sq.is_correct is not null
    group by sq.question_id
  ),
  pw as (
    select w.w[1] as w0, w.w[2] as wz, w.w[3] as ws, w.w[4] as wf, w.w[7] as wk,
           w.w[5] * ln((1 + st.correct)::float8) + w.w[6] * ln((1 + st.answers - st.correct)::float8) as wall,
           st.theta
    from pweights w cross join pstate st
  ),
  skill_terms as (
    -- per skill the learner has a state for, its weighted terms of w · x: w_z δ_k + w_s log1p(s_k) + w_f log1p(f_k)
    -- (0 for a skill never answered, the prior), so a question's means over its skills are one sum and a count
    select d.skill_id,
           pw.wz * d.deviation + pw.ws * ln((1 + d.correct)::float8) + pw.wf * ln((1 + d.answers - d.correct)::float8)
             as r
    from public.learner_skill_predictor_state d, me, pw
    where d.user_id = me.user_id
  ),
  question_skill_terms as (
    -- per question: the inlined seed's log P over its Elo rows, the learner's skill terms and its skill count
    select qs.question_id,
           -- private.predictor_seed_difficulty inlined (a plpgsql call per question cost ~10 µs each):
           -- log P = −Σ log(1 + e^{(d − 1200) ln 10 / 400}) over the question's Elo rows
           -sum(greatest((qs.elo_difficulty - 1200) * ln(10.0::float8) / 400, 0)
                + ln(1 + exp(-abs((qs.elo_difficulty - 1200) * ln(10.0::float8) / 400)))) as log_p,
           sum(coalesce(d.r, 0.0::float8)) as r_sum, count(*)::float8 as k
    from public.question_skills qs
    left join skill_terms d on d.skill_id = qs.skill_id
    group by qs.question_id
  ),
  cold_line as materialized (
    -- the served cold difficulty (private.served_cold_difficulty: the latest nightly seed line on the label
    -- seed) once per (label, skill count) present, not per question; null without a line
    select x.difficulty_label, x.k, private.served_cold_difficulty(x.difficulty_label, x.k::integer) as cold_difficulty
    from (select distinct q.difficulty_label, t.k
          from question_skill_terms t join public.questions q on q.id = t.question_id) x
  ),
  question_state as (
    -- per question of the active bank or answered by the learner: its section, floor and logit without the
    -- ability term, a = w0 + mean_k r_k − w_z b + w_5 log1p(S) + w_6 log1p(F) + w_7 ln(k), k its number of skills
    -- (null without a predictor state);
    -- b the stored predictor difficulty or, before any, the served cold difficulty (the latest seed line on
    -- the label seed) or, before any line, the seed from the Elo rows
    select q.id, q.exam_section, q.is_active,
           case when q.question_type = 'multiple_choice' and jsonb_array_length(q.options) >= 2
                then 1.0::float8 / jsonb_array_length(q.options) else 0.0::float8 end as floor,
           (select pw.w0 + t.r_sum / t.k + pw.wall + pw.wk * ln(t.k) - pw.wz * coalesce(p.predictor_difficulty, l.cold_difficulty,
                      case when t.log_p > -1e-9 then -6.0::float8
                           else least(6.0::float8, greatest(-6.0::float8, ln(1 - exp(t.log_p)) - t.log_p)) end)
            from pw) as a
    from question_skill_terms t
    join public.questions q on q.id = t.question_id
    join cold_line l on l.difficulty_label is not distinct from q.difficulty_label and l.k = t.k
    left join public.question_difficulty_params p on p.question_id = q.id
    where q.is_active or q.id in (select a.question_id from answered a)
  ),
  offsets as (
    -- Δ in logits: every 0.25 within ±2 (where the 90 % interval of an SE ≤ 1 ends and pass probabilities
    -- between 0.02 and 0.98 put the cut), then sparser out to ±6 (the abilities' bound)
    select unnest('{-6, -4, -3, -2.5, -2, -1.75, -1.5, -1.25, -1, -0.75, -0.5, -0.25, 0,
                    0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 6}'::float8[]) as d
  ),
  buckets as (
    -- the section's active questions grouped by floor and by their logit a in buckets 0.05 wide (a few hundred
    -- groups per section whatever the bank's size): a group's mean logit stands for its members at every offset
    -- (the ability term is the same for all), which moves T by at most (√3/144) · 0.05² ≈ 3.0e-5. Without a
    -- predictor state a is null: one group per section and floor, which counts the section's questions and has
    -- no curve (pw has no row)
    select qs.exam_section, qs.floor, count(*)::float8 as n, avg(qs.a) as a
    from question_state qs
    where qs.is_active
    group by qs.exam_section, qs.floor, floor(qs.a / 0.05)
  ),
  curves as (
    -- per section, the count-weighted mean P at θ + Δ over the groups, with σ(x) = (1 + tanh(x/2)) / 2 (no
    -- overflow for any x)
    select c.exam_section, array_agg(c.p order by c.d) as curve
    from (select bk.exam_section, o.d,
                 sum(bk.n * (bk.floor + (1.0 - bk.floor) * (0.5 + 0.5 * tanh(0.5 * (bk.a + pw.wz * (pw.theta + o.d))))))
                   / sum(bk.n) as p
          from buckets bk cross join offsets o cross join pw
          group by bk.exam_section, o.d) c
    group by c.exam_section
  ),
  information as (
    -- Σ over the learner's distinct answered questions of w_z² (1 − c) s² (1 − s) / (c + (1 − c) s) at θ
    select coalesce(sum(case when i.floor + (1.0 - i.floor) * i.s > 0
                             then i.wz * i.wz * (1.0 - i.floor) * i.s * i.s * (1.0 - i.s)
                                  / (i.floor + (1.0 - i.floor) * i.s)
                             else 0.0 end), 0.0) as total
    from (select qs.floor, pw.wz,
                 1.0 / (1.0 + exp(least(700.0::float8, greatest(-700.0::float8, -(qs.a + pw.wz * pw.theta)))))
                   as s
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
                 from (select bk.exam_section, sum(bk.n)::bigint as questions from buckets bk
                       group by bk.exam_section) b
                 left join (select q.exam_section, sum(a.n) as n from answered a
                            join public.questions q on q.id = a.question_id group by q.exam_section) sa
                   on sa.exam_section = b.exam_section
                 left join curves c on c.exam_section = b.exam_section))
  );
end;
$$;

revoke execute on function private.predictor_score_inputs_of(uuid) from public, anon;
grant execute on function private.predictor_score_inputs_of(uuid) to authenticated, service_role;

create or replace function private.predictor_score_inputs()
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return private.predictor_score_inputs_of((select auth.uid()));
end;
$$;
revoke execute on function private.predictor_score_inputs() from public, anon;
grant execute on function private.predictor_score_inputs() to authenticated, service_role;

create or replace function public.snapshot_inputs(p_run_date date, p_after_user uuid default null,
                                                  p_max_users integer default 2000)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set plan_cache_mode = 'force_custom_plan'  -- the cursor decides the plan; a generic plan would scan the window
as $$
declare
  v_from timestamptz := p_run_date::timestamp at time zone 'UTC';
  v_to timestamptz := (p_run_date + 1)::timestamp at time zone 'UTC';
  v_page jsonb;
begin
  if p_run_date is null or p_max_users is null or p_max_users not between 1 and 5000 then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'need p_run_date and 1 <= p_max_users <= 5000';
  end if;
  with active as (
    select sq.user_id, count(*) as answered, count(*) filter (where sq.is_correct) as correct
    from public.session_questions sq
    where sq.answered_at >= v_from and sq.answered_at < v_to
      and (p_after_user is null or sq.user_id > p_after_user)
    group by sq.user_id
    order by sq.user_id
    limit p_max_users
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'user_id', a.user_id, 'answered', a.answered, 'correct', a.correct,
           'mastery', coalesce(m.rows, '[]'::jsonb),
           'predictor', private.predictor_score_inputs_of(a.user_id)::jsonb) order by a.user_id), '[]'::jsonb)
    into v_page
  from active a
  left join lateral (
    select jsonb_agg(jsonb_build_array(usm.skill_id, usm.p_mastery, usm.stability,
                                       extract(epoch from usm.last_review)) order by usm.skill_id) as rows
    from public.user_skill_mastery usm
    where usm.user_id = a.user_id
  ) m on true;
  return v_page;
end;
$$;
revoke execute on function public.snapshot_inputs(date, uuid, integer) from public, anon, authenticated;
grant execute on function public.snapshot_inputs(date, uuid, integer) to service_role;

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
                     'session_id', coalesce(array_agg(a.session_id), '{}'),
                     'is_correct', coalesce(array_agg(a.is_correct), '{}'),
                     'confidence_score', coalesce(array_agg(a.confidence_score), '{}'),
                     'answered_epoch', coalesce(array_agg(extract(epoch from a.answered_at)), '{}'),
                     'time_spent_seconds', coalesce(array_agg(a.time_spent_seconds), '{}'),
                     'expected_time_seconds', coalesce(array_agg(a.expected_time_seconds), '{}'),
                     'difficulty_label', coalesce(array_agg(a.difficulty_label), '{}'),
                     'topic_id', coalesce(array_agg(a.topic_id), '{}'),
                     'skill_ids', coalesce(json_agg(coalesce(a.skill_ids, '{}')), '[]'::json))
                   -- one sort by answered_at feeds every array (aggregates read a sorted subquery in its order)
                   from (select a.session_id, a.is_correct, a.confidence_score, a.answered_at, a.time_spent_seconds,
                                a.expected_time_seconds, a.difficulty_label, a.topic_id, t.skill_ids
                         from attempts a left join tagged t on t.question_id = a.question_id
                         order by a.answered_at) a),
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
                      'pass_probability', s.snapshot_data -> 'pass_probability',
                      'score_source', s.snapshot_data ->> 'score_source')
                      order by s.snapshot_date), '[]'::json)
                    from public.user_performance_snapshots s, me
                    where s.user_id = me.user_id and s.snapshot_type = 'daily' and s.snapshot_date >= p_since::date)
    )
  );
end;
$$;
revoke execute on function public.insights_context(timestamptz, timestamptz) from public, anon;
grant execute on function public.insights_context(timestamptz, timestamptz) to authenticated, service_role;
