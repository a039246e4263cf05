"""Fixtures for the load tests: many connections, long runs, hostile timing.

The short versions run in ``make test``; ``make soak`` / ``make slowloris`` run the long
ones (sizes from the environment: GRAFT_SOAK_REQUESTS, GRAFT_SLOWLORIS_CONNS)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "server"))
sys.path.insert(0, os.path.join(REPO, "tests", "native"))

from native_util import build_cmd  # noqa: E402
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


@pytest.fixture(scope="session")
def load_tools(tmp_path_factory) -> dict[str, Path]:
    """The C load client and examples/hello/hello.so, built once per session."""
    out = tmp_path_factory.mktemp("load-tools")
    tools = {"loadgen": out / "loadgen", "hello": out / "hello.so"}
    cmds = [f"cc -O2 -Wall -Wextra -o {tools['loadgen']} {HERE}/loadgen.c",
            build_cmd(Path(REPO) / "examples" / "hello" / "hello.c", tools["hello"])]
    for cmd in cmds:
        p = subprocess.run(cmd, shell=True, capture_output=True, text=True)
        if p.returncode != 0:
            pytest.fail(f"$ {cmd}\n{p.stdout}{p.stderr}", pytrace=False)
    return tools


def run_load(tools, port: int, conns: int, requests: int, paths, timeout: float = 600) -> dict:
    """Runs the load client; returns its summary (requests, errors, rps, p50_ms, p99_ms...)."""
    p = subprocess.run([str(tools["loadgen"]), "127.0.0.1", str(port), str(conns), str(requests),
                        *paths], capture_output=True, text=True, timeout=timeout)
    fields = dict(kv.split("=") for kv in p.stdout.split())
    res = {k: float(v) for k, v in fields.items()}
    res["stderr"] = p.stderr
    res["rc"] = p.returncode
    return res
