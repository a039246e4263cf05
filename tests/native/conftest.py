"""Fixtures for the native-route tests.

- ``native_libs``: every handler library these tests load, built once per session
  into a temporary directory with the documented command
  ``cc -O2 -shared -fPIC $(graft-config --cflags) file.c -o file.so $(graft-config --libs)``
  using the venv's graft-config. A library that does not build fails the tests
  that need it (never a skip).
- ``hello_server``: graft + hello.so in front of tests/apps/native_app.py, via
  tests/server/util.py's ``Server`` (listening socket made here, passed with
  --fd, bounded waits, SIGTERM teardown that must exit 0).
- ``serve_factory``: graft-serve processes (native_util.ServeProcess).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "server"))

from native_util import ServeProcess, build_cmd, start_graft  # noqa: E402
from util import stop_and_check  # noqa: E402

LIBS_DIR = HERE / "libs"
# The compiler and its shell are not ours: `make test-tsan` preloads TSan's runtime for graft,
# and the shell crashes under it.
BUILD_ENV = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "TSAN_OPTIONS")}
HELLO_C = REPO / "examples" / "hello" / "hello.c"


@pytest.fixture(scope="session")
def native_libs(tmp_path_factory) -> dict[str, Path]:
    """name -> built .so: 'hello' (examples/hello/hello.c) and every tests/native/libs/*.c."""
    outdir = tmp_path_factory.mktemp("native-libs")
    sources = {"hello": HELLO_C}
    for src in sorted(LIBS_DIR.glob("*.c")):
        sources[src.stem] = src
    procs = {}
    for name, src in sources.items():
        out = outdir / f"{name}.so"
        cmd = build_cmd(src, out)
        procs[name] = (cmd, out, subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE,
                                                  stderr=subprocess.STDOUT, env=BUILD_ENV))
    built, errors = {}, []
    for name, (cmd, out, p) in procs.items():
        try:
            output, _ = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            output, _ = p.communicate()
        if p.returncode != 0 or not out.exists():
            errors.append(f"$ {cmd}\n(exit {p.returncode})\n{output.decode(errors='replace')}")
        built[name] = out
    if errors:
        pytest.fail("building the native test libraries failed:\n" + "\n".join(errors), pytrace=False)
    return built


@pytest.fixture
def serve_factory():
    """Start graft-serve processes inside a test; all are stopped (and killed if needed) after."""
    started: list[ServeProcess] = []

    def make(natives, extra=()) -> ServeProcess:
        s = ServeProcess(natives, extra)
        started.append(s)
        return s.start()

    yield make
    for s in started:
        s.stop()
        s.cleanup()


@pytest.fixture(scope="module")
def hello_server(native_libs):
    """graft + examples/hello/hello.so in front of tests/apps/native_app.py."""
    s = start_graft(["--native", native_libs["hello"]])
    yield s
    stop_and_check(s)
