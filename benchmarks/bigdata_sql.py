"""The SQL statements of benchmarks/bigdata.py (set-based loads; GAUSS() is expanded by its loader)."""

from __future__ import annotations

CLEAN_COUNTERS_SKILLS = """
update public.question_skills qs set attempts = greatest(qs.attempts - n.answers, 0)
from (select sq.question_id, count(*) as answers from public.session_questions sq join bench_ids b on b.id = sq.user_id
      where sq.answered_at is not null group by sq.question_id) n
where qs.question_id = n.question_id"""

CLEAN_COUNTERS_QUESTIONS = """
update public.question_difficulty_params p set times_seen = greatest(p.times_seen - n.answers, 0)
from (select sq.question_id, count(*) as answers from public.session_questions sq join bench_ids b on b.id = sq.user_id
      where sq.answered_at is not null group by sq.question_id) n
where p.question_id = n.question_id"""

LEARNERS = """
create temp table bench_learner as
with raw as (
  select i, exp(0.8 * GAUSS()) as w, -0.2 + 0.8 * GAUSS() as theta, 0.3 + 0.9 * random() as growth,
         8 + floor(random() * 18)::int as session_size, 5 + random() * 85 as first_day_ago
  from generate_series(1, %(learners)s) i
), shares as (
  select *, (%(attempts)s - %(learners)s) * w / sum(w) over () as share from raw
), ranked as (
  select *, floor(share)::int as base,
         row_number() over (order by share - floor(share) desc, i) as frac_rank,
         (%(attempts)s - %(learners)s) - sum(floor(share)) over () as remainder
  from shares
), sized as (
  select *, 1 + base + (frac_rank <= remainder)::int as n_attempts from ranked
)
select i as idx, md5('bench-learner:' || %(seed)s || ':' || i)::uuid as user_id, theta, growth, session_size,
       n_attempts, ceil(n_attempts::numeric / session_size)::int as n_sessions,
       least(90.0, greatest(first_day_ago, ceil(n_attempts::numeric / session_size) * 0.1)) as span_days,
       %(today_every)s > 0 and i %% greatest(%(today_every)s, 1) = 0 as active_today
from sized"""

USERS = """
insert into auth.users (id, email, created_at, updated_at)
select user_id, 'bench-' || idx || %(suffix)s, now() - make_interval(days => ceil(span_days)::int + 1),
       now() - make_interval(days => ceil(span_days)::int + 1)
from bench_learner"""

QUESTIONS = """
create temp table bench_question as
select row_number() over (order by q.id)::int as ord, q.id, q.question_type, q.expected_time_seconds,
       coalesce(p.difficulty, 0) as b, k.correct_answer, k.explanation, k.correct_answer ->> 0 as key_text
from public.questions q
join public.question_answer_keys k on k.question_id = q.id
left join public.question_difficulty_params p on p.question_id = q.id
where q.is_active"""

SESSIONS = """
create temp table bench_session as
select l.idx, l.user_id, s as seq, md5('bench-session:' || %(seed)s || ':' || l.idx || ':' || s)::uuid as id,
       case when s = l.n_sessions and l.active_today   -- the day, from 01:00 to 23:00 (or 45 minutes ago)
              then %(day_start)s::timestamptz + interval '1 hour' + random()
                   * (least(now() - interval '45 minutes', %(day_start)s::timestamptz + interval '23 hours')
                      - %(day_start)s::timestamptz - interval '1 hour')
            when %(today_every)s > 0                   -- a day's bench: everything else ends before it
              then least(%(day_start)s::timestamptz - interval '2 hours', now() - interval '1 hour'
                 - make_interval(secs => l.span_days * 86400 * (1 - (s - 1 + 0.3 * random()) / l.n_sessions)))
            when s = l.n_sessions and l.idx %% 50 = 0 then now() - interval '1 hour'
            else now() - interval '1 hour'
                 - make_interval(secs => l.span_days * 86400 * (1 - (s - 1 + 0.3 * random()) / l.n_sessions)) end
         as started_at,
       case when s = l.n_sessions and l.active_today then %(today_answers)s
            else least(l.session_size, l.n_attempts - (s - 1) * l.session_size) end as n_questions,
       (s - 1) * l.session_size as attempts_before,
       floor(random() * 100000)::int as base_offset,
       case when s = l.n_sessions and l.idx %% 50 = 0 and %(today_every)s = 0 then 'active'
            when s < l.n_sessions and random() < 0.04 then 'abandoned' else 'completed' end as status,
       (array['adaptive', 'adaptive', 'adaptive', 'adaptive', 'adaptive', 'adaptive', 'adaptive', 'adaptive',
              'topic', 'review', 'exam'])[1 + floor(random() * 11)::int] as mode,
       l.theta, l.growth, l.n_attempts
from bench_learner l cross join lateral generate_series(1, l.n_sessions) s"""

