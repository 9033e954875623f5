"""A private PostgreSQL 15 cluster for development and tests (Debian packages, no Docker).

Postgres refuses to run as root, so when invoked as root every server command runs as the Debian
`postgres` system user via runuser; the data folder lives in the git-ignored .local/ of the repo.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from supalocal import apt, supabase_cli
from supalocal.settings import PG_BIN, SUPABASE_DIR, StackSettings

# plpgsql_check is what `supabase db lint` runs; pg_stat_statements ships with postgresql-15 itself; the server
# headers build the pg-safeupdate stand-in (Debian packages no pg-safeupdate).
APT_PACKAGES = ("postgresql-15", "postgresql-15-pgtap", "postgresql-15-cron", "postgresql-15-plpgsql-check",
                "postgresql-server-dev-15")
_EXTENSION_DIR = Path("/usr/share/postgresql/15/extension")
_SERVER_INCLUDE_DIR = Path("/usr/include/postgresql/15/server")
_LOCAL_DIR = Path(__file__).resolve().parent.parent
BOOTSTRAP_SQL = _LOCAL_DIR / "sql" / "bootstrap.sql"
SAFEUPDATE_SOURCE = _LOCAL_DIR / "safeupdate" / "safeupdate.c"


class ClusterError(RuntimeError):
    """The local cluster could not be installed, started, stopped or loaded."""


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if _is_root() else cmd


def _run(cmd: list[str], *, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise ClusterError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def packages_present() -> bool:
    return (PG_BIN / "postgres").exists() and (_SERVER_INCLUDE_DIR / "postgres.h").exists() and all(
        (_EXTENSION_DIR / f"{name}.control").exists()
        for name in ("pgtap", "pg_cron", "plpgsql_check", "pg_stat_statements")
    )


def ensure_packages() -> None:
    """Install the Debian packages if missing (needs root, as on CI)."""
    try:
        apt.install_missing(APT_PACKAGES, present=packages_present, what="PostgreSQL packages")
    except apt.AptError as exc:
        raise ClusterError(str(exc)) from exc


def build_safeupdate(settings: StackSettings) -> Path:
    """Compile the pg-safeupdate stand-in into the state folder's lib/ (on the server's
    dynamic_library_path), when missing or older than its source. Returns the library."""
    library = settings.lib_dir / "safeupdate.so"
    if library.exists() and library.stat().st_mtime >= SAFEUPDATE_SOURCE.stat().st_mtime:
        return library
    settings.lib_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.lib_dir, 0o755)
    building = library.with_suffix(".so.tmp")
    _run(["cc", "-shared", "-fPIC", "-O2", "-Wall", "-Wmissing-prototypes",
          f"-I{_SERVER_INCLUDE_DIR}", "-o", str(building), str(SAFEUPDATE_SOURCE)])
    os.chmod(building, 0o755)
    building.replace(library)  # atomic: a running server never loads a half-written file
    return library


def _prepare_dirs(settings: StackSettings) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.state_dir, 0o755)
    for folder in (settings.pgdata, settings.socket_dir):
        folder.mkdir(parents=True, exist_ok=True)
        if _is_root():
            shutil.chown(folder, user="postgres", group="postgres")
    os.chmod(settings.pgdata, 0o700)
    if _is_root() and not settings.log_file.exists():
        settings.log_file.touch()
        shutil.chown(settings.log_file, user="postgres", group="postgres")


def is_initialised(settings: StackSettings) -> bool:
    return (settings.pgdata / "PG_VERSION").exists()


def initdb(settings: StackSettings) -> None:
    _prepare_dirs(settings)
    pwfile = settings.state_dir / "run" / "pwfile"
    pwfile.write_text(settings.db_password + "\n")
    if _is_root():
        shutil.chown(pwfile, user="postgres", group="postgres")
    try:
        _run(_as_server_user([
            str(PG_BIN / "initdb"), "-D", str(settings.pgdata), "-U", "postgres", f"--pwfile={pwfile}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
            "--no-sync",
        ]))
    finally:
        pwfile.unlink(missing_ok=True)
    conf = settings.pgdata / "postgresql.conf"
    # Dev/test tuning: fsync off only risks data on an OS crash; commits stay synchronous so an
    # acknowledged write survives a Postgres restart (the fault tests rely on it).
    extra = f"""
listen_addresses = '{settings.db_host}'
port = {settings.db_port}
unix_socket_directories = '{settings.socket_dir}'
shared_preload_libraries = 'pg_cron,pg_stat_statements'
cron.database_name = '{settings.db_name}'
dynamic_library_path = '$libdir:{settings.lib_dir}'
max_connections = 200
shared_buffers = 512MB
fsync = off
full_page_writes = off
timezone = 'UTC'
log_timezone = 'UTC'
"""
    with conf.open("a") as handle:
        handle.write(extra)


def is_running(settings: StackSettings) -> bool:
    if not is_initialised(settings):
        return False
    proc = subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "status", "-D", str(settings.pgdata)]),
                          capture_output=True, text=True, check=False)
    return proc.returncode == 0


def running_port(settings: StackSettings) -> int | None:
    """The port the cluster's postmaster listens on (line 4 of postmaster.pid), or None when it is not running."""
    if not is_running(settings):
        return None
    lines = (settings.pgdata / "postmaster.pid").read_text().splitlines()
    return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None


def start(settings: StackSettings) -> None:
    if is_running(settings):
        if running_port(settings) == settings.db_port:
            return
        stop(settings)  # started under another SP_LOCAL_DB_PORT: restart where the settings say
    try:
        # -p on the command line wins over the port written into postgresql.conf at initdb
        _run(_as_server_user([
            str(PG_BIN / "pg_ctl"), "start", "-w", "-t", "30", "-D", str(settings.pgdata),
            "-l", str(settings.log_file), "-o", f"-p {settings.db_port}",
        ]))
    except ClusterError as exc:
        # pg_ctl only says "examine the log output": the reason (most often "Address already in use" on
        # SP_LOCAL_DB_PORT) is in the server log, so the error carries its last lines.
        tail = settings.log_file.read_text(errors="replace").splitlines()[-8:] if settings.log_file.exists() else []
        raise ClusterError(f"{exc}\nlast lines of {settings.log_file}:\n" + "\n".join(tail)) from exc


def stop(settings: StackSettings, *, mode: str = "fast") -> None:
    if not is_running(settings):
        return
    _run(_as_server_user([str(PG_BIN / "pg_ctl"), "stop", "-w", "-t", "30", "-m", mode,
                          "-D", str(settings.pgdata)]))


def destroy(settings: StackSettings) -> None:
    stop(settings)
    shutil.rmtree(settings.pgdata, ignore_errors=True)
    shutil.rmtree(settings.socket_dir, ignore_errors=True)
    settings.log_file.unlink(missing_ok=True)


def psql_file(settings: StackSettings, path: Path, *, single_transaction: bool = True) -> str:
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", settings.db_host, "-p", str(settings.db_port),
           "-U", "postgres", "-d", settings.db_name, "-f", str(path)]
    if single_transaction:
        cmd.insert(1, "--single-transaction")
    return _run(cmd, env={**os.environ, "PGPASSWORD": settings.db_password})


def migration_files() -> list[Path]:
    return sorted((SUPABASE_DIR / "migrations").glob("*.sql"))


def load_schema(settings: StackSettings) -> list[str]:
    """The bootstrap (ours: hosted Supabase provides it), then every migration and seed.sql with the Supabase
    CLI's `db push --include-seed`, as the hosted deploy does. Returns the files applied."""
    psql_file(settings, BOOTSTRAP_SQL)
    try:
        supabase_cli.push(settings)
    except supabase_cli.CliError as exc:
        raise ClusterError(str(exc)) from exc
    applied = [BOOTSTRAP_SQL, *migration_files()]
    seed = SUPABASE_DIR / "seed.sql"
    if seed.exists():
        applied.append(seed)
    return [p.name for p in applied]


def up(settings: StackSettings) -> float:
    """Install if needed, create and load the cluster if new, start it. Returns seconds taken."""
    t0 = time.perf_counter()
    ensure_packages()
    build_safeupdate(settings)
    if not is_initialised(settings):
        initdb(settings)
    start(settings)
    # Loaded = the CLI's migration history exists. Asked of the database rather than inferred from a fresh
    # initdb: a first `up` that failed between initdb and the load (say, the port was taken) is finished here.
    if not schema_loaded(settings):
        load_schema(settings)
    elif pending_migrations(settings):
        # A clone that pulled new migrations: apply them as the hosted deploy would (`supabase db push`), rather
        # than serve functions against an older schema (seen: a pulled clone's demo met PGRST202).
        try:
            supabase_cli.push_migrations(settings)
        except supabase_cli.CliError as exc:
            raise ClusterError(str(exc)) from exc
    return time.perf_counter() - t0


def pending_migrations(settings: StackSettings) -> list[str]:
    """Migration files whose version the database's migration history does not hold, in order."""
    out = _run(["psql", "-X", "-q", "-At", "-h", settings.db_host, "-p", str(settings.db_port), "-U", "postgres",
                "-d", settings.db_name, "-c", "select version from supabase_migrations.schema_migrations"],
               env={**os.environ, "PGPASSWORD": settings.db_password})
    applied = set(out.split())
    return [p.name for p in migration_files() if p.name.split("_", 1)[0] not in applied]


def schema_loaded(settings: StackSettings) -> bool:
    query = "select to_regclass('supabase_migrations.schema_migrations') is not null"
    out = _run(["psql", "-X", "-q", "-At", "-h", settings.db_host, "-p", str(settings.db_port), "-U", "postgres",
                "-d", settings.db_name, "-c", query], env={**os.environ, "PGPASSWORD": settings.db_password})
    return out.strip() == "t"


def reset(settings: StackSettings) -> float:
    """Throw the cluster away and build it again from the migrations."""
    destroy(settings)
    return up(settings)
