"""TLS under --workers: every worker builds its context from the files, and all share the
session-ticket keys made once before the fork, so a session resumes on any worker."""

from __future__ import annotations

import socket

from tls_util import client_ctx, read_responses, start_tls, stop_and_check, tls_args
from util import HOST


def _resumptions(port, pki, path, pid_of, tries=200):
    """Connects with one session again and again until two workers answered; returns
    {pid: [session_reused, ...]}."""
    ctx = client_ctx(pki)
    with socket.create_connection((HOST, port)) as raw, ctx.wrap_socket(raw, server_hostname="localhost") as t:
        t.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path)
        first = pid_of(read_responses(t, 1)[0])
        session = t.session  # TLS 1.3: the ticket came after the handshake, before the answer
    seen = {first: []}
    held = []
    try:
        for _ in range(tries):
            raw = socket.create_connection((HOST, port))
            t = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
            t.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path)
            pid = pid_of(read_responses(t, 1)[0])
            seen.setdefault(pid, []).append(t.session_reused)
            held.append(t)  # kept open: a busy worker leaves the next accept to the other
            if len(seen) >= 2 and all(seen.values()):
                break
    finally:
        for t in held:
            t.close()
    return seen


def test_session_resumes_on_another_worker(pki):
    s = start_tls("tls_app:app", pki, tls_args(pki, "--workers", "2"))
    try:
        seen = _resumptions(s.port, pki, b"/pid", lambda r: int(r.body))
    finally:
        stop_and_check(s)
    assert len(seen) == 2, seen
    for pid, reused in seen.items():
        assert reused and all(reused), seen


def test_workers_sighup_reload_loads_new_certificate(pki, tmp_path):
    """--workers: SIGHUP is the rolling reload; the new workers read the new certificate."""
    import shutil
    import signal

    from util import wait_for

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(pki / "server.pem", cert)
    shutil.copy(pki / "server.key", key)
    s = start_tls("tls_app:app", pki, ["--workers", "2", "--ssl-certfile", cert, "--ssl-keyfile", key])
    try:
        def serial():
            with socket.create_connection((HOST, s.port)) as raw, \
                    client_ctx(pki).wrap_socket(raw, server_hostname="localhost") as t:
                return t.getpeercert()["serialNumber"]

        assert serial() == "1001"
        shutil.copy(pki / "server2.pem", cert)
        shutil.copy(pki / "server2.key", key)
        s.send_signal(signal.SIGHUP)
        # once the reload committed, only new workers accept: every handshake has the new one
        assert wait_for(lambda: all(serial() == "2002" for _ in range(8)), timeout=30), s.output()
    finally:
        stop_and_check(s)
