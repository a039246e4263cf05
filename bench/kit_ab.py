"""A kit-validated native route against a hand-written one with the same logic (issue 9: the
kit's route must reach at least 0.9x the hand-written one's req/s). Both under this tree's
graft-serve, pinned to CPU 0 with wrk on CPU 1 (bench/ab.py's run), interleaved (hand kit,
hand kit, ...); the ratio kept is the median of each round's kit/hand.

    .venv/bin/python bench/kit_ab.py --rounds 9

bench/kit/hand.c parses GET /items/{item_id}?limit=&q= itself; bench/kit/kit.c calls
GRAFT_VALIDATE and the graft_arg_* getters, with the contract from bench/kit/app.py's OpenAPI
document (`graft openapi`, passed with --openapi). Both answer the same JSON.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

from ab import ROOT
from ab import measure as ab_measure

URL = "/items/42?limit=20&q=abc"


def build(tmp: str) -> tuple[str, str, str]:
    """The two libraries and the OpenAPI document, in tmp."""
    config = os.path.join(os.path.dirname(sys.executable), "graft-config")
    flags = subprocess.run([config, "--cflags"], capture_output=True, text=True, check=True).stdout.split()
    libs = []
    for name in ("hand", "kit"):
        out = os.path.join(tmp, f"{name}.so")
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", *flags,
                        os.path.join(ROOT, "bench", "kit", f"{name}.c"), "-o", out], check=True)
        libs.append(out)
    doc = os.path.join(tmp, "openapi.json")
    with open(doc, "w") as f:
        subprocess.run([sys.executable, "-m", "graft", "openapi", "app:app", "--app-dir",
                        os.path.join(ROOT, "bench", "kit")], stdout=f, check=True, cwd=ROOT)
    return libs[0], libs[1], doc


def same_answers(hand: str, kit: str, doc: str) -> None:
    """Both handlers must give the same body for the measured URL, or the ratio means nothing."""
    import json
    import socket
    import time
    from ab import free_port
    bodies = []
    for lib, extra in ((hand, []), (kit, ["--openapi", doc])):
        port = free_port()
        p = subprocess.Popen([os.path.join(ROOT, "graft", "graft-serve"), "--port", str(port),
                              "--no-access-log", "--native", lib, *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    s = socket.create_connection(("127.0.0.1", port), 0.2)
                    break
                except OSError:
                    time.sleep(0.1)
            s.sendall(f"GET {URL} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            bodies.append(json.loads(data.split(b"\r\n\r\n", 1)[1]))
        finally:
            p.terminate()
            p.wait(10)
    if bodies[0] != bodies[1]:
        raise SystemExit(f"the handlers differ: {bodies}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--duration", type=int, default=3, help="seconds per run")
    ap.add_argument("--connections", type=int, default=64)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hand, kit, doc = build(tmp)
        same_answers(hand, kit, doc)
        ratios, cpu = [], []
        for _ in range(a.rounds):
            h = ab_measure(ROOT, "native", a.connections, a.duration, ["--no-access-log"], hand, URL)
            k = ab_measure(ROOT, "native", a.connections, a.duration,
                           ["--no-access-log", "--openapi", doc], kit, URL)
            ratios.append(k[0] / h[0])
            cpu.append(k[1] / h[1])
        print("| scenario | kit/hand req/s (median) | per round | kit/hand CPU µs/req | last round hand → kit |")
        print("|---|---|---|---|---|")
        print(f"| {URL} c={a.connections} | {statistics.median(ratios):.3f} | "
              f"{' '.join(f'{r:.2f}' for r in ratios)} | {statistics.median(cpu):.3f} | "
              f"{h[0]:,.0f} req/s {h[1]:.1f} µs → {k[0]:,.0f} req/s {k[1]:.1f} µs |")


if __name__ == "__main__":
    main()
