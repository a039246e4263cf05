"""SIGHUP: zero-downtime reload under --workers (issue 10, item 2), --health-path and
--limit-max-requests-jitter.

A reload starts a new generation of workers (the app imported again, --native libraries loaded
again from disk); only once all of it reported ready do the old workers stop accepting and
drain. The load here is what a browser does: keep-alive connections, and an idempotent GET
retried once when a kept-alive connection closes under it (RFC 9112 §9.3.1). A request fails
when it is answered with anything but 200, or when its retry fails too.

Every wait has a deadline; nothing asserts a duration but the reload's 10 s bound.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "native"))  # native_util, test_metrics_control

from native_util import ServeProcess, build_cmd  # noqa: E402
from test_workers import Running, assert_stops_cleanly, plain, wait_for, wait_gone, wait_workers  # noqa: E402


LIB_SRC = """
#include <stdio.h>
#include <unistd.h>

#include <graft.h>

GRAFT_LIBRARY()

static int h(graft_request *req, void *st)
{
    (void)st;
    return graft_respond(req, 200, "text/plain", "%(answer)s", %(n)d);
}

static int pid(graft_request *req, void *st)
{
    (void)st;
    char b[32];
    int n = snprintf(b, sizeof b, "%%d", (int)getpid());
    return graft_respond(req, 200, "text/plain", b, (size_t)n);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    return graft_route(r, "GET", "/version", h, 0) || graft_route(r, "GET", "/pid", pid, 0);
}
"""

BROKEN_SRC = """
#include <graft.h>

GRAFT_LIBRARY()

GRAFT_API int graft_not_register(void) { return 0; }
"""

APP_SRC = """
import asyncio
import os

ANSWER = %(answer)r
%(extra)s

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(float(scope["query_string"] or b"3"))
    body = str(os.getpid()).encode() if scope["path"] == "/pid" else ANSWER.encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
"""


def build_lib(tmp: Path, src: str, dest: Path) -> None:
    """Compile src to a temporary file, then rename it over dest: the old file stays whole
    for the processes that still map it, and a new dlopen sees the new one."""
    c = tmp / f"lib{time.monotonic_ns()}.c"
    c.write_text(src)
    out = tmp / (c.stem + ".so")
    # the compiler is not ours: no sanitizer runtime preloaded into it (TSan's crashes cc)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "TSAN_OPTIONS")}
    subprocess.run(build_cmd(c, out), shell=True, check=True, env=env)
    os.rename(out, dest)


def answering(answer: str) -> str:
    return LIB_SRC % {"answer": answer, "n": len(answer)}


def write_app(tmp: Path, answer: str, extra: str = "") -> None:
    path = tmp / "reload_app.py"
    tmp_path = tmp / "reload_app.py.tmp"
    tmp_path.write_text(APP_SRC % {"answer": answer, "extra": extra})
    os.rename(tmp_path, path)


def graft_argv(tmp: Path, *extra: str, workers: int | None = 2, app: str = "reload_app:app"):
    """graft's command line; workers=None leaves --workers out (one process)."""
    def argv(fd: int) -> list[str]:
        w = [] if workers is None else ["--workers", str(workers)]
        return [sys.executable, "-m", "graft", app, "--app-dir", str(tmp),
                "--fd", str(fd), *w, "--no-access-log", *extra]

    return argv


# -- an HTTP/1.1 client as browsers behave -------------------------------------------------
def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response (Content-Length or chunked, as graft frames them); OSError when the
    connection ends before it is complete."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response head")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        want = int(headers["content-length"])
        while len(rest) < want:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed in the middle of a body")
            rest += chunk
        return status, headers, rest[:want]
    body = b""
    while True:  # chunked
        while b"\r\n" not in rest:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed in the middle of a chunked body")
            rest += chunk
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        while len(rest) < size + 2:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed in the middle of a chunk")
            rest += chunk
        if size == 0:
            return status, headers, body
        body += rest[:size]
        rest = rest[size + 2 :]


