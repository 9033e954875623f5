"""Fixed settings of the local (dev/test only) Supabase-compatible stack.

Values mirror `supabase start` defaults (ports 54321/54322, the well-known local JWT secret) so the
same client code runs against the real CLI stack and this one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
SUPABASE_DIR = REPO_ROOT / "supabase"
LOCAL_STATE_DIR = REPO_ROOT / ".local"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
# Supabase CLI's local JWT secret: a dev-only, publicly known value, never used outside this stack.
DEFAULT_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
# The CLI's fixed local publishable and secret API keys (`supabase status` prints the same values on every
# machine): dev-only, publicly known. Hosted projects get random ones from the dashboard.
DEFAULT_PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH"
DEFAULT_SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz"
PUBLISHABLE_PREFIX = "sb_publishable_"
SECRET_PREFIX = "sb_secret_"


@dataclass(frozen=True, slots=True)
class StackSettings:
    db_host: str
    db_port: int
    db_name: str
    db_password: str
    api_host: str
    api_port: int
    jwt_secret: str
    state_dir: Path
    # PostgREST's `db-max-rows` (hosted Supabase: "Max Rows", 1000 by default): the most rows one read returns.
    # None means no cap. Set SP_LOCAL_DB_MAX_ROWS=0 for no cap.
    max_rows: int | None = 1000
    # The new API keys (apikey header only): publishable -> anon, secret -> service_role.
    publishable_key: str = DEFAULT_PUBLISHABLE_KEY
    secret_key: str = DEFAULT_SECRET_KEY
    # A JSON array of private JWKs (the CLI's `[auth] signing_keys_path` file, `supabase gen signing-key`):
    # the first signs new tokens, all are published in the JWKS. None: one ES256 key derived from
    # jwt_secret (supalocal.keys), so every process of the stack agrees on it without a key file.
    signing_keys_path: Path | None = None

    def __post_init__(self) -> None:
        if not self.publishable_key.startswith(PUBLISHABLE_PREFIX):
            raise ValueError(f"the publishable key must start with {PUBLISHABLE_PREFIX!r}")
        if not self.secret_key.startswith(SECRET_PREFIX):
            raise ValueError(f"the secret key must start with {SECRET_PREFIX!r}")

    @property
    def pgdata(self) -> Path:
        return self.state_dir / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def lib_dir(self) -> Path:
        """Libraries the local stack builds (the pg-safeupdate stand-in), on dynamic_library_path."""
        return self.state_dir / "lib"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "postgres.log"

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    def dsn(self, *, user: str = "postgres") -> str:
        return (
            f"host={self.db_host} port={self.db_port} dbname={self.db_name} "
            f"user={user} password={self.db_password}"
        )


def load_settings() -> StackSettings:
    """Settings from the environment (SP_LOCAL_*), defaulting to the CLI-compatible ports."""
    env = os.environ
    return StackSettings(
        db_host=env.get("SP_LOCAL_DB_HOST", "127.0.0.1"),
        db_port=int(env.get("SP_LOCAL_DB_PORT", "54322")),
        db_name="postgres",
        db_password=env.get("SP_LOCAL_DB_PASSWORD", "postgres"),
        api_host=env.get("SP_LOCAL_API_HOST", "127.0.0.1"),
        api_port=int(env.get("SP_LOCAL_API_PORT", "54321")),
        jwt_secret=env.get("SP_LOCAL_JWT_SECRET", DEFAULT_JWT_SECRET),
        state_dir=Path(env.get("SP_LOCAL_STATE_DIR", str(LOCAL_STATE_DIR))),
        max_rows=_max_rows(env.get("SP_LOCAL_DB_MAX_ROWS", "1000")),
        publishable_key=env.get("SP_LOCAL_PUBLISHABLE_KEY", DEFAULT_PUBLISHABLE_KEY),
        secret_key=env.get("SP_LOCAL_SECRET_KEY", DEFAULT_SECRET_KEY),
        signing_keys_path=Path(env["SP_LOCAL_SIGNING_KEYS"]) if env.get("SP_LOCAL_SIGNING_KEYS") else None,
    )


def _max_rows(raw: str) -> int | None:
    value = int(raw)
    if value < 0:
        raise ValueError(f"SP_LOCAL_DB_MAX_ROWS must be >= 0 (0 = no cap), got {raw!r}")
    return value or None
