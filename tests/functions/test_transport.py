"""db/transport.py: the HTTP/1.1 transport under the supabase/postgrest clients, against a scripted socket
server (each test says byte for byte what the server answers), so every framing rule of RFC 9112 6.3 and
every failure mapping is exercised without timing."""

from __future__ import annotations

import datetime
import gzip
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from smartpractice.db.transport import Http11Transport, RestHttpClient

Script = Callable[[socket.socket, bytes], bool]  # (connection, request bytes) -> keep the connection open?


@dataclass
class ScriptedServer:
    """Accepts connections on loopback; answers each request with the next script (in order)."""

    scripts: list[Script]
    sock: socket.socket = field(default_factory=lambda: socket.create_server(("127.0.0.1", 0)))
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    closed: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))  # one per closed connection

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def serve(self) -> None:
        while self.scripts:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                while self.scripts:
                    request = _read_request(conn)
                    if request is None:
                        break
                    self.requests.append(request)
                    if not self.scripts.pop(0)(conn, request):
                        break
            self.closed.release()


Start = Callable[[list[Script]], ScriptedServer]


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


def reply(raw: bytes, *, keep: bool = True) -> Script:
    def script(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(raw)
        return keep
    return script


@pytest.fixture()
def server() -> Iterator[Start]:
    started: list[tuple[ScriptedServer, threading.Thread]] = []

    def start(scripts: list[Script]) -> ScriptedServer:
        srv = ScriptedServer(scripts)
        thread = threading.Thread(target=srv.serve, daemon=True)
        thread.start()
        started.append((srv, thread))
        return srv

    yield start
    for srv, thread in started:
        srv.sock.close()
        thread.join(timeout=5)


def _client() -> RestHttpClient:
    return RestHttpClient(timeout=httpx.Timeout(5.0, connect=3.0))


def test_keep_alive_reuses_one_connection_and_sends_one_well_formed_request(server: Start) -> None:
    srv = server([reply(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"),
                  reply(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n[]")])
    with _client() as client:
        first = client.post(f"{srv.url}/rest/v1/rpc/f?x=1", json={"p": 1}, headers={"Authorization": "Bearer t"})
        second = client.get(f"{srv.url}/rest/v1/t")
    assert (first.status_code, first.json(), first.reason_phrase) == (200, {"a": 1}, "OK")
    assert (second.status_code, second.text, second.http_version) == (201, "[]", "HTTP/1.1")
    assert srv.connections == 1
    head, _, body = srv.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /rest/v1/rpc/f?x=1 HTTP/1.1"
    assert {b"host: 127.0.0.1:" + srv.url.rsplit(":", 1)[1].encode(), b"authorization: bearer t",
            b"content-length: 7"} <= {line.lower() for line in lines[1:]}
    assert body == b"{\"p\":1}"


def test_chunked_body_with_extensions_and_trailers(server: Start) -> None:
    srv = server([reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"4;ext=1\r\n[1,2\r\n3\r\n,3]\r\n0\r\nX-Trailer: y\r\n\r\n"),
                  reply(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1")])
    with _client() as client:
        assert client.get(f"{srv.url}/a").json() == [1, 2, 3]
        assert client.get(f"{srv.url}/b").text == "1"  # the chunked body ended where it said: same connection
    assert srv.connections == 1


def test_body_until_close_and_connection_close_open_a_new_connection(server: Start) -> None:
    srv = server([reply(b"HTTP/1.1 200 OK\r\n\r\nuntil-close", keep=False),
                  reply(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", keep=False),
                  reply(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold", keep=False),
                  reply(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlast")])
    with _client() as client:
        assert [client.get(f"{srv.url}/{i}").text for i in range(4)] == ["until-close", "ok", "old", "last"]
    assert srv.connections == 4


def test_no_body_for_head_204_304_and_interim_responses_are_skipped(server: Start) -> None:
    srv = server([reply(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"),
                  reply(b"HTTP/1.1 204 No Content\r\n\r\n"),
                  reply(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"),
                  reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")])
    with _client() as client:
        head = client.head(f"{srv.url}/h")
        assert (head.status_code, head.headers["content-length"], head.content) == (200, "10", b"")
        assert client.delete(f"{srv.url}/d").status_code == 204
        assert client.get(f"{srv.url}/n").status_code == 304
        assert client.get(f"{srv.url}/o").text == "ok"
    assert srv.connections == 1


def test_gzip_is_decoded_by_httpx_and_repeated_headers_are_kept(server: Start) -> None:
    packed = gzip.compress(b'{"z":true}')
    srv = server([reply(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
                        b"Content-Length: " + str(len(packed)).encode() + b"\r\n\r\n" + packed)])
    with _client() as client:
        response = client.get(f"{srv.url}/g")
        assert response.json() == {"z": True}
        assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
        assert not client.cookies  # the shared client never keeps a learner's cookie for the next one


def test_an_idle_connection_the_server_closed_is_not_reused(server: Start) -> None:
    srv = server([reply(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", keep=False),  # closes, says nothing
                  reply(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb")])
    with _client() as client:
        assert client.get(f"{srv.url}/1").text == "a"
        assert srv.closed.acquire(timeout=10)  # the server has closed it: its FIN is on the idle socket
        assert client.get(f"{srv.url}/2").text == "b"
    assert srv.connections == 2


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        (b"", httpx.RemoteProtocolError, "Server disconnected without sending a response."),
        (b"NOT-HTTP 200\r\n\r\n", httpx.RemoteProtocolError, "malformed status line"),
        (b"HTTP/1.1 200 OK\r\n folded\r\n\r\n", httpx.RemoteProtocolError, "malformed header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", httpx.RemoteProtocolError,
         "Server disconnected before the end of the body"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", httpx.RemoteProtocolError,
         "invalid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", httpx.RemoteProtocolError,
         "malformed chunk size"),
    ],
    ids=["no response", "bad status line", "obs-fold", "short body", "conflicting lengths", "bad chunk"],
)
def test_protocol_failures_are_httpx_errors(server: Start, raw: bytes, error: type[Exception],
                                            message: str) -> None:
    srv = server([reply(raw, keep=False)])
    with _client() as client, pytest.raises(error) as caught:
        client.get(f"{srv.url}/x")
    assert str(caught.value) == message


def test_read_timeout_and_refused_connection_map_like_httpcore(server: Start) -> None:
    release = threading.Event()

    def stall(conn: socket.socket, request: bytes) -> bool:
        release.wait(10)
        return False

    srv = server([stall])
    try:
        with RestHttpClient(timeout=httpx.Timeout(0.2, connect=3.0)) as client, pytest.raises(httpx.ReadTimeout):
            client.get(f"{srv.url}/slow")
    finally:
        release.set()
    unused = socket.create_server(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()
    with _client() as client, pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{port}/")


def test_a_closed_transport_refuses_requests() -> None:
    transport = Http11Transport()
    transport.close()
    with pytest.raises(RuntimeError, match="the transport is closed"):
        transport.handle_request(httpx.Request("GET", "http://127.0.0.1:9/"))


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_verifies_the_server_and_refuses_an_untrusted_one(server: Start, tmp_path: Path) -> None:
    """Hosted Supabase is https: the socket is wrapped with the host name checked against the certificate."""
    cert, key = _self_signed(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)

    srv = server([])  # no scripts yet: its thread ends at once; a second one serves the TLS socket
    srv.sock = server_context.wrap_socket(srv.sock, server_side=True)
    # the second script is never run: the untrusted client's handshake fails in accept(), which ends serve()
    srv.scripts.extend([reply(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure"), reply(b"")])
    thread = threading.Thread(target=srv.serve, daemon=True)
    thread.start()
    port = srv.sock.getsockname()[1]
    trusting = ssl.create_default_context(cafile=str(cert))
    with RestHttpClient(transport=Http11Transport(ssl_context=trusting), timeout=5.0) as client:
        assert client.get(f"https://localhost:{port}/s").text == "secure"
    with _client() as client, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get(f"https://localhost:{port}/s")
    thread.join(timeout=10)
