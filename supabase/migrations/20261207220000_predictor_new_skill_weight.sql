-- The predictor's 8th feature, "one of the question's skills is new to the learner" (1 if the learner has 0 answers
-- in learner_skill_predictor_state on at least one of its skills, or no row; else 0), with its nightly weight
-- (issue 15: on real data the first answer on a skill was over-predicted by 5-7 points; README "Predictor", real
-- data). learner/predictor.py is the definition; the weight is fitted nightly like the others
-- (service/maintenance_predictor.py).
-- 1. public.predictor_weights.weights holds 8 weights (bias, z, skill_successes, skill_failures, successes,
--    failures, log_skills, new_skill): every stored row gets an 8th weight 0, which serves exactly what it served
--    before (w · x unchanged) until the next night's fit, and the check asks for 8. The functions read the stored
--    vector as it is, so they and this migration go out together (migrations first: a function of before reads
--    only 7, one of after only 8).
-- 2. private.predictor_score_inputs_of (the latest body, 20261207210200_predictor_score_inputs_served_floor.sql,
--    restated whole; predictor_score_inputs() calls it unchanged) adds w_8 · new to each question's logit a and
--    its default (no row) is the 8-long plain model; the nightly snapshot inputs (20261207193000) call it too. No
--    other function computes w · x or carries a default weights vector: answer_context, next_question_context
--    and insights_context pass the stored row through to Python.

alter table public.predictor_weights drop constraint predictor_weights_weights_check;
update public.predictor_weights set weights = weights || 0.0::float8;
alter table public.predictor_weights add constraint predictor_weights_weights_check
  check (cardinality(weights) = 8 and array_position(weights, null) is null);
comment on column public.predictor_weights.weights is
  'w over x = (1, z, mean log1p skill successes, mean log1p skill failures, log1p successes, log1p failures, '
  'log number of skills, 1 if one of the skills is new to the learner): P = c + (1 - c) sigma(w . x), '
  'learner/predictor.py.';

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
                    '{0, 1, 0, 0, 0, 0, 0, 0}'::float8[]) as w
  ),
  answered as (
    select sq.question_id, count(*) as n
    from public.session_questions sq, me
    -- answered_at is not null: the same rows (20261207170100), read from the partial covering index alone
    where sq.user_id = me.user_id and sq.answered_at is not null and sq.is_correct is not null
    group by sq.question_id
  ),
  pw as (
    select w.w[1] as w0, w.w[2] as wz, w.w[3] as ws, w.w[4] as wf, w.w[7] as wk, w.w[8] as wn,
           w.w[5] * ln((1 + st.correct)::float8) + w.w[6] * ln((1 + st.answers - st.correct)::float8) as wall,
           st.theta
    from pweights w cross join pstate st
  ),
  skill_terms as (
    -- per skill the learner has a state for, its weighted terms of w · x: w_z δ_k + w_s log1p(s_k) + w_f log1p(f_k)
    -- (0 for a skill never answered, the prior), so a question's means over its skills are one sum and a count;
    -- and its answer count (a skill without a row, or with 0 answers, is new to the learner)
    select d.skill_id,
           pw.wz * d.deviation + pw.ws * ln((1 + d.correct)::float8) + pw.wf * ln((1 + d.answers - d.correct)::float8)
             as r,
           d.answers
    from public.learner_skill_predictor_state d, me, pw
    where d.user_id = me.user_id
  ),
  question_skill_terms as (
    -- per question: the inlined seed's log P over its Elo rows, the learner's skill terms, its skill count and
    -- whether one of its skills is new to the learner (1, else 0: the 8th feature)
    select qs.question_id,
           -- private.predictor_seed_difficulty inlined (a plpgsql call per question cost ~10 µs each):
           -- log P = −Σ log(1 + e^{(d − 1200) ln 10 / 400}) over the question's Elo rows
           -sum(greatest((qs.elo_difficulty - 1200) * ln(10.0::float8) / 400, 0)
                + ln(1 + exp(-abs((qs.elo_difficulty - 1200) * ln(10.0::float8) / 400)))) as log_p,
           sum(coalesce(d.r, 0.0::float8)) as r_sum, count(*)::float8 as k,
           case when bool_or(coalesce(d.answers, 0) <= 0) then 1.0::float8 else 0.0::float8 end as new_skill
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
  floor_of as materialized (
    -- the served guessing floor (private.served_guessing_floor: the latest weights row's fitted floor of the
    -- format, or 1/options / 0) once per option count present, as question_bank() counts options
    select x.n_options, private.served_guessing_floor(x.n_options) as guessing_floor
    from (select distinct case when q.question_type = 'multiple_choice' then jsonb_array_length(q.options) else 0 end
            as n_options
          from public.questions q) x
  ),
  question_state as (
    -- per question of the active bank or answered by the learner: its section, floor and logit without the
    -- ability term, a = w0 + mean_k r_k − w_z b + w_5 log1p(S) + w_6 log1p(F) + w_7 ln(k) + w_8 new, k its number
    -- of skills, new 1 if one of them is new to the learner (null without a predictor state);
    -- b the stored predictor difficulty or, before any, the served cold difficulty (the latest seed line on
    -- the label seed) or, before any line, the seed from the Elo rows
    select q.id, q.exam_section, q.is_active,
           fl.guessing_floor as floor,
           (select pw.w0 + t.r_sum / t.k + pw.wall + pw.wk * ln(t.k) + pw.wn * t.new_skill - pw.wz * coalesce(p.predictor_difficulty, l.cold_difficulty,
                      case when t.log_p > -1e-9 then -6.0::float8
                           else least(6.0::float8, greatest(-6.0::float8, ln(1 - exp(t.log_p)) - t.log_p)) end)
            from pw) as a
    from question_skill_terms t
    join public.questions q on q.id = t.question_id
    join cold_line l on l.difficulty_label is not distinct from q.difficulty_label and l.k = t.k
    join floor_of fl on fl.n_options is not distinct from case when q.question_type = 'multiple_choice'
                                            then jsonb_array_length(q.options) else 0 end
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
