#!/usr/bin/env python3
"""Interleaved wrk benchmark: graft vs uvicorn / granian / hypercorn.

    .venv/bin/python bench/run.py [--duration 5] [--rounds 3] [--only SCENARIO[,..]]
                                  [--servers graft,uvicorn,granian,hypercorn]
                                  [--out docs/BENCHMARKS.md | --no-write]

For every scenario and every round, each server is run in turn (A B C D, A B C D, ...):
start it pinned to CPU 0 (``taskset -c 0``: the whole process tree, every thread), wait
until it answers (and check one response), warm up 1 s with wrk, then run
``taskset -c 1 wrk -t1 -cN -dDs`` while sampling the server's CPU time (utime+stime,
plus cutime+cstime, of every process in its tree, from /proc/PID/stat), then SIGTERM it.

The box is small and noisy, so the summary reports medians and, per competitor, the
median over rounds of that round's graft/X req/s ratio (not a ratio of medians).
The default (5 s x 3 rounds x 5 scenarios x 4 servers) takes about 8 minutes;
publish with ``--rounds 5`` (about 13 minutes).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import json
import os
import platform
import re
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

# name -> app attribute, path, connections, request method/body (None = GET), description
SCENARIOS = {
    "hello-c64": dict(app="hello", path="/", conns=64, body=None,
                      desc="raw ASGI hello, `GET /` -> 13-byte text/plain, 64 connections"),
    "hello-c1": dict(app="hello", path="/", conns=1, body=None,
                     desc="raw ASGI hello, `GET /` -> 13-byte text/plain, 1 connection (latency-bound)"),
    "fastapi-json-c64": dict(app="fastapi_app", path="/json", conns=64, body=None,
                             desc='FastAPI `GET /json` -> `{"message": "Hello, world!"}`, 64 connections'),
    "echo-1MiB-c16": dict(app="echo", path="/", conns=16, body=ECHO_BODY_SIZE,
                          desc="raw ASGI echo, `POST /` with a 1 MiB body echoed back, 16 connections"),
    "stream-c64": dict(app="stream", path="/", conns=64, body=None,
                       desc="raw ASGI streamed response, 16 x 4 KiB chunks, no content-length "
                            "(chunked), 64 connections"),
}


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
# log level warning, HTTP/1.1 over TCP on 127.0.0.1.
def cmd_graft(target: str, port: int) -> list[str]:
    return [_bin("graft"), target, "--host", HOST, "--port", str(port),
            "--no-access-log", "--log-level", "warning"]


def cmd_uvicorn(target: str, port: int) -> list[str]:
    return [_bin("uvicorn"), target, "--host", HOST, "--port", str(port),
            "--http", "httptools", "--loop", "uvloop",
            "--no-access-log", "--log-level", "warning"]


def cmd_granian(target: str, port: int) -> list[str]:
    # --workers 1 and --runtime-threads 1 are granian's defaults, spelled out;
    # --loop uvloop is what 'auto' picks when uvloop is installed.
    return [_bin("granian"), "--interface", "asgi", "--host", HOST, "--port", str(port),
            "--workers", "1", "--runtime-threads", "1", "--loop", "uvloop",
            "--no-access-log", "--log-level", "warning", target]


def cmd_hypercorn(target: str, port: int) -> list[str]:
    # hypercorn's access log is off unless --access-logfile is given.
    return [_bin("hypercorn"), "--worker-class", "uvloop", "--workers", "1",
            "--bind", f"{HOST}:{port}", "--log-level", "warning", target]


SERVERS = {
    "graft": cmd_graft,
    "uvicorn": cmd_uvicorn,
    "granian": cmd_granian,
    "hypercorn": cmd_hypercorn,
}


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
        if key.startswith(("GRAFT_", "GRANIAN_", "UVICORN_")) or key == "WEB_CONCURRENCY":
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
    def __init__(self, name: str, argv: list[str], port: int, logdir: str):
        self.name, self.argv, self.port = name, argv, port
        self.log_path = os.path.join(logdir, f"{name}-{port}.log")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                ["taskset", "-c", SERVER_CPU, *self.argv], cwd=ROOT, env=server_env(),
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
    app = scenario["app"]
    try:
        if app == "echo":
            payload = os.urandom(ECHO_BODY_SIZE)
            status, headers, body = _request(port, "POST", scenario["path"], payload, 10.0)
            ok = status == 200 and body == payload
        else:
            status, headers, body = _request(port, "GET", scenario["path"], None, 10.0)
            if app == "hello":
                ok = status == 200 and body == b"Hello, world!"
            elif app == "stream":
                ok = status == 200 and len(body) == STREAM_SIZE
            else:
                ok = status == 200 and json.loads(body) == {"message": "Hello, world!"}
    except Exception as e:  # noqa: BLE001 - report whatever went wrong
        return f"check request failed: {e!r}"
    if not ok:
        return f"unexpected response: status {status}, {len(body)} body bytes"
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


def run_wrk(argv: list[str], duration: int) -> dict:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"wrk did not finish within {duration + 30}s")
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


# ---------------------------------------------------------------- one measurement

def measure(name: str, scenario: dict, duration: int, tmpdir: str, notes: list[str]) -> dict | None:
    port = free_port()
    target = f"bench.apps:{scenario['app']}"
    server = Server(name, SERVERS[name](target, port), port, tmpdir)
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
        run_wrk(wrk_argv(port, scenario, WARMUP_S, script), WARMUP_S)
        threads = sum(aff.values())
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


def summarize(scn_name: str, servers: list[str], rounds: list[dict]) -> list[dict]:
    rows = []
    for name in servers:
        runs = [r.get(name) for r in rounds]
        ok = [r for r in runs if r]
        row = {"server": name, "n": len(ok), "rounds": len(runs)}
        if ok:
            row["rps"] = statistics.median(r["rps"] for r in ok)
            row["cpu"] = statistics.median(r["cpu_us_per_req"] for r in ok)
            row["per_round"] = [fmt_rps(r["rps"]) if r else "fail" for r in runs]
            row["non2xx"] = sum(r["non2xx"] for r in ok)
            row["sock"] = tuple(sum(r["sock"][i] for r in ok) for i in range(4))
            row["bytes_per_resp"] = statistics.median(r["bytes"] / r["requests"] for r in ok if r["requests"])
            row["threads"] = max(r["threads"] for r in ok)
            row["procs"] = max(r["procs"] for r in ok)
        ratios = []
        for r in rounds:
            g, x = r.get("graft"), r.get(name)
            if g and x and x["rps"] > 0:
                ratios.append(g["rps"] / x["rps"])
        row["ratio"] = statistics.median(ratios) if ratios else None
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


TABLE_HEAD = ["server", "req/s (median)", "CPU µs/req (median)", "graft/X req/s",
              "req/s per round", "errors"]


def table_cells(row: dict, have_graft: bool) -> list[str]:
    if "rps" not in row:
        return [row["server"], "failed", "-", "-", "-", error_cell(row)]
    ratio = "-" if row["ratio"] is None or not have_graft else f"{row['ratio']:.2f}"
    if row["server"] == "graft":
        ratio = "1.00" if row["ratio"] is not None else "-"
    return [row["server"], f"{row['rps']:.0f}", f"{row['cpu']:.1f}", ratio,
            " / ".join(row["per_round"]), error_cell(row)]


def print_table(title: str, rows: list[dict], servers: list[str]) -> None:
    have_graft = "graft" in servers
    data = [TABLE_HEAD] + [table_cells(r, have_graft) for r in rows]
    widths = [max(len(line[i]) for line in data) for i in range(len(TABLE_HEAD))]
    print(f"\n== {title}")
    for j, line in enumerate(data):
        print("  " + "  ".join(c.ljust(widths[i]) if i in (0, 4, 5) else c.rjust(widths[i])
                               for i, c in enumerate(line)))
        if j == 0:
            print("  " + "  ".join("-" * w for w in widths))


def markdown_table(rows: list[dict], servers: list[str]) -> str:
    have_graft = "graft" in servers
    out = ["| " + " | ".join(TABLE_HEAD) + " |",
           "|" + "|".join(["---", "---:", "---:", "---:", "---", "---"]) + "|"]
    for r in rows:
        out.append("| " + " | ".join(table_cells(r, have_graft)) + " |")
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
            "for p in ('graft', 'uvicorn', 'granian', 'hypercorn', 'uvloop', 'httptools', 'fastapi', 'starlette'):\n"
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
    return facts


INTRO = """\
# Benchmarks

