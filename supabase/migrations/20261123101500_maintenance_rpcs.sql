-- Maintenance RPCs for the scheduled function (service_role only), each idempotent for a date:
--   apply_decay, write_daily_snapshots, upsert_bkt_params,
--   upsert_irt_params, apply_retention.  (refresh_aggregates has its own migration.)
-- The data RPCs do not write maintenance_runs themselves: decay and snapshots arrive in batches,
-- so only the caller knows when a step is complete; it then calls finish_maintenance_step.

-- Forgetting: p_rows = [{user_id, skill_id, expected_version, effective_mastery}]. Rows whose
-- version moved (the learner answered meanwhile) or whose value is unchanged are skipped, so a
-- re-run for the same date changes nothing. History rows get trigger_type 'decay'.
create or replace function public.apply_decay(p_run_date date, p_rows jsonb)
returns integer
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_changed integer;
begin
  perform set_config('smartpractice.trigger_type', 'decay', true);
  perform set_config('smartpractice.session_id', '', true);
  perform set_config('smartpractice.question_id', '', true);

  with input as (
    select x.user_id, x.skill_id, x.expected_version, x.effective_mastery
    from jsonb_to_recordset(coalesce(p_rows, '[]'::jsonb))
      as x(user_id uuid, skill_id bigint, expected_version integer, effective_mastery double precision)
  ),
  locked as (           -- lock in key order: no deadlock with concurrent answers
    select m.user_id, m.skill_id, i.effective_mastery
    from public.user_skill_mastery m
    join input i on i.user_id = m.user_id and i.skill_id = m.skill_id
    where m.version = i.expected_version
      and m.effective_mastery is distinct from i.effective_mastery
    order by m.user_id, m.skill_id
    for update of m
  ),
  changed as (
    update public.user_skill_mastery m
       set effective_mastery = l.effective_mastery
      from locked l
     where m.user_id = l.user_id and m.skill_id = l.skill_id
    returning 1
  )
  select count(*) into v_changed from changed;

  return v_changed;
end;
$$;

-- Daily snapshots: p_rows = [{user_id, avg_mastery?, predicted_score?, predicted_score_low?,
-- predicted_score_high?, predicted_section_scores?, snapshot_data?}]; one row per user per date
-- (upsert). Counts are computed here from the answers of that UTC day.
create or replace function public.write_daily_snapshots(p_run_date date, p_rows jsonb)
returns integer
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_from timestamptz := p_run_date::timestamp at time zone 'UTC';
  v_to timestamptz := (p_run_date + 1)::timestamp at time zone 'UTC';
  v_written integer;
begin
  with input as (
    select distinct on (x.user_id) x.*
    from jsonb_to_recordset(coalesce(p_rows, '[]'::jsonb)) as x(
      user_id uuid, avg_mastery double precision, predicted_score double precision,
      predicted_score_low double precision, predicted_score_high double precision,
      predicted_section_scores jsonb, snapshot_data jsonb)
  ),
  answers as (
    select sq.user_id,
           count(*) filter (where sq.answered_at >= v_from) as answered_today,
           count(*) filter (where sq.answered_at >= v_from and sq.is_correct) as correct_today,
           count(*) as answered_all
    from public.session_questions sq
    join input i on i.user_id = sq.user_id
    where sq.answered_at < v_to
    group by sq.user_id
  ),
  mastery as (
    select m.user_id, avg(m.effective_mastery) as avg_mastery, count(*) as skills
    from public.user_skill_mastery m
    join input i on i.user_id = m.user_id
    group by m.user_id
  ),
  written as (
    insert into public.user_performance_snapshots as s (
      user_id, snapshot_type, snapshot_date, avg_mastery, skills_tracked, predicted_score,
      predicted_score_low, predicted_score_high, predicted_section_scores, questions_answered,
      correct_answers, total_questions_answered, snapshot_data)
    select i.user_id, 'daily', p_run_date, coalesce(i.avg_mastery, m.avg_mastery),
           coalesce(m.skills, 0), i.predicted_score, i.predicted_score_low, i.predicted_score_high,
           coalesce(i.predicted_section_scores, '{}'::jsonb), coalesce(a.answered_today, 0),
           coalesce(a.correct_today, 0), coalesce(a.answered_all, 0), coalesce(i.snapshot_data, '{}'::jsonb)
    from input i
    left join answers a on a.user_id = i.user_id
    left join mastery m on m.user_id = i.user_id
    on conflict (user_id, snapshot_date) where snapshot_type = 'daily' do update
      set avg_mastery = excluded.avg_mastery,
          skills_tracked = excluded.skills_tracked,
          predicted_score = excluded.predicted_score,
          predicted_score_low = excluded.predicted_score_low,
          predicted_score_high = excluded.predicted_score_high,
          predicted_section_scores = excluded.predicted_section_scores,
          questions_answered = excluded.questions_answered,
          correct_answers = excluded.correct_answers,
          total_questions_answered = excluded.total_questions_answered,
          snapshot_data = excluded.snapshot_data
    returning 1
  )
  select count(*) into v_written from written;

  return v_written;
