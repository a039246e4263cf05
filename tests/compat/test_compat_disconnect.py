"""Clients that leave (issue 13 item 4): uvicorn logs no ERROR when a client leaves in the
middle of a stream, nor when an app answers a client it already saw leave; graft must log
exactly the same lines (error and access log), while real app errors stay logged.

Each framework gets servers of its own; every case waits until the app reports that it
finished with the request, then both servers are stopped (which waits for the rest) and
their logs are diffed."""

from __future__ import annotations

import re
import uuid

import pytest

from compat_util import abort, clean_exit, log_lines, read_first_chunk, stop, wait_events

# app -> [(path, event the app records once it is done with the departed client)]
CASES = {
    # /boom: a real error after the client left, logged by both
    "starlette_app:app": [("/slow", "end"), ("/sse", "end"), ("/late", "end"), ("/boom", "end")],
    "fastapi_app:app": [("/slow", "end"), ("/late", "disconnect")],
    "django_app:app": [("/slow", "end")],
    "litestar_app:app": [("/slow", "end")],
    "quart_app:app": [("/slow", "end")],
}


def leave_mid_stream(port: int, path: str, key: str) -> None:
    s = read_first_chunk(port, f"GET {path}?key={key} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    abort(s)


def leave_before_answer(port: int, path: str, key: str) -> None:
    """A long poll: once the app has the request, the client leaves before the answer."""
    import socket

    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET {path}?key={key} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    wait_events(port, key, "start")
    s.close()


@pytest.mark.parametrize("app", list(CASES), ids=lambda a: a.split("_app")[0])
def test_departed_clients_log_as_uvicorn(fresh_pair, app):
    servers = fresh_pair(app)
    for path, done in CASES[app]:
        for s in servers:
            key = f"{s.impl}-{path.strip('/')}-{uuid.uuid4().hex[:8]}"
            if path in ("/late", "/boom"):
                leave_before_answer(s.port, path, key)
            else:
                leave_mid_stream(s.port, path, key)
            wait_events(s.port, key, done)
    logs = {}
    for s in servers:
        rc = stop(s)
        assert clean_exit(s, rc), f"{s.impl} exited with {rc}\n{s.output()}"
        logs[s.impl] = [re.sub(r"key=[^ &]+", "key=K", line) for line in log_lines(s.output())]
    assert logs["graft"] == logs["uvicorn"], {s.impl: s.output() for s in servers}
    if app.startswith("starlette"):
        assert "ERROR:    Exception in ASGI application" in logs["graft"]


def test_long_poll_abandoned_at_shutdown(fresh_pair):
    """A long poll in flight at SIGTERM whose client then leaves (a browser closing while the
    server restarts): uvicorn's late send() is silent, so it logs nothing and exits 0; so
    must graft (it used to log ClientDisconnected and a 500)."""
    import signal
    import socket

    servers = fresh_pair("starlette_app:app")
    logs = {}
    for s in servers:
        key = f"{s.impl}-poll"
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        c.sendall(f"GET /poll?key={key} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        wait_events(s.port, key, "start")
        s.send_signal(signal.SIGTERM)
        c.close()
        rc = s.wait(10)
        assert clean_exit(s, rc), f"{s.impl} exited with {rc}\n{s.output()}"
        logs[s.impl] = [re.sub(r"key=[^ &]+", "key=K", line) for line in log_lines(s.output())]
    assert logs["graft"] == logs["uvicorn"] == [], {s.impl: s.output() for s in servers}


def test_socketio_long_poll_abandoned_at_shutdown(fresh_pair):
    """The same with python-socketio's own long poll (engine.io polling transport)."""
    import json as _json
    import signal
    import socket

    import httpx

    servers = fresh_pair("socketio_app:app")
    logs = {}
    for s in servers:
        base = f"http://127.0.0.1:{s.port}/socket.io/?EIO=4&transport=polling"
        hs = httpx.get(base, timeout=10)
        assert hs.status_code == 200 and hs.text.startswith("0"), hs.text
        sid = _json.loads(hs.text[1:])["sid"]
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        c.sendall(f"GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        s.send_signal(signal.SIGTERM)
        c.close()
        rc = s.wait(10)
        assert clean_exit(s, rc), f"{s.impl} exited with {rc}\n{s.output()}"
        logs[s.impl] = [re.sub(r"sid=[^ &]+", "sid=S", line) for line in log_lines(s.output())
                        if "transport=polling HTTP" not in line]  # the handshake
    assert logs["graft"] == logs["uvicorn"], {s.impl: s.output() for s in servers}
    assert not [line for line in logs["graft"] if line.startswith("ERROR")], logs
