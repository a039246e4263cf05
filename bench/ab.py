"""Two graft builds against each other, interleaved (old new, old new, ...): for a change that
must not cost speed, such as a refactor. Each server is pinned to CPU 0 and wrk to CPU 1, as in
bench/run.py; the ratio kept is the median over rounds of each round's new/old.

    git worktree add /tmp/graft-old <rev>
    (cd /tmp/graft-old && "$OLDPWD/.venv/bin/python" setup.py -q build_ext --inplace)
    .venv/bin/python bench/ab.py /tmp/graft-old . --rounds 5

Scenarios (`--only KIND:CONNECTIONS,...`): `native` is `GET /hello/world` of build/hello.so
(`make build/hello.so`)
under the tree's graft-serve; any other KIND is the bench/apps.py app of that name (hello,
stream: chunked) under graft, its Python package imported from the tree given.
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measure(tree: str, kind: str, conns: int, duration: int, extra=(), lib=None,
            url_path=None) -> tuple[float, float]:
    """(requests/s, server CPU µs per request) of one run; extra: more server options; for
    `native`, lib and url_path replace build/hello.so and /hello/world."""
    port = free_port()
    if kind != "native":
        # cwd = the tree: `python -m` puts it first on sys.path, so its graft package is used.
        argv = [sys.executable, "-m", "graft", f"bench.apps:{kind}", "--host", "127.0.0.1",
                "--port", str(port), "--no-access-log", *extra]
        path = "/"
    else:
        argv = [os.path.join(tree, "graft", "graft-serve"), "--host", "127.0.0.1", "--port",
                str(port), "--native", lib or os.path.join(ROOT, "build", "hello.so"), *extra]
        path = url_path or "/hello/world"
    srv = subprocess.Popen(["taskset", "-c", "0", *argv], cwd=tree,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}{path}"
        wrk = ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}"]
        subprocess.run([*wrk, "-d1s", url], capture_output=True, check=True)  # warm-up
        c0 = cpu_seconds(srv.pid)
        out = subprocess.run([*wrk, f"-d{duration}s", url], capture_output=True, text=True,
                             check=True).stdout
        c1 = cpu_seconds(srv.pid)
    finally:
        srv.terminate()
        srv.wait(10)
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"{tree} {kind} c={conns} {' '.join(extra)}: errors under load:\n{out}")
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    return reqs / duration, (c1 - c0) / reqs * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old", help="tree of the reference build (built in place)")
    ap.add_argument("new", help="tree of the build under test (built in place)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5, help="seconds per run")
    ap.add_argument("--only", default="hello:1,hello:64,stream:64,native:1,native:64",
                    help="comma-separated KIND:CONNECTIONS")
    a = ap.parse_args()
    old, new = os.path.abspath(a.old), os.path.abspath(a.new)
    print("| scenario | new/old req/s (median) | per round | new/old CPU µs/req | last round old → new |")
    print("|---|---|---|---|---|")
    for item in a.only.split(","):
        kind, conns = item.split(":")
        ratios, cpu_ratios = [], []
        for _ in range(a.rounds):
            o = measure(old, kind, int(conns), a.duration)
            n = measure(new, kind, int(conns), a.duration)
            ratios.append(n[0] / o[0])
            cpu_ratios.append(n[1] / o[1])
        print(f"| {kind} c={conns} | {statistics.median(ratios):.3f} | "
              f"{' '.join(f'{r:.2f}' for r in ratios)} | {statistics.median(cpu_ratios):.3f} | "
              f"{o[0]:,.0f} req/s {o[1]:.1f} µs → {n[0]:,.0f} req/s {n[1]:.1f} µs |", flush=True)


if __name__ == "__main__":
    main()
