"""graft_body_read on a worker thread while the rest of the body arrives
(tests/native/libs/bodyread.c). Checks the bytes and the end here; the flag the read
consults without the connection lock is what `make test-tsan` watches: with it in the
request's bitfield, TSan reported native_api.c (graft_body_read) against conn_input.c
(request body complete)."""

from __future__ import annotations

import time

import pytest

from native_util import start_graft
from util import Conn, stop_and_check

PARTS = [b"part-1", b"part-2", b"part-3"]


@pytest.fixture(scope="module")
def server(native_libs):
    s = start_graft(["--native", native_libs["bodyread"]])
    yield s
    stop_and_check(s)


@pytest.mark.parametrize("round_", range(3))
def test_body_read_while_body_completes(server, round_):
    body = b"".join(PARTS)
    with Conn(server.port) as c:
        c.send(b"POST /read-slowly HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n%s"
               % (len(body), PARTS[0]))
        time.sleep(0.1)  # the handler has taken part 1 and pauses with bytes left over
        c.send(PARTS[1] + PARTS[2])
        r = c.read_response()
    assert r.status == 200 and r.body == b"%d 1" % len(body), r
