-- A question's authored seed (issue 15, the nightly cold start): the b its difficulty label stands for, what a
-- new question's Elo rows are created from, whatever the nightly IRT (upsert_irt_params) and record_answer's Elo
-- steps have since done to the rows of a calibrated one. The nightly seed map (predictor_fit.fit_seed_map) is
-- fitted on it over the calibrated questions and applied to it for the cold ones (question_bank() carries it,
-- 20261207140100_question_bank_label_seed.sql), so the map relates the same kind of seed on both sides.

-- The Elo base of each label (1200 = the average learner's even chance, 400 points = 10:1 odds): the one
-- definition. supabase/seed.sql creates the seeded questions' Elo rows from it (base + skill position + jitter,
-- secondary skills easier); dev/smartpractice_dev/eval_io.py reads labels at the same bases (logits), tied to
-- this function by tests/integration/test_label_seed_stack.py. Null for anything else.
create or replace function private.label_elo_base(p_label text)
returns double precision
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case p_label when 'easy' then 1000.0 when 'medium' then 1200.0 when 'hard' then 1400.0 end::double precision
$$;
revoke execute on function private.label_elo_base(text) from public, anon, authenticated, service_role;
grant execute on function private.label_elo_base(text) to authenticated, service_role;

-- The label seed: private.predictor_seed_difficulty's conjunctive rule (20261207060100) on Elo rows all at the
-- label's base, one per skill of the question: P = (1 / (1 + 10^((base − 1200) / 400)))^k, b = log((1 − P) / P),
-- within ±6. One skill: easy −1.151, medium 0, hard +1.151 logits; two skills medium: log 3. Null for an
-- unknown label or a null count (the function below would otherwise read an all-null array as P = 1).
-- Pure arithmetic; question_bank() runs as the learner, so authenticated may execute it.
create or replace function private.predictor_label_seed_difficulty(p_label text, p_n_skills integer)
returns double precision
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  v_base double precision := private.label_elo_base(p_label);
begin
  if v_base is null or p_n_skills is null then
    return null;
  end if;
  return private.predictor_seed_difficulty(array_fill(v_base, array[greatest(p_n_skills, 0)]));
end;
$$;
revoke execute on function private.predictor_label_seed_difficulty(text, integer) from public, anon, authenticated, service_role;
grant execute on function private.predictor_label_seed_difficulty(text, integer) to authenticated, service_role;
