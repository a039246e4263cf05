"""--access-log-format (graft/access_format.py): every atom against a request with known
headers and a known answer from an ASGI app; the default line stays uvicorn's."""

from __future__ import annotations

import os
import re

from util import Server, request, stop_and_check, wait_for

ATOMS = [
    "h=%(h)s", "r=%(r)s", "m=%(m)s", "U=%(U)s", "q=%(q)s", "H=%(H)s", "s=%(s)s", "b=%(b)s",
    "B=%(B)s", "D=%(D)s", "M=%(M)s", "T=%(T)s", "L=%(L)s", "f=%(f)s", "a=%(a)s",
    "xi=%({X-Custom}i)s", "missing=%({x-none}i)s", "xo=%({x-resp}o)s", "cto=%({Content-Type}o)s",
    "p=%(p)s", "t=%(t)s", "by=%(answered_by)s", "pct=%%",
]
HEADERS = [("Referer", "http://ref.example/x"), ("User-Agent", "agent/1.0"), ("X-Custom", "c v")]


def access_lines(s: Server, prefix: str) -> list[str]:
    return [line for line in s.output().splitlines() if line.startswith(prefix)]


def test_every_atom():
    s = Server("alog_app:app", ["--access-log", "--access-log-format", "|".join(ATOMS)], impl="graft").start()
    try:
        r = request(s.port, "GET", "/some/path?a=1&b=2", headers=HEADERS)
        assert r.status == 201
        # the readiness probe logs a line too: ours is the one for /some/path
        mine = lambda: [l for l in access_lines(s, "h=") if "|U=/some/path|" in l]  # noqa: E731
        wait_for(mine)
        assert len(mine()) == 1, s.output()
        line = mine()[0]
        got = dict(part.split("=", 1) for part in line.split("|"))
        assert got["h"] == "127.0.0.1"
        assert got["r"] == "GET /some/path?a=1&b=2 HTTP/1.1"
        assert (got["m"], got["U"], got["q"], got["H"]) == ("GET", "/some/path", "a=1&b=2", "HTTP/1.1")
        assert (got["s"], got["b"], got["B"]) == ("201", "11", "11")
        d = int(got["D"])
        assert 0 < d < 5_000_000
        assert got["M"] == str(d // 1000) and got["T"] == str(d // 1_000_000)
        assert got["L"] == f"{d // 1_000_000}.{d % 1_000_000:06d}"
        assert (got["f"], got["a"], got["xi"], got["missing"]) == ("http://ref.example/x", "agent/1.0", "c v", "-")
        assert (got["xo"], got["cto"]) == ("r-value", "text/plain")
        assert re.fullmatch(r"<\d+>", got["p"]) and got["p"] != f"<{os.getpid()}>"
        assert re.fullmatch(r"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]", got["t"])
        assert got["by"] == "python" and got["pct"] == "%"
        # the whole line is the format: no "INFO:" prefix, as gunicorn writes it
        assert not any(l.startswith("INFO:") and '"GET /some/path' in l for l in s.output().splitlines())
    finally:
        stop_and_check(s)


def test_zero_bytes_is_dash_for_b():
    s = Server("alog_app:app", ["--access-log", "--access-log-format", "X %(m)s %(b)s %(B)s %(s)s"], impl="graft").start()
    try:
        request(s.port, "HEAD", "/")
        wait_for(lambda: access_lines(s, "X HEAD"))
        assert access_lines(s, "X HEAD")[-1] == "X HEAD - 0 201"
    finally:
        stop_and_check(s)


def test_default_line_unchanged():
    s = Server("alog_app:app", ["--access-log"], impl="graft").start()
    try:
        request(s.port, "GET", "/d?x=1")
        wait_for(lambda: "/d?x=1" in s.output())
        assert re.search(r'^INFO:     127\.0\.0\.1:\d+ - "GET /d\?x=1 HTTP/1\.1" 201 Created$',
                         s.output(), re.M), s.output()
    finally:
        stop_and_check(s)


def test_env_var_and_config_keyword():
    from graft.config import Config
    from graft.main import parse_args

    kw = parse_args(["alog_app:app"], environ={"GRAFT_ACCESS_LOG_FORMAT": "%(h)s %({X-A}i)s %(D)s"})
    assert kw["access_log_format"] == "%(h)s %({X-A}i)s %(D)s"
    fmt = Config("alog_app:app", access_log_format=kw["access_log_format"]).access_log_format
    # what the C side is asked for: the named request headers, no response header, the clock
    assert fmt.needs == ((b"x-a",), (), True)
    assert Config("alog_app:app").access_log_format is None  # the default line's own path


def test_graft_error_answer_counts_its_body():
    """An app that raises before starting gets graft's 500: its body bytes are %(b)s."""
    s = Server("raw_apps:app", ["--access-log", "--access-log-format", "E %(U)s %(s)s %(B)s %(answered_by)s"],
               impl="graft").start()
    try:
        r = request(s.port, "GET", "/error-before")
        wait_for(lambda: access_lines(s, "E /error-before"))
        assert access_lines(s, "E /error-before")[-1] == f"E /error-before {r.status} {len(r.body)} python", s.output()
    finally:
        stop_and_check(s)
