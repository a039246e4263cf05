"""Request flags the ASGI bridge reads without the connection lock, while the I/O thread
writes the request's other flags (`src/core/req.h`). Functional checks here; the race
itself is caught by `make test-tsan`, which fails on any ThreadSanitizer report from the
server (tests/apps/flag_apps.py says how). With all the flags in one bitfield these
reported cycle_io.c (send) and cycle.c (the app's return) against conn_input.c (request
body complete), and ws_cycle.c (a denial's end) against conn_input.c (client gone)."""

from __future__ import annotations

import time

import pytest

from util import IMPL, Conn, Server, stop_and_check

pytestmark = pytest.mark.skipif(IMPL != "graft", reason="graft's threads")

PARTS = [b"part-1", b"part-2", b"part-3"]
HEAD = b"POST %%s HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % len(b"".join(PARTS))


@pytest.fixture(scope="module")
def server():
    s = Server("flag_apps:app", ["--io-poll", "thread", "--lifespan", "off"]).start()
    yield s
    stop_and_check(s)


def _exchange(port: int, path: bytes):
    with Conn(port) as c:
        c.send(HEAD % path + PARTS[0])
        time.sleep(0.05)  # the app takes part 1 and starts the response
        c.send(PARTS[1])
        time.sleep(0.15)  # the app takes part 2, then sleeps
        c.send(PARTS[2])
        return c.read_response()


@pytest.mark.parametrize("round_", range(3))
def test_body_while_request_body_completes(server, round_):
    r = _exchange(server.port, b"/body")
    # the app saw parts 1 and 2, or more when it was slower than the client: nothing raced
    # then, but nothing is wrong either
    assert r.status == 200 and int(r.body) >= 6, r


@pytest.mark.parametrize("round_", range(3))
def test_return_without_body_while_request_body_completes(server, round_):
    r = _exchange(server.port, b"/no-body")
    assert r.status == 500, r


WS_HANDSHAKE = (b"GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
                b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n")


@pytest.mark.parametrize("round_", range(3))
def test_ws_denial_unfinished_while_client_leaves(server, round_):
    with Conn(server.port) as c:
        c.send(WS_HANDSHAKE)
        deadline = time.monotonic() + 5
        while b"denied" not in c.buf and not c.eof and time.monotonic() < deadline:
            c.recv_for(0.05)
        assert c.buf.startswith(b"HTTP/1.1 403 ") and b"denied" in c.buf, c.buf
    # the client has left; the app returns without finishing: the server must go on serving
    time.sleep(0.4)
    r = _exchange(server.port, b"/body")
    assert r.status == 200, r
