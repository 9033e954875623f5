-- Actors: an anonymous learner (Supabase Auth anonymous sign-in: auth.users.is_anonymous, JWT claim
-- is_anonymous), permanent learners and the service role (the functions and the nightly maintenance).
-- Anonymous learners practise but move no shared value (README, "Anonymous users"): question difficulty,
-- cohort statistics and the refits' inputs are as if they had not answered.
begin;

-- Two skills and a question each of their own, so every count below is exact whatever else the database holds.
create temp table fx (name text primary key, id bigint);
with s as (
  insert into public.skills (topic_id, code, name)
  values (1, 'test.anon.a', 'Anonymous policy A'), (1, 'test.anon.b', 'Anonymous policy B') returning id, code
), q as (
  insert into public.questions (external_ref, topic_id, question_type, difficulty_label, exam_section, stem)
  select 'q.' || s.code, 1, 'numeric', 'medium', 'math', 'x = ?' from s returning id, external_ref
), tagged as (
  insert into public.question_skills (question_id, skill_id)
  select q.id, s.id from q join s on q.external_ref = 'q.' || s.code returning question_id, skill_id
)
insert into fx select 'skill_' || right(s.code, 1), s.id from s
union all select 'question_' || right(s.code, 1), t.question_id from s join tagged t on t.skill_id = s.id;

-- One wrong answer to question p_question in a fresh session, as the functions write it (service role).
create function pg_temp.practise(p_user uuid, p_question bigint, p_correct boolean default false)
returns jsonb language plpgsql as $$
declare
  v_session uuid := (public.start_session(p_user, 'adaptive', '{}'::jsonb) ->> 'id')::uuid;
begin
  perform public.serve_question(p_user, v_session, p_question, '{"why": "test"}'::jsonb);
  return tests.answer(p_user, v_session, p_question, p_correct);
end;
$$;

create temp table learners (name text, id uuid, anonymous boolean);
insert into learners
  select 'anonymous', tests.create_anonymous_user(), true
  union all select 'permanent', tests.create_user('anon.policy.permanent@test.local'), false
  union all select 'a_permanent', tests.create_user(format('anon.policy.a%s@test.local', g)), false
    from generate_series(1, 10) g
  union all select 'a_anonymous', tests.create_anonymous_user(), true from generate_series(1, 4)
  union all select 'b_permanent', tests.create_user(format('anon.policy.b%s@test.local', g)), false
    from generate_series(1, 9) g
  union all select 'b_anonymous', tests.create_anonymous_user(), true from generate_series(1, 5);
create temp table difficulty_before as
  select qs.elo_difficulty, qs.attempts, coalesce(p.times_seen, 0) as times_seen
  from public.question_skills qs left join public.question_difficulty_params p on p.question_id = qs.question_id
  where qs.question_id = (select id from fx where name = 'question_a');
-- The cohort figures are computed live until the nightly cache is filled (filled again below).
delete from private.cohort_mastery_stats where true;
delete from private.cohort_release_seeds where true;
grant select on fx, learners, difficulty_before to authenticated, service_role;

select plan(17);

-- The anonymous learner practises: three wrong answers to question A.
select tests.authenticate_as_service_role();
select is((select array_agg(pg_temp.practise(l.id, (select id from fx where name = 'question_a')) ->> 'status')
           from learners l cross join generate_series(1, 3) where l.name = 'anonymous'),
          array['created', 'created', 'created'], 'an anonymous learner''s answers are recorded');
select is((select (m.total_attempts, m.correct_attempts)::text from public.user_skill_mastery m
           where m.user_id = (select id from learners where name = 'anonymous')
             and m.skill_id = (select id from fx where name = 'skill_a')),
          '(1,0)', 'and update their own mastery (once: repeats within 7 days carry no credit)');
select results_eq(
  $$select qs.elo_difficulty, qs.attempts, coalesce(p.times_seen, 0) from public.question_skills qs
    left join public.question_difficulty_params p on p.question_id = qs.question_id
    where qs.question_id = (select id from fx where name = 'question_a')$$,
  $$select * from difficulty_before$$,
  'their wrong answers leave the question''s difficulty, attempts and exposure exactly as they were');

