-- Maintenance RPCs for the scheduled function (service_role only), each idempotent for a date:
--   apply_decay, write_daily_snapshots, upsert_bkt_params,
--   upsert_irt_params, apply_retention.  (refresh_aggregates has its own migration.)
-- The data RPCs do not write maintenance_runs themselves: decay and snapshots arrive in batches,
-- so only the caller knows when a step is complete; it then calls finish_maintenance_step.

-- Forgetting, set-based: apply_decay evaluates the forgetting curve in SQL over a slice of learners
-- (one call per `p_max_users` learners, after `p_after_user`); nothing is read through the REST API.
-- The curve is fsrs's (learner/memory.py, `retrievability_array`), with its constants passed in by
-- the caller so Python's scheduler parameters stay the one source:
--   R = (1 + factor · whole_days / stability) ^ decay      (decay < 0, factor = 0.9^(1/decay) − 1)
--   effective_mastery = p_mastery · R;  no stability or no review yet → R = 1.
-- whole_days = floor of the days from last_review to p_as_of, never negative. A test pins this SQL
-- to the numpy implementation (tests/integration/test_maintenance_stack.py).
--
-- Rows move only when the value changes by more than p_tolerance (no history row for noise).
-- Idempotent: the value is computed from the undecayed p_mastery and last_review, so a second run
-- with the same p_as_of changes nothing. Rows are locked in key order (as record_answer does), and a
-- row an answer changed meanwhile is re-evaluated on its new version (READ COMMITTED re-check).
create or replace function public.apply_decay(
  p_as_of timestamptz,
  p_decay double precision,
  p_factor double precision,
  p_tolerance double precision default 1e-6,
  p_after_user uuid default null,
  p_max_users integer default 5000
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_users uuid[];
  v_scanned integer;
  v_changed integer;
begin
  if p_as_of is null or p_decay is null or p_decay >= 0 or p_factor is null or p_factor <= 0
     or p_tolerance is null or p_tolerance < 0 or p_max_users is null or p_max_users < 1 then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'need p_as_of, p_decay < 0, p_factor > 0, p_tolerance >= 0, p_max_users >= 1';
  end if;
  perform set_config('smartpractice.trigger_type', 'decay', true);
  perform set_config('smartpractice.session_id', '', true);
  perform set_config('smartpractice.question_id', '', true);

  select coalesce(array_agg(u.user_id order by u.user_id), '{}') into v_users
  from (select distinct m.user_id
        from public.user_skill_mastery m
        where p_after_user is null or m.user_id > p_after_user
        order by m.user_id
        limit p_max_users) u;

  select count(*) into v_scanned from public.user_skill_mastery m where m.user_id = any (v_users);

  -- The value is computed from the locked row itself: if an answer changed the row meanwhile, the
  -- re-check evaluates it on the new p_mastery/last_review, never on a stale read.
  with locked as (
    select m.user_id, m.skill_id, d.value
    from public.user_skill_mastery m
    cross join lateral (
      select case when m.stability is null or m.last_review is null then m.p_mastery
                  else m.p_mastery * power(
                    1 + p_factor * greatest(floor(extract(epoch from (p_as_of - m.last_review)) / 86400), 0)
                        / m.stability,
                    p_decay)
             end as value
    ) d
    where m.user_id = any (v_users)
      and abs(d.value - m.effective_mastery) > p_tolerance
    order by m.user_id, m.skill_id
    for update of m
  ),
  changed as (
    update public.user_skill_mastery m
       set effective_mastery = l.value
      from locked l
     where m.user_id = l.user_id and m.skill_id = l.skill_id
    returning 1
  )
  select count(*) into v_changed from changed;

  return jsonb_build_object(
    'users', cardinality(v_users),
    'rows_scanned', v_scanned,
    'rows_changed', v_changed,
    'last_user_id', v_users[cardinality(v_users)]);
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

-- Retention to the day, and never from a future date: drop the learning_events partitions entirely older
-- than 24 months before p_run_date, delete the expired rows of the partition that straddles the cut-off,
-- and make sure the month of p_run_date and the next 3 exist. learning_events stays append-only for
-- everyone: the only delete path is private.delete_expired_learning_events (security definer, service
-- role only), which the guard (private.forbid_append_only_mutation) recognises by a transaction-local
-- cut-off it sets for its own statement.
create or replace function private.delete_expired_learning_events(p_cutoff timestamptz)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_deleted integer;
begin
  perform set_config('smartpractice.retention_cutoff', p_cutoff::text, true);
  delete from public.learning_events e where e.created_at < p_cutoff;
  get diagnostics v_deleted = row_count;
  perform set_config('smartpractice.retention_cutoff', '', true);
  return v_deleted;
end;
$$;
revoke execute on function private.delete_expired_learning_events(timestamptz) from public, anon, authenticated, service_role;
grant execute on function private.delete_expired_learning_events(timestamptz) to service_role;

create or replace function public.apply_retention(p_run_date date)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_cutoff timestamptz := (p_run_date - interval '24 months')::timestamp at time zone 'UTC';
  v_dropped text[];
  v_deleted integer;
  v_created text[];
begin
  -- Counting 24 months back from a future date would drop current data: refuse it.
  if p_run_date is null or p_run_date > (now() at time zone 'UTC')::date then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = format('run date %s is after today (UTC)', p_run_date);
  end if;
  v_dropped := private.drop_learning_event_partitions_before(v_cutoff);
  v_deleted := private.delete_expired_learning_events(v_cutoff);  -- the straddling partition's old rows
  v_created := private.ensure_learning_event_partitions(p_run_date, 4);
  return jsonb_build_object('cutoff', v_cutoff, 'dropped_partitions', to_jsonb(v_dropped),
                            'events_deleted', v_deleted, 'created_partitions', to_jsonb(v_created));
end;
$$;
grant execute on function private.drop_learning_event_partitions_before(timestamptz) to service_role;
grant execute on function private.ensure_learning_event_partitions(date, integer) to service_role;

revoke execute on function public.apply_decay(timestamptz, double precision, double precision, double precision, uuid,
                                              integer) from public, anon, authenticated;
revoke execute on function public.write_daily_snapshots(date, jsonb) from public, anon, authenticated;
revoke execute on function public.upsert_bkt_params(jsonb) from public, anon, authenticated;
revoke execute on function public.upsert_irt_params(jsonb) from public, anon, authenticated;
revoke execute on function public.apply_retention(date) from public, anon, authenticated;
grant execute on function public.apply_decay(timestamptz, double precision, double precision, double precision, uuid,
                                             integer) to service_role;
grant execute on function public.write_daily_snapshots(date, jsonb) to service_role;
grant execute on function public.upsert_bkt_params(jsonb) to service_role;
grant execute on function public.upsert_irt_params(jsonb) to service_role;
grant execute on function public.apply_retention(date) to service_role;
