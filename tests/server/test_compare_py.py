"""The comparison rule and the mismatch line from Python (_graft.compare_responses,
_graft.shadow_line): the same C code shadow mode runs, checked through the binding that the
differential tests and `graft diff` use."""

from __future__ import annotations

import base64
import json

import pytest

from graft import _graft


def resp(status=200, headers=(), body=b""):
    return {"status": status, "headers": list(headers), "body": body}


def test_same():
    a = resp(200, [("Content-Type", "text/plain"), ("x-a", "1")], b"hi")
    b = resp(200, [(b"x-a", b"1"), (b"content-type", b"text/plain")], b"hi")
    assert _graft.compare_responses(a, b) == []


def test_parts():
    a = resp(200, [("x-a", "1")], b"hi")
    assert _graft.compare_responses(a, resp(404, [("x-a", "1")], b"hi")) == ["status"]
    assert _graft.compare_responses(a, resp(200, [("x-a", "2")], b"hi")) == ["headers"]
    assert _graft.compare_responses(a, resp(200, [("x-a", "1")], b"hi!")) == ["body"]
    assert _graft.compare_responses(a, resp(500, [], b"")) == ["status", "headers", "body"]


def test_multiset_and_ignored():
    one = resp(headers=[("set-cookie", "a=1")])
    two = resp(headers=[("set-cookie", "a=1"), ("Set-Cookie", "a=1")])
    assert _graft.compare_responses(one, two) == ["headers"]
    a = resp(headers=[("date", "x"), ("server", "graft"), ("content-length", "2")], body=b"ok")
    b = resp(headers=[("transfer-encoding", "chunked"), ("Server", "uvicorn")], body=b"ok")
    assert _graft.compare_responses(a, b) == []
    assert _graft.compare_responses(resp(headers=[("x", "A")]), resp(headers=[("x", "a")])) == ["headers"]


def test_whole_bodies_compared():
    big = b"x" * 200_000
    assert _graft.compare_responses(resp(body=big), resp(body=big)) == []
    assert _graft.compare_responses(resp(body=big), resp(body=big[:-1] + b"y")) == ["body"]


def test_bad_input():
    with pytest.raises(TypeError):
        _graft.compare_responses(resp(), [])
    with pytest.raises(TypeError):
        _graft.compare_responses(resp(headers=[("a", 1)]), resp())
    with pytest.raises(ValueError):
        _graft.compare_responses(resp(headers=[("a",)]), resp())


def test_shadow_line_parses():
    py = resp(200, [("Content-Type", "application/json"), ("Set-Cookie", "sid=s3cret"),
                    ("Authorization", "Bearer tok")], b'{"id": 1}')
    nat = resp(200, [("content-type", "application/json"), ("cookie", "c=s3cret"),
                     ("Proxy-Authorization", "Basic s3cret")], bytes(range(256)) * 40)
    line = _graft.shadow_line("GET /items/{id}", "GET", b"/items/1\xff", "a=1&b=\x01", py, nat)
    assert line.endswith("\n") and line.count("\n") == 1
    d = json.loads(line)
    assert d["route"] == "GET /items/{id}"
    assert d["request"] == {"method": "GET", "path": "/items/1\ufffd", "query": "a=1&b=\x01"}
    assert d["differs"] == ["headers", "body"]
    assert d["python"]["status"] == 200
    assert d["python"]["headers"] == [["content-type", "application/json"], ["set-cookie", "[redacted]"],
                                      ["authorization", "[redacted]"]]
    assert d["native"]["headers"][1:] == [["cookie", "[redacted]"], ["proxy-authorization", "[redacted]"]]
    assert "s3cret" not in line and "Bearer" not in line
    assert d["python"]["body"] == '{"id": 1}' and d["python"]["body_base64"] is False
    assert d["python"]["body_truncated"] is False and d["python"]["body_length"] == 9
    n = d["native"]
    assert n["body_base64"] is True and n["body_truncated"] is True and n["body_length"] == 10240
    assert base64.b64decode(n["body"]) == (bytes(range(256)) * 40)[:4096]


def test_shadow_line_cap_and_diff():
    py = resp(201, [], "é".encode() * 10)
    line = _graft.shadow_line("POST /x", "POST", "/x", "", py, resp(201, [], b""), ["body"], body_log_cap=5)
    d = json.loads(line)
    assert d["differs"] == ["body"]
    assert d["python"]["body"] == "éé" and d["python"]["body_truncated"] is True
    assert d["native"]["body"] == "" and d["native"]["body_length"] == 0
    assert json.loads(_graft.shadow_line("GET /", "GET", "/", "", py, py))["differs"] == []
    assert json.loads(_graft.shadow_line("GET /", "GET", "/", "", py, py, 1))["differs"] == ["status"]
    with pytest.raises(ValueError):
        _graft.shadow_line("GET /", "GET", "/", "", py, py, ["nope"])
