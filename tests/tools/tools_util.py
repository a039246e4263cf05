"""Helpers of the tools' tests (a module of its own: `conftest` is a name every test
directory has, so tests do not import from it).

- ``REPO``, ``APPS``, ``INCLUDE`` (graft's include directory, for building handler libraries).
- ``env()``: the environment for graft subprocesses: the tests' server settings removed, the
  repository and tests/apps on PYTHONPATH.
- ``build_lib(src, out)``: ``cc -O2 -Wall -Wextra -Werror -shared -fPIC -I<include>``; a file
  that does not build fails the test (never a skip).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
APPS = REPO / "tests" / "apps"
if str(REPO / "tests" / "server") not in sys.path:
    sys.path.insert(0, str(REPO / "tests" / "server"))

from util import clean_env  # noqa: E402

import graft  # noqa: E402

INCLUDE = Path(graft.__file__).resolve().parent / "include"
# The compiler is not ours: `make test-tsan` preloads TSan's runtime for graft.
BUILD_ENV = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "TSAN_OPTIONS")}


def env() -> dict:
    e = clean_env(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(REPO), str(APPS)] + ([e["PYTHONPATH"]] if e.get("PYTHONPATH") else []))
    return e


def build_lib(src: Path, out: Path) -> Path:
    cmd = ["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", f"-I{INCLUDE}", str(src), "-o", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=BUILD_ENV, timeout=120)
    if p.returncode != 0:
        pytest.fail(f"$ {' '.join(cmd)}\n(exit {p.returncode})\n{p.stdout}{p.stderr}", pytrace=False)
    return out
