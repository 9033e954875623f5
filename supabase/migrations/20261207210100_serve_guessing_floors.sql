-- The served guessing floor (20261207210000_predictor_guessing_floors.sql) in the two reads that give the Python
-- serving a question's floor; each is its latest definition with one addition:
-- 1. public.question_bank() (20261207160000): 'guessing_floor' per question, private.served_guessing_floor once
--    per distinct option count (next_question's candidates, service/question_bank.py);
-- 2. public.answer_context (20261207160000): the answered question's 'guessing_floor' in predictor.item
--    (submit_answer's prediction, service/predictor_state.item_of). 'n_options' stays in both (the nightly fit
--    centres each format's prior on its default floor).

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
  bank0 as (
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
  ),
  -- the served guessing floor once per distinct option count (private.served_guessing_floor reads the latest
  -- weights row), not per question
  floor_of as materialized (
    select x.n_options, private.served_guessing_floor(x.n_options) as guessing_floor
    from (select distinct b0.n_options from bank0 b0) x
  ),
  bank as (
    select b0.*, f.guessing_floor
    from bank0 b0 join floor_of f on f.n_options = b0.n_options
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
    'n_options', coalesce(array_agg(b.n_options order by b.id), '{}'),
    'guessing_floor', coalesce(array_agg(b.guessing_floor order by b.id), '{}'))
  from bank b
$$;

revoke execute on function public.question_bank() from public, anon;
grant execute on function public.question_bank() to authenticated, service_role;

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
                   'n_options', case when q.question_type = 'multiple_choice' then jsonb_array_length(q.options) end,
                   'guessing_floor', private.served_guessing_floor(
                     case when q.question_type = 'multiple_choice' then jsonb_array_length(q.options) else 0 end))
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
