"""What a service call needs from the outside world, built once per request by the handler."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from smartpractice.config import DEFAULT_RETRY, RetryPolicy, Settings
from smartpractice.db.clients import DEFAULT_READ_TIMEOUT_SECONDS, ClientFactory, shared_factory
from smartpractice.db.repository import LearnerStore, ServiceStore
from smartpractice.service.exposure_rates import ExposureCache, shared_exposure_cache
from smartpractice.service.question_bank import QuestionBankCache, shared_cache


@dataclass(frozen=True, slots=True)
class LearnerDeps:
    learner: LearnerStore  # acting as the learner: RLS applies
    service: ServiceStore  # service role: answer keys and write RPCs only
    now: datetime
    rng: np.random.Generator
    question_bank: QuestionBankCache
    retry: RetryPolicy = DEFAULT_RETRY
    exposure: ExposureCache | None = None  # observed item exposure (None: no exposure control)


@dataclass(frozen=True, slots=True)
class MaintenanceDeps:
    service: ServiceStore
    now: datetime


def factory_for(settings: Settings, *, read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS) -> ClientFactory:
    return shared_factory(url=settings.supabase_url, anon_key=settings.supabase_anon_key,
                          service_role_key=settings.supabase_service_role_key.get_secret_value(),
                          read_timeout_seconds=read_timeout_seconds)


_thread_state = threading.local()


def _request_rng() -> np.random.Generator:
    """This serving thread's generator, seeded from OS entropy once: a fresh default_rng() per request costs
    ~65 us (entropy + SeedSequence), and draws need only be independent of other requests, not reseeded."""
    rng: np.random.Generator | None = getattr(_thread_state, "rng", None)
    if rng is None:
        rng = _thread_state.rng = np.random.default_rng()
    return rng


def learner_deps(*, settings: Settings, jwt: str, factory: ClientFactory | None = None) -> LearnerDeps:
    clients = factory or factory_for(settings)
    return LearnerDeps(
        learner=LearnerStore(clients.for_learner(jwt)),
        service=ServiceStore(clients.for_service()),
        now=datetime.now(UTC),
        rng=_request_rng(),
        question_bank=shared_cache(project_url=settings.supabase_url, ttl_seconds=settings.question_bank_ttl_seconds),
        retry=settings.retry_policy,
        exposure=shared_exposure_cache(project_url=settings.supabase_url,
                                       ttl_seconds=settings.question_bank_ttl_seconds),
    )


# One maintenance RPC (e.g. refresh_aggregates over 100k learners) can run for about a minute.
MAINTENANCE_READ_TIMEOUT_SECONDS = 900.0


def maintenance_deps(*, settings: Settings, factory: ClientFactory | None = None) -> MaintenanceDeps:
    clients = factory or factory_for(settings, read_timeout_seconds=MAINTENANCE_READ_TIMEOUT_SECONDS)
    return MaintenanceDeps(service=ServiceStore(clients.for_service()), now=datetime.now(UTC))
