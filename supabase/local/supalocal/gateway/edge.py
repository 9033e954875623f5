"""What hosted Supabase's edge (the API gateway in front of PostgREST and Auth) does before PostgREST runs:
the request-line limit and the public JWKS of the project's signing keys.

Request line. Hosted Supabase answers an over-long URL with `414` and the plain-text body
`URI too long\\n` (reported from hosted projects in supabase/postgrest-py#365 and supabase/supabase-js#766).
That body is Kong's error handler (kong/error_handlers.lua: BODIES[414] = "URI too long", text/plain
template "%s\\n" since nginx has not parsed an Accept header yet), and the limit is nginx's default
`large_client_header_buffers 4 8k`, "~8K is the default limit for Kong/NGINX" (supabase/storage#152): the
request line with its CRLF must fit in one 8 KiB buffer, i.e. at most 8190 bytes before the CRLF.
Supabase publishes no limit of its own, so this is the best documented figure, not a guaranteed one.
Headers: each header line must fit the same 8 KiB buffer (nginx answers 400 "Request Header Or Cookie Too
Large"); the local server (gunicorn) refuses a header field over 8190 bytes with 431. Not mirrored more
closely: no hosted response for it is documented.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import quote

from supalocal.gateway.responses import Response
from supalocal.settings import StackSettings
from supalocal.signing import JWKS_PATH, public_jwks

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

MAX_REQUEST_LINE_BYTES = 8190
# Edge paths of a Supabase project served here (the functions are Cloud Functions, behind Google's edge).
EDGE_PREFIXES = ("/rest/v1", "/auth/v1")
# GoTrue's JWKS handler; hosted caches the endpoint for 10 minutes (guides/auth/signing-keys).
_JWKS_CACHE = "public, max-age=600"


def request_line(environ: WSGIEnvironment) -> str:
    """The HTTP request line as the client sent it: `METHOD target HTTP/x.y`. gunicorn and werkzeug pass
    the raw target (RAW_URI / REQUEST_URI); other servers get it rebuilt from PATH_INFO and QUERY_STRING."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not target:
        path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/:@!$&'()*+,;=-._~%")
        query = environ.get("QUERY_STRING", "")
        target = path + (f"?{query}" if query else "")
    return f"{environ.get('REQUEST_METHOD', 'GET')} {target} {environ.get('SERVER_PROTOCOL', 'HTTP/1.1')}"


def request_line_too_long(environ: WSGIEnvironment) -> bool:
    return len(request_line(environ).encode("latin-1", "replace")) > MAX_REQUEST_LINE_BYTES


def uri_too_long() -> Response:
    return Response("URI too long\n", status=414, content_type="text/plain; charset=utf-8")


def is_jwks_path(path: str) -> bool:
    return path == JWKS_PATH


def jwks_response(settings: StackSettings, method: str) -> Response:
    """GET /auth/v1/.well-known/jwks.json: public, no apikey needed (anyone verifies tokens with it)."""
    if method not in ("GET", "HEAD"):
        return Response(json.dumps({"code": 405, "msg": "method not allowed"}), status=405,
                        content_type="application/json")
    return Response(json.dumps(public_jwks(settings)), status=200, content_type="application/json",
                    headers={"Cache-Control": _JWKS_CACHE, "Access-Control-Allow-Origin": "*"})