end;
$$;

-- BKT refit results: p_rows = [{skill_id, p_init, p_learn, p_guess, p_slip, p_forget, n_obs, fitted_at?}].
create or replace function public.upsert_bkt_params(p_rows jsonb)
returns integer
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_written integer;
begin
  insert into public.bkt_params as b (skill_id, p_init, p_learn, p_guess, p_slip, p_forget, n_obs, fitted_at)
  select x.skill_id, x.p_init, x.p_learn, x.p_guess, x.p_slip, coalesce(x.p_forget, 0),
         coalesce(x.n_obs, 0), coalesce(x.fitted_at, now())
  from jsonb_to_recordset(coalesce(p_rows, '[]'::jsonb)) as x(
    skill_id bigint, p_init double precision, p_learn double precision, p_guess double precision,
    p_slip double precision, p_forget double precision, n_obs integer, fitted_at timestamptz)
  on conflict (skill_id) do update
    set p_init = excluded.p_init, p_learn = excluded.p_learn, p_guess = excluded.p_guess,
        p_slip = excluded.p_slip, p_forget = excluded.p_forget, n_obs = excluded.n_obs,
        fitted_at = excluded.fitted_at;
  get diagnostics v_written = row_count;
  return v_written;
end;
$$;

-- IRT calibration results: p_rows = [{question_id, discrimination, difficulty, guessing, calibrated_at?}].
-- times_seen is left alone (it counts answers, maintained by record_answer).
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
  return v_written;
end;
$$;

-- Retention: drop learning_events partitions entirely older than 24 months before p_run_date and
-- make sure the month of p_run_date and the next 3 exist.
create or replace function public.apply_retention(p_run_date date)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_cutoff timestamptz := (p_run_date - interval '24 months')::timestamp at time zone 'UTC';
  v_dropped text[];
  v_created text[];
begin
  v_dropped := private.drop_learning_event_partitions_before(v_cutoff);
  v_created := private.ensure_learning_event_partitions(p_run_date, 4);
  return jsonb_build_object('cutoff', v_cutoff, 'dropped_partitions', to_jsonb(v_dropped),
                            'created_partitions', to_jsonb(v_created));
end;
$$;
grant execute on function private.drop_learning_event_partitions_before(timestamptz) to service_role;
grant execute on function private.ensure_learning_event_partitions(date, integer) to service_role;

revoke execute on function public.apply_decay(date, jsonb) from public, anon, authenticated;
revoke execute on function public.write_daily_snapshots(date, jsonb) from public, anon, authenticated;
revoke execute on function public.upsert_bkt_params(jsonb) from public, anon, authenticated;
revoke execute on function public.upsert_irt_params(jsonb) from public, anon, authenticated;
revoke execute on function public.apply_retention(date) from public, anon, authenticated;
grant execute on function public.apply_decay(date, jsonb) to service_role;
grant execute on function public.write_daily_snapshots(date, jsonb) to service_role;
grant execute on function public.upsert_bkt_params(jsonb) to service_role;
grant execute on function public.upsert_irt_params(jsonb) to service_role;
grant execute on function public.apply_retention(date) to service_role;
