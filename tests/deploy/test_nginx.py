"""Real Debian nginx in front of two graft instances on Unix sockets, configured by
deploy/nginx/graft.conf as shipped (issue 10, item 4): only the socket paths and the listen
port are substituted, and the file is included into a minimal nginx.conf whose pid, log and
temp paths are in a temporary directory (nginx runs unprivileged, in the foreground).

Checked: (a) X-Forwarded-For/-Proto reach scope["client"]/["scheme"] only from trusted
peers, exactly as uvicorn decides (uvicorn itself serves the same app for comparison), and a
client cannot spoof them through nginx nor directly from an untrusted address; (b) a
WebSocket echoes through nginx; (c) a rolling reload (SIGHUP) of one instance, then of the
other, under continuous keep-alive load through nginx fails no request: every response is
counted, none may be non-2xx, and no connection may fail (no retries in this client: nginx
retries on the upstream side).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "server"))
sys.path.insert(0, str(REPO / "tests" / "native"))

from test_reload import read_response  # noqa: E402
from test_workers import children_of, wait_for, wait_gone  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SHIPPED = REPO / "deploy" / "nginx" / "graft.conf"
APP = "deploy_app:app"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFT_", "FORWARDED_ALLOW"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


class Proc:
    """A server process with its output in a file."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as f:
            self.proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=_env(), cwd=str(REPO), start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text("utf-8", "replace")[-20000:]

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
                return None
        return self.proc.returncode


def request(connect, path: str = "/", headers=None) -> tuple[int, dict]:
    """One GET on a new connection; (status, JSON body). headers: a dict, or (name, value)
    pairs when a name repeats."""
    sock = connect()
    try:
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        extra = "".join(f"{k}: {v}\r\n" for k, v in pairs)
        host = dict(pairs).get("Host")
        sock.sendall(f"GET {path} HTTP/1.1\r\n{'' if host else 'Host: t' + chr(13) + chr(10)}{extra}"
                     f"Connection: close\r\n\r\n".encode())
        status, _, body = read_response(sock)
        return status, json.loads(body) if body.startswith(b"{") else {"raw": body.decode()}
    finally:
        sock.close()


def unix(path: str):
    def connect() -> socket.socket:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(path)
        return s
    return connect


def tcp(port: int, source: str | None = None):
    def connect() -> socket.socket:
        s = socket.socket()
        s.settimeout(10)
        if source:
            s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        return s
    return connect


def start_server(impl: str, tmp: Path, name: str, *args: str, uds: str | None = None,
                 port: int | None = None) -> Proc:
    where = ["--uds", uds] if uds else ["--host", "127.0.0.1", "--port", str(port)]
    argv = [sys.executable, "-m", impl, APP, "--app-dir", str(HERE), *where, "--no-access-log", *args]
    p = Proc(argv, tmp / f"{name}.log")
    probe = unix(uds) if uds else tcp(port)

    def up() -> bool:
        if p.proc.poll() is not None:
            raise AssertionError(f"{name} exited: {p.output()}")
        try:
            return request(probe)[0] == 200
        except OSError:
            return False

    assert wait_for(up, 30), p.output()
    return p


def nginx_conf(tmp: Path, socks: list[str], port: int) -> Path:
    """deploy/nginx/graft.conf with the socket paths and the port replaced (each exactly
    once), inside a main configuration that keeps every file nginx writes in tmp."""
    text = SHIPPED.read_text()
    for shipped, ours in zip(("/run/graft/graft-a.sock", "/run/graft/graft-b.sock"), socks):
        assert text.count(f"unix:{shipped} ") == 1, shipped
        text = text.replace(f"unix:{shipped} ", f"unix:{ours} ")
    assert len(re.findall(r"^\s*listen 80;$", text, re.M)) == 1
    text = re.sub(r"^(\s*)listen 80;$", rf"\1listen 127.0.0.1:{port};", text, flags=re.M)
    (tmp / "graft.conf").write_text(text)
    temp = "".join(f"    {kind}_temp_path {tmp}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = tmp / "nginx.conf"
    main.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # workers must reach the sockets in tmp
        + f"daemon off;\nworker_processes 2;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log info;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{\n    access_log {tmp}/access.log;\n{temp}    include {tmp}/graft.conf;\n}}\n")
    return main


