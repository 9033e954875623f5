-- Actor: service role (scheduled maintenance). Decay (versioned, idempotent, 'decay' history),
-- daily snapshots, aggregates and knowledge gaps, BKT/IRT parameter upserts, retention and
-- partition creation, maintenance_runs bookkeeping.
begin;

create temp table fx as select tests.create_user('maint.a@test.local') as a;
do $$ begin perform tests.simulate_learner((select a from fx), 6); end $$;
-- every skill reviewed exactly 10 days before the decay's as-of moment with stability 10: R = 0.9
update public.user_skill_mastery
   set stability = 10, difficulty = 5, last_review = '2000-01-04T00:00:00Z'::timestamptz - interval '10 days'
 where user_id = (select a from fx);
create temp table decay_rows as
  select m.user_id, m.skill_id, m.version as expected_version, m.p_mastery * 0.9 as effective_mastery,
         m.effective_mastery as before
  from public.user_skill_mastery m where m.user_id = (select a from fx);
create temp table practised as   -- skills and topics of the 6 questions answered
  select distinct qs.skill_id, s.topic_id
  from public.session_questions sq
  join public.question_skills qs on qs.question_id = sq.question_id
  join public.skills s on s.id = qs.skill_id
  where sq.user_id = (select a from fx);
create temp table state (k text primary key, v jsonb);
insert into state select 'q1_times_seen', to_jsonb(times_seen) from public.question_difficulty_params where question_id = 1;
grant select on fx, decay_rows, practised to service_role;
grant select, insert on state to service_role;

select plan(50);

select tests.authenticate_as_service_role();

-- apply_decay ----------------------------------------------------------------------------------
-- fsrs constants: decay −0.5, factor = 0.9^(1/decay) − 1, so R(t = S) = 0.9. The call walks every
-- learner in the cluster (p_max_users covers them all), so only learner a's rows are asserted.
create temp table curve as select -0.5::double precision as decay, power(0.9, -2.0) - 1 as factor;
grant select on curve to service_role;
select cmp_ok((public.apply_decay('2000-01-04T00:00:00Z', c.decay, c.factor, 1e-6, null, 1000000)
               ->> 'rows_changed')::integer, '>=', (select count(*)::integer from decay_rows),
              'apply_decay changes at least learner a''s rows') from curve c;
select results_eq(
  format('select skill_id, round(effective_mastery::numeric, 12), p_mastery, version from public.user_skill_mastery where user_id = %L order by skill_id',
         (select a from fx)),
  'select skill_id, round(effective_mastery::numeric, 12), before, expected_version + 1 from decay_rows order by skill_id',
  'effective mastery = p_mastery × R with R(S) = 0.9, BKT p_mastery untouched, version + 1');
select results_eq(
  format($$select skill_id, session_id, round(mastery_before::numeric, 12), round(mastery_after::numeric, 12),
                  round(delta::numeric, 12) from public.mastery_history
           where user_id = %L and trigger_type = 'decay' order by skill_id$$, (select a from fx)),
  $$select skill_id, null::uuid, round(before::numeric, 12), round(effective_mastery::numeric, 12),
           round((effective_mastery - before)::numeric, 12) from decay_rows order by skill_id$$,
  'one decay history row per changed skill with the exact delta');
select is(public.apply_decay('2000-01-04T00:00:00Z', c.decay, c.factor, 1e-6, null, 1000000)
          ->> 'rows_changed', '0', 're-running the same decay changes nothing') from curve c;
select is(public.apply_decay('2000-01-04T12:00:00Z', c.decay, c.factor, 1e-6, null, 1000000)
          ->> 'rows_changed', '0', 'half a day later is the same whole day: nothing changes') from curve c;
select is((public.apply_decay('2000-01-04T00:00:00Z', c.decay, c.factor, 1e-6, null, 1)
           - 'last_user_id' - 'rows_changed' - 'rows_scanned'), '{"users": 1}'::jsonb,
          'p_max_users bounds the slice of learners') from curve c;
select throws_ok($$select public.apply_decay(now(), 0.5, 0.2)$$, 'PT400', 'invalid_payload',
                 'a non-negative decay exponent is refused');
select is(tests.row_count('mastery_history', format('user_id = %L and trigger_type = %L', (select a from fx), 'decay')),
          (select count(*) from decay_rows), 'no history rows for unchanged rows');
select is_empty($$select step from public.maintenance_runs where run_date = '2000-01-03'$$,
                'data RPCs leave step bookkeeping to the caller (decay arrives in batches)');
select is(public.begin_maintenance_step('2000-01-03', 'decay') ->> 'status', 'running',
          'begin_maintenance_step records a running step for a date');
