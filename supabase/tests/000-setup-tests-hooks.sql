-- Test helpers (schema `tests`), installed before the other files run (pg_prove runs files in
-- name order; `supabase test db` too). Idempotent; nothing here is part of the product schema.
--   tests.create_user(email) → uuid                      a row in auth.users, written as Supabase Auth does
--   tests.create_anonymous_user() → uuid                 a signInAnonymously() user (is_anonymous)
--   tests.authenticate_as(uuid) / _as_anonymous_user(uuid) / _as_anon() / _as_service_role()
--                                                        switch role + JWT claims (hosted-shaped)
--   tests.answer(user, session, question, correct, key?, answered_at?) → record_answer result
--   tests.simulate_learner(user, n_questions, complete?) → session id
--   tests.create_active_learners() → ('a', uuid), ('b', uuid) with rows in every learner table
--   tests.row_count(table, where?) → rows visible to the current role;  tests.error_of(sql) → error
--   tests.footprint(user) → counts/sums an answer would change
--   tests.learner_tables() / content_tables() / restricted_tables() / all_tables() / write_rpc_calls()

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;

-- auth.users has no default id (hosted: Supabase Auth generates it), so the row is written the way
-- Supabase Auth writes a sign-up: its own id, aud/role, timestamps and provider metadata. Works on a
-- hosted project too (`supabase test db`).
create or replace function tests.create_user(p_email text)
returns uuid
language sql
as $$
  insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data,
                          created_at, updated_at, is_anonymous)
  values (gen_random_uuid(), 'authenticated', 'authenticated', p_email, now(),
          '{"provider": "email", "providers": ["email"]}', '{}', now(), now(), false)
  returning id
$$;

-- A signInAnonymously() user: no email or phone, is_anonymous.
create or replace function tests.create_anonymous_user()
returns uuid
language sql
as $$
  insert into auth.users (id, aud, role, raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
                          is_anonymous)
  values (gen_random_uuid(), 'authenticated', 'authenticated', '{}', '{}', now(), now(), true)
  returning id
$$;

-- The claims PostgREST sets from a Supabase Auth session token (https://supabase.com/docs/guides/auth/jwt-fields).
create or replace function tests.set_learner_claims(p_user_id uuid, p_anonymous boolean)
returns void
language plpgsql
as $$
begin
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims',
    json_build_object('sub', p_user_id, 'role', 'authenticated', 'aud', 'authenticated', 'aal', 'aal1',
                      'session_id', gen_random_uuid(), 'is_anonymous', p_anonymous,
                      'amr', json_build_array(json_build_object(
                        'method', case when p_anonymous then 'anonymous' else 'password' end,
                        'timestamp', extract(epoch from now())::bigint)))::text, true);
end;
$$;

create or replace function tests.authenticate_as(p_user_id uuid)
returns void
language sql
as $$
  select tests.set_learner_claims(p_user_id, false)
$$;

create or replace function tests.authenticate_as_anonymous_user(p_user_id uuid)
returns void
language sql
as $$
  select tests.set_learner_claims(p_user_id, true)
$$;

create or replace function tests.authenticate_as_anon()
returns void
language plpgsql
as $$
begin
  perform set_config('role', 'anon', true);
  perform set_config('request.jwt.claims', '{"role": "anon"}', true);
end;
$$;

create or replace function tests.authenticate_as_service_role()
returns void
language plpgsql
as $$
begin
  perform set_config('role', 'service_role', true);
  perform set_config('request.jwt.claims', '{"role": "service_role"}', true);
end;
$$;

-- A plausible model update computed in SQL (the real one comes from the Python learner models):
-- ±0.1 mastery, ±16 Elo, ∓4 question difficulty; expected_version = the version read now.
create or replace function tests.answer(
  p_user_id uuid, p_session_id uuid, p_question_id bigint, p_correct boolean,
  p_key text default null, p_answered_at timestamptz default null
)
returns jsonb
language plpgsql
as $$
declare
  v_mastery jsonb;
  v_deltas jsonb;
