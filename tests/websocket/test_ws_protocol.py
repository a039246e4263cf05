"""RFC 6455 conformance with a frame-level client, after Autobahn|Testsuite's case
groups 1-7 (framing, pings/pongs, reserved bits, reserved opcodes, fragmentation,
UTF-8, close handling). The server is graft with tests/apps/ws_apps.py: /echo echoes
text as text and bytes as bytes. permessage-deflate is not offered here (see
test_ws_deflate.py), so frames travel as sent.

A "fail" expectation means: the server sends a close frame with that code and closes
TCP (RFC 6455 §7.1.7); echoes of earlier valid messages may come before it.
"""

from __future__ import annotations

import os
import time

import pytest

from wsclient import (
    OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RSV1, RSV2, RSV3, Timeout, WSClient,
    close_payload, encode_frame,
)


# ---------------------------------------------------------------------------
# 1. Framing
# ---------------------------------------------------------------------------

SIZES = [0, 1, 125, 126, 127, 128, 65535, 65536, 1 << 20]


@pytest.mark.parametrize("size", SIZES)
def test_1_text_sizes(ws, size):
    c = ws()
    text = ("*" * size)
    m = c.echo(text)
    assert m.opcode == OP_TEXT and m.data == text.encode() and m.frames >= 1
    c.close_handshake()


@pytest.mark.parametrize("size", SIZES)
def test_1_binary_sizes(ws, size):
    c = ws()
    data = os.urandom(size)
    m = c.echo(data)
    assert m.opcode == OP_BINARY and m.data == data
    c.close_handshake()


@pytest.mark.parametrize("op", [OP_TEXT, OP_BINARY])
def test_1_chopped_writes(ws, op):
    """1.1.8 / 1.2.8: a 65536-byte frame written 997 bytes at a time."""
    c = ws()
    data = b"\xfe" * 65536 if op == OP_BINARY else b"*" * 65536
    c.send_chopped(encode_frame(op, data), 997)
    m = c.recv_message()
    assert (m.opcode, m.data) == (op, data)


def test_1_many_frames_in_one_write(ws):
    c = ws()
    c.send(b"".join(encode_frame(OP_TEXT, f"msg {i}".encode()) for i in range(50)))
    for i in range(50):
        assert c.recv_message().text == f"msg {i}"


def test_1_unmasked_client_frame_fails(ws):
    """RFC 6455 §5.1: a server closes on an unmasked client frame."""
    c = ws()
    c.send_frame(OP_TEXT, b"hello", mask=False)
    c.expect_fail(1002)


@pytest.mark.parametrize("op,payload", [(OP_TEXT, b""), (OP_TEXT, b"h"), (OP_BINARY, b"abc"),
                                        (OP_PING, b""), (OP_CLOSE, b"")])
def test_1_unmasked_short_frame_fails_at_once(ws, op, payload):
    """RFC 6455 §5.1: the mask bit is in the 2-byte header, so an unmasked frame is refused
    as soon as that header arrives, even when fewer than 4 bytes (a mask's worth) follow
    and nothing else is sent."""
    c = ws()
    c.send_frame(op, payload, mask=False)
    c.expect_fail(1002, timeout=2)


def test_1_length_with_msb_set_fails(ws):
    """RFC 6455 §5.2: the 64-bit length's most significant bit must be 0 (a protocol
    error; "too big" is an acceptable answer too)."""
    c = ws()
    c.send(bytes([0x81, 0xFF]) + (1 << 63).to_bytes(8, "big") + os.urandom(4))
    c.expect_close((1002, 1009), reply=False)


def test_1_text_then_binary_interleaved_sizes(ws):
    c = ws()
    for size in (0, 126, 70000, 3):
        t = "t" * size
        b = os.urandom(size)
        assert c.echo(t).data == t.encode()
        m = c.echo(b)
        assert (m.opcode, m.data) == (OP_BINARY, b)


