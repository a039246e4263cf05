"""Ordinary traffic: the same requests to each framework under uvicorn and under graft give
the same status, headers (but date/server) and body."""

from __future__ import annotations

import pytest

from compat_util import fetch

GZIP = {"Accept-Encoding": "gzip"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# A fixed Host, so redirects that echo it (Location) are the same under both servers' ports.
HOST = {"Host": "compat.test"}

COMMON = {
    "hello": ("GET", "/hello", None, None),
    "trailing-slash": ("GET", "/hello/", HOST, None),
    "percent-path": ("GET", "/hello%20there", None, None),
    "long-stream": ("GET", "/stream?n=3000", None, None),
    "options": ("OPTIONS", "/hello", None, None),
    "json": ("GET", "/json", None, None),
    "not-found": ("GET", "/missing", None, None),
    "stream": ("GET", "/stream?n=7", None, None),
    "head-hello": ("HEAD", "/hello", None, None),
    "gzip-json": ("GET", "/json", GZIP, None),
}
ECHO = {
    "echo-small": ("POST", "/echo", FORM, b"a=1&b=2"),
    "echo-5mb": ("POST", "/echo", {"Content-Type": "application/octet-stream"}, b"x" * (5 << 20)),
}

# Flask under a2wsgi reads request bodies with run_coroutine_threadsafe(receive()), which
# needs receive() to return a coroutine (issue 13 item 1, not in this branch): no body
# cases for it here.
MATRIX = {
    "starlette_app:app": {
        **COMMON, **ECHO,
        # item 8: with pathsend off (the default) GZipMiddleware compresses FileResponse
        "gzip-file": ("GET", "/style.css", GZIP, None),
        "file": ("GET", "/style.css", None, None),
        "head-file": ("HEAD", "/style.css", None, None),
        # item 7: HEAD of an event stream: no content-length
        "head-sse": ("HEAD", "/sse", None, None),
    },
    "fastapi_app:app": {
        **{k: v for k, v in COMMON.items() if k != "json"},
        "item": ("GET", "/items/42?q=x", None, None),
        "item-unicode-query": ("GET", "/items/42?q=%C3%A9t%C3%A9+x", None, None),
        "item-percent-path": ("GET", "/items/4%32", None, None),
        "item-422": ("GET", "/items/abc", None, None),
        "create": ("POST", "/items", {"Content-Type": "application/json"}, b'{"name": "w", "price": 2.5}'),
        "create-422": ("POST", "/items", {"Content-Type": "application/json"}, b'{"name": 1}'),
        "head-empty": ("HEAD", "/empty", None, None),
        "get-empty": ("GET", "/empty", None, None),
    },
    "django_app:app": {**COMMON, **ECHO},
    "flask_app:app": dict(COMMON),
    "litestar_app:app": {**COMMON, **ECHO},
    "quart_app:app": {**COMMON, **ECHO},
}

CASES = [pytest.param(app, case, id=f"{app.split('_app')[0]}-{case}")
         for app, cases in MATRIX.items() for case in cases]


@pytest.mark.parametrize("app,case", CASES)
def test_same_answer(pair_for, app, case):
    method, path, headers, body = MATRIX[app][case]
    servers = pair_for(app)
    want = fetch(servers["uvicorn"].port, method, path, headers=headers, body=body)
    got = fetch(servers["graft"].port, method, path, headers=headers, body=body)
    assert got.comparable() == want.comparable()
