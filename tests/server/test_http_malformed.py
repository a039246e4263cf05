"""Malformed HTTP/1.1 requests (RFC 9112 / 9110) must be refused, the
connection closed, and nothing after them processed (no smuggling).

Each negative case is sent followed by a valid ``GET /smuggled-<id>``; the
server must answer exactly once (the error status, with ``connection: close``),
close the socket, and the app must never see ``/smuggled-<id>``.
Positive controls check odd-looking but valid requests are accepted.
"""

from __future__ import annotations

import itertools
import socket
import time

import pytest

from util import _recv_until_close, exchange, parse_all

H = b"Host: t\r\n"
_counter = itertools.count()


def req(head: bytes, body: bytes = b"") -> bytes:
    return head + b"\r\n" + body


def post_chunked(body: bytes) -> bytes:
    return b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" + body


LONG_LINE_TARGET = b"/echo/" + b"a" * (8191 - len(b"GET /echo/ HTTP/1.1"))
assert len(b"GET " + LONG_LINE_TARGET + b" HTTP/1.1") == 8191
OK_LINE_TARGET = LONG_LINE_TARGET[:-1]

MANY_HEADERS = b"".join(b"X-H%d: v\r\n" % i for i in range(100))  # + Host = 101 fields
BIG_SECTION = b"".join(b"X-Big-%d: %s\r\n" % (i, b"a" * 4000) for i in range(20))  # ~80 KiB
ONE_HUGE_FIELD = b"X-Huge: " + b"a" * (70 * 1024) + b"\r\n"

TLS_CLIENT_HELLO = (
    b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + bytes(range(32)) + b"\x20" + bytes(32)
    + b"\x00\x08\x13\x02\x13\x03\x13\x01\x00\xff\x01\x00\x00\x93\x00\x00\x00\x0e\x00\x0c\x00\x00"
    + b"\x09localhost"
)

