"""The hosted edge in front of PostgREST: the request-line limit and the public JWKS.

Request line (gateway/edge.py for the sources): hosted answers a URL too long for nginx's 8 KiB header
buffer (request line of at most 8190 bytes before its CRLF) with 414 and Kong's text/plain body
"URI too long\\n", as reported from hosted projects in supabase/postgrest-py#365.
JWKS: `GET <project>/auth/v1/.well-known/jwks.json` lists the public signing keys, needs no apikey and is
cached 10 minutes (supabase docs, guides/auth/signing-keys, "Public key discovery and caching").
"""

from __future__ import annotations

import jwt
import pytest

from supalocal.gateway.edge import MAX_REQUEST_LINE_BYTES
from supalocal.keys import learner_jwt
from supalocal.signing import JWKS_PATH, derived_es256_key
from tests.gateway.conftest import USER_A, Gateway, Names

pytestmark = pytest.mark.stack


def padded_path(names: Names, line_bytes: int) -> str:
    """A valid read whose request line `GET <path> HTTP/1.1` is exactly `line_bytes` long."""
    base = f"/rest/v1/{names.things}?select=id&id=eq.1&note=neq."
    padding = line_bytes - len(f"GET {base} HTTP/1.1")
    assert padding > 0
    return base + "x" * padding


def test_the_longest_request_line_hosted_accepts_is_served(gw: Gateway, names: Names) -> None:
    response = gw.raw("GET", padded_path(names, MAX_REQUEST_LINE_BYTES))
    assert (response.status_code, response.json()) == (200, [{"id": 1}])


def test_one_byte_more_is_414_uri_too_long(gw: Gateway, names: Names) -> None:
    response = gw.raw("GET", padded_path(names, MAX_REQUEST_LINE_BYTES + 1))
    assert (response.status_code, response.text, response.headers["Content-Type"]) == (
        414, "URI too long\n", "text/plain; charset=utf-8")
    assert MAX_REQUEST_LINE_BYTES == 8190


def test_the_jwks_is_public_and_verifies_the_stacks_tokens(gw: Gateway) -> None:
    response = gw.raw("GET", JWKS_PATH, apikey=None)
    assert (response.status_code, response.headers["Cache-Control"]) == (200, "public, max-age=600")
    keys = response.json()["keys"]
    expected = derived_es256_key(gw.settings.jwt_secret)
    assert [(key["kid"], key["alg"], key["kty"], key["crv"], key["use"]) for key in keys] == [
        (expected.kid, "ES256", "EC", "P-256", "sig")]
    assert not any("d" in key for key in keys)  # never the private half (nor the HS256 secret)
    token = learner_jwt(USER_A, algorithm="ES256", secret=gw.settings.jwt_secret)
    signing_key = jwt.PyJWKSet.from_dict(response.json())[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, signing_key.key, algorithms=["ES256"], audience="authenticated")
    assert (claims["sub"], claims["role"]) == (str(USER_A), "authenticated")


def test_the_jwks_is_read_only(gw: Gateway) -> None:
    assert gw.raw("POST", JWKS_PATH, apikey=None, json={}).status_code == 405
