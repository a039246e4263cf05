"""Helpers for the TLS tests: graft started with --ssl-* options (ready when a TLS request is
answered), raw HTTP/1.1 over a TLS socket, and curl."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import time
from pathlib import Path

from util import HOST, Server, ServerError, parse_all, parse_response, stop_and_check  # noqa: F401


def tls_args(pki: Path, *extra, cert: str = "server") -> list[str]:
    return ["--ssl-certfile", str(pki / f"{cert}.pem"), "--ssl-keyfile", str(pki / f"{cert}.key"), *map(str, extra)]


def client_ctx(pki: Path, cert: str | None = None, **kw) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if cert:
        ctx.load_cert_chain(str(pki / f"{cert}.pem"), str(pki / f"{cert}.key"))
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def tls_connect(port: int, ctx: ssl.SSLContext, timeout: float = 5.0) -> ssl.SSLSocket:
    raw = socket.create_connection((HOST, port), timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        return ctx.wrap_socket(raw, server_hostname="localhost")
    except BaseException:
        raw.close()
        raise


def start_tls(app: str, pki: Path, extra=(), *, env=None, ready_timeout: float = 15.0) -> Server:
    """graft with TLS on a fresh port; waits until a TLS request is answered."""
    s = Server(app, list(extra), env=env, probe=False).start()
    ctx = client_ctx(pki)
    deadline = time.monotonic() + ready_timeout
    last = None
    while time.monotonic() < deadline:
        s._check_alive("during startup")  # noqa: SLF001
        try:
            with tls_connect(s.port, ctx, timeout=2) as c:
                c.sendall(b"GET / HTTP/1.1\r\nHost: ready\r\nConnection: close\r\n\r\n")
                if c.recv(100).startswith(b"HTTP/1.1"):
                    return s
        except (OSError, ssl.SSLError) as e:
            last = e
        time.sleep(0.05)
    s.kill()
    raise ServerError(f"TLS server not ready ({last!r})\n{s.output()}")


def read_responses(sock, n: int, methods=None, timeout: float = 10.0):
    """Reads until n responses are complete; returns them."""
    buf = b""
    out = []
    deadline = time.monotonic() + timeout
    sock.settimeout(timeout)
    while len(out) < n and time.monotonic() < deadline:
        chunk = sock.recv(262144)
        if not chunk:
            break
        buf += chunk
        while len(out) < n:
            resp, used = parse_response(buf, (methods or ["GET"] * n)[len(out)])
            if resp is None:
                break
            out.append(resp)
            buf = buf[used:]
    assert len(out) == n, (len(out), buf[:300])
    return out


def plain_connect(port: int, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def curl(url: str, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
    """curl -s with headers included (-i); returns bytes output."""
    # curl is not ours: a sanitizer run's preloaded runtime is not for it
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "TSAN_OPTIONS")}
    return subprocess.run(["curl", "-s", "-i", "--max-time", str(int(timeout)), *args, url],
                          capture_output=True, timeout=timeout + 5, env=env)


def as_compared(resp) -> dict:
    """A response for _graft.compare_responses: the date header (a clock) left out."""
    return {"status": resp.status, "headers": [(k, v) for k, v in resp.headers if k != "date"],
            "body": resp.body}
