"""Fixtures for the tools' tests (`graft port`, `graft diff --openapi`).

- ``build``: compiles a C file into a handler library with warnings as errors
  (``cc -O2 -Wall -Wextra -Werror -shared -fPIC -I<graft's include>``); a file that does not
  build fails the test (never a skip).
- ``graft_cmd``: runs ``python -m graft ARGS`` from the repository root (tests/apps on the
  path), returning the CompletedProcess.
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


@pytest.fixture
def graft_cmd():
    def run(*args, timeout=120, extra_env=None):
        e = env()
        e.update(extra_env or {})
        return subprocess.run([sys.executable, "-m", "graft", *map(str, args)], cwd=str(REPO), env=e,
                              capture_output=True, text=True, timeout=timeout)

    return run


def build_lib(src: Path, out: Path) -> Path:
    cmd = ["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", f"-I{INCLUDE}", str(src), "-o", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=BUILD_ENV, timeout=120)
    if p.returncode != 0:
        pytest.fail(f"$ {' '.join(cmd)}\n(exit {p.returncode})\n{p.stdout}{p.stderr}", pytrace=False)
    return out


@pytest.fixture
def build():
    return build_lib