graft against uvicorn, granian and hypercorn, one worker each, measured with
[`bench/run.py`](../bench/run.py) on the apps in [`bench/apps.py`](../bench/apps.py).

Method: for every scenario and every round, each server runs in turn (interleaved:
A B C D, A B C D, ...). The server's whole process tree is pinned to CPU 0
(`taskset -c 0`), `wrk -t1` to CPU 1. Each start gets a fresh port, is checked with
one real request, warmed up for 1 s, then measured. "CPU µs/req" is the server's
CPU time (user + system, every thread and child process, from `/proc/PID/stat`)
during the wrk run divided by the requests wrk completed. "graft/X req/s" is
the median over rounds of that round's ratio, so machine drift between rounds
(10-30% on the 2-core reference box) mostly cancels; absolute req/s do not
transfer between machines or even between runs.

Scenarios: `hello-c64`, `hello-c1`, `fastapi-json-c64`, `echo-1MiB-c16`, `stream-c64`
(see the descriptions under each table). Servers run with one worker, access log
off and log level warning; their exact command lines are listed with the results.

Reproduce the published numbers (about 13 minutes; the default `--rounds 3` takes
about 8):

    make build
    .venv/bin/python bench/run.py --rounds 5

The script rewrites only the part between the `bench:begin`/`bench:end` markers
below, with the results of the scenarios it ran (so a run with `--only` replaces the
whole table set); `--no-write` prints without touching this file.

