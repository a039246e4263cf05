"""graft-serve --workers N: SIGHUP's rolling reload and --limit-worker-rss (issue 10, item 2).

The same rules as graft's supervisor (tests/server/test_reload.py): new workers start first
(the --native libraries loaded again from disk), report ready, and only then do the old ones
drain. The load is a browser's: keep-alive, an idempotent GET retried once when a kept-alive
connection closes under it. A request fails when it is answered with anything but 200 or its
retry fails too. Every wait has a deadline; nothing asserts a duration but the reload's 10 s.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "server"))
sys.path.insert(0, str(HERE.parent / "deploy"))

from native_util import ServeProcess  # noqa: E402
from test_reload import (BROKEN_SRC, all_fresh_answer, answering, build_lib, failures,  # noqa: E402
                         fresh_get, requests_ok, start_load, stop_load)
from test_reload import read_response  # noqa: E402
from test_workers import children_of, wait_for, wait_gone  # noqa: E402

LEAK_SRC = """
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>

#include <graft.h>

GRAFT_LIBRARY()

static int pid(graft_request *req, void *st)
{
    (void)st;
    char b[32];
    int n = snprintf(b, sizeof b, "%d", (int)getpid());
    return graft_respond(req, 200, "text/plain", b, (size_t)n);
}

static void *volatile leaked; /* kept reachable: the compiler may not drop the allocation */

