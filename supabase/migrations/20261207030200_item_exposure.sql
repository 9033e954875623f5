-- Item exposure rates for selection's exposure control (issue 14, deliverable 2; functions/smartpractice/
-- learner/exposure.py). Over the sessions started in the last p_window_hours that served anything: per question,
-- how many sessions served it, and per distinct session filter set, how many sessions had it. The service turns
-- the filter sets into each question's eligible sessions with the same pool filter next_question uses, so the
-- filter semantics live in one place (service/question_bank.py). Read once a minute per function instance.

create index practice_sessions_started_at_idx on public.practice_sessions (started_at);

create or replace function public.item_exposure(p_window_hours integer default 24)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  with recent as (
    select s.id, s.filters - 'target_questions' as filters
    from public.practice_sessions s
    where s.started_at > now() - make_interval(hours => greatest(1, least(coalesce(p_window_hours, 24), 168)))
      and exists (select 1 from public.session_questions sq where sq.session_id = s.id)
  ),
  served as (
    select sq.question_id, count(distinct sq.session_id) as sessions
    from public.session_questions sq
    join recent r on r.id = sq.session_id
    group by sq.question_id
  ),
  filter_sets as (
    select r.filters, count(*) as sessions from recent r group by r.filters
  )
  select jsonb_build_object(
    'question_id', coalesce((select jsonb_agg(s.question_id order by s.question_id) from served s), '[]'::jsonb),
    'served_sessions', coalesce((select jsonb_agg(s.sessions order by s.question_id) from served s), '[]'::jsonb),
    'filter_sets', coalesce((select jsonb_agg(jsonb_build_object('filters', f.filters, 'sessions', f.sessions))
                             from filter_sets f), '[]'::jsonb))
$$;
revoke execute on function public.item_exposure(integer) from public, anon, authenticated;
grant execute on function public.item_exposure(integer) to service_role;
