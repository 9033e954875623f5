-- refresh_aggregates in learner slices: every call stays far inside hosted Supabase's 8 s statement_timeout.
-- Hosted gives the API roles statement_timeout = 8s (supabase/postgres migrations/db/migrations/
-- 20221028101028_set_authenticator_timeout.sql; service_role inherits it through authenticator), and the one
-- call over every learner took 27-49 s at 100k learners. Same tables, same values, same counts as
-- 20261123101600_refresh_aggregates_rpc.sql (its header describes each table and the incremental rule), except
-- knowledge_gaps, scored by private.knowledge_gap_scores (20261207000100_one_knowledge_gap_formula.sql).
--
-- refresh_aggregates_slice(p_run_date, p_after_user, p_max_users) refreshes the learners with
--   p_after_user < user_id <= last_user_id
-- where last_user_id is the p_max_users-th learner (by user_skill_mastery) after p_after_user; the slice that
-- finds fewer is the last one and is open-ended (last_user_id null, "done": true), so the slices cover the
-- whole uuid space and every learner, with mastery rows or not, falls in exactly one. Every row the refresh
-- writes belongs to one learner, so the counts of the slices add up to the one-call counts. Batches are sized
-- by learners, not time: the caller (maintenance step "aggregates") saves last_user_id after each slice and
-- resumes from it.
--
-- Incremental or full is decided per slice by the same rule (the run for the day before is done), so every
-- slice of a run decides alike. refresh_aggregates(p_run_date) keeps its contract (one transaction, every
-- learner), now as a loop over the slices, for SQL callers and for the tests comparing incremental with full.

create or replace function public.refresh_aggregates_slice(p_run_date date, p_after_user uuid default null,
                                                           p_max_users integer default 5000)
returns jsonb
language plpgsql
security invoker
set search_path = ''
set plan_cache_mode = 'force_custom_plan'  -- the slice bounds decide the plan; a generic plan would scan all
as $$
declare
  v_from timestamptz := p_run_date::timestamp at time zone 'UTC';
  v_to timestamptz := (p_run_date + 1)::timestamp at time zone 'UTC';
  v_week date := date_trunc('week', p_run_date::timestamp)::date;
  v_week_from timestamptz := v_week::timestamp at time zone 'UTC';
  v_week_to timestamptz := (v_week + 7)::timestamp at time zone 'UTC';
  v_lo uuid := p_after_user;  -- exclusive; null: from the first learner
  v_hi uuid;                  -- inclusive; null: to the last learner (the last slice)
  v_found integer;
  v_daily integer;
  v_weekly integer;
  v_topic integer;
  v_metrics integer;
  v_gaps_open integer;
  v_gaps_resolved integer;
  v_prev_started timestamptz;
  v_users uuid[];          -- learners of the slice to recompute; null = all of them
