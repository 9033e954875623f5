-- attempt_log_page carries each answer's seconds from serving to answering ("served_seconds"), so the nightly
-- predictor fit replays every answer with the evidence weight its online step had (learner/evidence.py;
-- private.apply_predictor_update): an answer faster than half its type's plausible minimum moved nothing when
-- served, and a repeat (the same question answered within the 7 days before, another session by construction)
-- moved nothing either; the replay used to move θ, δ, the counts and b on both. The repeat rule needs only the
-- learner's answers, which the page holds in time order (service/maintenance_predictor.py applies it).

drop function if exists private.refit_answers(timestamptz, timestamptz, uuid, integer);
create function private.refit_answers(p_from timestamptz, p_to timestamptz, p_after_user uuid,
                                      p_limit integer)
returns table (user_id uuid, question_id bigint, is_correct boolean, answered_at timestamptz,
               served_seconds double precision)
language plpgsql
stable
security definer
set search_path = ''
set plan_cache_mode = 'force_custom_plan'
as $$
begin
  return query
    select sq.user_id, sq.question_id, sq.is_correct, sq.answered_at,
           extract(epoch from sq.answered_at - sq.served_at)::double precision
    from public.session_questions sq
    where (p_after_user is null or sq.user_id > p_after_user)
      and sq.answered_at >= p_from and sq.answered_at < p_to
      and not exists (select 1 from auth.users u where u.id = sq.user_id and u.is_anonymous)
    order by sq.user_id
    limit p_limit;
end;
$$;
revoke execute on function private.refit_answers(timestamptz, timestamptz, uuid, integer)
  from public, anon, authenticated, service_role;
grant execute on function private.refit_answers(timestamptz, timestamptz, uuid, integer) to service_role;

-- attempt_log_page (20261206210000_anonymous_learners.sql) with one more column: "served_seconds": [seconds].
create or replace function public.attempt_log_page(p_from timestamptz, p_to timestamptz,
                                                   p_after_user uuid default null, p_max_rows integer default 50000)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set plan_cache_mode = 'force_custom_plan'  -- the cursor decides the plan; a generic plan would scan the window
as $$
declare
  v_page jsonb;
begin
  if p_from is null or p_to is null or p_max_rows is null or p_max_rows not between 1 and 200000 then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'need p_from, p_to and 1 <= p_max_rows <= 200000';
  end if;
  with scanned as (       -- one more row than asked: tells whether the last learner is complete
    select a.user_id, a.question_id, a.is_correct, a.answered_at, a.served_seconds
    from private.refit_answers(p_from, p_to, p_after_user, p_max_rows + 1) a
  ),
  bounds as (
    select count(*) <= p_max_rows as exhausted, max(s.user_id::text)::uuid as last_user,
           count(distinct s.user_id) as learners
    from scanned s
  ),
  kept as (               -- a full page drops its last (maybe partial) learner, unless it is the only one
    select s.*, dense_rank() over (order by s.user_id) - 1 as learner
    from scanned s cross join bounds b
    where b.exhausted or b.learners = 1 or s.user_id < b.last_user
  ),
  page as (
    select k.* from kept k
    order by k.user_id, k.answered_at
    limit p_max_rows
  )
  select jsonb_build_object(
           'user_ids', coalesce((select jsonb_agg(u.user_id order by u.user_id)
                                 from (select distinct p.user_id from page p) u), '[]'::jsonb),
           'learner', coalesce(jsonb_agg(p.learner order by p.user_id, p.answered_at), '[]'::jsonb),
           'question_id', coalesce(jsonb_agg(p.question_id order by p.user_id, p.answered_at), '[]'::jsonb),
           'correct', coalesce(jsonb_agg(p.is_correct::integer order by p.user_id, p.answered_at), '[]'::jsonb),
           'answered_epoch', coalesce(jsonb_agg(extract(epoch from p.answered_at) order by p.user_id,
                                                p.answered_at), '[]'::jsonb),
           'served_seconds', coalesce(jsonb_agg(p.served_seconds order by p.user_id, p.answered_at), '[]'::jsonb),
           'last_user_id', max(p.user_id::text),
           'exhausted', (select b.exhausted from bounds b))
    into v_page
  from page p;
  return v_page;
end;
$$;

revoke execute on function public.attempt_log_page(timestamptz, timestamptz, uuid, integer)
  from public, anon, authenticated;
grant execute on function public.attempt_log_page(timestamptz, timestamptz, uuid, integer) to service_role;