# One row per answered question; a session walks consecutive questions of the bank (ordered by skill),
# so it practises one or two skills like a focused adaptive session, never the same question twice.
ATTEMPTS = """
create temp table bench_attempt as
with bank as (select count(*)::int as n from bench_question),
drawn as (
  select s.id as session_id, s.user_id, s.started_at, p as position, q.id as question_id, q.question_type,
         q.expected_time_seconds, q.b, q.key_text,
         s.theta + s.growth * 1.5 * (s.attempts_before + p)::float8 / s.n_attempts as theta_now,
         random() as u, GAUSS() as z_conf, GAUSS() as z_time, random() as u_hint,
         random() as u_solution, random() as u_wrong, random() as u_sample
  from bench_session s
  cross join lateral generate_series(1, s.n_questions) p
  cross join bank
  join bench_question q on q.ord = (s.base_offset + p - 1) %% bank.n + 1
), graded as (
  select *, 0.2 + 0.75 / (1 + exp(b - theta_now)) as p_correct from drawn
), answered as (
  select *, u < p_correct as is_correct,
         least(5.0 * expected_time_seconds, greatest(5.0,
           expected_time_seconds * exp(0.3 * (b - theta_now) + 0.35 * z_time))) as time_spent
  from graded
)
select md5('bench-attempt:' || session_id || ':' || position)::uuid as id, session_id, user_id, question_id,
       position, question_type, key_text, p_correct, u_sample, is_correct,
       round(1 + 4 * least(1.0, greatest(0.0, 0.5 * p_correct + 0.5 * is_correct::int + 0.15 * z_conf)))::smallint
         as confidence,
       round(time_spent::numeric, 1)::float8 as time_spent, u_hint < 0.06 as hint_used,
       (not is_correct and u_solution < 0.2) as solution_viewed,
       case when is_correct then key_text
            when question_type = 'numeric' then (key_text::numeric + 1 + floor(u_wrong * 3))::text
            else chr(65 + (ascii(key_text) - 65 + 1 + floor(u_wrong * 3)::int) %% 4) end as answer_text,
       shifted_start + make_interval(secs => sum(time_spent + 8) over w - time_spent - 8) as served_at,
       shifted_start + make_interval(secs => sum(time_spent + 8) over w - 8) as answered_at,
       sum(is_correct::int) over w as session_correct
from (  -- a long session that would run past now starts earlier instead
  select *, started_at - make_interval(secs => greatest(0, extract(epoch from started_at - now()) + 300
                                                            + sum(time_spent + 8) over (partition by session_id)))
              as shifted_start
  from answered) shifted
window w as (partition by session_id order by position)"""

SESSION_STARTS = """
update bench_session s set started_at = a.first_served
from (select session_id, min(served_at) as first_served from bench_attempt group by session_id) a
where a.session_id = s.id and a.first_served < s.started_at"""

