-- The nightly IRT calibration is the starting point of the online difficulties (issue 15, and issue 14's
-- deliverable 3). upsert_irt_params (from 20261123101500_maintenance_rpcs.sql) now also resets every skill
-- row of a calibrated question so that the online model reproduces the calibrated chance for the average
-- learner (θ = 0, Elo rating 1200). Online, P(correct) is the product over the question's k skills of
-- 1 / (1 + 10^((d − 1200) / 400)); the calibrated chance is p = c + (1 − c) / (1 + exp(a · b)). Each of the k
-- skill rows gets the same d with per-skill chance p^(1/k):
--   elo_difficulty = 1200 − (400 / ln 10) · logit(p^(1/k))
-- (for one skill and c = 0 this is 1200 + b · 400 / ln 10: one logit = 173.7 Elo points). Setting every row to
-- 1200 + 173.7 b instead would count a k-skill question's difficulty k times in the product. record_answer's
-- bounded additive steps (±8 Elo per answer, 20261207010200_bounded_difficulty_influence.sql) move the rows
-- from there until the next night.

create or replace function public.upsert_irt_params(p_rows jsonb)
returns integer
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_written integer;
begin
  insert into public.question_difficulty_params as q (question_id, discrimination, difficulty, guessing, calibrated_at)
  select x.question_id, x.discrimination, x.difficulty, coalesce(x.guessing, 0), coalesce(x.calibrated_at, now())
  from jsonb_to_recordset(coalesce(p_rows, '[]'::jsonb)) as x(
    question_id bigint, discrimination double precision, difficulty double precision,
    guessing double precision, calibrated_at timestamptz)
  on conflict (question_id) do update
    set discrimination = excluded.discrimination, difficulty = excluded.difficulty,
        guessing = excluded.guessing, calibrated_at = excluded.calibrated_at;
  get diagnostics v_written = row_count;

  with calibrated as (
    select x.question_id,
           coalesce(x.guessing, 0) + (1 - coalesce(x.guessing, 0))
             / (1 + exp(coalesce(x.discrimination, 1) * x.difficulty)) as p,
           (select count(*) from public.question_skills k where k.question_id = x.question_id) as n_skills
    from jsonb_to_recordset(coalesce(p_rows, '[]'::jsonb)) as x(
      question_id bigint, discrimination double precision, difficulty double precision, guessing double precision)
    where x.difficulty is not null
  ),
  per_skill as (
    -- the per-skill chance, kept inside (0, 1) so that the logit stays finite
    select c.question_id, least(greatest(power(c.p, 1.0 / c.n_skills), 1e-6), 1 - 1e-6) as p_skill
    from calibrated c
    where c.n_skills > 0
  )
  update public.question_skills qs
  set elo_difficulty = 1200.0 - 400.0 / ln(10.0) * ln(s.p_skill / (1 - s.p_skill))
  from per_skill s
  where qs.question_id = s.question_id
    and qs.elo_difficulty is distinct from 1200.0 - 400.0 / ln(10.0) * ln(s.p_skill / (1 - s.p_skill));
  return v_written;
end;
$$;

revoke execute on function public.upsert_irt_params(jsonb) from public, anon, authenticated;
grant execute on function public.upsert_irt_params(jsonb) to service_role;
