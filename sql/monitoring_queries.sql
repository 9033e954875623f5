-- ============================================================================================
-- Smart Practice — monitoring and analysis queries
-- Run as `postgres` (e.g. in the Supabase SQL editor; it bypasses RLS). Every block starts with a
-- marker line "-- name: <query_name>" followed by comments and ONE read-only statement; the test
-- suite runs each block separately (tests/sql/test_monitoring_queries.py,
-- supabase/tests/090_monitoring_queries_test.sql, generated from this file).
-- Times are UTC. Queries about "one learner" use the session setting monitoring.user_id when set
-- (`set monitoring.user_id = '<uuid>';` first), else the learner with the most answers.
-- ============================================================================================


-- name: user_progress
-- Seed 000 "See User Progress": skills tracked, average mastery and latest predicted score per user.
-- Adapted: users → auth.users, mastery_probability → effective_mastery (BKT × forgetting); the
-- seed's MAX(predicted_sat_math) over a double LEFT JOIN (which multiplied rows) became the latest
-- snapshot via LATERAL.
select u.id as user_id,
       u.email,
       count(usm.skill_id) as skills_tracked,
       round(avg(usm.effective_mastery)::numeric, 3) as avg_mastery,
       latest.predicted_score as latest_predicted_score,
       latest.predicted_score_low,
       latest.predicted_score_high,
       latest.created_at as latest_snapshot_at
from auth.users u
left join public.user_skill_mastery usm on usm.user_id = u.id
left join lateral (
  select s.predicted_score, s.predicted_score_low, s.predicted_score_high, s.created_at
  from public.user_performance_snapshots s
  where s.user_id = u.id
  order by s.created_at desc
  limit 1
) latest on true
group by u.id, u.email, latest.predicted_score, latest.predicted_score_low, latest.predicted_score_high,
         latest.created_at
order by avg_mastery desc nulls last, u.email;


-- name: learning_over_time
-- Seed 000 "Track Learning Over Time": the mastery curve of one learner, per skill.
-- Adapted: learning_events(mastery_after, skill_id) → mastery_history, which the trigger writes for
-- every mastery change (answers and decay); velocity comes from the current mastery row.
with focus_user as (
  select coalesce(
    nullif(current_setting('monitoring.user_id', true), '')::uuid,
    (select sq.user_id from public.session_questions sq
     where sq.answered_at is not null
     group by sq.user_id
     order by count(*) desc, sq.user_id
     limit 1)) as user_id
)
select h.user_id,
       h.created_at,
       s.name as skill,
       h.trigger_type,
       round(h.mastery_before::numeric, 4) as mastery_before,
       round(h.mastery_after::numeric, 4) as mastery_after,
       round(h.delta::numeric, 4) as delta,
       round(usm.learning_velocity::numeric, 4) as velocity
from public.mastery_history h
join focus_user f on f.user_id = h.user_id
join public.skills s on s.id = h.skill_id
join public.user_skill_mastery usm on usm.user_id = h.user_id and usm.skill_id = h.skill_id
order by h.created_at, h.id;


-- name: confidence_analysis
-- Seed 000 "Analyze Confidence": accuracy and time per self-rated confidence (1–5, default 3).
-- Adapted: only answered rows (served-but-unanswered rows carry the default confidence).
select sq.confidence_score,
       count(*) as total,
       round(avg(sq.time_spent_seconds)::numeric, 1) as avg_time_seconds,
       round(100.0 * count(*) filter (where sq.is_correct) / count(*), 2) as accuracy_pct
from public.session_questions sq
where sq.answered_at is not null
group by sq.confidence_score
order by sq.confidence_score;


-- name: weekly_progress_trend
-- Seed 004 "Performance trend analysis": weekly accuracy over 12 weeks, week-over-week change and a
-- progress category. Adapted: user_test_attempts.percentage → weekly accuracy (%) of answers.
with performance_trends as (
  select sq.user_id,
         date_trunc('week', sq.answered_at) as week,
         100.0 * avg(case when sq.is_correct then 1.0 else 0.0 end) as weekly_avg_score,
         count(*) as questions_answered,
         avg(sq.time_spent_seconds) as avg_time_seconds
  from public.session_questions sq
  where sq.answered_at >= now() - interval '12 weeks'
  group by sq.user_id, date_trunc('week', sq.answered_at)
),
trend_analysis as (
  select user_id, week, weekly_avg_score,
         lag(weekly_avg_score) over (partition by user_id order by week) as prev_week_score,
         weekly_avg_score - lag(weekly_avg_score) over (partition by user_id order by week) as score_change
  from performance_trends
)
select user_id,
       round(avg(score_change)::numeric, 2) as avg_weekly_improvement,
       round(stddev(score_change)::numeric, 2) as improvement_consistency,
       case when avg(score_change) > 2 then 'Rapid Improvement'
            when avg(score_change) > 0.5 then 'Steady Progress'
            when avg(score_change) > -0.5 then 'Stable Performance'
            else 'Needs Attention' end as progress_category