# Per answer × skill of its question: running counts and the mastery / Elo / stability trajectory.
ATTEMPT_SKILLS = """
create temp table bench_attempt_skill as
with counted as (
  select a.id as attempt_id, a.user_id, a.session_id, a.question_id, a.answered_at, a.is_correct, qs.skill_id,
         row_number() over w as k,
         sum((a.is_correct and not a.solution_viewed)::int) over w as c_k,
         avg(qs.elo_difficulty) over w as mean_difficulty,
         coalesce(b.p_init, 0.2) as p_init, coalesce(b.p_guess, 0.2) as g, coalesce(b.p_slip, 0.1) as s
  from bench_attempt a
  join public.question_skills qs on qs.question_id = a.question_id
  left join public.bkt_params b on b.skill_id = qs.skill_id
  window w as (partition by a.user_id, qs.skill_id order by a.answered_at, a.id rows unbounded preceding)
), shaped as (
  select *, (c_k + 1.0) / (k + 2.0) as acc, k / (k + 3.0) as w_k from counted
), valued as (
  select *, w_k * least(0.99, greatest(0.02, (acc - g) / (1 - g - s))) + (1 - w_k) * p_init as m_k,
         1200 + w_k * (mean_difficulty - 1200 + 400 / ln(10) * ln(acc / (1 - acc))) as r_k,
         least(365.0, greatest(0.3, exp(0.22 * c_k - 0.3 * (k - c_k)))) as stability_k
  from shaped
)
select *, lag(m_k, 1, p_init) over w as m_before, lag(r_k, 1, 1200.0::float8) over w as r_before
from valued
window w as (partition by user_id, skill_id order by k)"""

RESPONSES = """
create temp table bench_response as
select x.attempt_id,
       jsonb_agg(jsonb_build_object('skill_id', x.skill_id, 'skill_name', sk.name, 'mastery_before', x.m_before,
         'mastery_after', x.m_k, 'elo_before', x.r_before, 'elo_after', x.r_k,
         'next_review_at', x.answered_at + make_interval(secs => x.stability_k * 86400)) order by x.skill_id)
         as skills,
       jsonb_agg(jsonb_build_object('skill_id', x.skill_id, 'p_mastery', x.m_k, 'effective_mastery', x.m_k,
         'elo_rating', x.r_k, 'velocity', 0.3 * (x.m_k - x.m_before)) order by x.skill_id) as event_skills,
       (array_agg(x.skill_id order by x.m_before, x.skill_id))[1] as focus_skill
from bench_attempt_skill x join public.skills sk on sk.id = x.skill_id
group by x.attempt_id"""

PRACTICE_SESSIONS = """
insert into public.practice_sessions (id, user_id, mode, status, filters, started_at, ended_at, last_activity_at,
  concepts_touched, total_interactions, mastery_gained, metadata)
select s.id, s.user_id, s.mode, s.status, '{}'::jsonb, s.started_at,
       case s.status when 'completed' then a.last_answered + interval '5 seconds'
                     when 'abandoned' then a.last_answered + interval '30 minutes' end,
       a.last_answered, g.concepts, a.answered, g.gained, jsonb_build_object('source', 'bench')
from bench_session s
join (select session_id, max(answered_at) as last_answered, count(*) as answered from bench_attempt
      group by session_id) a on a.session_id = s.id
join (select session_id, array_agg(skill_id order by skill_id) as concepts,
             jsonb_object_agg(skill_id::text, gained) as gained
      from (select session_id, skill_id, sum(m_k - m_before) as gained from bench_attempt_skill
            group by session_id, skill_id) per_skill
      group by session_id) g on g.session_id = s.id"""

