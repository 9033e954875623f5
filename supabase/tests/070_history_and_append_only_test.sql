-- Triggers: versioning and mastery_history on user_skill_mastery (one row per change, exact delta,
-- context from the RPC settings), and the append-only guards of mastery_history and learning_events.
-- Runs as postgres (the strongest role) unless stated: the guards hold even for the owner.
begin;

create temp table fx as
select tests.create_user('hist.a@test.local') as a,
       (select id from public.skills where code = 'math.percentages') as skill,
       (select p_init from public.bkt_params b join public.skills s on s.id = b.skill_id
        where s.code = 'math.percentages') as p_init;
grant select on fx to service_role;

select plan(25);

-- insert: version 1, one history row from p_init
insert into public.user_skill_mastery (user_id, skill_id, p_mastery, effective_mastery)
select a, skill, 0.40, 0.40 from fx;
select results_eq(
  'select trigger_type, mastery_before, mastery_after, delta, mastery_version, session_id from public.mastery_history where user_id = (select a from fx)',
  $$select 'reset', p_init, 0.40::double precision, 0.40 - p_init, 1, null::uuid from fx$$,
  'first write: one history row, before = the skill''s p_init, context unset → reset');
select is((select version from public.user_skill_mastery where user_id = (select a from fx)), 1, 'inserted at version 1');

-- update of mastery: one more row with the exact delta
update public.user_skill_mastery set p_mastery = 0.55, effective_mastery = 0.55, version = 99
where user_id = (select a from fx);
select results_eq(
  'select mastery_before, mastery_after, delta, mastery_version from public.mastery_history where user_id = (select a from fx) order by id desc limit 1',
  $$values (0.40::double precision, 0.55::double precision, 0.55 - 0.40::double precision, 2)$$,
  'an update writes one row with before/after/delta; version is bumped by the table (2), not set by the caller');
select is(tests.row_count('mastery_history', format('user_id = %L', (select a from fx))), 2::bigint, 'two changes, two rows');

-- non-mastery update: version moves, no history
update public.user_skill_mastery set elo_rating = 1250, elo_count = 3 where user_id = (select a from fx);
select is((select version from public.user_skill_mastery where user_id = (select a from fx)), 3, 'every update bumps the version');
select is(tests.row_count('mastery_history', format('user_id = %L', (select a from fx))), 2::bigint,
          'an Elo-only update is not a mastery change: no history row');

-- context from the RPC settings
set local smartpractice.trigger_type = 'explanation';
set local smartpractice.session_id = '';
update public.user_skill_mastery set p_mastery = 0.57, effective_mastery = 0.57 where user_id = (select a from fx);
select results_eq(
  'select trigger_type, round(delta::numeric, 6) from public.mastery_history where user_id = (select a from fx) order by id desc limit 1',
  $$values ('explanation', 0.02::numeric)$$, 'trigger_type comes from smartpractice.trigger_type');
set local smartpractice.trigger_type = 'bogus';
select throws_ok('update public.user_skill_mastery set effective_mastery = 0.5 where user_id = (select a from fx)',
                 '23514', null, 'an unknown trigger_type is rejected (the whole write fails)');
set local smartpractice.trigger_type = '';

-- through the answer RPC: trigger_type question, session and question ids recorded
create temp table answered as select tests.simulate_learner(a, 4) as session_id from fx;
select is_empty(
  $$select h.id from public.mastery_history h
    where h.user_id = (select a from fx) and h.session_id = (select session_id from answered)
      and (h.trigger_type <> 'question' or h.question_id is null)$$,
  'answer history rows carry trigger_type question and the question id');
select is(
  tests.row_count('mastery_history', format('session_id = %L', (select session_id from answered))),
  (select count(*) from public.session_questions sq join public.question_skills qs on qs.question_id = sq.question_id
   where sq.session_id = (select session_id from answered)),
  'one history row per (answer, skill) changed');
select is_empty(
  $$with latest as (select distinct on (skill_id) skill_id, mastery_after, p_mastery_after, mastery_version
                    from public.mastery_history where user_id = (select a from fx) order by skill_id, id desc)
    select m.skill_id from public.user_skill_mastery m join latest l using (skill_id)
    where m.user_id = (select a from fx) and (l.mastery_after <> m.effective_mastery or l.p_mastery_after <> m.p_mastery)$$,
  'the newest history row of every skill matches the current mastery');

-- mastery_history: written only by the trigger, append-only
select throws_ok($$insert into public.mastery_history (user_id, skill_id, trigger_type, mastery_after, p_mastery_after,
                                                       elo_rating_after, mastery_version)
                   select a, skill, 'question', 0.9, 0.9, 1200, 1 from fx$$,
                 'PT405', 'append_only_violation', 'even the owner cannot insert history directly');
select throws_ok('update public.mastery_history set mastery_after = 1 where user_id = (select a from fx)',
                 'PT405', 'append_only_violation', 'history rows cannot be updated');
select throws_ok('delete from public.mastery_history where user_id = (select a from fx)',
                 'PT405', 'append_only_violation', 'history rows cannot be deleted while the user exists');
select throws_ok('truncate public.mastery_history', 'PT405', 'append_only_violation', 'history cannot be truncated');

-- learning_events: append-only
select throws_ok('update public.learning_events set event_data = ''{}'' where user_id = (select a from fx)',
                 'PT405', 'append_only_violation', 'events cannot be updated');
select throws_ok('delete from public.learning_events where user_id = (select a from fx)',
                 'PT405', 'append_only_violation', 'events cannot be deleted while the user exists');
select throws_ok('truncate public.learning_events', 'PT405', 'append_only_violation', 'events cannot be truncated');
select throws_ok(format('delete from event_partitions.%I where user_id = %L',
                        'learning_events_p' || to_char(now() at time zone 'UTC', 'YYYYMM'), (select a from fx)),
                 'PT405', 'append_only_violation', 'the guard also holds on a partition addressed directly');
select is(tests.row_count('learning_events', format('user_id = %L', (select a from fx))), 10::bigint,
          'all 10 events of the session are still there');

-- service role: appends events, cannot touch history at all
select tests.authenticate_as_service_role();
select lives_ok($$insert into public.learning_events (user_id, event_type) select a, 'session_started' from fx$$,
                'service role can append an event');
select throws_ok($$insert into public.mastery_history (user_id, skill_id, trigger_type, mastery_after, p_mastery_after,
                                                       elo_rating_after, mastery_version)
                   select a, skill, 'question', 0.9, 0.9, 1200, 1 from fx$$,
                 '42501', null, 'service role has no INSERT on mastery_history');
select throws_ok('update public.learning_events set event_data = ''{}''', '42501', null,
                 'service role has no UPDATE on learning_events');
select throws_ok('delete from public.mastery_history', '42501', null, 'service role has no DELETE on mastery_history');
select throws_ok('insert into public.learning_events (user_id, event_type, created_at) select a, ''session_started'', ''1999-01-01'' from fx',
                 '23514', null, 'an event for a month without partition fails loudly (no default partition)');

select * from finish();
rollback;
