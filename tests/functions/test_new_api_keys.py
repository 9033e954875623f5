"""The functions configured with Supabase's new API keys only (supabase docs, guides/api/api-keys): the
publishable key stands for the anon key, a secret key (`sb_secret_...`, not a JWT) for the service_role
key; learner tokens are verified through the JWKS, and the scheduler may present the secret key."""

from __future__ import annotations

import hmac

import pytest
from supabase import create_client

from smartpractice.api.auth import MaintenanceCaller, verify_maintenance_caller
from smartpractice.api.errors import Unauthorized
from smartpractice.config import ConfigurationError, Settings
from smartpractice.db.clients import ClientFactory
from tests.functions.test_auth import JWKS_URL, MAINT_TOKEN

PUBLISHABLE = "sb_publishable_unit-test-publishable-key_x1"
SECRET_KEY = "sb_secret_unit-test-secret-key-0123456789_y2"
NEW_ENV = {"SUPABASE_URL": "https://project.supabase.co", "SUPABASE_PUBLISHABLE_KEY": PUBLISHABLE,
           "SUPABASE_SECRET_KEY": SECRET_KEY, "SUPABASE_JWKS_URL": JWKS_URL}
NEW = Settings.from_env(NEW_ENV)


def test_new_key_names_configure_the_client_and_service_keys() -> None:
    assert (NEW.supabase_anon_key, NEW.supabase_service_role_key.get_secret_value(), NEW.jwt_secret) == (
        PUBLISHABLE, SECRET_KEY, None)
    assert SECRET_KEY not in repr(NEW)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SUPABASE_ANON_KEY": "eyJ.legacy.anon"},
         "invalid function settings: SUPABASE_ANON_KEY: set SUPABASE_ANON_KEY or SUPABASE_PUBLISHABLE_KEY, not both"),
        ({"SUPABASE_SERVICE_ROLE_KEY": "eyJ.legacy.service"},
         "invalid function settings: SUPABASE_SERVICE_ROLE_KEY: set SUPABASE_SERVICE_ROLE_KEY or SUPABASE_SECRET_KEY, "
         "not both"),
        ({"SUPABASE_PUBLISHABLE_KEY": SECRET_KEY},
         "invalid function settings: SUPABASE_ANON_KEY/SUPABASE_PUBLISHABLE_KEY holds a secret key (sb_secret_...)"),
        ({"SUPABASE_SECRET_KEY": PUBLISHABLE},
         "invalid function settings: SUPABASE_SERVICE_ROLE_KEY/SUPABASE_SECRET_KEY holds a publishable key"),
    ],
    ids=["both client keys", "both service keys", "secret key as client key", "publishable key as service key"],
)
def test_ambiguous_or_misplaced_keys_are_configuration_errors(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({**NEW_ENV, **overrides})
    assert str(caught.value) == message
    assert SECRET_KEY not in str(caught.value)


def test_the_service_client_sends_the_secret_key_as_apikey_and_equal_bearer() -> None:
    """supabase-py puts a non-JWT key in both headers; hosted accepts a key in Authorization only when it
    equals the apikey ("Known limitations"), which this is."""
    factory = ClientFactory(url=NEW.supabase_url, anon_key=NEW.supabase_anon_key,
                            service_role_key=NEW.supabase_service_role_key.get_secret_value())
    try:
        headers = factory.for_service().options.headers
        assert (headers["apiKey"], headers["Authorization"]) == (SECRET_KEY, f"Bearer {SECRET_KEY}")
        learner = factory.for_learner("learner.jwt.token").options.headers
        assert (learner["apiKey"], learner["Authorization"]) == (PUBLISHABLE, "Bearer learner.jwt.token")
    finally:
        factory.close()
    assert create_client(NEW.supabase_url, SECRET_KEY).supabase_key == SECRET_KEY  # no JWT check of the key


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": f"Bearer {SECRET_KEY}"}, {"apikey": SECRET_KEY},
     {"apikey": SECRET_KEY, "Authorization": f"Bearer {SECRET_KEY}"}],
    ids=["bearer", "apikey only", "both equal"],
)
def test_the_secret_key_is_a_maintenance_caller(headers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[bytes] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return original(a, b)

    monkeypatch.setattr("smartpractice.api.auth.hmac.compare_digest", spy)
    assert verify_maintenance_caller(headers, NEW) == MaintenanceCaller(method="service_key", subject=None)
    assert compared == [SECRET_KEY.encode()]


@pytest.mark.parametrize(
    ("headers", "code"),
    [({"Authorization": f"Bearer {SECRET_KEY[:-1]}z"}, "invalid_service_key"),
     ({"apikey": PUBLISHABLE}, "invalid_service_key"),
     ({"apikey": SECRET_KEY, "Authorization": f"Bearer {PUBLISHABLE}"}, "malformed_token"),
     ({"X-Maintenance-Token": MAINT_TOKEN}, "invalid_maintenance_token")],
    ids=["other secret key", "publishable key", "publishable bearer", "token not configured"],
)
def test_maintenance_refuses_other_keys(headers: dict[str, str], code: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        verify_maintenance_caller(headers, NEW)
    assert (caught.value.status, caught.value.code) == (401, code)
