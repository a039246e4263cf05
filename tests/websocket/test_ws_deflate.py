"""permessage-deflate (RFC 7692), after Autobahn|Testsuite's case groups 12 and 13:
negotiation with each parameter, compressed echo of many sizes under several
parameter sets, context takeover across messages (both directions), and limits.

The client (wsclient.Deflate) decompresses the server's frames with the negotiated
server window, so a server that used a larger window than it agreed to fails here.
"""

from __future__ import annotations

import os
import random
import zlib

import pytest

from wsclient import (
    OP_BINARY, OP_CONT, OP_PING, OP_TEXT, RSV1, Deflate, WSClient, encode_frame, parse_extensions,
)


@pytest.fixture
def ws(ws_server):
    opened: list[WSClient] = []

    def connect(extensions: str | None = "permessage-deflate", path: str = "/echo", **kw) -> WSClient:
        c = WSClient(ws_server.port, path, extensions=extensions, **kw)
        opened.append(c)
        return c

    yield connect
    for c in opened:
        c.close()


def negotiated(c: WSClient):
    exts = parse_extensions(c.response.header("sec-websocket-extensions"))
    assert len(c.response.header_all("sec-websocket-extensions")) <= 1
    return exts


WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
         "ut labore et dolore magna aliqua graft websocket deflate frame message").split()


def text_payload(size: int, seed: int = 0) -> bytes:
    rnd = random.Random(seed)
    out = []
    n = 0
    while n < size:
        w = rnd.choice(WORDS)
        out.append(w)
        n += len(w) + 1
    return " ".join(out).encode()[:size]


# ---------------------------------------------------------------------------
# Negotiation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("offer,expect", [
    ("permessage-deflate", {}),
    ("permessage-deflate; server_no_context_takeover", {"server_no_context_takeover": None}),
    ("permessage-deflate; client_no_context_takeover", {"client_no_context_takeover": None}),
    ("permessage-deflate; server_no_context_takeover; client_no_context_takeover",
     {"server_no_context_takeover": None, "client_no_context_takeover": None}),
    ("permessage-deflate; server_max_window_bits=10", {"server_max_window_bits": "10"}),
    ("permessage-deflate; server_max_window_bits=9", {"server_max_window_bits": "9"}),
    ("permessage-deflate; server_max_window_bits=15", {"server_max_window_bits": "15"}),
    ("permessage-deflate; client_max_window_bits=10", {"client_max_window_bits": "10"}),
    ("permessage-deflate; client_max_window_bits=8", {"client_max_window_bits": "8"}),
    ('permessage-deflate; client_max_window_bits="12"', {"client_max_window_bits": "12"}),
    ("permessage-deflate;client_max_window_bits=11;server_max_window_bits=12",
     {"client_max_window_bits": "11", "server_max_window_bits": "12"}),
    ("PerMessage-Deflate; Server_No_Context_Takeover", {"server_no_context_takeover": None}),
])
def test_negotiation_accepted(ws, offer, expect):
    c = ws(offer)
    exts = negotiated(c)
    assert len(exts) == 1 and exts[0][0] == "permessage-deflate", c.response
    params = exts[0][1]
    for k, v in expect.items():
        if k == "client_max_window_bits":
            # the server may leave it out (then the client may use its offered window)
            # or answer with a value not larger than offered
            assert k not in params or int(params[k]) <= int(v), params
        elif k == "server_max_window_bits":
            assert int(params[k]) <= int(v), params
        else:
            assert k in params and params[k] is None, params
    # a server may add its own no-context / window limits (RFC 7692 §7.1.1.1, §7.1.2.1),
    # and client_no_context_takeover; client_max_window_bits only when the client offered it
    unexpected = set(params) - set(expect) - {"client_no_context_takeover", "server_no_context_takeover",
                                              "server_max_window_bits"}
    assert not unexpected, f"response params {params} for offer {offer!r}"
    data = text_payload(5000)
    m = c.echo(data.decode())
    assert m.data == data and m.compressed
    c.close_handshake()


def test_client_max_window_bits_without_value(ws):
    c = ws("permessage-deflate; client_max_window_bits")
    exts = negotiated(c)
    assert exts and exts[0][0] == "permessage-deflate"
    cb = exts[0][1].get("client_max_window_bits")
    assert cb is None or 8 <= int(cb) <= 15, exts
    assert c.echo("hello " * 100).text == "hello " * 100


@pytest.mark.parametrize("offer", [
    "permessage-deflate; server_max_window_bits=8",     # zlib cannot honour an 8-bit window
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; server_max_window_bits",       # needs a value
    "permessage-deflate; client_max_window_bits=16",
    "permessage-deflate; client_max_window_bits=abc",
    "permessage-deflate; unknown_param",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; client_max_window_bits=10; client_max_window_bits=11",
    "x-webkit-deflate-frame",
    "permessage-foo",
])
def test_negotiation_declined(ws, offer):
    """An offer the server cannot or must not accept is declined (no extension in the
    101), never answered with a broken response; the connection then works uncompressed."""
    c = ws(offer)
    assert c.response.status == 101
    assert c.response.header("sec-websocket-extensions") is None, c.response
    m = c.echo("plain")
    assert m.text == "plain" and not m.compressed