begin
  if p_run_date is null or p_max_users is null or p_max_users not between 1 and 50000 then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'need p_run_date and 1 <= p_max_users <= 50000';
  end if;

  select count(*), (array_agg(u.user_id order by u.user_id desc))[1] into v_found, v_hi
  from (select distinct m.user_id
        from public.user_skill_mastery m
        where v_lo is null or m.user_id > v_lo
        order by m.user_id
        limit p_max_users) u;
  if v_found < p_max_users then
    v_hi := null;
  end if;

  select mr.started_at into v_prev_started
  from public.maintenance_runs mr
  where mr.run_date = p_run_date - 1 and mr.step = 'aggregates' and mr.status = 'done';
  if v_prev_started is not null then
    select coalesce(array_agg(distinct c.user_id), '{}') into v_users
    from (
      select m.user_id from public.user_skill_mastery m
      where m.updated_at >= v_prev_started
        and (v_lo is null or m.user_id > v_lo) and (v_hi is null or m.user_id <= v_hi)
      union all
      select sq.user_id from public.session_questions sq
      where ((sq.answered_at >= v_from - interval '2 days' and sq.answered_at < v_to)
          or (sq.answered_at >= v_to - interval '31 days' and sq.answered_at < v_to - interval '30 days')
          or (sq.answered_at >= v_to - interval '91 days' and sq.answered_at < v_to - interval '90 days'))
        and (v_lo is null or sq.user_id > v_lo) and (v_hi is null or sq.user_id <= v_hi)
      union all
      select s.user_id from public.practice_sessions s
      where s.ended_at >= v_from and s.ended_at < v_to
        and (v_lo is null or s.user_id > v_lo) and (v_hi is null or s.user_id <= v_hi)
    ) c;
  end if;

  -- daily_user_stats -------------------------------------------------------------------------
  with answers as (
    select sq.user_id, count(*) as answered, count(*) filter (where sq.is_correct) as correct,
           coalesce(sum(sq.time_spent_seconds), 0) as total_time, avg(sq.time_spent_seconds) as avg_time,
           avg(sq.confidence_score) as avg_confidence,
           count(*) filter (where sq.hint_used) as hints, count(*) filter (where sq.solution_viewed) as solutions
    from public.session_questions sq
    where sq.answered_at >= v_from and sq.answered_at < v_to
      and (v_lo is null or sq.user_id > v_lo) and (v_hi is null or sq.user_id <= v_hi)
    group by sq.user_id
  ),
  skills as (
    select sq.user_id, count(distinct qs.skill_id) as n
    from public.session_questions sq
    join public.question_skills qs on qs.question_id = sq.question_id
    where sq.answered_at >= v_from and sq.answered_at < v_to
      and (v_lo is null or sq.user_id > v_lo) and (v_hi is null or sq.user_id <= v_hi)
    group by sq.user_id
  ),
  started as (
    select s.user_id, count(*) as n from public.practice_sessions s
    where s.started_at >= v_from and s.started_at < v_to
      and (v_lo is null or s.user_id > v_lo) and (v_hi is null or s.user_id <= v_hi)
    group by s.user_id
  ),
  completed as (
    select s.user_id, count(*) as n from public.practice_sessions s
    where s.status = 'completed' and s.ended_at >= v_from and s.ended_at < v_to
      and (v_lo is null or s.user_id > v_lo) and (v_hi is null or s.user_id <= v_hi)
    group by s.user_id
  ),
  gained as (
    select h.user_id, coalesce(sum(h.delta), 0) as g from public.mastery_history h
    where h.created_at >= v_from and h.created_at < v_to and h.trigger_type <> 'decay'
      and (v_lo is null or h.user_id > v_lo) and (v_hi is null or h.user_id <= v_hi)
    group by h.user_id
  ),
  users as (
    select user_id from answers union select user_id from started
    union select user_id from completed union select user_id from gained
  )
  insert into public.daily_user_stats as d (
    user_id, stat_date, questions_answered, correct_answers, accuracy, total_time_seconds,
    avg_time_seconds, avg_confidence, hints_used, solutions_viewed, sessions_started,
    sessions_completed, skills_practiced, mastery_gained, updated_at)
  select u.user_id, p_run_date, coalesce(a.answered, 0), coalesce(a.correct, 0),
         a.correct::double precision / nullif(a.answered, 0), coalesce(a.total_time, 0), a.avg_time,
         a.avg_confidence, coalesce(a.hints, 0), coalesce(a.solutions, 0), coalesce(st.n, 0),
         coalesce(c.n, 0), coalesce(sk.n, 0), coalesce(g.g, 0), now()
  from users u
  left join answers a on a.user_id = u.user_id
  left join skills sk on sk.user_id = u.user_id
  left join started st on st.user_id = u.user_id
  left join completed c on c.user_id = u.user_id
  left join gained g on g.user_id = u.user_id
  on conflict (user_id, stat_date) do update
    set questions_answered = excluded.questions_answered, correct_answers = excluded.correct_answers,
        accuracy = excluded.accuracy, total_time_seconds = excluded.total_time_seconds,
        avg_time_seconds = excluded.avg_time_seconds, avg_confidence = excluded.avg_confidence,
        hints_used = excluded.hints_used, solutions_viewed = excluded.solutions_viewed,
        sessions_started = excluded.sessions_started, sessions_completed = excluded.sessions_completed,
        skills_practiced = excluded.skills_practiced, mastery_gained = excluded.mastery_gained,
        updated_at = excluded.updated_at;
  get diagnostics v_daily = row_count;

  -- weekly_user_stats ------------------------------------------------------------------------
  with answers as (
    select sq.user_id, count(*) as answered, count(*) filter (where sq.is_correct) as correct,
           coalesce(sum(sq.time_spent_seconds), 0) as total_time,
           count(distinct (sq.answered_at at time zone 'UTC')::date) as active_days
    from public.session_questions sq
    where sq.answered_at >= v_week_from and sq.answered_at < v_week_to
      and (v_lo is null or sq.user_id > v_lo) and (v_hi is null or sq.user_id <= v_hi)
      and (v_users is null or sq.user_id = any (v_users))
    group by sq.user_id
  ),
  previous as (
    select sq.user_id, avg(case when sq.is_correct then 1.0 else 0.0 end)::double precision as accuracy
    from public.session_questions sq
    where sq.answered_at >= v_week_from - interval '7 days' and sq.answered_at < v_week_from
      and (v_lo is null or sq.user_id > v_lo) and (v_hi is null or sq.user_id <= v_hi)
      and (v_users is null or sq.user_id = any (v_users))
    group by sq.user_id
  ),
  skills as (
    select sq.user_id, count(distinct qs.skill_id) as n
    from public.session_questions sq
    join public.question_skills qs on qs.question_id = sq.question_id
    where sq.answered_at >= v_week_from and sq.answered_at < v_week_to
      and (v_lo is null or sq.user_id > v_lo) and (v_hi is null or sq.user_id <= v_hi)
      and (v_users is null or sq.user_id = any (v_users))
    group by sq.user_id
  ),
  completed as (
    select s.user_id, count(*) as n from public.practice_sessions s
    where s.status = 'completed' and s.ended_at >= v_week_from and s.ended_at < v_week_to
      and (v_lo is null or s.user_id > v_lo) and (v_hi is null or s.user_id <= v_hi)
      and (v_users is null or s.user_id = any (v_users))
    group by s.user_id
  ),
  gained as (
    select h.user_id, coalesce(sum(h.delta), 0) as g from public.mastery_history h
    where h.created_at >= v_week_from and h.created_at < v_week_to and h.trigger_type <> 'decay'
      and (v_lo is null or h.user_id > v_lo) and (v_hi is null or h.user_id <= v_hi)
      and (v_users is null or h.user_id = any (v_users))
    group by h.user_id
  )
  insert into public.weekly_user_stats as w (
    user_id, week_start, questions_answered, correct_answers, accuracy, accuracy_change,
    total_time_seconds, active_days, sessions_completed, skills_practiced, mastery_gained, updated_at)
  select a.user_id, v_week, a.answered, a.correct, a.correct::double precision / a.answered,
         100.0 * (a.correct::double precision / a.answered - p.accuracy),
         a.total_time, a.active_days, coalesce(c.n, 0), coalesce(sk.n, 0), coalesce(g.g, 0), now()
  from answers a
  left join previous p on p.user_id = a.user_id
  left join skills sk on sk.user_id = a.user_id
  left join completed c on c.user_id = a.user_id
  left join gained g on g.user_id = a.user_id
  on conflict (user_id, week_start) do update
    set questions_answered = excluded.questions_answered, correct_answers = excluded.correct_answers,
        accuracy = excluded.accuracy, accuracy_change = excluded.accuracy_change,
        total_time_seconds = excluded.total_time_seconds, active_days = excluded.active_days,
        sessions_completed = excluded.sessions_completed, skills_practiced = excluded.skills_practiced,
        mastery_gained = excluded.mastery_gained, updated_at = excluded.updated_at;
  get diagnostics v_weekly = row_count;

  -- topic_daily_stats ------------------------------------------------------------------------
  with answer_topics as (
    select distinct sq.id, sq.user_id, sk.topic_id, sq.is_correct, sq.time_spent_seconds
    from public.session_questions sq
    join public.question_skills qs on qs.question_id = sq.question_id
    join public.skills sk on sk.id = qs.skill_id
    where sq.answered_at >= v_from and sq.answered_at < v_to
      and (v_lo is null or sq.user_id > v_lo) and (v_hi is null or sq.user_id <= v_hi)
  ),
  per_topic as (
    select at.user_id, at.topic_id, count(*) as answered, count(*) filter (where at.is_correct) as correct,
           avg(at.time_spent_seconds) as avg_time
    from answer_topics at
    group by at.user_id, at.topic_id
  ),
  topic_mastery as (
    select m.user_id, sk.topic_id, avg(m.effective_mastery) as avg_mastery
    from public.user_skill_mastery m
    join public.skills sk on sk.id = m.skill_id
    where (v_lo is null or m.user_id > v_lo) and (v_hi is null or m.user_id <= v_hi)
      and exists (select 1 from per_topic pt where pt.user_id = m.user_id and pt.topic_id = sk.topic_id)
    group by m.user_id, sk.topic_id
  )
  insert into public.topic_daily_stats as t (
    user_id, topic_id, stat_date, questions_answered, correct_answers, accuracy, avg_time_seconds,
    avg_mastery, updated_at)
  select pt.user_id, pt.topic_id, p_run_date, pt.answered, pt.correct,
         pt.correct::double precision / pt.answered, pt.avg_time, tm.avg_mastery, now()
  from per_topic pt
  left join topic_mastery tm on tm.user_id = pt.user_id and tm.topic_id = pt.topic_id
  on conflict (user_id, stat_date, topic_id) do update
    set questions_answered = excluded.questions_answered, correct_answers = excluded.correct_answers,
        accuracy = excluded.accuracy, avg_time_seconds = excluded.avg_time_seconds,
        avg_mastery = excluded.avg_mastery, updated_at = excluded.updated_at;
  get diagnostics v_topic = row_count;

  -- user_learning_metrics (as of the end of p_run_date) --------------------------------------
  with answers as (
    select sq.user_id, sq.answered_at, sq.is_correct, coalesce(sq.time_spent_seconds, 0) as t,
           (sq.answered_at at time zone 'UTC')::date as day
    from public.session_questions sq
    where sq.answered_at is not null and sq.answered_at < v_to
      and (v_lo is null or sq.user_id > v_lo) and (v_hi is null or sq.user_id <= v_hi)
      and (v_users is null or sq.user_id = any (v_users))
  ),
  rolling as (
    select a.user_id,
      count(*) filter (where a.answered_at >= v_to - interval '30 days') as q30,
      count(*) filter (where a.answered_at >= v_to - interval '30 days' and a.is_correct) as c30,
      coalesce(sum(a.t) filter (where a.answered_at >= v_to - interval '30 days'), 0) as t30,
      count(distinct a.day) filter (where a.answered_at >= v_to - interval '30 days') as d30,
      count(*) filter (where a.answered_at >= v_to - interval '90 days') as q90,
      count(*) filter (where a.answered_at >= v_to - interval '90 days' and a.is_correct) as c90,
      count(distinct a.day) filter (where a.answered_at >= v_to - interval '90 days') as d90,
      count(*) as q_all, count(*) filter (where a.is_correct) as c_all, sum(a.t) as t_all,
      min(a.answered_at) as first_at, max(a.answered_at) as last_at
    from answers a
    group by a.user_id
  ),
  islands as (            -- gaps-and-islands over active days
    select d.user_id, d.day, d.day - (row_number() over (partition by d.user_id order by d.day))::integer as grp
    from (select distinct a.user_id, a.day from answers a) d
  ),
  streaks as (
    select distinct on (i.user_id) i.user_id, max(i.day) as last_day, count(*) as len
    from islands i
    group by i.user_id, i.grp
    order by i.user_id, max(i.day) desc
  ),
  sessions as (
    select s.user_id, count(*) as n from public.practice_sessions s
    where s.status = 'completed' and s.ended_at < v_to
      and (v_lo is null or s.user_id > v_lo) and (v_hi is null or s.user_id <= v_hi)
      and (v_users is null or s.user_id = any (v_users))
    group by s.user_id
  ),
  mastery as (
    select m.user_id, avg(m.effective_mastery) as avg_mastery,
           count(*) filter (where m.total_attempts > 0) as practiced,
           count(*) filter (where m.total_attempts > 0 and m.effective_mastery >= 0.8) as mastered,
           count(*) filter (where m.total_attempts > 0 and m.effective_mastery < 0.4) as weak
    from public.user_skill_mastery m
    where (v_lo is null or m.user_id > v_lo) and (v_hi is null or m.user_id <= v_hi)
      and (v_users is null or m.user_id = any (v_users))
    group by m.user_id
  )
  insert into public.user_learning_metrics as u (
    user_id, as_of_date, questions_30d, correct_30d, accuracy_30d, time_30d_seconds, active_days_30d,
    questions_90d, correct_90d, accuracy_90d, active_days_90d, questions_all_time, correct_all_time,
    accuracy_all_time, time_all_time_seconds, sessions_completed_all_time, first_activity_at,
    last_activity_at, avg_mastery, skills_practiced, skills_mastered, skills_weak,
    current_streak_days, updated_at)
  select r.user_id, p_run_date, r.q30, r.c30, r.c30::double precision / nullif(r.q30, 0), r.t30, r.d30,
         r.q90, r.c90, r.c90::double precision / nullif(r.q90, 0), r.d90, r.q_all, r.c_all,
         r.c_all::double precision / r.q_all, r.t_all, coalesce(s.n, 0), r.first_at, r.last_at,
         m.avg_mastery, coalesce(m.practiced, 0), coalesce(m.mastered, 0), coalesce(m.weak, 0),
         case when st.last_day >= p_run_date - 1 then st.len else 0 end, now()
  from rolling r
  left join streaks st on st.user_id = r.user_id
  left join sessions s on s.user_id = r.user_id
  left join mastery m on m.user_id = r.user_id
  on conflict (user_id) do update
    set as_of_date = excluded.as_of_date, questions_30d = excluded.questions_30d,
        correct_30d = excluded.correct_30d, accuracy_30d = excluded.accuracy_30d,
        time_30d_seconds = excluded.time_30d_seconds, active_days_30d = excluded.active_days_30d,
        questions_90d = excluded.questions_90d, correct_90d = excluded.correct_90d,
        accuracy_90d = excluded.accuracy_90d, active_days_90d = excluded.active_days_90d,
        questions_all_time = excluded.questions_all_time, correct_all_time = excluded.correct_all_time,
        accuracy_all_time = excluded.accuracy_all_time, time_all_time_seconds = excluded.time_all_time_seconds,
        sessions_completed_all_time = excluded.sessions_completed_all_time,
        first_activity_at = excluded.first_activity_at, last_activity_at = excluded.last_activity_at,
        avg_mastery = excluded.avg_mastery, skills_practiced = excluded.skills_practiced,
        skills_mastered = excluded.skills_mastered, skills_weak = excluded.skills_weak,
        current_streak_days = excluded.current_streak_days, updated_at = excluded.updated_at
    -- an unchanged row is not rewritten (no dead tuple, no WAL): most recomputed learners only decayed
    where (u.as_of_date, u.questions_30d, u.correct_30d, u.accuracy_30d, u.time_30d_seconds, u.active_days_30d,
           u.questions_90d, u.correct_90d, u.accuracy_90d, u.active_days_90d, u.questions_all_time,
           u.correct_all_time, u.accuracy_all_time, u.time_all_time_seconds, u.sessions_completed_all_time,
           u.first_activity_at, u.last_activity_at, u.avg_mastery, u.skills_practiced, u.skills_mastered,
           u.skills_weak, u.current_streak_days)
          is distinct from
          (excluded.as_of_date, excluded.questions_30d, excluded.correct_30d, excluded.accuracy_30d,
           excluded.time_30d_seconds, excluded.active_days_30d, excluded.questions_90d, excluded.correct_90d,
           excluded.accuracy_90d, excluded.active_days_90d, excluded.questions_all_time, excluded.correct_all_time,
           excluded.accuracy_all_time, excluded.time_all_time_seconds, excluded.sessions_completed_all_time,
           excluded.first_activity_at, excluded.last_activity_at, excluded.avg_mastery, excluded.skills_practiced,
           excluded.skills_mastered, excluded.skills_weak, excluded.current_streak_days);
  get diagnostics v_metrics = row_count;

  -- knowledge_gaps: the formula lives in private.knowledge_gap_scores (one definition with learner/gaps.py).
  insert into public.knowledge_gaps as g (
    user_id, skill_id, gap_score, priority_score, severity, recent_failure_rate, prerequisite_impact,
    status, detected_at, resolved_at, updated_at)
  select sc.user_id, sc.skill_id, sc.gap, sc.priority, sc.severity, sc.failure_rate, sc.impact,
         'open', now(), null, now()
  from private.knowledge_gap_scores(v_users, v_to, v_lo, v_hi) sc
  on conflict (user_id, skill_id) do update
    set gap_score = excluded.gap_score, priority_score = excluded.priority_score,
        severity = excluded.severity, recent_failure_rate = excluded.recent_failure_rate,
        prerequisite_impact = excluded.prerequisite_impact, status = 'open',
        detected_at = case when g.status = 'resolved' then excluded.detected_at else g.detected_at end,
        resolved_at = null, updated_at = excluded.updated_at
    where (g.gap_score, g.priority_score, g.severity, g.recent_failure_rate, g.prerequisite_impact, g.status)
          is distinct from
          (excluded.gap_score, excluded.priority_score, excluded.severity, excluded.recent_failure_rate,
           excluded.prerequisite_impact, 'open');
  get diagnostics v_gaps_open = row_count;

  update public.knowledge_gaps g
     set status = 'resolved', resolved_at = now(), updated_at = now()
    from public.user_skill_mastery m
   where g.status = 'open' and m.user_id = g.user_id and m.skill_id = g.skill_id
     and m.effective_mastery >= 0.6
     and (v_lo is null or g.user_id > v_lo) and (v_hi is null or g.user_id <= v_hi)
     and (v_users is null or g.user_id = any (v_users));
  get diagnostics v_gaps_resolved = row_count;

  return jsonb_build_object(
    'daily_user_stats', v_daily, 'weekly_user_stats', v_weekly, 'topic_daily_stats', v_topic,
    'user_learning_metrics', v_metrics, 'knowledge_gaps_open', v_gaps_open,
    'knowledge_gaps_resolved', v_gaps_resolved,
    'learners_recomputed', coalesce(cardinality(v_users),
                                    (select count(*) from public.user_learning_metrics u
                                     where (v_lo is null or u.user_id > v_lo) and (v_hi is null or u.user_id <= v_hi))),
    'incremental', (v_users is not null)::integer,
    'last_user_id', v_hi,
    'done', v_hi is null);
