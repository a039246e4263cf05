"""HTTP/1.1 and WebSocket over TLS answer exactly what plain HTTP answers: the same app served
twice, once with --ssl-*, compared with the one comparison rule (_graft.compare_responses,
the date header aside) for raw sockets, Python's http.client and curl."""

from __future__ import annotations

import hashlib
import http.client
import json
import os

import pytest
from tls_util import (as_compared, client_ctx, curl, plain_connect, read_responses, start_tls,
                      stop_and_check, tls_args, tls_connect)
from util import Server

from graft import _graft

CHUNKED_POST = (b"POST /echo-body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
BODY = bytes(range(256)) * 300  # 76800 bytes: more than one TLS record, more than one read

REQUESTS = {
    "get": b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
    "post": b"POST /echo-body HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY,
    "chunked-request": CHUNKED_POST,
    "chunked-response": b"GET /stream?n=40 HTTP/1.1\r\nHost: t\r\n\r\n",
    "large-stream": b"GET /bigresp?mb=4 HTTP/1.1\r\nHost: t\r\n\r\n",
    "file": b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n",
    "head": b"HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n",
}


@pytest.fixture(scope="module", params=["loop", "thread"], ids=lambda m: f"io-{m}")
def servers(pki, big_file, request):
    """The same app plain and over TLS. io-thread: the I/O thread reads (SSL_read) while the
    Python thread writes (SSL_write) on the same connections, both under the connection's
    lock; io-loop: the loop's thread does both while it is idle."""
    env = {"TLS_APP_FILE": str(big_file)}
    extra = ["--pathsend", "--io-poll", request.param, "--threads", "2"]
    plain = Server("tls_app:app", extra, env=env).start()
    tls = start_tls("tls_app:app", pki, tls_args(pki, *extra), env=env)
    yield plain, tls
    stop_and_check(tls)
    stop_and_check(plain)


def _one(sock, data: bytes, method: str):
    sock.sendall(data)
    return read_responses(sock, 1, [method])[0]


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_raw_same_answer(servers, pki, name):
    plain, tls = servers
    data = REQUESTS[name]
    method = data.split(b" ", 1)[0].decode()
    with plain_connect(plain.port) as p, tls_connect(tls.port, client_ctx(pki)) as t:
        a = _one(p, data, method)
        b = _one(t, data, method)
        # and again on the same (kept-alive) connections
        a2 = _one(p, data, method)
        b2 = _one(t, data, method)
    assert a.status == 200
    assert _graft.compare_responses(as_compared(a), as_compared(b)) == []
    assert _graft.compare_responses(as_compared(a2), as_compared(b2)) == []
    if name == "post":
        assert a.body == BODY
    if name == "file":
        assert b.body == open(servers[0].env["TLS_APP_FILE"], "rb").read()


def test_pipelined(servers, pki):
    plain, tls = servers
    names = ["get", "post", "chunked-response", "chunked-request", "file", "get"]
    data = b"".join(REQUESTS[n] for n in names)
    methods = [REQUESTS[n].split(b" ", 1)[0].decode() for n in names]
    with plain_connect(plain.port) as p, tls_connect(tls.port, client_ctx(pki)) as t:
        p.sendall(data)
        t.sendall(data)
        a = read_responses(p, len(names), methods)
        b = read_responses(t, len(names), methods)
    for x, y in zip(a, b):
        assert _graft.compare_responses(as_compared(x), as_compared(y)) == []


@pytest.mark.parametrize("ktls", [True, False], ids=["ktls-if-offered", "no-ssl-ktls"])
def test_file_paths(pki, big_file, record_property, ktls):
    """File responses over TLS, and which path sent them (the server counts and logs it at
    shutdown): SSL_sendfile under kernel TLS, else pread + SSL_write through the output queue.
    Many kernels (this one, if its /proc/sys/net/ipv4/tcp_available_ulp lacks "tls") offer
    no kernel TLS: then both runs take the fallback."""
    import re

    extra = ["--pathsend"] + ([] if ktls else ["--no-ssl-ktls"])
    s = start_tls("tls_app:app", pki, tls_args(pki, *extra), env={"TLS_APP_FILE": str(big_file)})
    try:
        with tls_connect(s.port, client_ctx(pki)) as t:
            a = _one(t, REQUESTS["file"], "GET")
            b = _one(t, b"GET /file HTTP/1.1\r\nHost: t\r\nRange: bytes=0-1\r\n\r\n", "GET")
    finally:
        rc = s.stop()
        out = s.output()
        s.cleanup()
    assert rc == 0, out
    want = big_file.read_bytes()
    assert hashlib.sha256(a.body).digest() == hashlib.sha256(want).digest()
    assert b.body == want
    m = re.search(r"TLS file responses: (\d+) sent with kernel TLS \(SSL_sendfile\), (\d+) read and encrypted",
                  out)
    assert m, out
    sent_ktls, copied = int(m.group(1)), int(m.group(2))
    assert sent_ktls + copied == 2
    kernel = _graft.tls_kernel_ktls()
    if not ktls or not kernel:
        assert sent_ktls == 0
    path = f"kTLS SSL_sendfile x{sent_ktls}, fallback pread+SSL_write x{copied}"
    record_property("tls_file_path", path)
    print(f"\nTLS file responses ({'default' if ktls else '--no-ssl-ktls'}): {path}; kernel tls ULP: {kernel}")


def _httpclient(port, method, path, body=None, ctx=None):
    cls = http.client.HTTPSConnection if ctx else http.client.HTTPConnection
    kw = {"context": ctx} if ctx else {}
    c = cls("localhost" if ctx else "127.0.0.1", port, timeout=10, **kw)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        return {"status": r.status, "headers": [(k.lower(), v) for k, v in r.getheaders() if k.lower() != "date"],
                "body": r.read()}
    finally:
        c.close()


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/hello", None), ("POST", "/echo-body", BODY), ("GET", "/stream?n=10", None),
    ("GET", "/bigresp?mb=2", None), ("GET", "/file", None),
])
def test_python_client_same_answer(servers, pki, method, path, body):
    plain, tls = servers
    a = _httpclient(plain.port, method, path, body)
    b = _httpclient(tls.port, method, path, body, ctx=client_ctx(pki))
    assert a["status"] == 200
    assert _graft.compare_responses(a, b) == []