SESSION_QUESTIONS = """
insert into public.session_questions (id, session_id, user_id, question_id, position, served_at, selection_reason,
  user_answer, is_correct, confidence_score, time_spent_seconds, hint_used, solution_viewed, answered_at,
  idempotency_key, response)
select a.id, a.session_id, a.user_id, a.question_id, a.position, a.served_at,
       jsonb_build_object('predicted_p_correct', round(a.p_correct::numeric, 4),
         'sampled_p_correct', round(least(0.999, greatest(0.001, a.p_correct + 0.2 * (a.u_sample - 0.5)))::numeric, 4),
         'target_band', jsonb_build_array(0.6, 0.7), 'skill_id', r.focus_skill, 'skill_name', sk.name,
         'dominant_factor', 'band', 'why', 'Chosen because its chance of success sits in your 60%%–70%% target band.',
         'component_scores', jsonb_build_object('band', 1.0, 'weakness', 0.5, 'due', 0.0, 'prerequisite', 1.0,
           'recency', 1.0, 'exposure', 0.5)),
       jsonb_build_array(a.answer_text), a.is_correct, a.confidence, a.time_spent, a.hint_used, a.solution_viewed,
       a.answered_at, 'bench:' || a.id,
       jsonb_build_object('is_correct', a.is_correct, 'correct_answer', q.correct_answer, 'explanation', q.explanation,
         'skills', r.skills, 'session_progress', jsonb_build_object('answered', a.position,
           'correct', a.session_correct, 'accuracy', a.session_correct::float8 / a.position))
from bench_attempt a
join bench_response r on r.attempt_id = a.id
join bench_question q on q.id = a.question_id
join public.skills sk on sk.id = r.focus_skill"""

# Final state per learner × skill, then one nightly decay as of today 00:00 UTC (version + 1, like apply_decay).
MASTERY = """
create temp table bench_mastery as
with last as (
  select user_id, skill_id, count(*) as n, count(*) filter (where is_correct) as correct,
         count(*) filter (where k > 1 and not is_correct) as lapses, min(answered_at) as first_at,
         max(answered_at) as last_at, (array_agg(m_k order by k desc))[1] as p_mastery,
         (array_agg(m_before order by k desc))[1] as m_prev, (array_agg(r_k order by k desc))[1] as elo,
         (array_agg(stability_k order by k desc))[1] as stability, avg(is_correct::int) as accuracy
  from bench_attempt_skill group by user_id, skill_id
), decayed as (
  select *, p_mastery * power(1 + %(fsrs_factor)s / stability
           * greatest(0, floor(extract(epoch from %(day_start)s::timestamptz - last_at) / 86400)), %(fsrs_decay)s)
           as effective
  from last
)
select *, effective < p_mastery - 1e-6 as decays from decayed"""

USER_SKILL_MASTERY = """
insert into public.user_skill_mastery (user_id, skill_id, p_mastery, effective_mastery, elo_rating, elo_uncertainty,
  elo_count, stability, difficulty, memory_state, memory_step, last_review, due, reps, lapses, total_attempts,
  correct_attempts, learning_velocity, plateau_flag, last_practiced_at, version, created_at, updated_at)
select user_id, skill_id, p_mastery, case when decays then effective else p_mastery end, elo,
       greatest(16.0, 64.0 / (1 + 0.1 * n)), n, stability, least(10.0, greatest(1.0, 1 + 9 * (1 - accuracy))), 2, null,
       last_at, last_at + make_interval(secs => stability * 86400), n, lapses, n, correct, 0.3 * (p_mastery - m_prev),
       n >= 8 and abs(0.3 * (p_mastery - m_prev)) < 0.01 and p_mastery < 0.95, last_at,
       n + decays::int, first_at,
       case when decays then %(day_start)s::timestamptz + interval '5 minutes' else last_at end
from bench_mastery"""

MASTERY_HISTORY = """
insert into public.mastery_history (user_id, skill_id, session_id, question_id, trigger_type, mastery_before,
  mastery_after, p_mastery_after, elo_rating_after, mastery_version, created_at)
select user_id, skill_id, session_id, question_id, 'question', m_before, m_k, m_k, r_k, k, answered_at
from bench_attempt_skill
union all
select user_id, skill_id, null, null, 'decay', p_mastery, effective, p_mastery, elo, n + 1,
       %(day_start)s::timestamptz + interval '5 minutes'
from bench_mastery where decays"""

PARTITIONS = """
select private.ensure_learning_event_partitions(
  (select min(started_at) from bench_session)::date,
  ((extract(year from now()) - extract(year from (select min(started_at) from bench_session))) * 12
   + extract(month from now()) - extract(month from (select min(started_at) from bench_session)) + 2)::int)"""

