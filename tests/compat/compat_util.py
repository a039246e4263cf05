"""Helpers for the framework compatibility suite: one app served by uvicorn (httptools +
uvloop) and by graft side by side, responses and log lines normalised for diffing.

Servers come from tests/server/util.py (socket bound here, passed with --fd, every wait
bounded); the apps live in tests/compat/apps/.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
APPS = HERE / "apps"
sys.path.insert(0, str(REPO / "tests" / "server"))

from util import HOST, Server, clean_exit_codes  # noqa: E402

IMPLS = ("uvicorn", "graft")
# Headers that legitimately differ between two servers (and two runs).
VOLATILE = {"date", "server"}


def start(impl: str, app: str, extra=(), **kw) -> Server:
    """``app`` from tests/compat/apps under ``impl``, with the access log on (it is diffed)."""
    env = {"PYTHONPATH": f"{APPS}:{REPO}"}
    env.update(kw.pop("env", {}))
    return Server(app, ["--access-log", *extra], impl=impl, env=env, ready_timeout=20, **kw).start()


def stop(server: Server, timeout: float = 10.0) -> int | None:
    """SIGTERM and wait; the exit code, or None if it was still running (then killed)."""
    server.send_signal(signal.SIGTERM)
    rc = server.wait(timeout)
    if rc is None:
        server.kill()
    return rc


def clean_exit(server: Server, rc: int | None) -> bool:
    return rc is not None and rc in clean_exit_codes(server.impl)


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def comparable(self) -> tuple:
        def norm(k: str, v: str) -> str:
            # Flask builds Allow from a set: its order follows the process's hash seed.
            return ", ".join(sorted(t.strip() for t in v.split(","))) if k == "allow" else v

        return (self.status, sorted((k, norm(k, v)) for k, v in self.headers if k not in VOLATILE),
                self.body)


def fetch(port: int, method: str, path: str, *, headers=None, body: bytes | None = None,
          timeout: float = 10.0) -> Reply:
    """One request on a fresh connection, read to the end of the response (httpx, which frames
    by the response's own headers; it never decodes content-encoding here)."""
    import httpx

    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=timeout) as c:
        with c.stream(method, path, headers=headers, content=body) as r:
            data = b"".join(r.iter_raw())
            hdrs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in r.headers.raw]
            return Reply(r.status_code, hdrs, data)


def events(port: int, key: str) -> list[str]:
    return json.loads(fetch(port, "GET", f"/events?key={key}").body)


def wait_events(port: int, key: str, want: str, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        got = events(port, key)
        if want in got:
            return got
        assert time.monotonic() < deadline, f"app never recorded {want!r} for {key}: {got}"
        time.sleep(0.05)


def read_first_chunk(port: int, request: bytes, timeout: float = 10.0) -> socket.socket:
    """Sends ``request`` and returns the socket once the head and some body arrived."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.sendall(request)
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf or len(buf) == buf.index(b"\r\n\r\n") + 4:
        assert time.monotonic() < deadline, buf
        chunk = s.recv(65536)
        assert chunk, f"closed early: {buf!r}"
        buf += chunk
    return s


def abort(s: socket.socket) -> None:
    """Leave as a browser tab that is closed does: FIN now, no more reading."""
    s.close()


_PORT = re.compile(r"(127\.0\.0\.1):\d+")
_ACCESS = re.compile(r'^INFO: +\S+ - "(?P<line>[^"]*)" (?P<status>\d{3})')


def log_lines(output: str, skip_paths=("/events",)) -> list[str]:
    """The lines worth diffing: ERROR/WARNING lines and access-log lines, ports and the
    server's own name removed; the ready probe and the polling of /events left out."""
    out = []
    for line in output.splitlines():
        line = _PORT.sub(r"\1:*", line.rstrip())
        m = _ACCESS.match(line)
        if m:
            target = m.group("line").split(" ")[1] if " " in m.group("line") else ""
            if target == "/" or target.split("?")[0] in skip_paths:
                continue
            out.append(f"access {m.group('line')} {m.group('status')}")
        elif line.startswith(("ERROR:", "WARNING:")):
            if "Waiting for" in line or "running on" in line.lower():
                continue
            out.append(line.replace("Uvicorn", "<server>").replace("Graft", "<server>"))
    return sorted(out)
