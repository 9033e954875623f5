"""Dev CLI: python -m supalocal {up,down,reset,status,keys,jwt,lint,gateway}."""

from __future__ import annotations

import argparse
import json
import sys

from supalocal import cluster, supabase_cli
from supalocal.keys import anon_key, learner_jwt, service_role_key
from supalocal.settings import load_settings
from supalocal.signing import JWKS_PATH, signing_keys


def _print_connection_info() -> None:
    settings = load_settings()
    print(f"API URL:          {settings.api_url}  (REST: /rest/v1, functions: /functions/v1/<name>)")
    print(f"DB URL:           {supabase_cli.db_url(settings)}")
    print(f"publishable key:  {settings.publishable_key}")
    print(f"secret key:       {settings.secret_key}")
    print(f"anon key:         {anon_key()}   (legacy JWT key)")
    print(f"service_role key: {service_role_key()}   (legacy JWT key)")
    current = signing_keys(settings)[0]
    print(f"JWKS URL:         {settings.api_url}{JWKS_PATH}   (signs with {current.algorithm}, kid {current.kid})")
    print("learner JWT:      python -m supalocal jwt <user-uuid> [--alg ES256]   (default HS256, legacy secret)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supalocal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="install if needed, init, start and load the database")
    sub.add_parser("down", help="stop the database (and leave its data)")
    sub.add_parser("reset", help="destroy and rebuild the database from migrations + seed")
    sub.add_parser("status", help="print whether the database runs")
    sub.add_parser("keys", help="print URL and keys")
    jwt_cmd = sub.add_parser("jwt", help="mint a learner JWT")
    jwt_cmd.add_argument("user_id")
    jwt_cmd.add_argument("--ttl", type=int, default=3600)
    jwt_cmd.add_argument("--alg", choices=("HS256", "ES256", "RS256"), default="HS256",
                         help="HS256: the legacy JWT secret; ES256/RS256: the stack's current signing key")
    sub.add_parser("lint", help="supabase db lint --level warning; fails on any finding outside `extensions`")
    gw = sub.add_parser("gateway", help="serve /rest/v1 and /functions/v1 in the foreground")
    gw.add_argument("--threads", type=int, default=None,
                    help="threads of the public server (functions + clients' REST calls); default 16")
    gw.add_argument("--rest-threads", type=int, default=None,
                    help="threads of the REST server the functions call; default 16")
    gw.add_argument("--rest-only", action="store_true", help="serve /rest/v1 only, with --threads threads")
    args = parser.parse_args(argv)
    settings = load_settings()

    if args.command == "up":
        took = cluster.up(settings)
        print(f"database up in {took:.2f}s")
        _print_connection_info()
    elif args.command == "down":
        cluster.stop(settings)
        print("database stopped")
    elif args.command == "reset":
        took = cluster.reset(settings)
        print(f"database rebuilt in {took:.2f}s")
    elif args.command == "status":
        running = cluster.is_running(settings)
        print("running" if running else "stopped")
        return 0 if running else 3
    elif args.command == "keys":
        _print_connection_info()
    elif args.command == "jwt":
        try:
            print(learner_jwt(args.user_id, ttl_seconds=args.ttl, algorithm=args.alg))
        except ValueError as exc:
            print(f"supalocal jwt: {exc}", file=sys.stderr)
            return 2
    elif args.command == "lint":
        findings = supabase_cli.lint(settings)
        if findings:
            print(json.dumps(findings, indent=2))
        print(f"supabase db lint --level warning: {len(findings)} finding(s) outside "
              f"{', '.join(sorted(supabase_cli.FOREIGN_SCHEMAS))}")
        return 1 if findings else 0
    elif args.command == "gateway":
        # imported late: needs the [local] extras
        from supalocal.gateway.server import DEFAULT_REST_THREADS, DEFAULT_THREADS, serve, serve_rest

        if args.rest_only:
            serve_rest(settings, threads=args.threads or DEFAULT_REST_THREADS)
        else:
            serve(settings, threads=args.threads or DEFAULT_THREADS,
                  rest_threads=args.rest_threads or DEFAULT_REST_THREADS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
