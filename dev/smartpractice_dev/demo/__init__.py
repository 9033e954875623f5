"""`make demo`: a simulated cohort with KNOWN true abilities practising through the real functions.

What it does (python -m smartpractice_dev.demo --help for the flags):
1. Starts the local gateway (`python -m supalocal gateway`, which also serves /functions/v1/<name>) on a
   spare port with the functions' environment, and stops it at the end, on errors and on Ctrl-C.
2. Creates the cohort: users in auth.users (emails demo-<run>-<n>@demo.test; they stay after the run,
   `--cleanup` deletes earlier ones first), a learner JWT each, and for each a simulated learner from
   smartpractice_dev/simulation.py with a true ability θ per skill. The seeded bank is mapped to simulated questions
   (world.py: skills, Elo difficulty → logits). Half the learners, at random, form a control group whose
   questions next_question draws uniformly at random (`"strategy": "random"`).
3. Every simulated day, each scheduled learner runs its sessions over HTTP with its JWT: start_session →
   (next_question → submit_answer)×n → complete_session. The simulated learner answers correctly with its
   model probability and submits the key (read as the superuser from question_answer_keys: the demo is an
   operator tool) or a wrong option/number. After the day, run_maintenance runs for a date of its own.
4. Prints how well the backend recovered the truth (correlations, success rate vs the target band,
   questions to true mastery adaptive vs random, calibration, one learner's insights) and writes PNGs.

Time: the simulated learners live on SIMULATED time — sessions on simulated days, answers spaced by their
simulated time spent — and forget on that calendar. The backend stamps everything with the wall clock, so it
sees the whole multi-week run compressed into a few minutes: its forgetting (FSRS retrievability, the decay
step), trends, velocities and "days to ready" are not what the demo demonstrates. Each simulated day's
maintenance gets its own run date (the first stretch of consecutive dates from today on that no earlier
maintenance run recorded) so it is not skipped as a duplicate; its decay step is left out (see
runner.MAINTENANCE_STEPS).

Side effects on the local database besides the demo users: the additive Elo difficulty updates of the
answered questions, the nightly BKT/IRT refits and the maintenance bookkeeping for the run dates —
`make stack-reset` restores the pristine seed.
"""
