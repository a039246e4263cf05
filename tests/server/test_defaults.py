"""One source of defaults per side, and the sides agree (issue 12).

The Python CLI's defaults are Config's keyword defaults (graft.config.DEFAULTS, which
graft.main's parser takes); the C engine's are engine.h's GRAFT__DEFAULT_* macros, which the
bridge's Server() keywords and graft-serve use, and which the extension shows as
_graft.ENGINE_DEFAULTS."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import graft
from graft import _graft
from graft.config import DEFAULTS
from graft.main import build_parser


def test_engine_defaults_match_config():
    engine = _graft.ENGINE_DEFAULTS
    assert engine, "the extension shows no engine defaults"
    for name, value in engine.items():
        assert name in DEFAULTS, name
        assert DEFAULTS[name] == value, (name, DEFAULTS[name], value)


def test_cli_defaults_are_configs():
    for action in build_parser()._actions:
        if action.dest in DEFAULTS and action.dest not in ("app_dir", "log_config"):  # the CLI's own
            assert action.default == DEFAULTS[action.dest], (action.dest, action.default)


def test_graft_serve_help_shows_engine_defaults():
    binary = Path(graft.__file__).resolve().parent / "graft-serve"
    out = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=10, check=True).stdout
    # "--timeout-send S (60)": option, metavar, default in parentheses.
    shown = {opt.replace("-", "_"): text for opt, text in re.findall(r"--([a-z-]+) \S+ \(([^),]+)", out)}
    for name, value in _graft.ENGINE_DEFAULTS.items():
        if name == "ws_per_message_deflate":  # shown as "true|false", no default printed
            continue
        assert name in shown, name
        assert float(shown[name]) == value, (name, shown[name], value)
        assert float(shown[name]) == DEFAULTS[name], name