# ---------------------------------------------------------------------------
# 2. Pings and pongs
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [b"", b"x", b"Hello, world!", bytes(range(125)), b"\x00\xff\xfe\xfd\xfc"],
                         ids=["empty", "1", "text", "125", "binary"])
def test_2_ping_answered_with_same_payload(ws, payload):
    c = ws()
    c.send_ping(payload)
    f = c.recv_frame()
    assert f.opcode == OP_PONG and f.fin and f.payload == payload, f
    c.close_handshake()


def test_2_ping_payload_126_fails(ws):
    c = ws()
    c.send_frame(OP_PING, b"x" * 126)
    c.expect_fail(1002)
    assert c.pongs == []


def test_2_ping_chopped_bytewise(ws):
    """2.6: a 125-byte ping written one byte at a time."""
    c = ws()
    payload = os.urandom(125)
    c.send_chopped(encode_frame(OP_PING, payload), 1)
    f = c.recv_frame()
    assert (f.opcode, f.payload) == (OP_PONG, payload)


@pytest.mark.parametrize("payload", [b"", b"unsolicited", os.urandom(125)], ids=["empty", "text", "125"])
def test_2_unsolicited_pong_ignored(ws, payload):
    c = ws()
    c.send_pong(payload)
    assert c.echo("still here").text == "still here"
    c.close_handshake()


def test_2_ten_pings(ws):
    """2.10: ten pings in a row; every pong carries a ping payload, in order, and the
    last one is answered (RFC 6455 §5.5.3 allows answering only the latest)."""
    c = ws()
    payloads = [f"payload-{i}".encode() for i in range(10)]
    c.send(b"".join(encode_frame(OP_PING, p) for p in payloads))
    got = []
    while not got or got[-1] != payloads[-1]:
        f = c.recv_frame()
        assert f.opcode == OP_PONG, f
        got.append(f.payload)
    assert all(p in payloads for p in got) and got == sorted(got, key=payloads.index), got


def test_2_ten_pings_chopped(ws):
    """2.11: the same, written one byte at a time."""
    c = ws()
    payloads = [f"p{i}".encode() for i in range(10)]
    c.send_chopped(b"".join(encode_frame(OP_PING, p) for p in payloads), 1)
    got = []
    while not got or got[-1] != payloads[-1]:
        f = c.recv_frame()
        assert f.opcode == OP_PONG, f
        got.append(f.payload)


def test_2_ping_interleaved_with_messages(ws):
    c = ws()
    c.send_text("one")
    c.send_ping(b"between")
    c.send_text("two")
    msgs = [c.recv_message().text, c.recv_message().text]
    deadline = time.monotonic() + 5
    while not c.pongs and time.monotonic() < deadline:
        try:
            c.recv_frame(0.2)
        except Timeout:
            pass
    assert msgs == ["one", "two"] and c.pongs == [b"between"]


def test_2_binary_ping_with_all_byte_values(ws):
    c = ws()
    payload = bytes(range(0, 250, 2))
    c.send_ping(payload)
    f = c.recv_frame()
    assert (f.opcode, f.payload) == (OP_PONG, payload)


# ---------------------------------------------------------------------------
# 3. Reserved bits (no extension negotiated)
# ---------------------------------------------------------------------------

RSV_VALUES = {1: RSV3, 2: RSV2, 3: RSV2 | RSV3, 4: RSV1, 5: RSV1 | RSV3, 6: RSV1 | RSV2, 7: RSV1 | RSV2 | RSV3}
OPS = {"text": (OP_TEXT, b"Hello"), "binary": (OP_BINARY, b"\x00\xff"), "ping": (OP_PING, b"ping"),
       "close": (OP_CLOSE, close_payload(1000))}


@pytest.mark.parametrize("rsv", sorted(RSV_VALUES))
@pytest.mark.parametrize("kind", sorted(OPS))
def test_3_reserved_bits_fail(ws, rsv, kind):
    c = ws()
    op, payload = OPS[kind]
    c.send_frame(op, payload, rsv=RSV_VALUES[rsv])
    f = c.expect_fail(1002)
    assert c.pongs == [], f


