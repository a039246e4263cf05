"""A real browser against graft: headless Chromium (Debian package ``chromium``) loads
a page from a FastAPI app served by graft (tests/apps/ws_fastapi.py); the page's
script opens ws://, sends text, binary and a 200 000-character message (Chromium
offers permessage-deflate, so this is compressed both ways), checks each echo and
writes the result into the DOM.

The DOM is read through the DevTools protocol (Runtime.evaluate, polled with a
deadline): ``--dump-dom`` with a virtual-time budget does not wait for WebSocket
traffic, so it would race. A missing chromium is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest
from websockets.sync.client import connect

from util import Server, stop_and_check

CHROMIUM = "chromium"


class Browser:
    def __init__(self):
        exe = shutil.which(CHROMIUM)
        assert exe, ("chromium is not installed: `apt-get install chromium` "
                     "(scripts/setup-system.sh installs it)")
        self.dir = tempfile.mkdtemp(prefix="graft-chromium-")
        self.log = open(os.path.join(self.dir, "chromium.log"), "wb")
        self.proc = subprocess.Popen(
            [exe, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--user-data-dir={self.dir}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
            # `make test-asan` preloads the sanitizer runtime for graft; the browser is not ours
            env={k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")})
        try:
            self.port = self._devtools_port(30)
        except BaseException:
            self.close()  # never leave a browser running when start-up fails
            raise
        self._id = 0

    def _devtools_port(self, timeout: float) -> int:
        path = os.path.join(self.dir, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"chromium exited with {self.proc.returncode}: {self.output()}"
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first.isdigit():
                    return int(first)
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"chromium's DevTools port not ready after {timeout}s: {self.output()}")

    def output(self) -> str:
        try:
            with open(os.path.join(self.dir, "chromium.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-3000:]
        except OSError:
            return ""

    def page_ws_url(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=5) as r:
            targets = json.load(r)
        pages = [t for t in targets if t.get("type") == "page"]
        assert pages, targets
        return pages[0]["webSocketDebuggerUrl"]

    def call(self, ws, method: str, **params):
        self._id += 1
        ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        deadline = time.monotonic() + 10
        while True:
            msg = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("id") == self._id:
                assert "error" not in msg, msg
                return msg.get("result", {})

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def fastapi_server():
    s = Server("ws_fastapi:app").start()
    yield s
    stop_and_check(s)


def test_chromium_websocket_echo(fastapi_server):
    browser = Browser()
    try:
        with connect(browser.page_ws_url(), proxy=None, open_timeout=10, max_size=None) as cdp:
            browser.call(cdp, "Page.enable")
            browser.call(cdp, "Page.navigate", url=fastapi_server.url("/"))

            def dom(element_id: str) -> str | None:
                r = browser.call(cdp, "Runtime.evaluate", returnByValue=True,
                                 expression=f"(document.getElementById({element_id!r}) || {{}}).textContent")
                return r.get("result", {}).get("value")

            deadline = time.monotonic() + 20
            result = None
            while time.monotonic() < deadline:
                result = dom("result")
                if result not in (None, "pending"):
                    break
                time.sleep(0.1)
            closed = dom("closed")
            while closed == "open" and time.monotonic() < deadline:
                time.sleep(0.1)
                closed = dom("closed")
            ext = dom("ext")
        assert result == "echo text:hello from chromium \u2713 | bytes:1,2,3,255 | big:equal", \
            f"DOM result {result!r} (closed: {closed!r}, {ext!r})\n--- graft ---\n{fastapi_server.output()}"
        assert ext == "extensions=permessage-deflate", ext
        # the server echoes the close code (RFC 6455 §5.5.1); echoing the reason is optional
        assert closed.startswith("closed 4000 ") and closed.endswith(" clean=true"), closed
    finally:
        browser.close()
