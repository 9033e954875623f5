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

-- public.record_answer: the body of 20261207010300_repeat_answer_evidence.sql plus one line (d2) calling
-- private.apply_predictor_update.
create or replace function public.record_answer(
  p_user_id uuid,
  p_answer jsonb,
  p_mastery jsonb,
  p_difficulty_deltas jsonb,
  p_response jsonb
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_key text := p_answer ->> 'idempotency_key';
  v_session_id uuid := (p_answer ->> 'session_id')::uuid;
  v_question_id bigint := (p_answer ->> 'question_id')::bigint;
  v_is_correct boolean := (p_answer ->> 'is_correct')::boolean;
  v_answered_at timestamptz := coalesce((p_answer ->> 'answered_at')::timestamptz, now());
  v_existing public.session_questions;
  v_session public.practice_sessions;
  v_request jsonb := private.answer_request(p_answer);
  v_answered integer;
  v_rows integer;
  v_actual_version integer;
  r record;
begin
  if p_user_id is null or v_key is null or v_session_id is null or v_question_id is null
     or v_is_correct is null then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'p_user_id and p_answer.{session_id, question_id, idempotency_key, is_correct} are required';
  end if;

  -- a. fast path for retries (also after the session was completed)
  select sq.* into v_existing
  from public.session_questions sq
  where sq.user_id = p_user_id and sq.idempotency_key = v_key;
  if found then
    perform private.require_same_request(v_existing, v_request);
    return jsonb_build_object('status', 'duplicate', 'response', v_existing.response);
  end if;

  -- b. serialise with other writes to this session, then re-check the key under the lock
  v_session := private.lock_session(p_user_id, v_session_id, true);
  perform private.require_under_limit('answers', (
    select array_agg(sq.answered_at) from public.session_questions sq
    where sq.user_id = p_user_id and sq.answered_at > now() - interval '10 minutes'), 300, interval '10 minutes');
  select sq.* into v_existing
  from public.session_questions sq
  where sq.user_id = p_user_id and sq.idempotency_key = v_key;
  if found then
    perform private.require_same_request(v_existing, v_request);
    return jsonb_build_object('status', 'duplicate', 'response', v_existing.response);
  end if;
  perform private.require_question(v_question_id);

  -- c. the answer
  --    Served-first: only a question serve_question put into this session (so within its filters and its
  --    target_questions) and not answered yet; anything else is refused before anything is written, so
  --    the function never returns a key for it (issue 14: the answer-key harvest).
  select sq.* into v_existing
  from public.session_questions sq
  where sq.session_id = v_session_id and sq.question_id = v_question_id;
  if not found then
    raise exception using errcode = 'PT409', message = 'question_not_served',
      detail = format('question %s was not served in session %s', v_question_id, v_session_id),
      hint = 'answer the question next_question served';
  end if;
  if v_existing.answered_at is not null then
    raise exception using errcode = 'PT409', message = 'question_already_answered',
      detail = format('question %s was already answered in session %s with another idempotency key',
                      v_question_id, v_session_id);
  end if;
  select count(*) into v_answered
  from public.session_questions sq
  where sq.session_id = v_session_id and sq.answered_at is not null;
  if v_answered >= private.session_target(v_session) then
    raise exception using errcode = 'PT409', message = 'session_target_reached',
      detail = format('session %s already holds its %s answers', v_session_id, private.session_target(v_session)),
      hint = 'complete the session and start a new one';
  end if;
  update public.session_questions sq
     set user_answer = p_answer -> 'user_answer',
         is_correct = v_is_correct,
         confidence_score = coalesce((p_answer ->> 'confidence_score')::smallint, 3),
         time_spent_seconds = (p_answer ->> 'time_spent_seconds')::double precision,
         hint_used = coalesce((p_answer ->> 'hint_used')::boolean, false),
         solution_viewed = coalesce((p_answer ->> 'solution_viewed')::boolean, false),
         answered_at = v_answered_at,
         idempotency_key = v_key,
         request = v_request,
         response = p_response
   where sq.id = v_existing.id;

  -- Repeat evidence: an answer to a question this learner answered (in another session) within the last 7 days
  -- carries no mastery credit, so the service sends no mastery items for it. Items anyway mean the service
  -- read the learner before that answer landed: a retryable conflict (it re-reads and recomputes).
  if jsonb_array_length(coalesce(p_mastery, '[]'::jsonb)) > 0 and private.answered_recently(p_user_id, v_question_id, v_existing.id) then
    raise exception using errcode = 'PT409', message = 'repeat_answer_conflict',
      detail = format('question %s was answered by this learner within the cooling period', v_question_id),
      hint = 'retryable: re-read and send no mastery items for a repeated answer';
  end if;

  -- d. mastery, optimistic concurrency on version (the history trigger reads these settings)
  perform set_config('smartpractice.trigger_type', 'question', true);
  perform set_config('smartpractice.session_id', v_session_id::text, true);
  perform set_config('smartpractice.question_id', v_question_id::text, true);
  -- Nullable memory fields (stability, difficulty, memory_state, memory_step, last_review, due) take
  -- the sent value when the key is present, even null (fsrs has no step in review state); an absent
  -- key keeps the stored value. Non-null fields keep the stored value when absent or null.
  for r in
    select x.*, item
    from jsonb_array_elements(coalesce(record_answer.p_mastery, '[]'::jsonb)) as item
    cross join lateral jsonb_to_record(item) as x(
      skill_id bigint, expected_version integer, p_mastery double precision,
      effective_mastery double precision, elo_rating double precision, elo_uncertainty double precision,
      elo_count integer, stability double precision, difficulty double precision,
      memory_state smallint, memory_step integer, last_review timestamptz, due timestamptz,
      reps integer, lapses integer, learning_velocity double precision, plateau_flag boolean)
    order by x.skill_id
  loop
    if r.skill_id is null or r.expected_version is null or r.p_mastery is null then
      raise exception using errcode = 'PT400', message = 'invalid_payload',
        detail = 'each p_mastery item needs skill_id, expected_version and p_mastery';
    end if;
    if r.expected_version = 0 then
      insert into public.user_skill_mastery (
        user_id, skill_id, p_mastery, effective_mastery, elo_rating, elo_uncertainty, elo_count,
        stability, difficulty, memory_state, memory_step, last_review, due, reps, lapses,
        total_attempts, correct_attempts, learning_velocity, plateau_flag, last_practiced_at)
      values (
        p_user_id, r.skill_id, r.p_mastery, coalesce(r.effective_mastery, r.p_mastery),
        coalesce(r.elo_rating, 1200), coalesce(r.elo_uncertainty, 64), coalesce(r.elo_count, 1),
        r.stability, r.difficulty, r.memory_state, r.memory_step, r.last_review, r.due,
        coalesce(r.reps, 1), coalesce(r.lapses, 0),
        1, v_is_correct::integer, coalesce(r.learning_velocity, 0), coalesce(r.plateau_flag, false),
        v_answered_at)
      on conflict (user_id, skill_id) do nothing;
    else
      update public.user_skill_mastery m
         set p_mastery = r.p_mastery,
             effective_mastery = coalesce(r.effective_mastery, r.p_mastery),
             elo_rating = coalesce(r.elo_rating, m.elo_rating),
             elo_uncertainty = coalesce(r.elo_uncertainty, m.elo_uncertainty),
             elo_count = coalesce(r.elo_count, m.elo_count + 1),
             stability = case when r.item ? 'stability' then r.stability else m.stability end,
             difficulty = case when r.item ? 'difficulty' then r.difficulty else m.difficulty end,
             memory_state = case when r.item ? 'memory_state' then r.memory_state else m.memory_state end,
             memory_step = case when r.item ? 'memory_step' then r.memory_step else m.memory_step end,
             last_review = case when r.item ? 'last_review' then r.last_review else m.last_review end,
             due = case when r.item ? 'due' then r.due else m.due end,
             reps = coalesce(r.reps, m.reps + 1),
             lapses = coalesce(r.lapses, m.lapses),
             total_attempts = m.total_attempts + 1,
             correct_attempts = m.correct_attempts + v_is_correct::integer,
             learning_velocity = coalesce(r.learning_velocity, m.learning_velocity),
             plateau_flag = coalesce(r.plateau_flag, m.plateau_flag),
             last_practiced_at = greatest(m.last_practiced_at, v_answered_at)
       where m.user_id = p_user_id and m.skill_id = r.skill_id and m.version = r.expected_version;
    end if;
    get diagnostics v_rows = row_count;
    if v_rows = 0 then
      select m.version into v_actual_version
      from public.user_skill_mastery m
      where m.user_id = p_user_id and m.skill_id = r.skill_id;
      raise exception using errcode = 'PT409', message = 'mastery_version_conflict',
        detail = jsonb_build_object('skill_id', r.skill_id, 'expected_version', r.expected_version,
                                    'actual_version', coalesce(v_actual_version, 0))::text,
        hint = 'retryable: re-read user_skill_mastery and recompute';
    end if;
  end loop;

  -- d2. the predictor's bounded online step (20261207060100_predictor_online_update.sql)
  perform private.apply_predictor_update(p_user_id, v_session_id, v_question_id, v_is_correct, p_answer -> 'predictor');

  -- e. global question parameters. Skipped for anonymous learners (20261206210000_anonymous_learners.sql).
  --    Bounded influence: only the learner's FIRST answer to this question moves its shared difficulty (and
  --    its attempts count), and each step is clipped to ±8 Elo, so one account moves a question's
  --    difficulty by at most 8 however often it answers it. times_seen (exposure) counts every answer.
  if not private.is_anonymous_learner(p_user_id) then
    if not exists (select 1 from public.session_questions sq
                   where sq.user_id = p_user_id and sq.question_id = v_question_id
                     and sq.answered_at is not null and sq.id <> v_existing.id) then
      for r in
        select x.*
        from jsonb_to_recordset(coalesce(p_difficulty_deltas, '[]'::jsonb)) as x(skill_id bigint, delta double precision)
        order by x.skill_id
      loop
        update public.question_skills qs
           set elo_difficulty = qs.elo_difficulty + least(8.0, greatest(-8.0, coalesce(r.delta, 0))),
               attempts = qs.attempts + 1
         where qs.question_id = v_question_id and qs.skill_id = r.skill_id;
        if not found then
          raise exception using errcode = 'PT404', message = 'question_skill_not_found',
            detail = format('question %s is not tagged with skill %s', v_question_id, r.skill_id);
        end if;
      end loop;
    end if;
    insert into public.question_difficulty_params as p (question_id, times_seen)
    values (v_question_id, 1)
    on conflict (question_id) do update set times_seen = p.times_seen + 1;
  end if;

  -- f. session activity + event log
  update public.practice_sessions s
     set total_interactions = s.total_interactions + 1, last_activity_at = now()
   where s.id = v_session_id;
  insert into public.learning_events (user_id, session_id, question_id, event_type, event_data)
  values (p_user_id, v_session_id, v_question_id, 'answer_submitted', jsonb_build_object(
    'idempotency_key', v_key,
    'is_correct', v_is_correct,
    'confidence_score', coalesce((p_answer ->> 'confidence_score')::smallint, 3),
    'time_spent_seconds', p_answer -> 'time_spent_seconds',
    'hint_used', coalesce((p_answer ->> 'hint_used')::boolean, false),
    'solution_viewed', coalesce((p_answer ->> 'solution_viewed')::boolean, false),
    'answered_at', v_answered_at,
    'skills', coalesce((
      select jsonb_agg(jsonb_build_object(
               'skill_id', e -> 'skill_id', 'p_mastery', e -> 'p_mastery',
               'effective_mastery', e -> 'effective_mastery', 'elo_rating', e -> 'elo_rating',
               'velocity', e -> 'learning_velocity'))
      from jsonb_array_elements(coalesce(record_answer.p_mastery, '[]'::jsonb)) e), '[]'::jsonb)));

  return jsonb_build_object('status', 'created', 'response', p_response);
end;
$$;

revoke execute on function public.record_answer(uuid, jsonb, jsonb, jsonb, jsonb) from public, anon, authenticated;
grant execute on function public.record_answer(uuid, jsonb, jsonb, jsonb, jsonb) to service_role;