def _curl_parts(out: bytes):
    head, _, body = out.partition(b"\r\n\r\n")
    lines = [ln for ln in head.split(b"\r\n")[1:] if not ln.lower().startswith(b"date:")]
    return head.split(b"\r\n")[0], lines, body


@pytest.mark.parametrize("path, args", [
    ("/hello", []), ("/echo-body", ["--data-binary", "hello over tls"]), ("/stream?n=10", []),
    ("/bigresp?mb=1", []), ("/file", []),
])
def test_curl_same_answer(servers, pki, path, args):
    plain, tls = servers
    a = curl(f"http://127.0.0.1:{plain.port}{path}", *args)
    b = curl(f"https://localhost:{tls.port}{path}", "--cacert", str(pki / "ca.pem"),
             "--resolve", f"localhost:{tls.port}:127.0.0.1", *args)
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    assert _curl_parts(a.stdout) == _curl_parts(b.stdout)
    assert a.stdout.startswith(b"HTTP/1.1 200")


def test_alpn_http11_only(servers, pki):
    ctx = client_ctx(pki)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with tls_connect(servers[1].port, ctx) as t:
        assert t.selected_alpn_protocol() == "http/1.1"
    ctx = client_ctx(pki)
    ctx.set_alpn_protocols(["h2"])
    with tls_connect(servers[1].port, ctx) as t:  # no common protocol: no ALPN answer, no alert
        assert t.selected_alpn_protocol() is None


def test_scope_scheme_and_extension(servers, pki):
    plain, tls = servers
    with plain_connect(plain.port) as p:
        a = _one(p, b"GET /tls HTTP/1.1\r\nHost: t\r\n\r\n", "GET").json()
    assert a["scheme"] == "http" and a["tls"] is None
    for version, code in ((ssl_version("TLSv1_2"), 0x0303), (ssl_version("TLSv1_3"), 0x0304)):
        ctx = client_ctx(pki, minimum_version=version, maximum_version=version)
        with tls_connect(tls.port, ctx) as t:
            info = _one(t, b"GET /tls HTTP/1.1\r\nHost: t\r\n\r\n", "GET").json()
            cipher_name = t.cipher()[0]
        ext = info["tls"]
        assert info["scheme"] == "https"
        assert ext["tls_version"] == code
        assert ext["server_cert"] == (pki / "server.pem").read_text()
        assert ext["client_cert_chain"] == [] and ext["client_cert_name"] is None
        assert ext["client_cert_error"] is None
        assert ext["cipher_suite"] == _iana_id(cipher_name)


def ssl_version(name):
    import ssl

    return getattr(ssl.TLSVersion, name)


