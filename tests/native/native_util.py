"""Helpers shared by the native-route tests (imported by conftest.py and the tests).

- ``venv_bin`` / ``build_cmd``: the venv's tools and the documented build command.
- ``start_graft``: graft in front of tests/apps/native_app.py (util.Server, --fd).
- ``ServeProcess``: runs the pure C ``graft-serve`` (which has no --fd: it binds
  --port 0 and the port is read from its start-up line), bounded waits, SIGTERM stop.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO / "tests" / "server") not in sys.path:
    sys.path.insert(0, str(REPO / "tests" / "server"))

from util import HOST, Server, clean_env  # noqa: E402

NATIVE_APP = "native_app:app"  # tests/apps/native_app.py


def venv_bin() -> Path:
    """The venv's bin directory (holding graft, graft-serve and graft-config)."""
    for cand in (Path(sys.executable).parent, REPO / ".venv" / "bin"):
        if (cand / "graft-config").exists() and (cand / "graft-serve").exists():
            return cand
    pytest.fail(f"no graft-config/graft-serve next to {sys.executable} or in {REPO / '.venv' / 'bin'}")


def build_cmd(src: Path, out: Path) -> str:
    cfg = shlex.quote(str(venv_bin() / "graft-config"))
    return (f"cc -O2 -shared -fPIC $({cfg} --cflags) {shlex.quote(str(src))} "
            f"-o {shlex.quote(str(out))} $({cfg} --libs)")


def start_graft(extra, **kw) -> Server:
    """graft serving tests/apps/native_app.py with ``extra`` options (e.g. --native X),
    on a socket passed with --fd (tests/server/util.py's Server). Always graft:
    GRAFT_TEST_IMPL=uvicorn has no native routes."""
    return Server(NATIVE_APP, [str(x) for x in extra], impl="graft", **kw).start()


# ---------------------------------------------------------------------------
# graft-serve (no Python)
# ---------------------------------------------------------------------------

_PORT_RE = re.compile(rb"running on http://[^:\s]+:(\d+)")


class ServeProcess:
    """One ``.venv/bin/graft-serve`` process on 127.0.0.1:<any free port>."""

    def __init__(self, natives, extra=(), ready_timeout: float = 10.0):
        self.cmd = [str(venv_bin() / "graft-serve")]
        for n in natives:
            self.cmd += ["--native", str(n)]
        self.cmd += ["--host", HOST, "--port", "0", "--no-access-log", *[str(x) for x in extra]]
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        fd, self.log_path = tempfile.mkstemp(prefix="graft-serve-", suffix=".log")
        os.close(fd)

    def start(self) -> "ServeProcess":
        with open(self.log_path, "wb") as logf:
            self.proc = subprocess.Popen(self.cmd, cwd=str(REPO), env=clean_env(os.environ),
                                         stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"graft-serve exited with {self.proc.returncode} during start-up; "
                                     f"cmd={self.cmd}\n{self.output()}")
            if self.port is None:
                m = _PORT_RE.search(self._raw_output())
                if m:
                    self.port = int(m.group(1))
            if self.port is not None:
                try:
                    with socket.create_connection((HOST, self.port), timeout=1) as s:
                        s.sendall(b"GET /__ready HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                        r, _, _ = select.select([s], [], [], 1)
                        if r and s.recv(16).startswith(b"HTTP/1."):
                            return
                except OSError as e:
                    last = repr(e)
            time.sleep(0.02)
        raise AssertionError(f"graft-serve not ready after {self.ready_timeout}s ({last}); "
                             f"cmd={self.cmd}\n{self.output()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait up to ``timeout``; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def _raw_output(self) -> bytes:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def output(self) -> str:
        return self._raw_output().decode("utf-8", "replace")[-20000:]

    def cleanup(self) -> None:
        self.kill()
        try:
            os.unlink(self.log_path)
        except OSError:
            pass