/* Leaks 16 MiB, touched so it is resident. */
static int leak(graft_request *req, void *st)
{
    (void)st;
    char *p = malloc(16u << 20);
    if (p) {
        memset(p, 1, 16u << 20);
        *(void **)p = leaked;
        leaked = p;
    }
    return graft_respond(req, 200, "text/plain", "leaked", 6);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    return graft_route(r, "GET", "/pid", pid, 0) || graft_route(r, "GET", "/leak", leak, 0);
}
"""


def unix_get(path: str, target: str = "/version") -> tuple[int, str] | None:
    """One GET over a Unix socket; None when it cannot be had."""
    import socket

    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(path)
            s.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
            status, _, body = read_response(s)
            return status, body.decode()
    except OSError:
        return None


def serving(srv: ServeProcess, n: int, timeout: float = 20.0) -> set[int]:
    """The worker pids once n are children of the supervisor."""
    kids = wait_for(lambda: (lambda k: k if len(k) == n else None)(children_of(srv.pid)), timeout)
    assert kids, f"expected {n} workers, have {children_of(srv.pid)}\n{srv.output()}"
    return kids


def test_sighup_reloads_a_rebuilt_library_without_a_failed_request(tmp_path):
    lib = tmp_path / "version.so"
    build_lib(tmp_path, answering("v1"), lib)
    srv = ServeProcess([lib], extra=["--workers", "2"]).start()
    clients = []
    try:
        assert wait_for(lambda: fresh_get(srv.port) == (200, "v1"), 15), srv.output()
        old_workers = serving(srv, 2)
        clients = start_load(srv.port)
        assert wait_for(lambda: requests_ok(clients) >= 200, 15), srv.output()

        build_lib(tmp_path, answering("v2"), lib)
        os.kill(srv.pid, signal.SIGHUP)
        assert wait_for(lambda: all_fresh_answer(srv.port, "v2"), 10), f"no v2 10 s after SIGHUP\n{srv.output()}"
        assert not wait_gone(old_workers, 20), srv.output()
        new_workers = serving(srv, 2)
        assert not (new_workers & old_workers)
        before = requests_ok(clients)
        assert wait_for(lambda: requests_ok(clients) >= before + 200, 15), srv.output()
        assert not failures(clients), f"{failures(clients)[:5]}\n{srv.output()}"
        out = srv.output()
        assert "Received SIGHUP, reloading: starting 2 new workers." in out
        assert "Reload complete: 2 new workers ready; the old ones drain." in out

        # A broken library: the reload fails, the old (v2) workers keep serving.
        build_lib(tmp_path, BROKEN_SRC, lib)
        os.kill(srv.pid, signal.SIGHUP)
        assert wait_for(lambda: "Reload failed" in srv.output(), 30), srv.output()
        before = requests_ok(clients)
        assert wait_for(lambda: requests_ok(clients) >= before + 200, 15), srv.output()
    finally:
        stop_load(clients)
        out = srv.output()
    try:
        assert not failures(clients), f"{failures(clients)[:5]}\n{out}"
        assert re.search(r"Reload failed: worker \d+ exited with exit code 3 before it was ready; "
                         r"the old workers keep serving", out), out
        assert "graft_register" in out, out  # the loader's own message names what is wrong
        assert srv.alive(), out
        assert children_of(srv.pid) == new_workers, out
        assert all_fresh_answer(srv.port, "v2"), out
        assert {a for c in clients for a in c.answers} == {"v1", "v2"}
        assert srv.stop() == 0, srv.output()
        assert not wait_gone(new_workers, 5)
    finally:
        srv.cleanup()


def test_a_sighup_during_a_reload_is_ignored(tmp_path):
    lib = tmp_path / "version.so"
    build_lib(tmp_path, answering("v1"), lib)
    srv = ServeProcess([lib], extra=["--workers", "3"]).start()
    try:
        old = serving(srv, 3)
        # The new workers take 2 s to load the library: the second SIGHUP finds the reload on.
        build_lib(tmp_path, answering("v2").replace("(void)config;", "(void)config; sleep(2);"), lib)
        os.kill(srv.pid, signal.SIGHUP)
        assert wait_for(lambda: "reloading: starting 3 new workers" in srv.output(), 10), srv.output()
        os.kill(srv.pid, signal.SIGHUP)
        assert wait_for(lambda: "Received SIGHUP during a reload; ignored" in srv.output(), 10), srv.output()
        assert fresh_get(srv.port) == (200, "v1")  # still the old workers
        assert wait_for(lambda: all_fresh_answer(srv.port, "v2"), 15), srv.output()
        assert not wait_gone(old, 20), srv.output()
        assert len(serving(srv, 3)) == 3
        assert srv.output().count("Reload complete") == 1
        assert srv.stop() == 0, srv.output()
        assert "Stopping parent process" in srv.output()
    finally:
        srv.cleanup()


def test_without_workers_sighup_is_logged_and_ignored(tmp_path):
    lib = tmp_path / "version.so"
    build_lib(tmp_path, answering("v1"), lib)
    srv = ServeProcess([lib]).start()
    try:
        os.kill(srv.pid, signal.SIGHUP)
        assert wait_for(lambda: "Received SIGHUP: graft-serve reloads only under --workers N" in srv.output(),
                        10), srv.output()
        assert srv.alive() and fresh_get(srv.port) == (200, "v1")
        assert srv.stop() == 0, srv.output()
    finally:
        srv.cleanup()


def test_workers_1_is_a_supervisor_and_sighup_a_rolling_reload(tmp_path):
    """--workers 1 given means one worker under the supervisor (as graft): SIGHUP replaces it."""
    lib = tmp_path / "version.so"
    build_lib(tmp_path, answering("v1"), lib)
    srv = ServeProcess([lib], extra=["--workers", "1"]).start()
    try:
        assert wait_for(lambda: fresh_get(srv.port) == (200, "v1"), 15), srv.output()
        old = serving(srv, 1)
        assert srv.pid not in old
        build_lib(tmp_path, answering("v2"), lib)
        os.kill(srv.pid, signal.SIGHUP)
        assert wait_for(lambda: fresh_get(srv.port) == (200, "v2"), 10), srv.output()
        assert not wait_gone(old, 20), srv.output()
        assert "Reload complete: 1 new workers ready; the old ones drain." in srv.output()
        assert srv.stop() == 0, srv.output()
    finally:
        srv.cleanup()


def test_first_start_with_a_broken_library_still_exits_3(tmp_path):
    lib = tmp_path / "broken.so"
    build_lib(tmp_path, BROKEN_SRC, lib)
    srv = ServeProcess([lib], extra=["--workers", "2"])
    try:
        try:
            srv.start()
        except AssertionError:
            pass  # it exits during start-up: what is checked below
        assert srv.proc.wait(20) == 3, srv.output()
        assert "failed to start (exit code 3); stopping all workers" in srv.output()
    finally:
        srv.cleanup()


def test_limit_worker_rss_replaces_a_worker_after_the_new_one_is_ready(tmp_path):
    lib = tmp_path / "leak.so"
    build_lib(tmp_path, LEAK_SRC, lib)
    srv = ServeProcess([lib], extra=["--workers", "2", "--limit-worker-rss", "64"]).start()
    try:
        workers = serving(srv, 2)
        for _ in range(10):  # 160 MiB more over two workers: at least one crosses 64
            assert fresh_get(srv.port, "/leak") == (200, "leaked"), srv.output()
        pattern = re.compile(r"Worker \[(\d+)\] uses (\d+) MiB of memory \(RSS\), above --limit-worker-rss "
                             r"64 MiB; replacing it after a graceful drain")
        assert wait_for(lambda: pattern.search(srv.output()), 10), srv.output()
        m = pattern.search(srv.output())
        victim, rss = int(m.group(1)), int(m.group(2))
        assert victim in workers and rss > 64
        assert wait_for(lambda: re.search(rf"Worker \[\d+\] is ready to replace worker \[{victim}\]; "
                                          r"that one drains", srv.output()), 15), srv.output()
        assert not wait_gone({victim}, 20), srv.output()
        now = serving(srv, 2)
        assert victim not in now
        got = fresh_get(srv.port, "/pid")
        assert got is not None and got[0] == 200, srv.output()
        assert srv.stop() == 0, srv.output()
    finally:
        srv.cleanup()


def test_graft_serve_serves_the_socket_systemd_passes_and_reloads_there(tmp_path):
    """Socket activation (LISTEN_FDS=1, LISTEN_PID = graft-serve's pid, the socket at fd 3),
    as systemd-socket-activate starts it: served without binding, through a reload."""
    import subprocess

    from native_util import venv_bin
    from test_manifests import passed_through

    lib = tmp_path / "version.so"
    build_lib(tmp_path, answering("v1"), lib)
    path = str(tmp_path / "s.sock")
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        # It gives the child only the environment it is told to: the wrapper script must find
        # this checkout's graft package (and so its graft-serve) as every other test does.
        proc = subprocess.Popen(["systemd-socket-activate", "-l", path,
                                 "-E", f"PYTHONPATH={HERE.parents[1]}", *passed_through(),
                                 str(venv_bin() / "graft-serve"),
                                 "--native", str(lib), "--workers", "2", "--no-access-log",
                                 "--host", "203.0.113.1"],  # no interface has it: binding would fail
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_for(lambda: unix_get(path) == (200, "v1"), 20), log.read_text()
        assert f"graft-serve running on unix socket {path} from systemd" in log.read_text()
        old = children_of(proc.pid)
        build_lib(tmp_path, answering("v2"), lib)
        os.kill(proc.pid, signal.SIGHUP)
        assert wait_for(lambda: unix_get(path) == (200, "v2"), 10), log.read_text()
        assert not wait_gone(old, 20), log.read_text()
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(20) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_reload_with_metrics_moves_the_counts_to_the_new_workers(tmp_path):
    """The new generation takes free slots beside the old one's (not the old workers' slot
    numbers); the drained workers' slots are freed at reap and their counts stay in the sum."""
    from test_metrics_control import free_port, requests_by, scrape

    lib = tmp_path / "version.so"
    build_lib(tmp_path, answering("v1"), lib)
    mport = free_port()
    srv = ServeProcess([lib], extra=["--workers", "2", "--metrics", f"127.0.0.1:{mport}"]).start()
    try:
        old = serving(srv, 2)
        for _ in range(20):
            assert fresh_get(srv.port) == (200, "v1")
        assert wait_for(lambda: requests_by(scrape(mport)) >= 20, 10)
        before = requests_by(scrape(mport))
        os.kill(srv.pid, signal.SIGHUP)
        assert wait_for(lambda: "Reload complete" in srv.output(), 20), srv.output()
        assert not wait_gone(old, 20), srv.output()
        assert wait_for(lambda: scrape(mport)[("graft_workers", frozenset())] == 2, 10)
        for _ in range(10):
            assert fresh_get(srv.port) == (200, "v1")
        assert wait_for(lambda: requests_by(scrape(mport)) == before + 10, 10), (before, requests_by(scrape(mport)))
        assert srv.stop() == 0, srv.output()
    finally:
        srv.cleanup()


