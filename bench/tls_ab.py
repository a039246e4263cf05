"""TLS keep-alive hello, interleaved rounds against the peers (issue 10): the raw ASGI app under
graft against uvicorn (both with --ssl-*), and a native route under graft-serve against nginx
(same certificate, same protocol and cipher, checked and printed). Each server runs one
process pinned to CPU 0, wrk (https) to CPU 1, as in bench/ab.py; the ratios kept are the
medians over rounds of each round's graft/peer.

    make build/hello.so
    .venv/bin/python bench/tls_ab.py --rounds 5 --duration 3

Targets: graft >= 1.5x uvicorn's req/s; graft-serve <= 1.15x nginx's CPU per request.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from ab import ROOT, cpu_seconds, free_port

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
error_log {d}/error.log;
pid {d}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{ default_type text/plain; return 200 "Hello, world!"; }}
    }}
}}
"""


def make_cert(d: str) -> None:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/key.pem",
                    "-out", f"{d}/cert.pem", "-days", "2", "-subj", "/CN=localhost"], check=True,
                   capture_output=True)


def server_argv(kind: str, d: str, port: int) -> list[str]:
    tls = ["--ssl-certfile", f"{d}/cert.pem", "--ssl-keyfile", f"{d}/key.pem"]
    if kind == "graft":
        return [sys.executable, "-m", "graft", "bench.apps:hello", "--host", "127.0.0.1", "--port", str(port),
                "--no-access-log", *tls]
    if kind == "uvicorn":
        return [sys.executable, "-m", "uvicorn", "bench.apps:hello", "--host", "127.0.0.1", "--port", str(port),
                "--no-access-log", "--http", "httptools", "--loop", "uvloop", *tls]
    if kind == "graft-serve":
        return [os.path.join(ROOT, "graft", "graft-serve"), "--host", "127.0.0.1", "--port", str(port),
                "--no-access-log", "--native", os.path.join(ROOT, "build", "hello.so"), *tls]
    if kind == "nginx":
        with open(f"{d}/nginx-{port}.conf", "w") as f:
            f.write(NGINX_CONF.format(d=d, port=port))
        return ["nginx", "-c", f"{d}/nginx-{port}.conf", "-p", d]
    raise ValueError(kind)


def negotiated(port: int) -> str:
    """Protocol and cipher of a handshake with the server, as wrk's OpenSSL would make it."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief"], input=b"",
                         capture_output=True, timeout=10).stderr.decode()
    proto = re.search(r"Protocol version: (\S+)", out)
    cipher = re.search(r"Ciphersuite: (\S+)", out)
    return f"{proto.group(1) if proto else '?'} {cipher.group(1) if cipher else '?'}"


def measure(kind: str, d: str, conns: int, duration: int) -> tuple[float, float, str]:
    """(requests/s, server CPU µs per request, protocol+cipher) of one run."""
    port = free_port()
    srv = subprocess.Popen(["taskset", "-c", "0", *server_argv(kind, d, port)], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        path = "/hello/world" if kind == "graft-serve" else "/"
        url = f"https://127.0.0.1:{port}{path}"
        proto = negotiated(port)
        wrk = ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}"]
        subprocess.run([*wrk, "-d1s", url], capture_output=True, check=True)  # warm-up
        c0 = cpu_seconds(srv.pid)
        out = subprocess.run([*wrk, f"-d{duration}s", url], capture_output=True, text=True, check=True).stdout
        c1 = cpu_seconds(srv.pid)
    finally:
        srv.terminate()
        srv.wait(10)
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"{kind} c={conns}: errors under load:\n{out}")
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    return reqs / duration, (c1 - c0) / reqs * 1e6, proto


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=3, help="seconds per run")
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--only", default="graft:uvicorn,graft-serve:nginx", help="comma-separated OURS:PEER pairs")
    a = ap.parse_args()
    if not os.path.exists(os.path.join(ROOT, "build", "hello.so")) and "graft-serve" in a.only:
        raise SystemExit("build/hello.so is missing: make build/hello.so")
    d = tempfile.mkdtemp(prefix="graft-tls-ab-")
    try:
        make_cert(d)
        print("| ours vs peer | req/s ratio (median) | per round | CPU µs/req ratio (median) | "
              "last round: ours → peer | protocol, cipher |")
        print("|---|---|---|---|---|---|")
        for pair in a.only.split(","):
            ours, peer = pair.split(":")
            ratios, cpu_ratios = [], []
            for _ in range(a.rounds):
                o = measure(ours, d, a.conns, a.duration)
                p = measure(peer, d, a.conns, a.duration)
                ratios.append(o[0] / p[0])
                cpu_ratios.append(o[1] / p[1])
            print(f"| {ours} vs {peer} c={a.conns} | {statistics.median(ratios):.2f} | "
                  f"{' '.join(f'{r:.2f}' for r in ratios)} | {statistics.median(cpu_ratios):.2f} | "
                  f"{o[0]:,.0f} req/s {o[1]:.1f} µs → {p[0]:,.0f} req/s {p[1]:.1f} µs | {o[2]} / {p[2]} |",
                  flush=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
