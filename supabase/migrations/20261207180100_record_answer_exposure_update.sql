-- record_answer: the exposure counter is updated in place instead of upserted (issue 16, deliverable 1).
--
-- Same body as 20261207080000_record_answer_set_based.sql except the last write, question_difficulty_params
-- .times_seen + 1 on every answer. As INSERT ... ON CONFLICT (question_id) DO UPDATE it wrote two WAL records
-- per answer (pg_walinspect over bench_db's record phase: Heap LOCK + Heap HOT_UPDATE on that table), because
-- ON CONFLICT DO UPDATE locks the conflicting row before it updates it, and it paid for the speculative-insert
-- path (arbiter index probe, then the lock, then the update). The row exists from the question's first answer
-- on, so the function UPDATEs first (one HOT_UPDATE record) and falls back to the same upsert when no row was
-- there (the first answer, or a row another transaction creates at the same moment). Same rows, same counts.

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
  v_items jsonb := coalesce(p_mastery, '[]'::jsonb);
  v_deltas jsonb := coalesce(p_difficulty_deltas, '[]'::jsonb);
  v_existing public.session_questions;
  v_session public.practice_sessions;
  v_request jsonb := private.answer_request(p_answer);
  v_answered integer;
  v_written bigint[] := '{}'::bigint[];
  v_invalid integer;
  v_distinct integer;
  v_count integer;
  v_new integer;
  v_failed bigint;
  v_expected integer;
  v_actual_version integer;
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
  if jsonb_array_length(v_items) > 0 and private.answered_recently(p_user_id, v_question_id, v_existing.id) then
    raise exception using errcode = 'PT409', message = 'repeat_answer_conflict',
      detail = format('question %s was answered by this learner within the cooling period', v_question_id),
      hint = 'retryable: re-read and send no mastery items for a repeated answer';
  end if;

  -- d. mastery, optimistic concurrency on version (the history trigger reads these settings). The common path
  --    is one statement that checks the items, then one INSERT and/or one UPDATE: plpgsql pays per statement.
  if jsonb_array_length(v_items) > 0 then
    select count(*) filter (where x.skill_id is null or x.expected_version is null or x.p_mastery is null),
           count(distinct x.skill_id), count(*), count(*) filter (where x.expected_version = 0)
      into v_invalid, v_distinct, v_count, v_new
    from jsonb_to_recordset(v_items) as x(skill_id bigint, expected_version integer, p_mastery double precision);
    if v_invalid > 0 then
      raise exception using errcode = 'PT400', message = 'invalid_payload',
        detail = 'each p_mastery item needs skill_id, expected_version and p_mastery';
    end if;
    if v_distinct <> v_count then
      raise exception using errcode = 'PT400', message = 'invalid_payload',
        detail = 'each skill appears at most once in p_mastery';
    end if;
    perform set_config('smartpractice.trigger_type', 'question', true),
            set_config('smartpractice.session_id', v_session_id::text, true),
            set_config('smartpractice.question_id', v_question_id::text, true);
    -- New skills (expected_version 0): one INSERT; a row that exists already is a conflict (reported below).
    if v_new > 0 then
      with written as (
        insert into public.user_skill_mastery (
          user_id, skill_id, p_mastery, effective_mastery, elo_rating, elo_uncertainty, elo_count,
          stability, difficulty, memory_state, memory_step, last_review, due, reps, lapses,
          total_attempts, correct_attempts, learning_velocity, plateau_flag, last_practiced_at)
        select p_user_id, x.skill_id, x.p_mastery, coalesce(x.effective_mastery, x.p_mastery),
               coalesce(x.elo_rating, 1200), coalesce(x.elo_uncertainty, 64), coalesce(x.elo_count, 1),
               x.stability, x.difficulty, x.memory_state, x.memory_step, x.last_review, x.due,
               coalesce(x.reps, 1), coalesce(x.lapses, 0),
               1, v_is_correct::integer, coalesce(x.learning_velocity, 0), coalesce(x.plateau_flag, false),
               v_answered_at
        from jsonb_to_recordset(v_items) as x(
          skill_id bigint, expected_version integer, p_mastery double precision,
          effective_mastery double precision, elo_rating double precision, elo_uncertainty double precision,
          elo_count integer, stability double precision, difficulty double precision,
          memory_state smallint, memory_step integer, last_review timestamptz, due timestamptz,
          reps integer, lapses integer, learning_velocity double precision, plateau_flag boolean)
        where x.expected_version = 0
        order by x.skill_id
        on conflict (user_id, skill_id) do nothing
        returning skill_id
      )
      select coalesce(array_agg(w.skill_id), '{}') into v_written from written w;
    end if;
    -- Known skills: one UPDATE, matched on the version the service read. Nullable memory fields (stability,
    -- difficulty, memory_state, memory_step, last_review, due) take the sent value when the key is present,
    -- even null (fsrs has no step in review state); an absent key keeps the stored value. Non-null fields
    -- keep the stored value when absent or null. A predictor's per-skill columns join this SET list.
    if v_new < v_count then
      with written as (
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
          from (select x.*, item
                from jsonb_array_elements(v_items) as item
                cross join lateral jsonb_to_record(item) as x(
                  skill_id bigint, expected_version integer, p_mastery double precision,
                  effective_mastery double precision, elo_rating double precision,
                  elo_uncertainty double precision, elo_count integer, stability double precision,
                  difficulty double precision, memory_state smallint, memory_step integer,
                  last_review timestamptz, due timestamptz, reps integer, lapses integer,
                  learning_velocity double precision, plateau_flag boolean)
                where x.expected_version <> 0) r
         where m.user_id = p_user_id and m.skill_id = r.skill_id and m.version = r.expected_version
        returning m.skill_id
      )
      select v_written || coalesce(array_agg(w.skill_id), '{}') into v_written from written w;
    end if;
    -- Every item must have written its row; the first one (in skill order) that did not is the conflict.
    if cardinality(v_written) < v_count then
      select x.skill_id, x.expected_version into v_failed, v_expected
      from jsonb_to_recordset(v_items) as x(skill_id bigint, expected_version integer)
      where x.skill_id <> all (v_written)
      order by x.skill_id
      limit 1;
      select m.version into v_actual_version
      from public.user_skill_mastery m
      where m.user_id = p_user_id and m.skill_id = v_failed;
      raise exception using errcode = 'PT409', message = 'mastery_version_conflict',
        detail = jsonb_build_object('skill_id', v_failed, 'expected_version', v_expected,
                                    'actual_version', coalesce(v_actual_version, 0))::text,
        hint = 'retryable: re-read user_skill_mastery and recompute';
    end if;
  end if;

  -- e. session activity + event log
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
      from jsonb_array_elements(v_items) e), '[]'::jsonb)));

  -- e2. the predictor's bounded online step (20261207060100_predictor_online_update.sql; its shared difficulty
  --     row is written here, just before the other shared rows)
  perform private.apply_predictor_update(p_user_id, v_session_id, v_question_id, v_is_correct, p_answer -> 'predictor');

  -- f. global question parameters, last (see the header). Skipped for anonymous learners
  --    (20261206210000_anonymous_learners.sql). Bounded influence: only the learner's FIRST answer to this
  --    question moves its shared difficulty (and its attempts count), and each step is clipped to ±8 Elo, so
  --    one account moves a question's difficulty by at most 8 however often it answers it. times_seen
  --    (exposure) counts every answer.
  if not private.is_anonymous_learner(p_user_id) then
    if jsonb_array_length(v_deltas) > 0
       and not exists (select 1 from public.session_questions sq
                       where sq.user_id = p_user_id and sq.question_id = v_question_id
                         and sq.answered_at is not null and sq.id <> v_existing.id) then
      -- one UPDATE with the loop's arithmetic (each step clipped, a skill named twice takes both steps)
      with d as (
        select x.skill_id, sum(least(8.0, greatest(-8.0, coalesce(x.delta, 0)))) as step, count(*)::integer as steps
        from jsonb_to_recordset(v_deltas) as x(skill_id bigint, delta double precision)
        group by x.skill_id
      ), moved as (
        update public.question_skills qs
           set elo_difficulty = qs.elo_difficulty + d.step, attempts = qs.attempts + d.steps
          from d
         where qs.question_id = v_question_id and qs.skill_id = d.skill_id
        returning qs.skill_id
      )
      select (select count(*) from d) - (select count(*) from moved) into v_invalid;
      if v_invalid > 0 then
        -- a skill the question is not tagged with (or a null one): the first in skill order, as the loop did
        select x.skill_id into v_failed
        from jsonb_to_recordset(v_deltas) as x(skill_id bigint)
        where not exists (select 1 from public.question_skills qs
                          where qs.question_id = v_question_id and qs.skill_id = x.skill_id)
        order by x.skill_id
        limit 1;
        raise exception using errcode = 'PT404', message = 'question_skill_not_found',
          detail = format('question %s is not tagged with skill %s', v_question_id, v_failed);
      end if;
    end if;
    -- exposure: the row exists after the question's first answer, so a plain UPDATE first (one WAL record);
    -- INSERT ... ON CONFLICT DO UPDATE locks the existing row before updating it (two records, one of them
    -- a heap lock) and runs the speculative-insert path. The upsert stays for the first answer and for a
    -- row created concurrently.
    update public.question_difficulty_params p set times_seen = p.times_seen + 1
     where p.question_id = v_question_id;
    if not found then
      insert into public.question_difficulty_params as p (question_id, times_seen)
      values (v_question_id, 1)
      on conflict (question_id) do update set times_seen = p.times_seen + 1;
    end if;
  end if;

  return jsonb_build_object('status', 'created', 'response', p_response);
end;
$$;

revoke execute on function public.record_answer(uuid, jsonb, jsonb, jsonb, jsonb) from public, anon, authenticated;
grant execute on function public.record_answer(uuid, jsonb, jsonb, jsonb, jsonb) to service_role;
