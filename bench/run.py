#!/usr/bin/env python3
"""Interleaved benchmark: graft vs uvicorn / granian / hypercorn / nginx.

    .venv/bin/python bench/run.py [--duration 5] [--rounds 3] [--only SCENARIO[,..]]
                                  [--servers graft,uvicorn,granian,hypercorn,nginx]
                                  [--out docs/BENCHMARKS.md | --no-write]

For every scenario and every round, each of the scenario's servers is run in turn
(A B C D, A B C D, ...): start it pinned to CPU 0 (``taskset -c 0``: the whole process
tree, every thread), wait until it answers (and check one response), warm up 1 s, then
run the load generator pinned to CPU 1 -- ``wrk -t1 -cN -dDs``, or for WebSocket
scenarios bench/ws_client.c (compiled here with cc -O2) -- while sampling the server's
CPU time (utime+stime, plus cutime+cstime, of every process in its tree, from
/proc/PID/stat), then SIGTERM it.

Scenarios: the ASGI ones (hello, FastAPI JSON, 1 MiB echo, streaming) against uvicorn,
granian and hypercorn; native-vs-nginx-c64/-c1 (graft's C route, with and without a
Python app, against nginx returning the same bytes); products-get (the products example
all-Python vs with its C routes, and uvicorn); ws-echo (1 KiB WebSocket echo over one
connection). ``--only native-vs-nginx`` selects both of its scenarios (prefix match).

The box is small and noisy, so the summary reports medians and, per row, the median
over rounds of that round's ratio to the scenario's reference server (not a ratio of
medians). The default (5 s x 3 rounds, all scenarios) takes about 12 minutes; publish
with ``--rounds 5`` (about 20 minutes) on an idle machine.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
HOST = "127.0.0.1"
SERVER_CPU = "0"
WRK_CPU = "1"
WARMUP_S = 1
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

ECHO_BODY_SIZE = 1024 * 1024
STREAM_SIZE = 16 * 4096
WS_MESSAGE_SIZE = 1024
WS_WINDOW = 16
HELLO_SO = "build/hello.so"
PRODUCTS_SO = "build/products_routes.so"
STANDARD = ("graft", "uvicorn", "granian", "hypercorn")

# Each scenario: the app (target, relative to the repo root), the request, how to check
# one answer ("check"), the load generator ("load": wrk, or the WebSocket client), and
# the rows of its table ("servers": (row name, server kind, extra arguments), run in
# this order every round). "ref"/"side" name the ratio columns: side "num" gives
# ref/X (bigger is better for ref), side "den" gives X/ref.
_STD_ROWS = [(name, name, []) for name in STANDARD]
SCENARIOS = {
    "hello-c64": dict(target="bench.apps:hello", path="/", conns=64, body=None, check="hello",
                      desc="raw ASGI hello, `GET /` -> 13-byte text/plain, 64 connections"),
    "hello-c1": dict(target="bench.apps:hello", path="/", conns=1, body=None, check="hello",
                     servers=_STD_ROWS[:1] + [("graft-iothread", "graft", ["--io-poll", "thread"])]
                     + _STD_ROWS[1:],
                     desc="raw ASGI hello, `GET /` -> 13-byte text/plain, 1 connection "
                          "(latency-bound); graft-iothread is graft with `--io-poll thread` (every "
                          "request read by the I/O thread and handed to the loop's thread)"),
    "fastapi-json-c64": dict(target="bench.apps:fastapi_app", path="/json", conns=64, body=None,
                             check="json",
                             desc='FastAPI `GET /json` -> `{"message": "Hello, world!"}`, 64 connections'),
    "echo-1MiB-c16": dict(target="bench.apps:echo", path="/", conns=16, body=ECHO_BODY_SIZE, check="echo",
                          desc="raw ASGI echo, `POST /` with a 1 MiB body echoed back, 16 connections"),
    "stream-c64": dict(target="bench.apps:stream", path="/", conns=64, body=None, check="stream",
                       desc="raw ASGI streamed response, 16 x 4 KiB chunks, no content-length "
                            "(chunked), 64 connections"),
}
_NGINX_ROWS = [
    ("graft-serve", "graft-serve", ["--native", HELLO_SO]),
    ("graft+py", "graft", ["--native", HELLO_SO]),
    ("nginx", "nginx", []),
]
_NGINX_DESC = ("`GET /hello/world` -> `Hello, world!` (13 bytes, `text/plain; charset=utf-8`) "
               "answered in C: graft's native route (`examples/hello/hello.c`) served by "
               "`graft-serve` (no Python at all) and by `graft` with the Python app "
               "`bench.apps:hello` loaded beside it (graft+py: the route never enters Python), "
               "against nginx's `return 200`; {conns}. Ratios are X/nginx: the goals are "
               ">= 0.90 for req/s and <= 1.25 for CPU µs/req")
for _c in (64, 1):
    SCENARIOS[f"native-vs-nginx-c{_c}"] = dict(
        target="bench.apps:hello", path="/hello/world", conns=_c, body=None, check="hello-native",
        servers=_NGINX_ROWS, ref="nginx", side="den", libs=[HELLO_SO],
        goals=[(row, key, op, val) for row in ("graft-serve", "graft+py")
               for key, op, val in (("ratio", ">=", 0.90), ("cpu_ratio", "<=", 1.25))],
        desc=_NGINX_DESC.format(conns="64 connections" if _c == 64
                                else "1 connection (latency-bound)"))
SCENARIOS["products-get"] = dict(
    target="app:app", path="/products/1", conns=64, body=None, check="product",
    servers=[("graft-native", "graft", ["--app-dir", "examples/products", "--native", PRODUCTS_SO]),
             ("graft", "graft", ["--app-dir", "examples/products"]),
             ("uvicorn", "uvicorn", ["--app-dir", "examples/products"])],
    ref="graft-native", side="num", libs=[PRODUCTS_SO], fresh_db=True,
    desc="the products example (FastAPI + SQLite, `examples/products`), `GET /products/1` -> "
         "one product as JSON, 64 connections: graft-native has the route in C "
         "(`build/products_routes.so`, SQLite + Jansson), graft and uvicorn run the all-Python "
         "app; every server start gets its own fresh database (`PRODUCTS_DB` = a new file, "
         "created and seeded by the app). Ratios are graft-native/X")
SCENARIOS["ws-echo"] = dict(
    target="bench.apps:ws_echo", path="/", conns=1, body=None, check="hello", load="ws",
    servers=[("graft", "graft", []),
             ("uvicorn", "uvicorn", ["--ws", "websockets-sansio"]),
             ("uvicorn-ws-legacy", "uvicorn", ["--ws", "websockets"]),
             ("granian", "granian", [])],
    ref="graft", side="num",
    goals=[("uvicorn", "ratio", ">=", 1.5), ("uvicorn-ws-legacy", "ratio", ">=", 1.5)],
    desc=f"raw ASGI WebSocket echo (`bench.apps:ws_echo`) over ONE connection: "
         f"{WS_MESSAGE_SIZE}-byte binary messages, masked, {WS_WINDOW} in flight "
         f"(`bench/ws_client.c`: each echo read is answered with a new message), no "
         f"permessage-deflate (not offered); throughput in messages/s, CPU per message. "
         f"uvicorn runs `--ws websockets-sansio` (what its `auto` picks with websockets "
         f"installed), uvicorn-ws-legacy its deprecated `--ws websockets`")


def scenario_rows(scn: dict) -> list[tuple[str, str, list[str]]]:
    return scn.get("servers", _STD_ROWS)


def family(kind: str) -> str:
    """What --servers filters on: graft-serve is graft; the rest are their own name."""
    return "graft" if kind.startswith("graft") else kind


def _bin(name: str) -> str:
    path = os.path.join(VENV_BIN, name)
    if os.access(path, os.X_OK):
        return path
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"bench: cannot find '{name}' (looked in {VENV_BIN} and PATH)")
    return found


def _venv_python() -> str:
    path = os.path.join(VENV_BIN, "python")
    return path if os.access(path, os.X_OK) else sys.executable


# Server command lines. All: one process/worker serving the app, access log off,
# log level warning, HTTP/1.1 over TCP on 127.0.0.1. `extra` goes before the app
# target where the server's parser cares.
def cmd_graft(target: str, port, rundir: str, extra: list[str]) -> list[str]:
    return [_bin("graft"), target, "--host", HOST, "--port", str(port),
            "--no-access-log", "--log-level", "warning", *extra]


def cmd_graft_serve(target: str, port, rundir: str, extra: list[str]) -> list[str]:
    # C only: no Python app, no log level (it logs errors only); target unused.
    return [_bin("graft-serve"), *extra, "--host", HOST, "--port", str(port), "--no-access-log"]


def cmd_uvicorn(target: str, port, rundir: str, extra: list[str]) -> list[str]:
    return [_bin("uvicorn"), target, "--host", HOST, "--port", str(port),
            "--http", "httptools", "--loop", "uvloop",
            "--no-access-log", "--log-level", "warning", *extra]


def cmd_granian(target: str, port, rundir: str, extra: list[str]) -> list[str]:
    # --workers 1 and --runtime-threads 1 are granian's defaults, spelled out;
    # --loop uvloop is what 'auto' picks when uvloop is installed; WebSockets are on
    # by default (--ws).
    return [_bin("granian"), "--interface", "asgi", "--host", HOST, "--port", str(port),
            "--workers", "1", "--runtime-threads", "1", "--loop", "uvloop",
            "--no-access-log", "--log-level", "warning", *extra, target]


def cmd_hypercorn(target: str, port, rundir: str, extra: list[str]) -> list[str]:
    # hypercorn's access log is off unless --access-logfile is given.
    return [_bin("hypercorn"), "--worker-class", "uvloop", "--workers", "1",
            "--bind", f"{HOST}:{port}", "--log-level", "warning", *extra, target]


NGINX_CONF = """\
# generated by bench/run.py for one run; every path is in the run's temp dir
worker_processes 1;
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    # nginx closes a keep-alive connection after 1000 requests by default; graft and
    # the others have no such limit, so lift it (wrk would reconnect every 1000).
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen {host}:{port};
        location /hello/ {{
            default_type "text/plain; charset=utf-8";
            return 200 "Hello, world!";
        }}
    }}
}}
"""


def cmd_nginx(target: str, port, rundir: str, extra: list[str]) -> list[str]:
    # Debian's nginx; -e: the error log before the configuration is read (the
    # compiled-in default is /var/log/nginx). Runs as root; workers drop to nobody.
    if isinstance(port, int):
        with open(os.path.join(rundir, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(dir=rundir, host=HOST, port=port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return [nginx, "-p", rundir, "-c", os.path.join(rundir, "nginx.conf"),
            "-e", os.path.join(rundir, "error.log"), *extra]


SERVERS = {
    "graft": cmd_graft,
    "graft-serve": cmd_graft_serve,
    "uvicorn": cmd_uvicorn,
    "granian": cmd_granian,
    "hypercorn": cmd_hypercorn,
    "nginx": cmd_nginx,
}
FAMILIES = ("graft", "uvicorn", "granian", "hypercorn", "nginx")


def display_argv(kind: str, target: str, extra: list[str]) -> str:
    argv = SERVERS[kind](target, "P", "TMP", extra)
    argv[0] = os.path.basename(argv[0])
    return shlex.join(argv)


# ---------------------------------------------------------------- /proc helpers

def _read_stat(pid: int):
    """(ppid, utime+stime+cutime+cstime in ticks) of pid, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); field N is rest[N - 3].
    ppid = int(rest[1])
    ticks = int(rest[11]) + int(rest[12]) + int(rest[13]) + int(rest[14])
    return ppid, ticks


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _read_stat(int(name))
        if st is not None:
            children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def tree_cpu_seconds(root: int) -> float:
    """CPU time of root and all its descendants (all threads: /proc/PID/stat is per process)."""
    total = 0
    for pid in process_tree(root):
        st = _read_stat(pid)
        if st is not None:
            total += st[1]
    return total / CLK_TCK


