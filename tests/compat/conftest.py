"""The framework compatibility suite (issue 13): real apps under uvicorn and under graft.

Each app module in tests/compat/apps/ is served by both servers, the same requests are
replayed against each and the answers diffed (status, headers minus date/server, body), and
for clients that leave early the error and access logs are diffed too. Every test waits on
what the app itself reports (/events), never on a guessed delay, so it is deterministic.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from compat_util import IMPLS, start, stop  # noqa: E402


@pytest.fixture(scope="session")
def pair_for():
    """``pair_for("django_app:app")`` -> {"uvicorn": Server, "graft": Server}, started once per
    session and shared by every test of that app (servers stop at the end of the session)."""
    cache = {}

    def get(app):
        if app not in cache:
            servers = {}
            cache[app] = servers
            for impl in IMPLS:
                servers[impl] = start(impl, app)
        return cache[app]

    yield get
    for servers in cache.values():
        for s in servers.values():
            stop(s)
            s.cleanup()


@pytest.fixture
def fresh_pair():
    """Servers of its own for a test that reads the whole log or stops them:
    ``uv, gr = fresh_pair("django_app:app", graft_extra=[...])``."""
    started = []

    def make(app, extra=(), graft_extra=()):
        got = []
        for impl in IMPLS:
            s = start(impl, app, [*extra, *(graft_extra if impl == "graft" else ())])
            started.append(s)
            got.append(s)
        return got

    yield make
    for s in started:
        if s.alive():
            stop(s)
        s.cleanup()
