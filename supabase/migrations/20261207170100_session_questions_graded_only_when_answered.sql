-- A graded row is an answered row: is_correct is set only together with answered_at (record_answer's UPDATE
-- writes both; no other writer sets is_correct). The table already required the converse (answered ⇒ graded),
-- so with this check `is_correct is not null` and `answered_at is not null` select the same rows, and a read of
-- the learner's graded answers may say `answered_at is not null` as well, which lets the planner use the
-- partial covering index session_questions_user_id_answered_at_idx (where answered_at is not null) as an
-- index-only scan instead of fetching every answer's heap row (private.predictor_score_inputs, insights and
-- complete_session's predicted scores: 20261207170300).
-- Added NOT VALID and then validated: the validation scans the table under SHARE UPDATE EXCLUSIVE, which does
-- not block the answers being written meanwhile.
alter table public.session_questions
  add constraint session_questions_graded_only_when_answered check (is_correct is null or answered_at is not null)
  not valid;
alter table public.session_questions validate constraint session_questions_graded_only_when_answered;
