"""--limit-worker-rss MiB (issue 10, item 2): a worker whose resident memory exceeds the
ceiling is replaced, the replacement first (as a SIGHUP reload does), then the old one drains;
requests keep being answered throughout. graft-serve's twin is tests/native/test_serve_reload.py.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "native"))

from test_reload import failures, fresh_get, graft_argv, launch, requests_ok, start_load, stop_load  # noqa: E402,F401
from graft.supervisor import rss_kib  # noqa: E402
from test_workers import assert_stops_cleanly, wait_for, wait_gone, wait_workers  # noqa: E402

LEAK_APP = """
import os

LEAKED = []

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/leak":
        LEAKED.append(b"x" * (16 << 20))  # written, so resident (calloc'd zeros would not be)
    body = str(os.getpid()).encode() if scope["path"] == "/pid" else b"version"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
"""

PATTERN = re.compile(r"Worker \[(\d+)\] uses (\d+) MiB of memory \(RSS\), above --limit-worker-rss "
                     r"(\d+) MiB; replacing it after a graceful drain")


def test_a_worker_over_the_ceiling_is_replaced_after_its_replacement_is_ready(launch, tmp_path):
    (tmp_path / "leak_app.py").write_text(LEAK_APP)
    r = launch(graft_argv(tmp_path, "--limit-worker-rss", "150", app="leak_app:app"))
    workers = wait_workers(r, 2)
    assert wait_for(lambda: fresh_get(r.port, "/") == (200, "version"), 15), r.output()
    clients = start_load(r.port, 2)
    try:
        for _ in range(20):  # 320 MiB more over two workers: at least one crosses 150
            assert fresh_get(r.port, "/leak", timeout=10) == (200, "version"), r.output()
        rss_now = {pid: rss_kib(pid) for pid in r.children()}
        assert wait_for(lambda: PATTERN.search(r.output()), 10), f"RSS KiB {rss_now}\n{r.output()}"
        m = PATTERN.search(r.output())
        victim, rss, limit = int(m.group(1)), int(m.group(2)), int(m.group(3))
        assert victim in workers and rss > limit == 150
        assert wait_for(lambda: re.search(rf"Worker \[\d+\] is ready to replace worker \[{victim}\]; "
                                          r"that one drains", r.output()), 20), r.output()
        assert not wait_gone({victim}, 20), r.output()
        assert victim not in wait_workers(r, 2)
        before = requests_ok(clients)
        assert wait_for(lambda: requests_ok(clients) >= before + 50, 15), r.output()
    finally:
        stop_load(clients)
    assert not failures(clients), f"{failures(clients)[:5]}\n{r.output()}"
    assert_stops_cleanly(r)


def test_below_the_ceiling_nobody_is_replaced(launch, tmp_path):
    (tmp_path / "leak_app.py").write_text(LEAK_APP)
    r = launch(graft_argv(tmp_path, "--limit-worker-rss", "100000", app="leak_app:app"))
    workers = wait_workers(r, 2)
    for _ in range(4):
        assert fresh_get(r.port, "/leak", timeout=10) == (200, "version"), r.output()
    # The supervisor reads the RSS every second: a few rounds of it have run by now.
    assert wait_for(lambda: False, 3) is False
    assert not PATTERN.search(r.output()), r.output()
    assert r.children() == workers
    os.kill(r.pid, signal.SIGTERM)
    assert r.wait(20) == 0, r.output()