def _iana_id(openssl_name: str) -> int:
    out = __import__("subprocess").run(["openssl", "ciphers", "-V", "ALL:TLSv1.3"], capture_output=True,
                                        text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[2] == openssl_name:
            hi, lo = parts[0].split(",")
            return int(hi, 16) << 8 | int(lo, 16)
    raise AssertionError(f"cipher {openssl_name} not listed by openssl")


# The WebSocket client runs in a child Python without the sanitizer runtime: websockets' sync
# client reads on a background thread while the caller writes, both on one CPython SSL socket,
# and under make test-tsan that client-side library race (inside libssl, not graft) was reported.
WS_CLIENT = r"""
import json, ssl, sys
from websockets.sync.client import connect
url, cafile = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile) if cafile else None
with connect(url, ssl=ctx) as ws:
    ws.send("scope")
    facts = json.loads(ws.recv(timeout=5))
    ws.send(b"\x00" * 100000)
    echoed = ws.recv(timeout=5)
    ws.send("hello")
    hello = ws.recv(timeout=5)
print(json.dumps({"facts": facts, "echo_ok": echoed == b"\x00" * 100000, "hello": hello}))
"""


def _ws_client(url: str, cafile: str = "") -> dict:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "TSAN_OPTIONS")}
    out = subprocess.run([sys.executable, "-c", WS_CLIENT, url, cafile], capture_output=True,
                         timeout=30, env=env, check=True)
    return json.loads(out.stdout)


def test_websocket_wss(servers, pki):
    plain, tls = servers
    a = _ws_client(f"ws://127.0.0.1:{plain.port}/ws")
    b = _ws_client(f"wss://localhost:{tls.port}/ws", str(pki / "ca.pem"))
    assert a["facts"]["scheme"] == "ws" and b["facts"]["scheme"] == "wss"
    assert b["facts"]["tls"]["tls_version"] == 0x0304 and a["facts"]["tls"] is None
    assert a["echo_ok"] and b["echo_ok"]
    assert a["hello"] == b["hello"] == "hello"


def test_slow_reader_gets_every_byte(servers, pki):
    """A client that does not read for a while: TLS writes stop on a full socket (partial
    records kept in the output queue, retried from there) and resume intact."""
    import socket
    import time

    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", servers[1].port))
    with client_ctx(pki).wrap_socket(raw, server_hostname="localhost") as t:
        t.sendall(b"GET /bigresp?mb=8 HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(1.0)
        big, hello = read_responses(t, 2, timeout=30)
    expected = bytes(i % 251 for i in range(251 * 1024))
    assert len(big.body) == 8 << 20
    for off in range(0, len(big.body), 251 * 1024):
        piece = big.body[off:off + 251 * 1024]
        assert piece == expected[:len(piece)], off
    assert hello.body == b"Hello, world!"


def _until_close(sock, timeout=10.0) -> bytes:
    sock.settimeout(timeout)
    buf = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, OSError):
            break
        if not chunk:
            break
        buf += chunk
    return buf


@pytest.mark.parametrize("data", [
    b"GET /stream?n=5 HTTP/1.0\r\nHost: t\r\n\r\n",  # close-delimited body: the close ends it
    b"POST /echo-body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
    b"Connection: close\r\n\r\nhello",
], ids=["http10-close-delimited", "expect-100-continue"])
def test_closing_exchanges_same_answer(servers, pki, data):
    from util import parse_all

    plain, tls = servers
    with plain_connect(plain.port) as p:
        p.sendall(data)
        a = _until_close(p)
    with tls_connect(tls.port, client_ctx(pki)) as t:
        t.sendall(data)
        b = _until_close(t)
    ra, rest_a = parse_all(a)
    rb, rest_b = parse_all(b)
    assert ra and len(ra) == len(rb) and rest_a == rest_b == b""
    for x, y in zip(ra, rb):
        assert _graft.compare_responses(as_compared(x), as_compared(y)) == []
    assert ra[-1].status == 200


def test_pipelining_past_the_input_bound(servers, pki):
    """More pipelined requests than graft buffers (64 KiB past the head limit): reading pauses
    with input still inside OpenSSL (not in the socket, so epoll cannot report it) and must
    resume when the answers have drained."""
    n = 1500
    req = b"GET /hello HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"p" * 150 + b"\r\n\r\n"
    assert len(req) * n > 2 * (65536 + 65536)
    for port, connect in ((servers[0].port, plain_connect), (servers[1].port, None)):
        sock = connect(port) if connect else tls_connect(port, client_ctx(pki))
        with sock:
            sock.sendall(req * n)
            out = read_responses(sock, n, timeout=60)
        assert all(r.status == 200 and r.body == b"Hello, world!" for r in out)