def test_first_acceptable_offer_wins(ws):
    """13.7: several offers; the server takes the first one it can accept."""
    c = ws("permessage-deflate; server_max_window_bits=8; client_max_window_bits=8, "
           "permessage-deflate; server_no_context_takeover; client_no_context_takeover, permessage-deflate")
    exts = negotiated(c)
    assert exts and exts[0][1].keys() >= {"server_no_context_takeover", "client_no_context_takeover"}, exts


def test_offers_in_two_header_lines(ws):
    c = ws(None, headers=[("Sec-WebSocket-Extensions", "x-unknown"),
                          ("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover")])
    exts = negotiated(c)
    assert exts and exts[0][0] == "permessage-deflate", c.response
    c.deflate = Deflate(exts[0][1])
    assert c.echo("two lines").text == "two lines"


def test_not_offered_means_not_used(ws):
    c = ws(None)
    assert c.response.header("sec-websocket-extensions") is None
    m = c.echo("x" * 1000)
    assert not m.compressed


def test_disabled_by_option(ws_server_nodeflate):
    c = WSClient(ws_server_nodeflate.port, "/echo", extensions="permessage-deflate; client_max_window_bits")
    try:
        assert c.response.header("sec-websocket-extensions") is None, c.response
        m = c.echo("y" * 1000)
        assert m.data == b"y" * 1000 and not m.compressed
        # RSV1 without the extension is a protocol error
        c.send_frame(OP_TEXT, zlib.compress(b"z")[2:-4], rsv=RSV1)
        c.expect_fail(1002)
    finally:
        c.close()


# ---------------------------------------------------------------------------
# 12 / 13: compressed echo under parameter sets
# ---------------------------------------------------------------------------

PARAM_SETS = {
    "default": "permessage-deflate",
    "no-context-both": "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    "window-9": "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
    "window-8-client": "permessage-deflate; client_max_window_bits=8",
    "window-15": "permessage-deflate; server_max_window_bits=15; client_max_window_bits=15",
    "no-context-window-10": ("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                             "server_max_window_bits=10; client_max_window_bits=10"),
}
ECHO_SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072]


@pytest.mark.parametrize("params", sorted(PARAM_SETS))
@pytest.mark.parametrize("kind", ["text", "random-binary"])
def test_compressed_echo_sizes(ws, params, kind):
    """12.x / 13.x: messages of each size, several of each, text (compressible) and
    random bytes (incompressible), over one connection (contexts carried across)."""
    c = ws(PARAM_SETS[params])
    assert c.deflate is not None, c.response
    rnd = random.Random(hash((params, kind)) & 0xFFFF)
    for size in ECHO_SIZES:
        for i in range(3):
            if kind == "text":
                data = text_payload(size, seed=size * 10 + i)
                m = c.echo(data.decode())
                assert m.opcode == OP_TEXT
            else:
                data = rnd.randbytes(size)
                m = c.echo(data)
                assert m.opcode == OP_BINARY
            assert m.data == data, (size, i)
            assert m.compressed, f"server frame not compressed at size {size}"
    c.close_handshake()


def test_compressed_empty_messages(ws):
    c = ws()
    for op in (OP_TEXT, OP_BINARY):
        c.send_message(op, b"", compress=True)
        m = c.recv_message()
        assert (m.opcode, m.data) == (op, b"")
        c.send_message(op, b"", compress=False)
        m = c.recv_message()
        assert (m.opcode, m.data) == (op, b"")


def test_compressed_and_uncompressed_mixed(ws):
    """RSV1 is per message: the client may send some messages uncompressed."""
    c = ws()
    for i in range(10):
        data = text_payload(3000, seed=i)
        c.send_text(data, compress=i % 2 == 0)
        assert c.recv_message().data == data


@pytest.mark.parametrize("frames", [2, 7, 100])
def test_compressed_fragmented_message(ws, frames):
    """RSV1 only on the first frame; the compressed payload is split across frames."""
    c = ws()
    data = text_payload(20000, seed=frames)
    c.send_text(data, fragments=frames)
    assert c.recv_message().data == data


def test_compressed_fragments_with_ping_between(ws):
    c = ws()
    z = c.deflate.compress(b"hello compressed fragments " * 20)
    c.send(encode_frame(OP_TEXT, z[:5], fin=False, rsv=RSV1) + encode_frame(OP_PING, b"mid")
           + encode_frame(OP_CONT, z[5:]))
    assert c.recv_message().data == b"hello compressed fragments " * 20
    assert c.pongs == [b"mid"]


