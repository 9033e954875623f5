"""Issue 14, deliverable 5: peer statistics that can't be subtracted.

The nightly cohort release (migration 20261207020000_cohort_release_noise.sql: k = 50, a Laplace-noised
histogram of 20 bins with epsilon 1, figures rounded to 0.05, noise seeded per release date) is checked
against an independent numpy reference, then attacked: the sybil subtraction (the attacker owns every other
member of the cohort and knows their values exactly) and the two-night difference, 200 seeded trials each
through the real release function, and once end to end (the official supabase client for the sybils' own
REST reads and the cohort RPC, the insights function for the target).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import pytest
from supabase import ClientOptions, create_client

from smartpractice.learner.insights import percentile_from_breakpoints
from supalocal.keys import anon_key, service_role_key
from tests.figures import record
from tests.integration.conftest import Learner, LiveStack

pytestmark = pytest.mark.stack

BINS, K, EPSILON, STEP = 20, 50, 1.0, 0.05
TOLERANCE = 0.05  # the attack succeeds when it recovers the target within this
TRIALS = 200
# (raw, clipped, blind) hits per attack, measured with the seeds below
MEASURED = [(2, 13, 24), (0, 16, 17), (5, 17, 22)]
FIGURES = ("learners", "mean_mastery", "p10", "p25", "p50", "p75", "p90", "share_below_half")


def _round_step(x: float) -> float:
    return float(np.floor(x / STEP + 0.5)) / (1 / STEP)  # SQL round(numeric): half away from zero (x >= 0)


def reference_release(counts: npt.ArrayLike, seed: str, scope: str) -> tuple[float, ...] | None:
    """The release written again in numpy from the migration's description, to check the SQL against."""
    true = np.asarray(counts, dtype=np.float64)
    u = np.array([(int.from_bytes(hashlib.sha256(f"{seed}|{scope}|{i}".encode()).digest()[:7], "big") + 0.5) / 2**56
                  for i in range(1, BINS + 1)])
    noisy = np.maximum(0.0, true - (2.0 / EPSILON) * np.sign(u - 0.5) * np.log(1.0 - 2.0 * np.abs(u - 0.5)))
    total = float(noisy.sum())
    if total < 1.0:
        return None
    mids = (np.arange(BINS) + 0.5) / BINS
    cumulative = np.concatenate([[0.0], np.cumsum(noisy)])
    points = []
    for q in (0.10, 0.25, 0.50, 0.75, 0.90):
        i = int(np.argmax((cumulative[1:] >= q * total) & (noisy > 0)))
        points.append((i + (q * total - cumulative[i]) / noisy[i]) / BINS)
    return (float(max(K, np.floor(total / 10 + 0.5) * 10)), _round_step(float(mids @ noisy) / total),
            *(_round_step(p) for p in points), _round_step(float(noisy[: BINS // 2].sum()) / total))


def _bins(values: npt.NDArray[np.float64]) -> list[int]:
    return [int(c) for c in np.bincount(np.clip(np.floor(values * BINS).astype(int), 0, BINS - 1), minlength=BINS)]


def _release(conn: psycopg.Connection, counts: list[int], seed: str, scope: str) -> tuple[float, ...] | None:
    row = conn.execute(f"select {', '.join(FIGURES)} from private.cohort_release_figures(%s, %s, %s)",
                       (counts, seed, scope)).fetchone()
    return None if row is None else tuple(float(v) for v in row)


@pytest.fixture()
def pg(live_stack: LiveStack) -> Iterator[psycopg.Connection]:
    with psycopg.connect(live_stack.settings.dsn(), autocommit=True) as conn:
        yield conn


def test_sql_release_equals_the_numpy_reference(pg: psycopg.Connection) -> None:
    rng = np.random.default_rng(20261207)
    cases = [(_bins(rng.beta(a, b, size=n)), f"ref-seed-{i:03d}", scope)
             for i, (a, b, n, scope) in enumerate([(2, 2, 50, "all"), (5, 1, 80, "7"), (1, 5, 400, "12"),
                                                   (0.5, 0.5, 1000, "all"), (8, 8, 60, "3")])]
    for counts, seed, scope in cases:
        sql, ref = _release(pg, counts, seed, scope), reference_release(counts, seed, scope)
        assert sql is not None and ref is not None
        assert sql == pytest.approx(ref, abs=1e-12), (counts, seed, scope)
    # The noise is fixed per (seed, scope): reading again gives the same figures; another night differs.
    counts, seed, scope = cases[0]
    assert _release(pg, counts, seed, scope) == _release(pg, counts, seed, scope)
    assert _release(pg, counts, "another-night", scope) != _release(pg, counts, seed, scope)


class Trials:
    """Hits within ±TOLERANCE of the raw subtraction, of the same guess clipped to [0, 1] (the attacker knows
    the range) and of a blind guess of 0.5 (no release at all: what clipping adds is only this prior)."""

    def __init__(self) -> None:
        self.raw = self.clipped = self.blind = 0
        self.errors: list[float] = []

    def add(self, guess: float, target: float) -> None:
        self.errors.append(abs(guess - target))
        self.raw += abs(guess - target) <= TOLERANCE
        self.clipped += abs(float(np.clip(guess, 0.0, 1.0)) - target) <= TOLERANCE
        self.blind += abs(0.5 - target) <= TOLERANCE

    def note(self) -> str:
        return (f"within ±{TOLERANCE}; median error {np.median(self.errors):.2f}; clipped to [0, 1] "
                f"{self.clipped}, blind guess 0.5 {self.blind}")


def _subtraction_trials(pg: psycopg.Connection, sybils_at_zero: bool) -> Trials:
    """The attacker owns the other K - 1 members and knows their values: target = K · mean − their sum."""
    rng = np.random.default_rng(14_0005 + int(sybils_at_zero))
    trials = Trials()
    for trial in range(TRIALS):
        sybils = np.zeros(K - 1) if sybils_at_zero else rng.beta(2, 2, size=K - 1)
        target = float(rng.uniform(0.0, 1.0))
        released = _release(pg, _bins(np.append(sybils, target)), f"trial-{int(sybils_at_zero)}-{trial:04d}", "5")
        assert released is not None
        trials.add(K * released[1] - float(sybils.sum()), target)
    return trials


def _difference_trials(pg: psycopg.Connection) -> Trials:
    """Two nights: K sybils alone, then K sybils and the target: target = (K+1) · mean₂ − K · mean₁."""
    rng = np.random.default_rng(14_0007)
    trials = Trials()
    for trial in range(TRIALS):
        sybils, target = rng.beta(2, 2, size=K), float(rng.uniform(0.0, 1.0))
        night1 = _release(pg, _bins(sybils), f"night-a-{trial:04d}", "5")
        night2 = _release(pg, _bins(np.append(sybils, target)), f"night-b-{trial:04d}", "5")
        assert night1 is not None and night2 is not None
        trials.add((K + 1) * night2[1] - K * night1[1], target)
    return trials


def test_sybil_subtraction_recovers_the_target_in_under_5_percent_of_trials(pg: psycopg.Connection) -> None:
    honest = _subtraction_trials(pg, sybils_at_zero=False)
    zeroed = _subtraction_trials(pg, sybils_at_zero=True)
    differenced = _difference_trials(pg)
    record(check="peer release: 49 sybils + target, K·mean − sum (seeded trials)", tried=TRIALS,
           succeeded=honest.raw, note=honest.note())
    record(check="peer release: 49 sybils at mastery 0 + target", tried=TRIALS, succeeded=zeroed.raw,
           note=zeroed.note())
    record(check="peer release: two nights, without and with the target", tried=TRIALS,
           succeeded=differenced.raw, note=differenced.note())
    assert [(t.raw, t.clipped, t.blind) for t in (honest, zeroed, differenced)] == MEASURED
    assert max(honest.raw, zeroed.raw, differenced.raw) < 0.05 * TRIALS
    # Clipping to the known range adds only the prior: no better than a blind guess by more than 5 trials.
    assert all(t.clipped <= t.blind + 5 for t in (honest, zeroed, differenced))


def _as(stack: LiveStack, learner: Learner) -> Any:
    return create_client(stack.url, anon_key(stack.settings.jwt_secret),
                         ClientOptions(headers={"Authorization": f"Bearer {learner.token}"}, httpx_client=stack.http))


def _cohort(stack: LiveStack, learner: Learner, skill_id: int | None) -> dict[str, Any]:
    rows: list[dict[str, Any]] = _as(stack, learner).rpc("cohort_mastery_distribution",
                                                          {"p_skill_id": skill_id}).execute().data
    assert len(rows) == 1, rows
    return rows[0]


def _release_night(stack: LiveStack, pg: psycopg.Connection, night: date) -> int:
    """The nightly release through the gateway as the maintenance job calls it, with a known seed."""
    pg.execute("insert into private.cohort_release_seeds (released_on, seed) values (%s, %s)",
               (night, f"end-to-end-attack-seed-{night.isoformat()}-0123456789"))
    service = service_role_key(stack.settings.jwt_secret)
    response = stack.http.post(f"{stack.url}/rest/v1/rpc/refresh_cohort_stats",
                               json={"p_release_date": night.isoformat()},
                               headers={"apikey": service, "Authorization": f"Bearer {service}"})
    assert response.status_code == 200, response.text
    return int(response.json()["cohort_stats_rows"])


def test_end_to_end_subtraction_through_rest_and_functions(
        live_stack: LiveStack, pg: psycopg.Connection, make_learner: Callable[[], Learner]) -> None:
    pg.execute("delete from private.cohort_mastery_stats where true")  # restored after the test
    pg.execute("delete from private.cohort_release_seeds where true")
    skill = int(pg.execute("""insert into skills (topic_id, code, name)
                              values (1, %s, 'Peer attack') returning id""", (f"t.{uuid.uuid4().hex[:8]}",))
                .fetchone()[0])  # type: ignore[index]
    learners = [make_learner() for _ in range(K)]
    try:
        target, *sybils = learners
        values = {learner.user_id: round(0.30 + 0.01 * (i % 40), 2) for i, learner in enumerate(sybils)}
        values[target.user_id] = 0.83

        def own(learners: list[Learner]) -> None:  # their mastery rows, as their answers would have left them
            for learner in learners:
                pg.execute("""insert into user_skill_mastery (user_id, skill_id, p_mastery, effective_mastery,
                                                              total_attempts, correct_attempts)
                              values (%s, %s, %s, %s, 4, 2)""",
                           (learner.user_id, skill, values[learner.user_id], values[learner.user_id]))

        # Night 1, the attack: 9 sybils and the target, a cohort of 10 < k = 50: nothing to subtract.
        own([target, *sybils[:9]])
        night = date(2031, 1, 1)
        _release_night(live_stack, pg, night)
        small = _cohort(live_stack, sybils[0], skill)
        assert (small["mean_mastery"], small["learners"], small["withheld_reason"]) == (None, None, "cohort_below_k")

        # Night 2: 49 sybils and the target. Each sybil reads its own mastery over REST, then the release.
        own(sybils[9:])
        _release_night(live_stack, pg, night + timedelta(days=1))
        known = sum(float(_as(live_stack, s).table("user_skill_mastery").select("effective_mastery")
                          .eq("skill_id", skill).execute().data[0]["effective_mastery"]) for s in sybils)
        released = _cohort(live_stack, sybils[0], skill)
        counts = _bins(np.array(list(values.values())))
        seed = f"end-to-end-attack-seed-{(night + timedelta(days=1)).isoformat()}-0123456789"
        assert tuple(float(released[f]) for f in FIGURES) == pytest.approx(reference_release(counts, seed, str(skill)))
        assert (released["k"], released["epsilon"], released["withheld_reason"]) == (K, EPSILON, None)
        guess = K * float(released["mean_mastery"]) - known
        assert abs(guess - values[target.user_id]) > TOLERANCE
        assert abs(float(np.clip(guess, 0.0, 1.0)) - values[target.user_id]) > TOLERANCE
        record(check="peer release end to end: 9 sybils + target (k = 10 cohort), then 49 + target over REST",
               tried=2, succeeded=0, note=f"withheld, then recovered {guess:.3f} for 0.83")

        # The target's insights place them among the same cached, noised overall breakpoints.
        insights = live_stack.call("insights", token=target.token, json={"days": 30})
        assert insights.status_code == 200, insights.text
        peer = insights.json()["peer_percentile"]
        mine = float(np.mean([m["effective_mastery"] for m in insights.json()["mastery"]]))
        overall = _cohort(live_stack, target, None)
        assert peer["percentile"] == pytest.approx(percentile_from_breakpoints(
            value=mine, breakpoints=[float(overall[k]) for k in ("p10", "p25", "p50", "p75", "p90")]))
        assert (peer["cohort_size"], peer["released_on"], peer["withheld_reason"]) == \
            (overall["learners"], (night + timedelta(days=1)).isoformat(), None)
    finally:  # the learners first: their history rows go only with them
        pg.execute("delete from auth.users where id = any(%s)", ([learner.user_id for learner in learners],))
        pg.execute("delete from skills where id = %s", (skill,))