select lives_ok($$select public.save_maintenance_progress('2000-01-03', 'decay', '{"after_user": "x"}')$$,
                'a running step saves its resume point');
select is(public.finish_maintenance_step('2000-01-03', 'decay', 'failed', '{}', 1.5, 'statement_timeout', 'boom')
            - 'started_at' - 'finished_at',
          $${"run_date": "2000-01-03", "step": "decay", "status": "failed", "counts": {}, "runs": 1, "seconds": 1.5,
             "progress": {"after_user": "x"}, "error_code": "statement_timeout", "error_message": "boom"}$$::jsonb,
          'a failed step keeps its resume point and says why');
update public.maintenance_runs set started_at = '2000-01-04T01:00:00Z' where run_date = '2000-01-03';
select is(public.begin_maintenance_step('2000-01-03', 'decay') - 'started_at' - 'finished_at',
          $${"run_date": "2000-01-03", "step": "decay", "status": "running", "counts": {}, "runs": 2, "seconds": 1.5,
             "progress": {"after_user": "x"}, "error_code": null, "error_message": null}$$::jsonb,
          'beginning it again resumes: one more attempt, the resume point kept, the error cleared');
select is((select started_at from public.maintenance_runs where run_date = '2000-01-03' and step = 'decay'),
          '2000-01-04T01:00:00Z'::timestamptz,
          'a resumed step keeps the start of the attempt that began it (what its first batches saw)');
select is(public.finish_maintenance_step('2000-01-03', 'decay', 'done', '{"rows_changed": 5}', 2)
            - 'started_at' - 'finished_at',
          $${"run_date": "2000-01-03", "step": "decay", "status": "done", "counts": {"rows_changed": 5}, "runs": 2,
             "seconds": 3.5, "progress": null, "error_code": null, "error_message": null}$$::jsonb,
          'a done step has its counts and total seconds, and no resume point');
select is(public.begin_maintenance_step('2000-01-03', 'decay') - 'started_at' - 'finished_at',
          $${"run_date": "2000-01-03", "step": "decay", "status": "done", "counts": {"rows_changed": 5}, "runs": 2,
             "seconds": 3.5, "progress": null, "error_code": null, "error_message": null}$$::jsonb,
          'beginning a done step changes nothing and says it is done');
select throws_ok($$select public.finish_maintenance_step('2000-01-03', 'decay', 'failed', '{}', 1)$$, 'PT400',
                 'invalid_payload', 'a failure needs an error code');

-- write_daily_snapshots ------------------------------------------------------------------------
select is(public.write_daily_snapshots(current_date, jsonb_build_array(jsonb_build_object('user_id', a,
            'predicted_score', 600, 'predicted_score_low', 560, 'predicted_score_high', 640))), 1,
          'one daily snapshot written') from fx;
select is(public.write_daily_snapshots(current_date, jsonb_build_array(jsonb_build_object('user_id', a,
            'predicted_score', 610, 'predicted_score_low', 570, 'predicted_score_high', 650))), 1,
          'writing the same date again upserts') from fx;
select results_eq(
  format($$select count(*)::integer, max(predicted_score), max(questions_answered), max(correct_answers),
                  max(total_questions_answered), max(skills_tracked)
           from public.user_performance_snapshots where user_id = %L and snapshot_type = 'daily'$$, (select a from fx)),
  $$select 1, 610::double precision, 6, 4, 6, (select count(*)::integer from decay_rows)$$,
  'exactly one daily snapshot per learner and date, counts from the day''s answers');

-- refresh_aggregates ---------------------------------------------------------------------------
insert into state select 'agg', public.refresh_aggregates(current_date);
select ok((select v ?& array['daily_user_stats', 'weekly_user_stats', 'topic_daily_stats', 'user_learning_metrics',
                             'knowledge_gaps_open', 'knowledge_gaps_resolved'] from state where k = 'agg'),
          'refresh_aggregates returns a count per aggregate');
select results_eq(
  format($$select questions_answered, correct_answers, accuracy, sessions_started, sessions_completed, skills_practiced,
                  avg_confidence, total_time_seconds
           from public.daily_user_stats where user_id = %L and stat_date = current_date$$, (select a from fx)),
  $$select 6, 4, 4 / 6.0::double precision, 1, 1, (select count(*)::integer from practised),
           ((4 * 4 + 2 * 2) / 6.0)::double precision, 6 * 45.5::double precision$$,
  'daily_user_stats for the day');