from trend_analysis
where score_change is not null
group by user_id
order by avg_weekly_improvement desc;


-- name: topic_mastery_levels
-- Seed 004 "Topic mastery analysis": per learner × topic over 30 days, accuracy, time and a mastery
-- level. Adapted: attempts/answers → session_questions; questions.topic_id is the primary topic;
-- adds the model's current mean effective mastery for the topic next to the accuracy rule.
with topic_performance as (
  select sq.user_id,
         t.id as topic_id,
         t.name as topic_name,
         count(*) as questions_attempted,
         avg(case when sq.is_correct then 1.0 else 0.0 end) as accuracy,
         avg(sq.time_spent_seconds) as avg_time,
         min(sq.answered_at) as first_attempt,
         max(sq.answered_at) as latest_attempt
  from public.session_questions sq
  join public.questions q on q.id = sq.question_id
  join public.topics t on t.id = q.topic_id
  where sq.answered_at >= now() - interval '30 days'
  group by sq.user_id, t.id, t.name
)
select tp.user_id,
       tp.topic_name,
       tp.questions_attempted,
       round(tp.accuracy * 100, 2) as accuracy_percentage,
       round(tp.avg_time::numeric, 1) as avg_time_seconds,
       case when tp.accuracy >= 0.8 and tp.questions_attempted >= 10 then 'Mastered'
            when tp.accuracy >= 0.6 and tp.questions_attempted >= 5 then 'Proficient'
            when tp.accuracy >= 0.4 then 'Developing'
            else 'Needs Focus' end as mastery_level,
       (select round(avg(usm.effective_mastery)::numeric, 3)
        from public.user_skill_mastery usm
        join public.skills s on s.id = usm.skill_id
        where usm.user_id = tp.user_id and s.topic_id = tp.topic_id) as model_mastery,
       tp.latest_attempt - tp.first_attempt as learning_duration
from topic_performance tp
order by tp.user_id, tp.accuracy desc;


-- name: learner_rankings
-- Seed 004 "calculate_dynamic_rankings": 30-day ranking by accuracy, consistency and activity.
-- Adapted: tests → practice sessions (accuracy per session), exam category → whole bank; learners
-- need >= 5 answered questions in the window (the seed required 5 tests). Analyst-only: names are
-- not shown to learners (they get the noised nightly percentiles from cohort_mastery_distribution).
with session_scores as (
  select sq.user_id, sq.session_id,
         100.0 * avg(case when sq.is_correct then 1.0 else 0.0 end) as percentage,
         count(*) as answered,
         max(sq.answered_at) as last_answer
  from public.session_questions sq
  where sq.answered_at >= now() - interval '30 days'
  group by sq.user_id, sq.session_id
),
user_scores as (
  select ss.user_id,
         u.email,
         avg(ss.percentage) as avg_score,
         count(*) as sessions,
         sum(ss.answered) as questions_answered,
         max(ss.last_answer) as last_active,
         coalesce(stddev(ss.percentage), 0) as score_consistency
  from session_scores ss
  join auth.users u on u.id = ss.user_id
  group by ss.user_id, u.email
  having sum(ss.answered) >= 5
)
select us.*,
       row_number() over (order by us.avg_score desc, us.user_id) as overall_rank,
       row_number() over (order by us.score_consistency asc, us.user_id) as consistency_rank,
       row_number() over (order by us.questions_answered desc, us.user_id) as activity_rank
from user_scores us
order by overall_rank;


-- name: knowledge_gap_priorities
-- Seed 002 §4 "Knowledge Gap Detection": open gaps by priority with the topic's exam weight and how
-- many skills list the gap as a prerequisite (filled nightly by refresh_aggregates).
select g.user_id,
       s.name as skill,
       t.name as topic,
       g.severity,
       round(g.priority_score::numeric, 2) as priority_score,
       round(g.gap_score::numeric, 3) as gap_score,
       round(g.recent_failure_rate::numeric, 3) as recent_failure_rate,
       t.exam_weight,
       (select count(*) from public.skill_prerequisites sp where sp.prerequisite_skill_id = g.skill_id) as dependants,
       g.detected_at