LEARNING_EVENTS = """
insert into public.learning_events (user_id, session_id, question_id, event_type, event_data, created_at)
select s.user_id, s.id, null::bigint, 'session_started', jsonb_build_object('mode', s.mode, 'filters', '{}'::jsonb),
       s.started_at
from bench_session s
union all
select a.user_id, a.session_id, a.question_id, 'question_served',
       jsonb_build_object('position', a.position, 'reason', sq.selection_reason), a.served_at
from bench_attempt a join public.session_questions sq on sq.id = a.id
union all
select a.user_id, a.session_id, a.question_id, 'answer_submitted', jsonb_build_object(
         'idempotency_key', 'bench:' || a.id, 'is_correct', a.is_correct, 'confidence_score', a.confidence,
         'time_spent_seconds', a.time_spent, 'hint_used', a.hint_used, 'solution_viewed', a.solution_viewed,
         'answered_at', a.answered_at, 'skills', r.event_skills), a.answered_at
from bench_attempt a join bench_response r on r.attempt_id = a.id
union all
select p.user_id, p.id, null, 'session_completed', jsonb_build_object('snapshot_id', snap.id,
         'questions_answered', p.total_interactions, 'correct_answers', c.correct), p.ended_at
from public.practice_sessions p join bench_session s on s.id = p.id
join public.user_performance_snapshots snap on snap.related_id = p.id and snap.snapshot_type = 'session_complete'
join (select session_id, count(*) filter (where is_correct) as correct from bench_attempt group by session_id) c
  on c.session_id = p.id
where p.status = 'completed'"""

# Snapshots: avg mastery = mean mastery after the unit's answers (a cheap stand-in for "all skills so far"),
# running totals. Everything is aggregated from the answer × skill rows in one pass per unit (no joins
# between aggregates: their row estimates are poor and would turn the joins into nested loops).
SNAPSHOTS = """
insert into public.user_performance_snapshots (user_id, snapshot_type, snapshot_date, related_id, avg_mastery,
  skills_tracked, predicted_score, predicted_score_low, predicted_score_high, questions_answered, correct_answers,
  total_questions_answered, snapshot_data, created_at)
with per_session as (
  select session_id, count(distinct attempt_id) as answered, count(distinct attempt_id) filter (where is_correct)
         as correct, avg(m_k) as m, count(distinct skill_id) as skills
  from bench_attempt_skill group by session_id
), units as (
  select p.user_id, 'session_complete' as kind, (p.ended_at at time zone 'UTC')::date as day, p.id as related,
         ps.m, ps.skills, ps.answered, ps.correct, p.last_activity_at as at, p.status = 'completed' as keep
  from public.practice_sessions p join per_session ps on ps.session_id = p.id
  union all
  select user_id, 'daily', (answered_at at time zone 'UTC')::date, null, avg(m_k), count(distinct skill_id),
         count(distinct attempt_id), count(distinct attempt_id) filter (where is_correct),
         ((answered_at at time zone 'UTC')::date + 1)::timestamp at time zone 'UTC' + interval '10 minutes', true
  from bench_attempt_skill
  where answered_at < %(day_start)s::timestamptz
  group by user_id, (answered_at at time zone 'UTC')::date
)
select user_id, kind, day, related, m, skills, round((200 + 600 * m) / 10) * 10, round((140 + 600 * m) / 10) * 10,
       round((260 + 600 * m) / 10) * 10, answered, correct, total,
       jsonb_build_object('questions_answered', answered, 'correct_answers', correct, 'cut_score', 600), at
from (select *, sum(answered) over (partition by user_id, kind order by at rows unbounded preceding) as total
      from units) running
where keep"""

COUNTERS_SKILLS = """
update public.question_skills qs set attempts = qs.attempts + n.answers
from (select question_id, count(*) as answers from bench_attempt group by question_id) n
where qs.question_id = n.question_id"""

