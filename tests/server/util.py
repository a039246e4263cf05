"""Helpers for the server tests.

- ``Server``: starts graft (or uvicorn) on a listening socket created here and
  handed over with ``--fd`` (no port race), waits for readiness, stops it with
  a signal and reports the exit code. Every wait is bounded.
- ``raw`` / ``exchange`` / ``Conn``: raw-socket HTTP/1.1 I/O.
- ``parse_response`` / ``parse_all``: a small, strict HTTP/1.1 response parser
  (status, headers, body with chunked decoding).

Environment:
  GRAFT_TEST_IMPL=uvicorn  run every "graft" server with uvicorn instead (used
                           to validate the harness itself; graft-only options
                           and strictness cases then fail by design).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APPS_DIR = REPO / "tests" / "apps"

IMPL = os.environ.get("GRAFT_TEST_IMPL", "graft")
if IMPL not in ("graft", "uvicorn"):
    raise RuntimeError(f"GRAFT_TEST_IMPL must be 'graft' or 'uvicorn', not {IMPL!r}")

# The server name expected in the Server header of the implementation under test.
EXPECTED_SERVER_HEADER = "graft"

HOST = "127.0.0.1"


def server_cmd(impl: str, app: str, fd: int, extra=()) -> list[str]:
    if impl == "graft":
        return [sys.executable, "-m", "graft", app, "--fd", str(fd), "--no-access-log", *extra]
    if impl == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", app, "--fd", str(fd), "--no-access-log",
            "--http", "httptools", "--loop", "uvloop", *extra,
        ]
    raise ValueError(impl)


def clean_env(environ) -> dict:
    """The test process's environment minus the variables that configure the
    servers (another test leaking WEB_CONCURRENCY=4 would silently start workers)."""
    return {k: v for k, v in environ.items()
            if not k.startswith(("GRAFT_", "UVICORN_")) and k not in ("WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS")}


class ServerError(AssertionError):
    pass


class Server:
    """One server process bound to a fresh 127.0.0.1 port."""

    def __init__(self, app: str, extra=(), *, impl: str | None = None, env: dict | None = None,
                 probe: bool = True, ready_timeout: float = 10.0, preexec=None):
        self.app = app
        self.extra = [str(x) for x in extra]
        self.impl = impl or IMPL
        self.env = dict(env or {})
        self.probe = probe
        self.ready_timeout = ready_timeout
        self.preexec = preexec  # runs in the child before exec (e.g. to lower an rlimit)
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.log_path: str | None = None
        self.cmd: list[str] = []

    # -- lifecycle -------------------------------------------------------
    def start(self) -> "Server":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((HOST, 0))
            sock.listen(1024)
            self.port = sock.getsockname()[1]
            fd = sock.fileno()
            fdlog, self.log_path = tempfile.mkstemp(prefix=f"{self.impl}-", suffix=".log")
            env = clean_env(os.environ)
            paths = [str(APPS_DIR), str(REPO)]
            if env.get("PYTHONPATH"):
                paths.append(env["PYTHONPATH"])
            env["PYTHONPATH"] = os.pathsep.join(paths)
            env["PYTHONUNBUFFERED"] = "1"
            env.update(self.env)
            self.cmd = server_cmd(self.impl, self.app, fd, self.extra)
            with os.fdopen(fdlog, "wb") as logf:
                self.proc = subprocess.Popen(
                    self.cmd, pass_fds=[fd], cwd=str(REPO), env=env,
                    stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                    start_new_session=True, preexec_fn=self.preexec,
                )
        finally:
            # The child owns the listening socket now; keeping our copy would let
            # connections queue after the server stopped listening.
            sock.close()
        if self.probe:
            try:
                self.wait_ready()
            except BaseException:
                self.kill()
                raise
        return self

    def wait_ready(self) -> None:
        """One probe request (retried only if the connection fails)."""
        deadline = time.monotonic() + self.ready_timeout
        last_err = None
        while time.monotonic() < deadline:
            self._check_alive("during startup")
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: ready\r\nConnection: close\r\n\r\n")
                    buf = b""
                    while time.monotonic() < deadline:
                        self._check_alive("during startup")
                        r, _, _ = select.select([s], [], [], 0.1)
                        if not r:
                            continue
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        buf += chunk
                        if b"\r\n" in buf:
                            break
                    if buf.startswith(b"HTTP/1."):
                        return
                    last_err = f"probe got {buf[:200]!r}"
            except OSError as e:
                last_err = repr(e)
            time.sleep(0.05)
        raise ServerError(f"{self.impl} not ready after {self.ready_timeout}s ({last_err}); "
                          f"cmd={self.cmd}\n--- output ---\n{self.output()}")

    def _check_alive(self, when: str) -> None:
        if self.proc.poll() is not None:
            raise ServerError(f"{self.impl} exited with {self.proc.returncode} {when}; "
                              f"cmd={self.cmd}\n--- output ---\n{self.output()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.proc.pid, sig)

    def wait(self, timeout: float) -> int | None:
        """Exit code, or None if still running after ``timeout`` seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # our own session / process group
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal, wait up to ``timeout``, SIGKILL after that. Returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.send_signal(sig)
            if self.wait(timeout) is None:
                self.kill()
        return self.proc.returncode

    def output(self) -> str:
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        text = data.decode("utf-8", "replace")
        return text[-20000:]

    def cleanup(self) -> None:
        self.kill()
        if self.log_path:
            try:
                os.unlink(self.log_path)
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- convenience -----------------------------------------------------
    def url(self, path: str = "/") -> str:
        return f"http://{HOST}:{self.port}{path}"

    def request(self, method: str, path: str, **kw) -> "Response":
        return request(self.port, method, path, **kw)

    def get_json(self, path: str, timeout: float = 5.0):
        resp = self.request("GET", path, timeout=timeout)
        assert resp.status == 200, (path, resp)
        return json.loads(resp.body)


