-- insights_context builds its answer arrays with one sort (issue 16, item 3: insights at 1M answers). The
-- 'attempts' block had nine aggregates each ordered by answered_at (nine sorts of the window's answers, ~1,500
-- for the busiest learners); it now aggregates, without ORDER BY, a subquery sorted by answered_at once
-- (PostgreSQL docs, "Aggregate Expressions": input from a sorted subquery, with no join or grouping at the
-- aggregating level). Same keys, values and order; a test compares the response with the previous body's
-- (tests/integration/test_insights_context_lean.py).
-- Measured and not kept: 'skill_trends' taking each skill's latest value once (DISTINCT ON) instead of an
-- ordered array_agg per skill and window, ~3 ms less for the busiest learners, but it changes the plan that
-- feeds the regression sums, and with it the order they accumulate in: sxx/sxy/syy moved in their last bits.
-- The rest of the body is the one of 20261207120000_insights_predictor_scores.sql.

create or replace function public.insights_context(p_since timestamptz, p_now timestamptz)
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return (
    with me as (
      select auth.uid() as user_id
    ),
    attempts as (
      -- sessions numbered within the window: insights only groups answers by session (a uuid is 38 bytes of JSON)
      select dense_rank() over (order by sq.session_id) as session_id, sq.question_id, sq.is_correct, sq.confidence_score, sq.time_spent_seconds,
             sq.answered_at, q.expected_time_seconds, q.difficulty_label, q.topic_id
      from public.session_questions sq
      join public.questions q on q.id = sq.question_id, me
      where sq.user_id = me.user_id and sq.answered_at >= p_since and sq.is_correct is not null
      order by sq.answered_at desc
      limit 20000
    ),
    tagged as (
      select qs.question_id, array_agg(qs.skill_id order by qs.skill_id) as skill_ids
      from public.question_skills qs
      where qs.question_id in (select a.question_id from attempts a)
      group by qs.question_id
    ),
    history as (
      select h.skill_id, h.mastery_after, h.created_at
      from public.mastery_history h, me
      where h.user_id = me.user_id and h.created_at >= p_since
      order by h.created_at desc
      limit 50000
    ),
    zone as (
      select coalesce((select nullif(p.time_zone, '') from public.learner_profiles p, me where p.user_id = me.user_id),
                      'UTC') as name
    ),
    points as (
      select h.skill_id, h.mastery_after, h.created_at,
             (extract(epoch from h.created_at) - extract(epoch from p_now))::float8 / 86400.0 as t
      from history h
      where h.created_at <= p_now
    ),
    windows (name, starts) as (
      values ('velocity', p_since), ('plateau', p_now - interval '14 days')
    ),
    fits as (
      select pt.skill_id, w.name, count(*) as n, min(pt.t) as first, max(pt.t) as last,
             regr_sxx(pt.mastery_after, pt.t) as sxx, regr_sxy(pt.mastery_after, pt.t) as sxy,
             regr_syy(pt.mastery_after, pt.t) as syy,
             (array_agg(pt.mastery_after order by pt.created_at desc))[1] as latest
      from points pt join windows w on pt.created_at > w.starts
      group by pt.skill_id, w.name
    )
    select json_build_object(
      'mastery', (select coalesce(json_agg(m order by m.skill_id), '[]'::json)
                  from public.user_skill_mastery m, me where m.user_id = me.user_id),
      'skills', (select coalesce(json_agg(json_build_object('id', s.id, 'name', s.name, 'topic_id', s.topic_id)
                                          order by s.id), '[]'::json) from public.skills s),
      'topics', (select coalesce(json_agg(json_build_object('id', t.id, 'name', t.name, 'subject_id', t.subject_id,
                                                            'exam_weight', t.exam_weight,
                                                            'exam_section', sub.exam_section) order by t.id), '[]'::json)
                 from public.topics t join public.subjects sub on sub.id = t.subject_id),
      'prerequisites', (select coalesce(json_agg(json_build_array(sp.skill_id, sp.prerequisite_skill_id)), '[]'::json)
                        from public.skill_prerequisites sp),
      'attempts', (select json_build_object(
                     'session_id', coalesce(array_agg(a.session_id), '{}'),
                     'is_correct', coalesce(array_agg(a.is_correct), '{}'),
                     'confidence_score', coalesce(array_agg(a.confidence_score), '{}'),
                     'answered_epoch', coalesce(array_agg(extract(epoch from a.answered_at)), '{}'),
                     'time_spent_seconds', coalesce(array_agg(a.time_spent_seconds), '{}'),
                     'expected_time_seconds', coalesce(array_agg(a.expected_time_seconds), '{}'),
                     'difficulty_label', coalesce(array_agg(a.difficulty_label), '{}'),
                     'topic_id', coalesce(array_agg(a.topic_id), '{}'),
                     'skill_ids', coalesce(json_agg(coalesce(a.skill_ids, '{}')), '[]'::json))
                   -- one sort by answered_at feeds every array (aggregates read a sorted subquery in its order)
                   from (select a.session_id, a.is_correct, a.confidence_score, a.answered_at, a.time_spent_seconds,
                                a.expected_time_seconds, a.difficulty_label, a.topic_id, t.skill_ids
                         from attempts a left join tagged t on t.question_id = a.question_id
                         order by a.answered_at) a),
      'skill_trends', (select coalesce(json_object_agg(w.name, (
                         select json_build_object(
                           'skill_id', coalesce(array_agg(f.skill_id order by f.skill_id), '{}'),
                           'n', coalesce(array_agg(f.n order by f.skill_id), '{}'),
                           'first', coalesce(array_agg(f.first order by f.skill_id), '{}'),
                           'last', coalesce(array_agg(f.last order by f.skill_id), '{}'),
                           'sxx', coalesce(array_agg(f.sxx order by f.skill_id), '{}'),
                           'sxy', coalesce(array_agg(f.sxy order by f.skill_id), '{}'),
                           'syy', coalesce(array_agg(f.syy order by f.skill_id), '{}'),
                           'latest', coalesce(array_agg(f.latest order by f.skill_id), '{}'))
                         from fits f where f.name = w.name)), '{}'::json)
                       from windows w),
      'history_days', (select json_build_object(
                         'day', coalesce(array_agg(d.day order by d.day, d.skill_id), '{}'),
                         'skill_id', coalesce(array_agg(d.skill_id order by d.day, d.skill_id), '{}'),
                         'mastery_after', coalesce(array_agg(d.mastery_after order by d.day, d.skill_id), '{}'))
                       from (select distinct on (h.skill_id, (h.created_at at time zone z.name)::date)
                                    h.skill_id, (h.created_at at time zone z.name)::date as day, h.mastery_after
                             from history h, zone z
                             order by h.skill_id, (h.created_at at time zone z.name)::date, h.created_at desc) d),
      'sessions', (select coalesce(json_agg(json_build_object('id', s.id, 'status', s.status,
                                                              'started_at', s.started_at, 'ended_at', s.ended_at)
                                            order by s.started_at), '[]'::json)
                   from public.practice_sessions s, me
                   where s.user_id = me.user_id and s.started_at >= p_since),
      'cohort', (select coalesce(json_agg(c), '[]'::json) from public.cohort_mastery_distribution(null) c),
      -- The learner's top open gaps as the nightly job scored them (private.knowledge_gap_scores).
      'gaps', (select coalesce(json_agg(g order by g.priority_score desc, g.skill_id), '[]'::json)
               from (select kg.skill_id, kg.severity, kg.priority_score, kg.gap_score, kg.updated_at
                     from public.knowledge_gaps kg, me
                     where kg.user_id = me.user_id and kg.status = 'open'
                     order by kg.priority_score desc, kg.skill_id limit 5) g),
      'profile', (select row_to_json(p) from public.learner_profiles p, me where p.user_id = me.user_id),
      'predictor_scores', private.predictor_score_inputs(),
      'snapshots', (select coalesce(json_agg(json_build_object(
                      'date', s.snapshot_date, 'avg_mastery', s.avg_mastery, 'predicted_score', s.predicted_score,
                      'sections', s.predicted_section_scores, 'answered', s.questions_answered,
                      'pass_probability', s.snapshot_data -> 'pass_probability')
                      order by s.snapshot_date), '[]'::json)
                    from public.user_performance_snapshots s, me
                    where s.user_id = me.user_id and s.snapshot_type = 'daily' and s.snapshot_date >= p_since::date)
    )
  );
end;
$$;
revoke execute on function public.insights_context(timestamptz, timestamptz) from public, anon;
grant execute on function public.insights_context(timestamptz, timestamptz) to authenticated, service_role;
