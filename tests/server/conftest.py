"""Fixtures for the end-to-end server tests (see util.py for the helpers).

Servers are started on a socket bound here and passed with --fd; module-scoped
servers are shared by the tests of one module and must exit 0 on SIGTERM.
Set GRAFT_TEST_IMPL=uvicorn to run the same tests against uvicorn.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from util import IMPL, Server, stop_and_check, managed_servers  # noqa: E402


def start_server(app: str, extra=(), **kw) -> Server:
    return Server(app, extra, **kw).start()


# graft reads connections on the loop's thread while it is idle, or on its I/O threads
# (--io-poll): the shared server runs every test of a module once in each mode.
IO_POLL = ["loop", "thread"] if IMPL == "graft" else [None]


@pytest.fixture(scope="module", params=IO_POLL, ids=lambda m: f"io-{m}" if m else "default")
def raw_server(request):
    """graft (or GRAFT_TEST_IMPL) serving tests/apps/raw_apps.py:app with default options."""
    s = start_server("raw_apps:app", ["--io-poll", request.param] if request.param else [])
    yield s
    stop_and_check(s)


@pytest.fixture
def server_factory():
    """Start servers with custom options inside a test; those still running at
    teardown get SIGTERM and must exit cleanly.
    Usage: ``srv = server_factory("raw_apps:app", ["--timeout-keep-alive", "1"])``."""
    yield from managed_servers("raw_apps:app")


def pytest_report_header(config):
    return f"server under test: {IMPL} (set GRAFT_TEST_IMPL=uvicorn to validate the harness)"
