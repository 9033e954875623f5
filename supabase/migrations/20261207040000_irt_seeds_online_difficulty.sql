-- The nightly IRT calibration is the starting point of the online difficulties (issue 15, and issue 14's
-- deliverable 3). upsert_irt_params (from 20261123101500_maintenance_rpcs.sql) now also resets every skill
-- row of a calibrated question to the calibrated difficulty on the Elo scale:
--   elo_difficulty = 1200 + b · 400 / ln 10        (b in logits; one logit = 173.7 Elo points)
-- so the online difficulties start each day from the calibration (dev/smartpractice_dev/predictor.py reads b_q as the mean
-- of the question's skill rows), and record_answer's bounded additive steps (±8 Elo per answer,
-- 20261207010200_bounded_difficulty_influence.sql) move them from there until the next night. Caveat: the
-- per-skill Elo product (service/candidates.py) counts a multi-skill question's b once per skill.

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

  update public.question_skills qs
  set elo_difficulty = 1200.0 + x.difficulty * 400.0 / ln(10.0)
  from jsonb_to_recordset(coalesce(p_rows, '[]'::jsonb)) as x(question_id bigint, difficulty double precision)
  where qs.question_id = x.question_id and x.difficulty is not null
    and qs.elo_difficulty is distinct from 1200.0 + x.difficulty * 400.0 / ln(10.0);
  return v_written;
end;
$$;

revoke execute on function public.upsert_irt_params(jsonb) from public, anon, authenticated;
grant execute on function public.upsert_irt_params(jsonb) to service_role;
