"""examples/hello/hello.c under graft, in front of the FastAPI app tests/apps/native_app.py.

GET /hello/{name} is answered in C; POST on the same path, other paths and other
methods reach Python unchanged; native answers keep coming while Python's event
loop is blocked (time.sleep) or busy (a spin loop holding the GIL).
"""

from __future__ import annotations

import email.utils
import select
import time

import pytest

from native_util import start_graft
from util import Conn, build_request, parse_all, request, stop_and_check

NATIVE_BUDGET = 0.050  # seconds per native request while Python is stuck


def hello_text(name: str) -> bytes:
    return f"Hello, {name}!".encode()


# ---------------------------------------------------------------------------
# who answers what
# ---------------------------------------------------------------------------

def test_native_get_answered_in_c(hello_server):
    r = hello_server.request("GET", "/hello/world")
    assert r.status == 200, r
    assert r.body == b"Hello, world!", r
    assert r.header("content-type") == "text/plain; charset=utf-8", r
    assert r.header("content-length") == str(len(b"Hello, world!")), r


@pytest.mark.parametrize("raw_name, decoded", [
    ("a%20b", "a b"),
    ("%C3%A9t%C3%A9", "été"),
    ("%FFx", "\ufffdx"),       # invalid UTF-8 replaced, as the app sees it
    ("100%25", "100%"),
])
def test_native_param_percent_decoded(hello_server, raw_name, decoded):
    r = hello_server.request("GET", f"/hello/{raw_name}")
    assert r.status == 200, r
    assert r.body == hello_text(decoded), r


@pytest.mark.parametrize("path", ["/hello/x%2Fy", "/hello/%2F"])
def test_encoded_slash_is_a_separator(hello_server, path):
    # Routes match the decoded path, as Starlette does: "/hello/x/y" is not /hello/{name}, so
    # the app answers, and FastAPI's router matches nothing either (issue 9).
    r = hello_server.request("GET", path)
    assert r.status == 404, r
    assert r.json() == {"detail": "Not Found"}, r


def test_encoded_trailing_slash_is_the_apps_redirect(hello_server):
    # "/hello/x/" once decoded: not the native route; FastAPI redirects it to "/hello/x"
    # (its POST /hello/{name} matches that path), which the native route then serves.
    r = hello_server.request("GET", "/hello/x%2F")
    assert r.status == 307, r
    assert r.header("location") == "http://t/hello/x", r


def test_literal_and_param_compare_decoded(hello_server):
    r = hello_server.request("GET", "/hell%6F/w%6Frld")  # "/hello/world" once decoded
    assert r.status == 200, r
    assert r.body == b"Hello, world!", r


def test_post_same_path_goes_to_python(hello_server):
    r = hello_server.request("POST", "/hello/bob", body=b"payload",
                             headers=[("Content-Type", "text/plain")])
    assert r.status == 200, r
    assert r.header("content-type") == "application/json", r
    assert r.json() == {"from": "python", "hello": "bob", "body": "payload"}


def test_other_method_on_native_path_goes_to_python(hello_server):
    # PUT /hello/{name} exists nowhere: FastAPI answers 405 for the path it knows.
    r = hello_server.request("PUT", "/hello/bob", body=b"")
    assert r.status == 405, r
    assert r.json() == {"detail": "Method Not Allowed"}, r


@pytest.mark.parametrize("path", ["/nowhere", "/hello", "/hello/a/b", "/hello/"])
def test_unknown_path_gets_the_apps_own_404(hello_server, path):
    r = hello_server.request("GET", path)
    assert r.status == 404, r
    assert r.header("content-type") == "application/json", r
    assert r.json() == {"detail": "Not Found"}, r


def test_head_on_native_path_goes_to_the_app(hello_server):
    # hello.c registers GET only; under graft HEAD is "another method" and the app answers it
    # exactly as before the port (FastAPI: 405 on a path it serves with POST only).
    get = hello_server.request("GET", "/hello/x")
    assert get.status == 200 and get.body == hello_text("x"), get
    with Conn(hello_server.port) as c:
        h = c.request("HEAD", "/hello/x")
        assert h.status == 405 and h.body == b"", h
        assert h.header("allow") == "POST", h
        g = c.request("GET", "/hello/two")  # the connection is still in step
        assert g.status == 200 and g.body == hello_text("two"), g
        assert c.buf == b"", c.buf


def _check_date(value: str):
    assert value, "missing date header"
    assert value.endswith(" GMT"), value
    ts = email.utils.parsedate_to_datetime(value).timestamp()
    assert abs(ts - time.time()) < 5, value


def test_native_headers_like_python(hello_server):
    nat = hello_server.request("GET", "/hello/h")
    py = hello_server.request("GET", "/py")
    assert py.status == 200 and py.json() == {"from": "python"}, py
    for r in (nat, py):
        _check_date(r.header("date"))
        assert r.header_all("server") == ["graft"], r
        assert len(r.header_all("date")) == 1, r
    names = lambda r: sorted(k for k, _ in r.headers if k != "connection")  # noqa: E731
    assert names(nat) == names(py) == ["content-length", "content-type", "date", "server"], (nat, py)


# ---------------------------------------------------------------------------
# keep-alive and pipelining across native and Python answers
# ---------------------------------------------------------------------------

