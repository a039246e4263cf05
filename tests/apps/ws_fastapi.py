"""A FastAPI app with a WebSocket endpoint, for the real-browser test
(tests/websocket/test_ws_browser.py).

GET /      an HTML page whose script opens ws://<host>/ws, sends a text message, a
           binary message and a 200 000-character text, checks each echo, and writes
           what it got into <div id="result"> (and document.title); the close code the
           browser saw goes into <div id="closed">.
/ws        echoes text as text and bytes as bytes until the client disconnects.
"""

from __future__ import annotations

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

app = FastAPI()

PAGE = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>pending</title></head>
<body>
<div id="result">pending</div>
<div id="closed">open</div>
<div id="ext"></div>
<script>
const result = document.getElementById("result");
const out = (s) => { result.textContent = s; document.title = s; };
const big = "0123456789".repeat(20000);
const steps = [];
try {
  const ws = new WebSocket("ws://" + location.host + "/ws");
  ws.binaryType = "arraybuffer";
  let step = 0;
  ws.onopen = () => {
    document.getElementById("ext").textContent = "extensions=" + ws.extensions;
    ws.send("hello from chromium \\u2713");
  };
  ws.onmessage = (ev) => {
    if (step === 0) {
      steps.push("text:" + ev.data);
      ws.send(new Uint8Array([1, 2, 3, 255]));
    } else if (step === 1) {
      steps.push("bytes:" + Array.from(new Uint8Array(ev.data)).join(","));
      ws.send(big);
    } else if (step === 2) {
      steps.push("big:" + (ev.data === big ? "equal" : "different " + ev.data.length));
      out("echo " + steps.join(" | "));
      ws.close(4000, "done");
    }
    step++;
  };
  ws.onerror = () => out("error after " + steps.join(" | "));
  ws.onclose = (ev) => {
    document.getElementById("closed").textContent = "closed " + ev.code + " " + ev.reason + " clean=" + ev.wasClean;
  };
} catch (e) {
  out("exception " + e);
}
</script>
</body>
</html>
"""


@app.get("/")
async def index():
    return HTMLResponse(PAGE)


@app.websocket("/ws")
async def ws_echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            msg = await websocket.receive()
            if msg["type"] == "websocket.disconnect":
                return
            if msg.get("text") is not None:
                await websocket.send_text(msg["text"])
            else:
                await websocket.send_bytes(msg["bytes"])
    except WebSocketDisconnect:
        return
