"""The Python side of the chat example: the page (and anything else) stays in FastAPI; the
WebSocket endpoint /chat/{room} is native C (chat.c). Without --native, this Python endpoint
answers instead (an echo), so the page works either way."""

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

app = FastAPI()

PAGE = """<!doctype html>
<title>graft chat</title>
<input id="msg" placeholder="say something"><button id="send">send</button>
<pre id="log"></pre>
<script>
const ws = new WebSocket(`ws://${location.host}/chat/lobby`);
const log = (t) => document.getElementById("log").textContent += t + "\\n";
ws.onmessage = (e) => log(e.data);
document.getElementById("send").onclick = () => ws.send(document.getElementById("msg").value);
</script>
"""


@app.get("/", response_class=HTMLResponse)
async def page():
    return PAGE


@app.websocket("/chat/{room}")
async def chat_python(websocket: WebSocket, room: str):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass
