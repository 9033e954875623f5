-- The nightly guessing floors (issue 15: the control group's ECE). P = c + (1 - c) sigma(w . x) served a FIXED
-- floor c = 1/options (0 for an open answer); the demo's learners guess less on multiple choice and more on open
-- answers, which the fixed floor turned into a bias by format (multiple choice over-predicted by 0.055-0.080,
-- open answers under-predicted by 0.045-0.070; README "Predictor", the answer format). The nightly predictor_fit
-- step now fits one floor per format with the weights (learner/predictor_floors.py, a prior around the default)
-- and stores them with the weights row they were fitted with.
-- 1. public.predictor_weights.floor_multiple_choice / floor_open: the fitted floors, in [0, 0.5); null = the
--    default (1/options for a multiple-choice question, 0 for an open one): every row stored before this
--    migration, and a night without answers of that format.
-- 2. private.served_guessing_floor(p_n_options): the one definition of the floor a question is served, from the
--    LATEST weights row (the floors belong to the weights they were fitted with): n_options >= 2 (multiple
--    choice) its floor_multiple_choice, else its floor_open, each defaulting as above. Callers pass n_options
--    as question_bank() computes it (the options' count for multiple choice, 0 otherwise) and call it once per
--    distinct count, not per question.
-- 3. public.insert_predictor_weights (20261207160000) stores the two floors (optional keys).

alter table public.predictor_weights
  add column floor_multiple_choice double precision,
  add column floor_open double precision,
  add constraint predictor_weights_floors_check check (
    (floor_multiple_choice is null or (floor_multiple_choice >= 0 and floor_multiple_choice < 0.5))
    and (floor_open is null or (floor_open >= 0 and floor_open < 0.5)));
comment on column public.predictor_weights.floor_multiple_choice is
  'The fitted guessing floor of every multiple-choice question (null: 1/options), served with this row''s weights.';
comment on column public.predictor_weights.floor_open is
  'The fitted guessing floor of every open (numeric) question (null: 0), served with this row''s weights.';

-- Security invoker: the learner (under the weights' read policy) and the service role read predictor_weights.
create or replace function private.served_guessing_floor(p_n_options integer)
returns double precision
language sql
stable
parallel safe
set search_path = ''
as $$
  with latest as (
    select w.floor_multiple_choice, w.floor_open
    from public.predictor_weights w
    order by w.fitted_at desc, w.id desc
    limit 1
  )
  select case when p_n_options >= 2
              then coalesce((select l.floor_multiple_choice from latest l), 1.0::float8 / p_n_options)
              else coalesce((select l.floor_open from latest l), 0.0::float8) end
$$;
revoke execute on function private.served_guessing_floor(integer) from public, anon, authenticated, service_role;
grant execute on function private.served_guessing_floor(integer) to authenticated, service_role;

-- insert_predictor_weights (20261207160000) plus the floors (floor_multiple_choice, floor_open; each optional)
create or replace function public.insert_predictor_weights(p_row jsonb)
returns bigint
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_id bigint;
begin
  insert into public.predictor_weights (fitted_at, n_answers, weights, auc, log_loss, ece, seed_offset, seed_scale,
                                        floor_multiple_choice, floor_open)
  select coalesce(x.fitted_at, now()), x.n_answers, x.weights, x.auc, x.log_loss, x.ece, x.seed_offset, x.seed_scale,
         x.floor_multiple_choice, x.floor_open
  from jsonb_to_record(p_row) as x(fitted_at timestamptz, n_answers integer, weights double precision[],
                                   auc double precision, log_loss double precision, ece double precision,
                                   seed_offset double precision, seed_scale double precision,
                                   floor_multiple_choice double precision, floor_open double precision)
  returning id into v_id;
  return v_id;
end;
$$;
revoke execute on function public.insert_predictor_weights(jsonb) from public, anon, authenticated;
grant execute on function public.insert_predictor_weights(jsonb) to service_role;