COUNTERS_QUESTIONS = """
update public.question_difficulty_params p set times_seen = p.times_seen + n.answers
from (select question_id, count(*) as answers from bench_attempt group by question_id) n
where p.question_id = n.question_id"""

FULL_STEPS: list[tuple[str, str, bool]] = [
    ("(plan learners)", LEARNERS, False),
    ("auth.users", USERS, True),
    ("(plan questions)", QUESTIONS, False),
    ("(plan sessions)", SESSIONS, False),
    ("(draw answers)", ATTEMPTS, False),
    ("(sessions shifted to end before now)", SESSION_STARTS, False),
    ("(answer × skill trajectories)", ATTEMPT_SKILLS, False),
    ("(stored responses)", RESPONSES, False),
    ("practice_sessions", PRACTICE_SESSIONS, True),
    ("session_questions", SESSION_QUESTIONS, True),
    ("(final mastery)", MASTERY, False),
    ("user_skill_mastery", USER_SKILL_MASTERY, True),
    ("mastery_history", MASTERY_HISTORY, True),
    ("user_performance_snapshots", SNAPSHOTS, True),
    ("(learning_events partitions)", PARTITIONS, False),
    ("learning_events", LEARNING_EVENTS, True),
    ("(question_skills.attempts)", COUNTERS_SKILLS, False),
    ("(question_difficulty_params.times_seen)", COUNTERS_QUESTIONS, False),
    ("(analyze)", "analyze public.practice_sessions, public.session_questions, public.user_skill_mastery, "
                  "public.mastery_history, public.learning_events, public.user_performance_snapshots, auth.users",
     False),
]

# A day's bench: every learner holds `skills` mastery rows. Skills not practised in the 90-day window were
# practised before it (last review 91-180 days ago, stored value already decayed as of today 00:00 like
# the rest): the skills a learner met earlier and has not revisited.
MASTERY_TOP_UP = """
insert into public.user_skill_mastery (user_id, skill_id, p_mastery, effective_mastery, elo_rating, elo_uncertainty,
  elo_count, stability, difficulty, memory_state, memory_step, last_review, due, reps, lapses, total_attempts,
  correct_attempts, learning_velocity, plateau_flag, last_practiced_at, version, created_at, updated_at)
with skill_list as (select array_agg(id order by id) as ids, count(*)::int as n from public.skills),
have as (select m.user_id, count(*)::int as n from public.user_skill_mastery m
         join bench_learner l on l.user_id = m.user_id group by m.user_id),
candidates as (
  select l.user_id, k, sl.ids[(l.idx * 7 + k) %% sl.n + 1] as skill_id
  from bench_learner l cross join skill_list sl cross join generate_series(0, 2 * %(skills)s - 1) k
),
missing as (
  select c.user_id, c.skill_id, row_number() over (partition by c.user_id order by c.k) as rn
  from candidates c
  where not exists (select 1 from public.user_skill_mastery m where m.user_id = c.user_id and m.skill_id = c.skill_id)
),
drawn as (
  select mi.user_id, mi.skill_id, 1 + floor(exp(1.2 + 0.8 * GAUSS()))::int as n, 0.35 + 0.55 * random() as accuracy,
         least(200.0, greatest(0.5, exp(ln(8.0) + 1.0 * GAUSS()))) as stability,
         %(day_start)s::timestamptz - make_interval(secs => (91 + 89 * random()) * 86400) as last_review
  from missing mi left join have h on h.user_id = mi.user_id
  where mi.rn <= %(skills)s - coalesce(h.n, 0)
),
counted as (
  select *, round(n * accuracy)::int as correct,
         least(0.99, greatest(0.02, (accuracy - 0.2) / 0.7 * n / (n + 3.0) + 0.2 * 3 / (n + 3.0))) as p_mastery
  from drawn
)
select user_id, skill_id, p_mastery,
       p_mastery * power(1 + %(fsrs_factor)s / stability
                         * floor(extract(epoch from %(day_start)s::timestamptz - last_review) / 86400), %(fsrs_decay)s),
       1200 + 400 / ln(10) * ln(accuracy / (1 - accuracy)), greatest(16.0, 64.0 / (1 + 0.1 * n)), n, stability,
       1 + 9 * (1 - accuracy), 2, null, last_review, last_review + make_interval(secs => stability * 86400), n,
       least(n - correct, greatest(n - 1, 0)), n, correct, 0.0, false, last_review, n + 1, last_review,
       %(day_start)s::timestamptz + interval '5 minutes'
from counted"""

