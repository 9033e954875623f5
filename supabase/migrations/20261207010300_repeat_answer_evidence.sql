-- Evidence that can't be gamed (issue 14): re-answering the same question in fresh sessions counted every
-- time (30 re-answers lifted mastery like 30 independent questions). Now an answer to a question the learner
-- answered in another session within a 7-day cooling period is graded and stored but carries no mastery
-- credit (submit_answer sends no mastery items; record_answer refuses items for it, retryably) and, from
-- 20261207010200, moves no shared difficulty. answer_context tells the service ("repeat").

create or replace function private.answered_recently(p_user_id uuid, p_question_id bigint, p_except uuid)
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (select 1 from public.session_questions sq
                 where sq.user_id = p_user_id and sq.question_id = p_question_id and sq.id <> p_except
                   and sq.answered_at > now() - interval '7 days')
$$;
revoke execute on function private.answered_recently(uuid, bigint, uuid) from public, anon, authenticated, service_role;
grant execute on function private.answered_recently(uuid, bigint, uuid) to service_role;

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

-- answer_context (20261207010000_served_first_answers.sql) with "repeat".
create or replace function public.answer_context(p_session_id uuid, p_question_id bigint, p_idempotency_key text)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
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
    'session', (select jsonb_build_object('id', s.id, 'status', s.status)
                from public.practice_sessions s, me
                where s.id = p_session_id and s.user_id = me.user_id),
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
                   from public.bkt_params b where b.skill_id in (select k.skill_id from question_skill k))
  )
$$;
revoke execute on function public.answer_context(uuid, bigint, text) from public, anon;
grant execute on function public.answer_context(uuid, bigint, text) to authenticated, service_role;