def tree_affinity(root: int) -> dict[str, int]:
    """Cpus_allowed_list -> number of threads with it, over the whole tree."""
    seen: dict[str, int] = {}
    for pid in process_tree(root):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith("Cpus_allowed_list:"):
                            key = line.split(":", 1)[1].strip()
                            seen[key] = seen.get(key, 0) + 1
            except OSError:
                pass
    return seen


# ---------------------------------------------------------------- server lifecycle

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in list(env):
        if key.startswith(("GRAFT_", "GRANIAN_", "UVICORN_", "PRODUCTS_")) or key == "WEB_CONCURRENCY":
            del env[key]
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


LIVE_GROUPS: set[int] = set()  # process groups of servers not yet stopped (for the last-resort cleanup)


def kill_live_groups() -> None:
    for pgid in list(LIVE_GROUPS):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        LIVE_GROUPS.discard(pgid)


class Server:
    def __init__(self, name: str, argv: list[str], port: int, logdir: str,
                 env: dict[str, str] | None = None):
        self.name, self.argv, self.port = name, argv, port
        self.env = env or {}
        self.log_path = os.path.join(logdir, "server.log")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                ["taskset", "-c", SERVER_CPU, *self.argv], cwd=ROOT, env={**server_env(), **self.env},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)  # own process group, so stop() can reap workers
            LIVE_GROUPS.add(self.proc.pid)
        finally:
            log.close()

    def log_tail(self, n: int = 15) -> str:
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    | " + line for line in lines[-n:])

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.proc.pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def stop(self) -> str:
        """SIGTERM, bounded wait, SIGKILL the process group if needed. Returns a note or ''."""
        if self.proc is None:
            return ""
        note = ""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                note = f"did not exit {STOP_TIMEOUT_S:.0f}s after SIGTERM; SIGKILLed"
        # Workers left behind by the leader (or a hung leader): bounded grace, then SIGKILL.
        deadline = time.monotonic() + (0 if note else 3.0)
        while self._group_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._group_alive():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if not note and self.proc.poll() is None:
                note = "SIGKILLed process group"
        try:
            self.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            note = (note + "; " if note else "") + "leader still not reaped after SIGKILL"
        if not self._group_alive():
            LIVE_GROUPS.discard(self.proc.pid)
        self.proc = None
        return note