def test_3_reserved_bits_after_valid_message(ws):
    """3.2: a valid text is echoed, then the frame with RSV set fails the connection,
    and a ping after it is not answered."""
    c = ws()
    assert c.echo("Hello").text == "Hello"
    c.send(encode_frame(OP_TEXT, b"Hello", rsv=RSV2) + encode_frame(OP_PING, b""))
    c.expect_fail(1002)
    assert c.pongs == []


def test_3_reserved_bits_chopped(ws):
    """3.4: the bad frame arrives one byte at a time."""
    c = ws()
    c.send_chopped(encode_frame(OP_TEXT, b"Hello", rsv=RSV1 | RSV2 | RSV3), 1, delay=0.01)
    c.expect_fail(1002)


# ---------------------------------------------------------------------------
# 4. Reserved opcodes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("op", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
@pytest.mark.parametrize("payload", [b"", b"reserved opcode payload"], ids=["empty", "payload"])
def test_4_reserved_opcode_fails(ws, op, payload):
    c = ws()
    c.send_frame(op, payload)
    c.expect_fail(1002)


@pytest.mark.parametrize("op", [5, 0xD])
def test_4_reserved_opcode_after_message_then_ping(ws, op):
    """4.1.3 / 4.2.3: the text is echoed, the reserved opcode fails the connection, the
    ping that follows it gets no pong."""
    c = ws()
    assert c.echo("Hello").text == "Hello"
    c.send(encode_frame(op, b"") + encode_frame(OP_PING, b""))
    c.expect_fail(1002)
    assert c.pongs == []


# ---------------------------------------------------------------------------
# 5. Fragmentation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("op", [OP_PING, OP_PONG, OP_CLOSE])
def test_5_fragmented_control_fails(ws, op):
    """5.1 / 5.2: control frames must not be fragmented."""
    c = ws()
    payload = close_payload(1000) if op == OP_CLOSE else b"frag"
    c.send(encode_frame(op, payload[:2], fin=False) + encode_frame(OP_CONT, payload[2:]))
    c.expect_fail(1002)
    assert c.pongs == []


@pytest.mark.parametrize("op", [OP_TEXT, OP_BINARY])
def test_5_two_fragments(ws, op):
    c = ws()
    c.send(encode_frame(op, b"frag", fin=False) + encode_frame(OP_CONT, b"ment"))
    m = c.recv_message()
    assert (m.opcode, m.data) == (op, b"fragment")


def test_5_fragments_with_delay(ws):
    """5.5: fragments arrive separately, with pauses."""
    c = ws()
    for i, part in enumerate([b"frag", b"men", b"t"]):
        c.send_frame(OP_TEXT if i == 0 else OP_CONT, part, fin=i == 2)
        time.sleep(0.05)
    assert c.recv_message().text == "fragment"


def test_5_ping_between_fragments(ws):
    """5.6-5.8: a ping between the fragments is answered before the message completes."""
    c = ws()
    c.send(encode_frame(OP_TEXT, b"frag", fin=False) + encode_frame(OP_PING, b"ping payload"))
    f = c.recv_frame()
    assert (f.opcode, f.payload) == (OP_PONG, b"ping payload")
    c.send_frame(OP_CONT, b"ment")
    assert c.recv_message().text == "fragment"


def test_5_ping_between_fragments_chopped(ws):
    c = ws()
    data = encode_frame(OP_TEXT, b"frag", fin=False) + encode_frame(OP_PING, b"p") + encode_frame(OP_CONT, b"ment")
    c.send_chopped(data, 1)
    assert c.recv_message().text == "fragment"
    assert c.pongs == [b"p"]


def test_5_pong_between_fragments(ws):
    c = ws()
    c.send(encode_frame(OP_TEXT, b"frag", fin=False) + encode_frame(OP_PONG, b"unsolicited")
           + encode_frame(OP_CONT, b"ment"))
    assert c.recv_message().text == "fragment"