def clean_exit_codes(impl: str, sig: int = signal.SIGTERM) -> set[int]:
    """Exit codes that count as a clean exit after ``sig``. graft must exit 0;
    uvicorn (>= 0.29) re-raises the signal after its graceful shutdown, so when
    the harness is validated against uvicorn, death by that signal is accepted."""
    if impl == "uvicorn":
        return {0, -sig}
    return {0}


def stop_and_check(server: Server, timeout: float = 10.0) -> None:
    """Fixture teardown: SIGTERM, bounded wait, exit code must be 0."""
    rc = server.stop(signal.SIGTERM, timeout)
    out = server.output()
    server.cleanup()
    assert rc in clean_exit_codes(server.impl), \
        f"{server.impl} exited with {rc} after SIGTERM\n--- output ---\n{out}"


# ---------------------------------------------------------------------------
# Raw socket I/O
# ---------------------------------------------------------------------------

def _recv_until_close(sock: socket.socket, timeout: float) -> tuple[bytes, bool]:
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(buf), False
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return bytes(buf), False
        try:
            chunk = sock.recv(262144)
        except (ConnectionResetError, ConnectionAbortedError):
            return bytes(buf), True
        if not chunk:
            return bytes(buf), True
        buf += chunk


def _sendall(sock: socket.socket, data: bytes) -> bool:
    """sendall that tolerates the server closing early. Returns False on EPIPE/RST."""
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
        return False


@dataclass
class Exchange:
    data: bytes       # everything received
    closed: bool      # the server closed (FIN or RST) before the timeout


def exchange(port: int, data: bytes, *, timeout: float = 5.0, shut_wr: bool = False) -> Exchange:
    """Send ``data``, read until the server closes or ``timeout`` passes."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(timeout)
        _sendall(s, data)
        if shut_wr:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        got, closed = _recv_until_close(s, timeout)
        return Exchange(got, closed)


def raw(port: int, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send bytes, read until the server closes or ``timeout`` passes."""
    return exchange(port, data, timeout=timeout).data


def build_request(method: str = "GET", path: str = "/", headers=None, body: bytes | None = None,
                  *, version: str = "HTTP/1.1", host: str | None = "t",
                  content_length: bool = True) -> bytes:
    lines = [f"{method} {path} {version}".encode("latin-1")]
    hdrs = list(headers or [])
    names = {(h[0].lower() if isinstance(h[0], str) else h[0].decode().lower()) for h in hdrs}
    if host is not None and "host" not in names:
        lines.append(b"Host: " + host.encode())
    for k, v in hdrs:
        k = k.encode("latin-1") if isinstance(k, str) else k
        v = v.encode("latin-1") if isinstance(v, str) else v
        lines.append(k + b": " + v)
    if body is not None and content_length and "content-length" not in names \
            and "transfer-encoding" not in names:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def request(port: int, method: str, path: str, *, headers=None, body: bytes | None = None,
            version: str = "HTTP/1.1", timeout: float = 5.0) -> "Response":
    """One request on a fresh connection (Connection: close)."""
    hdrs = list(headers or [])
    if not any((h[0] if isinstance(h[0], str) else h[0].decode()).lower() == "connection" for h in hdrs):
        hdrs.append(("Connection", "close"))
    with Conn(port, timeout=timeout) as c:
        c.send(build_request(method, path, hdrs, body, version=version))
        return c.read_response(method=method, timeout=timeout)


