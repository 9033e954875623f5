-- Learner context reads: each endpoint loads everything it reads about the learner in ONE call.
-- Every round trip through the REST API costs more than the query behind it, so next_question,
-- submit_answer, complete_session and insights each read their inputs with one of these functions.
--
-- All are SECURITY INVOKER and STABLE: they run with the caller's role, so row-level security applies
-- exactly as for the tables (a learner gets their own rows; the explicit `user_id = auth.uid()` filters
-- are for the indexes, not for access). Called with another learner's session id they return
-- "session": null, which the functions answer as 404. No answer keys are read here.

-- Recency/exposure for the selection: the learner's served questions by question.
create index session_questions_user_id_question_id_idx
  on public.session_questions (user_id, question_id, served_at);

-- The question bank for selection, columnar (one array per feature, so a large bank parses quickly):
-- active questions with their topic, subject, exam section, skills with Elo difficulties, and global
-- exposure. Content only (readable by every authenticated user); next_question caches it per instance
-- for a short time (SP_QUESTION_BANK_TTL_SECONDS), so it is read about once a minute, not per request.
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
           array_agg(round(qs.elo_difficulty::numeric, 1) order by qs.skill_id) as difficulties
    from public.question_skills qs
    group by qs.question_id
  ),
  bank as (
    select q.id, q.topic_id, tp.subject_id, q.exam_section, t.skill_ids, t.difficulties,
           coalesce(p.times_seen, 0) as times_seen
    from public.questions q
    join public.topics tp on tp.id = q.topic_id
    join tagged t on t.question_id = q.id
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
    'times_seen', coalesce(array_agg(b.times_seen order by b.id), '{}'))
  from bank b
$$;
revoke execute on function public.question_bank() from public, anon;
grant execute on function public.question_bank() to authenticated, service_role;

-- next_question: the session, this session's answered questions, when the learner last saw each
-- question (sparse: only the questions seen), the learner's mastery rows and the prerequisite graph.
create or replace function public.next_question_context(p_session_id uuid)
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_user_id uuid := auth.uid();
  v_session json;
begin
  select json_build_object('id', s.id, 'status', s.status, 'mode', s.mode, 'filters', s.filters)
    into v_session
  from public.practice_sessions s
  where s.id = p_session_id and s.user_id = v_user_id;
  if v_session is null then
    return json_build_object('session', null);
  end if;

  return json_build_object(
    'session', v_session,
    'answered_ids', (select coalesce(array_agg(sq.question_id order by sq.position), '{}')
                     from public.session_questions sq
                     where sq.session_id = p_session_id and sq.user_id = v_user_id and sq.answered_at is not null),
    'correct', (select count(*) from public.session_questions sq
                where sq.session_id = p_session_id and sq.user_id = v_user_id and sq.answered_at is not null
                  and sq.is_correct),
    'seen', (select json_build_object('question_id', coalesce(array_agg(l.question_id order by l.question_id), '{}'),
                                      'epoch', coalesce(array_agg(round(extract(epoch from l.served_at))
                                                                  order by l.question_id), '{}'))
             from (select sq.question_id, max(sq.served_at) as served_at
                   from public.session_questions sq
                   where sq.user_id = v_user_id
                   group by sq.question_id) l),
    'mastery', (select coalesce(json_agg(m order by m.skill_id), '[]'::json)
                from public.user_skill_mastery m where m.user_id = v_user_id),
    'prerequisites', (select coalesce(json_agg(json_build_array(sp.skill_id, sp.prerequisite_skill_id)), '[]'::json)
                      from public.skill_prerequisites sp)
  );
end;
$$;
revoke execute on function public.next_question_context(uuid) from public, anon;
grant execute on function public.next_question_context(uuid) to authenticated, service_role;