@pytest.mark.parametrize("fin", [True, False])
@pytest.mark.parametrize("payload", [b"", b"non-empty"], ids=["empty", "payload"])
def test_5_continuation_without_start_fails(ws, fin, payload):
    """5.9-5.14: a continuation frame with no message to continue."""
    c = ws()
    c.send_frame(OP_CONT, payload, fin=fin)
    c.expect_fail(1002)


def test_5_continuation_after_complete_message_fails(ws):
    """5.15: text(fin=0) cont(fin=1) cont(fin=0) text(fin=1): the first message is
    echoed, the stray continuation fails the connection."""
    c = ws()
    c.send(encode_frame(OP_TEXT, b"frag1", fin=False) + encode_frame(OP_CONT, b"frag2"))
    assert c.recv_message().text == "frag1frag2"
    c.send(encode_frame(OP_CONT, b"frag3", fin=False) + encode_frame(OP_TEXT, b"frag4"))
    c.expect_fail(1002)


@pytest.mark.parametrize("second", [OP_TEXT, OP_BINARY])
@pytest.mark.parametrize("fin", [True, False])
def test_5_new_message_inside_fragmented_one_fails(ws, second, fin):
    """5.17-5.18: a text/binary start while a fragmented message is open."""
    c = ws()
    c.send(encode_frame(OP_TEXT, b"first", fin=False) + encode_frame(second, b"second", fin=fin))
    c.expect_fail(1002)


def test_5_many_pings_between_many_fragments(ws):
    """5.19 / 5.20: five fragments with pings between them and pauses."""
    c = ws()
    parts = [b"fragment%d" % i for i in range(1, 6)]
    for i, part in enumerate(parts):
        c.send_frame(OP_TEXT if i == 0 else OP_CONT, part, fin=i == len(parts) - 1)
        if i < len(parts) - 1:
            c.send_ping(b"pongme %d" % i)
            f = c.recv_frame()
            assert (f.opcode, f.payload) == (OP_PONG, b"pongme %d" % i)
            time.sleep(0.02)
    assert c.recv_message().data == b"".join(parts)


@pytest.mark.parametrize("op", [OP_TEXT, OP_BINARY])
def test_5_hundred_one_byte_fragments(ws, op):
    c = ws()
    data = bytes(ord("a") + i % 26 for i in range(100))
    c.send_message(op, data, fragments=100)
    m = c.recv_message()
    assert (m.opcode, m.data) == (op, data)


def test_5_empty_fragments(ws):
    c = ws()
    c.send(encode_frame(OP_TEXT, b"", fin=False) + encode_frame(OP_CONT, b"", fin=False)
           + encode_frame(OP_CONT, b"abc", fin=False) + encode_frame(OP_CONT, b""))
    assert c.recv_message().text == "abc"


def test_5_large_fragmented_binary(ws):
    c = ws()
    data = os.urandom(300_000)
    c.send_binary(data, sizes=[1, 65535, 65536, 100000])
    assert c.recv_message().data == data


def test_5_close_between_fragments(ws):
    """A close in the middle of a fragmented message is answered; the unfinished
    message is never delivered."""
    c = ws()
    c.send(encode_frame(OP_TEXT, b"never ", fin=False) + encode_frame(OP_CLOSE, close_payload(1000)))
    c.send_frame(OP_CONT, b"finished")
    f = c.expect_close(1000, reply=False)
    assert f.close_code == 1000


# ---------------------------------------------------------------------------
# 6. UTF-8
# ---------------------------------------------------------------------------

