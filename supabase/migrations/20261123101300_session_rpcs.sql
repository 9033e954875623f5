-- Session write RPCs (service_role only; the function passes the verified user id):
--   start_session, serve_question, complete_session  + the private session lock they share.
-- Errors (PostgREST maps PTxyz to HTTP xyz):
--   PT404 session_not_found | question_not_found   PT409 session_not_active   PT400 invalid_payload

-- Locks the learner's session row (serialises answers / completion of one session).
create or replace function private.lock_session(p_user_id uuid, p_session_id uuid, p_require_active boolean)
returns public.practice_sessions
language plpgsql
set search_path = ''
as $$
declare
  v_session public.practice_sessions;
begin
  select s.* into v_session
  from public.practice_sessions s
  where s.id = p_session_id and s.user_id = p_user_id
  for update;
  if not found then
    raise exception using errcode = 'PT404', message = 'session_not_found',
      detail = format('session %s does not exist for this user', p_session_id);
  end if;
  if p_require_active and v_session.status <> 'active' then
    raise exception using errcode = 'PT409', message = 'session_not_active',
      detail = format('session %s is %s', p_session_id, v_session.status),
      hint = 'start a new session';
  end if;
  return v_session;
end;
$$;
revoke execute on function private.lock_session(uuid, uuid, boolean) from public, anon, authenticated, service_role;
grant execute on function private.lock_session(uuid, uuid, boolean) to service_role;

create or replace function private.require_question(p_question_id bigint)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if not exists (select 1 from public.questions q where q.id = p_question_id) then
    raise exception using errcode = 'PT404', message = 'question_not_found',
      detail = format('question %s does not exist', p_question_id);
  end if;
end;
$$;
revoke execute on function private.require_question(bigint) from public, anon, authenticated, service_role;
grant execute on function private.require_question(bigint) to service_role;

