"""`graft diff` (graft/diff.py) against two graft servers running tests/apps/diff_apps.py's
two apps, which agree on some paths (one framing its bodies with content-length, the other
chunked) and differ on others in status, a header or the body."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from util import REPO, Server


@pytest.fixture(scope="module")
def pair():
    a = Server("diff_apps:app_a", impl="graft").start()
    try:
        b = Server("diff_apps:app_b", impl="graft").start()
    except BaseException:
        a.cleanup()
        raise
    yield a, b
    for s in (a, b):
        s.stop(signal.SIGTERM, 10)
        s.cleanup()


def run_diff(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "graft", "diff", *args], capture_output=True,
                          text=True, timeout=60, env=env, cwd=str(REPO))


def test_same(pair):
    a, b = pair
    r = run_diff(a.url(""), b.url(""), "--request", "GET /same", "--request", "GET /echo?x=1&y=2",
                 "--header", "X-Token: t1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["GET /same  same", "GET /echo?x=1&y=2  same"]


def test_differs(pair):
    a, b = pair
    r = run_diff(a.url(""), b.url(""), "--request", "GET /same", "--request", "GET /header",
                 "--request", "GET /status", "--request", "get /body")
    assert r.returncode == 1, r.stderr
    assert r.stdout.splitlines() == ["GET /same  same", "GET /header  DIFFERS headers",
                                     "GET /status  DIFFERS status", "GET /body  DIFFERS body"]


def test_header_reaches_both(pair):
    """The header is sent to both: without it /echo would still match, so compare against a
    server that sees the header and one URL prefix that changes the path."""
    a, b = pair
    r = run_diff(a.url(""), b.url(""), "--request", "GET /echo?q", "--header", "X-Token: zz", "--json")
    assert r.returncode == 0 and r.stdout == ""
    # the prefix of URL_B's path makes it answer /x/echo: a 200 "hello" against the echo
    r = run_diff(a.url(""), b.url("/x"), "--request", "GET /echo?q", "--header", "X-Token: zz", "--json")
    assert r.returncode == 1
    d = json.loads(r.stdout)
    assert d["python"]["body"] == "q zz" and d["native"]["body"] == "hello"


def test_json_and_requests_file(pair, tmp_path):
    a, b = pair
    f = tmp_path / "reqs.txt"
    f.write_text("# the cases\nGET /same\n\nGET /header?k=v  # a comment\nGET /status\n")
    r = run_diff(a.url(""), b.url(""), "--requests", str(f), "--json")
    assert r.returncode == 1, r.stderr
    lines = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert [d["differs"] for d in lines] == [["headers"], ["status"]]
    h = lines[0]
    assert h["route"] == "GET /header" and h["request"] == {"method": "GET", "path": "/header", "query": "k=v"}
    assert ["x-v", "1"] in h["python"]["headers"] and ["x-v", "2"] in h["native"]["headers"]
    assert lines[1]["python"]["status"] == 200 and lines[1]["native"]["status"] == 404


def test_errors(pair, tmp_path):
    a, _ = pair
    r = run_diff(a.url(""), "http://127.0.0.1:1", "--request", "GET /same")
    assert r.returncode == 2 and "127.0.0.1:1" in r.stderr
    r = run_diff(a.url(""), a.url(""), "--request", "nonsense")
    assert r.returncode == 2 and "METHOD" in r.stderr
    r = run_diff(a.url(""), "ftp://x", "--request", "GET /")
    assert r.returncode == 2
    r = run_diff(a.url(""), a.url(""), "--requests", str(tmp_path / "missing"))
    assert r.returncode == 2 and "missing" in r.stderr
    r = run_diff(a.url(""))
    assert r.returncode == 2
