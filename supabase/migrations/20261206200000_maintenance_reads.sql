-- Bounded reads for the maintenance steps whose numbers are defined in Python (daily snapshots' predicted
-- scores, the BKT and IRT refits). Each call takes a cursor and a page size and returns one page as a
-- POST body: no request carries a list of ids, and no page grows with the data. Service role only.

-- Learners active on p_run_date (UTC day) after p_after_user, in user order, at most p_max_users: the
-- day's answer counts and every mastery row, for the snapshot step to evaluate as of the end of the day.
--   [{"user_id", "answered", "correct", "mastery": [[skill_id, p_mastery, stability, last_review_epoch]]}]
create or replace function public.snapshot_inputs(p_run_date date, p_after_user uuid default null,
                                                  p_max_users integer default 2000)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set plan_cache_mode = 'force_custom_plan'  -- the cursor decides the plan; a generic plan would scan the window
as $$
declare
  v_from timestamptz := p_run_date::timestamp at time zone 'UTC';
  v_to timestamptz := (p_run_date + 1)::timestamp at time zone 'UTC';
  v_page jsonb;
begin
  if p_run_date is null or p_max_users is null or p_max_users not between 1 and 5000 then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'need p_run_date and 1 <= p_max_users <= 5000';
  end if;
  with active as (
    select sq.user_id, count(*) as answered, count(*) filter (where sq.is_correct) as correct
    from public.session_questions sq
    where sq.answered_at >= v_from and sq.answered_at < v_to
      and (p_after_user is null or sq.user_id > p_after_user)
    group by sq.user_id
    order by sq.user_id
    limit p_max_users
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'user_id', a.user_id, 'answered', a.answered, 'correct', a.correct,
           'mastery', coalesce(m.rows, '[]'::jsonb)) order by a.user_id), '[]'::jsonb)
    into v_page
  from active a
  left join lateral (
    select jsonb_agg(jsonb_build_array(usm.skill_id, usm.p_mastery, usm.stability,
                                       extract(epoch from usm.last_review)) order by usm.skill_id) as rows
    from public.user_skill_mastery usm
    where usm.user_id = a.user_id
  ) m on true;
  return v_page;
end;
$$;

-- Answers with answered_at in [p_from, p_to), learner by learner (user order) after p_after_user,
-- columnar: {"user_ids": [...], "learner": [index into user_ids], "question_id": [...], "correct": [0/1],
-- "answered_epoch": [...], "last_user_id": uuid|null, "exhausted": bool}. A page holds whole learners (at
-- most p_max_rows answers; a single learner with more is cut at p_max_rows), answers in time order.
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
    select sq.user_id, sq.question_id, sq.is_correct, sq.answered_at
    from public.session_questions sq
    where (p_after_user is null or sq.user_id > p_after_user)
      and sq.answered_at >= p_from and sq.answered_at < p_to
    order by sq.user_id
    limit p_max_rows + 1
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
           'last_user_id', max(p.user_id::text),
           'exhausted', (select b.exhausted from bounds b))
    into v_page
  from page p;
  return v_page;
end;
$$;

revoke execute on function public.snapshot_inputs(date, uuid, integer) from public, anon, authenticated;
revoke execute on function public.attempt_log_page(timestamptz, timestamptz, uuid, integer)
  from public, anon, authenticated;
grant execute on function public.snapshot_inputs(date, uuid, integer) to service_role;
grant execute on function public.attempt_log_page(timestamptz, timestamptz, uuid, integer) to service_role;
