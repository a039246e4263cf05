"""TLS start-up errors, mutual TLS, SIGHUP certificate swaps and hostile clients."""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import time

import pytest
from tls_util import client_ctx, read_responses, start_tls, stop_and_check, tls_args, tls_connect
from util import HOST, Server, wait_for

GET_TLS = b"GET /tls HTTP/1.1\r\nHost: t\r\n\r\n"


def _tls_info(port, ctx):
    with tls_connect(port, ctx) as t:
        t.sendall(GET_TLS)
        return read_responses(t, 1)[0].json()


# -- start-up errors ---------------------------------------------------------------------------
def _start_fails(args, timeout=20.0):
    s = Server("tls_app:app", args, probe=False).start()
    try:
        code = s.wait(timeout)
        assert code is not None, "server kept running with a bad TLS configuration"
        return code, s.output()
    finally:
        s.cleanup()


@pytest.mark.parametrize("case", ["missing-cert", "missing-key", "wrong-password", "no-password",
                                  "mismatched-key", "missing-ca", "bad-cert"])
def test_startup_error_names_the_file(pki, tmp_path, case):
    cert, key = str(pki / "server.pem"), str(pki / "server.key")
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    args, named = {
        "missing-cert": (["--ssl-certfile", str(tmp_path / "nope.pem"), "--ssl-keyfile", key], "nope.pem"),
        "missing-key": (["--ssl-certfile", cert, "--ssl-keyfile", str(tmp_path / "nope.key")], "nope.key"),
        "wrong-password": (["--ssl-certfile", cert, "--ssl-keyfile", str(pki / "enc.key"),
                            "--ssl-keyfile-password", "wrong"], "enc.key"),
        "no-password": (["--ssl-certfile", cert, "--ssl-keyfile", str(pki / "enc.key")], "enc.key"),
        "mismatched-key": (["--ssl-certfile", cert, "--ssl-keyfile", str(pki / "other.key")], "other.key"),
        "missing-ca": (tls_args(pki, "--ssl-cert-reqs", "2", "--ssl-ca-certs", str(tmp_path / "ca-nope.pem")),
                       "ca-nope.pem"),
        "bad-cert": (["--ssl-certfile", str(bad), "--ssl-keyfile", key], "bad.pem"),
    }[case]
    code, out = _start_fails(args)
    assert code != 0, out
    assert named in out, out
    assert "Traceback" not in out, out


def test_encrypted_key_with_password(pki):
    s = start_tls("tls_app:app", pki, ["--ssl-certfile", str(pki / "server.pem"), "--ssl-keyfile",
                                       str(pki / "enc.key"), "--ssl-keyfile-password", "s3cret"])
    try:
        assert _tls_info(s.port, client_ctx(pki))["scheme"] == "https"
    finally:
        stop_and_check(s)


def test_env_vars_configure_tls(pki):
    env = {"GRAFT_SSL_CERTFILE": str(pki / "server.pem"), "GRAFT_SSL_KEYFILE": str(pki / "server.key")}
    s = start_tls("tls_app:app", pki, [], env=env)
    try:
        assert _tls_info(s.port, client_ctx(pki))["tls"]["tls_version"] == 0x0304
    finally:
        stop_and_check(s)


def test_ssl_version_tls12_only(pki):
    s = start_tls("tls_app:app", pki, tls_args(pki, "--ssl-version", "5"))
    try:
        assert _tls_info(s.port, client_ctx(pki))["tls"]["tls_version"] == 0x0303
    finally:
        stop_and_check(s)


# -- mutual TLS --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mtls_server(pki):
    # The readiness probe has no client certificate: start without it and probe with one.
    s = Server("tls_app:app", tls_args(pki, "--ssl-cert-reqs", "2", "--ssl-ca-certs", pki / "ca.pem"),
               probe=False).start()
    assert wait_for(lambda: _probe(s, pki), timeout=15)
    yield s
    stop_and_check(s)


def _probe(s, pki):
    s._check_alive("starting")  # noqa: SLF001
    try:
        _tls_info(s.port, client_ctx(pki, "client"))
        return True
    except (OSError, ssl.SSLError):
        return False


def _request_fails(port, ctx):
    try:
        with tls_connect(port, ctx) as t:
            # TLS 1.3: the client finishes its side first; the server's verdict arrives as an
            # alert at the first read.
            t.sendall(GET_TLS)
            data = t.recv(100)
            return data == b""
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True


def test_mtls_rejects_without_certificate(mtls_server, pki):
    assert _request_fails(mtls_server.port, client_ctx(pki))