def _request(port: int, method: str, path: str, body: bytes | None, timeout: float):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
    finally:
        conn.close()


def wait_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"exited with status {server.proc.returncode} before answering\n"
                               + server.log_tail())
        try:
            _request(server.port, "GET", path, None, timeout=1.0)
            return
        except (OSError, http.client.HTTPException) as e:
            last = e
            time.sleep(0.1)
    raise RuntimeError(f"not answering on port {server.port} after {START_TIMEOUT_S:.0f}s "
                       f"({last!r})\n" + server.log_tail())


def check_response(port: int, scenario: dict) -> str:
    """One request through http.client; returns '' if the answer is the expected one."""
    kind = scenario["check"]
    try:
        if kind == "echo":
            payload = os.urandom(ECHO_BODY_SIZE)
            status, headers, body = _request(port, "POST", scenario["path"], payload, 10.0)
            ok = status == 200 and body == payload
        else:
            status, headers, body = _request(port, "GET", scenario["path"], None, 10.0)
            if kind == "hello":
                ok = status == 200 and body == b"Hello, world!"
            elif kind == "hello-native":
                ok = (status == 200 and body == b"Hello, world!"
                      and headers.get("content-type") == "text/plain; charset=utf-8")
            elif kind == "stream":
                ok = status == 200 and len(body) == STREAM_SIZE
            elif kind == "product":
                ok = (status == 200 and headers.get("content-type") == "application/json"
                      and json.loads(body).get("id") == 1)
            else:
                ok = status == 200 and json.loads(body) == {"message": "Hello, world!"}
    except Exception as e:  # noqa: BLE001 - report whatever went wrong
        return f"check request failed: {e!r}"
    if not ok:
        return (f"unexpected response: status {status}, content-type "
                f"{headers.get('content-type')!r}, {len(body)} body bytes")
    return ""


# ---------------------------------------------------------------- wrk

WRK_RE = {
    "requests": re.compile(r"^\s*(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read", re.M),
    "rps": re.compile(r"^Requests/sec:\s+([\d.]+)", re.M),
    "non2xx": re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.M),
    "sock": re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"),
}
SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def wrk_argv(port: int, scenario: dict, duration: int, script: str | None) -> list[str]:
    argv = ["taskset", "-c", WRK_CPU, "wrk", "-t1", f"-c{scenario['conns']}", f"-d{duration}s"]
    if script:
        argv += ["-s", script]
    return argv + [f"http://{HOST}:{port}{scenario['path']}"]


