-- Structure: RLS everywhere, indexes on policy columns and foreign keys, policy style, privileges
-- of every role on every table and function, security-definer hygiene, partitions, pg_cron job.
begin;

-- tests/gateway creates and drops its own throwaway objects (prefix gwt + 6 hex) in public while the
-- suites share one cluster; they are not part of the product schema and are left out below.
create temp view product_relations as
  select c.oid, c.relname, c.relkind, c.relrowsecurity from pg_class c
  where c.relnamespace = 'public'::regnamespace and c.relname !~ '^gwt[0-9a-f]{6}_';
create temp view product_functions as
  select p.oid, p.proname, p.pronamespace, p.prosecdef, p.proconfig from pg_proc p
  where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace) and p.proname !~ '^gwt[0-9a-f]{6}_';

select plan(23);

select set_eq(
  $$select c.relname::text from product_relations c where c.relkind in ('r', 'p')$$,
  $$select * from tests.learner_tables() union all select * from tests.content_tables()
    union all select * from tests.restricted_tables() union all values ('learner_profiles')$$,
  'public holds exactly the expected tables (learner, content, restricted, the learner-written profile)');

select is_empty(
  $$select c.relname from product_relations c where c.relkind in ('r', 'p') and not c.relrowsecurity$$,
  'RLS is enabled on every table in public');

select is_empty(
  $$select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'public.learning_events'::regclass
      and (c.relnamespace <> 'event_partitions'::regnamespace or not c.relrowsecurity)$$,
  'learning_events partitions live outside the exposed schema, with RLS on');

select is_empty(
  $$select con.conrelid::regclass::text || '.' || a.attname
    from pg_constraint con
    join product_relations r on r.oid = con.conrelid
    join pg_attribute a on a.attrelid = con.conrelid and a.attnum = con.conkey[1]
    where con.contype = 'f' and con.connamespace = 'public'::regnamespace
      and not exists (select 1 from pg_index i where i.indrelid = con.conrelid and i.indkey[0] = con.conkey[1])$$,
  'every foreign key has an index led by its first column');

select is_empty(
  $$select p.tablename from pg_policies p
    where p.schemaname = 'public' and p.qual like '%user_id%' and p.tablename !~ '^gwt[0-9a-f]{6}_'
      and not exists (
        select 1 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
        where i.indrelid = format('public.%I', p.tablename)::regclass and a.attname = 'user_id')$$,
  'every policy column (user_id) leads an index');

select is_empty(
  $$select policyname from pg_policies
    where schemaname = 'public' and tablename !~ '^gwt[0-9a-f]{6}_'
      and qual ~ 'auth\.uid\(\)' and qual !~ '\(\s*SELECT auth\.uid\(\)'$$,
  'policies call auth.uid() through (select auth.uid())');

select is_empty(
  $$select policyname from pg_policies
    where schemaname = 'public' and tablename !~ '^gwt[0-9a-f]{6}_' and (roles <> '{authenticated}' or cmd <> 'SELECT')
    except
    -- learner_profiles, the one table a learner writes: own-row insert/update/delete (the goals, issue 13)
    select policyname from pg_policies
    where schemaname = 'public' and tablename = 'learner_profiles' and roles = '{authenticated}'
      and coalesce(qual, '(( SELECT auth.uid() AS uid) = user_id)') = '(( SELECT auth.uid() AS uid) = user_id)'
      and coalesce(with_check, '(( SELECT auth.uid() AS uid) = user_id)') = '(( SELECT auth.uid() AS uid) = user_id)'$$,
  'every policy is a SELECT policy to authenticated, except the own-row writes of learner_profiles');

select set_eq(
  $$select tablename::text from pg_policies where schemaname = 'public' and qual = '(( SELECT auth.uid() AS uid) = user_id)'$$,
  $$select * from tests.learner_tables() union all values ('learner_profiles')$$,
  'each learner table has an own-rows policy');

select set_eq(
  $$select tablename::text from pg_policies where schemaname = 'public' and qual = 'true'$$,
  $$select * from tests.content_tables()$$,
  'each content table is readable by authenticated');

select is_empty(
  $$select c.relname, r.role, pr.priv
    from product_relations c
    cross join (values ('anon'), ('authenticated')) r(role)
    cross join (values ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) pr(priv)
    where c.relkind in ('r', 'p')
      and has_table_privilege(r.role, c.oid, pr.priv)
      and not (c.relname = 'learner_profiles' and r.role = 'authenticated' and pr.priv in ('INSERT', 'UPDATE', 'DELETE'))$$,
  'anon and authenticated hold no write privilege on any table (but authenticated on their learner_profiles row)');

select is_empty(
  $$select c.relname from product_relations c
    where c.relkind in ('r', 'p', 'v', 'm', 'S')
      and has_table_privilege('anon', c.oid, 'SELECT')$$,
  'anon cannot read any relation in public');