end;
$$;

-- Every learner in one transaction: the slices in order, their counts added up ("incremental" is 1 when every
-- slice was). For SQL callers (tests, an operator's backfill); the nightly job calls the slices itself.
create or replace function public.refresh_aggregates(p_run_date date)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_slice jsonb;
  v_after uuid;
  v_total jsonb := '{}'::jsonb;
  v_key text;
  v_incremental integer := 1;
begin
  loop
    v_slice := public.refresh_aggregates_slice(p_run_date, v_after, 5000);
    for v_key in select k from jsonb_object_keys(v_slice) k
                 where k not in ('incremental', 'last_user_id', 'done') loop
      v_total := v_total || jsonb_build_object(
        v_key, coalesce((v_total ->> v_key)::bigint, 0) + (v_slice ->> v_key)::bigint);
    end loop;
    v_incremental := least(v_incremental, (v_slice ->> 'incremental')::integer);
    exit when (v_slice ->> 'done')::boolean;
    v_after := (v_slice ->> 'last_user_id')::uuid;
  end loop;
  return v_total || jsonb_build_object('incremental', v_incremental);
end;
$$;

revoke execute on function public.refresh_aggregates_slice(date, uuid, integer) from public, anon, authenticated;
grant execute on function public.refresh_aggregates_slice(date, uuid, integer) to service_role;

-- A step resumed from its saved progress keeps the start of the attempt that began it: tomorrow's incremental
-- aggregates take "changes since this run's start", and the slices done before a failure read the data as of
-- that first attempt, not of the retry (a learner who changed in between would otherwise be missed).
create or replace function public.begin_maintenance_step(p_run_date date, p_step text)
returns jsonb
language sql
security invoker
set search_path = ''
as $$
  insert into public.maintenance_runs as mr (run_date, step)
  values (p_run_date, p_step)
  on conflict (run_date, step) do update
    set status = case when mr.status = 'done' then 'done' else 'running' end,
        runs = mr.runs + (mr.status <> 'done')::integer,
        started_at = case when mr.status = 'done' or mr.progress is not null then mr.started_at else now() end,
        error_code = case when mr.status = 'done' then mr.error_code end,
        error_message = case when mr.status = 'done' then mr.error_message end
  returning to_jsonb(mr.*)
$$;