def _run_client(argv: list[str], timeout: float, what: str):
    """Runs a load generator; returns (CompletedProcess, its CPU seconds, wall seconds)."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what} did not finish within {timeout:.0f}s")
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return out, cpu, wall


def run_wrk(argv: list[str], duration: int) -> dict:
    out, cpu, wall = _run_client(argv, duration + 30, "wrk")
    text = out.stdout + out.stderr
    m_rps = WRK_RE["rps"].search(text)
    m_req = WRK_RE["requests"].search(text)
    if out.returncode != 0 or not m_rps or not m_req:
        raise RuntimeError(f"wrk failed (status {out.returncode}):\n{text.strip()}")
    m_non = WRK_RE["non2xx"].search(text)
    m_sock = WRK_RE["sock"].search(text)
    sock = tuple(int(x) for x in m_sock.groups()) if m_sock else (0, 0, 0, 0)
    return {
        "rps": float(m_rps.group(1)),
        "requests": int(m_req.group(1)),
        "bytes": float(m_req.group(4)) * SIZE_UNITS.get(m_req.group(5), 1),
        "non2xx": int(m_non.group(1)) if m_non else 0,
        "sock": sock,
        "client_cpu": 100.0 * cpu / wall if wall > 0 else float("nan"),
        "raw": text,
    }


def write_lua(tmpdir: str, scenario: dict) -> str | None:
    if scenario["body"] is None:
        return None
    path = os.path.join(tmpdir, f"post-{scenario['body']}.lua")
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n'
                f'wrk.body = string.rep("a", {scenario["body"]})\n'
                'wrk.headers["Content-Type"] = "application/octet-stream"\n')
    return path


# ---------------------------------------------------------------- WebSocket client

WS_CLIENT_SRC = os.path.join(ROOT, "bench", "ws_client.c")
WS_RE = re.compile(r"messages=(\d+) seconds=([\d.]+) msgs_per_s=([\d.]+) client_cpu_s=([\d.]+)")


def build_ws_client(tmpdir: str) -> str:
    exe = os.path.join(tmpdir, "ws_client")
    cc = os.environ.get("CC", "cc")
    out = subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-o", exe, WS_CLIENT_SRC],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench: building {WS_CLIENT_SRC} failed:\n{out.stdout}{out.stderr}")
    return exe


def ws_argv(exe: str, port: int, scenario: dict, duration: int) -> list[str]:
    return ["taskset", "-c", WRK_CPU, exe, HOST, str(port), scenario["path"],
            str(WS_MESSAGE_SIZE), str(WS_WINDOW), str(duration)]


def run_ws(argv: list[str], duration: int) -> dict:
    out, cpu, wall = _run_client(argv, duration + 30, "ws_client")
    m = WS_RE.search(out.stdout)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"ws_client failed (status {out.returncode}): "
                           f"{(out.stdout + out.stderr).strip()}")
    n, secs = int(m.group(1)), float(m.group(2))
    return {
        "rps": float(m.group(3)),
        "requests": n,
        "bytes": float(n * WS_MESSAGE_SIZE),
        "non2xx": 0,
        "sock": (0, 0, 0, 0),
        # the client's own account: CPU over its timed window (handshake and drain are tiny)
        "client_cpu": 100.0 * float(m.group(4)) / wall if wall > 0 else float("nan"),
        "raw": out.stdout,
    }


# ---------------------------------------------------------------- native libraries

NATIVE_SOURCES = {
    HELLO_SO: ("examples/hello/hello.c", []),
    PRODUCTS_SO: ("examples/products/routes.c", ["-lsqlite3", "-ljansson"]),
}


def ensure_native_libs(libs: set[str]) -> None:
    """Builds the example .so files the scenarios load, when missing or older than their
    source or graft.h: the Makefile's rules (`make build/hello.so`), run directly so a
    benchmark never triggers a rebuild of the extension itself."""
    for lib in sorted(libs):
        src, ldlibs = NATIVE_SOURCES[lib]
        out_path, src_path = os.path.join(ROOT, lib), os.path.join(ROOT, src)
        deps = [src_path, os.path.join(ROOT, "include", "graft.h")]
        if os.path.exists(out_path) and all(os.path.getmtime(out_path) >= os.path.getmtime(d)
                                            for d in deps if os.path.exists(d)):
            continue
        cfg = _bin("graft-config")
        flags = subprocess.run([cfg, "--cflags"], capture_output=True, text=True).stdout.split()
        libs_ = subprocess.run([cfg, "--libs"], capture_output=True, text=True).stdout.split()
        os.makedirs(os.path.dirname(out_path), exist_ok=True)
        argv = [os.environ.get("CC", "cc"), "-O2", "-Wall", "-Wextra", "-shared", "-fPIC", *flags,
                src, "-o", lib, *libs_, *ldlibs]
        print(f"bench: building {lib}: {shlex.join(argv)}", flush=True)
        out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"bench: building {lib} failed:\n{out.stdout}{out.stderr}")


# ---------------------------------------------------------------- one measurement

def measure(row: tuple[str, str, list[str]], scenario: dict, duration: int, tmpdir: str,
            notes: list[str], ws_exe: str | None) -> dict | None:
    name, kind, extra = row
    port = free_port()
    rundir = tempfile.mkdtemp(prefix=f"{name}-{port}-", dir=tmpdir)
    env = {}
    if scenario.get("fresh_db"):
        env["PRODUCTS_DB"] = os.path.join(rundir, "products.db")  # new file: the app seeds it
    server = Server(name, SERVERS[kind](scenario["target"], port, rundir, extra), port, rundir, env)
    script = write_lua(tmpdir, scenario)
    try:
        server.start()
        wait_ready(server, scenario["path"])
        problem = check_response(port, scenario)
        if problem:
            notes.append(f"{name}: {problem}")
        aff = tree_affinity(server.proc.pid)
        if set(aff) != {SERVER_CPU}:
            notes.append(f"{name}: server threads not all pinned to CPU {SERVER_CPU}: {aff}")
        if scenario.get("load") == "ws":
            run_ws(ws_argv(ws_exe, port, scenario, WARMUP_S), WARMUP_S)
            threads = sum(tree_affinity(server.proc.pid).values())
            cpu0 = tree_cpu_seconds(server.proc.pid)
            res = run_ws(ws_argv(ws_exe, port, scenario, duration), duration)
        else:
            run_wrk(wrk_argv(port, scenario, WARMUP_S, script), WARMUP_S)
            threads = sum(tree_affinity(server.proc.pid).values())
            cpu0 = tree_cpu_seconds(server.proc.pid)
            res = run_wrk(wrk_argv(port, scenario, duration, script), duration)
        cpu1 = tree_cpu_seconds(server.proc.pid)
        if server.proc.poll() is not None:
            raise RuntimeError(f"server died during the run (status {server.proc.returncode})\n"
                               + server.log_tail())
        res["cpu_s"] = cpu1 - cpu0
        res["cpu_us_per_req"] = (res["cpu_s"] * 1e6 / res["requests"]) if res["requests"] else float("nan")
        res["threads"] = threads
        res["procs"] = len(process_tree(server.proc.pid))
        return res
    except RuntimeError as e:
        notes.append(f"{name}: {e}")
        return None
    finally:
        note = server.stop()
        if note:
            notes.append(f"{name}: {note}")


# ---------------------------------------------------------------- reporting

def fmt_rps(x: float) -> str:
    return f"{x / 1000:.1f}k" if x >= 1000 else f"{x:.0f}"


def _ratio(ref: dict, x: dict, key: str, side: str) -> float | None:
    a, b = (ref[key], x[key]) if side == "num" else (x[key], ref[key])
    return a / b if b > 0 else None


def summarize(scn: dict, names: list[str], rounds: list[dict]) -> list[dict]:
    ref, side = scn.get("ref", "graft"), scn.get("side", "num")
    rows = []
    for name in names:
        runs = [r.get(name) for r in rounds]
        ok = [r for r in runs if r]
        row = {"server": name, "n": len(ok), "rounds": len(runs)}
        if ok:
            row["rps"] = statistics.median(r["rps"] for r in ok)
            row["cpu"] = statistics.median(r["cpu_us_per_req"] for r in ok)
            row["client_cpu"] = statistics.median(r["client_cpu"] for r in ok)
            row["per_round"] = [fmt_rps(r["rps"]) if r else "fail" for r in runs]
            row["rates"] = [r["rps"] for r in ok]
            row["non2xx"] = sum(r["non2xx"] for r in ok)
            row["sock"] = tuple(sum(r["sock"][i] for r in ok) for i in range(4))
            row["bytes_per_resp"] = statistics.median(r["bytes"] / r["requests"] for r in ok if r["requests"])
            row["threads"] = max(r["threads"] for r in ok)
            row["procs"] = max(r["procs"] for r in ok)
        # per round: that round's ratio; the median of those (not a ratio of medians)
        for key, out in (("rps", "ratio"), ("cpu_us_per_req", "cpu_ratio")):
            vals = []
            for r in rounds:
                g, x = r.get(ref), r.get(name)
                if g and x:
                    v = _ratio(g, x, key, side)
                    if v is not None:
                        vals.append(v)
            row[out] = statistics.median(vals) if vals else None
        rows.append(row)
    return rows


def error_cell(row: dict) -> str:
    if "rps" not in row:
        return "-"
    parts = []
    if row["non2xx"]:
        parts.append(f"{row['non2xx']} non-2xx/3xx")
    c, r, w, t = row["sock"]
    if c or r or w or t:
        parts.append(f"socket: connect {c}, read {r}, write {w}, timeout {t}")
    if row["n"] < row["rounds"]:
        parts.append(f"{row['rounds'] - row['n']} failed round(s)")
    return "; ".join(parts) or "0"


def table_head(scn: dict) -> list[str]:
    unit = "msg/s" if scn.get("load") == "ws" else "req/s"
    per = "msg" if scn.get("load") == "ws" else "req"
    ref, side = scn.get("ref", "graft"), scn.get("side", "num")
    rel = f"{ref}/X" if side == "num" else f"X/{ref}"
    client = "ws_client CPU %" if scn.get("load") == "ws" else "wrk CPU %"
    return ["server", f"{unit} (median)", f"CPU µs/{per} (median)", f"{rel} {unit}",
            f"{rel} CPU/{per}", f"{unit} per round", client, "errors"]


TEXT_COLS = (0, 5, 7)  # left-aligned


def table_cells(row: dict) -> list[str]:
    if "rps" not in row:
        return [row["server"], "failed", "-", "-", "-", "-", "-", error_cell(row)]

    def r(v):
        return "-" if v is None else f"{v:.2f}"
    return [row["server"], f"{row['rps']:.0f}", f"{row['cpu']:.1f}", r(row["ratio"]),
            r(row["cpu_ratio"]), " / ".join(row["per_round"]), f"{row['client_cpu']:.0f}",
            error_cell(row)]


def print_table(title: str, scn: dict, rows: list[dict]) -> None:
    head = table_head(scn)
    data = [head] + [table_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in data) for i in range(len(head))]
    print(f"\n== {title}")
    for j, line in enumerate(data):
        print("  " + "  ".join(c.ljust(widths[i]) if i in TEXT_COLS else c.rjust(widths[i])
                               for i, c in enumerate(line)))
        if j == 0:
            print("  " + "  ".join("-" * w for w in widths))


def markdown_table(scn: dict, rows: list[dict]) -> str:
    head = table_head(scn)
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" if i in TEXT_COLS else "---:" for i in range(len(head))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(table_cells(r)) + " |")
    return "\n".join(out)


# ---------------------------------------------------------------- environment facts

def machine_facts() -> dict:
    facts = {"nproc": str(os.cpu_count())}
    try:
        facts["nproc"] = subprocess.run(["nproc"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    model = "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                break
    except (OSError, subprocess.TimeoutExpired):
        pass
    facts["model"] = model
    facts["kernel"] = platform.release()
    code = ("import sys, importlib.metadata as m\n"
            "v = {'python': sys.version.split()[0]}\n"
            "for p in ('graft', 'uvicorn', 'granian', 'hypercorn', 'uvloop', 'httptools', 'websockets', 'fastapi', 'starlette'):\n"
            "    try: v[p] = m.version(p)\n"
            "    except Exception: v[p] = 'missing'\n"
            "import json; print(json.dumps(v))\n")
    try:
        out = subprocess.run([_venv_python(), "-c", code], capture_output=True, text=True, timeout=30)
        facts["versions"] = json.loads(out.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        facts["versions"] = {"python": platform.python_version()}
    try:
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=5)
        facts["wrk"] = (out.stdout + out.stderr).splitlines()[0].split(" Copyright")[0].strip()
    except (OSError, subprocess.TimeoutExpired, IndexError):
        facts["wrk"] = "wrk"
    try:
        out = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-v"],
                             capture_output=True, text=True, timeout=5)
        facts["nginx"] = (out.stdout + out.stderr).strip().split(":", 1)[-1].strip()
    except (OSError, subprocess.TimeoutExpired):
        facts["nginx"] = "missing"
    facts["load"] = "%.2f / %.2f / %.2f" % os.getloadavg()
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.splitlines()
        facts["commit"] = head + (f" + {len(dirty)} modified file(s)" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        facts["commit"] = "unknown"
    facts["ext"] = extension_stamp()
    return facts


def extension_stamp() -> tuple:
    """(path, mtime, size) of graft's built extension modules: a rebuild during the run
    (another make, a test-asan build) would make the graft rows measure two builds."""
    pkg = os.path.join(ROOT, "graft")
    try:
        return tuple(sorted((n, os.path.getmtime(os.path.join(pkg, n)), os.path.getsize(os.path.join(pkg, n)))
                            for n in os.listdir(pkg) if n.endswith(".so")))
    except OSError:
        return ()


INTRO = """\
# Benchmarks

