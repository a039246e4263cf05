"""A frame-level WebSocket client (RFC 6455, RFC 7692) for the server tests.

Unlike a client library it sends whatever it is told: any opcode, RSV bits,
unmasked or fragmented frames, control frames between fragments, broken UTF-8,
bad close payloads. It checks what the server sends (server frames must be
unmasked, control frames short and final) and never answers a ping unless told.

    c = WSClient(port, "/echo")            # connects and performs the handshake
    c.send_text("hi"); assert c.recv_message().text == "hi"
    c.send_frame(OP_TEXT, b"\\xff")         # one raw frame
    c.expect_fail(1007)                    # a close frame with 1007, then TCP close

Every wait is bounded (``timeout`` seconds, 5 by default).
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import sys
import time
import zlib
from dataclasses import dataclass

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))

from util import Conn, Response, build_request  # noqa: E402

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
RSV1, RSV2, RSV3 = 0x40, 0x20, 0x10

DEFLATE_TAIL = b"\x00\x00\xff\xff"


def accept_for(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def new_key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


def encode_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0,
                 mask: bool = True, mask_key: bytes | None = None, length: int | None = None) -> bytes:
    """One client frame. ``rsv`` is an OR of RSV1/RSV2/RSV3; ``length`` overrides the
    length field (the payload is still sent as given)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | rsv | (opcode & 0x0F)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4) if mask_key is None else mask_key
    return head + key + apply_mask(payload, key)


def apply_mask(data: bytes, key: bytes) -> bytes:
    if not data:
        return b""
    n = len(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def close_payload(code: int | None = None, reason: bytes | str = b"") -> bytes:
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode()
    return struct.pack("!H", code) + reason


@dataclass
class Frame:
    fin: bool
    rsv: int
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        assert self.opcode == OP_CLOSE
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def close_reason(self) -> bytes:
        return self.payload[2:]

    def __repr__(self):
        p = self.payload[:60]
        return (f"<Frame op={self.opcode:#x} fin={int(self.fin)} rsv={self.rsv >> 4:03b} "
                f"len={len(self.payload)} {p!r}{'...' if len(self.payload) > 60 else ''}>")


@dataclass
class Message:
    opcode: int            # OP_TEXT, OP_BINARY or OP_CLOSE
    data: bytes
    compressed: bool = False
    frames: int = 1
    wire_len: int = 0      # payload bytes on the wire (compressed size)

    @property
    def text(self) -> str:
        assert self.opcode == OP_TEXT, self
        return self.data.decode("utf-8")

    @property
    def close_code(self) -> int | None:
        return struct.unpack("!H", self.data[:2])[0] if len(self.data) >= 2 else None

    def __repr__(self):
        p = self.data[:60]
        return (f"<Message op={self.opcode:#x} len={len(self.data)} {p!r}"
                f"{'...' if len(self.data) > 60 else ''} compressed={self.compressed}>")


class ProtocolViolation(AssertionError):
    """The server sent something RFC 6455 forbids."""


class Timeout(AssertionError):
    pass


class Closed(AssertionError):
    """The TCP connection ended while a frame was expected."""


class Deflate:
    """permessage-deflate state of one side pair (RFC 7692)."""

    def __init__(self, params: dict[str, str | None], client_bits: int = 15):
        self.params = params
        self.server_no_ctx = "server_no_context_takeover" in params
        self.client_no_ctx = "client_no_context_takeover" in params
        sb = params.get("server_max_window_bits")
        self.server_bits = int(sb) if sb else 15
        cb = params.get("client_max_window_bits")
        self.client_bits = min(int(cb), client_bits) if cb else client_bits
        self._c = None
        self._d = None

    def compress(self, data: bytes) -> bytes:
        if self._c is None or self.client_no_ctx:
            if self.client_bits < 9:
                # zlib refuses raw deflate with an 8-bit window: Huffman-only output has no
                # back-references at all, so it is valid for any window size
                self._c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -9, 8, zlib.Z_HUFFMAN_ONLY)
            else:
                self._c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self.client_bits)
        out = self._c.compress(data) + self._c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(DEFLATE_TAIL)
        return out[:-4]

    def decompress(self, data: bytes) -> bytes:
        if self._d is None or self.server_no_ctx:
            # decompressing with the negotiated window catches a server that uses a bigger one
            self._d = zlib.decompressobj(-self.server_bits)
        out = self._d.decompress(data + DEFLATE_TAIL)
        assert not self._d.unconsumed_tail
        return out