def test_rsv1_on_continuation_fails(ws):
    c = ws()
    z = c.deflate.compress(b"abcdefgh" * 10)
    c.send(encode_frame(OP_TEXT, z[:3], fin=False, rsv=RSV1) + encode_frame(OP_CONT, z[3:], rsv=RSV1))
    c.expect_fail(1002)


def test_rsv1_on_control_frame_fails(ws):
    c = ws()
    c.send_frame(OP_PING, b"x", rsv=RSV1)
    c.expect_fail(1002)


def test_corrupt_compressed_data_fails(ws):
    """Undecodable deflate data fails the connection (RFC 7692 §8.2.3.? leaves the code
    open: invalid payload or protocol error)."""
    c = ws()
    c.send_frame(OP_BINARY, b"\xff\xff\xff\xff\xff\xff", rsv=RSV1)
    c.expect_close((1002, 1007), reply=False)


def test_compressed_invalid_utf8_text_fails(ws):
    c = ws()
    c.send_text(b"valid start \xed\xa0\x80 surrogate", compress=True)
    c.expect_fail(1007)


def test_compressed_utf8_split_across_fragments(ws):
    c = ws()
    data = ("κόσμε 😀 " * 500).encode()
    c.send_text(data, fragments=13)
    assert c.recv_message().data == data


# ---------------------------------------------------------------------------
# Context takeover
# ---------------------------------------------------------------------------

def _sample():
    return text_payload(2000, seed=42).decode()


def test_server_context_takeover_shrinks_repeats(ws):
    """Without server_no_context_takeover the server keeps its LZ77 window: the same
    message a second time compresses to a fraction of the first."""
    c = ws("permessage-deflate")
    assert not c.deflate.server_no_ctx, c.response
    first = c.echo(_sample())
    second = c.echo(_sample())
    assert first.data == second.data == _sample().encode()
    assert second.wire_len < first.wire_len / 3, (first.wire_len, second.wire_len)


def test_server_no_context_takeover_honoured(ws):
    """With server_no_context_takeover each message stands alone: a fresh decompressor
    (the client makes one per message) must decode every frame, and equal messages
    compress to equal frames."""
    c = ws("permessage-deflate; server_no_context_takeover")
    first = c.echo(_sample())
    second = c.echo(_sample())
    assert first.data == second.data
    assert second.wire_len == first.wire_len


def test_client_context_takeover_used(ws):
    """The client keeps its window across messages (not negotiated away): the server
    must keep its inflater too."""
    c = ws("permessage-deflate")
    assert not c.deflate.client_no_ctx
    base = text_payload(4000, seed=7)
    for i in range(20):
        data = base[i * 10:] + b" #%d" % i
        z = c.deflate.compress(data)
        c.send_frame(OP_TEXT, z, rsv=RSV1)
        if i > 0:
            assert len(z) < len(data) / 5  # really relies on the previous messages
        assert c.recv_message().data == data


def test_client_no_context_takeover(ws):
    c = ws("permessage-deflate; client_no_context_takeover")
    assert c.deflate.client_no_ctx
    for i in range(5):
        data = _sample() + str(i)
        assert c.echo(data).text == data


def test_server_window_bits_honoured(ws):
    """A 4 KiB random block sent twice: with server_max_window_bits=9 the server may not
    refer back 4 KiB; the client decodes with a 512-byte window, which fails otherwise."""
    block = os.urandom(4096)
    for bits in (9, 12):
        c = ws(f"permessage-deflate; server_max_window_bits={bits}")
        assert c.deflate.server_bits == bits
        m = c.echo(block * 2)
        assert m.data == block * 2
        assert m.wire_len > 8000  # no back-reference across 4 KiB was possible
    c = ws("permessage-deflate")
    m = c.echo(block * 2)
    assert m.data == block * 2
    if c.deflate.server_bits >= 13:
        assert m.wire_len < 5000  # an 8+ KiB window finds the repeat


# ---------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------

def test_decompressed_size_over_max_size_fails(server_factory):
    """A small compressed message that inflates beyond --ws-max-size: 1009."""
    srv = server_factory(extra=["--ws-max-size", "65536"])
    c = WSClient(srv.port, "/echo", extensions="permessage-deflate")
    try:
        ok = b"\x00" * 65536
        m = c.echo(ok)
        assert m.data == ok
        bomb = b"\x00" * (1 << 20)
        z = c.deflate.compress(bomb)
        assert len(z) < 2000
        c.send_frame(OP_BINARY, z, rsv=RSV1)
        c.expect_fail(1009)
    finally:
        c.close()


def test_decompressed_size_just_over_max_size_fails(server_factory):
    srv = server_factory(extra=["--ws-max-size", "10000"])
    c = WSClient(srv.port, "/echo", extensions="permessage-deflate; client_no_context_takeover")
    try:
        assert c.echo(b"a" * 10000).data == b"a" * 10000
        c.send_binary(b"a" * 10001)
        c.expect_fail(1009)
    finally:
        c.close()
