"""--workers: the pre-fork Supervisor (one shared listening socket, respawn, signals).

Two layers:

* ``plain_*`` tests run graft's Supervisor around a tiny pure-Python responder
  (tests/apps/plain_workers.py), so the supervisor is tested without the C server;
* ``cli_*`` tests run ``python -m graft tests.apps.pid_app:app --workers 2 --fd N`` end to end
  (skipped until graft/server.py exists; GRAFT_TEST_IMPL=uvicorn runs them against uvicorn).

Every response body is the pid of the worker that answered. Every wait has a deadline.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMPL = os.environ.get("GRAFT_TEST_IMPL", "graft")

def needs_server(f):  # the C server is always built by `make test`
    return f
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")


# -- helpers ----------------------------------------------------------------------------------
def wait_for(predicate, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def wait_gone(pids: set[int], timeout: float) -> set[int]:
    """Wait until none of ``pids`` is alive; returns those still alive at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        left = {pid for pid in pids if alive(pid)}
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def process_state(pid: int) -> str | None:
    """Single-letter state from /proc (None if gone). Zombies count as gone for our purpose."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return data[data.rindex(b")") + 2 :].split()[0].decode()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return process_state(pid) not in (None, "Z", "X")


def children_of(ppid: int) -> set[int]:
    result = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        if int(fields[1]) == ppid and fields[0] not in (b"Z", b"X"):
            result.add(int(entry))
    return result


def ask_pid(port: int, timeout: float = 3.0) -> int | None:
    """One request on a new connection; the worker's pid, or None on any failure."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            data = b""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") or not body.strip().isdigit():
        return None
    return int(body.strip())


def collect_pids(port: int, want: int, timeout: float = 15.0, burst: int = 16) -> set[int]:
    """Ask on fresh connections until ``want`` distinct pids answered (bounded).

    Requests go in concurrent bursts: with one shared accept queue, sequential requests may
    all be won by the same idle worker, while a burst makes the others accept too.
    """
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(max_workers=burst) as pool:
        while len(seen) < want and time.monotonic() < deadline:
            results = list(pool.map(lambda _: ask_pid(port), range(burst)))
            seen.update(pid for pid in results if pid is not None)
            if not any(results):
                time.sleep(0.05)
    return seen


class Running:
    """A supervisor process started on a socket created here (handed over by fd)."""

    def __init__(self, argv_for_fd, env: dict | None = None) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        self.log = tempfile.TemporaryFile()
        full_env = os.environ.copy()
        full_env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO), str(REPO / "tests" / "apps"), full_env.get("PYTHONPATH")])
        )
        full_env["PYTHONUNBUFFERED"] = "1"
        full_env.update(env or {})
        try:
            self.proc = subprocess.Popen(
                argv_for_fd(sock.fileno()), pass_fds=[sock.fileno()], cwd=str(REPO), env=full_env,
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            sock.close()  # only the server holds the listening socket now
        self.pid = self.proc.pid
        self.known_children: set[int] = set()

    def children(self) -> set[int]:
        kids = children_of(self.pid)
        self.known_children |= kids
        return kids

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-20000:]

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait(10)
        for pid in self.known_children:  # children that left the process group, if any
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.log.close()


@pytest.fixture
def launch():
    started: list[Running] = []

    def make(argv_for_fd, env=None) -> Running:
        r = Running(argv_for_fd, env)
        started.append(r)
        return r

    yield make
    for r in started:
        r.cleanup()


def plain(mode: str = "normal", workers: int = 2, grace: float | None = None):
    def argv(fd: int) -> list[str]:
        args = [sys.executable, "-m", "tests.apps.plain_workers", str(fd), str(workers), mode]
        if grace is not None:
            args.append(str(grace))
        return args

    return argv


def cli(*extra: str, workers: int = 2):
    def argv(fd: int) -> list[str]:
        if IMPL == "uvicorn":
            return [sys.executable, "-m", "uvicorn", "pid_app:app", "--fd", str(fd),
                    "--workers", str(workers), "--no-access-log", *extra]
        return [sys.executable, "-m", "graft", "tests.apps.pid_app:app", "--fd", str(fd),
                "--workers", str(workers), "--no-access-log", *extra]

    return argv