VALID = {
    "empty": b"",
    "ascii": b"Hello, world!",
    "latin": "Hello-µ@ßöäüàá-UTF-8!!".encode(),
    "kosme": "κόσμε".encode(),
    "first-1": b"\x00",
    "first-2": b"\xc2\x80",
    "first-3": b"\xe0\xa0\x80",
    "first-4": b"\xf0\x90\x80\x80",
    "last-1": b"\x7f",
    "last-2": b"\xdf\xbf",
    "last-3": b"\xef\xbf\xbf",
    "last-4": b"\xf4\x8f\xbf\xbf",
    "boundary-d7ff": b"\xed\x9f\xbf",
    "boundary-e000": b"\xee\x80\x80",
    "replacement-char": b"\xef\xbf\xbd",
    "noncharacter-fffe": b"\xef\xbf\xbe",
    "noncharacter-1fffe": b"\xf0\x9f\xbf\xbe",
    "noncharacter-10ffff": b"\xf4\x8f\xbf\xbf",
    "emoji": "😀 ∮ E⋅da = Q, n → ∞, ∑ f(i) = ∏ g(i)".encode(),
    "cjk": "こんにちは世界 안녕하세요".encode(),
    "mixed-long": ("ascii µ κόσμε 世界 😀 " * 200).encode(),
}

INVALID = {
    "kosme-then-surrogate": "κόσμε".encode() + b"\xed\xa0\x80edited",
    "first-5-byte": b"\xf8\x88\x80\x80\x80",
    "first-6-byte": b"\xfc\x84\x80\x80\x80\x80",
    "above-10ffff": b"\xf4\x90\x80\x80",
    "last-4-byte-f7": b"\xf7\xbf\xbf\xbf",
    "last-5-byte": b"\xfb\xbf\xbf\xbf\xbf",
    "last-6-byte": b"\xfd\xbf\xbf\xbf\xbf\xbf",
    "lone-continuation-80": b"\x80",
    "lone-continuation-bf": b"\xbf",
    "continuations-80bf80": b"\x80\xbf\x80",
    "all-continuations": bytes(range(0x80, 0xC0)),
    "lonely-start-c0": b"\xc0 ",
    "lonely-start-df": b"\xdf ",
    "lonely-start-e0": b"\xe0 ",
    "lonely-start-f0": b"\xf0 ",
    "lonely-start-f8": b"\xf8 ",
    "lonely-start-fc": b"\xfc ",
    "truncated-2": b"\xdf",
    "truncated-3": b"\xef\xbf",
    "truncated-4": b"\xf4\x8f\xbf",
    "truncated-3-mid": b"a\xe0\xa0b",
    "concat-incomplete": b"\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf",
    "impossible-fe": b"\xfe",
    "impossible-ff": b"\xff",
    "impossible-fefeffff": b"\xfe\xfe\xff\xff",
    "overlong-slash-2": b"\xc0\xaf",
    "overlong-slash-3": b"\xe0\x80\xaf",
    "overlong-slash-4": b"\xf0\x80\x80\xaf",
    "overlong-slash-5": b"\xf8\x80\x80\x80\xaf",
    "overlong-max-2": b"\xc1\xbf",
    "overlong-max-3": b"\xe0\x9f\xbf",
    "overlong-max-4": b"\xf0\x8f\xbf\xbf",
    "overlong-nul-2": b"\xc0\x80",
    "overlong-nul-3": b"\xe0\x80\x80",
    "overlong-nul-4": b"\xf0\x80\x80\x80",
    "surrogate-d800": b"\xed\xa0\x80",
    "surrogate-db7f": b"\xed\xad\xbf",
    "surrogate-dc00": b"\xed\xb0\x80",
    "surrogate-dfff": b"\xed\xbf\xbf",
    "surrogate-pair": b"\xed\xa0\x80\xed\xb0\x80",
    "surrogate-pair-max": b"\xed\xaf\xbf\xed\xbf\xbf",
    "valid-then-invalid-tail": ("x" * 1000).encode() + b"\xff",
}


