-- The nightly refits' read (private.refit_answers) now returns each answer's seconds from serving to answering
-- (20261207205100_attempt_log_served_seconds.sql): the predictor replay weighs each answer by the evidence its
-- online step had. session_questions_user_id_answered_at_idx served that read as an index-only scan; it now
-- carries served_at too, so it still does (a row holds ~1.3 kB of stored response: a heap fetch per answer would
-- cost the nightly read a page per answer). Same key and predicate: no answer writes one more index entry; each
-- entry is 8 bytes wider. Built under a new name, then swapped (as 20261207170000_insights_attempts_covering_index).
create index session_questions_user_id_answered_at_idx_new on public.session_questions (user_id, answered_at)
  include (question_id, is_correct, time_spent_seconds, session_id, confidence_score, served_at)
  where answered_at is not null;
drop index public.session_questions_user_id_answered_at_idx;
alter index public.session_questions_user_id_answered_at_idx_new rename to session_questions_user_id_answered_at_idx;