def test_mtls_rejects_certificate_from_another_ca(mtls_server, pki):
    ctx = client_ctx(pki)
    ctx.load_cert_chain(str(pki / "rogue.pem"), str(pki / "rogue.key"))
    assert _request_fails(mtls_server.port, ctx)


def test_mtls_accepts_and_names_the_client(mtls_server, pki):
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = client_ctx(pki, "client", minimum_version=version, maximum_version=version)
        info = _tls_info(mtls_server.port, ctx)
        ext = info["tls"]
        assert ext["client_cert_name"] == "CN=alice,O=Graft Tests"
        assert ext["client_cert_error"] is None
        # the client's certificate first; OpenSSL clients add what they find of the chain in
        # their trust store (here the CA itself)
        assert ext["client_cert_chain"] in ([(pki / "client.pem").read_text()],
                                            [(pki / "client.pem").read_text(), (pki / "ca.pem").read_text()])
        assert ext["server_cert"] == (pki / "server.pem").read_text()


def test_optional_client_certificate(pki):
    s = start_tls("tls_app:app", pki, tls_args(pki, "--ssl-cert-reqs", "1", "--ssl-ca-certs", pki / "ca.pem"))
    try:
        assert _tls_info(s.port, client_ctx(pki))["tls"]["client_cert_name"] is None
        assert _tls_info(s.port, client_ctx(pki, "client"))["tls"]["client_cert_name"] == "CN=alice,O=Graft Tests"
    finally:
        stop_and_check(s)


# -- SIGHUP --------------------------------------------------------------------------------------
def _serial(port, pki):
    with tls_connect(port, client_ctx(pki)) as t:
        return t.getpeercert()["serialNumber"]


def test_sighup_swaps_certificate_and_keeps_connections(pki, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(pki / "server.pem", cert)
    shutil.copy(pki / "server.key", key)
    s = start_tls("tls_app:app", pki, ["--ssl-certfile", cert, "--ssl-keyfile", key, "--timeout-keep-alive", "30"])
    try:
        assert _serial(s.port, pki) == "1001"
        kept = tls_connect(s.port, client_ctx(pki))
        kept.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_responses(kept, 1)[0].body == b"Hello, world!"
        shutil.copy(pki / "server2.pem", cert)
        shutil.copy(pki / "server2.key", key)
        s.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "Reloaded TLS certificate" in s.output(), timeout=10)
        assert _serial(s.port, pki) == "2002"
        # the kept-alive connection is still open and still served, on its old session
        kept.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_responses(kept, 1)[0].body == b"Hello, world!"
        assert kept.getpeercert()["serialNumber"] == "1001"
        # a broken file: the reload fails, is logged, and the current certificate stays
        cert.write_text("garbage\n")
        s.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "TLS reload failed" in s.output(), timeout=10)
        assert str(cert) in s.output()
        assert _serial(s.port, pki) == "2002"
        kept.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_responses(kept, 1)[0].status == 200
        kept.close()
        assert s.alive()
    finally:
        stop_and_check(s)


# -- hostile clients ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def short_timeout_server(pki):
    s = start_tls("tls_app:app", pki, tls_args(pki, "--timeout-request-header", "1"))
    yield s
    stop_and_check(s)


def _closed_within(sock, timeout):
    sock.settimeout(timeout)
    try:
        while True:
            d = sock.recv(4096)
            if not d:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_garbage_instead_of_client_hello(short_timeout_server, pki):
    good = tls_connect(short_timeout_server.port, client_ctx(pki))
    with socket.create_connection((HOST, short_timeout_server.port)) as bad:
        bad.sendall(b"GET / HTTP/1.1\r\nHost: plain-text-to-a-tls-port\r\n\r\n")
        assert _closed_within(bad, 5)
    good.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
    assert read_responses(good, 1)[0].body == b"Hello, world!"
    good.close()


def test_stalled_handshake_is_closed(short_timeout_server, pki):
    hello_start = bytes.fromhex("160301")  # a record header, then nothing
    with socket.create_connection((HOST, short_timeout_server.port)) as idle, \
            socket.create_connection((HOST, short_timeout_server.port)) as partial:
        partial.sendall(hello_start)
        t0 = time.monotonic()
        # others are served meanwhile
        with tls_connect(short_timeout_server.port, client_ctx(pki)) as good:
            good.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_responses(good, 1)[0].status == 200
        assert _closed_within(idle, 10)
        assert _closed_within(partial, 10)
        assert time.monotonic() - t0 < 30  # bounded by the header timeout, not by the client

