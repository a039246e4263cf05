"""Graceful shutdown: SIGTERM with requests and streams in flight, idle
connections, the graceful timeout, and a forced exit on a second SIGINT."""

from __future__ import annotations

import signal
import socket
import threading
import time

from util import HOST, Conn, build_request, clean_exit_codes


def marker_env(tmp_path):
    return {"RAW_APPS_MARKER_DIR": str(tmp_path)}


def wait_inflight(server, n: int, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    v = -1
    while time.monotonic() < deadline:
        v = server.get_json("/inflight")
        if v >= n:
            return v
        time.sleep(0.05)
    return v


def test_sigterm_with_20_requests_in_flight(server_factory, tmp_path):
    s = server_factory("raw_apps:app", env=marker_env(tmp_path))
    assert (tmp_path / "startup").exists(), "lifespan startup did not run"
    results: list = [None] * 20

    def client(i):
        try:
            with Conn(s.port, timeout=15) as c:
                c.send(build_request("GET", "/sleep?t=1"))
                results[i] = c.read_response(timeout=15)
        except Exception as e:  # noqa: BLE001
            results[i] = e

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(20)]
    for t in threads:
        t.start()
    assert wait_inflight(s, 20) == 20
    s.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    rc = s.wait(5)
    elapsed = time.monotonic() - t0
    for t in threads:
        t.join(10)
    assert rc is not None, "server did not exit within 5 s of SIGTERM"
    assert rc in clean_exit_codes(s.impl, signal.SIGTERM), f"exit code {rc}\n{s.output()}"
    bad = [r for r in results if not (hasattr(r, "status") and r.status == 200 and r.body == b"slept"
                                       and r.complete)]
    assert not bad, bad
    assert (tmp_path / "shutdown").exists(), "lifespan shutdown did not run"
    assert elapsed < 5


def test_stops_listening_on_sigterm(server_factory):
    s = server_factory("raw_apps:app")
    with Conn(s.port, timeout=10) as c:
        c.send(build_request("GET", "/sleep?t=2"))
        assert wait_inflight(s, 1) == 1
        s.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        refused = False
        try:
            with socket.create_connection((HOST, s.port), timeout=2) as s2:
                s2.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
                s2.settimeout(2)
                refused = s2.recv(100) == b""
        except OSError:
            refused = True
        assert refused, "server still accepting new connections during graceful shutdown"
        r = c.read_response(timeout=10)
        assert r.status == 200 and r.body == b"slept"
    assert s.wait(5) in clean_exit_codes(s.impl, signal.SIGTERM)


def test_sigterm_ends_streaming_response_with_disconnect(server_factory, tmp_path):
    s = server_factory("raw_apps:app", ["--timeout-graceful-shutdown", "3"], env=marker_env(tmp_path))
    with Conn(s.port, timeout=10) as c:
        c.send(build_request("GET", "/sse"))
        deadline = time.monotonic() + 5
        while b"data: 3\n\n" not in c.buf and time.monotonic() < deadline and not c.eof:
            c.recv_for(0.1)
        assert b"data: 3\n\n" in c.buf, c.buf
        s.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        rc = s.wait(6)
        elapsed = time.monotonic() - t0
        assert rc is not None, "server hung on an open stream after SIGTERM"
        assert c.wait_closed(2), "stream connection left open after exit"
    assert rc in clean_exit_codes(s.impl, signal.SIGTERM), f"exit code {rc}\n{s.output()}"
    assert elapsed < 4.5, elapsed
    assert (tmp_path / "sse-disconnect").exists(), \
        f"the app never received http.disconnect (cancelled: {(tmp_path / 'sse-cancelled').exists()})"


def test_graceful_timeout_bounds_shutdown(server_factory):
    s = server_factory("raw_apps:app", ["--timeout-graceful-shutdown", "1"])
    with Conn(s.port, timeout=10) as c:
        c.send(build_request("GET", "/sleep?t=30"))
        assert wait_inflight(s, 1) == 1
        s.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        rc = s.wait(5)
        assert rc is not None, "graceful timeout not honoured"
        assert time.monotonic() - t0 < 4
        assert c.wait_closed(2)
    assert rc in clean_exit_codes(s.impl, signal.SIGTERM), rc


def test_idle_keep_alive_closed_on_sigterm(server_factory):
    s = server_factory("raw_apps:app")
    with Conn(s.port) as c:
        r = c.request("GET", "/hello")
        assert r.status == 200 and not r.connection_close()
        s.send_signal(signal.SIGTERM)
        assert c.wait_closed(2), "idle keep-alive connection not closed on SIGTERM"
    rc = s.wait(5)
    assert rc is not None and rc in clean_exit_codes(s.impl, signal.SIGTERM), rc


def test_keep_alive_connection_with_request_in_flight_gets_close(server_factory):
    s = server_factory("raw_apps:app")
    with Conn(s.port, timeout=10) as c:
        c.send(build_request("GET", "/sleep?t=1"))
        assert wait_inflight(s, 1) == 1
        s.send_signal(signal.SIGTERM)
        r = c.read_response(timeout=10)
        assert r.status == 200 and r.body == b"slept"
        assert c.wait_closed(3), "connection kept open after the in-flight response during shutdown"
    assert s.wait(5) in clean_exit_codes(s.impl, signal.SIGTERM)


def test_second_sigint_forces_exit(server_factory):
    s = server_factory("raw_apps:app")
    with Conn(s.port, timeout=10) as c:
        c.send(build_request("GET", "/sleep?t=30"))
        assert wait_inflight(s, 1) == 1
        s.send_signal(signal.SIGINT)
        time.sleep(1.0)
        assert s.alive(), "first SIGINT did not wait for the in-flight request"
        s.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        rc = s.wait(3)
        assert rc is not None, "second SIGINT did not force the exit"
        assert time.monotonic() - t0 < 3
        assert c.wait_closed(2)