class Conn:
    """A raw client connection with a receive buffer."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data: bytes) -> bool:
        return _sendall(self.sock, data)

    def _recv_some(self, deadline: float) -> bool:
        """Read once; False on timeout. Sets eof on FIN/RST."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            return False
        try:
            chunk = self.sock.recv(262144)
        except (ConnectionResetError, ConnectionAbortedError):
            chunk = b""
        if not chunk:
            self.eof = True
        else:
            self.buf += chunk
        return True

    def read_response(self, method: str = "GET", timeout: float | None = None) -> "Response":
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            resp, used = parse_response(self.buf, method=method, eof=self.eof)
            if resp is not None:
                self.buf = self.buf[used:]
                return resp
            if self.eof:
                raise ConnectionError(f"connection closed before a complete response; got {self.buf[:500]!r}")
            if not self._recv_some(deadline):
                raise TimeoutError(f"no complete response within the timeout; got {self.buf[:500]!r}")

    def recv_for(self, seconds: float) -> bytes:
        """Collect whatever arrives within ``seconds`` (stops early on EOF)."""
        deadline = time.monotonic() + seconds
        while not self.eof and time.monotonic() < deadline:
            self._recv_some(deadline)
        return self.buf

    def read_until_close(self, timeout: float | None = None) -> tuple[bytes, bool]:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.eof:
            if not self._recv_some(deadline):
                break
        return self.buf, self.eof

    def wait_closed(self, timeout: float) -> bool:
        """True if the server closed the connection within ``timeout`` (data is kept in buf)."""
        return self.read_until_close(timeout)[1]

    def request(self, method: str, path: str, headers=None, body: bytes | None = None,
                timeout: float | None = None, **kw) -> "Response":
        self.send(build_request(method, path, headers, body, **kw))
        return self.read_response(method=method, timeout=timeout)


# ---------------------------------------------------------------------------
# Response parsing
# ---------------------------------------------------------------------------

class MalformedResponse(AssertionError):
    pass


@dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    chunked: bool = False
    complete: bool = True          # body framing was complete
    trailers: list[tuple[str, str]] = field(default_factory=list)
    head: bytes = b""

    def header(self, name: str, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return default

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    def has(self, name: str) -> bool:
        return self.header(name) is not None

    def connection_close(self) -> bool:
        return any("close" in [t.strip().lower() for t in v.split(",")] for v in self.header_all("connection"))

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return (f"<Response {self.status} {self.reason!r} headers={self.headers!r} "
                f"body={self.body[:300]!r}{'...' if len(self.body) > 300 else ''} "
                f"chunked={self.chunked} complete={self.complete}>")


def _parse_head(buf: bytes):
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end]
    lines = head.split(b"\r\n")
    status_line = lines[0]
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
        raise MalformedResponse(f"bad status line {status_line!r}")
    headers = []
    for line in lines[1:]:
        if b":" not in line or line[:1] in (b" ", b"\t") or b"\r" in line or b"\n" in line or b"\0" in line:
            raise MalformedResponse(f"bad header line {line!r}")
        k, v = line.split(b":", 1)
        if k != k.strip() or not k:
            raise MalformedResponse(f"bad header name {k!r}")
        headers.append((k.decode("latin-1").lower(), v.strip(b" \t").decode("latin-1")))
    return (parts[0].decode(), int(parts[1]), parts[2].decode("latin-1") if len(parts) > 2 else "",
            headers, end + 4, buf[:end + 4])


