"""The app behind tests/native/test_shadow.py: the Python originals of tests/native/libs/shadow.c's
routes. Every answer carries what the port should reproduce; /who says who answered."""

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

app = FastAPI()


def _compact(obj) -> Response:
    import json

    return Response(json.dumps(obj, separators=(",", ":")), media_type="application/json")


@app.get("/items/{item_id}")
async def item(item_id: int):
    return _compact({"id": item_id, "name": f"item-{item_id}"})


@app.get("/who")
async def who():
    return _compact({"from": "python"})


@app.get("/stream/{n}")
async def stream(n: int):
    return PlainTextResponse("".join(f"line {i}\n" for i in range(n)))


@app.get("/headers")
async def headers():
    return Response("ok", media_type="text/plain", headers={"x-a": "1", "x-b": "2"})


@app.get("/cookie")
async def cookie():
    r = Response("ok", media_type="text/plain")
    r.set_cookie("session", "python-secret")
    return r


@app.get("/bytes")
async def binary():
    return Response(bytes([0xFF, 0x00, 0xFE, 0x01]), media_type="application/octet-stream")


@app.get("/missing")
async def missing():
    return _compact({"here": True})


@app.get("/decline")
async def decline():
    return _compact({"declined": False})


@app.get("/fail")
async def fail():
    return _compact({"fail": False})


@app.get("/slow")
async def slow():
    return _compact({"slow": True})


@app.post("/search")
async def search(request: Request):
    body = (await request.body()).decode()
    return _compact({"q": body[:100], "hits": len(body)})


@app.post("/orders", status_code=201)
async def orders():
    return JSONResponse({})


@app.get("/stream-py/{n}")
async def stream_py(n: int):
    async def gen():
        for i in range(n):
            yield f"line {i}\n"

    return StreamingResponse(gen(), media_type="text/plain; charset=utf-8")
