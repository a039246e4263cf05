"""graft's TLS options take uvicorn's names, values and defaults (CLI, Config, graft.run)."""

from __future__ import annotations

import inspect
import subprocess
import sys


from graft.config import Config

SSL_KEYWORDS = ("ssl_keyfile", "ssl_certfile", "ssl_keyfile_password", "ssl_version", "ssl_cert_reqs",
                "ssl_ca_certs", "ssl_ciphers")


def test_config_defaults_are_uvicorns():
    import uvicorn.config as uvicorn_config  # a dev requirement: the compat tests run it
    ours = inspect.signature(Config).parameters
    theirs = inspect.signature(uvicorn_config.Config).parameters
    for name in SSL_KEYWORDS:
        assert ours[name].default == theirs[name].default, name


def test_cli_defaults_are_uvicorns():
    from graft.main import parse_args

    kw = parse_args(["m:app"], environ={})
    assert {k: kw[k] for k in SSL_KEYWORDS} == {
        "ssl_keyfile": None, "ssl_certfile": None, "ssl_keyfile_password": None, "ssl_version": 17,
        "ssl_cert_reqs": 0, "ssl_ca_certs": None, "ssl_ciphers": None}
    kw = parse_args(["m:app"], environ={"GRAFT_SSL_CERT_REQS": "2", "GRAFT_SSL_CA_CERTS": "/ca.pem"})
    assert kw["ssl_cert_reqs"] == 2 and kw["ssl_ca_certs"] == "/ca.pem"


def test_tls_spec():
    assert Config("m:app").tls_spec is None and not Config("m:app").is_ssl
    c = Config("m:app", ssl_certfile="c.pem", ssl_keyfile="k.pem", ssl_keyfile_password="pw", ssl_cert_reqs=2,
               ssl_ca_certs="ca.pem", ssl_ciphers="ECDHE+AESGCM", ssl_version=5)
    assert c.is_ssl
    assert c.tls_spec == ("c.pem", "k.pem", "pw", 5, 2, "ca.pem", "ECDHE+AESGCM", None, True)


def test_help_lists_the_options():
    out = subprocess.run([sys.executable, "-m", "graft", "--help"], capture_output=True, text=True).stdout
    for opt in ("--ssl-keyfile", "--ssl-certfile", "--ssl-keyfile-password", "--ssl-version", "--ssl-cert-reqs",
                "--ssl-ca-certs", "--ssl-ciphers"):
        assert opt in out, opt