def _decode_chunked(buf: bytes, pos: int, eof: bool):
    """Returns (body, trailers, end_pos, complete) or None if more data is needed."""
    body = bytearray()
    while True:
        nl = buf.find(b"\r\n", pos)
        if nl < 0:
            return None if not eof else (bytes(body), [], len(buf), False)
        line = buf[pos:nl]
        size_s = line.split(b";", 1)[0].strip()
        if not size_s or any(c not in b"0123456789abcdefABCDEF" for c in size_s):
            raise MalformedResponse(f"bad chunk size line {line!r}")
        size = int(size_s, 16)
        pos = nl + 2
        if size == 0:
            trailers = []
            while True:
                nl = buf.find(b"\r\n", pos)
                if nl < 0:
                    return None if not eof else (bytes(body), trailers, len(buf), False)
                line = buf[pos:nl]
                pos = nl + 2
                if not line:
                    return bytes(body), trailers, pos, True
                k, _, v = line.partition(b":")
                trailers.append((k.decode("latin-1").lower(), v.strip().decode("latin-1")))
        if len(buf) < pos + size + 2:
            if eof:
                body += buf[pos:pos + size]
                return bytes(body), [], len(buf), False
            return None
        body += buf[pos:pos + size]
        if buf[pos + size:pos + size + 2] != b"\r\n":
            raise MalformedResponse(f"chunk data not followed by CRLF at {pos + size}: "
                                    f"{buf[pos + size:pos + size + 10]!r}")
        pos += size + 2


def parse_response(buf: bytes, method: str = "GET", eof: bool = False):
    """Parse one response from ``buf``.

    Returns (Response, bytes_used), or (None, 0) if more data is needed. When
    ``eof`` is true the buffer is final: a truncated body yields complete=False.
    """
    h = _parse_head(buf)
    if h is None:
        if eof and buf:
            raise MalformedResponse(f"incomplete response head at EOF: {buf[:300]!r}")
        return None, 0
    version, status, reason, headers, pos, head = h
    resp = Response(version, status, reason, headers, head=head)
    te = [t.strip().lower() for v in resp.header_all("transfer-encoding") for t in v.split(",")]
    if 100 <= status < 200 or status in (204, 304) or method.upper() == "HEAD":
        return resp, pos
    if te:
        if te[-1] != "chunked":
            raise MalformedResponse(f"response transfer-encoding {te}")
        resp.chunked = True
        r = _decode_chunked(buf, pos, eof)
        if r is None:
            return None, 0
        resp.body, resp.trailers, end, resp.complete = r
        return resp, end
    cls = resp.header_all("content-length")
    if cls:
        if len(set(cls)) != 1 or not cls[0].isdigit():
            raise MalformedResponse(f"response content-length {cls}")
        n = int(cls[0])
        if len(buf) - pos < n:
            if eof:
                resp.body = buf[pos:]
                resp.complete = False
                return resp, len(buf)
            return None, 0
        resp.body = buf[pos:pos + n]
        return resp, pos + n
    # close-delimited
    if not eof:
        return None, 0
    resp.body = buf[pos:]
    return resp, len(buf)


def parse_all(buf: bytes, methods=None, eof: bool = True) -> tuple[list[Response], bytes]:
    """Parse consecutive responses. ``methods`` gives the request method of each
    response in order (default GET). Returns (responses, leftover bytes)."""
    out = []
    methods = list(methods or [])
    while buf:
        m = methods[len(out)] if len(out) < len(methods) else "GET"
        resp, used = parse_response(buf, method=m, eof=eof)
        if resp is None:
            break
        out.append(resp)
        buf = buf[used:]
    return out, buf


def count_status_lines(buf: bytes) -> int:
    return buf.count(b"HTTP/1.1 ") + buf.count(b"HTTP/1.0 ")


def wait_for(pred, timeout: float = 5.0, interval: float = 0.05):
    """Poll ``pred`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def managed_servers(default_app: str):
    """Generator behind the ``server_factory`` fixtures: yields ``make(app, extra, **kw)``;
    afterwards every server still running gets SIGTERM and must exit cleanly."""
    started: list[Server] = []

    def make(app: str = default_app, extra=(), **kw) -> Server:
        s = Server(app, extra, **kw)
        started.append(s)
        return s.start()

    yield make
    bad = []
    for s in started:
        was_running = s.alive()
        rc = s.stop()
        if was_running and rc not in clean_exit_codes(s.impl):
            bad.append(f"{s.impl} {s.extra} exited with {rc} on SIGTERM\n{s.output()}")
        s.cleanup()
    assert not bad, "\n".join(bad)