begin
  select jsonb_agg(jsonb_build_object(
           'skill_id', qs.skill_id,
           'expected_version', coalesce(m.version, 0),
           'p_mastery', round(least(0.99, greatest(0.01,
              coalesce(m.p_mastery, b.p_init, 0.2) + case when p_correct then 0.1 else -0.05 end))::numeric, 4),
           'elo_rating', coalesce(m.elo_rating, 1200) + case when p_correct then 16 else -16 end,
           'elo_uncertainty', 60,
           'learning_velocity', case when p_correct then 0.05 else -0.02 end) order by qs.skill_id),
         jsonb_agg(jsonb_build_object('skill_id', qs.skill_id, 'delta', case when p_correct then -4 else 4 end)
                   order by qs.skill_id)
    into v_mastery, v_deltas
  from public.question_skills qs
  left join public.user_skill_mastery m on m.user_id = p_user_id and m.skill_id = qs.skill_id
  left join public.bkt_params b on b.skill_id = qs.skill_id
  where qs.question_id = p_question_id;
  -- a repeat of a question answered in another session within 7 days carries no mastery items, as the
  -- service sends it (20261207010300_repeat_answer_evidence.sql)
  if exists (select 1 from public.session_questions sq
             where sq.user_id = p_user_id and sq.question_id = p_question_id and sq.session_id <> p_session_id
               and sq.answered_at > now() - interval '7 days') then
    v_mastery := '[]'::jsonb;
  end if;

  -- served 45 s before this answer (a test runs in one transaction, where now() stands still): the answer
  -- carries full evidence, so the predictor's step applies (20261207060100_predictor_online_update.sql)
  update public.session_questions sq set served_at = now() - interval '45 seconds'
   where sq.session_id = p_session_id and sq.question_id = p_question_id and sq.answered_at is null;

  return public.record_answer(
    p_user_id,
    jsonb_build_object('session_id', p_session_id, 'question_id', p_question_id,
      'idempotency_key', coalesce(p_key, gen_random_uuid()::text), 'user_answer', '["A"]'::jsonb,
      'is_correct', p_correct, 'confidence_score', case when p_correct then 4 else 2 end,
      'time_spent_seconds', 45.5, 'answered_at', coalesce(p_answered_at, now()),
      'predictor', jsonb_build_object(
        'theta_step', case when p_correct then 0.1 else -0.1 end,
        'skills', (select jsonb_agg(jsonb_build_object('skill_id', qs.skill_id,
                                                       'deviation_step', case when p_correct then 0.05 else -0.05 end))
                   from public.question_skills qs where qs.question_id = p_question_id),
        'item_step', case when p_correct then -0.02 else 0.02 end)),
    coalesce(v_mastery, '[]'::jsonb), coalesce(v_deltas, '[]'::jsonb),
    jsonb_build_object('is_correct', p_correct));
end;
$$;

-- One session of n questions (every third answered wrong), completed unless told otherwise.
create or replace function tests.simulate_learner(p_user_id uuid, p_questions integer, p_complete boolean default true)
returns uuid
language plpgsql
as $$
declare
  v_session uuid;
  v_question bigint;
  i integer := 0;
begin
  v_session := (public.start_session(p_user_id, 'adaptive', '{}'::jsonb) ->> 'id')::uuid;
  for v_question in
    select q.id from public.questions q order by q.id limit p_questions
  loop
    i := i + 1;
    perform public.serve_question(p_user_id, v_session, v_question, '{"why": "test"}'::jsonb);
    perform tests.answer(p_user_id, v_session, v_question, i % 3 <> 0);
  end loop;
  if p_complete then
    perform public.complete_session(p_user_id, v_session, '{"predicted_score": 640, "predicted_score_low": 600, "predicted_score_high": 680}'::jsonb);
  end if;
  return v_session;
end;
$$;

-- Two learners with a full footprint in every learner table: sessions (one left active), answers,
-- mastery + history, events, session and daily snapshots, aggregates and knowledge gaps.
create or replace function tests.create_active_learners()
returns table (name text, id uuid)
language plpgsql
as $$
declare
  v_a uuid := tests.create_user('learner.a@test.local');
  v_b uuid := tests.create_user('learner.b@test.local');
begin
  perform tests.simulate_learner(v_a, 8);
  perform tests.simulate_learner(v_b, 5);
  perform tests.simulate_learner(v_a, 3, false);
  perform public.write_daily_snapshots(current_date, jsonb_build_array(jsonb_build_object('user_id', v_a),
                                                                       jsonb_build_object('user_id', v_b)));
  perform public.refresh_aggregates(current_date);
  return query values ('a', v_a), ('b', v_b);
end;
$$;

-- Rows of public.<p_table> visible to the CURRENT role (RLS applies), optionally filtered.
create or replace function tests.row_count(p_table text, p_where text default 'true')
returns bigint
language plpgsql
as $$
declare
  v_count bigint;
begin
  execute format('select count(*) from public.%I where %s', p_table, p_where) into v_count;
  return v_count;
end;
$$;

