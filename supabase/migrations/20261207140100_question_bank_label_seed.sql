-- question_bank() carries each question's label seed (private.predictor_label_seed_difficulty, from its
-- difficulty_label and number of skills, 20261207140000_label_seed_difficulty.sql) for the nightly predictor_fit
-- step: the seed map is fitted on the calibrated questions' label seeds and applied to the cold questions' label
-- seeds. seed_difficulty (from the current Elo rows) stays: it is the Rasch prior's centre and, through
-- predictor_difficulty, what a question is served while its stored b is null. Same call, one more array (to
-- 1e-4 logit: 720 seeded questions, +5 KB on the bank's 63 KB; +3 ms of its ~10 ms, once per instance and TTL).
-- The body is 20261207060200_predictor_reads.sql's plus label_seed_difficulty.
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
             as label_seed_difficulty
    from (select distinct q.difficulty_label, cardinality(t.skill_ids) as n_skills
          from public.questions q join tagged t on t.question_id = q.id) x
  ),
  bank as (
    select q.id, q.topic_id, tp.subject_id, q.exam_section, t.skill_ids, t.difficulties,
           coalesce(p.times_seen, 0) as times_seen,
           coalesce(p.predictor_difficulty, t.seed_difficulty) as predictor_difficulty, t.seed_difficulty,
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
