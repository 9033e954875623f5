-- insights' window of answers is read from the index alone (issue 16, item 3: insights at 1M answers).
-- insights_context reads the learner's answers of the window (session_id, question_id, is_correct,
-- confidence_score, time_spent_seconds, answered_at) through session_questions_user_id_answered_at_idx, which
-- carried question_id, is_correct and time_spent_seconds but not session_id or confidence_score: every answer
-- was fetched from the heap, where a row holds its stored response and selection reason (~1.3 kB) and the
-- learner's answers lie one per page. For the busiest learner of the 1M-answer bench (1,438 answers in the
-- window) that was 1,432 heap pages and most of the block's time (benchmarks/profile_insights.py).
-- The index now also carries session_id and confidence_score, so the read is an index-only scan (answers on
-- pages the visibility map does not yet mark all-visible are still fetched). Same index, same key and
-- predicate, so no answer writes one more index entry; each entry is 18 bytes wider (uuid + smallint).
-- Built under a new name, then the old one dropped and the new one renamed (a plain build: the migration runs
-- in a transaction; it blocks writes to session_questions for the build, seconds at 1M answers).
create index session_questions_user_id_answered_at_idx_new on public.session_questions (user_id, answered_at)
  include (question_id, is_correct, time_spent_seconds, session_id, confidence_score)
  where answered_at is not null;
drop index public.session_questions_user_id_answered_at_idx;
alter index public.session_questions_user_id_answered_at_idx_new rename to session_questions_user_id_answered_at_idx;
