-- The predictor's nightly writes (issue 15; service/maintenance_predictor.py, step predictor_fit): tonight's
-- difficulties b (Rasch calibration, cold start for unanswered questions) and the fitted weights. Service role
-- only; the functions read the latest weights through the learner context functions.

create or replace function public.set_predictor_difficulties(p_rows jsonb)
returns integer
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_written integer;
begin
  if jsonb_typeof(coalesce(p_rows, '[]'::jsonb)) <> 'array' then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'p_rows must be an array of {question_id, difficulty}';
  end if;
  insert into public.question_difficulty_params as p (question_id, predictor_difficulty)
  select x.question_id, least(6, greatest(-6, x.difficulty))
  from jsonb_to_recordset(coalesce(p_rows, '[]'::jsonb)) as x(question_id bigint, difficulty double precision)
  where x.question_id is not null and x.difficulty is not null
  order by x.question_id
  on conflict (question_id) do update
    set predictor_difficulty = excluded.predictor_difficulty
    where p.predictor_difficulty is distinct from excluded.predictor_difficulty;
  get diagnostics v_written = row_count;
  return v_written;
end;
$$;
revoke execute on function public.set_predictor_difficulties(jsonb) from public, anon, authenticated;
grant execute on function public.set_predictor_difficulties(jsonb) to service_role;

create or replace function public.insert_predictor_weights(p_row jsonb)
returns bigint
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_id bigint;
begin
  insert into public.predictor_weights (fitted_at, n_answers, weights, auc, log_loss, ece)
  select coalesce(x.fitted_at, now()), x.n_answers, x.weights, x.auc, x.log_loss, x.ece
  from jsonb_to_record(p_row) as x(fitted_at timestamptz, n_answers integer, weights double precision[],
                                   auc double precision, log_loss double precision, ece double precision)
  returning id into v_id;
  return v_id;
end;
$$;
revoke execute on function public.insert_predictor_weights(jsonb) from public, anon, authenticated;
grant execute on function public.insert_predictor_weights(jsonb) to service_role;
