-- Anonymous learners (Supabase Auth anonymous sign-ins: auth.users.is_anonymous, JWT claim is_anonymous)
-- practise like everyone else (sessions, answers, their own mastery, insights), but move no shared value:
--   * record_answer skips the question difficulty step (Elo deltas, attempts, times_seen) for them;
--   * the cohort statistics (live and the nightly cache) do not count them, so they can neither shift the
--     percentiles nor bring a cohort to the k >= 10 learners that unlocks it;
--   * attempt_log_page, the nightly IRT and BKT refits' input, leaves their answers out.
-- auth.users is the source of truth (a token's claim is only as fresh as the token); service_role has no
-- grant on auth (as on hosted), so the look-ups are security-definer functions in private.

-- True when the user signed in anonymously (and has not linked an identity since); false for unknown ids.
create or replace function private.is_anonymous_learner(p_user_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce((select u.is_anonymous from auth.users u where u.id = p_user_id), false)
$$;
revoke execute on function private.is_anonymous_learner(uuid) from public, anon, authenticated, service_role;
grant execute on function private.is_anonymous_learner(uuid) to service_role;

-- record_answer (20261123101400_record_answer_rpc.sql) with step e skipped for anonymous learners.
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
    return jsonb_build_object('status', 'duplicate', 'response', v_existing.response);
  end if;

  -- b. serialise with other writes to this session, then re-check the key under the lock
  perform private.lock_session(p_user_id, v_session_id, true);
  select sq.* into v_existing
  from public.session_questions sq
  where sq.user_id = p_user_id and sq.idempotency_key = v_key;
  if found then
    return jsonb_build_object('status', 'duplicate', 'response', v_existing.response);
  end if;
  perform private.require_question(v_question_id);

  -- c. the answer
  select sq.* into v_existing
  from public.session_questions sq
  where sq.session_id = v_session_id and sq.question_id = v_question_id;
  if found and v_existing.answered_at is not null then
    raise exception using errcode = 'PT409', message = 'question_already_answered',
      detail = format('question %s was already answered in session %s with another idempotency key',
                      v_question_id, v_session_id);
  end if;
  if not found then
    insert into public.session_questions (session_id, user_id, question_id, position, served_at)
    values (v_session_id, p_user_id, v_question_id,
            (select coalesce(max(sq.position), 0) + 1 from public.session_questions sq
             where sq.session_id = v_session_id),
            least(v_answered_at, now()))
    returning * into v_existing;
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
         response = p_response
   where sq.id = v_existing.id;

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

  -- e. global question parameters: additive, no version check. Skipped for anonymous learners
  --    (auth.users.is_anonymous): they practise without moving shared values, neither the difficulty
  --    nor the attempt and exposure counts (README, "Anonymous users").
  if not private.is_anonymous_learner(p_user_id) then
    for r in
      select x.*
      from jsonb_to_recordset(coalesce(p_difficulty_deltas, '[]'::jsonb)) as x(skill_id bigint, delta double precision)
      order by x.skill_id
    loop
      update public.question_skills qs
         set elo_difficulty = qs.elo_difficulty + coalesce(r.delta, 0),
             attempts = qs.attempts + 1
       where qs.question_id = v_question_id and qs.skill_id = r.skill_id;
      if not found then
        raise exception using errcode = 'PT404', message = 'question_skill_not_found',
          detail = format('question %s is not tagged with skill %s', v_question_id, r.skill_id);
      end if;
    end loop;
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


-- Cohort statistics (20261123101200_cohort_analytics.sql) over permanent learners only.
create or replace function private.cohort_mastery_distribution_live(p_skill_id bigint)
returns table (
  skill_id bigint,
  learners integer,
  mean_mastery double precision,
  p10 double precision,
  p25 double precision,
  p50 double precision,
  p75 double precision,
  p90 double precision,
  share_below_half double precision     -- "X % of learners struggle with this"
)
language sql
stable
security definer
set search_path = ''
as $$
  with per_learner as (
    -- one value per learner: the skill's effective mastery, or the learner's mean over skills
    select m.user_id, avg(m.effective_mastery) as mastery
    from public.user_skill_mastery m
    where m.total_attempts > 0
      and (p_skill_id is null or m.skill_id = p_skill_id)
      and not exists (select 1 from auth.users u where u.id = m.user_id and u.is_anonymous)
    group by m.user_id
  )
  select p_skill_id,
         count(*)::integer,
         avg(mastery),
         percentile_cont(0.10) within group (order by mastery),
         percentile_cont(0.25) within group (order by mastery),
         percentile_cont(0.50) within group (order by mastery),
         percentile_cont(0.75) within group (order by mastery),
         percentile_cont(0.90) within group (order by mastery),
         avg(case when mastery < 0.5 then 1.0 else 0.0 end)::double precision
  from per_learner
  having count(*) >= 10          -- k-anonymity: no result at all for fewer than 10 learners
$$;
revoke execute on function private.cohort_mastery_distribution_live(bigint) from public, anon, authenticated, service_role;
grant execute on function private.cohort_mastery_distribution_live(bigint) to service_role;

create or replace function private.refresh_cohort_mastery_stats()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_rows integer;
begin
  delete from private.cohort_mastery_stats where true;
  insert into private.cohort_mastery_stats (scope, skill_id, learners, mean_mastery, p10, p25, p50, p75, p90,
                                            share_below_half)
  select 'all', null, d.learners, d.mean_mastery, d.p10, d.p25, d.p50, d.p75, d.p90, d.share_below_half
  from private.cohort_mastery_distribution_live(null) d
  union all
  select m.skill_id::text, m.skill_id, count(*)::integer, avg(m.effective_mastery),
         percentile_cont(0.10) within group (order by m.effective_mastery),
         percentile_cont(0.25) within group (order by m.effective_mastery),
         percentile_cont(0.50) within group (order by m.effective_mastery),
         percentile_cont(0.75) within group (order by m.effective_mastery),
         percentile_cont(0.90) within group (order by m.effective_mastery),
         avg(case when m.effective_mastery < 0.5 then 1.0 else 0.0 end)::double precision
  from public.user_skill_mastery m
  where m.total_attempts > 0
    and not exists (select 1 from auth.users u where u.id = m.user_id and u.is_anonymous)
  group by m.skill_id
  having count(*) >= 10;
  get diagnostics v_rows = row_count;
  return v_rows;
end;
$$;
revoke execute on function private.refresh_cohort_mastery_stats() from public, anon, authenticated, service_role;
grant execute on function private.refresh_cohort_mastery_stats() to service_role;

-- The refits' answers: [p_from, p_to), learner by learner after p_after_user, at most p_limit rows, anonymous
-- learners left out. A definer function because it reads auth.users; per-call plans (the cursor decides).
create or replace function private.refit_answers(p_from timestamptz, p_to timestamptz, p_after_user uuid,
                                                 p_limit integer)
returns table (user_id uuid, question_id bigint, is_correct boolean, answered_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
set plan_cache_mode = 'force_custom_plan'
as $$
begin
  return query
    select sq.user_id, sq.question_id, sq.is_correct, sq.answered_at
    from public.session_questions sq
    where (p_after_user is null or sq.user_id > p_after_user)
      and sq.answered_at >= p_from and sq.answered_at < p_to
      and not exists (select 1 from auth.users u where u.id = sq.user_id and u.is_anonymous)
    order by sq.user_id
    limit p_limit;
end;
$$;
revoke execute on function private.refit_answers(timestamptz, timestamptz, uuid, integer)
  from public, anon, authenticated, service_role;
grant execute on function private.refit_answers(timestamptz, timestamptz, uuid, integer) to service_role;

-- attempt_log_page (20261206200000_maintenance_reads.sql), reading through private.refit_answers.
create or replace function public.attempt_log_page(p_from timestamptz, p_to timestamptz,
                                                   p_after_user uuid default null, p_max_rows integer default 50000)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set plan_cache_mode = 'force_custom_plan'  -- the cursor decides the plan; a generic plan would scan the window
as $$
declare
  v_page jsonb;
begin
  if p_from is null or p_to is null or p_max_rows is null or p_max_rows not between 1 and 200000 then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'need p_from, p_to and 1 <= p_max_rows <= 200000';
  end if;
  with scanned as (       -- one more row than asked: tells whether the last learner is complete
    select a.user_id, a.question_id, a.is_correct, a.answered_at
    from private.refit_answers(p_from, p_to, p_after_user, p_max_rows + 1) a
  ),
  bounds as (
    select count(*) <= p_max_rows as exhausted, max(s.user_id::text)::uuid as last_user,
           count(distinct s.user_id) as learners
    from scanned s
  ),
  kept as (               -- a full page drops its last (maybe partial) learner, unless it is the only one
    select s.*, dense_rank() over (order by s.user_id) - 1 as learner
    from scanned s cross join bounds b
    where b.exhausted or b.learners = 1 or s.user_id < b.last_user
  ),
  page as (
    select k.* from kept k
    order by k.user_id, k.answered_at
    limit p_max_rows
  )
  select jsonb_build_object(
           'user_ids', coalesce((select jsonb_agg(u.user_id order by u.user_id)
                                 from (select distinct p.user_id from page p) u), '[]'::jsonb),
           'learner', coalesce(jsonb_agg(p.learner order by p.user_id, p.answered_at), '[]'::jsonb),
           'question_id', coalesce(jsonb_agg(p.question_id order by p.user_id, p.answered_at), '[]'::jsonb),
           'correct', coalesce(jsonb_agg(p.is_correct::integer order by p.user_id, p.answered_at), '[]'::jsonb),
           'answered_epoch', coalesce(jsonb_agg(extract(epoch from p.answered_at) order by p.user_id,
                                                p.answered_at), '[]'::jsonb),
           'last_user_id', max(p.user_id::text),
           'exhausted', (select b.exhausted from bounds b))
    into v_page
  from page p;
  return v_page;
end;
$$;

revoke execute on function public.attempt_log_page(timestamptz, timestamptz, uuid, integer)
  from public, anon, authenticated;
grant execute on function public.attempt_log_page(timestamptz, timestamptz, uuid, integer) to service_role;