MASTERY_ONLY_USERS = """
insert into auth.users (id, email, created_at, updated_at)
select md5('bench-learner:' || %(seed)s || ':' || i)::uuid, 'bench-' || i || %(suffix)s,
       now() - interval '120 days', now() - interval '120 days'
from generate_series(1, %(learners)s) i"""

# Each learner holds `skills` consecutive skills of the bank from a learner-specific offset. Reviews are
# spread over 90 days (more of them recent), stability log-normal around 3 days: most rows are due or
# overdue, so decay changes nearly every row whose last review is at least a whole day old.
MASTERY_ONLY_ROWS = """
insert into public.user_skill_mastery (user_id, skill_id, p_mastery, effective_mastery, elo_rating, elo_uncertainty,
  elo_count, stability, difficulty, memory_state, memory_step, last_review, due, reps, lapses, total_attempts,
  correct_attempts, learning_velocity, plateau_flag, last_practiced_at, version, created_at, updated_at)
with skill_list as (select array_agg(id order by id) as ids, count(*)::int as n from public.skills),
drawn as (
  select u.id as user_id, sl.ids[(i * 7 + k) %% sl.n + 1] as skill_id,
         1 + floor(exp(1.6 + 0.9 * GAUSS()))::int as n, 0.35 + 0.55 * random() as accuracy,
         least(200.0, greatest(0.2, exp(ln(3.0) + 1.1 * GAUSS()))) as stability,
         now() - make_interval(secs => 90 * 86400 * power(random(), 1.6)) as last_review
  from generate_series(1, %(learners)s) i
  join auth.users u on u.id = md5('bench-learner:' || %(seed)s || ':' || i)::uuid
  cross join skill_list sl cross join generate_series(0, %(skills)s - 1) k
), counted as (
  select *, round(n * accuracy)::int as correct,
         least(0.99, greatest(0.02, (accuracy - 0.2) / 0.7 * n / (n + 3.0) + 0.2 * 3 / (n + 3.0))) as p_mastery
  from drawn
)
select user_id, skill_id, p_mastery, p_mastery, 1200 + 400 / ln(10) * ln(accuracy / (1 - accuracy)),
       greatest(16.0, 64.0 / (1 + 0.1 * n)), n, stability, 1 + 9 * (1 - accuracy), 2, null, last_review,
       last_review + make_interval(secs => stability * 86400), n, least(n - correct, greatest(n - 1, 0)), n, correct,
       0.0, false, last_review, n, last_review - interval '30 days', last_review
from counted"""

# The production predictor's state (learner_predictor_state, learner_skill_predictor_state), as record_answer
# leaves it: θ and each practised skill's δ drawn around 0, counts from the learner's mastery rows. The nightly
# snapshots read it (snapshot_inputs → predictor_score_inputs_of): without it their cost would be understated.
PREDICTOR_LEARNERS = """
insert into public.learner_predictor_state (user_id, theta, answers, correct)
select m.user_id, least(3.0, greatest(-3.0, 0.9 * GAUSS())), sum(m.total_attempts), sum(m.correct_attempts)
from public.user_skill_mastery m join bench_learner l on l.user_id = m.user_id
group by m.user_id
"""
PREDICTOR_SKILLS = """
insert into public.learner_skill_predictor_state (user_id, skill_id, deviation, answers, correct)
select m.user_id, m.skill_id, least(2.0, greatest(-2.0, 0.4 * GAUSS())), m.total_attempts, m.correct_attempts
from public.user_skill_mastery m join bench_learner l on l.user_id = m.user_id
"""