def test_a_reload_reads_the_openapi_document_again(native_libs, tmp_path):
    """--openapi ships with the libraries: a reload reads the document again. One naming a
    route the kit cannot reproduce fails the reload (named in the log) and the old workers
    keep their contracts; a good one takes effect."""
    import json

    from test_kit_params import _openapi_doc

    full = _openapi_doc()
    doc = json.loads(json.dumps(full))
    del doc["paths"]["/kit/literal"]  # graft-serve serves only what the kit reproduces
    del doc["paths"]["/kit/dep"]
    f = tmp_path / "openapi.json"

    def write(d: dict) -> None:
        (tmp_path / "openapi.tmp").write_text(json.dumps(d))
        os.rename(tmp_path / "openapi.tmp", f)

    write(doc)
    srv = ServeProcess([native_libs["kit"]], extra=["--workers", "2", "--openapi", str(f)]).start()
    probe = "/kit/items/99999999999999999999"  # the contract's integer: beyond what the kit reads
    try:
        old = serving(srv, 2)
        got = fresh_get(srv.port, probe)
        assert got is not None and got[0] == 422 and "graft_unsupported" in got[1], got

        write(full)
        os.kill(srv.pid, signal.SIGHUP)
        assert wait_for(lambda: "Reload failed" in srv.output(), 20), srv.output()
        assert re.search(r"ERROR:    Native route \S+ /kit/(literal|dep)", srv.output()), srv.output()
        assert children_of(srv.pid) == old
        got = fresh_get(srv.port, probe)
        assert got is not None and got[0] == 422 and "graft_unsupported" in got[1], got

        del doc["paths"]["/kit/items/{item_id}"]  # no contract for that route any more
        write(doc)
        os.kill(srv.pid, signal.SIGHUP)
        assert wait_for(lambda: "Reload complete" in srv.output(), 20), srv.output()
        assert wait_for(lambda: "graft_unsupported" not in (fresh_get(srv.port, probe) or (0, "graft_unsupported"))[1],
                        10), srv.output()
        assert srv.stop() == 0, srv.output()
    finally:
        srv.cleanup()