-- Tables of the product schema, by who owns their rows (kept in one place for all test files).
create or replace function tests.learner_tables()
returns setof text
language sql
immutable
as $$
  select unnest(array['daily_user_stats', 'knowledge_gaps', 'learner_predictor_state',
    'learner_skill_predictor_state', 'learning_events', 'mastery_history',
    'practice_sessions', 'session_questions', 'topic_daily_stats', 'user_learning_metrics',
    'user_performance_snapshots', 'user_skill_mastery', 'weekly_user_stats'])
$$;

create or replace function tests.content_tables()
returns setof text
language sql
immutable
as $$
  select unnest(array['bkt_params', 'predictor_weights', 'question_difficulty_params', 'question_skills', 'questions',
    'skill_prerequisites', 'skills', 'subjects', 'topic_relationships', 'topics'])
$$;

create or replace function tests.restricted_tables()   -- no learner access at all
returns setof text
language sql
immutable
as $$
  select unnest(array['maintenance_runs', 'question_answer_keys', 'function_request_stats'])
$$;

-- Every product table with a plainly assignable column (for "update t set c = c" probes).
create or replace function tests.all_tables()
returns table (tbl text, plain_column name)
language sql
stable
as $$
  select x.t, (select a.attname from pg_catalog.pg_attribute a
               where a.attrelid = format('public.%I', x.t)::regclass and a.attnum > 0 and not a.attisdropped
                 and a.attidentity = '' and a.attgenerated = ''
               order by a.attnum limit 1)
  from (select * from tests.learner_tables() union all select * from tests.content_tables()
        union all select * from tests.restricted_tables()) x(t)
  order by x.t
$$;

-- Write RPCs (service_role only), as callable expressions with harmless arguments.
create or replace function tests.write_rpc_calls()
returns setof text
language sql
immutable
as $$
  select unnest(array[
    $c$public.start_session('00000000-0000-0000-0000-000000000001', 'adaptive', '{}')$c$,
    $c$public.serve_question('00000000-0000-0000-0000-000000000001', gen_random_uuid(), 1, '{}')$c$,
    $c$public.record_answer('00000000-0000-0000-0000-000000000001', '{}', '[]', '[]', '{}')$c$,
    $c$public.complete_session('00000000-0000-0000-0000-000000000001', gen_random_uuid(), '{}')$c$,
    $c$public.apply_decay(now(), -0.5, 0.2)$c$,
    $c$public.write_daily_snapshots(current_date, '[]')$c$,
    $c$public.refresh_aggregates(current_date)$c$,
    $c$public.upsert_bkt_params('[]')$c$,
    $c$public.upsert_irt_params('[]')$c$,
    $c$public.set_predictor_difficulties('[]')$c$,
    $c$public.insert_predictor_weights('{}')$c$,
    $c$public.apply_retention(current_date)$c$,
    $c$public.begin_maintenance_step(current_date, 'x')$c$,
    $c$public.save_maintenance_progress(current_date, 'x', '{}')$c$,
    $c$public.finish_maintenance_step(current_date, 'x', 'done', '{}', 0)$c$,
    $c$public.snapshot_inputs(current_date)$c$,
    $c$public.attempt_log_page(now(), now())$c$])
$$;

-- Everything an answer can change for a learner, to prove that a call changed nothing.
create or replace function tests.footprint(p_user_id uuid)
returns jsonb
language sql
as $$
  select jsonb_object_agg(t, tests.row_count(t, format('user_id = %L', p_user_id)))
    || jsonb_build_object(
         'mastery_versions', (select coalesce(sum(m.version), 0) from public.user_skill_mastery m
                              where m.user_id = p_user_id),
         'answered', (select count(*) from public.session_questions sq
                      where sq.user_id = p_user_id and sq.answered_at is not null),
         'question_skill_attempts', (select sum(qs.attempts) from public.question_skills qs),
         'elo_difficulty_sum', (select sum(qs.elo_difficulty) from public.question_skills qs),
         'times_seen', (select sum(p.times_seen) from public.question_difficulty_params p))
  from tests.learner_tables() t
$$;

-- The error a statement raises, as {"sqlstate", "message", "detail"} (null when it succeeds).
-- Runs in a subtransaction: on error the statement's partial effects are rolled back.
create or replace function tests.error_of(p_sql text)
returns jsonb
language plpgsql
as $$
declare
  v_state text;
  v_message text;
  v_detail text;
begin
  execute p_sql;
  return null;
exception when others then
  get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail;
  return jsonb_build_object('sqlstate', v_state, 'message', v_message, 'detail', v_detail);
end;
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;

begin;
select plan(1);
select has_schema('tests', 'test helpers are installed');
select * from finish();
rollback;
