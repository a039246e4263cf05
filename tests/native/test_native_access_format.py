"""--access-log-format's %(answered_by)s with features.so in front of native_app.py: native,
python, declined; the atoms a native answer has (status, bytes, duration, request headers) and
the one it has not (response headers: '-')."""

from __future__ import annotations

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
