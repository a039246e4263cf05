"""Soak: keep-alive requests, half to a native route (examples/hello/hello.so) and half to
the FastAPI app behind it (tests/apps/native_app.py). Every answer must be right, and the
RSS of the whole process tree measured after the warm-up and at the end grows less than 5 %.

``make test`` runs 50,000 + 150,000 requests; ``make soak`` runs the issue's full size
(GRAFT_SOAK_REQUESTS=1000000: 100,000 warm-up, then the rest)."""

from __future__ import annotations

import os

from conftest import run_load
from hardening_util import rss_kib
from util import Server

TOTAL = int(os.environ.get("GRAFT_SOAK_REQUESTS", "200000"))
WARM = 100_000 if TOTAL >= 1_000_000 else TOTAL // 4
PATHS = ["/hello/world", "/py"]


def test_soak_rss_flat(load_tools):
    srv = Server("native_app:app", ["--native", load_tools["hello"]]).start()
    try:
        pid = srv.proc.pid
        warm = run_load(load_tools, srv.port, 16, WARM, PATHS)
        assert warm["rc"] == 0 and warm["errors"] == 0, warm
        rss_warm = rss_kib(pid)
        rest = run_load(load_tools, srv.port, 16, TOTAL - WARM, PATHS)
        assert rest["rc"] == 0 and rest["errors"] == 0, rest
        rss_end = rss_kib(pid)
        growth = (rss_end - rss_warm) / rss_warm
        print(f"soak: {TOTAL} requests, {rest['rps']:.0f} req/s; RSS {rss_warm} -> {rss_end} KiB "
              f"({growth * 100:+.2f} %)")
        assert growth < 0.05, f"RSS grew {growth * 100:.1f} % ({rss_warm} -> {rss_end} KiB)"
        assert srv.alive()
    finally:
        assert srv.stop() == 0, srv.output()
        srv.cleanup()
