-- Supabase-compatible bootstrap for the LOCAL stack only (real Supabase already has all of this).
-- Each block mirrors what a hosted project has, and names the upstream file it follows:
--   supabase/postgres  migrations/db/init-scripts/*.sql and migrations/db/migrations/*.sql (the image)
--   supabase/postgres  nix/tests/expected/roles.out (the roles, attributes and settings a project ends with)
--   supabase/auth      migrations/*.up.sql (auth.users as GoTrue leaves it)
-- Deliberate differences (README, "Local stack"): `postgres` is the cluster's superuser here (hosted: a
-- non-superuser that supautils lets do admin work), there is no supautils, supabase_admin or
-- supabase_auth_admin, pgTAP is installed (hosted: `supabase test db` creates it for its run), and the
-- auth schema holds users only.

-- API roles ----------------------------------------------------------------------------------------
-- init-scripts/00000000000000-initial-schema.sql creates them; migrations/20230529180330_alter_api_roles_for_inherit.sql
-- then makes anon, authenticated and service_role INHERIT; authenticator stays NOINHERIT (roles.out).
create role anon nologin inherit;
create role authenticated nologin inherit;
create role service_role nologin inherit bypassrls;
create role authenticator login noinherit password 'postgres';
grant anon, authenticated, service_role to authenticator;
-- roles.out, "all role memberships": postgres may become each API role.
grant anon, authenticated, service_role to postgres;

-- Role settings (roles.out, "rolconfig") -----------------------------------------------------------
-- initial-schema.sql: short statement timeouts for the API roles; service_role has none of its own, so
-- a request as service_role keeps the authenticator session's 8 s.
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
-- migrations/20221028101028_set_authenticator_timeout.sql, 20231130133139_set_lock_timeout_to_authenticator_role.sql
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';
-- pg-safeupdate for every API session: UPDATE/DELETE without WHERE fail (roles.out: authenticator
-- {session_preload_libraries=safeupdate, ...}; newer images also preload supautils, which has no local
-- counterpart). The local `safeupdate` is a stand-in built by supalocal (supabase/local/safeupdate/).
alter role authenticator set session_preload_libraries = 'safeupdate';
-- init-scripts/00000000000000-initial-schema.sql, roles.out: postgres's search_path (a role setting, not the
-- database's: the API roles keep the default `"$user", public`).
alter role postgres set search_path = "$user", public, extensions;

-- Extensions (initial-schema.sql; migrations/schema-15.sql for pg_stat_statements) -----------------
-- pg_cron is preloaded but, as on hosted, not created: a project enables it (Dashboard → Integrations).
create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
create extension if not exists "uuid-ossp" schema extensions;
create extension if not exists pgcrypto schema extensions;
-- Query statistics (preloaded; `supabase inspect db outliers|calls|...` read them).
create extension if not exists pg_stat_statements schema extensions;
-- Not on hosted until a test run: `supabase test db` creates pgtap in `extensions` (supabase/cli internal/db/test).
create extension if not exists pgtap schema extensions;

-- Default privileges on public (initial-schema.sql) --------------------------------------------------
-- Everything a migration creates in public is granted to the API roles, and functions keep PostgreSQL's
-- own default EXECUTE for PUBLIC, in every schema: each migration revokes explicitly what it must
-- (tests/sql/test_static_security.py fails on a product function PUBLIC can execute).
grant usage on schema public to postgres, anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to postgres, anon, authenticated, service_role;

-- auth ------------------------------------------------------------------------------------------------
-- init-scripts/00000000000001-auth-schema.sql: the schema, usage for the API roles and no grant on its
-- tables (service_role reads auth.users only through security-definer code, as on hosted).
create schema auth;
grant usage on schema auth to anon, authenticated, service_role;

-- auth.users as GoTrue's migrations leave it: 00000000000001-auth-schema.sql, then supabase/auth
-- 20210710035447_alter_users, 20210722035447_adds_confirmed_at, 20210730183235_add_email_change_confirmed,
-- 20220114185340_add_banned_until, 20220323170000_add_user_reauthentication, 20220429102000_add_unique_idx,
-- 20221130112646_add_deleted_at, 20221215195500_modify_users_email_unique_index,
-- 20240214120130_add_is_anonymous_column. No defaults on id, created_at or the metadata: GoTrue writes them.
create table auth.users (
    instance_id uuid null,
    id uuid not null,
    aud varchar(255) null,
    "role" varchar(255) null,
    email varchar(255) null,
    encrypted_password varchar(255) null,
    email_confirmed_at timestamptz null,
    invited_at timestamptz null,
    confirmation_token varchar(255) null,
    confirmation_sent_at timestamptz null,
    recovery_token varchar(255) null,
    recovery_sent_at timestamptz null,
    email_change_token_new varchar(255) null,
    email_change varchar(255) null,
    email_change_sent_at timestamptz null,
    last_sign_in_at timestamptz null,
    raw_app_meta_data jsonb null,
    raw_user_meta_data jsonb null,
    is_super_admin boolean null,
    created_at timestamptz null,
    updated_at timestamptz null,
    phone text null default null::character varying,
    phone_confirmed_at timestamptz null,
    phone_change text null default ''::character varying,
    phone_change_token varchar(255) null default ''::character varying,
    phone_change_sent_at timestamptz null,
    confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
    email_change_token_current varchar(255) null default ''::character varying,
    email_change_confirm_status smallint null default 0,
    banned_until timestamptz null,
    reauthentication_token varchar(255) null default ''::character varying,
    reauthentication_sent_at timestamptz null,
    is_sso_user boolean not null default false,
    deleted_at timestamptz null,
    is_anonymous boolean not null default false,
    constraint users_pkey primary key (id),
    constraint users_phone_key unique (phone),
    constraint users_email_change_confirm_status_check
      check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2)
);
comment on table auth.users is 'Auth: Stores user login data within a secure schema.';
create index users_instance_id_idx on auth.users using btree (instance_id);
create index users_instance_id_email_idx on auth.users using btree (instance_id, lower(email::text));
create index users_is_anonymous_idx on auth.users using btree (is_anonymous);
create unique index users_email_partial_key on auth.users using btree (email) where (is_sso_user = false);
create unique index confirmation_token_idx on auth.users using btree (confirmation_token)
  where ((confirmation_token)::text !~ '^[0-9 ]*$'::text);
create unique index recovery_token_idx on auth.users using btree (recovery_token)
  where ((recovery_token)::text !~ '^[0-9 ]*$'::text);
create unique index email_change_token_current_idx on auth.users using btree (email_change_token_current)
  where ((email_change_token_current)::text !~ '^[0-9 ]*$'::text);
create unique index email_change_token_new_idx on auth.users using btree (email_change_token_new)
  where ((email_change_token_new)::text !~ '^[0-9 ]*$'::text);
create unique index reauthentication_token_idx on auth.users using btree (reauthentication_token)
  where ((reauthentication_token)::text !~ '^[0-9 ]*$'::text);

-- supabase/auth 20220531120530_add_auth_jwt_function and 20220224000811_update_auth_functions: the claims
-- PostgREST sets per request (request.jwt.claims), with the older per-claim settings as fallback.
create function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

create function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create function auth.email() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;