def _python_valid(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_6_case_tables_agree_with_python():
    assert all(_python_valid(v) for v in VALID.values())
    assert not any(_python_valid(v) for v in INVALID.values())


@pytest.mark.parametrize("name", sorted(VALID))
@pytest.mark.parametrize("how", ["whole", "per-byte-fragments"])
def test_6_valid_utf8_echoed(ws, name, how):
    c = ws()
    data = VALID[name]
    if how == "whole":
        c.send_frame(OP_TEXT, data)
    else:
        c.send_message(OP_TEXT, data, fragments=max(1, len(data)))
    m = c.recv_message()
    assert (m.opcode, m.data) == (OP_TEXT, data)
    c.close_handshake()


@pytest.mark.parametrize("name", sorted(INVALID))
@pytest.mark.parametrize("how", ["whole", "per-byte-fragments", "chopped"])
def test_6_invalid_utf8_fails(ws, name, how):
    c = ws()
    data = INVALID[name]
    if how == "whole":
        c.send_frame(OP_TEXT, data)
    elif how == "per-byte-fragments":
        c.send_message(OP_TEXT, data, fragments=len(data))
    else:
        c.send_chopped(encode_frame(OP_TEXT, data), 1)
    c.expect_fail(1007)


def test_6_multibyte_split_across_fragments(ws):
    """6.2.4 and friends: every split point of a 4-byte and a 3-byte sequence."""
    c = ws()
    for seq in (b"\xf0\x9f\x98\x80", b"\xe2\x82\xac", b"\xc3\xa9"):
        data = b"a" + seq + b"z"
        for cut in range(1, len(data)):
            c.send(encode_frame(OP_TEXT, data[:cut], fin=False) + encode_frame(OP_CONT, data[cut:]))
            assert c.recv_message().data == data


@pytest.mark.parametrize("bad", [b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xff"],
                         ids=["surrogate", "overlong", "above-10ffff", "ff"])
def test_6_fail_fast_on_invalid_first_fragment(ws, bad):
    """6.4.x: the invalid bytes are in the first fragment; the server must fail at once,
    without waiting for the rest of the message."""
    c = ws()
    c.send_frame(OP_TEXT, "κόσμε".encode() + bad, fin=False)
    c.expect_fail(1007, timeout=2.0)


def test_6_fail_fast_inside_a_frame(ws):
    """6.4.3-style: the invalid byte arrives, the frame's remaining payload never does."""
    c = ws()
    frame = encode_frame(OP_TEXT, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80" + b"x" * 100)
    c.send(frame[:6 + 15])  # header, mask key, valid text, the invalid sequence
    c.expect_fail(1007, timeout=2.0)


def test_6_incomplete_sequence_at_end_of_message_fails(ws):
    c = ws()
    c.send(encode_frame(OP_TEXT, b"ok \xe2\x82", fin=False) + encode_frame(OP_CONT, b""))
    c.expect_fail(1007)


def test_6_binary_is_not_validated(ws):
    c = ws()
    data = b"\xff\xfe\xed\xa0\x80\xc0\xaf"
    m = c.echo(data)
    assert (m.opcode, m.data) == (OP_BINARY, data)


# ---------------------------------------------------------------------------
# 7. Close handling
# ---------------------------------------------------------------------------

def test_7_echo_then_close(ws):
    """7.1.1"""
    c = ws()
    assert c.echo("Hello").text == "Hello"
    c.close_handshake(1000)


def test_7_second_close_ignored(ws):
    """7.1.2: a second close frame after the first; exactly one close comes back."""
    c = ws()
    c.send(encode_frame(OP_CLOSE, close_payload(1000)) + encode_frame(OP_CLOSE, close_payload(1001)))
    f = c.recv_close()
    assert f.close_code == 1000
    assert c.wait_eof(5)
    assert not c.buf, f"bytes after the close frame: {c.buf!r}"


def test_7_ping_after_close_not_answered(ws):
    """7.1.3"""
    c = ws()
    c.send(encode_frame(OP_CLOSE, close_payload(1000)) + encode_frame(OP_PING, b"late"))
    c.expect_close(1000, reply=False)
    assert c.pongs == []


def test_7_text_after_close_ignored(ws):
    """7.1.4 / "close then data is ignored": no echo of data sent after the close."""
    c = ws()
    c.send(encode_frame(OP_CLOSE, close_payload(1000)) + encode_frame(OP_TEXT, b"after close"))
    c.expect_close(1000, reply=False)


def test_7_fragment_close_continuation(ws):
    """7.1.5: text fragment, close, continuation: the close is answered, nothing is echoed."""
    c = ws()
    c.send(encode_frame(OP_TEXT, b"fragment1", fin=False) + encode_frame(OP_CLOSE, close_payload(1000))
           + encode_frame(OP_CONT, b"fragment2"))
    c.expect_close(1000, reply=False)


def test_7_large_message_then_close_then_ping(ws):
    """7.1.6: 256 KiB text, close, ping: the close is answered (the echo may or may not
    come first), no pong after the close."""
    c = ws()
    c.send(encode_frame(OP_TEXT, b"BAsd7&jh23" * 26214 + b"Bk") + encode_frame(OP_CLOSE, close_payload(1000))
           + encode_frame(OP_PING, b"after"))
    f = c.expect_close(1000, reply=False, allow_data=True)
    assert f.close_code == 1000 and c.pongs == []


def test_7_close_without_payload(ws):
    """7.3.1: empty close → the server's close is empty or 1000, then TCP close."""
    c = ws()
    c.send_close(None)
    f = c.recv_close()
    assert f.close_code in (None, 1000), f
    assert c.wait_eof(5)


def test_7_close_one_byte_payload_fails(ws):
    """7.3.2"""
    c = ws()
    c.send_frame(OP_CLOSE, b"\x03")
    c.expect_fail(1002)


def test_7_close_code_only(ws):
    """7.3.3"""
    c = ws()
    c.send_close(1000)
    assert c.recv_close().close_code == 1000
    assert c.wait_eof(5)


def test_7_close_with_reason(ws):
    """7.3.4"""
    c = ws()
    c.send_close(1000, "Hello World!")
    assert c.recv_close().close_code == 1000
    assert c.wait_eof(5)


def test_7_close_with_123_byte_reason(ws):
    """7.3.5: the largest reason (payload 125)."""
    c = ws()
    c.send_close(1000, "*" * 123)
    assert c.recv_close().close_code == 1000
    assert c.wait_eof(5)


def test_7_close_with_124_byte_reason_fails(ws):
    """7.3.6: payload 126 is too long for a control frame."""
    c = ws()
    c.send_close(1000, "*" * 124)
    c.expect_fail(1002)


def test_7_close_reason_invalid_utf8_fails(ws):
    """7.5.1"""
    c = ws()
    c.send_close(1000, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64")
    c.expect_fail(1007)


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999])
def test_7_valid_close_code_echoed(ws, code):
    """7.7.x"""
    c = ws()
    c.send_close(code, "reason")
    f = c.recv_close()
    assert f.close_code == code, f
    assert c.wait_eof(5)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999])
