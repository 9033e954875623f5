-- The nightly seed line (issue 15, the cold start before a question's first night). The nightly predictor_fit
-- step fits a line b ≈ offset + scale · label seed over the calibrated questions (predictor_fit.fit_seed_map,
-- on question_bank()'s label_seed_difficulty) and writes offset + scale · label seed (+ its skills' shrunk
-- shift) as the b of every question still without one. A question added AFTER that night had no b until the
-- next night and was served its raw Elo-row seed (private.predictor_seed_difficulty), whose calibration on the
-- harness is poor (AUC / LL / ECE 0.687 / 0.621 / 0.064 against 0.692 / 0.599 / 0.007 with the line applied).
-- Now the night stores its line (offset, scale) with its weights row, and every reader of a question whose
-- stored b is null serves private.served_cold_difficulty: the latest stored line on the question's label seed
-- (to 1e-4, exactly question_bank()'s label_seed_difficulty, which the night applies its line to), within ±6
-- as set_predictor_difficulties stores b; with no line stored yet, the Elo-row seed as before. The skill shifts
-- are not stored: for a question in a skill with a nonzero shrunk shift the night itself would have written the
-- line value plus the mean shift of its skills; with no shifts (one skill, or skills that do not differ beyond
-- noise, τ² = 0) the served value is what that night writes for an unanswered question.
-- Readers (each the latest definition plus the served cold difficulty, no extra round trip):
--   question_bank() (20261207140100): once per (label, skill count) present, in its label_seed CTE;
--   answer_context (20261207060200): once, for the question answered;
--   private.apply_predictor_update (20261207060100): the starting b of a question's first online step;
--   private.predictor_score_inputs (20261207150000): once per (label, skill count), for the curves.

-- the line: both or neither, a finite offset and a non-negative finite scale (fit_seed_map's scale ≥ 0)
alter table public.predictor_weights
  add column seed_offset double precision,
  add column seed_scale double precision,
  add constraint predictor_weights_seed_line_check check (
    (seed_offset is null) = (seed_scale is null)
    and (seed_offset is null or (seed_offset between -1e6 and 1e6 and seed_scale between 0 and 1e6)));
comment on column public.predictor_weights.seed_offset is
  'The nightly seed line''s offset: an uncalibrated question is served offset + scale * label seed (null: no line).';
comment on column public.predictor_weights.seed_scale is
  'The nightly seed line''s scale (see seed_offset).';
create index predictor_weights_seed_line_idx on public.predictor_weights (fitted_at desc, id desc)
  where seed_offset is not null;

-- The one definition of what a question without a stored b is served, when a line exists: the latest stored
-- line on its label seed, within ±6. Null without a line (or for an unknown label / count): the caller then
-- serves the Elo-row seed, private.predictor_seed_difficulty. Security invoker: the learner (under the weights'
-- read policy) and the service role read predictor_weights; callers call it per (label, skill count) or once.
create or replace function private.served_cold_difficulty(p_label text, p_n_skills integer)
returns double precision
language sql
stable
parallel safe
set search_path = ''
as $$
  select least(6, greatest(-6, w.seed_offset + w.seed_scale
           * round(private.predictor_label_seed_difficulty(p_label, p_n_skills)::numeric, 4)::double precision))
  from public.predictor_weights w
  where w.seed_offset is not null
  order by w.fitted_at desc, w.id desc
  limit 1
$$;
revoke execute on function private.served_cold_difficulty(text, integer) from public, anon, authenticated, service_role;
grant execute on function private.served_cold_difficulty(text, integer) to authenticated, service_role;

-- insert_predictor_weights (20261207060300) plus the line (seed_offset, seed_scale; both or neither)
create or replace function public.insert_predictor_weights(p_row jsonb)
returns bigint
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_id bigint;
begin
  insert into public.predictor_weights (fitted_at, n_answers, weights, auc, log_loss, ece, seed_offset, seed_scale)
  select coalesce(x.fitted_at, now()), x.n_answers, x.weights, x.auc, x.log_loss, x.ece, x.seed_offset, x.seed_scale
  from jsonb_to_record(p_row) as x(fitted_at timestamptz, n_answers integer, weights double precision[],
                                   auc double precision, log_loss double precision, ece double precision,
                                   seed_offset double precision, seed_scale double precision)
  returning id into v_id;
  return v_id;
end;
$$;
revoke execute on function public.insert_predictor_weights(jsonb) from public, anon, authenticated;
grant execute on function public.insert_predictor_weights(jsonb) to service_role;

-- public.question_bank: 20261207140100 plus the served cold difficulty in predictor_difficulty
create or replace function public.question_bank()
returns json
language sql
stable
security invoker
set search_path = ''
as $$
  with tagged as (
    select qs.question_id,
           array_agg(qs.skill_id order by qs.skill_id) as skill_ids,
           -- a tenth of an Elo point is ample precision, and numeric serialises faster than float8
           array_agg(round(qs.elo_difficulty::numeric, 1) order by qs.skill_id) as difficulties,
           private.predictor_seed_difficulty(array_agg(qs.elo_difficulty order by qs.skill_id)) as seed_difficulty
    from public.question_skills qs
    group by qs.question_id
  ),
  -- one plpgsql call per (label, skill count) present, not per question (per question it doubled the bank's
  -- time: 10 -> 19 ms median on the seeded 720 questions; this way 14 ms); to 1e-4 logit, finer than the
  -- difficulties' tenth of an Elo point (5.8e-4), in half the bytes of float8
  label_seed as materialized (
    select x.difficulty_label, x.n_skills,
           round(private.predictor_label_seed_difficulty(x.difficulty_label, x.n_skills)::numeric, 4)
             as label_seed_difficulty,
           private.served_cold_difficulty(x.difficulty_label, x.n_skills) as cold_difficulty
    from (select distinct q.difficulty_label, cardinality(t.skill_ids) as n_skills
          from public.questions q join tagged t on t.question_id = q.id) x
  ),
  bank as (
    select q.id, q.topic_id, tp.subject_id, q.exam_section, t.skill_ids, t.difficulties,
           coalesce(p.times_seen, 0) as times_seen,
           coalesce(p.predictor_difficulty, l.cold_difficulty, t.seed_difficulty) as predictor_difficulty, t.seed_difficulty,
           l.label_seed_difficulty,
           case when q.question_type = 'multiple_choice' then jsonb_array_length(q.options) else 0 end as n_options
    from public.questions q
    join public.topics tp on tp.id = q.topic_id
    join tagged t on t.question_id = q.id
    join label_seed l on l.difficulty_label = q.difficulty_label and l.n_skills = cardinality(t.skill_ids)
    left join public.question_difficulty_params p on p.question_id = q.id
    where q.is_active
  )
  select json_build_object(
    'id', coalesce(array_agg(b.id order by b.id), '{}'),
    'topic_id', coalesce(array_agg(b.topic_id order by b.id), '{}'),
    'subject_id', coalesce(array_agg(b.subject_id order by b.id), '{}'),
    'exam_section', coalesce(array_agg(b.exam_section order by b.id), '{}'),
    'skill_ids', coalesce(json_agg(b.skill_ids order by b.id), '[]'::json),
    'difficulties', coalesce(json_agg(b.difficulties order by b.id), '[]'::json),
    'times_seen', coalesce(array_agg(b.times_seen order by b.id), '{}'),
    'predictor_difficulty', coalesce(array_agg(b.predictor_difficulty order by b.id), '{}'),
    'seed_difficulty', coalesce(array_agg(b.seed_difficulty order by b.id), '{}'),
    'label_seed_difficulty', coalesce(array_agg(b.label_seed_difficulty order by b.id), '{}'),
    'n_options', coalesce(array_agg(b.n_options order by b.id), '{}'))
  from bank b
$$;
revoke execute on function public.question_bank() from public, anon;
grant execute on function public.question_bank() to authenticated, service_role;

-- public.answer_context: 20261207060200 with the item's difficulty through the served cold difficulty
create or replace function public.answer_context(p_session_id uuid, p_question_id bigint, p_idempotency_key text)
returns jsonb
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
    question_skill as (
      select qs.skill_id, s.name, qs.elo_difficulty, qs.attempts
      from public.question_skills qs
      join public.skills s on s.id = qs.skill_id
      where qs.question_id = p_question_id
    )
    select jsonb_build_object(
      'earlier', (select jsonb_build_object('answered_at', sq.answered_at, 'response', sq.response,
                                          'request', sq.request)
                  from public.session_questions sq, me
                  where sq.user_id = me.user_id and sq.idempotency_key = p_idempotency_key),
      'session', (select jsonb_build_object('id', s.id, 'status', s.status, 'mode', s.mode)
                  from public.practice_sessions s, me
                  where s.id = p_session_id and s.user_id = me.user_id),
      'served_at', (select sq.served_at from public.session_questions sq, me
                    where sq.session_id = p_session_id and sq.question_id = p_question_id
                      and sq.user_id = me.user_id),
      'answered', (select count(*) from public.session_questions sq, me
                   where sq.session_id = p_session_id and sq.user_id = me.user_id
                     and sq.answered_at is not null and sq.question_id <> p_question_id),
      'correct', (select count(*) from public.session_questions sq, me
                  where sq.session_id = p_session_id and sq.user_id = me.user_id
                    and sq.answered_at is not null and sq.question_id <> p_question_id and sq.is_correct),
      -- the same cooling rule as private.answered_recently (this learner's own rows, under RLS)
      'repeat', exists (select 1 from public.session_questions sq, me
                        where sq.user_id = me.user_id and sq.question_id = p_question_id
                          and sq.session_id <> p_session_id and sq.answered_at > now() - interval '7 days'),
      'question', (select jsonb_build_object(
                     'id', q.id, 'question_type', q.question_type, 'expected_time_seconds', q.expected_time_seconds,
                     'skills', (select jsonb_agg(to_jsonb(k) order by k.skill_id) from question_skill k))
                   from public.questions q
                   where q.id = p_question_id and q.is_active and exists (select 1 from question_skill)),
      'mastery', (select coalesce(jsonb_agg(to_jsonb(m) order by m.skill_id), '[]'::jsonb)
                  from public.user_skill_mastery m, me
                  where m.user_id = me.user_id and m.skill_id in (select k.skill_id from question_skill k)),
      'bkt_params', (select coalesce(jsonb_agg(to_jsonb(b) order by b.skill_id), '[]'::jsonb)
                     from public.bkt_params b where b.skill_id in (select k.skill_id from question_skill k)),
      -- the predictor's state before this answer (20261207060200_predictor_reads.sql)
      'predictor', jsonb_build_object(
        'learner', (select jsonb_build_object('theta', s.theta, 'answers', s.answers, 'correct', s.correct)
                    from public.learner_predictor_state s, me where s.user_id = me.user_id),
        'skills', (select coalesce(jsonb_agg(jsonb_build_object('skill_id', s.skill_id, 'deviation', s.deviation,
                                                               'answers', s.answers, 'correct', s.correct)
                                             order by s.skill_id), '[]'::jsonb)
                   from public.learner_skill_predictor_state s, me
                   where s.user_id = me.user_id and s.skill_id in (select k.skill_id from question_skill k)),
        'item', (select jsonb_build_object(
                   'difficulty', coalesce(p.predictor_difficulty,
                     private.served_cold_difficulty(q.difficulty_label, (select count(*)::integer from question_skill)),
                     private.predictor_seed_difficulty(
                       (select array_agg(k.elo_difficulty order by k.skill_id) from question_skill k))),
                   'answers', coalesce(p.predictor_answers, 0),
                   'n_options', case when q.question_type = 'multiple_choice' then jsonb_array_length(q.options) end)
                 from public.questions q
                 left join public.question_difficulty_params p on p.question_id = q.id
                 where q.id = p_question_id),
        'weights', (select to_jsonb(w.weights) from public.predictor_weights w
                    order by w.fitted_at desc, w.id desc limit 1))
    )
  );
end;
$$;
revoke execute on function public.answer_context(uuid, bigint, text) from public, anon;
grant execute on function public.answer_context(uuid, bigint, text) to authenticated, service_role;

-- private.apply_predictor_update: 20261207060100 with the starting b through the served cold difficulty
create or replace function private.apply_predictor_update(
  p_user_id uuid, p_session_id uuid, p_question_id bigint, p_is_correct boolean, p_update jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row public.session_questions;
  v_weight double precision;
  v_skills jsonb := coalesce(p_update -> 'skills', '[]'::jsonb);
  v_bad integer;
begin
  if p_update is null or jsonb_typeof(p_update) = 'null' then
    return;  -- nothing sent (a repeat or zero-evidence answer, as the service sees it): nothing moves
  end if;
  if jsonb_typeof(p_update) <> 'object' or jsonb_typeof(v_skills) <> 'array' then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'p_answer.predictor must be {"theta_step", "skills": [{"skill_id", "deviation_step"}], "item_step"}';
  end if;
  select sq.* into v_row
  from public.session_questions sq
  where sq.session_id = p_session_id and sq.question_id = p_question_id and sq.user_id = p_user_id;
  if not found or v_row.answered_at is null then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'the predictor step follows the answer it learns from';
  end if;
  select count(*) into v_bad
  from jsonb_array_elements(v_skills) e
  where jsonb_typeof(e -> 'skill_id') is distinct from 'number'
     or not exists (select 1 from public.question_skills qs
                    where qs.question_id = p_question_id and qs.skill_id = (e ->> 'skill_id')::bigint);
  if v_bad > 0 or (select count(distinct e ->> 'skill_id') from jsonb_array_elements(v_skills) e)
                   <> jsonb_array_length(v_skills) then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = format('predictor skills must be distinct skills of question %s', p_question_id);
  end if;
  if coalesce(jsonb_typeof(p_update -> 'theta_step'), 'null') not in ('number', 'null')
     or coalesce(jsonb_typeof(p_update -> 'item_step'), 'null') not in ('number', 'null')
     or exists (select 1 from jsonb_array_elements(v_skills) e
                where coalesce(jsonb_typeof(e -> 'deviation_step'), 'null') not in ('number', 'null')) then
    raise exception using errcode = 'PT400', message = 'invalid_payload', detail = 'predictor steps must be numbers';
  end if;
  if private.answered_recently(p_user_id, p_question_id, v_row.id) then
    return;  -- a repeat is no new evidence (20261207010300_repeat_answer_evidence.sql)
  end if;
  v_weight := private.predictor_evidence_weight(
    extract(epoch from now() - v_row.served_at)::double precision,
    (select q.question_type from public.questions q where q.id = p_question_id));
  if v_weight <= 0 then
    return;
  end if;

  -- θ and the counts over all skills
  insert into public.learner_predictor_state (user_id) values (p_user_id) on conflict (user_id) do nothing;
  update public.learner_predictor_state s
     set theta = least(6, greatest(-6, s.theta + private.predictor_bounded_step(
                   p_update -> 'theta_step', p_is_correct, v_weight * private.predictor_step_bound('ability', s.answers)))),
         answers = s.answers + 1,
         correct = s.correct + p_is_correct::integer,
         updated_at = now()
   where s.user_id = p_user_id;

  -- δ_k and the counts of every skill of the question (a skill without a sent step counts, with step 0)
  insert into public.learner_skill_predictor_state (user_id, skill_id)
  select p_user_id, qs.skill_id from public.question_skills qs where qs.question_id = p_question_id
  order by qs.skill_id
  on conflict (user_id, skill_id) do nothing;
  update public.learner_skill_predictor_state s
     set deviation = least(6, greatest(-6, s.deviation + private.predictor_bounded_step(
                       x.step, p_is_correct, v_weight * private.predictor_step_bound('deviation', s.answers)))),
         answers = s.answers + 1,
         correct = s.correct + p_is_correct::integer,
         updated_at = now()
    from (select qs.skill_id, e -> 'deviation_step' as step
          from public.question_skills qs
          left join jsonb_array_elements(v_skills) e on (e ->> 'skill_id')::bigint = qs.skill_id
          where qs.question_id = p_question_id) x
   where s.user_id = p_user_id and s.skill_id = x.skill_id;

  -- b: shared, so only a counted learner's first answer to the question moves it (as for the Elo rows)
  if private.is_anonymous_learner(p_user_id) or exists (
       select 1 from public.session_questions sq
       where sq.user_id = p_user_id and sq.question_id = p_question_id and sq.answered_at is not null
         and sq.id <> v_row.id) then
    return;
  end if;
  insert into public.question_difficulty_params (question_id) values (p_question_id) on conflict (question_id) do nothing;
  update public.question_difficulty_params p
     set predictor_difficulty = least(6, greatest(-6,
           coalesce(p.predictor_difficulty,
             private.served_cold_difficulty(
               (select q.difficulty_label from public.questions q where q.id = p_question_id),
               (select count(*)::integer from public.question_skills qs where qs.question_id = p_question_id)),
             private.predictor_seed_difficulty(
               (select array_agg(qs.elo_difficulty order by qs.skill_id) from public.question_skills qs
                where qs.question_id = p_question_id)))
           + private.predictor_bounded_step(p_update -> 'item_step', not p_is_correct,
                                            v_weight * private.predictor_step_bound('item', p.predictor_answers)))),
         predictor_answers = p.predictor_answers + 1
   where p.question_id = p_question_id;
end;
$$;
revoke execute on function private.apply_predictor_update(uuid, uuid, bigint, boolean, jsonb) from public, anon, authenticated, service_role;
grant execute on function private.apply_predictor_update(uuid, uuid, bigint, boolean, jsonb) to service_role;

-- private.predictor_score_inputs: 20261207150000 with b through the served cold difficulty (per label and
-- skill count); insights_context and session_summary_context call it and are not redefined
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
  pw as (
    select w.w[1] as w0, w.w[2] as wz, w.w[3] as ws, w.w[4] as wf,
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
    -- ability term, a = w0 + mean_k r_k − w_z b + w_5 log1p(S) + w_6 log1p(F) (null without a predictor state);
    -- b the stored predictor difficulty or, before any, the served cold difficulty (the latest seed line on
    -- the label seed) or, before any line, the seed from the Elo rows
    select q.id, q.exam_section, q.is_active,
           case when q.question_type = 'multiple_choice' and jsonb_array_length(q.options) >= 2
                then 1.0::float8 / jsonb_array_length(q.options) else 0.0::float8 end as floor,
           (select pw.w0 + t.r_sum / t.k + pw.wall - pw.wz * coalesce(p.predictor_difficulty, l.cold_difficulty,
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
$$;
revoke execute on function private.predictor_score_inputs() from public, anon;
grant execute on function private.predictor_score_inputs() to authenticated, service_role;