def assert_stops_cleanly(r: Running, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    kids = r.children() if sys.platform.startswith("linux") else set()
    os.kill(r.pid, sig)
    rc = r.wait(timeout)
    assert rc == 0, f"exit code {rc} after {signal.Signals(sig).name}\n{r.output()}"
    leftover = wait_gone(kids | r.known_children, 5)
    assert not leftover, f"workers outlived the supervisor: {leftover}\n{r.output()}"


def wait_workers(r: Running, n: int, timeout: float = 15.0) -> set[int]:
    kids = wait_for(lambda: (lambda k: k if len(k) == n else None)(r.children()), timeout)
    assert kids and len(kids) == n, f"expected {n} workers, have {r.children()}\n{r.output()}"
    return kids


# -- the Supervisor with a pure-Python worker --------------------------------------------------
@linux_only
def test_plain_workers_share_the_socket(launch):
    r = launch(plain())
    kids = wait_workers(r, 2)
    pids = collect_pids(r.port, 2)
    assert pids == kids, r.output()
    assert f"Started parent process [{r.pid}]" in r.output()
    assert_stops_cleanly(r)


@linux_only
def test_plain_killed_worker_is_replaced(launch):
    r = launch(plain())
    before = wait_workers(r, 2)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    after = wait_for(lambda: (lambda k: k if len(k) == 2 and victim not in k else None)(r.children()), 5)
    assert after, f"worker {victim} not replaced: {r.children()}\n{r.output()}"
    new = after - before
    assert len(new) == 1
    pids = collect_pids(r.port, 2)
    assert pids == after, r.output()
    assert f"Child process [{victim}] died (killed by signal SIGKILL)" in r.output()
    assert_stops_cleanly(r)


@linux_only
def test_plain_sigint_stops_cleanly(launch):
    r = launch(plain())
    wait_workers(r, 2)
    assert_stops_cleanly(r, signal.SIGINT)
    assert "Received SIGINT, exiting." in r.output()


@linux_only
def test_plain_boot_failure_exits_3_without_respawning(launch):
    r = launch(plain("bootfail"))
    rc = r.wait(15)
    assert rc == 3, r.output()
    assert "failed to start" in r.output()
    assert r.output().count("Started parent process") == 1


@linux_only
def test_plain_stubborn_workers_are_killed_after_the_grace_period(launch):
    r = launch(plain("stubborn", grace=0))  # 0 + 5 s, then SIGKILL
    # Both workers answering means both ignore SIGTERM by now: a worker only forked may still
    # have the default action and die at once (seen in CI: stopped in 0.03 s).
    assert collect_pids(r.port, 2) == wait_workers(r, 2), r.output()
    t0 = time.monotonic()
    assert_stops_cleanly(r, signal.SIGTERM, timeout=15)
    elapsed = time.monotonic() - t0
    assert 4 <= elapsed < 12, elapsed
    assert "did not stop in time" in r.output()


@linux_only
def test_plain_second_sigint_kills_at_once(launch):
    r = launch(plain("stubborn", grace=60))
    kids = wait_workers(r, 2)
    assert collect_pids(r.port, 2) == kids, r.output()  # both in their loop, ignoring SIGTERM
    os.kill(r.pid, signal.SIGINT)
    time.sleep(0.3)
    assert r.proc.poll() is None  # still waiting for the stubborn workers
    t0 = time.monotonic()
    os.kill(r.pid, signal.SIGINT)
    assert r.wait(5) == 0, r.output()
    assert time.monotonic() - t0 < 5
    assert not wait_gone(kids, 5)


@linux_only
def test_plain_workers_die_with_a_killed_parent(launch):
    r = launch(plain())
    kids = wait_workers(r, 2)
    os.kill(r.pid, signal.SIGKILL)
    r.wait(5)
    leftover = wait_gone(kids, 5)
    assert not leftover, f"orphaned workers {leftover}"


@linux_only
def test_plain_sighup_restarts_and_ttin_ttou_scale(launch):
    r = launch(plain())
    before = wait_workers(r, 2)
    os.kill(r.pid, signal.SIGHUP)
    after = wait_for(lambda: (lambda k: k if len(k) == 2 and not (k & before) else None)(r.children()), 10)
    assert after, f"not restarted: {before} -> {r.children()}\n{r.output()}"
    os.kill(r.pid, signal.SIGTTIN)
    wait_workers(r, 3)
    os.kill(r.pid, signal.SIGTTOU)  # one at a time: pending identical signals merge
    wait_workers(r, 2)
    os.kill(r.pid, signal.SIGTTOU)
    wait_workers(r, 1)
    os.kill(r.pid, signal.SIGTTOU)  # never below one worker
    time.sleep(0.3)
    wait_workers(r, 1)
    assert collect_pids(r.port, 1) == r.children()
    assert_stops_cleanly(r)


# -- end to end through the CLI (needs the C server) -------------------------------------------
@needs_server
def test_cli_two_workers_answer(launch):
    r = launch(cli())
    pids = collect_pids(r.port, 2)
    assert len(pids) == 2, f"only {pids} answered\n{r.output()}"
    assert r.pid not in pids
    if IMPL == "graft" and sys.platform.startswith("linux"):
        assert pids <= r.children()
        assert f"Started parent process [{r.pid}]" in r.output()
    assert_stops_cleanly(r)


@needs_server
def test_cli_killed_worker_is_replaced(launch):
    r = launch(cli())
    pids = collect_pids(r.port, 2)
    assert len(pids) == 2, f"only {pids} answered\n{r.output()}"
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    assert not wait_gone({victim}, 5)
    # A new pid must start answering within a few seconds; the survivor keeps serving.
    seen: set[int] = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (seen - pids):
        seen |= collect_pids(r.port, 3, timeout=1.0)
    assert victim not in seen
    assert seen - pids, f"no replacement worker answered (seen {seen}, before {pids})\n{r.output()}"
    assert_stops_cleanly(r)


@needs_server
def test_cli_sigterm_exits_0_and_leaves_no_worker(launch):
    r = launch(cli("--timeout-graceful-shutdown", "5"))
    pids = collect_pids(r.port, 2)
    assert len(pids) == 2, r.output()
    assert_stops_cleanly(r)
    assert not {p for p in pids if alive(p)}
    # The listening socket died with the server: connecting now fails fast.
    assert ask_pid(r.port, timeout=1) is None


@needs_server
@pytest.mark.skipif(IMPL != "graft", reason="graft's PR_SET_PDEATHSIG guarantee")
@linux_only
def test_cli_workers_die_with_a_killed_parent(launch):
    r = launch(cli())
    pids = collect_pids(r.port, 2)
    assert len(pids) == 2, r.output()
    os.kill(r.pid, signal.SIGKILL)
    r.wait(5)
    leftover = wait_gone(pids, 10)
    assert not leftover, f"orphaned workers {leftover}"