def test_7_invalid_close_code_fails(ws, code):
    """7.9.x"""
    c = ws()
    c.send_close(code)
    c.expect_fail(1002)


def test_7_server_closes_tcp_after_close_handshake(ws):
    """RFC 6455 §7.1.1: the server closes the TCP connection first; the client does not
    close its side here, the server must still end the connection promptly."""
    c = ws()
    c.send_close(1000)
    assert c.recv_close(2).close_code == 1000
    t0 = time.monotonic()
    assert c.wait_eof(3), "server kept TCP open after the close handshake"
    assert time.monotonic() - t0 < 3


def test_7_server_initiated_close_then_client_reply(ws):
    """The app closes (code and reason); after the client's reply the server closes TCP."""
    c = ws("/close?code=4321&reason=app%20says%20bye")
    assert c.recv_message().text == "ready"
    f = c.recv_close()
    assert (f.close_code, f.close_reason) == (4321, b"app says bye")
    c.send_close(4321)
    assert c.wait_eof(3)


def test_7_server_initiated_close_client_never_replies(ws):
    """The server does not wait forever for the client's close (bounded close wait)."""
    c = ws("/close?code=1000")
    assert c.recv_message().text == "ready"
    assert c.recv_close().close_code == 1000
    assert c.wait_eof(10), "server kept the connection open with no close reply"