from public.knowledge_gaps g
join public.skills s on s.id = g.skill_id
join public.topics t on t.id = s.topic_id
where g.status = 'open'
order by g.priority_score desc, g.user_id, s.name;


-- name: exam_readiness
-- Seed 002 §5 "Exam Readiness": latest predicted score and interval per learner, with the rolling
-- accuracy and skill coverage from user_learning_metrics.
select distinct on (s.user_id)
       s.user_id,
       s.created_at as predicted_at,
       s.snapshot_type,
       s.predicted_score,
       s.predicted_score_low,
       s.predicted_score_high,
       round(s.avg_mastery::numeric, 3) as avg_mastery,
       round(m.accuracy_30d::numeric, 3) as accuracy_30d,
       m.skills_practiced,
       m.skills_mastered,
       m.skills_weak
from public.user_performance_snapshots s
left join public.user_learning_metrics m on m.user_id = s.user_id
order by s.user_id, s.created_at desc;


-- name: study_time_of_day
-- Seed 002 §3 "Study Efficiency": accuracy and speed by hour of day (UTC) over the last 90 days.
select extract(hour from sq.answered_at at time zone 'UTC')::integer as hour_utc,
       count(*) as questions_answered,
       round(100.0 * count(*) filter (where sq.is_correct) / count(*), 2) as accuracy_pct,
       round(avg(sq.time_spent_seconds)::numeric, 1) as avg_time_seconds
from public.session_questions sq
where sq.answered_at >= now() - interval '90 days'
group by 1
order by 1;


-- name: reviews_due
-- Seed 002 §2 "Retrieval Strength": skills whose next review (fsrs `due`) has passed, per learner,
-- with stability (days) and how overdue they are.
select usm.user_id,
       s.name as skill,
       usm.due,
       round(extract(epoch from now() - usm.due)::numeric / 86400, 1) as days_overdue,
       round(usm.stability::numeric, 2) as stability_days,
       round(usm.p_mastery::numeric, 3) as p_mastery,
       round(usm.effective_mastery::numeric, 3) as effective_mastery
from public.user_skill_mastery usm
join public.skills s on s.id = usm.skill_id
where usm.due <= now()
order by usm.user_id, usm.due;


-- name: cohort_skill_struggle
-- Seed 002 §7 "Comparative Analytics": "X % of learners struggle with this skill", only for skills
-- practised by at least 10 learners. Analyst-only exact figures: learners get the nightly noised release
-- (cohort_mastery_distribution: k = 50, epsilon 1, 0.05 steps).
select s.name as skill,
       count(*) as learners,
       round(avg(usm.effective_mastery)::numeric, 3) as mean_mastery,
       round(100.0 * avg(case when usm.effective_mastery < 0.5 then 1.0 else 0.0 end), 1) as pct_struggling
from public.user_skill_mastery usm
join public.skills s on s.id = usm.skill_id
where usm.total_attempts > 0
group by s.id, s.name
having count(*) >= 10
order by pct_struggling desc;


-- name: question_difficulty_drift
-- Elo vs IRT vs observed: per answered question, the primary-skill Elo difficulty, the IRT b and the
-- observed accuracy; large disagreement flags a question for review or recalibration.
select q.id as question_id,
       q.external_ref,
       q.difficulty_label,
       qdp.times_seen,
       round(avg(qs.elo_difficulty)::numeric, 1) as mean_elo_difficulty,
       round(qdp.difficulty::numeric, 3) as irt_b,
       obs.answered,
       round(obs.accuracy::numeric, 3) as observed_accuracy
from public.questions q
join public.question_skills qs on qs.question_id = q.id
join public.question_difficulty_params qdp on qdp.question_id = q.id
join (
  select sq.question_id, count(*) as answered, avg(case when sq.is_correct then 1.0 else 0.0 end) as accuracy
  from public.session_questions sq
  where sq.answered_at is not null
  group by sq.question_id
) obs on obs.question_id = q.id
group by q.id, q.external_ref, q.difficulty_label, qdp.times_seen, qdp.difficulty, obs.answered, obs.accuracy
order by obs.answered desc, q.id;


-- name: health_attempts_per_hour
-- Health: answers per hour over the last 48 hours (a sudden drop means the answer path is failing).
select date_trunc('hour', sq.answered_at) as hour,
       count(*) as answers,
       count(distinct sq.user_id) as learners,
       round(100.0 * count(*) filter (where sq.is_correct) / count(*), 1) as accuracy_pct