def parse_extensions(value: str | None) -> list[tuple[str, dict[str, str | None]]]:
    out = []
    if not value:
        return out
    for ext in value.split(","):
        parts = [p.strip() for p in ext.split(";")]
        params: dict[str, str | None] = {}
        for p in parts[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                params[k.strip()] = v.strip().strip('"')
            else:
                params[p] = None
        out.append((parts[0], params))
    return out


class HandshakeFailed(AssertionError):
    def __init__(self, response: Response):
        super().__init__(f"handshake failed: {response!r}")
        self.response = response


class WSClient(Conn):
    """One WebSocket connection (a util.Conn with frame I/O on top)."""

    def __init__(self, port: int, path: str = "/echo", *, headers=(), extensions: str | None = None,
                 subprotocols=(), timeout: float = 5.0, client_bits: int = 15, handshake: bool = True,
                 key: str | None = None):
        super().__init__(port, timeout=timeout)
        self.path = path
        self.key = key or new_key()
        self.response: Response | None = None
        self.deflate: Deflate | None = None
        self.pings: list[bytes] = []      # payloads of pings received (not answered unless auto_pong)
        self.pongs: list[bytes] = []
        self.auto_pong = False
        self.close_frame: Frame | None = None
        self._client_bits = client_bits
        if handshake:
            self.handshake(headers=headers, extensions=extensions, subprotocols=subprotocols)

    # -- handshake ---------------------------------------------------------
    def handshake_request(self, headers=(), extensions: str | None = None, subprotocols=()) -> bytes:
        hdrs = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", self.key),
                ("Sec-WebSocket-Version", "13")]
        if extensions:
            hdrs.append(("Sec-WebSocket-Extensions", extensions))
        if subprotocols:
            hdrs.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
        hdrs.extend(headers)
        return build_request("GET", self.path, hdrs)

    def handshake(self, headers=(), extensions: str | None = None, subprotocols=()) -> Response:
        self.send(self.handshake_request(headers, extensions, subprotocols))
        resp = self.read_response(timeout=self.timeout)
        self.response = resp
        if resp.status != 101:
            raise HandshakeFailed(resp)
        if resp.header("upgrade", "").lower() != "websocket":
            raise ProtocolViolation(f"101 without Upgrade: websocket: {resp!r}")
        if "upgrade" not in [t.strip().lower() for t in resp.header("connection", "").split(",")]:
            raise ProtocolViolation(f"101 without Connection: upgrade: {resp!r}")
        if resp.header("sec-websocket-accept") != accept_for(self.key):
            raise ProtocolViolation(f"wrong Sec-WebSocket-Accept: {resp!r}")
        exts = parse_extensions(resp.header("sec-websocket-extensions"))
        if exts:
            offered = extensions or any(k.lower() == "sec-websocket-extensions" for k, _ in headers)
            if len(exts) != 1 or exts[0][0] != "permessage-deflate" or not offered:
                raise ProtocolViolation(f"extension the client did not offer: {exts}")
            self.deflate = Deflate(exts[0][1], self._client_bits)
        return resp

    # -- sending -------------------------------------------------------------
    def send_frame(self, opcode: int, payload: bytes = b"", **kw) -> bool:
        return self.send(encode_frame(opcode, payload, **kw))

    def send_chopped(self, data: bytes, chunk: int, delay: float = 0.0) -> None:
        """Writes bytes in small TCP writes (frames split across reads)."""
        for i in range(0, len(data), chunk):
            self.send(data[i:i + chunk])
            if delay:
                time.sleep(delay)

    def send_message(self, opcode: int, data: bytes | str, *, fragments: int = 1, compress: bool | None = None,
                     sizes: list[int] | None = None) -> None:
        """A text/binary message, optionally compressed (default: when negotiated) and split
        into ``fragments`` frames (or frames of the given ``sizes``)."""
        if isinstance(data, str):
            data = data.encode()
        if compress is None:
            compress = self.deflate is not None
        rsv = 0
        if compress:
            assert self.deflate, "permessage-deflate not negotiated"
            data = self.deflate.compress(data)
            rsv = RSV1
        if sizes is None:
            step = max(1, -(-len(data) // fragments)) if data else 0
            parts = [data[i:i + step] for i in range(0, len(data), step)] if step else [b""]
            while len(parts) < fragments:
                parts.append(b"")
        else:
            parts, pos = [], 0
            for s in sizes:
                parts.append(data[pos:pos + s])
                pos += s
            if pos < len(data):
                parts.append(data[pos:])
        out = bytearray()
        for i, part in enumerate(parts):
            out += encode_frame(opcode if i == 0 else OP_CONT, part, fin=i == len(parts) - 1,
                                rsv=rsv if i == 0 else 0)
        self.send(bytes(out))

    def send_text(self, text: str | bytes, **kw) -> None:
        self.send_message(OP_TEXT, text, **kw)

    def send_binary(self, data: bytes, **kw) -> None:
        self.send_message(OP_BINARY, data, **kw)

    def send_ping(self, payload: bytes = b"") -> bool:
        return self.send_frame(OP_PING, payload)

    def send_pong(self, payload: bytes = b"") -> bool:
        return self.send_frame(OP_PONG, payload)

    def send_close(self, code: int | None = 1000, reason: bytes | str = b"") -> bool:
        return self.send_frame(OP_CLOSE, close_payload(code, reason))

    # -- receiving -----------------------------------------------------------
    def _parse_frame(self) -> tuple[Frame, int] | None:
        b = self.buf
        if len(b) < 2:
            return None
        b0, b1 = b[0], b[1]
        if b1 & 0x80:
            raise ProtocolViolation(f"server frame is masked: {b[:16]!r}")
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = struct.unpack("!H", b[2:4])[0]
            pos = 4
            if n < 126:
                raise ProtocolViolation(f"non-minimal 16-bit length {n}")
        elif n == 127:
            if len(b) < 10:
                return None
            n = struct.unpack("!Q", b[2:10])[0]
            pos = 10
            if n <= 0xFFFF or n >> 63:
                raise ProtocolViolation(f"bad 64-bit length {n}")
        if len(b) < pos + n:
            return None
        f = Frame(bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F, bytes(b[pos:pos + n]))
        if f.opcode & 0x8:
            if not f.fin or n > 125:
                raise ProtocolViolation(f"bad server control frame {f!r}")
        if f.opcode not in (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG):
            raise ProtocolViolation(f"reserved opcode from the server {f!r}")
        if f.rsv & (RSV2 | RSV3) or (f.rsv & RSV1 and (not self.deflate or f.opcode not in (OP_TEXT, OP_BINARY))):
            raise ProtocolViolation(f"RSV bits the server may not set {f!r}")
        return f, pos + n

    def recv_frame(self, timeout: float | None = None) -> Frame:
        """The next frame. Raises Timeout, or Closed on EOF."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            r = self._parse_frame()
            if r is not None:
                f, used = r
                self.buf = self.buf[used:]
                return f
            if self.eof:
                raise Closed(f"connection closed; {len(self.buf)} unparsed bytes {self.buf[:40]!r}")
            if not self._recv_some(deadline):
                raise Timeout(f"no frame within the timeout; buffered {self.buf[:40]!r}")

    def recv_message(self, timeout: float | None = None) -> Message:
        """The next data message (reassembled, inflated) or a close frame as a Message with
        opcode OP_CLOSE. Pings and pongs are recorded (and answered if auto_pong)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        parts: list[bytes] = []
        op = None
        compressed = False
        nframes = 0
        while True:
            f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == OP_PING:
                self.pings.append(f.payload)
                if self.auto_pong:
                    self.send_pong(f.payload)
                continue
            if f.opcode == OP_PONG:
                self.pongs.append(f.payload)
                continue
            if f.opcode == OP_CLOSE:
                if op is not None:
                    raise ProtocolViolation(f"close inside a fragmented message: {f!r}")
                self.close_frame = f
                return Message(OP_CLOSE, f.payload, frames=1, wire_len=len(f.payload))
            nframes += 1
            if op is None:
                if f.opcode == OP_CONT:
                    raise ProtocolViolation(f"continuation without a message: {f!r}")
                op = f.opcode
                compressed = bool(f.rsv & RSV1)
            elif f.opcode != OP_CONT or f.rsv:
                raise ProtocolViolation(f"bad frame inside a fragmented message: {f!r}")
            parts.append(f.payload)
            if f.fin:
                data = b"".join(parts)
                wire = len(data)
                if compressed:
                    data = self.deflate.decompress(data)
                if op == OP_TEXT:
                    try:
                        data.decode("utf-8")
                    except UnicodeDecodeError as e:
                        raise ProtocolViolation(f"server sent invalid UTF-8 text: {e}") from None
                return Message(op, data, compressed, nframes, wire)

    def recv_close(self, timeout: float | None = None) -> Frame:
        """Reads (and discards data messages) until a close frame arrives."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            m = self.recv_message(max(0.0, deadline - time.monotonic()))
            if m.opcode == OP_CLOSE:
                return self.close_frame

    def expect_close(self, code: int | tuple | None, *, reply: bool = True, timeout: float | None = None,
                     tcp_close: bool = True, allow_data: bool = False) -> Frame:
        """The server's close frame must come next (data messages allowed if ``allow_data``)
        with ``code`` (None: no payload; a tuple: any of them); then it must close TCP."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        got = []
        while True:
            try:
                m = self.recv_message(max(0.0, deadline - time.monotonic()))
            except Closed:
                raise AssertionError(f"TCP closed without a close frame (expected {code}); "
                                     f"messages before: {got}") from None
            except Timeout:
                raise AssertionError(f"no close frame (expected {code}) within the timeout; "
                                     f"messages before: {got}; pongs {self.pongs}") from None
            if m.opcode == OP_CLOSE:
                break
            got.append(m)
            if not allow_data:
                raise AssertionError(f"expected close {code}, got data message {m!r}")
        f = self.close_frame
        want = code if isinstance(code, tuple) else (code,)
        assert f.close_code in want, f"expected close code {code}, got {f.close_code} ({f!r})"
        if f.close_reason:
            f.close_reason.decode("utf-8")  # must be valid UTF-8
        if reply:
            self.send_close(f.close_code if f.close_code not in (None, 1005, 1006, 1015) else 1000)
        if tcp_close:
            left = max(0.5, deadline - time.monotonic())
            assert self.wait_eof(left), f"server did not close TCP after the close frame {f!r}"
        return f

    def expect_fail(self, code: int, timeout: float | None = None) -> Frame:
        """The server fails the connection: close frame with ``code`` (data messages before it
        are allowed, e.g. echoes of earlier valid messages), then TCP close."""
        return self.expect_close(code, reply=False, timeout=timeout, allow_data=True)

    def wait_eof(self, timeout: float) -> bool:
        """True once the server has closed TCP (further frames are kept in buf)."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            if not self._recv_some(deadline):
                return False
        return True

    def close_handshake(self, code: int = 1000, reason: str = "", timeout: float | None = None) -> Frame:
        """Client-initiated close: send, then the server's close must echo the code and TCP end."""
        self.send_close(code, reason)
        f = self.recv_close(timeout)
        assert f.close_code == code, f"close {code} echoed as {f!r}"
        assert self.wait_eof(self.timeout if timeout is None else timeout), "no TCP close after the handshake"
        return f

    def echo(self, data: bytes | str, **kw) -> Message:
        """Sends a message and returns the next one received."""
        if isinstance(data, str):
            self.send_text(data, **kw)
        else:
            self.send_binary(data, **kw)
        return self.recv_message()