graft against uvicorn, granian and hypercorn, one worker each; graft's native (C) routes
against nginx; the products example with and without its C routes; WebSocket echo. Measured
with [`bench/run.py`](../bench/run.py) on the apps in [`bench/apps.py`](../bench/apps.py).

Method: for every scenario and every round, each server runs in turn (interleaved:
A B C D, A B C D, ...). The server's whole process tree is pinned to CPU 0
(`taskset -c 0`), the load generator to CPU 1 (`wrk -t1`, or for `ws-echo` the C client
[`bench/ws_client.c`](../bench/ws_client.c), built by the script with `cc -O2`). Each
start gets a fresh port, is checked with one real request, warmed up for 1 s, then
measured. "CPU µs/req" is the server's CPU time (user + system, every thread and child
process, from `/proc/PID/stat`) during the measured run divided by the requests (or
WebSocket messages) completed. The ratio columns ("graft/X", or "X/nginx" where nginx is
the reference) are the median over rounds of that round's ratio, so machine drift between
rounds (10-30% on the 2-core reference box) mostly cancels; absolute numbers do not
transfer between machines or even between runs. "wrk CPU %" / "ws_client CPU %" is the
load generator's own CPU use on CPU 1: near 100 it, not the server, is the limit.

Scenarios (descriptions under each table):

