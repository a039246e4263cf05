"""Native routes over TLS: graft --native and graft-serve (no Python) serve them with the same
TLS facts (graft.h: graft_scheme, graft_tls_version, graft_tls_cipher, graft_tls_client_name)
as the ASGI TLS extension gives the app."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from tls_util import client_ctx, read_responses, start_tls, stop_and_check, tls_args, tls_connect
from util import HOST, clean_env, wait_for

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "native"))
from native_util import build_cmd, venv_bin  # noqa: E402

_PORT_RE = re.compile(rb"running on https://[^:\s]+:(\d+)")


@pytest.fixture(scope="module")
def facts_lib(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tlslib") / "tls_facts.so"
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "TSAN_OPTIONS")}  # the compiler is not ours
    r = subprocess.run(build_cmd(HERE / "tls_facts.c", out), shell=True, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def _get(port, ctx, path):
    with tls_connect(port, ctx) as t:
        t.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path.encode())
        return read_responses(t, 1)[0]


class TlsServe:
    """graft-serve with TLS on 127.0.0.1:<any free port>."""

    def __init__(self, args):
        self.cmd = [str(venv_bin() / "graft-serve"), "--host", HOST, "--port", "0", "--no-access-log", *map(str, args)]
        fd, self.log = tempfile.mkstemp(prefix="graft-serve-tls-", suffix=".log")
        os.close(fd)
        self.proc = None
        self.port = None

    def start(self, ctx):
        """Starts and waits until /native/tls answers a client with context ctx (under
        --ssl-cert-reqs 2 the probe needs a client certificate)."""
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen(self.cmd, env=clean_env(os.environ), stdout=f, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

        def port():
            assert self.proc.poll() is None, self.output()
            m = _PORT_RE.search(Path(self.log).read_bytes())
            return int(m.group(1)) if m else None

        self.port = wait_for(port, timeout=10)
        assert wait_for(lambda: _try(lambda: _get(self.port, ctx, "/native/tls").status == 200), timeout=10)
        return self

    def output(self):
        return Path(self.log).read_text(errors="replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.proc.returncode if self.proc else None


def test_graft_native_route_over_tls(pki, facts_lib):
    s = start_tls("tls_app:app", pki, tls_args(pki, "--native", facts_lib, "--ssl-cert-reqs", "1",
                                               "--ssl-ca-certs", pki / "ca.pem"))
    try:
        for cert, name in ((None, None), ("client", "CN=alice,O=Graft Tests")):
            ctx = client_ctx(pki, cert)
            native = _get(s.port, ctx, "/native/tls").json()
            app = _get(s.port, ctx, "/tls").json()
            assert native.pop("pid") > 0
            assert native == {"scheme": "https", "tls_version": app["tls"]["tls_version"],
                              "cipher_suite": app["tls"]["cipher_suite"], "client_cert_name": name}
            assert app["tls"]["client_cert_name"] == name
    finally:
        stop_and_check(s)


def test_graft_serve_over_tls_and_sighup(pki, facts_lib, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(pki / "server.pem", cert)
    shutil.copy(pki / "server.key", key)
    s = TlsServe(["--native", facts_lib, "--ssl-certfile", cert, "--ssl-keyfile", key,
                  "--ssl-cert-reqs", "2", "--ssl-ca-certs", pki / "ca.pem", "--timeout-keep-alive", "30"])
    ctx = client_ctx(pki, "client")
    try:
        s.start(ctx)
        facts = _get(s.port, ctx, "/native/tls").json()
        assert facts["scheme"] == "https" and facts["tls_version"] == 0x0304
        assert facts["client_cert_name"] == "CN=alice,O=Graft Tests" and facts["cipher_suite"] in (0x1301, 0x1302, 0x1303)
        # unmatched: graft-serve's 404, over TLS
        assert _get(s.port, ctx, "/nope").status == 404
        # mutual TLS: no certificate, no answer
        assert _try(lambda: _get(s.port, client_ctx(pki), "/native/tls")) is False
        # SIGHUP (one process): new handshakes get the new certificate, a kept-alive connection stays
        kept = tls_connect(s.port, ctx)
        kept.sendall(b"GET /native/tls HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_responses(kept, 1)[0].status == 200
        shutil.copy(pki / "server2.pem", cert)
        shutil.copy(pki / "server2.key", key)
        s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "Reloaded TLS certificate" in s.output(), timeout=10)
        with tls_connect(s.port, ctx) as t:
            assert t.getpeercert()["serialNumber"] == "2002"
        kept.sendall(b"GET /native/tls HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_responses(kept, 1)[0].status == 200
        kept.close()
    finally:
        code = s.stop()
    assert code == 0, s.output()


def _try(fn):
    try:
        return fn()
    except (OSError, AssertionError):
        return False


def test_graft_serve_bad_key_exits_naming_the_file(pki, facts_lib):
    r = subprocess.run([str(venv_bin() / "graft-serve"), "--native", str(facts_lib), "--port", "0",
                        "--ssl-certfile", str(pki / "server.pem"), "--ssl-keyfile", str(pki / "other.key")],
                       capture_output=True, text=True, timeout=20, env=clean_env(os.environ))
    assert r.returncode != 0
    assert "other.key" in r.stderr


def test_graft_serve_workers_share_session_tickets(pki, facts_lib):
    from test_tls_workers import _resumptions

    s = TlsServe(["--native", facts_lib, "--workers", "2"] + tls_args(pki)).start(client_ctx(pki))
    try:
        seen = _resumptions(s.port, pki, b"/native/tls", lambda r: r.json()["pid"])
    finally:
        code = s.stop()
    assert code == 0, s.output()
    assert len(seen) == 2, seen
    assert all(r and all(r) for r in seen.values()), seen