def test_keep_alive_alternating_native_and_python(hello_server):
    with Conn(hello_server.port) as c:
        for i in range(5):
            r = c.request("GET", f"/hello/n{i}")
            assert r.status == 200 and r.body == hello_text(f"n{i}"), r
            assert not r.connection_close(), r
            r = c.request("POST", f"/hello/p{i}", body=f"b{i}".encode())
            assert r.status == 200 and r.json() == {"from": "python", "hello": f"p{i}", "body": f"b{i}"}, r
            assert not r.connection_close(), r
            r = c.request("GET", "/missing")
            assert r.status == 404 and r.json() == {"detail": "Not Found"}, r


def test_pipelined_native_and_python_in_order(hello_server):
    reqs = [
        ("GET", "/hello/a", None),
        ("POST", "/hello/b", b"first"),
        ("GET", "/hello/c", None),
        ("GET", "/nope", None),
        ("HEAD", "/hello/d", None),
        ("GET", "/py", None),
        ("GET", "/hello/e", None),
        ("POST", "/hello/f", b"second"),
        ("GET", "/hello/g", None),
    ]
    data = b"".join(build_request(m, p, body=b) for m, p, b in reqs)
    with Conn(hello_server.port) as c:
        c.send(data)
        got = [c.read_response(method=m, timeout=10) for m, _, _ in reqs]
    assert [r.status for r in got] == [200, 200, 200, 404, 405, 200, 200, 200, 200], got
    assert got[0].body == hello_text("a")
    assert got[1].json() == {"from": "python", "hello": "b", "body": "first"}
    assert got[2].body == hello_text("c")
    assert got[3].json() == {"detail": "Not Found"}
    assert got[4].body == b"" and got[4].header("allow") == "POST"  # HEAD: the app's answer
    assert got[5].json() == {"from": "python"}
    assert got[6].body == hello_text("e")
    assert got[7].json() == {"from": "python", "hello": "f", "body": "second"}
    assert got[8].body == hello_text("g")


# ---------------------------------------------------------------------------
# native answers while Python is stuck
# ---------------------------------------------------------------------------

def _native_while_python_stuck(port: int, stuck_path: str) -> None:
    t0 = time.monotonic()
    with Conn(port, timeout=10) as stuck, Conn(port, timeout=10) as probe:
        stuck.send(build_request("GET", stuck_path, [("Connection", "close")]))
        time.sleep(0.2)
        # A Python request sent now can only be answered after the stuck one:
        # it shows the event loop really is stalled during the measurements.
        probe.send(build_request("GET", "/py", [("Connection", "close")]))
        timings = []
        for i in range(20):
            s = time.monotonic()
            r = request(port, "GET", f"/hello/fast{i}", timeout=2)
            dt = time.monotonic() - s
            assert r.status == 200 and r.body == hello_text(f"fast{i}"), r
            timings.append(dt)
        window_end = time.monotonic() - t0
        ready, _, _ = select.select([stuck.sock], [], [], 0)
        assert not ready, (f"{stuck_path} answered before the native requests finished "
                           f"({window_end:.3f}s): the test did not overlap Python's stall")
        slow = [(i, round(dt * 1000, 1)) for i, dt in enumerate(timings) if dt >= NATIVE_BUDGET]
        assert not slow, (f"native requests over {NATIVE_BUDGET * 1000:.0f} ms while {stuck_path} "
                          f"held Python: (index, ms) {slow}; all ms: {[round(t * 1000, 1) for t in timings]}")

        # the stuck request still completes
        r = stuck.read_response(timeout=10)
        assert r.status == 200, r
        assert time.monotonic() - t0 >= 1.9, "the stuck request returned too early"
        expected = ({"from": "python", "blocked": 2} if stuck_path == "/block"
                    else {"from": "python", "spun": True})
        assert r.json() == expected, r

        r = probe.read_response(timeout=10)
        probe_done = time.monotonic() - t0
        assert r.status == 200 and r.json() == {"from": "python"}, r
        assert probe_done >= 1.9, f"Python answered /py after {probe_done:.2f}s: the loop was not stalled"


@pytest.mark.parametrize("stuck_path", ["/block", "/spin"])
def test_native_fast_while_python_stuck(hello_server, stuck_path):
    _native_while_python_stuck(hello_server.port, stuck_path)
    # and the server is fine afterwards
    r = hello_server.request("GET", "/py")
    assert r.status == 200 and r.json() == {"from": "python"}, r


def test_native_fast_while_python_blocked_with_access_log_and_extra_header(native_libs):
    """Default logging (access log on) must not put the GIL back on the native path;
    --header defaults apply to native responses too, and native requests are logged."""
    s = start_graft(["--native", native_libs["hello"], "--access-log", "--header", "x-extra:yes"])
    try:
        r = s.request("GET", "/hello/logged")
        assert r.status == 200 and r.body == hello_text("logged"), r
        assert r.header("x-extra") == "yes", r
        py = s.request("GET", "/py")
        assert py.header("x-extra") == "yes", py
        _native_while_python_stuck(s.port, "/block")
        deadline = time.monotonic() + 5
        while '"GET /hello/logged HTTP/1.1" 200' not in s.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert '"GET /hello/logged HTTP/1.1" 200' in s.output(), s.output()
    finally:
        stop_and_check(s)