-- submit_answer: an earlier answer with this idempotency key, the session's status and progress (other
-- questions), the question with its skills, and the learner's mastery rows and BKT parameters for those
-- skills. (The answer key is read separately with the service role.)
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
    'earlier', (select jsonb_build_object('answered_at', sq.answered_at, 'response', sq.response)
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

-- complete_session: the session's answers, the learner's mastery and the skill/topic weights.
create or replace function public.session_summary_context(p_session_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  with me as (
    select auth.uid() as user_id
  )
  select jsonb_build_object(
    'answers', (select coalesce(jsonb_agg(jsonb_build_object(
                  'question_id', sq.question_id, 'is_correct', sq.is_correct,
                  'time_spent_seconds', sq.time_spent_seconds, 'response', sq.response) order by sq.position),
                  '[]'::jsonb)
                from public.session_questions sq, me
                where sq.session_id = p_session_id and sq.user_id = me.user_id and sq.answered_at is not null),
    'mastery', (select coalesce(jsonb_agg(jsonb_build_object(
                  'skill_id', m.skill_id, 'effective_mastery', m.effective_mastery) order by m.skill_id), '[]'::jsonb)
                from public.user_skill_mastery m, me where m.user_id = me.user_id),
    'skills', (select coalesce(jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name, 'topic_id', s.topic_id)
                                         order by s.id), '[]'::jsonb) from public.skills s),
    'topics', (select coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'subject_id', t.subject_id,
                                                            'exam_weight', t.exam_weight) order by t.id), '[]'::jsonb)
               from public.topics t)
  )
$$;
revoke execute on function public.session_summary_context(uuid) from public, anon;
grant execute on function public.session_summary_context(uuid) to authenticated, service_role;

-- insights: everything the dashboard computes from, for the window since p_since (capped like the
-- per-table reads were: the most recent 20,000 attempts and 50,000 history rows). Attempts and history
-- come columnar (one array per field, times as epoch seconds): a busy learner's window holds thousands
-- of rows, and objects with ISO timestamps cost more to build, send and parse than the analysis itself.
create or replace function public.insights_context(p_since timestamptz)
returns json
language sql
stable
security invoker
set search_path = ''
as $$
  with me as (
    select auth.uid() as user_id
  ),
  attempts as (
    select sq.session_id, sq.question_id, sq.is_correct, sq.confidence_score, sq.time_spent_seconds,
           sq.answered_at
    from public.session_questions sq, me
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
  )
  select json_build_object(
    'mastery', (select coalesce(json_agg(m order by m.skill_id), '[]'::json)
                from public.user_skill_mastery m, me where m.user_id = me.user_id),
    'skills', (select coalesce(json_agg(json_build_object('id', s.id, 'name', s.name, 'topic_id', s.topic_id)
                                        order by s.id), '[]'::json) from public.skills s),
    'topics', (select coalesce(json_agg(json_build_object('id', t.id, 'name', t.name, 'subject_id', t.subject_id,
                                                          'exam_weight', t.exam_weight) order by t.id), '[]'::json)
               from public.topics t),
    'prerequisites', (select coalesce(json_agg(json_build_array(sp.skill_id, sp.prerequisite_skill_id)), '[]'::json)
                      from public.skill_prerequisites sp),
    'attempts', (select json_build_object(
                   'session_id', coalesce(array_agg(a.session_id order by a.answered_at), '{}'),
                   'is_correct', coalesce(array_agg(a.is_correct order by a.answered_at), '{}'),
                   'confidence_score', coalesce(array_agg(a.confidence_score order by a.answered_at), '{}'),
                   'answered_epoch', coalesce(array_agg(extract(epoch from a.answered_at) order by a.answered_at),
                                              '{}'),
                   'skill_ids', coalesce(json_agg(coalesce(t.skill_ids, '{}') order by a.answered_at), '[]'::json))
                 from attempts a left join tagged t on t.question_id = a.question_id),
    'history', (select json_build_object(
                  'skill_id', coalesce(array_agg(h.skill_id order by h.created_at), '{}'),
                  'mastery_after', coalesce(array_agg(h.mastery_after order by h.created_at), '{}'),
                  'epoch', coalesce(array_agg(extract(epoch from h.created_at) order by h.created_at), '{}'))
                from history h),
    'sessions', (select coalesce(json_agg(json_build_object('id', s.id, 'status', s.status,
                                                            'started_at', s.started_at, 'ended_at', s.ended_at)
                                          order by s.started_at), '[]'::json)
                 from public.practice_sessions s, me
                 where s.user_id = me.user_id and s.started_at >= p_since),
    'cohort', (select coalesce(json_agg(c), '[]'::json) from public.cohort_mastery_distribution(null) c)
  )
$$;
revoke execute on function public.insights_context(timestamptz) from public, anon;
grant execute on function public.insights_context(timestamptz) to authenticated, service_role;
