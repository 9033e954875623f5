-- Learner goals (issue 13): the exam, the sections the learner prepares, target scores, exam date and time zone.
-- One row per learner, written by the learner through REST under RLS (PostgREST upsert:
-- POST /rest/v1/learner_profiles with `Prefer: resolution=merge-duplicates`, PostgREST docs "Upsert");
-- the check constraints are the validation, so bad input fails with 23514 (HTTP 400) naming the constraint.
-- A learner without a row gets the defaults documented in service/goals.py, flagged as defaults in insights.

-- True when PostgreSQL knows the zone (IANA names such as 'America/New_York', or 'UTC').
-- Declared immutable so a check constraint may use it; the zone database only changes with a server upgrade.
create or replace function private.is_time_zone(p_zone text)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  perform '2000-01-01 00:00:00+00'::timestamptz at time zone p_zone;
  return true;
exception when invalid_parameter_value then
  return false;
end;
$$;
revoke execute on function private.is_time_zone(text) from public, anon;
grant execute on function private.is_time_zone(text) to authenticated, service_role;

create table public.learner_profiles (
  user_id uuid primary key default auth.uid() references auth.users (id) on delete cascade,
  exam text not null default 'sat' constraint learner_profiles_exam_known check (exam in ('sat')),
  -- In exam order, no repeats: the SAT's two sections.
  sections text[] not null default '{math,reading_writing}'
    constraint learner_profiles_sections_known
    check (sections in ('{math}', '{reading_writing}', '{math,reading_writing}')),
  target_math smallint constraint learner_profiles_target_math_scale
    check (target_math between 200 and 800 and target_math % 10 = 0),
  target_reading_writing smallint constraint learner_profiles_target_rw_scale
    check (target_reading_writing between 200 and 800 and target_reading_writing % 10 = 0),
  target_total smallint constraint learner_profiles_target_total_scale
    check (target_total between 400 and 1600 and target_total % 10 = 0),
  exam_date date,
  time_zone text not null default 'UTC'
    constraint learner_profiles_time_zone_known check (private.is_time_zone(time_zone)),
  updated_at timestamptz not null default now(),
  -- A section target only for a section the learner prepares; a total only when both are prepared.
  constraint learner_profiles_targets_prepared check (
    (target_math is null or 'math' = any (sections))
    and (target_reading_writing is null or 'reading_writing' = any (sections))
    and (target_total is null or cardinality(sections) = 2))
);
comment on table public.learner_profiles is
  'The learner''s goals: exam, prepared sections, target scores (200–800 per section, 400–1600 total), exam date, IANA time zone.';

alter table public.learner_profiles enable row level security;

create policy "Learners can read their own profile" on public.learner_profiles
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Learners can create their own profile" on public.learner_profiles
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy "Learners can update their own profile" on public.learner_profiles
  for update to authenticated using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy "Learners can delete their own profile" on public.learner_profiles
  for delete to authenticated using ((select auth.uid()) = user_id);

revoke all on public.learner_profiles from anon;
revoke truncate, references, trigger on public.learner_profiles from authenticated, service_role;
grant select, insert, update, delete on public.learner_profiles to authenticated;