from public.session_questions sq
where sq.answered_at >= now() - interval '48 hours'
group by 1
order by 1;


-- name: health_stale_mastery
-- Health: mastery rows the nightly decay has not refreshed — practised more than a day ago but not
-- updated for 36 hours (the decay job updates effective mastery whenever it changes).
select count(*) as mastery_rows,
       count(*) filter (where usm.last_practiced_at < now() - interval '1 day') as practised_over_a_day_ago,
       count(*) filter (where usm.last_practiced_at < now() - interval '1 day'
                          and usm.updated_at < now() - interval '36 hours') as stale_rows,
       min(usm.updated_at) as oldest_update
from public.user_skill_mastery usm;


-- name: health_snapshot_freshness
-- Health: newest daily snapshot, learners active yesterday without one, and completed sessions
-- without their session_complete snapshot (must be 0).
select (select max(s.snapshot_date) from public.user_performance_snapshots s where s.snapshot_type = 'daily')
         as latest_daily_snapshot,
       current_date - (select max(s.snapshot_date) from public.user_performance_snapshots s
                       where s.snapshot_type = 'daily') as days_since_daily_snapshot,
       (select count(distinct sq.user_id)
        from public.session_questions sq
        where sq.answered_at >= current_date - 1 and sq.answered_at < current_date
          and not exists (select 1 from public.user_performance_snapshots s
                          where s.user_id = sq.user_id and s.snapshot_type = 'daily'
                            and s.snapshot_date = current_date - 1)) as active_yesterday_without_snapshot,
       (select count(*) from public.practice_sessions ps
        where ps.status = 'completed'
          and not exists (select 1 from public.user_performance_snapshots s
                          where s.related_id = ps.id and s.snapshot_type = 'session_complete'))
         as completed_sessions_without_snapshot;


-- name: health_history_consistency
-- Health: the newest mastery_history row of every learner × skill must describe the current
-- mastery (written by the trigger in the same transaction). All three counts must be 0.
with latest as (
  select distinct on (h.user_id, h.skill_id) h.user_id, h.skill_id, h.mastery_after, h.p_mastery_after
  from public.mastery_history h
  order by h.user_id, h.skill_id, h.id desc
)
select count(*) as mastery_rows,
       count(*) filter (where l.user_id is null) as rows_without_history,
       count(*) filter (where l.mastery_after is distinct from usm.effective_mastery) as effective_mismatch,
       count(*) filter (where l.p_mastery_after is distinct from usm.p_mastery) as p_mastery_mismatch
from public.user_skill_mastery usm
left join latest l on l.user_id = usm.user_id and l.skill_id = usm.skill_id;


-- name: health_partitions
-- Health: learning_events has monthly partitions and deliberately no default one, so an insert into a month
-- without a partition fails (and with it every session start and answer). Migrations create 12 months ahead
-- and every nightly run extends them; `alert` is true when this month is missing or fewer than 3 of the
-- following months exist.
with partitions as (
  select c.relname,
         (substring(pg_get_expr(c.relpartbound, c.oid) from 'FROM \(''([^'']+)''\)')::timestamptz at time zone 'UTC')::date
           as month_start
  from pg_inherits i
  join pg_class c on c.oid = i.inhrelid
  where i.inhparent = 'public.learning_events'::regclass
),
months as (
  select g as months_ahead,
         (date_trunc('month', now() at time zone 'UTC') + make_interval(months => g))::date as month_start
  from generate_series(0, 24) as g
),
coverage as (
  select m.months_ahead, p.relname is not null as present
  from months m
  left join partitions p using (month_start)
)
select bool_or(c.present) filter (where c.months_ahead = 0) as current_month_present,
       -- consecutive months after this one that have their partition
       coalesce((select min(c2.months_ahead) - 1 from coverage c2 where c2.months_ahead > 0 and not c2.present),
                24) as future_months_ready,
       (select max(p.month_start) from partitions p) as last_partition_month,
       not bool_or(c.present) filter (where c.months_ahead = 0)
         or coalesce((select min(c2.months_ahead) - 1 from coverage c2 where c2.months_ahead > 0 and not c2.present),
                     24) < 3 as alert
from coverage c;


-- name: health_error_conflict_counts
-- Health: database-level failures since the statistics reset (rolled-back transactions include
-- retryable mastery_version_conflict errors and rejected RPC calls), deadlocks, sessions left
-- active for over a day, and maintenance steps recorded today.
select d.xact_commit,
       d.xact_rollback,
       round(100.0 * d.xact_rollback / nullif(d.xact_commit + d.xact_rollback, 0), 3) as rollback_pct,
       d.deadlocks,
       d.conflicts,
       d.stats_reset,
       (select count(*) from public.practice_sessions ps
        where ps.status = 'active' and ps.last_activity_at < now() - interval '1 day') as sessions_active_over_a_day,
       (select count(*) from public.maintenance_runs mr where mr.run_date = current_date) as maintenance_steps_today
