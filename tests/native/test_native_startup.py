"""Handler libraries that cannot be used stop graft and graft-serve at start-up:
non-zero exit within a deadline, and a message naming the file (and, for a
duplicate or too deep route, the route)."""

from __future__ import annotations

import os
import subprocess

import pytest

from native_util import venv_bin
from util import APPS_DIR, REPO, clean_env

DEADLINE = 20.0

# case -> (library name in native_libs or None for a missing file, texts the output must contain)
CASES = {
    "no-abi-version": ("noabi", ["graft_abi_version"]),
    "abi-999": ("abi999", ["ABI version 999", "versions 1 to"]),
    "abi-0": ("abi0", ["ABI version 0"]),
    "no-register": ("noregister", ["graft_register"]),
    "duplicate-route": ("dup", ["GET /dup"]),
    "too-deep-route": ("deep", ["WEBSOCKET /deep/deep", "70 segments", "63"]),
    "missing-file": (None, []),
}


def _cmd(tool: str, lib: str, workers: int) -> list[str]:
    b = venv_bin()
    if tool == "graft":
        cmd = [str(b / "graft"), "native_app:app", "--app-dir", str(APPS_DIR),
               "--native", lib, "--host", "127.0.0.1", "--port", "0", "--no-access-log"]
    else:
        cmd = [str(b / "graft-serve"), "--native", lib, "--host", "127.0.0.1", "--port", "0",
               "--no-access-log"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    return cmd


def _run(cmd) -> tuple[int | None, str]:
    p = subprocess.Popen(cmd, cwd=str(REPO), env=clean_env(os.environ), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=DEADLINE)
        return p.returncode, out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        out, _ = p.communicate(timeout=10)
        return None, out.decode("utf-8", "replace")


@pytest.mark.parametrize("tool", ["graft", "graft-serve"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_library_refused(native_libs, tmp_path, tool, case):
    name, texts = CASES[case]
    lib = str(native_libs[name]) if name else str(tmp_path / "does-not-exist.so")
    rc, out = _run(_cmd(tool, lib, 1))
    assert rc is not None, f"{tool} still running after {DEADLINE}s with {lib}\n{out}"
    assert rc != 0, f"{tool} exited 0 with a bad library ({case})\n{out}"
    assert lib in out, f"the message does not name {lib}\n{out}"
    for t in texts:
        assert t in out, f"the message does not mention {t!r}\n{out}"


@pytest.mark.parametrize("tool", ["graft", "graft-serve"])
def test_bad_library_refused_with_workers(native_libs, tool):
    lib = str(native_libs["noabi"])
    rc, out = _run(_cmd(tool, lib, 2))
    assert rc is not None, f"{tool} --workers 2 still running after {DEADLINE}s\n{out}"
    assert rc != 0, f"{tool} --workers 2 exited 0 although no worker could load {lib}\n{out}"
    assert lib in out and "graft_abi_version" in out, out


def test_config_string_is_not_part_of_the_path(native_libs, tmp_path):
    """PATH?CONFIG: the file is PATH; a missing PATH is reported without the config."""
    missing = tmp_path / "nope.so"
    rc, out = _run(_cmd("graft-serve", f"{missing}?some=config", 1))
    assert rc not in (None, 0), out
    assert str(missing) in out, out
