"""The HTTP plumbing under the official supabase/postgrest clients: a small HTTP/1.1 httpx transport, and an
httpx client that keeps no cookies.

Why: profiling submit_answer/next_question (benchmarks/profile_functions.py under py-spy) put about half of
the functions' CPU in httpcore/h11: ~1.0 ms per REST call (headers and body in two sends, an event state
machine per message). The same keep-alive exchange written directly on the socket costs ~0.4 ms
(`http.client` ~0.75 ms, most of it email-parser header parsing). The supabase and postgrest clients above
are unchanged: they build the requests and read the responses through httpx as before.

What it implements (RFC 9112): one request per connection at a time, keep-alive unless either side says
close; the response body framed by the rules of section 6.3 (no body for HEAD, 1xx, 204, 304; chunked;
Content-Length; else until the server closes). Interim 1xx responses are skipped. Faithful to httpcore
(httpcore/_sync/connection_pool.py, http11.py) where it matters to callers: an idle connection is reused
only while still open (a readable idle socket means the server closed it; it is dropped, never retried
into), no request is retried here, timeouts come from the request's httpx timeout extension, failures are
the httpx exceptions the functions map to 503 (ConnectError, ConnectTimeout, ReadTimeout, ReadError,
WriteError, RemoteProtocolError), and content decoding (gzip) stays with httpx.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import httpx

MAX_IDLE_PER_ORIGIN = 64
MAX_LINE = 65536  # a status or header line longer than this is a protocol error (h11: 64 KiB of headers)
MAX_HEADERS = 100
Origin = tuple[str, str, int]
_NO_BODY_STATUSES = frozenset({204, 304})


@dataclass(slots=True)
class _Connection:
    sock: socket.socket
    rfile: BinaryIO = field(init=False)

    def __post_init__(self) -> None:
        self.rfile = self.sock.makefile("rb")

    def close(self) -> None:
        try:
            self.rfile.close()
        finally:
            self.sock.close()


@dataclass(frozen=True, slots=True)
class _Head:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool


class _ProtocolError(Exception):
    pass


class Http11Transport(httpx.BaseTransport):
    """HTTP/1.1 with keep-alive on plain (or TLS) sockets; a pool of idle connections per origin."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None,
                 max_idle_per_origin: int = MAX_IDLE_PER_ORIGIN) -> None:
        self._ssl_context = ssl_context
        self._max_idle = max_idle_per_origin
        self._idle: dict[Origin, list[_Connection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        conn = self._checkout(origin, request, timeouts.get("connect"))
        try:
            conn.sock.settimeout(timeouts.get("read"))
            conn.sock.sendall(_request_bytes(request))  # request line, headers and body in one send
            head = _read_head(conn.rfile)
            body, framed = _read_body(conn.rfile, head, head_request=request.method == "HEAD")
        except BaseException as exc:
            conn.close()
            raise _as_httpx_error(exc, request) from exc
        if head.keep_alive and framed:
            self._checkin(origin, conn)
        else:
            conn.close()
        return httpx.Response(head.status, headers=head.headers, stream=httpx.ByteStream(body),
                              extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
                              request=request)

    def _checkout(self, origin: Origin, request: httpx.Request, connect_timeout: float | None) -> _Connection:
        with self._lock:
            if self._closed:
                raise RuntimeError("the transport is closed")
            idle = self._idle.get(origin, [])
            while idle:
                conn = idle.pop()
                if _still_open(conn):
                    return conn
                conn.close()
        scheme, host, port = origin
        try:
            sock = socket.create_connection((host, port), timeout=connect_timeout)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small requests go out at once
            if scheme == "https":
                sock = self._context().wrap_socket(sock, server_hostname=host)
        except BaseException as exc:
            sock.close()
            if isinstance(exc, TimeoutError):
                raise httpx.ConnectTimeout(str(exc) or "TLS handshake timed out", request=request) from exc
            if isinstance(exc, OSError):
                raise httpx.ConnectError(str(exc), request=request) from exc
            raise
        return _Connection(sock)

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()  # httpx's defaults: certifi CA bundle, verify on
        return self._ssl_context

    def _checkin(self, origin: Origin, conn: _Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if self._closed or len(idle) >= self._max_idle:
                conn.close()
            else:
                idle.append(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pools, self._idle = self._idle, {}
        for idle in pools.values():
            for conn in idle:
                conn.close()


def _request_bytes(request: httpx.Request) -> bytes:
    # httpx has already set Host, Content-Length (or Transfer-Encoding) and validated the header bytes.
    lines = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        lines += (name, b": ", value, b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines) + request.read()


def _readline(rfile: BinaryIO) -> bytes:
    line = rfile.readline(MAX_LINE + 1)
    if not line:
        raise _ProtocolError("Server disconnected without sending a response.")
    if len(line) > MAX_LINE or not line.endswith(b"\n"):
        raise _ProtocolError("response line too long or truncated")
    return line


def _read_head(rfile: BinaryIO) -> _Head:
    """Status line and headers of the final response (interim 1xx responses are skipped)."""
    while True:
        parts = _readline(rfile).rstrip(b"\r\n").split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
            raise _ProtocolError("malformed status line")
        status = int(parts[1])
        headers: list[tuple[bytes, bytes]] = []
        while (line := _readline(rfile)) not in (b"\r\n", b"\n"):
            if line[:1] in (b" ", b"\t") or b":" not in line or len(headers) >= MAX_HEADERS:
                raise _ProtocolError("malformed header")  # obsolete line folding is refused (RFC 9112 5.2)
            name, _, value = line.partition(b":")
            headers.append((name.strip(), value.strip()))
        if 100 <= status < 200 and status != 101:
            continue
        tokens = {t.strip().lower() for n, v in headers if n.lower() == b"connection" for t in v.split(b",")}
        keep_alive = b"close" not in tokens and (parts[0] != b"HTTP/1.0" or b"keep-alive" in tokens)
        return _Head(status=status, reason=parts[2] if len(parts) > 2 else b"", headers=headers,
                     keep_alive=keep_alive)


def _read_body(rfile: BinaryIO, head: _Head, *, head_request: bool) -> tuple[bytes, bool]:
    """(body, whether its end was framed, so the connection may carry another request) — RFC 9112 6.3."""
    if head_request or head.status in _NO_BODY_STATUSES or head.status < 200:
        return b"", True
    encodings = [v for n, v in head.headers if n.lower() == b"transfer-encoding"]
    if encodings:
        if b",".join(encodings).split(b",")[-1].strip().lower() != b"chunked":
            return rfile.read(), False
        return _read_chunked(rfile), True
    lengths = {v for n, v in head.headers if n.lower() == b"content-length"}
    if not lengths:
        return rfile.read(), False  # delimited by the server closing the connection
    if len(lengths) != 1 or not (length := lengths.pop()).isdigit():
        raise _ProtocolError("invalid Content-Length")
    body = rfile.read(int(length))
    if len(body) != int(length):
        raise _ProtocolError("Server disconnected before the end of the body")
    return body, True


def _read_chunked(rfile: BinaryIO) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_text = _readline(rfile).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _ProtocolError("malformed chunk size") from None
        if size == 0:
            while _readline(rfile) not in (b"\r\n", b"\n"):
                pass  # trailer fields are not used
            return b"".join(chunks)
        chunk = rfile.read(size)
        if len(chunk) != size or _readline(rfile) not in (b"\r\n", b"\n"):
            raise _ProtocolError("malformed chunk")
        chunks.append(chunk)


def _still_open(conn: _Connection) -> bool:
    """An idle HTTP/1.1 connection has nothing to read; if it is readable, the server closed it (EOF)
    or broke the protocol: either way it must not carry a request (httpcore: is_socket_readable)."""
    try:
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _as_httpx_error(exc: BaseException, request: httpx.Request) -> BaseException:
    """The httpx exception httpcore would have raised for this failure of a sent request."""
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(str(exc) or "read timed out", request=request)
    if isinstance(exc, _ProtocolError):
        return httpx.RemoteProtocolError(str(exc), request=request)
    if isinstance(exc, BrokenPipeError):
        return httpx.WriteError(str(exc), request=request)
    if isinstance(exc, OSError):
        return httpx.ReadError(str(exc), request=request)
    return exc


class _NoCookies(httpx.Cookies):
    """A cookie jar that never stores: the process-wide client serves every learner, so a Set-Cookie from
    upstream must not travel with another learner's request (PostgREST sets none). Also skips httpx's
    per-response cookie parsing (~5% of the functions' CPU in the profile)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class RestHttpClient(httpx.Client):
    """httpx.Client over Http11Transport (unless given another transport), without a cookie jar."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("transport", Http11Transport())
        super().__init__(**kwargs)
        self._cookies = _NoCookies()
