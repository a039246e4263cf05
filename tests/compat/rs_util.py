"""Helpers for tests/compat/test_receive_send.py: servers for the apps in tests/compat/apps,
under graft or uvicorn (tests/server/util.py's Server), and raw-socket clients."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))

from util import HOST, REPO, Server, clean_exit_codes  # noqa: E402

APPS = os.path.join(HERE, "apps")
IMPLS = ["graft", "uvicorn"]


@contextlib.contextmanager
def serve(app: str, impl: str, extra=()):
    """A server for ``app`` (a module in tests/compat/apps); it must exit cleanly on SIGTERM."""
    paths = [APPS, str(REPO)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    s = Server(app, extra, impl=impl, env={"PYTHONPATH": os.pathsep.join(paths)})
    s.start()
    try:
        yield s
    finally:
        rc = s.stop()
        out = s.output()
        s.cleanup()
    assert rc in clean_exit_codes(impl), f"{impl} exited with {rc}\n{out}"


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_head(s: socket.socket, deadline: float) -> tuple[bytes, bytes]:
    """Reads until the end of a response head: (head, bytes after it)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        d = s.recv(65536)
        if not d:
            raise AssertionError(f"closed before the response head: {buf!r}")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest
