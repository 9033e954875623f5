-- The predictor learns online (issue 15): submit_answer computes one step with smartpractice.learner.predictor
-- .update and sends it as p_answer -> 'predictor' = {"theta_step": Δθ, "skills": [{"skill_id", "deviation_step"}],
-- "item_step": Δb}; record_answer applies it with ONE call, private.apply_predictor_update, which bounds what
-- any payload can do (the service role's key could leak, and the shared difficulty is every learner's):
--   - θ and δ_k steps are clipped to [0, w·K(n)] for a correct answer and [−w·K(n), 0] for a wrong one, where
--     K(n) is the predictor's step schedule at the stored answer count n (PredictorConfig, mirrored below) and
--     w the evidence weight the database measures itself (served_at → now(), learner/evidence.py);
--   - counts move by exactly one (answers) and by is_correct (correct), computed here, never sent;
--   - the question's b moves only on the learner's first answer to it, never for an anonymous learner, by at
--     most w·min(max_item_step, K_item(n)), downward for a correct answer and upward for a wrong one;
--   - a repeat answer (answered in another session within the cooling period), an answer with zero evidence
--     (faster than half the question type's plausible minimum) or no payload moves nothing at all;
--   - only the question's own skills move (a skill outside it, or twice, is refused: PT400 invalid_payload).
-- Values stay within ±6 logits (PredictorConfig.max_abs_logit; the tables' checks).

-- K(n) = max(k_min, k_max / (1 + decay · n)) per kind; the constants of predictor.PredictorConfig()
-- (tests/integration/test_predictor_stack.py compares them).
create or replace function private.predictor_step_bound(p_kind text, p_answers integer)
returns double precision
language plpgsql
immutable
set search_path = ''
as $$
begin
  return case p_kind
    when 'ability' then greatest(0.08, 0.8 / (1 + 0.15 * greatest(p_answers, 0)))
    when 'deviation' then greatest(0.08, 0.4 / (1 + 0.1 * greatest(p_answers, 0)))
    when 'item' then least(0.1, greatest(0.02, 0.4 / (1 + 0.05 * greatest(p_answers, 0))))  -- max_item_step 0.1
  end;
end;
$$;
revoke execute on function private.predictor_step_bound(text, integer) from public, anon, authenticated, service_role;
grant execute on function private.predictor_step_bound(text, integer) to service_role;

-- A sent step kept on the side correctness allows and within the bound (a wrong sign becomes 0).
create or replace function private.predictor_bounded_step(p_step jsonb, p_upward boolean, p_bound double precision)
returns double precision
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_step double precision;
begin
  if p_step is null or jsonb_typeof(p_step) = 'null' then
    return 0;
  end if;
  if jsonb_typeof(p_step) <> 'number' then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = format('a predictor step must be a number, got %s', p_step);
  end if;
  v_step := p_step::text::double precision;
  return case when p_upward then least(p_bound, greatest(0, v_step)) else greatest(-p_bound, least(0, v_step)) end;
end;
$$;
revoke execute on function private.predictor_bounded_step(jsonb, boolean, double precision) from public, anon, authenticated, service_role;
grant execute on function private.predictor_bounded_step(jsonb, boolean, double precision) to service_role;

-- The evidence weight of learner/evidence.py (MIN_SECONDS; tests compare): w = clip((t − m/2) / (m/2), 0, 1).
create or replace function private.predictor_evidence_weight(p_seconds double precision, p_question_type text)
returns double precision
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_half double precision := case p_question_type when 'numeric' then 10.0 else 6.0 end / 2;
begin
  if p_seconds is null then
    return 0;
  end if;
  return least(1, greatest(0, (p_seconds - v_half) / v_half));
end;
$$;
revoke execute on function private.predictor_evidence_weight(double precision, text) from public, anon, authenticated, service_role;
grant execute on function private.predictor_evidence_weight(double precision, text) to service_role;

-- A question's b before its first calibration: the logit at which the average learner (θ = 0) has the chance
-- the online Elo rows give it, P = Π_k 1 / (1 + 10^((d_k − 1200) / 400)) (seeded from the difficulty labels,
-- reset nightly from IRT by upsert_irt_params): b = log((1 − P) / P), within ±6. Pure arithmetic; the learner
-- context reads (security invoker) call it, so authenticated may execute it.
create or replace function private.predictor_seed_difficulty(p_elo double precision[])
returns double precision
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_log_p double precision;
begin
  if p_elo is null or cardinality(p_elo) = 0 then
    return 0;
  end if;
  -- log P = −Σ log(1 + e^{(d − 1200) ln 10 / 400}), computed stably for large |d − 1200|
  select -sum(greatest(x, 0) + ln(1 + exp(-abs(x)))) into v_log_p
  from (select (d - 1200) * ln(10.0) / 400 as x from unnest(p_elo) d) t;
  if v_log_p > -1e-9 then
    return -6;  -- P = 1 within float precision: the easiest end of the scale
  end if;
  return least(6, greatest(-6, ln(1 - exp(v_log_p)) - v_log_p));
end;
$$;
revoke execute on function private.predictor_seed_difficulty(double precision[]) from public, anon, authenticated, service_role;
grant execute on function private.predictor_seed_difficulty(double precision[]) to authenticated, service_role;

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
           coalesce(p.predictor_difficulty, private.predictor_seed_difficulty(
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

-- record_answer calls private.apply_predictor_update once, just before the shared question rows: that call is
-- in record_answer's one later definition, 20261207080000_record_answer_set_based.sql (none was deployed between).