class Client(threading.Thread):
    """GET path again and again on a kept-alive connection; a request whose connection
    closes under it is retried once on a new connection."""

    def __init__(self, port: int, path: str = "/version") -> None:
        super().__init__(daemon=True)
        self.port = port
        self.path = path
        self.stop = threading.Event()
        self.sock: socket.socket | None = None
        self.ok = 0
        self.retried = 0
        self.failures: list[str] = []
        self.answers: list[str] = []

    def _exchange(self) -> tuple[int, dict[str, str], bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        return read_response(self.sock)

    def _drop(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def run(self) -> None:
        while not self.stop.is_set():
            reused = self.sock is not None
            try:
                status, headers, body = self._exchange()
            except OSError as exc:
                self._drop()
                if not reused:
                    self.failures.append(f"fresh connection: {exc!r}")
                    continue
                self.retried += 1  # the kept-alive connection closed under us: once more
                try:
                    status, headers, body = self._exchange()
                except OSError as exc2:
                    self._drop()
                    self.failures.append(f"retry failed: {exc2!r}")
                    continue
            if status != 200:
                self.failures.append(f"status {status}: {body[:100]!r}")
            else:
                self.ok += 1
                self.answers.append(body.decode())
            if headers.get("connection", "").lower() == "close":
                self._drop()
        self._drop()


def fresh_get(port: int, path: str = "/version", timeout: float = 5.0) -> tuple[int, str] | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
            status, _, body = read_response(s)
            return status, body.decode()
    except OSError:
        return None


def serving_pids(r: Running, n: int, timeout: float = 20.0) -> set[int]:
    """Wait until n distinct workers answered (each one is past its start-up, so a file
    changed from now on is only read by workers started later), and return them."""
    seen: set[int] = set()

    def enough():
        # In concurrent bursts: one idle worker could win every sequential accept.
        with ThreadPoolExecutor(max_workers=16) as pool:
            for got in pool.map(lambda _: fresh_get(r.port, "/pid"), range(16)):
                if got and got[0] == 200:
                    seen.add(int(got[1]))
        return len(seen) >= n

    assert wait_for(enough, timeout), f"only {seen} answered\n{r.output()}"
    assert seen == r.children(), (seen, r.children())
    return seen


def all_fresh_answer(port: int, answer: str, n: int = 20, path: str = "/version") -> bool:
    return all(fresh_get(port, path) == (200, answer) for _ in range(n))


@pytest.fixture
def launch():
    started: list[Running] = []

    def make(argv_for_fd) -> Running:
        r = Running(argv_for_fd)
        started.append(r)
        return r

    yield make
    for r in started:
        r.cleanup()


def start_load(port: int, n: int = 4) -> list[Client]:
    clients = [Client(port) for _ in range(n)]
    for c in clients:
        c.start()
    return clients


def stop_load(clients: list[Client]) -> None:
    for c in clients:
        c.stop.set()
    for c in clients:
        c.join(15)
        assert not c.is_alive(), "a client did not stop"


def failures(clients: list[Client]) -> list[str]:
    return [f for c in clients for f in c.failures]


def requests_ok(clients: list[Client]) -> int:
    return sum(c.ok for c in clients)


# -- the reload ----------------------------------------------------------------------------
@pytest.mark.parametrize("app", ["reload_app:app", "native_app:app"])  # plain ASGI, FastAPI
def test_sighup_reloads_a_rebuilt_native_library_without_a_failed_request(launch, tmp_path, app):
    lib = tmp_path / "version.so"
    build_lib(tmp_path, answering("v1"), lib)
    write_app(tmp_path, "app-v1")
    app_dir = tmp_path if app == "reload_app:app" else HERE.parent / "apps"
    r = launch(graft_argv(app_dir, "--native", str(lib), app=app))
    assert wait_for(lambda: fresh_get(r.port) == (200, "v1"), 15), r.output()
    old_workers = serving_pids(r, 2)

    clients = start_load(r.port)
    try:
        assert wait_for(lambda: requests_ok(clients) >= 200, 15), r.output()
        build_lib(tmp_path, answering("v2"), lib)
        os.kill(r.pid, signal.SIGHUP)
        assert wait_for(lambda: all_fresh_answer(r.port, "v2"), 10), \
            f"no v2 10 s after SIGHUP\n{r.output()}"
        assert wait_for(lambda: not (r.children() & old_workers), 20), r.output()
        new_workers = r.children()
        assert len(new_workers) == 2 and not (new_workers & old_workers), r.output()
        before = requests_ok(clients)
        assert wait_for(lambda: requests_ok(clients) >= before + 200, 15), r.output()
        assert not failures(clients), f"{failures(clients)[:5]}\n{r.output()}"
        assert "Reload complete" in r.output()

        # A broken library: the reload fails, the old (v2) workers keep serving.
        build_lib(tmp_path, BROKEN_SRC, lib)
        os.kill(r.pid, signal.SIGHUP)
        assert wait_for(lambda: "Reload failed" in r.output(), 30), r.output()
        before = requests_ok(clients)
        assert wait_for(lambda: requests_ok(clients) >= before + 200, 15), r.output()
    finally:
        stop_load(clients)
    out = r.output()
    assert not failures(clients), f"{failures(clients)[:5]}\n{out}"
    assert re.search(r"Reload failed: worker \d+ exited with exit code 3 before it was ready; "
                     r"the old workers keep serving", out), out
    assert "graft_register" in out, out  # the loader's own message names what is wrong
    assert r.proc.poll() is None, out
    assert r.children() == new_workers, out
    assert all_fresh_answer(r.port, "v2"), out
    answers = {a for c in clients for a in c.answers}
    assert answers == {"v1", "v2"}, answers

    # A worker crashing now is respawned from the broken library: that respawn fails to
    # start, and the server does not stop for it (only a first start does); fixed on disk,
    # the next retry starts.
    victim = sorted(new_workers)[0]
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: "failed to start (exit code 3); the other workers keep serving" in r.output(),
                    20), r.output()
    assert r.proc.poll() is None and all_fresh_answer(r.port, "v2"), r.output()
    build_lib(tmp_path, answering("v3"), lib)
    assert wait_for(lambda: len(r.children()) == 2, 20), r.output()
    assert wait_for(lambda: fresh_get(r.port) == (200, "v3"), 20), r.output()
    assert_stops_cleanly(r)


def test_workers_1_is_a_supervisor_and_sighup_a_rolling_reload(launch, tmp_path):
    """--workers 1 given is one worker under the supervisor (issue: N >= 1 reloads), unlike no
    --workers (one process): SIGHUP replaces the worker, and the new library answers."""
    lib = tmp_path / "version.so"
    build_lib(tmp_path, answering("v1"), lib)
    write_app(tmp_path, "app-v1")
    r = launch(graft_argv(tmp_path, "--native", str(lib), workers=1))
    assert wait_for(lambda: fresh_get(r.port) == (200, "v1"), 15), r.output()
    old_workers = r.children()
    assert len(old_workers) == 1 and r.pid not in old_workers, r.output()
    build_lib(tmp_path, answering("v2"), lib)
    os.kill(r.pid, signal.SIGHUP)
    assert wait_for(lambda: all_fresh_answer(r.port, "v2"), 10), r.output()
    assert wait_for(lambda: len(r.children()) == 1 and not (r.children() & old_workers), 20), r.output()
    assert "Reload complete" in r.output()
    assert_stops_cleanly(r)


def test_reload_with_an_app_that_no_longer_imports_keeps_the_old_workers(launch, tmp_path):
    write_app(tmp_path, "one")
    r = launch(graft_argv(tmp_path))
    assert wait_for(lambda: fresh_get(r.port, "/") == (200, "one"), 15), r.output()
    old_workers = serving_pids(r, 2)

    write_app(tmp_path, "two", extra="raise RuntimeError('broken on purpose')")
    os.kill(r.pid, signal.SIGHUP)
    assert wait_for(lambda: "Reload failed" in r.output(), 30), r.output()
    assert "broken on purpose" in r.output()
    assert r.children() == old_workers, r.output()
    assert all(fresh_get(r.port, "/") == (200, "one") for _ in range(10)), r.output()

    # Fixed: the next SIGHUP imports the module again and the new answer comes.
    write_app(tmp_path, "three")
    os.kill(r.pid, signal.SIGHUP)
    assert wait_for(lambda: all(fresh_get(r.port, "/") == (200, "three") for _ in range(10)), 15), \
        r.output()
    assert_stops_cleanly(r)


def test_a_second_sighup_during_a_reload_is_ignored(launch, tmp_path):
    write_app(tmp_path, "one")
    r = launch(graft_argv(tmp_path))
    old_workers = serving_pids(r, 2)
    write_app(tmp_path, "two", extra="import time; time.sleep(3)  # a slow import")
    os.kill(r.pid, signal.SIGHUP)
    assert wait_for(lambda: "reloading: starting 2 new workers" in r.output(), 10), r.output()
    os.kill(r.pid, signal.SIGHUP)
    assert wait_for(lambda: "Received SIGHUP during a reload; ignored" in r.output(), 10), r.output()
    assert all(fresh_get(r.port, "/") == (200, "one") for _ in range(5))  # still the old ones
    assert wait_for(lambda: all_fresh_answer(r.port, "two", path="/"), 20), r.output()
    assert r.output().count("Reload complete") == 1
    assert wait_for(lambda: len(r.children()) == 2 and not (r.children() & old_workers), 20), r.output()
    assert_stops_cleanly(r)


def test_old_workers_that_do_not_drain_are_killed_like_a_stop(launch):
    """Pure-Python workers that ignore SIGTERM (tests/apps/plain_workers.py "stubborn"):
    after a reload the old ones get SIGKILL once timeout_graceful_shutdown + 5 s passed."""
    r = launch(plain("stubborn", grace=0.5))
    old_workers = wait_workers(r, 2)
    os.kill(r.pid, signal.SIGHUP)
    assert wait_for(lambda: "Reload complete" in r.output(), 10), r.output()
    assert not wait_gone(old_workers, 15), r.output()
    assert "did not finish draining in time; killing it" in r.output()
    assert len(wait_workers(r, 2)) == 2 and not (r.children() & old_workers)
    os.killpg(r.pid, signal.SIGKILL)  # the new ones are stubborn too: no need to wait for them


def test_first_start_failure_of_one_worker_stops_the_server_though_another_is_ready(tmp_path):
    r = Running(plain("oneboots"), env={"PLAIN_MARKER": str(tmp_path / "marker")})
    try:
        rc = r.wait(30)
        assert rc == 3, f"exit code {rc}\n{r.output()}"
        assert "failed to start (exit code 3); stopping all workers" in r.output()
    finally:
        r.cleanup()


def test_first_start_failure_still_stops_the_server_with_3(launch, tmp_path):
    write_app(tmp_path, "x", extra="raise RuntimeError('broken on purpose')")
    r = launch(graft_argv(tmp_path))
    rc = r.wait(30)
    assert rc == 3, f"exit code {rc}\n{r.output()}"


def test_reload_with_metrics_moves_the_counts_to_the_new_workers(launch, tmp_path):
    """The new generation takes free slots beside the old one's; the drained workers' slots
    are freed at reap and their counts stay in the sum."""
    from test_metrics_control import free_port, requests_by, scrape

    mport = free_port()
    write_app(tmp_path, "one")
    r = launch(graft_argv(tmp_path, "--metrics", f"127.0.0.1:{mport}"))
    old_workers = serving_pids(r, 2)
    for _ in range(20):
        assert fresh_get(r.port, "/") == (200, "one")
    before = requests_by(scrape(mport))
    assert before >= 20
    os.kill(r.pid, signal.SIGHUP)
    assert wait_for(lambda: "Reload complete" in r.output(), 20), r.output()
    assert wait_for(lambda: len(r.children()) == 2 and not (r.children() & old_workers), 20), r.output()
    assert wait_for(lambda: scrape(mport)[("graft_workers", frozenset())] == 2, 10)
    for _ in range(10):
        assert fresh_get(r.port, "/") == (200, "one")
    after = scrape(mport)
    assert requests_by(after) == before + 10 + 0, (before, requests_by(after))
    assert_stops_cleanly(r)


# -- --health-path ---------------------------------------------------------------------------
def test_health_path_is_answered_by_graft_for_the_exact_path(launch, tmp_path):
    write_app(tmp_path, "app")
    r = launch(graft_argv(tmp_path, "--health-path", "/healthz", workers=1))
    assert wait_for(lambda: fresh_get(r.port, "/healthz") == (200, "ok\n"), 15), r.output()
    assert fresh_get(r.port, "/healthz?probe=1") == (200, "ok\n")  # the query is not the path
    assert fresh_get(r.port, "/healthzz") == (200, "app")  # exact path only: the rest is the app's
    assert fresh_get(r.port, "/health") == (200, "app")
    assert fresh_get(r.port, "/") == (200, "app")
    assert_stops_cleanly(r)


def test_health_path_turns_503_while_draining(launch, tmp_path):
    write_app(tmp_path, "app")
    r = launch(graft_argv(tmp_path, "--health-path", "/healthz", "--timeout-graceful-shutdown", "20",
                          workers=1))
    assert wait_for(lambda: fresh_get(r.port, "/healthz") == (200, "ok\n"), 15), r.output()
    idle = socket.create_connection(("127.0.0.1", r.port), timeout=10)
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    assert read_response(idle)[:1] == (200,)
    slow = socket.create_connection(("127.0.0.1", r.port), timeout=30)
    slow.sendall(b"GET /slow?4 HTTP/1.1\r\nHost: t\r\n\r\n")
    probe = socket.create_connection(("127.0.0.1", r.port), timeout=10)
    probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")  # a head still arriving
    assert wait_for(lambda: fresh_get(r.port, "/healthz") == (200, "ok\n"), 5)  # all three read
    os.kill(r.pid, signal.SIGTERM)
    assert wait_for(lambda: "Waiting for connections to close" in r.output(), 10), r.output()
    # The idle kept-alive connection is closed; the one a request was arriving on is not.
    assert idle.recv(100) == b""
    probe.sendall(b"\r\n")
    status, headers, body = read_response(probe)
    assert (status, body) == (503, b"draining\n"), r.output()
    assert headers.get("connection") == "close"
    status, headers, body = read_response(slow)  # the request in flight ends normally
    assert (status, body) == (200, b"app")
    assert headers.get("connection") == "close"
    for s in (idle, slow, probe):
        s.close()
    assert r.wait(30) == 0, r.output()


def test_graft_serve_answers_the_health_path_too(tmp_path):
    lib = tmp_path / "version.so"
    build_lib(tmp_path, answering("v1"), lib)
    srv = ServeProcess([lib], extra=["--health-path", "/healthz"]).start()
    try:
        assert fresh_get(srv.port, "/healthz") == (200, "ok\n"), srv.output()
        assert fresh_get(srv.port, "/version") == (200, "v1")
        got = fresh_get(srv.port, "/healthz/")  # exact path only: graft-serve's 404 for the rest
        assert got is not None and got[0] == 404, got
        assert srv.stop() == 0, srv.output()
    finally:
        srv.cleanup()


# -- --limit-max-requests-jitter -----------------------------------------------------------
def test_limit_max_requests_jitter_gives_each_worker_its_own_limit(launch, tmp_path):
    write_app(tmp_path, "app")
    r = launch(graft_argv(tmp_path, "--limit-max-requests", "100", "--limit-max-requests-jitter",
                          "100000", "--log-level", "debug", workers=4))
    pattern = re.compile(r"This worker's request limit: (\d+) \(--limit-max-requests 100 \+ jitter up to 100000\)")
    assert wait_for(lambda: len(pattern.findall(r.output())) >= 4, 20), r.output()
    limits = [int(x) for x in pattern.findall(r.output())]
    assert all(100 <= x <= 100100 for x in limits), limits
    assert len(set(limits)) > 1, limits  # four equal draws from 100001 values: ~1e-15
    assert_stops_cleanly(r)


def test_limit_max_requests_jitter_is_the_limit_the_worker_keeps(launch, tmp_path):
    write_app(tmp_path, "app")
    r = launch(graft_argv(tmp_path, "--limit-max-requests", "3", "--limit-max-requests-jitter", "4",
                          "--log-level", "debug", workers=None))
    pattern = re.compile(r"This worker's request limit: (\d+)")
    assert wait_for(lambda: pattern.search(r.output()), 20), r.output()
    limit = int(pattern.search(r.output()).group(1))
    assert 3 <= limit <= 7
    for served in range(limit):
        got = fresh_get(r.port, "/")
        assert got == (200, "app"), (served, got, r.output())
    assert r.wait(10) == 0, r.output()  # a single process stops at its limit
    assert f"Maximum request limit of {limit} exceeded" in r.output()
