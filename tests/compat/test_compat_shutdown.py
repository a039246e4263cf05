"""Shutdown with a WSGI stream whose client left (issue 13 item 5).

Flask under a2wsgi streams from a thread through a bounded queue that an asyncio task drains
into send(). When the client leaves, graft's send() raises (ASGI 2.4), the draining task
dies, and the WSGI thread blocks on the full queue: the request can never finish. uvicorn's
send() is silent after a disconnect, so there the generator runs to its end (2 s) and the
process exits 0. graft must exit cleanly too: with the default (no graceful timeout) and
within --timeout-graceful-shutdown when one is set.
"""

from __future__ import annotations

import time

import pytest

from compat_util import abort, clean_exit, read_first_chunk, start, stop, wait_events

APP = "flask_app:app"


def leave_stream(server) -> None:
    s = read_first_chunk(server.port, b"GET /slow?key=s HTTP/1.1\r\nHost: t\r\n\r\n")
    abort(s)


@pytest.mark.parametrize("impl", ["uvicorn", "graft"])
@pytest.mark.parametrize("extra", [[], ["--timeout-graceful-shutdown", "1"]], ids=["default", "timeout-1"])
def test_exit_after_wsgi_stream_client_left(impl, extra):
    server = start(impl, APP, extra)
    try:
        leave_stream(server)
        wait_events(server.port, "s", "tick 5")  # the stream went on after the client left
        t0 = time.monotonic()
        rc = stop(server, timeout=8)
        took = time.monotonic() - t0
        assert clean_exit(server, rc), f"{impl} exit code {rc} (None: hung)\n{server.output()}"
        # uvicorn lets the 2 s generator run out; graft ends it (within the timeout if set).
        assert took < (3.5 if extra else 5), took
    finally:
        server.cleanup()