"""


def render_block(args, facts: dict, servers: list[str], results: dict, notes: dict,
                 command: str) -> str:
    v = facts["versions"]
    lines = [BEGIN, "",
             f"Run {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')} — "
             f"{facts['nproc']} CPUs ({facts['model']}), Linux {facts['kernel']}, "
             f"Python {v.get('python', '?')}, {facts['wrk']}.", "",
             f"Command: `{command}` ({args.duration} s per run after a {WARMUP_S} s warm-up, "
             f"{args.rounds} round(s)).", "",
             "Versions: " + ", ".join(f"{k} {v[k]}" for k in
                                      ("graft", "uvicorn", "granian", "hypercorn", "uvloop",
                                       "httptools", "fastapi") if k in v) + ".", "",
             "Server command lines (`APP` and `P` filled in per run; every one is run as "
             "`taskset -c 0 ...`):", ""]
    for name in servers:
        argv = SERVERS[name]("APP", "P")
        argv[0] = os.path.basename(argv[0])
        lines.append(f"- {name}: `{shlex.join(argv)}`")
    lines.append("")
    for scn_name, rows in results.items():
        scn = SCENARIOS[scn_name]
        lines += [f"### {scn_name}", "", scn["desc"] + ".", "", markdown_table(rows, servers), ""]
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

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="scenarios: " + ", ".join(SCENARIOS))
    p.add_argument("--duration", type=int, default=5, help="seconds of wrk per run [5]")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds [3; publish with 5]")
    p.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    p.add_argument("--servers", default=",".join(SERVERS),
                   help=f"comma-separated servers [{','.join(SERVERS)}]")
    p.add_argument("--out", default="docs/BENCHMARKS.md", help="markdown file to update [docs/BENCHMARKS.md]")
    p.add_argument("--no-write", action="store_true", help="print only; do not touch --out")
    args = p.parse_args(argv)
    args.scenarios = [s for s in args.only.split(",") if s] or list(SCENARIOS)
    bad = [s for s in args.scenarios if s not in SCENARIOS]
    if bad:
        p.error(f"unknown scenario(s) {bad}; choose from {list(SCENARIOS)}")
    args.server_list = [s for s in args.servers.split(",") if s]
    bad = [s for s in args.server_list if s not in SERVERS]
    if bad or not args.server_list:
        p.error(f"unknown server(s) {bad}; choose from {list(SERVERS)}")
    if args.duration < 1 or args.rounds < 1:
        p.error("--duration and --rounds must be >= 1")
    return args


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: '{tool}' not found (make bench installs it)")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("bench: needs at least 2 CPUs (server on CPU 0, wrk on CPU 1)")
    signal.signal(signal.SIGTERM, _on_sigterm)
    command = shlex.join(["python", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT),
                          *(argv if argv is not None else sys.argv[1:])])
    facts = machine_facts()
    n_runs = len(args.scenarios) * args.rounds * len(args.server_list)
    est = n_runs * (args.duration + WARMUP_S + 1.5)
    print(f"bench: {len(args.scenarios)} scenario(s) x {args.rounds} round(s) x "
          f"{len(args.server_list)} server(s) = {n_runs} runs, ~{est / 60:.0f} min; "
          f"{facts['nproc']} CPUs ({facts['model']}), Python {facts['versions'].get('python')}")
    results: dict[str, list[dict]] = {}
    notes: dict[str, list[str]] = {}
    tmpdir = tempfile.mkdtemp(prefix="graft-bench-")
    t0 = time.monotonic()
    try:
        for scn_name in args.scenarios:
            scn = SCENARIOS[scn_name]
            scn_notes = notes.setdefault(scn_name, [])
            rounds: list[dict] = []
            for rnd in range(1, args.rounds + 1):
                this_round: dict = {}
                for name in args.server_list:
                    before = len(scn_notes)
                    res = measure(name, scn, args.duration, tmpdir, scn_notes)
                    this_round[name] = res
                    if res:
                        extra = []
                        if res["non2xx"]:
                            extra.append(f"non-2xx {res['non2xx']}")
                        if any(res["sock"]):
                            extra.append("socket errors connect/read/write/timeout "
                                         + "/".join(map(str, res["sock"])))
                        print(f"  [{scn_name} r{rnd}] {name:<9} {res['rps']:>10.0f} req/s  "
                              f"{res['cpu_us_per_req']:>7.1f} CPU µs/req  "
                              f"({res['requests']} req, {res['bytes'] / max(res['requests'], 1):.0f} B/resp, "
                              f"{res['procs']} proc/{res['threads']} thr)"
                              + (("  " + ", ".join(extra)) if extra else ""), flush=True)
                    else:
                        print(f"  [{scn_name} r{rnd}] {name:<9} FAILED", flush=True)
                    for n in scn_notes[before:]:
                        print(f"    note: {n}", flush=True)
                rounds.append(this_round)
            results[scn_name] = summarize(scn_name, args.server_list, rounds)
            print_table(f"{scn_name}: {scn['desc']}", results[scn_name], args.server_list)
            print(flush=True)
    except KeyboardInterrupt:
        print("\nbench: interrupted; servers stopped, nothing written", file=sys.stderr)
        return 130
    finally:
        kill_live_groups()
        shutil.rmtree(tmpdir, ignore_errors=True)
    print(f"bench: done in {(time.monotonic() - t0) / 60:.1f} min")
    if not args.no_write:
        write_markdown(args.out, render_block(args, facts, args.server_list, results, notes, command))
        print(f"bench: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
