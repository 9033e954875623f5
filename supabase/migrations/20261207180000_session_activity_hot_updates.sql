-- The session row's per-answer update becomes HOT (issue 16, deliverable 1: WAL per record_answer).
--
-- record_answer (and serve_question) set practice_sessions.last_activity_at = now() on every call. That column
-- was the key of practice_sessions_active_last_activity_idx (20261207020100_abandon_idle_sessions.sql), so no
-- such update could be HOT: each wrote a new heap version on another page plus one entry in each of the
-- table's 5 indexes (pg_walinspect over bench_db's record phase: 1.0 UPDATE + 5.0 INSERT_LEAF records per
-- answer, and the same per serve).
--
-- The idle sweep (abandon_idle_sessions) and the monitoring query need an index over the ACTIVE sessions
-- only, not one keyed on last_activity_at: a session is active for minutes, a learner has at most 3 active
-- sessions (start_session abandons beyond that), and the nightly sweep abandons the idle ones, so the partial
-- index below holds a small set. Keyed on started_at, which never changes after the insert, it leaves
-- total_interactions and last_activity_at outside every index, so the per-answer update is HOT when the page
-- has room. abandon_idle_sessions is unchanged (same rows, same order, same limit): it now reads the active
-- sessions from this index and sorts the idle ones by last_activity_at, instead of reading them in that order.
-- Its cost grows with the active sessions rather than with the idle ones; both are bounded by 3 per learner.

create index practice_sessions_active_started_at_idx
  on public.practice_sessions (started_at, id) where status = 'active';

drop index public.practice_sessions_active_last_activity_idx;