select results_eq(
  format($$select week_start, questions_answered, correct_answers, active_days, sessions_completed, accuracy_change
           from public.weekly_user_stats where user_id = %L$$, (select a from fx)),
  $$select date_trunc('week', current_date)::date, 6, 4, 1, 1, null::double precision$$,
  'weekly_user_stats for the ISO week (no previous week → no change)');
select results_eq(
  format('select topic_id from public.topic_daily_stats where user_id = %L and stat_date = current_date order by topic_id',
         (select a from fx)),
  'select distinct topic_id from practised order by topic_id',
  'topic_daily_stats has one row per topic practised');
select results_eq(
  format($$select questions_30d, correct_30d, questions_90d, questions_all_time, sessions_completed_all_time,
                  current_streak_days, skills_practiced, active_days_30d
           from public.user_learning_metrics where user_id = %L$$, (select a from fx)),
  $$select 6, 4, 6, 6, 1, 1, (select count(*)::integer from decay_rows), 1$$,
  'user_learning_metrics rolling windows, streak and coverage');
select is(tests.row_count('knowledge_gaps', format('user_id = %L and status = %L', (select a from fx), 'open')),
          tests.row_count('user_skill_mastery', format('user_id = %L and effective_mastery < 0.6', (select a from fx))),
          'one open knowledge gap per practised skill below 0.6');
select is_empty(
  format($$select g.skill_id from public.knowledge_gaps g
           join public.user_skill_mastery m on m.user_id = g.user_id and m.skill_id = g.skill_id
           left join private.knowledge_gap_scores(array[g.user_id], (current_date + 1)::timestamp at time zone 'UTC') k
             on k.user_id = g.user_id and k.skill_id = g.skill_id
           where g.user_id = %L and (
             abs(g.gap_score - (1 - m.effective_mastery)) > 1e-9
             or k.skill_id is null
             or abs(g.priority_score - 10 * (3 * k.gap + 2 * k.importance + k.impact + 1.5 * k.failure_rate) / 7.5) > 1e-9
             or g.priority_score not between 0 and 10
             or g.severity <> case when k.gap < 0.2 then 'low'
                                   when g.priority_score >= 6 and k.gap >= 0.5 then 'critical'
                                   when g.priority_score >= 4.5 then 'high'
                                   when g.priority_score >= 3 then 'medium' else 'low' end)$$, (select a from fx)),
  'gap score, priority (learner/gaps.py formula, 0-10) and severity are consistent');
insert into state select 'daily_before', to_jsonb(d) - 'updated_at' from public.daily_user_stats d
  where d.user_id = (select a from fx) and d.stat_date = current_date;
select lives_ok('select public.refresh_aggregates(current_date)', 'refresh_aggregates can run again');
select is((select to_jsonb(d) - 'updated_at' from public.daily_user_stats d
           where d.user_id = (select a from fx) and d.stat_date = current_date),
          (select v from state where k = 'daily_before'), 're-running for the same date gives the same stats');
-- raise mastery → gaps resolve
reset role;
update public.user_skill_mastery set effective_mastery = 0.9 where user_id = (select a from fx);
select tests.authenticate_as_service_role();
select is(tests.row_count('user_skill_mastery', format('user_id = %L and effective_mastery = 0.9', (select a from fx))),
          (select count(*) from decay_rows), 'mastery set to 0.9');
select lives_ok('select public.refresh_aggregates(current_date)', 'refresh after the mastery rise');
select results_eq(
  format($$select count(*) filter (where status = 'open')::integer, count(*) filter (where status = 'resolved' and resolved_at is not null)::integer
           from public.knowledge_gaps where user_id = %L$$, (select a from fx)),
  format('values (0, %s)', tests.row_count('knowledge_gaps', format('user_id = %L', (select a from fx)))),
  'gaps of skills now >= 0.6 are resolved, none stays open');

-- BKT / IRT parameter upserts ------------------------------------------------------------------
select is(public.upsert_bkt_params('[{"skill_id": 1, "p_init": 0.3, "p_learn": 0.2, "p_guess": 0.15, "p_slip": 0.05,
                                      "p_forget": 0.01, "n_obs": 120, "fitted_at": "2026-01-02T03:04:05Z"},
                                     {"skill_id": 2, "p_init": 0.25, "p_learn": 0.1, "p_guess": 0.2, "p_slip": 0.1}]'),
          2, 'upsert_bkt_params writes every row');
select results_eq('select p_init, p_learn, p_guess, p_slip, p_forget, n_obs, fitted_at from public.bkt_params where skill_id = 1',
                  $$values (0.3::double precision, 0.2::double precision, 0.15::double precision, 0.05::double precision,
                            0.01::double precision, 120, '2026-01-02T03:04:05Z'::timestamptz)$$,
                  'BKT parameters replaced');
