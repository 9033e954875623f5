"""The local stack's asymmetric JWT signing keys and their public JWKS (Supabase's "JWT signing keys").

Hosted Supabase Auth signs access tokens with the project's current signing key (ES256 by default, RS256
possible) and publishes every trusted public key at `<project>/auth/v1/.well-known/jwks.json`
(supabase docs, guides/auth/signing-keys: "Public key discovery and caching"). The legacy JWT secret
(HS256) stays trusted until it is revoked.

Locally the keys come from `StackSettings.signing_keys_path`, a JSON array of private JWKs in the format
of the CLI's `[auth] signing_keys_path` file (`supabase gen signing-key --algorithm ES256|RS256`); the
first one signs. Without that file the stack has one ES256 key derived from the (public, dev-only) local
JWT secret, so the gateway, the functions and the tests all agree on it without sharing a file.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from supalocal.settings import StackSettings

JWKS_PATH = "/auth/v1/.well-known/jwks.json"
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "RS256"})
# Order of the P-256 group (SEC 2, 2.4.2): a private scalar lies in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
# RFC 7638: the required members of each key type, in lexicographic order, make the thumbprint.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    algorithm: str  # ES256 | RS256
    private_key: PrivateKey = field(repr=False)

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The key as GoTrue publishes it in the JWKS: public members plus alg, kid, use and key_ops."""
        return {**_public_members(self.private_key), "alg": self.algorithm, "kid": self.kid, "use": "sig",
                "key_ops": ["verify"], "ext": True}

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(dict(claims), self.private_key, algorithm=self.algorithm,
                          headers={"kid": self.kid, "typ": "JWT"})


def _public_members(key: PrivateKey) -> dict[str, Any]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        members: dict[str, Any] = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        members = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {name: members[name] for name in _THUMBPRINT_MEMBERS[members["kty"]]}


def thumbprint(key: PrivateKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): a stable key id for a derived key."""
    canonical = json.dumps(_public_members(key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def derived_es256_key(jwt_secret: str) -> SigningKey:
    """A P-256 key whose private scalar is SHA-256 of the local JWT secret: as public as that secret,
    i.e. for the local stack only, and identical in every process that knows the secret."""
    digest = hashlib.sha256(b"supalocal ES256 signing key\x00" + jwt_secret.encode()).digest()
    scalar = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
    private_key = ec.derive_private_key(scalar, ec.SECP256R1())
    return SigningKey(kid=thumbprint(private_key), algorithm="ES256", private_key=private_key)


def _from_private_jwk(item: object, path: Path) -> SigningKey:
    if not isinstance(item, dict) or "d" not in item or not isinstance(item.get("kid"), str):
        raise ValueError(f"{path}: every entry must be a private JWK with a 'kid' (supabase gen signing-key)")
    try:
        parsed = jwt.PyJWK(item)
    except jwt.PyJWTError as exc:
        raise ValueError(f"{path}: key {item['kid']!r} is not a usable JWK: {exc}") from None
    if parsed.algorithm_name not in ASYMMETRIC_ALGORITHMS or not isinstance(
            parsed.key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"{path}: key {item['kid']!r} must be an ES256 or RS256 private key")
    return SigningKey(kid=item["kid"], algorithm=parsed.algorithm_name, private_key=parsed.key)


@functools.cache
def _keys_from_file(path: Path) -> tuple[SigningKey, ...]:
    items = json.loads(path.read_text())
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path}: expected a non-empty JSON array of private JWKs")
    return tuple(_from_private_jwk(item, path) for item in items)


@functools.cache
def _derived(jwt_secret: str) -> tuple[SigningKey, ...]:
    return (derived_es256_key(jwt_secret),)


def signing_keys(settings: StackSettings) -> tuple[SigningKey, ...]:
    """The stack's trusted asymmetric keys; the first one signs new tokens."""
    if settings.signing_keys_path is not None:
        return _keys_from_file(settings.signing_keys_path.resolve())
    return _derived(settings.jwt_secret)


def public_jwks(settings: StackSettings) -> dict[str, Any]:
    """The body of GET /auth/v1/.well-known/jwks.json (public keys only; the HS256 secret never appears)."""
    return {"keys": [key.public_jwk for key in signing_keys(settings)]}


def private_jwk(key: PrivateKey, *, kid: str, algorithm: str) -> dict[str, Any]:
    """A private key as one entry of a signing_keys.json file (tests write RS256/ES256 files with it)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        members = ECAlgorithm.to_jwk(key, as_dict=True)
    else:
        members = RSAAlgorithm.to_jwk(key, as_dict=True)
    return {**members, "kid": kid, "alg": algorithm}
