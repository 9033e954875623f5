-- question_catalog: one row per active question with its skills (id, name, Elo difficulty, attempts)
-- as a json array, readable by learners over /rest/v1. The functions read it only in start_session, to
-- check that a requested subject has an active question; next_question loads its pool through the
-- question_bank RPC instead. security_invoker: callers see exactly what the underlying tables' RLS allows them
-- (content is readable by authenticated users).
create view public.question_catalog
with (security_invoker = true)
as
select q.id,
       q.topic_id,
       t.subject_id,
       q.question_type,
       q.difficulty_label,
       q.exam_section,
       q.expected_time_seconds,
       coalesce(p.times_seen, 0) as times_seen,
       jsonb_agg(jsonb_build_object(
         'skill_id', qs.skill_id,
         'name', s.name,
         'elo_difficulty', qs.elo_difficulty,
         'attempts', qs.attempts,
         'weight', qs.weight) order by qs.skill_id) as skills,
       array_agg(qs.skill_id order by qs.skill_id) as skill_ids
from public.questions q
join public.topics t on t.id = q.topic_id
join public.question_skills qs on qs.question_id = q.id
join public.skills s on s.id = qs.skill_id
left join public.question_difficulty_params p on p.question_id = q.id
where q.is_active
group by q.id, t.subject_id, p.times_seen;

revoke all on public.question_catalog from anon, authenticated, service_role;
grant select on public.question_catalog to authenticated, service_role;
