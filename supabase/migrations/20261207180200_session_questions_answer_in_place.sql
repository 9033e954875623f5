-- session_questions: room on the page for the answer (issue 16, deliverable 1: WAL per record_answer).
--
-- serve_question inserts a small row (ids, position, served_at, selection_reason); record_answer later fills in
-- the answer, the stored request and response, and the row grows several-fold (bench_db's rows ~200 B → ~480 B;
-- the bigdata rows, with the service's full response, ~1,300 B). Inserts filled pages to 100 %, so the answered
-- version never fitted on its own page: Postgres first wrote a heap LOCK record on the old page, then put the new
-- version on whatever page the free-space map offered, usually an old page last written before the latest
-- checkpoint, hence a full-page image (pg_walinspect over bench_db's record phase: 0.90 LOCK records and
-- 0.72 full-page images per answer on this table's UPDATE, ~5.9 KB of the ~9–15 KB of WAL per answer).
--
-- With fillfactor 25, serve_question's inserts stop at a quarter of a page and leave the rest for the answers of
-- the same rows: a page ends up full of answered rows, as before, but each answer is written to the page its
-- row was served on (dirtied seconds before, normally in the same checkpoint cycle). The update still enters
-- every index (it sets answered_at and idempotency_key, which are indexed). A row served and never answered
-- (an abandoned session) leaves its page's reserve unused. Applies to pages written from now on; existing
-- pages keep their layout until the table is rewritten (not needed: they are all answered or abandoned).

alter table public.session_questions set (fillfactor = 25);