@pytest.fixture(scope="module")
def stack():
    """nginx on 127.0.0.1:<port> in front of graft instances a and b (two workers each)."""
    if not os.path.exists(NGINX):
        pytest.fail("nginx is missing: scripts/setup-system.sh installs nginx-light")
    tmp = Path(tempfile.mkdtemp(prefix="graft-nginx-"))
    socks = [str(tmp / "a.sock"), str(tmp / "b.sock")]
    procs: list[Proc] = []
    try:
        for name, path in zip("ab", socks):
            procs.append(start_server("graft", tmp, name, "--workers", "2", "--forwarded-allow-ips", "*",
                                      "--health-path", "/healthz", "--timeout-graceful-shutdown", "10",
                                      uds=path))
        port = free_port()
        conf = nginx_conf(tmp, socks, port)
        test = subprocess.run([NGINX, "-t", "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")],
                              capture_output=True, text=True)
        assert test.returncode == 0, test.stderr
        nginx = Proc([NGINX, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")], tmp / "nginx.out")
        procs.append(nginx)

        def up() -> bool:
            try:
                return request(tcp(port))[0] == 200
            except OSError:
                assert nginx.proc.poll() is None, (tmp / "error.log").read_text()
                return False

        assert wait_for(up, 20), (tmp / "error.log").read_text()
        yield {"tmp": tmp, "port": port, "socks": socks, "a": procs[0], "b": procs[1], "nginx": nginx}
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# -- (a) proxy headers and trust ----------------------------------------------------------------
def stopped(impl: str) -> int:
    """The exit status after SIGTERM: uvicorn re-raises the signal, graft exits 0."""
    return 0 if impl == "graft" else -signal.SIGTERM


SPOOF = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def test_through_nginx_the_scope_has_the_client_nginx_saw_and_spoofing_fails(stack):
    port = stack["port"]
    status, facts = request(tcp(port), headers={**SPOOF, "Host": f"example.test:{port}"})
    assert status == 200, facts
    # nginx set X-Forwarded-For to the address it saw: port 0 shows graft took it from the
    # header (a Unix-socket peer has no address at all: client None without it).
    assert facts["client"] == ["127.0.0.1", 0], facts
    assert facts["scheme"] == "http", facts  # nginx's $scheme, not the client's claim
    assert facts["host"] == f"example.test:{port}", facts


@pytest.mark.parametrize("impl", ["graft", "uvicorn"])
def test_unix_socket_peers_are_trusted_only_with_a_star_as_uvicorn_decides(stack, impl):
    """Over a Unix socket the peer has no address (scope client None); uvicorn's
    ProxyHeadersMiddleware then applies the headers only when --forwarded-allow-ips is '*'
    (with '*' the left-most X-Forwarded-For entry wins). graft must decide the same."""
    tmp = stack["tmp"]
    headers = {"X-Forwarded-For": "198.51.100.7, 10.1.1.1", "X-Forwarded-Proto": "https"}
    results = {}
    for trust in ("*", None, "127.0.0.1,::1,10.0.0.0/8"):
        path = str(tmp / f"{impl}-trust.sock")
        args = ["--forwarded-allow-ips", trust] if trust else []
        p = start_server(impl, tmp, f"{impl}-trust", *args, uds=path)
        try:
            status, facts = request(unix(path), headers=headers)
            assert status == 200, facts
            results[trust] = (facts["client"], facts["scheme"])
        finally:
            assert p.stop() == stopped(impl), p.output()
    assert results == {
        "*": (["198.51.100.7", 0], "https"),
        None: (None, "http"),
        "127.0.0.1,::1,10.0.0.0/8": (None, "http"),
    }, results
    # Without headers a Unix-socket client stays None under '*' too.
    path = str(tmp / f"{impl}-plain.sock")
    p = start_server(impl, tmp, f"{impl}-plain", "--forwarded-allow-ips", "*", uds=path)
    try:
        assert request(unix(path))[1]["client"] is None
    finally:
        p.stop()


@pytest.mark.parametrize("impl", ["graft", "uvicorn"])
def test_over_tcp_an_untrusted_address_cannot_spoof(stack, impl):
    """The default --forwarded-allow-ips (127.0.0.1,::1): a client connecting from 127.0.0.2
    is not trusted, its headers are ignored; from 127.0.0.1 they are applied."""
    port = free_port()
    p = start_server(impl, stack["tmp"], f"{impl}-tcp", port=port)
    try:
        status, facts = request(tcp(port, source="127.0.0.2"), headers=SPOOF)
        assert status == 200, facts
        assert facts["client"][0] == "127.0.0.2" and facts["client"][1] != 0, facts
        assert facts["scheme"] == "http", facts
        status, facts = request(tcp(port, source="127.0.0.1"), headers=SPOOF)
        assert (facts["client"], facts["scheme"]) == (["203.0.113.9", 0], "https"), facts
    finally:
        assert p.stop() == stopped(impl), p.output()


# X-Forwarded-* corner cases, answered by graft and uvicorn from a trusted peer over TCP.
EDGE_CASES = [
    [("X-Forwarded-For", "1.2.3.4:5678")],  # a port in the entry (some cloud balancers)
    [("X-Forwarded-For", "[2001:db8::1]:443")],
    [("X-Forwarded-For", "2001:db8::1")],
    [("X-Forwarded-For", "1.2.3.4:notaport")],
    [("X-Forwarded-For", "9.9.9.9"), ("X-Forwarded-For", "8.8.8.8, 127.0.0.1")],  # one list
    [("X-Forwarded-For", "7.7.7.7, ")],
    [("X-Forwarded-For", "127.0.0.1, 127.0.0.1")],  # all trusted: the left-most
    [("X-Forwarded-Proto", "HTTPS")],  # case matters: ignored
    [("X-Forwarded-Proto", " https ")],
    [("X-Forwarded-Proto", "https"), ("X-Forwarded-Proto", "http")],  # the last one
    [("X-Forwarded-Proto", "ftp")],
    [("X-Forwarded-Proto", "ws")],  # kept as sent on an HTTP scope, as uvicorn does
    [("X-Forwarded-Proto", "wss")],
]


@pytest.fixture(scope="module")
def both(stack):
    servers = {}
    for impl in ("graft", "uvicorn"):
        port = free_port()
        servers[impl] = (port, start_server(impl, stack["tmp"], f"{impl}-edge", port=port))
    yield {impl: port for impl, (port, _) in servers.items()}
    for _, p in servers.values():
        p.stop()


@pytest.mark.parametrize("headers", EDGE_CASES, ids=[repr(c) for c in EDGE_CASES])
def test_proxy_header_corner_cases_as_uvicorn(both, headers):
    got = {}
    for impl, port in both.items():
        status, facts = request(tcp(port), headers=headers)
        assert status == 200, facts
        client = tuple(facts["client"])
        if client[0] == "127.0.0.1" and client[1] != 0:
            client = ("127.0.0.1", "the peer's port")  # not from a header: differs per connection
        got[impl] = (client, facts["scheme"])
    assert got["graft"] == got["uvicorn"], got


@pytest.mark.parametrize("proto", ["http", "https", "ws", "wss", "ftp"])
def test_websocket_scheme_from_x_forwarded_proto_as_uvicorn(both, proto):
    """A WebSocket scope's scheme from a trusted peer's X-Forwarded-Proto: uvicorn writes
    http/https as ws/wss and keeps ws/wss; anything else leaves ws."""
    from websockets.sync.client import connect

    got = {}
    for impl, port in both.items():
        with connect(f"ws://127.0.0.1:{port}/ws", additional_headers={"X-Forwarded-Proto": proto},
                     open_timeout=10) as ws:
            ws.send("x")
            got[impl] = json.loads(ws.recv(timeout=10))["scheme"]
    assert got["graft"] == got["uvicorn"], got
    assert got["graft"] == {"https": "wss", "wss": "wss"}.get(proto, "ws"), got


# -- (b) WebSockets -------------------------------------------------------------------------------
def test_websocket_echo_through_nginx(stack):
    from websockets.sync.client import connect

    port = stack["port"]
    with connect(f"ws://127.0.0.1:{port}/ws", additional_headers=SPOOF, open_timeout=10) as ws:
        for text in ("hello", "é" * 1000, "third"):
            ws.send(text)
            reply = json.loads(ws.recv(timeout=10))
            assert reply["echo"] == text
            assert reply["scheme"] == "ws", reply  # X-Forwarded-Proto http from nginx, as ws
            assert reply["client"] == ["127.0.0.1", 0], reply


# -- (c) rolling reloads under load ---------------------------------------------------------------
class StrictClient(threading.Thread):
    """GET / through nginx on a kept-alive connection, again and again. No retry: every
    exception and every non-2xx is a failure. A `connection: close` from nginx (its
    keepalive_requests) is honoured with a new connection after the response."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []
        self.pids: list[int] = []

    def run(self) -> None:
        sock = None
        while not self.stop.is_set():
            try:
                if sock is None:
                    sock = tcp(self.port)()
                sock.sendall(b"GET /load HTTP/1.1\r\nHost: t\r\n\r\n")
                status, headers, body = read_response(sock)
            except OSError as exc:
                self.failures.append(repr(exc))
                if sock is not None:
                    sock.close()
                sock = None
                continue
            if 200 <= status < 300:
                self.ok += 1
                self.pids.append(json.loads(body)["pid"])
            else:
                self.failures.append(f"status {status}: {body[:200]!r}")
            if headers.get("connection", "").lower() == "close":
                sock.close()
                sock = None
        if sock is not None:
            sock.close()


def workers_of(p: Proc, n: int = 2) -> set[int]:
    kids = wait_for(lambda: (lambda k: k if len(k) == n else None)(children_of(p.pid)), 20)
    assert kids, f"expected {n} workers: {children_of(p.pid)}\n{p.output()}"
    return kids


def test_rolling_reload_of_each_instance_under_load_fails_no_request(stack):
    clients = [StrictClient(stack["port"]) for _ in range(4)]
    for c in clients:
        c.start()
    total = lambda: sum(c.ok for c in clients)  # noqa: E731
    old_pids: set[int] = set()
    try:
        assert wait_for(lambda: total() >= 300, 20)
        for name in ("a", "b"):
            p = stack[name]
            old = workers_of(p)
            old_pids |= old
            reloads = p.output().count("Reload complete")
            os.kill(p.pid, signal.SIGHUP)
            assert wait_for(lambda: p.output().count("Reload complete") == reloads + 1, 20), p.output()
            assert not wait_gone(old, 20), p.output()
            before = total()
            assert wait_for(lambda: total() >= before + 300, 20), p.output()
    finally:
        for c in clients:
            c.stop.set()
        for c in clients:
            c.join(20)
    failures = [f for c in clients for f in c.failures]
    assert not failures, f"{len(failures)} failed of {total() + len(failures)}: {failures[:5]}\n" \
                         f"{(stack['tmp'] / 'error.log').read_text()[-3000:]}"
    seen = {pid for c in clients for pid in c.pids}
    # Each instance's new generation answered (which of its workers is up to the shared
    # accept queue and nginx's kept-alive connections), and the old ones did before.
    for name in ("a", "b"):
        assert workers_of(stack[name]) & seen, (name, seen)
    assert old_pids & seen
    assert total() >= 900