# (id, bytes, expected status)
BAD = [
    # --- framing: Content-Length / Transfer-Encoding --------------------------------
    ("cl-and-te", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"0\r\n\r\n", 400),
    ("te-and-cl", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"
                  b"0\r\n\r\n", 400),
    ("cl-list-differs", req(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 1, 2\r\n", b"ab"), 400),
    ("cl-two-fields", req(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 1\r\nContent-Length: 2\r\n", b"ab"), 400),
    ("cl-plus", req(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: +1\r\n", b"a"), 400),
    ("cl-minus", req(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n", b"a"), 400),
    ("cl-hex", req(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 0x10\r\n", b"a" * 16), 400),
    ("cl-space-inside", req(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 1 0\r\n", b"a" * 10), 400),
    ("cl-empty", req(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: \r\n", b""), 400),
    ("cl-overflow", req(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n", b"a"),
     400),
    ("cl-letters", req(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5a\r\n", b"hello"), 400),
    ("te-xchunked", post_chunked(b"0\r\n\r\n").replace(b"Encoding: chunked", b"Encoding: xchunked"), 400),
    ("te-chunked-then-gzip", post_chunked(b"0\r\n\r\n").replace(b"Encoding: chunked", b"Encoding: chunked, gzip"),
     400),
    ("te-gzip-only", post_chunked(b"0\r\n\r\n").replace(b"Encoding: chunked", b"Encoding: gzip"), 400),
    ("te-chunked-twice", post_chunked(b"0\r\n\r\n").replace(b"Encoding: chunked", b"Encoding: chunked, chunked"),
     400),
    ("te-two-fields-chunked", b"POST /echo HTTP/1.1\r\n" + H
     + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te-two-fields-chunked-gzip", b"POST /echo HTTP/1.1\r\n" + H
     + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400),
    ("te-quoted", post_chunked(b"0\r\n\r\n").replace(b"Encoding: chunked", b'Encoding: "chunked"'), 400),
    ("te-chunkedchunked", post_chunked(b"0\r\n\r\n").replace(b"Encoding: chunked", b"Encoding: chunkedchunked"),
     400),
    ("te-chunked-with-params", post_chunked(b"0\r\n\r\n").replace(b"Encoding: chunked", b"Encoding: chunked;q=1"),
     400),
    ("te-in-http10", b"POST /echo HTTP/1.0\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
     400),
    ("te-unknown-coding-gzip-chunked",
     post_chunked(b"0\r\n\r\n").replace(b"Encoding: chunked", b"Encoding: gzip, chunked"), 501),
    # --- header syntax ---------------------------------------------------------------
    ("obs-fold-sp", b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\r\n b\r\n\r\n", 400),
    ("obs-fold-htab", b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\r\n\tb\r\n\r\n", 400),
    ("ws-before-colon", b"GET /echo HTTP/1.1\r\nHost : t\r\n\r\n", 400),
    ("ws-before-colon-other", b"GET /echo HTTP/1.1\r\n" + H + b"X-A : b\r\n\r\n", 400),
    ("tab-before-colon", b"GET /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n", 400),
    ("bare-cr-in-value", b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n", 400),
    ("bare-lf-everywhere", b"GET /echo HTTP/1.1\nHost: t\n\n", 400),
    ("bare-lf-in-headers", b"GET /echo HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n", 400),
    ("bare-lf-end-of-head", b"GET /echo HTTP/1.1\r\nHost: t\r\n\n", 400),
    ("nul-in-value", b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 400),
    ("ctl-0x01-in-value", b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\x01b\r\n\r\n", 400),
    ("del-in-name", b"GET /echo HTTP/1.1\r\n" + H + b"X\x7fA: b\r\n\r\n", 400),
    ("at-in-name", b"GET /echo HTTP/1.1\r\n" + H + b"Fo@o: x\r\n\r\n", 400),
    ("paren-in-name", b"GET /echo HTTP/1.1\r\n" + H + b"Fo(o): x\r\n\r\n", 400),
    ("empty-name", b"GET /echo HTTP/1.1\r\n" + H + b": x\r\n\r\n", 400),
    ("line-without-colon", b"GET /echo HTTP/1.1\r\n" + H + b"NoColonHere\r\n\r\n", 400),
    ("leading-ws-first-header", b"GET /echo HTTP/1.1\r\n Host: t\r\n\r\n", 400),
    ("leading-tab-first-header", b"GET /echo HTTP/1.1\r\n\tX-A: b\r\nHost: t\r\n\r\n", 400),
    # --- Host ------------------------------------------------------------------------
    ("http11-no-host", b"GET /echo HTTP/1.1\r\nX-A: b\r\n\r\n", 400),
    ("two-host-fields", b"GET /echo HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n", 400),
    ("two-identical-host-fields", b"GET /echo HTTP/1.1\r\nHost: t\r\nHost: t\r\n\r\n", 400),
    ("host-with-space", b"GET /echo HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    # --- request line ----------------------------------------------------------------
    ("method-paren", b"GE(T /echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("method-space", b"G T /echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("method-empty", b" /echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("target-space", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("target-ctl", b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("target-del", b"GET /a\x7fb HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("target-non-ascii", b"GET /caf\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("target-fragment", b"GET /a#b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("version-no-minor", b"GET /echo HTTP/1\r\n" + H + b"\r\n", 400),
    ("version-three-parts", b"GET /echo HTTP/1.1.1\r\n" + H + b"\r\n", 400),
    ("version-lowercase", b"GET /echo http/1.1\r\n" + H + b"\r\n", 400),
    ("version-two-digit-major", b"GET /echo HTTP/11.1\r\n" + H + b"\r\n", 400),
    ("version-two-digit-minor", b"GET /echo HTTP/1.10\r\n" + H + b"\r\n", 400),
    ("version-missing", b"GET /echo\r\n" + H + b"\r\n", 400),
    ("double-space-after-method", b"GET  /echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("double-space-before-version", b"GET /echo  HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("trailing-space-after-version", b"GET /echo HTTP/1.1 \r\n" + H + b"\r\n", 400),
    ("http-2.0", b"GET /echo HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("http-3.0", b"GET /echo HTTP/3.0\r\n" + H + b"\r\n", 505),
    ("tls-client-hello", TLS_CLIENT_HELLO, 400),
    ("expect-unknown", b"POST /echo HTTP/1.1\r\n" + H + b"Expect: something-else\r\nContent-Length: 0\r\n\r\n", 417),
    # --- chunked framing ---------------------------------------------------------------
    ("chunk-size-0x", post_chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-negative", post_chunked(b"-5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-leading-space", post_chunked(b" 5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-empty", post_chunked(b"\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-17-hex-digits", post_chunked(b"10000000000000000\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-not-hex", post_chunked(b"zz\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-data-no-crlf", post_chunked(b"5\r\nhelloXX0\r\n\r\n"), 400),
    ("chunk-data-too-long", post_chunked(b"3\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-bare-lf", post_chunked(b"5\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-data-bare-lf", post_chunked(b"5\r\nhello\n0\r\n\r\n"), 400),
    ("chunk-ext-bare-cr", post_chunked(b"5;a\rb\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-trailer-no-colon", post_chunked(b"5\r\nhello\r\n0\r\nNoColon\r\n\r\n"), 400),
    # --- limits ------------------------------------------------------------------------
    ("request-line-8191", b"GET " + LONG_LINE_TARGET + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    ("too-many-headers-101", b"GET /echo HTTP/1.1\r\n" + H + MANY_HEADERS + b"\r\n", 431),
    ("header-section-80k", b"GET /echo HTTP/1.1\r\n" + H + BIG_SECTION + b"\r\n", 431),
    ("one-70k-field", b"GET /echo HTTP/1.1\r\n" + H + ONE_HUGE_FIELD + b"\r\n", 431),
]

assert len(BAD) >= 45


def _seen(server) -> list[str]:
    return server.get_json("/__seen")


@pytest.mark.parametrize("data,status", [pytest.param(d, s, id=i) for i, d, s in BAD])
def test_malformed_refused(raw_server, data, status):
    tag = f"/smuggled-{next(_counter)}"
    follow = b"GET " + tag.encode() + b" HTTP/1.1\r\nHost: t\r\n\r\n"
    ex = exchange(raw_server.port, data + follow, timeout=5)
    assert ex.closed, f"connection not closed within 5 s; got {ex.data[:500]!r}"
    resps, rest = parse_all(ex.data)
    assert len(resps) == 1 and rest == b"", f"expected exactly one response, got {ex.data[:1000]!r}"
    r = resps[0]
    assert r.status == status, r
    assert r.connection_close(), f"no 'connection: close' in {r.headers}"
    assert tag not in _seen(raw_server), f"{tag} reached the app: request smuggled"


def send_in_pieces(port: int, data: bytes, step: int = 1, delay: float = 0.001, timeout: float = 5.0):
    """Deliver ``data`` in ``step``-byte writes (exercises the incremental parser);
    stops writing if the server closes. Returns (received bytes, closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for i in range(0, len(data), step):
                s.sendall(data[i:i + step])
                if delay:
                    time.sleep(delay)
        except OSError:
            pass
        return _recv_until_close(s, timeout)


PIECEWISE_BAD = ["cl-and-te", "cl-list-differs", "cl-plus", "te-chunked-then-gzip", "obs-fold-sp",
                 "ws-before-colon", "bare-cr-in-value", "bare-lf-in-headers", "nul-in-value", "empty-name",
                 "http11-no-host", "target-space", "version-lowercase", "http-2.0", "chunk-size-0x",
                 "chunk-data-no-crlf", "chunk-size-bare-lf", "tls-client-hello"]


@pytest.mark.parametrize("case", PIECEWISE_BAD)
def test_malformed_refused_byte_by_byte(raw_server, case):
    data, status = {i: (d, st) for i, d, st in BAD}[case]
    tag = f"/smuggled-{next(_counter)}"
    got, closed = send_in_pieces(raw_server.port, data + b"GET " + tag.encode() + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert closed
    resps, rest = parse_all(got)
    assert [r.status for r in resps] == [status] and rest == b"", got[:500]
    assert tag not in _seen(raw_server)


def test_valid_then_bad_pipelined(raw_server):
    """A valid request before a bad one still gets its response; then 400 and close."""
    tag = f"/smuggled-{next(_counter)}"
    data = (b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
            b"GET /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
            b"GET " + tag.encode() + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    ex = exchange(raw_server.port, data, timeout=5)
    assert ex.closed
    resps, rest = parse_all(ex.data)
    assert [r.status for r in resps] == [200, 400], ex.data[:1000]
    assert resps[0].body == b"Hello, world!"
    assert rest == b""
    assert tag not in _seen(raw_server)


def test_garbage_after_bad_chunk_is_not_resynchronised(raw_server):
    tag = f"/smuggled-{next(_counter)}"
    data = post_chunked(b"5\r\nhelloXX\r\n" + b"GET " + tag.encode() + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    ex = exchange(raw_server.port, data, timeout=5)
    assert ex.closed
    resps, _ = parse_all(ex.data)
    assert [r.status for r in resps] == [400]
    assert tag not in _seen(raw_server)


# ---------------------------------------------------------------------------
# Positive controls: odd-looking but valid
# ---------------------------------------------------------------------------

MANY_OK_HEADERS = b"".join(b"X-H%d: v\r\n" % i for i in range(98))  # + Host + Connection = 100
OK_SECTION = b"".join(b"X-Big-%d: %s\r\n" % (i, b"a" * 4000) for i in range(14))  # ~56 KiB


def _hdr(j, name):
    return [v for k, v in j["headers"] if k == name]


GOOD = [
    ("absolute-form", b"GET http://example.com/echo/p?q=1 HTTP/1.1\r\nHost: example.com\r\n",
     lambda j: j["path"] == "/echo/p" and j["query_string"] == "q=1" and j["raw_path"] == "/echo/p"),
    ("chunk-extensions", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n",
     lambda j: j["body"] == "hello world"),
    ("chunk-trailers", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n",
     lambda j: j["body"] == "hello"),
    ("leading-crlf", b"\r\nGET /echo/lead HTTP/1.1\r\n" + H, lambda j: j["path"] == "/echo/lead"),
    ("cl-list-same", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5, 5\r\n",
     lambda j: j["body"] == "hello"),
    ("cl-two-same-fields", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 5\r\n",
     lambda j: j["body"] == "hello"),
    ("te-mixed-case", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: Chunked\r\n",
     lambda j: j["body"] == "hello"),
    ("chunk-size-hex-leading-zeros", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n",
     lambda j: j["body"] == "0123456789" + "abcdefghij" + "x"),
    ("100-fields", b"GET /echo HTTP/1.1\r\n" + H + MANY_OK_HEADERS,
     lambda j: len(j["headers"]) == 100),
    ("request-line-8190", b"GET " + OK_LINE_TARGET + b" HTTP/1.1\r\n" + H,
     lambda j: j["raw_path"] == OK_LINE_TARGET.decode()),
    ("header-section-56k", b"GET /echo HTTP/1.1\r\n" + H + OK_SECTION,
     lambda j: len(_hdr(j, "x-big-13")) == 1 and len(_hdr(j, "x-big-13")[0]) == 4000),
    ("http10-without-host", b"GET /echo HTTP/1.0\r\n", lambda j: j["http_version"] == "1.0"),
    ("obs-text-in-value", b"GET /echo HTTP/1.1\r\n" + H + b"X-A: caf\xc3\xa9\r\n",
     lambda j: _hdr(j, "x-a") == ["caf\xc3\xa9"]),
    ("ows-trimmed-htab-kept", b"GET /echo HTTP/1.1\r\n" + H + b"X-A: \t a\tb \t\r\n",
     lambda j: _hdr(j, "x-a") == ["a\tb"]),
    ("empty-value", b"GET /echo HTTP/1.1\r\n" + H + b"X-Empty:\r\n", lambda j: _hdr(j, "x-empty") == [""]),
    ("tchar-name", b"GET /echo HTTP/1.1\r\n" + H + b"X-!#$%&'*+.^_`|~: v\r\n",
     lambda j: _hdr(j, "x-!#$%&'*+.^_`|~") == ["v"]),
    ("custom-method", b"M-SEARCH /echo HTTP/1.1\r\n" + H, lambda j: j["method"] == "M-SEARCH"),
    ("host-with-port", b"GET /echo HTTP/1.1\r\nHost: example.com:8080\r\n",
     lambda j: _hdr(j, "host") == ["example.com:8080"]),
    ("query-with-odd-chars", b"GET /echo?a=/b?c&d=%20e HTTP/1.1\r\n" + H,
     lambda j: j["query_string"] == "a=/b?c&d=%20e" and j["path"] == "/echo"),
]

GOOD_BODIES = {
    "chunk-extensions": b"5;foo=bar\r\nhello\r\n6;a;b=\"q x\"\r\n world\r\n0;last\r\n\r\n",
    "chunk-trailers": b"5\r\nhello\r\n0\r\nX-Trailer: v\r\nX-Other: w\r\n\r\n",
    "cl-list-same": b"hello",
    "cl-two-same-fields": b"hello",
    "te-mixed-case": b"5\r\nhello\r\n0\r\n\r\n",
    "chunk-size-hex-leading-zeros": b"00A\r\n0123456789\r\na\r\nabcdefghij\r\n01\r\nx\r\n000\r\n\r\n",
}


@pytest.mark.parametrize("case,head,check", [pytest.param(i, h, c, id=i) for i, h, c in GOOD])
def test_valid_odd_requests_accepted(raw_server, case, head, check):
    data = head + b"Connection: close\r\n\r\n" + GOOD_BODIES.get(case, b"")
    ex = exchange(raw_server.port, data, timeout=5)
    resps, rest = parse_all(ex.data)
    assert len(resps) == 1 and rest == b"", ex.data[:1000]
    r = resps[0]
    assert r.status == 200, r
    j = r.json()
    assert check(j), j


PIECEWISE_GOOD = ["absolute-form", "chunk-extensions", "chunk-trailers", "leading-crlf", "cl-list-same",
                  "te-mixed-case", "chunk-size-hex-leading-zeros", "http10-without-host", "ows-trimmed-htab-kept",
                  "custom-method"]


@pytest.mark.parametrize("case", PIECEWISE_GOOD)
def test_valid_odd_requests_byte_by_byte(raw_server, case):
    head, check = {i: (h, c) for i, h, c in GOOD}[case]
    got, closed = send_in_pieces(raw_server.port, head + b"Connection: close\r\n\r\n" + GOOD_BODIES.get(case, b""))
    resps, rest = parse_all(got)
    assert len(resps) == 1 and rest == b"" and resps[0].status == 200, got[:500]
    assert check(resps[0].json()), resps[0].json()


def test_options_star(raw_server):
    ex = exchange(raw_server.port, b"OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", timeout=5)
    resps, _ = parse_all(ex.data)
    assert len(resps) == 1
    assert resps[0].status != 400 and resps[0].status < 500, resps[0]
    assert resps[0].body == b"options-star"


def test_server_still_serves_after_malformed(raw_server):
    r = raw_server.request("GET", "/hello")
    assert r.status == 200 and r.body == b"Hello, world!"