- `hello-c64`, `hello-c1`, `fastapi-json-c64`, `echo-1MiB-c16`, `stream-c64`: graft,
  uvicorn, granian, hypercorn on the same ASGI apps.
- `native-vs-nginx-c64`, `native-vs-nginx-c1` (`--only native-vs-nginx` runs both):
  `GET /hello/world` answered by graft's native route (`examples/hello/hello.c`, built as
  `build/hello.so`) under `graft-serve` (C only) and under `graft` with a Python app
  loaded (graft+py), against nginx `return 200` of the same body with the same
  content-type. nginx runs from a configuration generated into a temp dir (shown with the
  results): one worker, `access_log off`, and `keepalive_requests 1000000`, since its
  default of 1000 would make wrk reconnect every 1000 requests and graft has no such
  limit. The responses are not byte-identical: nginx sends `Server: nginx/1.22.1` and
  `Connection: keep-alive` (176 bytes per response in total), graft sends lower-case
  `server: graft` and no `connection` header, which HTTP/1.1 does not need (145 bytes);
  both send `date` and `content-length`.
- `products-get`: `GET /products/1` of the products example (`examples/products`),
  all-Python under graft and uvicorn vs graft with the route in C
  (`build/products_routes.so`); each server start gets a new SQLite file.
- `ws-echo`: 1 KiB binary WebSocket messages echoed over one connection, 16 in flight
  (messages/s). A Python client (the `websockets` sync API, same window) tops out near
  11k msg/s on CPU 1, about granian's rate and far below the others, hence the C client:
  it needs about half of CPU 1 at the highest rates measured (see its CPU column).

Servers run with one worker, access log off and log level warning; their exact
command lines are listed with the results. The example libraries are built by the script
when missing or stale (the Makefile's `build/hello.so` and `build/products_routes.so`
rules, run directly).

Reproduce the published numbers (about 20 minutes; the default `--rounds 3` takes
about 12) on an otherwise idle machine (check `uptime` first):

    make build
    scripts/setup-system.sh bench    # wrk and nginx (Debian), once
    .venv/bin/python bench/run.py --rounds 5

(`make bench` does the first two and then runs the default `--rounds 3`.)

`--only NAME[,NAME...]` runs some scenarios (a name also selects every scenario it
prefixes: `native-vs-nginx`, `hello`); `--servers graft,nginx,...` keeps only those
server families. The script rewrites only the part between the
`bench:begin`/`bench:end` markers below, with the results of the scenarios it ran (so a
run with `--only` replaces the whole table set); `--no-write` prints without touching this
file.

