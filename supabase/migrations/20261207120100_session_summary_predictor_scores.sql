-- complete_session's snapshot scores on the production predictor too (issue 15): session_summary_context sends
-- the same 'predictor_scores' as insights_context (private.predictor_score_inputs(), 20261207120000), so the
-- session summary's predicted scores and pass probability are insights' (learner/predictor_scores.py), and the
-- mastery route is left to the nightly snapshots. The rest of the body is the one of
-- 20261207050100_plan_cached_context_reads.sql.

create or replace function public.session_summary_context(p_session_id uuid)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return (
    with me as (
      select auth.uid() as user_id
    )
    select jsonb_build_object(
      'answers', (select coalesce(jsonb_agg(jsonb_build_object(
                    'question_id', sq.question_id, 'is_correct', sq.is_correct,
                    'time_spent_seconds', sq.time_spent_seconds, 'response', sq.response) order by sq.position),
                    '[]'::jsonb)
                  from public.session_questions sq, me
                  where sq.session_id = p_session_id and sq.user_id = me.user_id and sq.answered_at is not null),
      'mastery', (select coalesce(jsonb_agg(jsonb_build_object(
                    'skill_id', m.skill_id, 'effective_mastery', m.effective_mastery) order by m.skill_id), '[]'::jsonb)
                  from public.user_skill_mastery m, me where m.user_id = me.user_id),
      'skills', (select coalesce(jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name, 'topic_id', s.topic_id)
                                           order by s.id), '[]'::jsonb) from public.skills s),
      'topics', (select coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'subject_id', t.subject_id,
                                                              'exam_weight', t.exam_weight,
                                                              'exam_section', sub.exam_section) order by t.id),
                                 '[]'::jsonb)
                 from public.topics t join public.subjects sub on sub.id = t.subject_id),
      'profile', (select to_jsonb(p) from public.learner_profiles p, me where p.user_id = me.user_id),
      -- the predictor's exam-score inputs (20261207120100_session_summary_predictor_scores.sql)
      'predictor_scores', private.predictor_score_inputs()
    )
  );
end;
$$;
revoke execute on function public.session_summary_context(uuid) from public, anon;
grant execute on function public.session_summary_context(uuid) to authenticated, service_role;
