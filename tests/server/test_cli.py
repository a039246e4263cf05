"""The graft command line: options -> Config, --version, errors and exit codes.

Nothing here needs the C server except the tests marked ``needs_server`` (they run
``python -m graft`` up to the point where the app is loaded).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from graft import __version__
from graft.config import Config
from graft.logging import LOGGING_CONFIG
from graft.main import build_parser, parse_args, version_string

REPO = Path(__file__).resolve().parents[2]

def needs_server(f):  # the C server is always built by `make test`
    return f


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("GRAFT_") or name in ("WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"):
            monkeypatch.delenv(name)


def graft_cli(*args: str, timeout: float = 20, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    full_env = os.environ.copy()
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full_env.get("PYTHONPATH")]))
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "graft", *args],
        cwd=str(cwd), env=full_env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout,
    )


def config_from(argv: list[str]) -> Config:
    kwargs = parse_args(argv)
    return Config(kwargs.pop("app"), **kwargs)


# -- parsing ----------------------------------------------------------------------------------
def test_defaults():
    kwargs = parse_args(["main:app"])
    assert kwargs["app"] == "main:app"
    assert kwargs["log_config"] is LOGGING_CONFIG
    assert kwargs["app_dir"] == "."
    c = config_from(["main:app"])
    assert (c.host, c.port, c.workers, c.backlog, c.loop, c.lifespan) == ("127.0.0.1", 8000, 1, 2048, "auto", "auto")
    assert c.access_log and c.proxy_headers and c.server_header and c.date_header
    assert c.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert c.timeout_keep_alive == 5 and c.timeout_graceful_shutdown is None
    assert c.headers == [] and c.native == [] and c.threads == 1
    assert c.limit_request_body is None and c.limit_request_fields == 100
    assert c.pathsend is False  # as uvicorn, which has none (issue 13 item 8)
    assert (c.timeout_linger, c.timeout_linger_idle, c.limit_linger) == (30, 5, 64 * 1024 * 1024)


def test_every_option_reaches_config(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("GRAFT_CLI_TEST_VAR=1\n")
    c = config_from([
        "pkg.mod:factory",
        "--host", "0.0.0.0", "--port", "9001",
        "--workers", "3", "--threads", "4", "--loop", "asyncio", "--lifespan", "on",
        "--env-file", str(env_file),
        "--log-level", "warning", "--no-access-log", "--no-use-colors",
        "--no-proxy-headers", "--forwarded-allow-ips", "10.0.0.1,10.0.0.2",
        "--no-server-header", "--no-date-header",
        "--header", "X-One: 1", "--header", "X-Time:12:30",
        "--root-path", "/api",
        "--limit-concurrency", "50", "--limit-max-requests", "1000", "--backlog", "64",
        "--timeout-keep-alive", "2.5", "--timeout-graceful-shutdown", "7",
        "--app-dir", "src", "--factory",
        "--limit-request-line", "4096", "--limit-request-head", "32K",
        "--limit-request-fields", "50", "--limit-request-body", "10M",
        "--timeout-request-header", "3", "--timeout-body-read", "4.5",
        "--native", "a.so", "--native", "b.so",
        "--ws", "none", "--ws-max-size", "1024", "--ws-ping-interval", "5",
        "--ws-per-message-deflate", "false", "--interface", "asgi3",
        "--pathsend", "--timeout-linger", "12", "--timeout-linger-idle", "2", "--limit-linger", "8M",
    ])
    assert (c.app, c.host, c.port) == ("pkg.mod:factory", "0.0.0.0", 9001)
    assert (c.workers, c.threads, c.loop, c.lifespan) == (3, 4, "asyncio", "on")
    assert os.environ.pop("GRAFT_CLI_TEST_VAR") == "1"
    assert c.log_level == 30 and c.access_log is False and c.use_colors is False
    assert c.proxy_headers is False and c.forwarded_allow_ips == ["10.0.0.1", "10.0.0.2"]
    assert c.server_header is False and c.date_header is False
    assert c.headers == [("X-One", "1"), ("X-Time", "12:30")]
    assert c.encoded_headers == [(b"x-one", b"1"), (b"x-time", b"12:30")]
    assert c.root_path == "/api"
    assert (c.limit_concurrency, c.limit_max_requests, c.backlog) == (50, 1000, 64)
    assert (c.timeout_keep_alive, c.timeout_graceful_shutdown) == (2.5, 7)
    assert c.app_dir == "src" and c.factory is True
    assert (c.limit_request_line, c.limit_request_head, c.limit_request_fields) == (4096, 32 * 1024, 50)
    assert c.limit_request_body == 10 * 1024 * 1024
    assert (c.timeout_request_header, c.timeout_body_read) == (3, 4.5)
    assert c.native == ["a.so", "b.so"]
    assert (c.ws, c.ws_max_size, c.ws_ping_interval, c.ws_per_message_deflate) == ("none", 1024, 5.0, False)
    assert c.interface == "asgi3"
    assert c.pathsend is True
    assert (c.timeout_linger, c.timeout_linger_idle, c.limit_linger) == (12, 2, 8 * 1024 * 1024)
    Config("m:app")  # restore default logging for later tests


def test_uds_and_fd_options():
    assert parse_args(["m:app", "--uds", "/tmp/x.sock"])["uds"] == "/tmp/x.sock"
    assert parse_args(["m:app", "--fd", "3"])["fd"] == 3


def test_every_parser_dest_is_a_config_keyword():
    import inspect

    params = set(inspect.signature(Config.__init__).parameters)
    dests = {a.dest for a in build_parser()._actions if a.dest not in ("help", "version")}
    assert dests <= params, dests - params


def test_environment_defaults(monkeypatch):
    monkeypatch.setenv("GRAFT_APP", "envmod:app")
    monkeypatch.setenv("GRAFT_PORT", "9123")
    monkeypatch.setenv("GRAFT_ACCESS_LOG", "false")
    monkeypatch.setenv("GRAFT_HEADERS", "X-A:1 X-B:2")
    kwargs = parse_args([])
    assert kwargs["app"] == "envmod:app" and kwargs["port"] == 9123 and kwargs["access_log"] is False
    assert kwargs["headers"] == [("X-A", "1"), ("X-B", "2")]
    assert parse_args(["m:app", "--port", "1"])["port"] == 1  # the command line wins
    monkeypatch.setenv("GRAFT_PATHSEND", "1")
    assert parse_args(["m:app"])["pathsend"] is True
    assert parse_args(["m:app", "--no-pathsend"])["pathsend"] is False


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["m:app", "--port", "http"],
        ["m:app", "--loop", "trio"],
        ["m:app", "--lifespan", "sometimes"],
        ["m:app", "--log-level", "loud"],
        ["m:app", "--header", "no-colon"],
        ["m:app", "--limit-request-body", "lots"],
        ["m:app", "--timeout-keep-alive", "-1"],
        ["m:app", "--no-such-option"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        parse_args(argv)
    assert info.value.code == 2
    assert "usage: graft" in capsys.readouterr().err


def test_bad_environment_value(monkeypatch, capsys):
    monkeypatch.setenv("GRAFT_PORT", "eighty")
    with pytest.raises(SystemExit) as info:
        parse_args(["m:app"])
    assert info.value.code == 2
    assert "GRAFT_PORT" in capsys.readouterr().err


# -- subprocess: what a user sees ---------------------------------------------------------------
def test_version():
    result = graft_cli("--version")
    assert result.returncode == 0
    expected = (
        f"graft {__version__} with {platform.python_implementation()} "
        f"{platform.python_version()} on {platform.system()}"
    )
    assert result.stdout.strip() == expected == version_string()
    assert re.fullmatch(r"graft \d+\.\d+\.\d+ with \w+ 3\.\d+\.\d+\S* on \w+", expected)


def test_help_lists_uvicorn_options():
    result = graft_cli("--help")
    assert result.returncode == 0
    for option in (
        "--host", "--port", "--uds", "--fd", "--workers", "--loop", "--lifespan", "--env-file",
        "--log-config", "--log-level", "--access-log", "--no-access-log", "--proxy-headers",
        "--forwarded-allow-ips", "--server-header", "--date-header", "--header", "--root-path",
        "--limit-concurrency", "--limit-max-requests", "--backlog", "--timeout-keep-alive",
        "--timeout-graceful-shutdown", "--app-dir", "--factory", "--version",
        "--threads", "--limit-request-line", "--limit-request-head", "--limit-request-fields",
        "--limit-request-body", "--timeout-request-header", "--timeout-body-read", "--native",
        "--access-log-format",
    ):
        assert option in result.stdout, option


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--reload"], "--reload is not supported"),
        (["--ssl-keyfile", "key.pem"], "--ssl-keyfile needs --ssl-certfile"),
        (["--ssl-certfile", "cert.pem", "--ssl-cert-reqs", "3"], "--ssl-cert-reqs 3"),
        (["--ssl-certfile", "cert.pem", "--ssl-version", "16"], "--ssl-version 16"),
        (["--workers", "0"], "workers"),
        (["--env-file", "/nonexistent/graft.env"], "env_file"),
        (["--access-log-format", "%(h)s %(nope)s"], "unknown atom %(nope)s"),
        (["--access-log-format", "%(h)s %d"], "a '%' must start an atom"),
    ],
)
def test_invalid_config_exits_2_with_message(args, fragment):
    result = graft_cli("tests.apps.pid_app:app", *args)
    assert result.returncode == 2, result
    assert result.stderr.startswith("Error: ")
    assert fragment in result.stderr


def test_run_rejects_app_object_with_workers(capsys):
    from graft.main import run

    async def app(scope, receive, send):
        pass

    with pytest.raises(SystemExit) as info:
        run(app, workers=2)
    assert info.value.code == 1
    assert "You must pass the application as an import string to enable 'reload' or 'workers'." in capsys.readouterr().err


@needs_server
@pytest.mark.parametrize(
    "app, message",
    [
        ("graft_no_such_module_xyz:app", 'Error loading ASGI app. Could not import module "graft_no_such_module_xyz".'),
        ("tests.apps.pid_app:nope", 'Error loading ASGI app. Attribute "nope" not found in module "tests.apps.pid_app".'),
        ("tests.apps.pid_app", 'Import string "tests.apps.pid_app" must be in format "<module>:<attribute>".'),
    ],
)
def test_import_errors_exit_1(app, message):
    result = graft_cli(app, "--port", "0")
    assert result.returncode == 1, result
    assert message in result.stderr


@needs_server
def test_app_dir_default_is_cwd(tmp_path):
    (tmp_path / "graft_cwd_app.py").write_text("x = 1\n")
    result = graft_cli("graft_cwd_app:missing", "--port", "0", cwd=tmp_path)
    # The module itself was found in the working directory: only the attribute is missing.
    assert 'Attribute "missing" not found in module "graft_cwd_app".' in result.stderr
    assert result.returncode == 1


@needs_server
def test_lifespan_startup_failure_exits_3(tmp_path):
    (tmp_path / "graft_failing_app.py").write_text(textwrap.dedent("""\
        async def app(scope, receive, send):
            if scope["type"] == "lifespan":
                await receive()
                await send({"type": "lifespan.startup.failed", "message": "no database"})
    """))
    result = graft_cli("graft_failing_app:app", "--port", "0", cwd=tmp_path)
    assert result.returncode == 3, result
    assert "no database" in result.stderr
    assert "Application startup failed. Exiting." in result.stderr


@needs_server
def test_lifespan_startup_failure_with_workers_exits_3(tmp_path):
    (tmp_path / "graft_failing_app.py").write_text(textwrap.dedent("""\
        async def app(scope, receive, send):
            if scope["type"] == "lifespan":
                await receive()
                await send({"type": "lifespan.startup.failed", "message": "no database"})
    """))
    result = graft_cli("graft_failing_app:app", "--port", "0", "--workers", "2", cwd=tmp_path)
    assert result.returncode == 3, result
    assert "Started parent process" in result.stderr
    assert "failed to start" in result.stderr
