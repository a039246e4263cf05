"""--access-log-format's %(answered_by)s with features.so in front of native_app.py: native,
python, declined; the atoms a native answer has (status, bytes, duration, request headers) and
the one it has not (response headers: '-')."""

from __future__ import annotations

import re

from native_util import start_graft
from util import request, stop_and_check, wait_for

FMT = "AL %(answered_by)s %(U)s %(s)s %(b)s %(D)s %({x-decline}i)s %({content-type}o)s"


def test_answered_by(native_libs):
    s = start_graft(["--native", native_libs["features"], "--access-log", "--access-log-format", FMT])
    try:
        assert request(s.port, "GET", "/maybe").json()["from"] == "native"
        assert request(s.port, "GET", "/maybe", headers=[("x-decline", "1")]).json()["from"] == "python"
        assert request(s.port, "GET", "/py").json()["from"] == "python"

        def lines():
            return [l.split() for l in s.output().splitlines() if l.startswith("AL ") and "/health" not in l]

        wait_for(lambda: len([l for l in lines() if l[2] in ("/maybe", "/py")]) >= 3)
        got = [l for l in lines() if l[2] in ("/maybe", "/py")]
        native, declined, python = got[-3:]
        assert native[:4] == ["AL", "native", "/maybe", "200"]
        assert int(native[4]) > 0 and int(native[5]) > 0  # the JSON body's bytes; a duration
        assert native[6:] == ["-", "-"]  # a native answer's response headers are not kept
        assert declined[:4] == ["AL", "declined", "/maybe", "200"] and declined[6:] == ["1", "application/json"]
        assert python[:4] == ["AL", "python", "/py", "200"]
    finally:
        stop_and_check(s)


SERVE_ATOMS = ["h=%(h)s", "r=%(r)s", "m=%(m)s", "U=%(U)s", "q=%(q)s", "H=%(H)s", "s=%(s)s",
               "b=%(b)s", "B=%(B)s", "D=%(D)s", "M=%(M)s", "T=%(T)s", "L=%(L)s", "f=%(f)s",
               "a=%(a)s", "xi=%({X-Custom}i)s", "xo=%({content-type}o)s", "p=%(p)s", "t=%(t)s",
               "by=%(answered_by)s", "pct=%%"]


def test_graft_serve_same_atoms(native_libs, serve_factory):
    """graft-serve parses the format in C: the same atoms, the same renderings."""
    s = serve_factory([native_libs["features"]], ["--access-log", "--access-log-format", "|".join(SERVE_ATOMS)])
    r = request(s.port, "GET", "/maybe?z=9", headers=[("Referer", "http://r/"), ("User-Agent", "ua/2"),
                                                      ("X-Custom", "cv")])
    assert r.status == 200
    mine = lambda: [l for l in s.output().splitlines() if "|U=/maybe|" in l]  # noqa: E731
    wait_for(mine)
    got = dict(part.split("=", 1) for part in mine()[-1].split("|"))
    assert (got["h"], got["r"], got["m"], got["U"], got["q"], got["H"], got["s"]) == (
        "127.0.0.1", "GET /maybe?z=9 HTTP/1.1", "GET", "/maybe", "z=9", "HTTP/1.1", "200")
    assert got["b"] == got["B"] == str(len(r.body)) and int(got["B"]) > 0
    d = int(got["D"])
    assert 0 < d < 5_000_000 and got["M"] == str(d // 1000) and got["T"] == str(d // 1_000_000)
    assert got["L"] == f"{d // 1_000_000}.{d % 1_000_000:06d}"
    assert (got["f"], got["a"], got["xi"], got["xo"]) == ("http://r/", "ua/2", "cv", "-")
    assert re.fullmatch(r"<\d+>", got["p"])
    assert got["t"].startswith("[") and got["t"].endswith("]")
    assert (got["by"], got["pct"]) == ("native", "%")


def test_graft_serve_bad_format_refused(native_libs):
    import subprocess

    from native_util import venv_bin

    p = subprocess.run([str(venv_bin() / "graft-serve"), "--native", str(native_libs["features"]),
                        "--port", "0", "--access-log-format", "%(h)s %(bogus)s"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "unknown atom %(bogus)s" in p.stderr, p
