"""Config, logging and Lifespan: the Python shim, tested without the C server."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import stat
import sys
import textwrap

import pytest

from graft.config import ASGI2Middleware, Config, import_from_string, ImportFromStringError, parse_env_text
from graft.lifespan import Lifespan
from graft.logging import LOGGING_CONFIG, TRACE_LOG_LEVEL, AccessFormatter, DefaultFormatter


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=1)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int | None = None) -> list[str]:
        return [r.getMessage() for r in self.records if level is None or r.levelno == level]


@pytest.fixture
def graft_log():
    """Capture records of graft.error (attached after any Config() reconfigured logging)."""
    handler = ListHandler()
    logger = logging.getLogger("graft.error")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture(autouse=True)
def _restore_environment(monkeypatch):
    for name in ("WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    saved_path = list(sys.path)
    yield
    sys.path[:] = saved_path
    asyncio.set_event_loop_policy(None)


async def noop_app(scope, receive, send):
    pass


# ---------------------------------------------------------------------------------------------
# Config values
# ---------------------------------------------------------------------------------------------
def test_defaults_match_uvicorn():
    c = Config("tests.apps.pid_app:app")
    assert (c.host, c.port, c.uds, c.fd) == ("127.0.0.1", 8000, None, None)
    assert (c.loop, c.lifespan, c.interface) == ("auto", "auto", "auto")
    assert c.workers == 1
    assert c.backlog == 2048
    assert c.timeout_keep_alive == 5
    assert c.timeout_graceful_shutdown is None
    assert c.access_log is True and c.proxy_headers is True
    assert c.server_header is True and c.date_header is True
    assert c.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert c.root_path == ""
    assert c.limit_concurrency is None and c.limit_max_requests is None
    assert c.headers == []
    assert c.encoded_headers == [(b"server", b"graft")]
    assert c.factory is False
    assert c.log_level is None
    assert (c.ws, c.ws_max_size, c.ws_max_queue) == ("auto", 16 * 1024 * 1024, 32)
    assert (c.ws_ping_interval, c.ws_ping_timeout, c.ws_per_message_deflate) == (20.0, 20.0, True)
    # graft's own
    assert c.threads == 1
    assert (c.limit_request_line, c.limit_request_head, c.limit_request_fields) == (8190, 65536, 100)
    assert c.limit_request_body is None
    assert (c.timeout_request_header, c.timeout_body_read) == (10.0, 30.0)
    assert c.native == []
    assert c.loaded is False and c.loaded_app is None
    assert c.asgi_version == "3.0"


def test_workers_and_forwarded_ips_from_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.1, 10.0.0.2,")
    c = Config("m:app")
    assert c.workers == 3
    assert c.forwarded_allow_ips == ["10.0.0.1", "10.0.0.2"]
    # explicit arguments win
    c = Config("m:app", workers=2, forwarded_allow_ips="*")
    assert c.workers == 2 and c.forwarded_allow_ips == ["*"]
    assert Config("m:app", forwarded_allow_ips=["1.2.3.4", "::1"]).forwarded_allow_ips == ["1.2.3.4", "::1"]


def test_headers_encoded_with_server_header_first():
    c = Config("m:app", headers=[("X-One", "1"), ("X-Two", "a:b")])
    assert c.headers == [("X-One", "1"), ("X-Two", "a:b")]
    assert c.encoded_headers == [(b"server", b"graft"), (b"x-one", b"1"), (b"x-two", b"a:b")]
    c = Config("m:app", headers=[("Server", "mine")])
    assert c.encoded_headers == [(b"server", b"mine")]
    c = Config("m:app", server_header=False, headers=[("X-A", "b")])
    assert c.encoded_headers == [(b"x-a", b"b")]


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"loop": "trio"}, "loop"),
        ({"lifespan": "maybe"}, "lifespan"),
        ({"interface": "wsgi"}, "interface"),
        ({"workers": 0}, "workers"),
        ({"port": 70000}, "port"),
        ({"port": "eighty"}, "port"),
        ({"backlog": 0}, "backlog"),
        ({"threads": 0}, "threads"),
        ({"limit_request_body": -1}, "limit_request_body"),
        ({"limit_concurrency": 0}, "limit_concurrency"),
        ({"timeout_keep_alive": -1}, "timeout_keep_alive"),
        ({"timeout_request_header": 0}, "timeout_request_header"),
        ({"log_level": "loud"}, "log level"),
        ({"headers": [("Bad Name", "x")]}, "header"),
        ({"headers": [("X-Split", "a\r\nb")]}, "header"),
        ({"reload": True}, "reload"),
        ({"ssl_keyfile": "key.pem"}, "needs --ssl-certfile"),
        ({"ssl_certfile": "cert.pem", "ssl_cert_reqs": 5}, "ssl-cert-reqs"),
    ],
)
def test_invalid_values_raise_value_error(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        Config("m:app", **kwargs)


def test_invalid_web_concurrency(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "many")
    with pytest.raises(ValueError, match="WEB_CONCURRENCY"):
        Config("m:app")


def test_numeric_strings_are_accepted():
    c = Config("m:app", port="0", limit_request_body="1024", timeout_keep_alive="2.5")
    assert (c.port, c.limit_request_body, c.timeout_keep_alive) == (0, 1024, 2.5)


def test_native_is_stored():
    assert Config("m:app", native=["a.so", "b.so"]).native == ["a.so", "b.so"]
    assert Config("m:app", native="one.so").native == ["one.so"]


# ---------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------
ACCESS_MSG = '%s - "%s %s HTTP/%s" %d'  # what the C side logs


def _record(name: str, level: int, msg: str, args: tuple) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_access_formatter_plain_matches_uvicorn():
    fmt = AccessFormatter(fmt=LOGGING_CONFIG["formatters"]["access"]["fmt"], use_colors=False)
    rec = _record("graft.access", logging.INFO, ACCESS_MSG,
                  ("127.0.0.1:54321", "GET", "/path?x=1", "1.1", 200))
    assert fmt.format(rec) == 'INFO:     127.0.0.1:54321 - "GET /path?x=1 HTTP/1.1" 200 OK'
    # the raw message (for custom formats) is uvicorn's line without the phrase
    assert rec.getMessage() == '127.0.0.1:54321 - "GET /path?x=1 HTTP/1.1" 200'
    rec = _record("graft.access", logging.INFO, ACCESS_MSG,
                  ("[::1]:1", "POST", "/a%20b", "1.0", 599))
    assert fmt.format(rec) == 'INFO:     [::1]:1 - "POST /a%20b HTTP/1.0" 599 '


def test_access_formatter_colours():
    fmt = AccessFormatter(fmt='%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=True)
    out = fmt.format(_record("graft.access", logging.INFO, ACCESS_MSG, ("1.2.3.4:5", "GET", "/", "1.1", 404)))
    assert "\x1b[31m404 Not Found\x1b[0m" in out
    assert "\x1b[1mGET / HTTP/1.1\x1b[0m" in out
    assert out.startswith("\x1b[32mINFO\x1b[0m:")


def test_access_formatter_tolerates_foreign_records():
    fmt = AccessFormatter(fmt='%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False)
    out = fmt.format(_record("graft.access", logging.WARNING, "something %s", ("odd",)))
    assert "something odd" in out


def test_default_formatter_levelprefix_and_trace():
    fmt = DefaultFormatter(fmt="%(levelprefix)s %(message)s", use_colors=False)
    assert fmt.format(_record("graft.error", logging.INFO, "Started server process [%d]", (42,))) == \
        "INFO:     Started server process [42]"
    assert fmt.format(_record("graft.error", logging.WARNING, "w", ())) == "WARNING:  w"
    assert logging.getLevelName(TRACE_LOG_LEVEL) == "TRACE"
    assert fmt.format(_record("graft.error", TRACE_LOG_LEVEL, "t", ())) == "TRACE:    t"
    coloured = DefaultFormatter(fmt="%(levelprefix)s %(message)s", use_colors=True)
    rec = _record("graft.error", logging.INFO, "plain", ())
    rec.color_message = "fancy"
    assert coloured.format(rec) == "\x1b[32mINFO\x1b[0m:     fancy"


def test_default_logging_config_routes_streams(capsys):
    Config("m:app")
    logging.getLogger("graft.error").info("to stderr")
    logging.getLogger("graft.access").info('%s - "%s %s HTTP/%s" %d', "1.1.1.1:1", "GET", "/", "1.1", 200)
    out, err = capsys.readouterr()
    assert "INFO:     to stderr" in err
    assert 'INFO:     1.1.1.1:1 - "GET / HTTP/1.1" 200 OK' in out
    assert "to stderr" not in out


def test_log_level_and_access_log_off():
    Config("m:app", log_level="debug", access_log=False)
    assert logging.getLogger("graft.error").level == logging.DEBUG
    assert logging.getLogger("graft.access").level == logging.DEBUG
    assert logging.getLogger("graft.access").handlers == []
    Config("m:app", log_level="trace")
    assert logging.getLogger("graft.error").level == TRACE_LOG_LEVEL
    Config("m:app", log_level=logging.WARNING)
    assert logging.getLogger("graft.error").level == logging.WARNING
    c = Config("m:app")  # the default config restores INFO and the access handler
    assert c.log_level is None
    assert logging.getLogger("graft.error").level == logging.INFO
    assert logging.getLogger("graft.access").handlers


def test_default_logging_config_is_not_mutated():
    Config("m:app", use_colors=True)
    assert LOGGING_CONFIG["formatters"]["default"]["use_colors"] is None
    assert "use_colors" not in LOGGING_CONFIG["formatters"]["access"]


def _file_config(name: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"h": {"class": "logging.NullHandler"}},
        "loggers": {name: {"handlers": ["h"], "level": "ERROR"}},
    }


def test_log_config_json_yaml_ini(tmp_path):
    path = tmp_path / "log.json"
    path.write_text(json.dumps(_file_config("graft.test.json")))
    Config("m:app", log_config=str(path))
    assert logging.getLogger("graft.test.json").level == logging.ERROR

    import yaml  # noqa: F401  (PyYAML is a test dependency)
    path = tmp_path / "log.yaml"
    import yaml

    path.write_text(yaml.safe_dump(_file_config("graft.test.yaml")))
    Config("m:app", log_config=str(path))
    assert logging.getLogger("graft.test.yaml").level == logging.ERROR

    path = tmp_path / "log.ini"
    path.write_text(textwrap.dedent("""\
        [loggers]
        keys=root,ini
        [handlers]
        keys=null
        [formatters]
        keys=
        [logger_root]
        handlers=null
        [logger_ini]
        qualname=graft.test.ini
        level=CRITICAL
        handlers=null
        [handler_null]
        class=NullHandler
        args=()
    """))
    Config("m:app", log_config=str(path))
    assert logging.getLogger("graft.test.ini").level == logging.CRITICAL
    Config("m:app")  # back to the default for the other tests


def test_missing_log_config_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        Config("m:app", log_config=str(tmp_path / "nope.ini"))


# ---------------------------------------------------------------------------------------------
# Env file
# ---------------------------------------------------------------------------------------------
ENV_TEXT = """\
# comment
GRAFT_T_PLAIN=value
export GRAFT_T_EXPORTED=yes
GRAFT_T_QUOTED="a b # not a comment"
GRAFT_T_SINGLE='x y'
GRAFT_T_INLINE=v # comment
GRAFT_T_EXISTING=from-file
WEB_CONCURRENCY=4
"""


def test_parse_env_text():
    assert parse_env_text(ENV_TEXT) == {
        "GRAFT_T_PLAIN": "value",
        "GRAFT_T_EXPORTED": "yes",
        "GRAFT_T_QUOTED": "a b # not a comment",
        "GRAFT_T_SINGLE": "x y",
        "GRAFT_T_INLINE": "v",
        "GRAFT_T_EXISTING": "from-file",
        "WEB_CONCURRENCY": "4",
    }


@pytest.mark.parametrize("with_dotenv", [True, False])
def test_env_file_loaded_before_defaults(tmp_path, monkeypatch, with_dotenv):
    if with_dotenv:
        import dotenv  # noqa: F401  (python-dotenv is a test dependency: fail, never skip)
    else:
        monkeypatch.setitem(sys.modules, "dotenv", None)  # import fails -> fallback parser
    path = tmp_path / ".env"
    path.write_text(ENV_TEXT)
    for key in parse_env_text(ENV_TEXT):
        # setenv first so monkeypatch records the variable and removes what Config sets
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    monkeypatch.setenv("GRAFT_T_EXISTING", "from-env")
    c = Config("m:app", env_file=str(path))
    assert os.environ["GRAFT_T_PLAIN"] == "value"
    assert os.environ["GRAFT_T_QUOTED"] == "a b # not a comment"
    assert os.environ["GRAFT_T_EXISTING"] == "from-env"  # not overridden
    assert c.workers == 4  # WEB_CONCURRENCY from the file applies


def test_missing_env_file(tmp_path):
    with pytest.raises(ValueError, match="env_file"):
        Config("m:app", env_file=str(tmp_path / "missing.env"))


# ---------------------------------------------------------------------------------------------
# Loading the app
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def app_module(tmp_path, monkeypatch):
    """A package ``graftapp_<n>`` under tmp_path with assorted apps; returns its name."""
    name = f"graftapp_{abs(hash(str(tmp_path))) % 10**8}"
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "main.py").write_text(textwrap.dedent("""\
        class Holder:
            async def app(scope, receive, send):
                pass
            app = staticmethod(app)

        async def app(scope, receive, send):
            pass

        def create_app():
            return app

        def broken_factory(x):
            return app

        class ASGI2App:
            def __init__(self, scope):
                self.scope = scope
            async def __call__(self, receive, send):
                await send({"type": "asgi2", "scope": self.scope})

        class ASGI3Callable:
            async def __call__(self, scope, receive, send):
                pass

        asgi3_instance = ASGI3Callable()
        not_callable = 42
    """))
    (pkg / "needs_dep.py").write_text("import graft_no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[mod]


def test_load_import_string(app_module):
    c = Config(f"{app_module}.main:app")
    c.load()
    assert c.loaded and c.loaded_app is sys.modules[f"{app_module}.main"].app
    assert c.interface == "asgi3"
    c.load()  # idempotent
    nested = Config(f"{app_module}.main:Holder.app")
    nested.load()
    assert nested.loaded_app is sys.modules[f"{app_module}.main"].Holder.app


def test_load_callable_object():
    c = Config(noop_app)
    c.load()
    assert c.loaded_app is noop_app


@pytest.mark.parametrize(
    "target, message",
    [
        ("graft_no_such_module_xyz:app", 'Error loading ASGI app. Could not import module "graft_no_such_module_xyz".'),
        ("{pkg}.nope:app", 'Error loading ASGI app. Could not import module "{pkg}.nope".'),
        ("{pkg}.main:missing", 'Error loading ASGI app. Attribute "missing" not found in module "{pkg}.main".'),
        ("{pkg}.main:Holder.missing", 'Error loading ASGI app. Attribute "Holder.missing" not found in module "{pkg}.main".'),
        ("{pkg}.main", 'Error loading ASGI app. Import string "{pkg}.main" must be in format "<module>:<attribute>".'),
        ("{pkg}.main:not_callable", "Error loading ASGI app. 42 is not callable."),
    ],
)
def test_load_errors_exit_1_with_uvicorn_messages(app_module, graft_log, target, message):
    c = Config(target.format(pkg=app_module))
    logging.getLogger("graft.error").addHandler(graft_log)  # Config() reset the handlers
    with pytest.raises(SystemExit) as info:
        c.load()
    assert info.value.code == 1
    assert message.format(pkg=app_module) in graft_log.messages(logging.ERROR)
    assert not c.loaded


def test_missing_dependency_is_not_disguised(app_module):
    c = Config(f"{app_module}.needs_dep:app")
    with pytest.raises(ModuleNotFoundError, match="graft_no_such_dependency_xyz"):
        c.load()


def test_import_from_string_passthrough():
    assert import_from_string(noop_app) is noop_app
    with pytest.raises(ImportFromStringError):
        import_from_string("no_colon")


def test_factory(app_module, graft_log):
    c = Config(f"{app_module}.main:create_app", factory=True)
    c.load()
    assert c.loaded_app is sys.modules[f"{app_module}.main"].app

    c = Config(f"{app_module}.main:broken_factory", factory=True)
    logging.getLogger("graft.error").addHandler(graft_log)
    with pytest.raises(SystemExit) as info:
        c.load()
    assert info.value.code == 1
    assert any(m.startswith("Error loading ASGI app factory:") for m in graft_log.messages(logging.ERROR))


def test_factory_detected_without_flag(app_module, graft_log):
    c = Config(f"{app_module}.main:create_app")
    logging.getLogger("graft.error").addHandler(graft_log)
    c.load()
    assert c.loaded_app is sys.modules[f"{app_module}.main"].app
    assert any("factory detected" in m for m in graft_log.messages(logging.WARNING))


def test_asgi2_is_wrapped(app_module):
    c = Config(f"{app_module}.main:ASGI2App")
    c.load()
    assert c.interface == "asgi2" and c.asgi_version == "2.0"
    assert isinstance(c.loaded_app, ASGI2Middleware)
    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(c.loaded_app({"type": "http"}, None, send))
    assert sent == [{"type": "asgi2", "scope": {"type": "http"}}]

    c = Config(f"{app_module}.main:asgi3_instance")
    c.load()
    assert c.interface == "asgi3" and not isinstance(c.loaded_app, ASGI2Middleware)


def test_app_dir_is_put_on_sys_path(tmp_path):
    (tmp_path / "graft_appdir_mod.py").write_text("async def app(scope, receive, send):\n    pass\n")
    c = Config("graft_appdir_mod:app", app_dir=str(tmp_path))
    try:
        c.load()
        assert sys.path[0] == str(tmp_path)
        assert c.loaded_app.__module__ == "graft_appdir_mod"
    finally:
        sys.modules.pop("graft_appdir_mod", None)


def test_reload_is_rejected_clearly():
    with pytest.raises(ValueError, match="not supported"):
        Config("m:app", reload=True)


# ---------------------------------------------------------------------------------------------
# Event loop
# ---------------------------------------------------------------------------------------------
def test_setup_event_loop_asyncio():
    factory = Config("m:app", loop="asyncio").setup_event_loop()
    loop = factory()
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()


def test_setup_event_loop_auto_prefers_uvloop():
    import uvloop
    factory = Config("m:app", loop="auto").setup_event_loop()
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert isinstance(asyncio.get_event_loop_policy(), uvloop.EventLoopPolicy)
    finally:
        loop.close()


def test_setup_event_loop_uvloop_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)
    with pytest.raises(ImportError, match="uvloop"):
        Config("m:app", loop="uvloop").setup_event_loop()
    factory = Config("m:app", loop="auto").setup_event_loop()  # falls back
    assert factory is asyncio.new_event_loop


# ---------------------------------------------------------------------------------------------
# Sockets
# ---------------------------------------------------------------------------------------------
def _assert_listening(sock: socket.socket) -> None:
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
    assert sock.getblocking() is False


def test_bind_tcp_port_0(graft_log):
    c = Config("m:app", port=0, backlog=16)
    logging.getLogger("graft.error").addHandler(graft_log)
    sock = c.bind_socket()
    try:
        _assert_listening(sock)
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
        assert f"Graft running on http://127.0.0.1:{port} (Press CTRL+C to quit)" in graft_log.messages()
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        sock.close()


def test_bind_tcp_ipv6():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    c = Config("m:app", host="::1", port=0)
    try:
        sock = c.bind_socket()
    except SystemExit:
        pytest.skip("::1 not available")
    try:
        assert sock.family == socket.AF_INET6
        _assert_listening(sock)
    finally:
        sock.close()


def test_bind_tcp_in_use_exits_1(graft_log):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        c = Config("m:app", port=taken.getsockname()[1])
        logging.getLogger("graft.error").addHandler(graft_log)
        with pytest.raises(SystemExit) as info:
            c.bind_socket()
        assert info.value.code == 1
        assert any("in use" in m for m in graft_log.messages(logging.ERROR))
    finally:
        taken.close()


def test_bind_uds_replaces_stale_socket(tmp_path):
    path = str(tmp_path / "graft.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays behind, as after a crash
    sock = Config("m:app", uds=path).bind_socket()
    try:
        _assert_listening(sock)
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o666
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(2)
            client.connect(path)
    finally:
        sock.close()


def test_bind_uds_refuses_to_delete_regular_file(tmp_path):
    path = tmp_path / "not-a-socket"
    path.write_text("keep me")
    with pytest.raises(SystemExit):
        Config("m:app", uds=str(path)).bind_socket()
    assert path.read_text() == "keep me"


@pytest.mark.parametrize("listening", [True, False])
def test_bind_fd(listening):
    orig = socket.socket()
    orig.bind(("127.0.0.1", 0))
    if listening:
        orig.listen(5)
    try:
        sock = Config("m:app", fd=orig.fileno()).bind_socket()
        try:
            assert sock.family == socket.AF_INET
            assert sock.fileno() != orig.fileno()
            assert sock.getsockname() == orig.getsockname()
            _assert_listening(sock)
        finally:
            sock.close()
        orig.getsockname()  # the caller's descriptor is still open
    finally:
        orig.close()


def test_bind_fd_not_a_socket(tmp_path):
    with open(tmp_path / "f", "w") as f:
        with pytest.raises(SystemExit):
            Config("m:app", fd=f.fileno()).bind_socket()


# ---------------------------------------------------------------------------------------------
# Lifespan
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def lifespan_log():
    logger = logging.getLogger("graft.test.lifespan")
    logger.propagate = False
    logger.setLevel(1)
    handler = ListHandler()
    logger.addHandler(handler)
    yield logger, handler
    logger.removeHandler(handler)


def run_lifespan(app, mode, logger, between=None):
    """startup, optional check, shutdown; returns the Lifespan."""

    async def main():
        ls = Lifespan(app, mode, logger)
        await asyncio.wait_for(ls.startup(), 5)
        if between is not None:
            between(ls)
        if not ls.should_exit:
            await asyncio.wait_for(ls.shutdown(), 5)
        return ls

    return asyncio.run(main())


def make_app(events, *, startup="complete", shutdown="complete", message=None, raise_at=None):
    async def app(scope, receive, send):
        assert scope["type"] == "lifespan"
        events.append(("scope", scope["asgi"]))
        if raise_at == "before":
            raise RuntimeError("not lifespan")
        msg = await receive()
        events.append(msg["type"])
        if raise_at == "startup":
            raise RuntimeError("boom in startup")
        scope["state"]["db"] = "connected"
        out = {"type": f"lifespan.startup.{startup}"}
        if message is not None:
            out["message"] = message
        await send(out)
        msg = await receive()
        events.append(msg["type"])
        if raise_at == "shutdown":
            raise RuntimeError("boom in shutdown")
        await send({"type": f"lifespan.shutdown.{shutdown}", **({"message": message} if message else {})})

    return app


@pytest.mark.parametrize("mode", ["auto", "on"])
def test_lifespan_complete_and_state(lifespan_log, mode):
    logger, log = lifespan_log
    events = []
    seen_state = {}
    ls = run_lifespan(make_app(events), mode, logger, between=lambda ls: seen_state.update(ls.state))
    assert events == [("scope", {"version": "3.0", "spec_version": "2.0"}), "lifespan.startup", "lifespan.shutdown"]
    assert seen_state == {"db": "connected"}
    assert ls.state == {"db": "connected"}
    assert not ls.startup_failed and not ls.should_exit and not ls.shutdown_failed
    assert log.messages(logging.INFO) == [
        "Waiting for application startup.",
        "Application startup complete.",
        "Waiting for application shutdown.",
        "Application shutdown complete.",
    ]


@pytest.mark.parametrize("mode", ["auto", "on"])
def test_lifespan_startup_failed_message(lifespan_log, mode):
    logger, log = lifespan_log
    ls = run_lifespan(make_app([], startup="failed", message="database unreachable"), mode, logger)
    assert ls.startup_failed and ls.should_exit
    assert ls.error_message == "database unreachable"
    assert log.messages(logging.ERROR) == ["database unreachable", "Application startup failed. Exiting."]


def test_lifespan_unsupported_in_auto(lifespan_log):
    logger, log = lifespan_log
    events = []
    ls = run_lifespan(make_app(events, raise_at="before"), "auto", logger)
    assert not ls.startup_failed and not ls.should_exit
    assert "ASGI 'lifespan' protocol appears unsupported." in log.messages(logging.INFO)
    assert "Application startup complete." in log.messages(logging.INFO)
    assert log.messages(logging.ERROR) == []
    assert "Waiting for application shutdown." not in log.messages()


def test_lifespan_exception_is_fatal_in_on(lifespan_log):
    logger, log = lifespan_log
    ls = run_lifespan(make_app([], raise_at="before"), "on", logger)
    assert ls.startup_failed and ls.should_exit
    errors = [r for r in log.records if r.levelno == logging.ERROR]
    assert errors[0].getMessage().startswith("Exception in 'lifespan' protocol")
    assert errors[0].exc_info is not None
    assert errors[-1].getMessage() == "Application startup failed. Exiting."


def test_lifespan_auto_exception_during_startup_is_like_uvicorn(lifespan_log):
    # uvicorn treats any exception before the first message as "unsupported" in auto mode.
    logger, log = lifespan_log
    ls = run_lifespan(make_app([], raise_at="startup"), "auto", logger)
    assert not ls.startup_failed
    assert "ASGI 'lifespan' protocol appears unsupported." in log.messages(logging.INFO)


def test_lifespan_off_never_calls_app(lifespan_log):
    logger, log = lifespan_log
    events = []
    ls = run_lifespan(make_app(events), "off", logger)
    assert events == [] and log.records == [] and ls.state == {}
    assert not ls.should_exit


def test_lifespan_app_returning_without_messages(lifespan_log):
    logger, log = lifespan_log
    ls = run_lifespan(noop_app, "auto", logger)
    assert not ls.should_exit
    assert log.messages(logging.INFO)[-1] == "Application shutdown complete."


def test_lifespan_shutdown_failed(lifespan_log):
    logger, log = lifespan_log
    ls = run_lifespan(make_app([], shutdown="failed", message="flush failed"), "on", logger)
    assert not ls.startup_failed
    assert ls.shutdown_failed and ls.should_exit
    assert log.messages(logging.ERROR) == ["flush failed", "Application shutdown failed. Exiting."]


@pytest.mark.parametrize("mode", ["auto", "on"])
def test_lifespan_exception_during_shutdown_does_not_hang(lifespan_log, mode):
    logger, log = lifespan_log
    ls = run_lifespan(make_app([], raise_at="shutdown"), mode, logger)
    assert ls.shutdown_failed
    errors = log.messages(logging.ERROR)
    assert errors[0].startswith("Exception in 'lifespan' protocol")
    assert errors[-1] == "Application shutdown failed. Exiting."


@pytest.mark.parametrize("mode", ["auto", "on"])
def test_lifespan_wrong_message_type_is_an_error(lifespan_log, mode):
    logger, log = lifespan_log

    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 200})

    ls = run_lifespan(app, mode, logger)
    assert ls.startup_failed and ls.should_exit
    error = next(r for r in log.records if r.levelno == logging.ERROR)
    assert "http.response.start" in str(error.exc_info[1])


def test_lifespan_invalid_transition(lifespan_log):
    logger, log = lifespan_log

    async def app(scope, receive, send):
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.startup.complete"})

    errors = []

    async def main():
        ls = Lifespan(app, "on", logger)
        await ls.startup()
        await asyncio.sleep(0.05)
        errors.append(ls.error_message)
        await asyncio.wait_for(ls.shutdown(), 5)
        return ls

    asyncio.run(main())
    assert "invalid state transition" in errors[0]


def test_lifespan_with_config(app_module):
    c = Config(f"{app_module}.main:ASGI2App", lifespan="off")
    ls = Lifespan(c)
    assert c.loaded and ls.mode == "off" and ls.asgi_version == "2.0"


def test_lifespan_rejects_bad_mode():
    with pytest.raises(ValueError):
        Lifespan(noop_app, "sometimes")


def test_lifespan_scope_state_is_the_same_dict(lifespan_log):
    logger, _ = lifespan_log
    seen = {}

    async def app(scope, receive, send):
        seen["state"] = scope["state"]
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    ls = run_lifespan(app, "on", logger)
    assert seen["state"] is ls.state

