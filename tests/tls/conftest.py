"""Fixtures for the TLS tests: a throwaway PKI made with the `openssl` CLI (the venv has no
`cryptography`), once per session under a temporary directory.

  ca.pem / ca.key               the CA that signs everything below
  server.pem / server.key       CN=localhost (SAN localhost, 127.0.0.1), serial 0x1001
  server2.pem / server2.key     the same name, serial 0x2002 (the SIGHUP swap)
  enc.key                       server.key encrypted with the password "s3cret"
  other.key                     a key that matches no certificate
  client.pem / client.key       CN=alice,O=Graft Tests, signed by the CA (mutual TLS)
  rogue.pem / rogue.key         a self-signed client certificate (not from the CA)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))


def _ossl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _leaf(d: Path, name: str, subj: str, serial: str, ext: str) -> None:
    _ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
          "-subj", subj, cwd=d)
    (d / f"{name}.ext").write_text(ext)
    _ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", serial,
          "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext", cwd=d)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    _ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
          "-subj", "/CN=Graft Test CA", cwd=d)
    server_ext = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
    _leaf(d, "server", "/CN=localhost", "0x1001", server_ext)
    _leaf(d, "server2", "/CN=localhost", "0x2002", server_ext)
    _leaf(d, "client", "/O=Graft Tests/CN=alice", "0x3003", "extendedKeyUsage=clientAuth\n")
    _ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue.key", "-out", "rogue.pem",
          "-days", "2", "-subj", "/CN=mallory", cwd=d)
    _ossl("pkey", "-in", "server.key", "-aes256", "-passout", "pass:s3cret", "-out", "enc.key", cwd=d)
    _ossl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "other.key", cwd=d)
    return d


@pytest.fixture(scope="session")
def big_file(tmp_path_factory) -> Path:
    """3 MiB + 17 bytes of a pattern, served by /file with pathsend (the sendfile path)."""
    p = tmp_path_factory.mktemp("files") / "big.bin"
    pattern = bytes(range(256)) * 4096
    p.write_bytes(pattern * 3 + b"x" * 17)
    return p
