-- One knowledge-gap engine (issue 13). Insights used learner/gaps.py while the nightly table used a different
-- formula here (raw exam weight, min(1, n/3) impact, unshrunk failure rate, other severity cuts), so the two
-- listed different skills with different priorities. Now the formula is private.knowledge_gap_scores, an exact
-- mirror of learner/gaps.knowledge_gaps (parity checked by tests/integration/test_learner_numbers_stack.py),
-- and insights lists the learner's top open rows of public.knowledge_gaps, so both show the same rows.
--
-- The formula, per practised skill with effective mastery < 0.6 (the open condition is unchanged):
--   gap        = 1 − effective_mastery
--   importance = skill exam weight / the largest skill exam weight in the bank, where a skill's exam weight is
--                its topic's exam_weight split evenly over the topic's skills (service/scoring.skill_weights);
--                1 for every skill when the bank has no weights
--   impact     = 1 − 2^(−dependants / 2)                   (dependants = skills listing it as a prerequisite)
--   failure    = (wrong + 5·gap) / (answers + 5)           (answers on the skill in the 30 days before p_to)
--   priority   = 10 · (3·gap + 2·importance + 1·impact + 1.5·failure) / 7.5, in [0, 10]
--   severity   = low when gap < 0.2; critical when priority ≥ 6 and gap ≥ 0.5; high ≥ 4.5; medium ≥ 3; else low
--
-- refresh_aggregates_slice (20261206220000_refresh_aggregates_slices.sql) calls it for the slice's learners:
-- private.knowledge_gap_scores(v_users, v_to, v_lo, v_hi), severity included. (Both files are from before the
-- first deploy, so the slice is defined once, there, with this call; plpgsql resolves it when it first runs.)

create or replace function private.knowledge_gap_scores(p_users uuid[], p_to timestamptz,
                                                         p_after_user uuid default null,
                                                         p_last_user uuid default null)
returns table (user_id uuid, skill_id bigint, gap double precision, importance double precision,
               impact double precision, failure_rate double precision, priority double precision, severity text)
language sql
stable
security invoker
set search_path = ''
as $$
  with skill_weight as (
    select s.id as skill_id,
           t.exam_weight::double precision / count(*) over (partition by s.topic_id) as weight
    from public.skills s join public.topics t on t.id = s.topic_id
  ),
  largest as (
    select max(sw.weight) as w from skill_weight sw
  ),
  dependants as (
    select sp.prerequisite_skill_id as skill_id, count(*)::double precision as n
    from public.skill_prerequisites sp group by sp.prerequisite_skill_id
  ),
  recent as (
    select sq.user_id, qs.skill_id, count(*)::double precision as answers,
           count(*) filter (where not sq.is_correct)::double precision as wrong
    from public.session_questions sq
    join public.question_skills qs on qs.question_id = sq.question_id
    where sq.answered_at >= p_to - interval '30 days' and sq.answered_at < p_to and sq.is_correct is not null
      and (p_users is null or sq.user_id = any (p_users))
      and (p_after_user is null or sq.user_id > p_after_user) and (p_last_user is null or sq.user_id <= p_last_user)
    group by sq.user_id, qs.skill_id
  ),
  terms as (
    select m.user_id, m.skill_id, 1 - m.effective_mastery as gap,
           case when l.w > 0 then sw.weight / l.w else 1.0 end as importance,
           1 - power(2.0::double precision, -coalesce(d.n, 0) / 2.0) as impact,
           (coalesce(r.wrong, 0) + 5 * (1 - m.effective_mastery)) / (coalesce(r.answers, 0) + 5) as failure_rate
    from public.user_skill_mastery m
    join skill_weight sw on sw.skill_id = m.skill_id
    cross join largest l
    left join dependants d on d.skill_id = m.skill_id
    left join recent r on r.user_id = m.user_id and r.skill_id = m.skill_id
    where m.total_attempts > 0 and m.effective_mastery < 0.6
      and (p_users is null or m.user_id = any (p_users))
      and (p_after_user is null or m.user_id > p_after_user) and (p_last_user is null or m.user_id <= p_last_user)
  ),
  scored as (
    select t.*, 10 * (3 * t.gap + 2 * t.importance + t.impact + 1.5 * t.failure_rate) / 7.5 as priority
    from terms t
  )
  select s.user_id, s.skill_id, s.gap, s.importance, s.impact, s.failure_rate, s.priority,
         case when s.gap < 0.2 then 'low'
              when s.priority >= 6 and s.gap >= 0.5 then 'critical'
              when s.priority >= 4.5 then 'high'
              when s.priority >= 3 then 'medium'
              else 'low' end
  from scored s
$$;
revoke execute on function private.knowledge_gap_scores(uuid[], timestamptz, uuid, uuid) from public, anon, authenticated;
grant execute on function private.knowledge_gap_scores(uuid[], timestamptz, uuid, uuid) to service_role;