-- The control: a permanent learner's wrong answer moves them (tests.answer sends +4 for a wrong answer).
select is((select pg_temp.practise(l.id, (select id from fx where name = 'question_a')) ->> 'status'
           from learners l where l.name = 'permanent'), 'created', 'a permanent learner answers too');
select results_eq(
  $$select qs.elo_difficulty, qs.attempts, coalesce(p.times_seen, 0) from public.question_skills qs
    left join public.question_difficulty_params p on p.question_id = qs.question_id
    where qs.question_id = (select id from fx where name = 'question_a')$$,
  $$select elo_difficulty + 4, attempts + 1, times_seen + 1 from difficulty_before$$,
  'a permanent learner''s wrong answer moves the difficulty by its delta and counts once');

-- Cohorts: skill A practised by 10 permanent and 4 anonymous learners, skill B by 9 and 5.
reset role;
do $$
begin
  perform pg_temp.practise(l.id, (select id from fx where name = 'question_' || left(l.name, 1)))
  from learners l where l.name in ('a_permanent', 'a_anonymous', 'b_permanent', 'b_anonymous');
end;
$$;

-- As the anonymous learner, with the claims of an anonymous sign-in: their own rows, the peers' figures.
select tests.authenticate_as_anonymous_user((select id from learners where name = 'anonymous'));
select is((select count(*) from public.practice_sessions), 3::bigint,
          'the anonymous learner reads their own sessions');
select is((select count(*) from public.session_questions where answered_at is not null), 3::bigint,
          'and their own answers');
select is((select (learners, withheld_reason)::text
           from public.cohort_mastery_distribution((select id from fx where name = 'skill_a'))),
          '(,not_yet_released)', 'learners read only the nightly release: none yet, so no figures');
select is((select count(*) from public.cohort_mastery_distribution((select id from fx where name = 'skill_b'))
           where p50 is not null), 0::bigint, 'and no figure for skill B either');
select throws_ok($$select private.is_anonymous_learner(auth.uid())$$, '42501', null,
                 'learners cannot call the anonymity look-up');

-- The nightly maintenance (service role): the cohort cache and the refits' input.
select tests.authenticate_as_service_role();
select lives_ok('select public.refresh_cohort_stats(current_date)', 'the nightly release of the cohort cache runs');
select is((select learners from private.cohort_bin_counts() where skill_id = (select id from fx where name = 'skill_a')),
          11, 'the release counts skill A''s permanent learners only (10, and the control learner)');
select is((select learners from private.cohort_bin_counts() where skill_id = (select id from fx where name = 'skill_b')),
          9, 'anonymous accounts cannot help a cohort towards k: skill B counts its 9 permanent learners');

create temp table page as
  select public.attempt_log_page(now(), now() + interval '1 microsecond', null, 50000) as p;
select is((select jsonb_array_length(p -> 'question_id') from page), 20,
          'the refits read the 20 answers of permanent learners, none of the 12 anonymous ones');
select is_empty(
  $$select 1 from page, jsonb_array_elements_text(p -> 'user_ids') u(id)
    join learners l on l.id = u.id::uuid where l.anonymous$$,
  'no anonymous learner is among the refits'' learners');
select is((select count(*) from page, jsonb_array_elements_text(p -> 'user_ids') u(id)
           join learners l on l.id = u.id::uuid where not l.anonymous),
          20::bigint, 'every permanent learner is');

-- Linking an identity makes the account permanent (Supabase Auth sets is_anonymous false): it counts then.
reset role;
update auth.users set is_anonymous = false, email = 'linked@test.local'
 where id in (select id from learners where name = 'b_anonymous' limit 1);
select tests.authenticate_as_service_role();
select is((select learners from private.cohort_bin_counts() where skill_id = (select id from fx where name = 'skill_b')),
          10, 'a linked (now permanent) learner counts: skill B has 10');

select * from finish();
rollback;