"""


CLIENT_SATURATED = 90.0  # % of CPU 1: above this the load generator, not the server, limits
SPREAD_NOTE = 1.5        # max/min of a row's per-round rates above this gets a note


def diagnostics(scn: dict, rows: list[dict]) -> list[str]:
    """Notes the numbers call for: a saturated load generator, a wide per-round spread."""
    out = []
    client = "ws_client" if scn.get("load") == "ws" else "wrk"
    unit = "msg/s" if scn.get("load") == "ws" else "req/s"
    per = "msg" if scn.get("load") == "ws" else "req"
    sat = [r["server"] for r in rows if r.get("client_cpu", 0) >= CLIENT_SATURATED]
    if sat:
        out.append(f"{client} used >= {CLIENT_SATURATED:.0f}% of CPU 1 against {', '.join(sat)}: "
                   f"there the load generator is (close to) the limit, so {unit} is a lower bound "
                   f"and CPU µs/{per} is the better comparison")
    for r in rows:
        vals = [v for v in r.get("rates", []) if v]
        if len(vals) >= 2 and min(vals) > 0 and max(vals) / min(vals) >= SPREAD_NOTE:
            out.append(f"{r['server']}: per-round {unit} spread {max(vals) / min(vals):.1f}x "
                       f"({fmt_rps(min(vals))} .. {fmt_rps(max(vals))})")
    return out


def _goal_text(scn: dict, rows: list[dict]) -> list[str]:
    ref, side = scn.get("ref", "graft"), scn.get("side", "num")
    unit = "msg/s" if scn.get("load") == "ws" else "req/s"
    by = {r["server"]: r for r in rows}
    out = []
    for row, key, op, val in scn.get("goals", []):
        pair = f"{ref}/{row}" if side == "num" else f"{row}/{ref}"
        what = f"{pair} {unit if key == 'ratio' else 'CPU/req'}"
        v = by.get(row, {}).get(key)
        if v is None:
            out.append(f"{what}: no data")
            continue
        ok = v >= val if op == ">=" else v <= val
        out.append(f"{what} {v:.3f} {op} {val:.2f} {'met' if ok else 'MISSED'}")
    return out


def headline(scn_name: str, scn: dict, rows: list[dict]) -> str:
    ref, side = scn.get("ref", "graft"), scn.get("side", "num")
    unit = "msg/s" if scn.get("load") == "ws" else "req/s"
    parts = []
    for r in rows:
        if r["server"] == ref or r.get("ratio") is None:
            continue
        pair = f"{ref}/{r['server']}" if side == "num" else f"{r['server']}/{ref}"
        per = "msg" if scn.get("load") == "ws" else "req"
        cpu = "" if r.get("cpu_ratio") is None else f", CPU/{per} {r['cpu_ratio']:.2f}"
        parts.append(f"{pair} {r['ratio']:.2f}{cpu}")
    line = f"- `{scn_name}` ({unit}): " + "; ".join(parts) if parts else f"- `{scn_name}`: no ratios"
    goals = _goal_text(scn, rows)
    if goals:
        line += ". Goals: " + "; ".join(goals)
    return line + "."


def render_block(args, facts: dict, results: dict, notes: dict, command: str) -> str:
    v = facts["versions"]
    lines = [BEGIN, "",
             f"Run {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')} — "
             f"{facts['nproc']} CPUs ({facts['model']}), Linux {facts['kernel']}, "
             f"Python {v.get('python', '?')}, {facts['wrk']}, {facts['nginx']}. "
             f"Load average (1/5/15 min) just before the run: {facts['load']}.", "",
             f"Command: `{command}` ({args.duration} s per run after a {WARMUP_S} s warm-up, "
             f"{args.rounds} round(s)); graft at commit {facts['commit']}.", "",
             "Versions: " + ", ".join(f"{k} {v[k]}" for k in
                                      ("graft", "uvicorn", "granian", "hypercorn", "uvloop",
                                       "httptools", "websockets", "fastapi") if k in v) + ".", "",
             *([f"**Warning:** graft's extension module was rebuilt during the run "
                f"({facts['ext_changed']}); the graft rows may mix two builds.", ""]
               if facts.get("ext_changed") else []),
             ]
    lines += ["Headline ratios (median over rounds of each round's ratio; CPU/req is the ratio of "
              "CPU µs per request, or per message, in the same direction):", ""]
    for scn_name, rows in results.items():
        lines.append(headline(scn_name, SCENARIOS[scn_name], rows))
    lines += ["", "Server command lines (`APP` and `P` filled in per run; every one is run as "
              "`taskset -c 0 ...`):", ""]
    std = [r for r in _STD_ROWS if family(r[1]) in args.families]
    for name, kind, extra in std:
        lines.append(f"- {name}: `{display_argv(kind, 'APP', extra)}`")
    lines.append("")
    shown_nginx = False
    for scn_name in results:
        scn = SCENARIOS[scn_name]
        if "servers" not in scn:
            continue
        rows = [r for r in scenario_rows(scn) if family(r[1]) in args.families]
        lines.append(f"`{scn_name}` (`P` the port, `TMP` a new temp dir per start"
                     + (", `PRODUCTS_DB=TMP/products.db` in the environment" if scn.get("fresh_db") else "")
                     + "):")
        lines.append("")
        for name, kind, extra in rows:
            lines.append(f"- {name}: `{display_argv(kind, scn['target'], extra)}`")
        lines.append("")
        if any(kind == "nginx" for _, kind, _ in rows) and not shown_nginx:
            shown_nginx = True
            lines += ["`TMP/nginx.conf`:", "", "```nginx",
                      NGINX_CONF.format(dir="TMP", host=HOST, port="P").rstrip("\n"), "```", ""]
    for scn_name, rows in results.items():
        scn = SCENARIOS[scn_name]
        lines += [f"### {scn_name}", "", scn["desc"] + ".", "", markdown_table(scn, rows), ""]
        for n in notes.get(scn_name, []):
            lines.append(f"- note: {n.splitlines()[0]}")
        if notes.get(scn_name):
            lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_markdown(path: str, block: str) -> None:
    path = path if os.path.isabs(path) else os.path.join(ROOT, path)
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = INTRO + BEGIN + "\n" + END + "\n"
    if BEGIN in text and END in text and text.index(BEGIN) < text.index(END):
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


# ---------------------------------------------------------------- main

def select_scenarios(names: list[str]) -> tuple[list[str], list[str]]:
    """Exact names, or prefixes: 'native-vs-nginx' selects -c64 and -c1. (chosen, unknown)"""
    chosen, bad = [], []
    for n in names:
        hits = [n] if n in SCENARIOS else [s for s in SCENARIOS if s.startswith(n + "-")]
        if not hits:
            bad.append(n)
        chosen += [h for h in hits if h not in chosen]
    return chosen, bad


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="scenarios: " + ", ".join(SCENARIOS)
                                + " (a prefix such as native-vs-nginx selects all it starts)")
    p.add_argument("--duration", type=int, default=5, help="seconds of load per run [5]")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds [3; publish with 5]")
    p.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    p.add_argument("--servers", default=",".join(FAMILIES),
                   help=f"comma-separated server families [{','.join(FAMILIES)}]")
    p.add_argument("--out", default="docs/BENCHMARKS.md", help="markdown file to update [docs/BENCHMARKS.md]")
    p.add_argument("--no-write", action="store_true", help="print only; do not touch --out")
    args = p.parse_args(argv)
    args.scenarios, bad = select_scenarios([s for s in args.only.split(",") if s] or list(SCENARIOS))
    if bad:
        p.error(f"unknown scenario(s) {bad}; choose from {list(SCENARIOS)}")
    args.families = [s for s in args.servers.split(",") if s]
    bad = [s for s in args.families if s not in FAMILIES]
    if bad or not args.families:
        p.error(f"unknown server(s) {bad}; choose from {list(FAMILIES)}")
    if args.duration < 1 or args.rounds < 1:
        p.error("--duration and --rounds must be >= 1")
    return args


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    plan = {name: [r for r in scenario_rows(SCENARIOS[name]) if family(r[1]) in args.families]
            for name in args.scenarios}
    plan = {name: rows for name, rows in plan.items() if rows}
    if not plan:
        raise SystemExit("bench: no server of --servers takes part in the chosen scenarios")
    tools = ["taskset"]
    if any(SCENARIOS[n].get("load") != "ws" for n in plan):
        tools.append("wrk")
    if any(kind == "nginx" for rows in plan.values() for _, kind, _ in rows):
        tools.append("nginx")
    for tool in tools:
        if not shutil.which(tool) and not (tool == "nginx" and os.access("/usr/sbin/nginx", os.X_OK)):
            raise SystemExit(f"bench: '{tool}' not found (make bench installs it)")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("bench: needs at least 2 CPUs (server on CPU 0, load generator on CPU 1)")
    signal.signal(signal.SIGTERM, _on_sigterm)
    command = shlex.join(["python", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT),
                          *(argv if argv is not None else sys.argv[1:])])
    facts = machine_facts()
    ensure_native_libs({lib for n in plan for lib in SCENARIOS[n].get("libs", ())})
    n_runs = sum(len(rows) for rows in plan.values()) * args.rounds
    est = n_runs * (args.duration + WARMUP_S + 2.5)
    print(f"bench: {len(plan)} scenario(s) x {args.rounds} round(s) = {n_runs} runs, "
          f"~{est / 60:.0f} min; {facts['nproc']} CPUs ({facts['model']}), "
          f"Python {facts['versions'].get('python')}; load average {facts['load']}")
    results: dict[str, list[dict]] = {}
    notes: dict[str, list[str]] = {}
    tmpdir = tempfile.mkdtemp(prefix="graft-bench-")
    t0 = time.monotonic()
    try:
        ws_exe = build_ws_client(tmpdir) if any(SCENARIOS[n].get("load") == "ws" for n in plan) else None
        for scn_name, rows in plan.items():
            scn = SCENARIOS[scn_name]
            unit = "msg/s" if scn.get("load") == "ws" else "req/s"
            per = "msg" if scn.get("load") == "ws" else "req"
            scn_notes = notes.setdefault(scn_name, [])
            rounds: list[dict] = []
            width = max(len(r[0]) for r in rows)
            for rnd in range(1, args.rounds + 1):
                this_round: dict = {}
                for row in rows:
                    name = row[0]
                    before = len(scn_notes)
                    res = measure(row, scn, args.duration, tmpdir, scn_notes, ws_exe)
                    this_round[name] = res
                    if res:
                        extra = []
                        if res["non2xx"]:
                            extra.append(f"non-2xx {res['non2xx']}")
                        if any(res["sock"]):
                            extra.append("socket errors connect/read/write/timeout "
                                         + "/".join(map(str, res["sock"])))
                        print(f"  [{scn_name} r{rnd}] {name:<{width}} {res['rps']:>10.0f} {unit}  "
                              f"{res['cpu_us_per_req']:>7.1f} CPU µs/{per}  "
                              f"({res['requests']} {per}, {res['bytes'] / max(res['requests'], 1):.0f} B/{per}, "
                              f"{res['procs']} proc/{res['threads']} thr, client CPU {res['client_cpu']:.0f}%)"
                              + (("  " + ", ".join(extra)) if extra else ""), flush=True)
                    else:
                        print(f"  [{scn_name} r{rnd}] {name:<{width}} FAILED", flush=True)
                    for n in scn_notes[before:]:
                        print(f"    note: {n}", flush=True)
                rounds.append(this_round)
            results[scn_name] = summarize(scn, [r[0] for r in rows], rounds)
            scn_notes += diagnostics(scn, results[scn_name])
            print_table(f"{scn_name}: {scn['desc']}", scn, results[scn_name])
            print(headline(scn_name, scn, results[scn_name]))
            for n in diagnostics(scn, results[scn_name]):
                print(f"  note: {n}")
            print(flush=True)
    except KeyboardInterrupt:
        print("\nbench: interrupted; servers stopped, nothing written", file=sys.stderr)
        return 130
    finally:
        kill_live_groups()
        shutil.rmtree(tmpdir, ignore_errors=True)
    print(f"bench: done in {(time.monotonic() - t0) / 60:.1f} min; load average now "
          + "%.2f / %.2f / %.2f" % os.getloadavg())
    if extension_stamp() != facts["ext"]:
        facts["ext_changed"] = f"before: {facts['ext']}, after: {extension_stamp()}"
        print(f"bench: WARNING: graft's extension module changed during the run: {facts['ext_changed']}")
    if not args.no_write:
        write_markdown(args.out, render_block(args, facts, results, notes, command))
        print(f"bench: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
