-- Decay set-based: apply_decay evaluates the forgetting curve in SQL over a slice of learners instead
-- of receiving one value per row. The old form (the function reads every mastery row through the
-- REST API, 1,000 rows per page, and sends back changed values) needed ~4,000 round trips for
-- 100,000 learners × 20 skills; this one needs one call per `p_max_users` learners.
--
-- The curve is fsrs's (learner/memory.py, `retrievability_array`), with its constants passed in by
-- the caller so Python's scheduler parameters stay the one source:
--   R = (1 + factor · whole_days / stability) ^ decay      (decay < 0, factor = 0.9^(1/decay) − 1)
--   effective_mastery = p_mastery · R;  no stability or no review yet → R = 1.
-- whole_days = floor of the days from last_review to p_as_of, never negative. A test pins this SQL
-- to the numpy implementation (tests/integration/test_maintenance_stack.py).
--
-- Rows move only when the value changes by more than p_tolerance (no history row for noise).
-- Idempotent: the value is computed from the undecayed p_mastery and last_review, so a second run
-- with the same p_as_of changes nothing. Rows are locked in key order (as record_answer does), and a
-- row an answer changed meanwhile is re-evaluated on its new version (READ COMMITTED re-check).

drop function public.apply_decay(date, jsonb);

create or replace function public.apply_decay(
  p_run_date date,
  p_as_of timestamptz,
  p_decay double precision,
  p_factor double precision,
  p_tolerance double precision default 1e-6,
  p_after_user uuid default null,
  p_max_users integer default 5000
)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_users uuid[];
  v_scanned integer;
  v_changed integer;
begin
  if p_as_of is null or p_decay is null or p_decay >= 0 or p_factor is null or p_factor <= 0
     or p_tolerance is null or p_tolerance < 0 or p_max_users is null or p_max_users < 1 then
    raise exception using errcode = 'PT400', message = 'invalid_payload',
      detail = 'need p_as_of, p_decay < 0, p_factor > 0, p_tolerance >= 0, p_max_users >= 1';
  end if;
  perform set_config('smartpractice.trigger_type', 'decay', true);
  perform set_config('smartpractice.session_id', '', true);
  perform set_config('smartpractice.question_id', '', true);

  select coalesce(array_agg(u.user_id order by u.user_id), '{}') into v_users
  from (select distinct m.user_id
        from public.user_skill_mastery m
        where p_after_user is null or m.user_id > p_after_user
        order by m.user_id
        limit p_max_users) u;

  select count(*) into v_scanned from public.user_skill_mastery m where m.user_id = any (v_users);

  -- The value is computed from the locked row itself: if an answer changed the row meanwhile, the
  -- re-check evaluates it on the new p_mastery/last_review, never on a stale read.
  with locked as (
    select m.user_id, m.skill_id, d.value
    from public.user_skill_mastery m
    cross join lateral (
      select case when m.stability is null or m.last_review is null then m.p_mastery
                  else m.p_mastery * power(
                    1 + p_factor * greatest(floor(extract(epoch from (p_as_of - m.last_review)) / 86400), 0)
                        / m.stability,
                    p_decay)
             end as value
    ) d
    where m.user_id = any (v_users)
      and abs(d.value - m.effective_mastery) > p_tolerance
    order by m.user_id, m.skill_id
    for update of m
  ),
  changed as (
    update public.user_skill_mastery m
       set effective_mastery = l.value
      from locked l
     where m.user_id = l.user_id and m.skill_id = l.skill_id
    returning 1
  )
  select count(*) into v_changed from changed;

  return jsonb_build_object(
    'users', cardinality(v_users),
    'rows_scanned', v_scanned,
    'rows_changed', v_changed,
    'last_user_id', v_users[cardinality(v_users)]);
end;
$$;
revoke execute on function public.apply_decay(date, timestamptz, double precision, double precision,
                                              double precision, uuid, integer) from public, anon, authenticated;
grant execute on function public.apply_decay(date, timestamptz, double precision, double precision,
                                             double precision, uuid, integer) to service_role;
