"""systemd socket activation (issue 10): with LISTEN_FDS=1 and LISTEN_PID naming graft, graft
serves the socket at descriptor 3 instead of binding one, as sd_listen_fds(3) describes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from util import APPS_DIR, HOST, REPO, clean_env, request


def _activated(sock: socket.socket, listen_fds: str, *extra: str) -> subprocess.Popen:
    """graft started the way systemd starts a socket-activated service: the socket at fd 3,
    LISTEN_PID set to the pid graft will have (the shell's, which exec keeps)."""
    script = (f'd="$1"; shift; LISTEN_PID=$$ LISTEN_FDS={listen_fds} exec "$0" -m graft '
              f'raw_apps:hello --app-dir "$d" --lifespan off --no-access-log "$@"')
    env = clean_env(os.environ)
    env["PYTHONPATH"] = str(REPO)
    fd = sock.fileno()
    # dup2 leaves the new descriptor inheritable; pass_fds keeps 3 through close_fds, which
    # runs after preexec_fn.
    return subprocess.Popen(["sh", "-c", script, sys.executable, str(APPS_DIR), *extra],
                            preexec_fn=lambda: os.dup2(fd, 3), pass_fds=(3,), env=env,
                            cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _listening() -> socket.socket:
    sock = socket.socket()
    sock.bind((HOST, 0))
    sock.listen(64)
    return sock


def test_serves_the_socket_systemd_passed():
    sock = _listening()
    # An address no interface has: binding it would fail, so it must not be what is served.
    p = _activated(sock, "1", "--host", "203.0.113.1")
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = request(sock.getsockname()[1], "GET", "/")
                break
            except (OSError, TimeoutError):  # queued by the kernel before graft took the socket
                assert p.poll() is None and time.monotonic() < deadline, p.stdout.read().decode()
                time.sleep(0.1)
        assert r.status == 200, r
    finally:
        p.terminate()
        out, _ = p.communicate(timeout=20)
        sock.close()
    assert p.returncode == 0, out.decode()
    assert b"from systemd" in out, out.decode()


def test_several_passed_sockets_are_refused():
    sock = _listening()
    p = _activated(sock, "2")
    try:
        out, _ = p.communicate(timeout=30)
    finally:
        sock.close()
    assert p.returncode == 1, out.decode()
    assert b"passed 2 sockets" in out, out.decode()
