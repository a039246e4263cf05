"""Fixtures for the tools' tests (`graft port`, `graft diff --openapi`); helpers are in
tools_util.py.

- ``build``: compiles a C file into a handler library with warnings as errors.
- ``graft_cmd``: runs ``python -m graft ARGS`` from the repository root (tests/apps on the
  path), returning the CompletedProcess (text).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tools_util import REPO, build_lib, env  # noqa: E402


@pytest.fixture
def graft_cmd():
    def run(*args, timeout=120, extra_env=None):
        e = env()
        e.update(extra_env or {})
        return subprocess.run([sys.executable, "-m", "graft", *map(str, args)], cwd=str(REPO), env=e,
                              capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture
def build():
    return build_lib
