"""New API keys and asymmetric JWTs, as hosted Supabase's gateway and PostgREST (with a JWKS) take them.

supabase docs, guides/api/api-keys: a publishable key (`sb_publishable_...`) maps to `anon`, a secret key
(`sb_secret_...`) to `service_role`; a user's JWT in Authorization makes the request `authenticated`; a key
in `Authorization: Bearer` is accepted only when it equals the apikey ("Known limitations"), otherwise it
reaches PostgREST as a non-JWT; a secret key from a browser is refused with 401. guides/auth/signing-keys:
tokens are signed with ES256 (or RS256) keys published in the JWKS and identified by `kid`; a minted JWT
is never an API key. PostgREST (configuration, `jwt-secret`: "JSON Web Key (JWK) (or set)") verifies
HS256 with the legacy secret and ES256/RS256 with the set's keys.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.utils import base64url_encode
from supabase import ClientOptions, create_client

from supalocal.gateway import GatewayApp, create_gateway_app
from supalocal.keys import learner_jwt, mint_jwt
from supalocal.settings import DEFAULT_PUBLISHABLE_KEY, DEFAULT_SECRET_KEY, StackSettings
from supalocal.signing import JWKS_PATH, SigningKey, derived_es256_key, private_jwk
from tests.gateway.conftest import USER_A, Gateway, Names, as_row, as_rows

pytestmark = pytest.mark.stack

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def whoami(gw: Gateway, names: Names, **headers: str) -> tuple[int, dict[str, object]]:
    apikey = headers.pop("apikey", None)
    response = gw.raw("POST", f"/rest/v1/rpc/{names.fn('whoami')}", apikey=apikey, json={}, headers=headers)
    return response.status_code, response.json()


def es256(gw: Gateway, **claims: object) -> str:
    return mint_jwt(role="authenticated", sub=str(USER_A), algorithm="ES256", secret=gw.settings.jwt_secret,
                    extra=dict(claims))


def test_the_stack_has_the_clis_local_keys(gw: Gateway) -> None:
    assert (gw.settings.publishable_key, gw.settings.secret_key) == (DEFAULT_PUBLISHABLE_KEY, DEFAULT_SECRET_KEY)
    assert DEFAULT_PUBLISHABLE_KEY == "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH"


def test_publishable_key_alone_is_anon(gw: Gateway, names: Names) -> None:
    status, body = whoami(gw, names, apikey=gw.settings.publishable_key)
    assert (status, body["role"], body["user"], body["uid"]) == (200, "anon", "anon", None)


@pytest.mark.parametrize("with_bearer", [False, True], ids=["apikey only", "equal bearer"])
def test_secret_key_is_service_role(gw: Gateway, names: Names, with_bearer: bool) -> None:
    secret = gw.settings.secret_key
    headers = {"Authorization": f"Bearer {secret}"} if with_bearer else {}
    status, body = whoami(gw, names, apikey=secret, **headers)
    assert (status, body["role"], body["user"]) == (200, "service_role", "service_role")
    only_service = gw.raw("POST", f"/rest/v1/rpc/{names.fn('service_only')}", apikey=secret, json={"x": 21},
                          headers=headers)
    assert (only_service.status_code, only_service.json()) == (200, 42)


@pytest.mark.parametrize("algorithm", ["HS256", "ES256"])
def test_publishable_key_with_a_learner_token_is_authenticated(gw: Gateway, names: Names, items: str,
                                                               algorithm: str) -> None:
    token = learner_jwt(USER_A, secret=gw.settings.jwt_secret, algorithm=algorithm)
    client = create_client(gw.settings.api_url, gw.settings.publishable_key,
                           ClientOptions(headers={"Authorization": f"Bearer {token}"}, httpx_client=gw.http()))
    me = as_row(client.rpc(names.fn("whoami"), {}).execute().data)
    assert (me["role"], me["uid"]) == ("authenticated", str(USER_A))
    assert sorted(row["title"] for row in as_rows(client.table(items).select("title").execute().data)) == [
        "a1", "a2"]  # RLS: the learner's own rows only


def test_the_secret_key_as_a_token_beside_another_key_is_not_a_jwt(gw: Gateway, names: Names) -> None:
    status, body = whoami(gw, names, apikey=gw.settings.publishable_key,
                          Authorization=f"Bearer {gw.settings.secret_key}")
    assert (status, body["code"], body["message"]) == (401, "PGRST301", "Expected 3 parts in JWT; got 1")


@pytest.mark.parametrize(("apikey", "message"), [
    ("sb_publishable_not-this-projects-key_0", "Invalid API key"),
    ("sb_secret_not-this-projects-key_0", "Invalid API key"),
    ("ES256 learner token", "Invalid API key"),
    ("ES256 anon token", "Invalid API key"),
], ids=["other publishable", "other secret", "minted learner jwt", "minted anon jwt"])
def test_only_the_projects_keys_are_api_keys(gw: Gateway, names: Names, apikey: str, message: str) -> None:
    apikey = {"ES256 learner token": es256(gw),
              "ES256 anon token": mint_jwt(role="anon", algorithm="ES256", secret=gw.settings.jwt_secret)
              }.get(apikey, apikey)
    status, body = whoami(gw, names, apikey=apikey)
    assert (status, body["message"]) == (401, message)


def test_a_key_only_in_authorization_is_no_api_key(gw: Gateway, names: Names) -> None:
    status, body = whoami(gw, names, Authorization=f"Bearer {gw.settings.publishable_key}")
    assert (status, body["code"], body["message"]) == (401, "PGRST302", "No API key found in request")


def test_a_secret_key_from_a_browser_is_refused(gw: Gateway, names: Names) -> None:
    status, body = whoami(gw, names, apikey=gw.settings.secret_key, **{"User-Agent": BROWSER})
    assert (status, body["message"]) == (401, "Forbidden use of secret API key in browser")
    assert whoami(gw, names, apikey=gw.settings.publishable_key, **{"User-Agent": BROWSER})[0] == 200


def _forged(gw: Gateway, kind: str) -> str:
    stack_key = derived_es256_key(gw.settings.jwt_secret)
    other = SigningKey(kid=stack_key.kid, algorithm="ES256", private_key=ec.generate_private_key(ec.SECP256R1()))
    now = int(time.time())
    claims = {"sub": str(USER_A), "role": "service_role", "iat": now, "exp": now + 600}
    if kind == "other key, stack kid":
        return other.sign(claims)
    if kind == "unknown kid":
        return SigningKey(kid="not-a-stack-kid", algorithm="ES256", private_key=stack_key.private_key).sign(claims)
    if kind == "no kid, other key":
        return jwt.encode(claims, other.private_key, algorithm="ES256")
    # ES -> HS confusion: an HMAC keyed with the public key (by hand: PyJWT refuses a PEM as HMAC secret);
    # HS256 is only ever checked with the legacy secret.
    public_pem = stack_key.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = b".".join(base64url_encode(json.dumps(part).encode())
                              for part in ({"alg": "HS256", "typ": "JWT", "kid": stack_key.kid}, claims))
    return (signing_input + b"." + base64url_encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest())
            ).decode()


@pytest.mark.parametrize("kind", ["other key, stack kid", "unknown kid", "no kid, other key", "hmac with public key"])
def test_forged_asymmetric_tokens_fail_verification(gw: Gateway, names: Names, kind: str) -> None:
    status, body = whoami(gw, names, apikey=gw.settings.publishable_key, Authorization=f"Bearer {_forged(gw, kind)}")
    assert (status, body["code"], body["message"]) == (401, "PGRST301", "JWT cryptographic operation failed")


def test_es256_token_without_kid_is_tried_against_every_es256_key(gw: Gateway, names: Names) -> None:
    now = int(time.time())
    token = jwt.encode({"sub": str(USER_A), "role": "authenticated", "iat": now, "exp": now + 600},
                       derived_es256_key(gw.settings.jwt_secret).private_key, algorithm="ES256")
    status, body = whoami(gw, names, apikey=gw.settings.publishable_key, Authorization=f"Bearer {token}")
    assert (status, body["uid"]) == (200, str(USER_A))


def test_expired_es256_token_is_pgrst303(gw: Gateway, names: Names) -> None:
    token = es256(gw, exp=int(time.time()) - 120)
    status, body = whoami(gw, names, apikey=gw.settings.publishable_key, Authorization=f"Bearer {token}")
    assert (status, body["code"], body["message"]) == (401, "PGRST303", "JWT expired")


# --- a stack whose signing keys come from a key file (the CLI's signing_keys.json): RS256 + ES256 ----------

@pytest.fixture(scope="module")
def file_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SigningKey, SigningKey]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path_factory.mktemp("signing_keys") / "signing_keys.json"
    path.write_text(json.dumps([private_jwk(rsa_key, kid="rsa-current", algorithm="RS256"),
                                private_jwk(ec_key, kid="ec-standby", algorithm="ES256")]))
    return (path, SigningKey(kid="rsa-current", algorithm="RS256", private_key=rsa_key),
            SigningKey(kid="ec-standby", algorithm="ES256", private_key=ec_key))


@pytest.fixture(scope="module")
def file_keys_app(stack_settings: StackSettings, names: Names,
                  file_keys: tuple[Path, SigningKey, SigningKey]) -> Iterator[GatewayApp]:
    app = create_gateway_app(replace(stack_settings, signing_keys_path=file_keys[0]), rest_only=True, pool_size=2,
                             listen=False)
    yield app
    app.close()


@pytest.fixture()
def file_gw(file_keys_app: GatewayApp, stack_settings: StackSettings,
            file_keys: tuple[Path, SigningKey, SigningKey]) -> Iterator[Gateway]:
    gateway = Gateway(file_keys_app, replace(stack_settings, signing_keys_path=file_keys[0]))
    yield gateway
    gateway.close()


def test_rs256_and_es256_keys_of_the_key_file_verify(file_gw: Gateway, names: Names,
                                                     file_keys: tuple[Path, SigningKey, SigningKey]) -> None:
    _, rsa_key, ec_key = file_keys
    jwks = file_gw.raw("GET", JWKS_PATH, apikey=None).json()["keys"]
    assert [(key["kid"], key["alg"], key["kty"]) for key in jwks] == [
        ("rsa-current", "RS256", "RSA"), ("ec-standby", "ES256", "EC")]
    for key in (rsa_key, ec_key):
        token = learner_jwt(USER_A, algorithm=key.algorithm, signing_key=key)
        status, body = whoami(file_gw, names, apikey=file_gw.settings.publishable_key,
                              Authorization=f"Bearer {token}")
        assert (status, body["uid"]) == (200, str(USER_A)), key.algorithm
    # The derived key is not in this stack's set; the legacy secret still is.
    stale = es256(file_gw)
    assert whoami(file_gw, names, apikey=file_gw.settings.publishable_key,
                  Authorization=f"Bearer {stale}")[1]["message"] == "JWT cryptographic operation failed"
    legacy = learner_jwt(USER_A, secret=file_gw.settings.jwt_secret)
    assert whoami(file_gw, names, apikey=file_gw.settings.publishable_key,
                  Authorization=f"Bearer {legacy}")[0] == 200
