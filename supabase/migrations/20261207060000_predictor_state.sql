-- The production predictor's own state (issue 15; smartpractice.learner.predictor):
--   P = c + (1 − c) σ(w · x),  x = [1, θ + mean_k δ_k − b_q, per-skill and overall log success/failure counts]
-- An earlier attempt derived θ/δ from the stored Elo ratings and made selection worse, so the predictor keeps
-- its own state. Written only by private.apply_predictor_update (record_answer, bounded steps) and by the
-- nightly job (service role); learners read their own rows, content is readable by every signed-in learner.
-- Separate tables rather than columns on user_skill_mastery: every update of a mastery row bumps its
-- optimistic version, so a second write per answer there would cost the mastery writers their versions.

-- Per learner: global ability θ (logits) and answer counts over all skills.
create table public.learner_predictor_state (
  user_id uuid primary key references auth.users (id) on delete cascade,
  theta double precision not null default 0 check (theta between -6 and 6),
  answers integer not null default 0 check (answers >= 0),
  correct integer not null default 0 check (correct >= 0 and correct <= answers),
  updated_at timestamptz not null default now()
);
comment on table public.learner_predictor_state is
  'Predictor: the learner''s global ability theta (logits, ±6) and answers/correct over all skills.';

-- Per learner × skill: deviation δ from θ (logits; prior 0, shrinks toward θ) and the skill's answer counts.
create table public.learner_skill_predictor_state (
  user_id uuid not null references auth.users (id) on delete cascade,
  skill_id bigint not null references public.skills (id) on delete cascade,
  deviation double precision not null default 0 check (deviation between -6 and 6),
  answers integer not null default 0 check (answers >= 0),
  correct integer not null default 0 check (correct >= 0 and correct <= answers),
  updated_at timestamptz not null default now(),
  primary key (user_id, skill_id)
);
create index learner_skill_predictor_state_skill_id_idx on public.learner_skill_predictor_state (skill_id);
comment on table public.learner_skill_predictor_state is
  'Predictor: per learner and skill, the deviation from theta (logits, ±6) and answers/correct on the skill.';

-- Per question: difficulty b in logits (null: not calibrated yet; readers then use the seed from the Elo rows,
-- private.predictor_seed_difficulty) and the answers that moved it online (drives the step size K).
alter table public.question_difficulty_params
  add column predictor_difficulty double precision check (predictor_difficulty between -6 and 6),
  add column predictor_answers integer not null default 0 check (predictor_answers >= 0);

-- The nightly weights over (bias, z, skill_successes, skill_failures, successes, failures), with the fit's
-- sample size and metrics (predicted before each answer of the sample). The latest row is served.
create table public.predictor_weights (
  id bigint generated always as identity primary key,
  fitted_at timestamptz not null default now(),
  n_answers integer not null check (n_answers >= 0),
  weights double precision[] not null check (cardinality(weights) = 6 and array_position(weights, null) is null),
  auc double precision check (auc between 0 and 1),
  log_loss double precision check (log_loss >= 0),
  ece double precision check (ece between 0 and 1)
);
create index predictor_weights_fitted_at_idx on public.predictor_weights (fitted_at desc, id desc);
comment on table public.predictor_weights is
  'Predictor calibration weights, one row per nightly fit (n_answers 0: the plain model sigma(z) before any fit).';
-- Before the first fit the predictor is the plain logistic model σ(z) (predictor.Weights()).
insert into public.predictor_weights (fitted_at, n_answers, weights)
values ('2000-01-01T00:00:00Z', 0, '{0, 1, 0, 0, 0, 0}');

alter table public.learner_predictor_state enable row level security;
alter table public.learner_skill_predictor_state enable row level security;
alter table public.predictor_weights enable row level security;

create policy "Learners can read their own predictor state" on public.learner_predictor_state
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Learners can read their own skill predictor state" on public.learner_skill_predictor_state
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Authenticated users can read predictor weights" on public.predictor_weights
  for select to authenticated using (true);

revoke all on public.learner_predictor_state, public.learner_skill_predictor_state, public.predictor_weights
  from anon;
revoke insert, update, delete, truncate, references, trigger on public.learner_predictor_state,
  public.learner_skill_predictor_state, public.predictor_weights from authenticated;
revoke truncate, references, trigger on public.learner_predictor_state, public.learner_skill_predictor_state,
  public.predictor_weights from service_role;
-- the identity's sequence: written through insert_predictor_weights (as service_role) only
revoke all on sequence public.predictor_weights_id_seq from anon, authenticated;
