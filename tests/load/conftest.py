"""Fixtures for the load tests: many connections, long runs, hostile timing.

The short versions run in ``make test``; ``make soak`` / ``make slowloris`` run the long
ones (sizes from the environment: GRAFT_SOAK_REQUESTS, GRAFT_SLOWLORIS_CONNS)."""

from __future__ import annotations

import os
import resource
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "server"))
sys.path.insert(0, os.path.join(REPO, "tests", "native"))

from util import managed_servers  # noqa: E402


@pytest.fixture
def server_factory():
    yield from managed_servers("hardening_apps:app")


def raise_nofile(want: int) -> int:
    """Raises this process's descriptor limit towards ``want`` (children inherit it);
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
