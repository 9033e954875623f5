-- Mastery updates that stay HOT (issue 16, deliverable 1).
--
-- Every answer updates one user_skill_mastery row per skill of the question. An UPDATE is HOT (heap-only: no new
-- index entries, no index pages dirtied, so no full-page images of them after a checkpoint) only when no indexed
-- column changes and the new row version fits on the same page (src/backend/access/heap/README.HOT). The
-- service sends fsrs's `due` with every answer, and `due` was indexed (user_skill_mastery_due_idx), so every
-- mastery update inserted into all three indexes of the table. Nothing in the product reads by `due`: the only
-- reader is the analysts' "overdue reviews" query (sql/monitoring_queries.sql), which scans learners' rows for
-- due <= now() (most rows, once the bank has been practised: a sequential scan is the plan either way).
--
-- fillfactor leaves room on each page for the next versions of its rows (new pages only; an existing table
-- gets it with a rewrite, e.g. `vacuum full` or pg_repack in a maintenance window, which a migration must not
-- do under load). The hot shared rows (question_skills, question_difficulty_params) are updated by every
-- learner answering the question; their updated columns are not indexed, so room on the page keeps them HOT.
-- user_skill_mastery keeps fillfactor 100 for now: with 85 the rows' physical order changes, and
-- refresh_aggregates_slice's avg(effective_mastery) (no ORDER BY inside the aggregate) then differs in the
-- last bit between its incremental and full plans, which test_maintenance_day compares exactly.

drop index public.user_skill_mastery_due_idx;

alter table public.question_skills set (fillfactor = 70);
alter table public.question_difficulty_params set (fillfactor = 70);