select results_eq('select p_forget, n_obs, fitted_at is not null from public.bkt_params where skill_id = 2',
                  $$values (0::double precision, 0, true)$$, 'missing p_forget/n_obs default, fitted_at stamped');
select is(public.upsert_irt_params('[{"question_id": 1, "discrimination": 1.3, "difficulty": -0.4, "guessing": 0.2}]'), 1,
          'upsert_irt_params writes the row');
select results_eq('select discrimination, difficulty, guessing, calibrated_at is not null, times_seen from public.question_difficulty_params where question_id = 1',
                  $$select 1.3::double precision, -0.4::double precision, 0.2::double precision, true, v::integer
                    from state where k = 'q1_times_seen'$$,
                  'IRT parameters replaced, times_seen preserved');
select throws_ok($$select public.upsert_bkt_params('[{"skill_id": 1, "p_init": 1.5, "p_learn": 0.2, "p_guess": 0.15, "p_slip": 0.05}]')$$,
                 '23514', null, 'out-of-range probabilities are rejected');

-- retention --------------------------------------------------------------------------------------
reset role;
do $$
begin
  perform private.ensure_learning_event_partitions('2020-01-01', 1);
  insert into public.learning_events (user_id, event_type, created_at) values ((select a from fx), 'session_started', '2020-01-15');
end;
$$;
select tests.authenticate_as_service_role();
insert into state select 'ret', public.apply_retention(current_date);
select ok((select (v -> 'dropped_partitions') ? 'learning_events_p202001' from state where k = 'ret'),
          'a partition older than 24 months is dropped');
select is((select count(*) from pg_class where relname = 'learning_events_p202001'), 0::bigint, 'it no longer exists');
select is(tests.row_count('learning_events', format('user_id = %L and created_at < %L', (select a from fx), '2021-01-01')),
          0::bigint, 'its events are gone');
select is((select v -> 'created_partitions' from state where k = 'ret'), '[]'::jsonb,
          'this month and the next three already exist');
select throws_ok($$select public.apply_retention(current_date + 1)$$, 'PT400', 'invalid_payload',
                 'retention refuses a run date after today (it would count 24 months back from the future)');
insert into state select 'ret_future', jsonb_build_object('created_partitions', to_jsonb(
  private.ensure_learning_event_partitions((current_date + interval '16 months')::date, 4)));
select is((select v -> 'created_partitions' from state where k = 'ret_future'),
          (select jsonb_agg('learning_events_p' || to_char(date_trunc('month', current_date + interval '16 months')
                            + make_interval(months => g), 'YYYYMM') order by g) from generate_series(0, 3) g),
          'partitions for a later month and the next three are created on demand');
-- the nightly step: 12 months ahead of today, whatever exists, idempotent
reset role;
do $$
begin
  execute format('drop table event_partitions.%I',
                 'learning_events_p' || to_char(date_trunc('month', current_date) + interval '12 months', 'YYYYMM'));
end;
$$;
select tests.authenticate_as_service_role();
insert into state select 'ext', public.extend_learning_event_partitions(current_date - 1);
select is((select v -> 'created_partitions' from state where k = 'ext'),
          jsonb_build_array('learning_events_p' || to_char(date_trunc('month', current_date) + interval '12 months',
                                                           'YYYYMM')),
          'the nightly step recreates a missing month 12 ahead');
select is((select (v ->> 'future_months')::integer from state where k = 'ext'),
          (select count(*)::integer from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = 'public.learning_events'::regclass
              and substring(pg_get_expr(c.relpartbound, c.oid) from 'FROM \(''([^'']+)''\)')::timestamptz
                  >= (date_trunc('month', current_date) + interval '1 month')::timestamp at time zone 'UTC'),
          'it reports the months after the current one that have a partition');
select is(public.extend_learning_event_partitions(current_date) -> 'created_partitions', '[]'::jsonb,
          'a second call creates nothing');
select throws_ok($$select public.extend_learning_event_partitions(current_date + 1)$$, 'PT400', 'invalid_payload',
                 'the nightly step refuses a run date after today');
select is_empty(
  $$select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'public.learning_events'::regclass
      and substring(pg_get_expr(c.relpartbound, c.oid) from 'TO \(''([^'']+)''\)')::timestamptz
          <= (current_date - interval '24 months')::timestamp at time zone 'UTC'$$,
  'no partition entirely older than the cutoff survives');
select isnt_empty(
  $$select 1 from public.learning_events where user_id = (select a from fx)$$,
  'recent events are kept');

select * from finish();
rollback;