select set_eq(
  $$select c.relname::text from product_relations c
    where c.relkind in ('r', 'p') and has_table_privilege('authenticated', c.oid, 'SELECT')$$,
  $$select * from tests.learner_tables() union all select * from tests.content_tables()
    union all values ('learner_profiles')$$,
  'authenticated can SELECT learner and content tables, not answer keys or maintenance runs');

select is_empty(
  $$select t.tbl, pr.priv from (values ('mastery_history'), ('learning_events')) t(tbl)
    cross join (values ('UPDATE'), ('DELETE'), ('TRUNCATE')) pr(priv)
    where has_table_privilege('service_role', format('public.%I', t.tbl), pr.priv)
    union all
    select 'mastery_history', 'INSERT' where has_table_privilege('service_role', 'public.mastery_history', 'INSERT')$$,
  'service_role cannot write mastery_history nor update/delete learning_events');

select is_empty(
  $$select p.oid::regprocedure from product_functions p where has_function_privilege('anon', p.oid, 'EXECUTE')$$,
  'anon can execute no function in public or private');

select set_eq(
  $$select p.proname::text from product_functions p
    where p.pronamespace = 'public'::regnamespace and has_function_privilege('authenticated', p.oid, 'EXECUTE')$$,
  array['cohort_mastery_distribution', 'next_question_context', 'question_bank', 'answer_context',
        'session_summary_context', 'insights_context'],
  'authenticated can call only the k-anonymous cohort RPC and the security-invoker context reads');

select set_eq(
  $$select p.proname::text from product_functions p
    where p.pronamespace = 'public'::regnamespace and has_function_privilege('service_role', p.oid, 'EXECUTE')$$,
  array['start_session', 'serve_question', 'record_answer', 'complete_session', 'apply_decay',
        'next_question_context', 'question_bank', 'answer_context', 'session_summary_context', 'insights_context',
        'write_daily_snapshots', 'refresh_aggregates', 'upsert_bkt_params', 'upsert_irt_params',
        'apply_retention', 'begin_maintenance_step', 'save_maintenance_progress', 'finish_maintenance_step',
        'snapshot_inputs', 'attempt_log_page', 'cohort_mastery_distribution', 'refresh_cohort_stats', 'cohort_bins_slice',
        'record_function_request_stats', 'refresh_aggregates_slice', 'extend_learning_event_partitions',
        'exam_results', 'item_exposure', 'abandon_idle_sessions', 'set_predictor_difficulties',
        'insert_predictor_weights'],
  'service_role can call every RPC');

select is_empty(
  $$select p.oid::regprocedure from product_functions p
    where p.prosecdef and p.pronamespace <> 'private'::regnamespace$$,
  'security-definer functions live only in private');

select is_empty(
  $$select p.oid::regprocedure from product_functions p
    where not coalesce('search_path=""' = any (p.proconfig), false)$$,
  'every public/private function pins search_path to empty');

select is_empty(
  $$select p.oid::regprocedure from product_functions p
    where p.pronamespace = 'private'::regnamespace and p.prosecdef
      and has_function_privilege('authenticated', p.oid, 'EXECUTE')
      and p.proname <> 'cohort_mastery_distribution'$$,
  'authenticated can execute no security-definer function except the k-anonymous cohort body');

select set_eq(
  $$select (substring(pg_get_expr(c.relpartbound, c.oid) from 'FROM \(''([^'']+)''\)')::timestamptz at time zone 'UTC')::date
    from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'public.learning_events'::regclass
      and c.relpartbound is not null
      and (substring(pg_get_expr(c.relpartbound, c.oid) from 'FROM \(''([^'']+)''\)')::timestamptz
           >= date_trunc('month', now()))
      and (substring(pg_get_expr(c.relpartbound, c.oid) from 'FROM \(''([^'']+)''\)')::timestamptz
           < date_trunc('month', now()) + interval '13 months')$$,
  $$select (date_trunc('month', now() at time zone 'UTC') + make_interval(months => g))::date from generate_series(0, 12) g$$,
  'partitions exist for the current month and the next twelve');

select is_empty(
  $$select 1 from pg_partitioned_table pt join pg_class c on c.oid = pt.partdefid
    where pt.partrelid = 'public.learning_events'::regclass$$,
  'learning_events has no default partition');

-- pg_cron is off by default on hosted (and in the local bootstrap): the job exists only where a project
-- enabled it before the migrations ran; months are created ahead by the maintenance path either way.
select case when exists (select from pg_extension where extname = 'pg_cron')
  then results_eq(
    $$select schedule::text, command::text from cron.job where jobname = 'smartpractice-learning-event-partitions'$$,
    $$values ('5 0 1 * *', 'select private.ensure_learning_event_partitions(current_date, 13)')$$,
    'pg_cron creates next months'' partitions monthly')
  else skip('pg_cron is not enabled (off by default on hosted)', 1) end;

select is(
  private.ensure_learning_event_partitions('2099-01-15', 2),
  array['learning_events_p209901', 'learning_events_p209902'],
  'no scheduler needed: the maintenance path creates missing months (ensure_learning_event_partitions)');

select * from finish();
rollback;
