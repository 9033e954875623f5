-- Answer keys: separate table readable by no learner (trust boundary rule 4). RLS is on with no
-- policy for anon/authenticated AND their privileges are revoked; the grading function reads it
-- with the service role.

create table public.question_answer_keys (
  question_id bigint primary key references public.questions (id) on delete cascade,
  correct_answer jsonb not null check (jsonb_typeof(correct_answer) = 'array'),  -- ["B"] or ["42"]
  numeric_tolerance double precision check (numeric_tolerance is null or numeric_tolerance >= 0),
  explanation text,
  updated_at timestamptz not null default now()
);

alter table public.question_answer_keys enable row level security;

revoke all on public.question_answer_keys from anon, authenticated;
revoke truncate, references, trigger on public.question_answer_keys from service_role;