from pg_stat_database d
where d.datname = current_database();


-- name: health_maintenance_runs
-- Health: the last run of every maintenance step, its counts and how often it was re-applied.
select distinct on (mr.step)
       mr.step, mr.run_date, mr.runs, mr.finished_at, mr.counts
from public.maintenance_runs mr
order by mr.step, mr.run_date desc;


-- name: health_event_volume
-- Health: learning_events per day and type over the last 7 days (scans only recent partitions).
select date_trunc('day', le.created_at) as day,
       le.event_type,
       count(*) as events,
       count(distinct le.user_id) as learners
from public.learning_events le
where le.created_at >= now() - interval '7 days'
group by 1, 2
order by 1, 2;


-- name: query_latency
-- Latency: the 20 statements with the most database time since the statistics were last reset
-- (pg_stat_statements; `select extensions.pg_stat_statements_reset();` starts a new window): calls, total,
-- mean, max and standard deviation (ms), rows, and their share of all database time. Through the API every
-- request is one top-level statement. `supabase inspect db outliers --db-url ...` shows a similar list.
select s.queryid,
       left(regexp_replace(s.query, '\s+', ' ', 'g'), 160) as query,
       s.calls,
       round(s.total_exec_time::numeric, 1) as total_ms,
       round(s.mean_exec_time::numeric, 3) as mean_ms,
       round(s.max_exec_time::numeric, 3) as max_ms,
       round(s.stddev_exec_time::numeric, 3) as stddev_ms,
       s.rows,
       round((100 * s.total_exec_time / nullif(sum(s.total_exec_time) over (), 0))::numeric, 2) as share_pct
from extensions.pg_stat_statements s
where s.dbid = (select d.oid from pg_database d where d.datname = current_database())
order by s.total_exec_time desc
limit 20;


-- name: slowest_rpcs
-- Latency: database time per RPC (view monitoring.slowest_rpcs: pg_stat_statements grouped by the function
-- PostgREST calls), slowest per call first, with calls, total/mean/max ms, rows per call, share of database
-- time and cache hit %. Compare with function_latency to see how much of a request the database takes.
select r.rpc, r.calls, r.total_ms, r.mean_ms, r.max_ms, r.rows_per_call, r.share_of_database_time_pct,
       r.cache_hit_pct
from monitoring.slowest_rpcs r;


-- name: function_latency
-- Latency and error rate of each cloud function over the last 24 hours, from the functions' request log
-- (public.function_request_stats: every instance sends its counts about once a minute): requests, client
-- errors (4xx, the caller's), server errors (5xx; 503 `unavailable` counted apart too), error rate (5xx as %
-- of requests), mean, p50/p95/p99 (the latency bucket they fall in, "at most", ms) and max.
select f.function_name, f.requests, f.client_errors, f.server_errors, f.unavailable, f.error_rate_pct,
       f.mean_ms, f.p50_ms, f.p95_ms, f.p99_ms, f.max_ms
from monitoring.function_request_report(now() - interval '24 hours', now(), 'all') f
order by f.requests desc;


-- name: function_error_codes
-- Error rate by cause: each function's outcomes over the last 24 hours by HTTP status and error code (the
-- `code` of the error body), with their share of the function's requests.
select s.function_name,
       s.status,
       nullif(s.error_code, '') as error_code,
       sum(s.requests) as requests,
       round(100.0 * sum(s.requests) / sum(sum(s.requests)) over (partition by s.function_name), 2)
         as pct_of_function
from public.function_request_stats s
where s.minute >= now() - interval '24 hours'
group by s.function_name, s.status, s.error_code
order by s.function_name, requests desc, s.status;


-- name: health_function_errors
-- Health: the last hour of every cloud function: `alert` when more than 1 % of its requests failed on our
-- side (5xx) or, for the learner-facing functions, p95 exceeds 1,000 ms (run_maintenance is long by design).
select f.function_name, f.requests, f.server_errors, f.error_rate_pct, f.p95_ms,
       f.error_rate_pct > 1 or (f.function_name <> 'run_maintenance' and f.p95_ms > 1000) as alert
from monitoring.function_request_report(now() - interval '1 hour', now(), 'all') f
order by f.function_name;
