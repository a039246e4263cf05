"""`graft routes MODULE:APP --native LIB [--json]`: the coverage report (issue 8, item 4).
It starts no server; it lists each app route with who serves it, then the native routes the
app does not have. tests/apps/routes_app.py and tests/native/libs/coverage.c are built for it."""

from __future__ import annotations

import json
import os
import subprocess

from native_util import venv_bin
from util import APPS_DIR, REPO, clean_env


def _graft_routes(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv_bin() / "graft"), "routes", *args], cwd=str(REPO),
                          env=clean_env(os.environ), capture_output=True, text=True, timeout=60)


def test_json_lists_every_route_with_who_serves_it(native_libs):
    lib = str(native_libs["coverage"])
    p = _graft_routes("routes_app:app", "--app-dir", str(APPS_DIR), "--native", lib, "--json")
    assert p.returncode == 0, p.stderr
    rows = {(r["method"], r["path"]): r for r in json.loads(p.stdout)}
    want = {
        # app routes: parameter names and converters do not matter for the match
        ("GET", "/items/{item_id}"): ("native", lib, True),
        ("POST", "/items"): ("native", lib, True),
        ("DELETE", "/items/{item_id}"): ("python", None, True),
        ("WEBSOCKET", "/ws"): ("native", lib, True),
        ("GET", "/sub/x/{n:int}"): ("native", lib, True),  # inside the mounted sub-app
        ("HEAD", "/sub/x/{n:int}"): ("python", None, True),  # HEAD stays the app's
        # a native route the app does not have
        ("GET", "/dead"): ("native", lib, False),
    }
    assert set(rows) == set(want), sorted(rows)
    for key, (served_by, library, app_route) in want.items():
        r = rows[key]
        assert (r["served_by"], r["library"], r["app_route"]) == (served_by, library, app_route), r


def test_without_libraries_everything_is_python():
    p = _graft_routes("routes_app:app", "--app-dir", str(APPS_DIR), "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert rows and all(r["served_by"] == "python" and r["app_route"] for r in rows), rows


def test_text_report_counts(native_libs):
    p = _graft_routes("routes_app:app", "--app-dir", str(APPS_DIR), "--native",
                      str(native_libs["coverage"]))
    assert p.returncode == 0, p.stderr
    assert "4 of 6 app routes native; 1 native routes match no app route" in p.stdout, p.stdout
    assert "-- not an app route" in p.stdout.splitlines()[-2], p.stdout


def test_bad_library_and_bad_app_are_errors(tmp_path):
    missing = str(tmp_path / "nope.so")
    p = _graft_routes("routes_app:app", "--app-dir", str(APPS_DIR), "--native", missing)
    assert p.returncode != 0 and missing in p.stderr, p.stderr
    p = _graft_routes("no_such_module:app", "--app-dir", str(APPS_DIR))
    assert p.returncode != 0 and "no_such_module" in p.stderr, p.stderr