-- 1. start_session → the practice_sessions row as json.
create or replace function public.start_session(
  p_user_id uuid,
  p_mode text default 'adaptive',
  p_filters jsonb default '{}'
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_session public.practice_sessions;
begin
  if p_user_id is null then
    raise exception using errcode = 'PT400', message = 'invalid_payload', detail = 'p_user_id is required';
  end if;
  insert into public.practice_sessions (user_id, mode, filters)
  values (p_user_id, coalesce(p_mode, 'adaptive'), coalesce(p_filters, '{}'::jsonb))
  returning * into v_session;

  insert into public.learning_events (user_id, session_id, event_type, event_data)
  values (p_user_id, v_session.id, 'session_started',
          jsonb_build_object('mode', v_session.mode, 'filters', v_session.filters));
  return to_jsonb(v_session);
end;
$$;

-- 2. serve_question → the session_questions row as json (existing row if already served), with the served
-- question's content (stem, options, skills) under "question", so next_question needs no read after choosing.
create or replace function public.serve_question(
  p_user_id uuid,
  p_session_id uuid,
  p_question_id bigint,
  p_reason jsonb
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_row public.session_questions;
  v_question jsonb;
begin
  perform private.lock_session(p_user_id, p_session_id, false);
  select jsonb_build_object(
           'id', q.id, 'stem', q.stem, 'question_type', q.question_type, 'options', q.options,
           'exam_section', q.exam_section, 'difficulty_label', q.difficulty_label,
           'skills', (select coalesce(jsonb_agg(jsonb_build_object('skill_id', s.id, 'name', s.name) order by s.id),
                                      '[]'::jsonb)
                      from public.question_skills qs join public.skills s on s.id = qs.skill_id
                      where qs.question_id = q.id))
    into v_question
  from public.questions q where q.id = p_question_id;

  select sq.* into v_row
  from public.session_questions sq
  where sq.session_id = p_session_id and sq.question_id = p_question_id;
  if found then
    return to_jsonb(v_row) || jsonb_build_object('question', v_question);
  end if;

  perform private.lock_session(p_user_id, p_session_id, true);
  perform private.require_question(p_question_id);
  insert into public.session_questions (session_id, user_id, question_id, position, selection_reason)
  values (p_session_id, p_user_id, p_question_id,
          (select coalesce(max(sq.position), 0) + 1 from public.session_questions sq
           where sq.session_id = p_session_id),
          p_reason)
  returning * into v_row;

  update public.practice_sessions s set last_activity_at = now() where s.id = p_session_id;
  insert into public.learning_events (user_id, session_id, question_id, event_type, event_data)
  values (p_user_id, p_session_id, p_question_id, 'question_served',
          jsonb_build_object('position', v_row.position, 'reason', p_reason));
  return to_jsonb(v_row) || jsonb_build_object('question', v_question);
end;
$$;

-- 4. complete_session → {"status": "completed" | "already_completed", "snapshot": <row>}.
-- Counts are facts computed here; model outputs (avg_mastery, predictions, snapshot_data) and the
-- summary fields come from p_snapshot, falling back to values computed from the database.
create or replace function public.complete_session(p_user_id uuid, p_session_id uuid, p_snapshot jsonb)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_session public.practice_sessions;
  v_snapshot public.user_performance_snapshots;
  v_in jsonb := coalesce(p_snapshot, '{}'::jsonb);
  v_answered integer;
  v_correct integer;
  v_total_all integer;
  v_avg_mastery double precision;
  v_skills integer;
  v_concepts bigint[];
  v_gained jsonb;
begin
  v_session := private.lock_session(p_user_id, p_session_id, false);
  if v_session.status = 'completed' then
    select s.* into v_snapshot
    from public.user_performance_snapshots s
    where s.related_id = p_session_id and s.snapshot_type = 'session_complete';
    return jsonb_build_object('status', 'already_completed', 'snapshot', to_jsonb(v_snapshot));
  elsif v_session.status <> 'active' then
    raise exception using errcode = 'PT409', message = 'session_not_active',
      detail = format('session %s is %s', p_session_id, v_session.status);
  end if;

  select count(*) filter (where sq.answered_at is not null),
         count(*) filter (where sq.is_correct)
    into v_answered, v_correct
  from public.session_questions sq
  where sq.session_id = p_session_id;

  select count(*) into v_total_all
  from public.session_questions sq
  where sq.user_id = p_user_id and sq.answered_at is not null;

  select avg(m.effective_mastery), count(*) into v_avg_mastery, v_skills
  from public.user_skill_mastery m
  where m.user_id = p_user_id;

  if jsonb_typeof(v_in -> 'concepts_touched') = 'array' then
    select coalesce(array_agg(e::bigint order by e::bigint), '{}')
      into v_concepts
    from jsonb_array_elements_text(v_in -> 'concepts_touched') e;
  else
    select coalesce(array_agg(distinct qs.skill_id order by qs.skill_id), '{}')
      into v_concepts
    from public.session_questions sq
    join public.question_skills qs on qs.question_id = sq.question_id
    where sq.session_id = p_session_id and sq.answered_at is not null;
  end if;

  if jsonb_typeof(v_in -> 'mastery_gained') = 'object' then
    v_gained := v_in -> 'mastery_gained';
  else
    select coalesce(jsonb_object_agg(g.skill_id::text, g.gained), '{}'::jsonb)
      into v_gained
    from (select h.skill_id, sum(h.delta) as gained
          from public.mastery_history h
          where h.session_id = p_session_id
          group by h.skill_id) g;
  end if;

  update public.practice_sessions s
     set status = 'completed',
         ended_at = now(),
         last_activity_at = now(),
         concepts_touched = v_concepts,
         total_interactions = coalesce((v_in ->> 'total_interactions')::integer, s.total_interactions),
         mastery_gained = v_gained
   where s.id = p_session_id;

  insert into public.user_performance_snapshots (
    user_id, snapshot_type, related_id, avg_mastery, skills_tracked, predicted_score,
    predicted_score_low, predicted_score_high, predicted_section_scores, questions_answered,
    correct_answers, total_questions_answered, snapshot_data)
  values (
    p_user_id, 'session_complete', p_session_id,
    coalesce((v_in ->> 'avg_mastery')::double precision, v_avg_mastery),
    v_skills,
    (v_in ->> 'predicted_score')::double precision,
    (v_in ->> 'predicted_score_low')::double precision,
    (v_in ->> 'predicted_score_high')::double precision,
    coalesce(v_in -> 'predicted_section_scores', '{}'::jsonb),
    v_answered, v_correct, v_total_all,
    coalesce(v_in -> 'snapshot_data',
             v_in - array['avg_mastery', 'predicted_score', 'predicted_score_low', 'predicted_score_high',
                          'predicted_section_scores', 'concepts_touched', 'mastery_gained',
                          'total_interactions']))
  returning * into v_snapshot;

  insert into public.learning_events (user_id, session_id, event_type, event_data)
  values (p_user_id, p_session_id, 'session_completed',
          jsonb_build_object('snapshot_id', v_snapshot.id, 'questions_answered', v_answered,
                             'correct_answers', v_correct));
  return jsonb_build_object('status', 'completed', 'snapshot', to_jsonb(v_snapshot));
end;
$$;

revoke execute on function public.start_session(uuid, text, jsonb) from public, anon, authenticated;
revoke execute on function public.serve_question(uuid, uuid, bigint, jsonb) from public, anon, authenticated;
revoke execute on function public.complete_session(uuid, uuid, jsonb) from public, anon, authenticated;
grant execute on function public.start_session(uuid, text, jsonb) to service_role;
grant execute on function public.serve_question(uuid, uuid, bigint, jsonb) to service_role;
grant execute on function public.complete_session(uuid, uuid, jsonb) to service_role;
