"""A realistic FastAPI app for the differential tests (graft vs uvicorn).

Everything it returns is deterministic for a given request (no timestamps,
no client ports), so two servers must give identical answers.
"""

from __future__ import annotations

import asyncio
import os

from fastapi import (
    BackgroundTasks,
    Cookie,
    FastAPI,
    File,
    Form,
    Header,
    HTTPException,
    Request,
    Response,
    UploadFile,
)
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    StreamingResponse,
)
from pydantic import BaseModel, Field

HERE = os.path.dirname(os.path.abspath(__file__))
STATIC_FILE = os.path.join(HERE, "fastapi_app.py")  # served by FileResponse (this very file)

app = FastAPI(title="graft differential app")
app.add_middleware(GZipMiddleware, minimum_size=500)
app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://example.com"],
    allow_methods=["GET", "POST", "PUT"],
    allow_headers=["X-Custom", "Content-Type"],
    allow_credentials=True,
    expose_headers=["X-Custom"],
    max_age=600,
)

BG_STORE: dict[str, str] = {}


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    price: float = Field(gt=0)
    tags: list[str] = []
    description: str | None = None


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None, limit: int = 10, x_custom: str | None = Header(None)):
    return {"item_id": item_id, "q": q, "limit": limit, "x_custom": x_custom}


@app.post("/items", status_code=201)
async def create_item(item: Item):
    return {"created": item.model_dump(), "total": item.price * 2}


@app.put("/items/{item_id}")
def update_item(item_id: int, item: Item):
    # sync endpoint: runs in the threadpool (anyio) — needs a real asyncio Task
    return {"item_id": item_id, "name": item.name}


@app.get("/stream")
async def stream(n: int = 5):
    async def gen():
        for i in range(n):
            yield f"line {i}\n".encode()
            await asyncio.sleep(0.01)

    return StreamingResponse(gen(), media_type="text/plain")


@app.get("/sse")
async def sse(n: int = 4):
    async def gen():
        for i in range(n):
            yield f"id: {i}\nevent: tick\ndata: {{\"i\": {i}}}\n\n"
            await asyncio.sleep(0.01)

    return StreamingResponse(gen(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@app.get("/file")
async def file():
    return FileResponse(STATIC_FILE, media_type="text/x-python", filename="fastapi_app.py")


@app.post("/upload")
async def upload(file: UploadFile = File(...), note: str = Form(...), extra: list[str] = Form([])):
    data = await file.read()
    return {"filename": file.filename, "content_type": file.content_type, "size": len(data),
            "head": data[:20].decode("latin-1"), "note": note, "extra": extra}


@app.post("/form")
async def form(username: str = Form(...), age: int = Form(...), remember: bool = Form(False)):
    return {"username": username, "age": age, "remember": remember}


@app.post("/bg/{key}", status_code=202)
async def start_bg(key: str, value: str, background: BackgroundTasks):
    async def work():
        await asyncio.sleep(0.05)
        BG_STORE[key] = value

    background.add_task(work)
    return {"queued": key}


@app.get("/bg/{key}")
async def get_bg(key: str):
    if key not in BG_STORE:
        raise HTTPException(status_code=404, detail="not yet")
    return {"key": key, "value": BG_STORE[key]}


@app.get("/big")
async def big():
    return PlainTextResponse("graft " * 2000)


@app.get("/big-json")
async def big_json():
    return {"rows": [{"i": i, "name": f"row-{i}", "ok": i % 2 == 0} for i in range(300)]}


@app.get("/missing")
async def missing():
    raise HTTPException(status_code=404, detail="Item not found", headers={"X-Error": "missing"})


@app.get("/crash")
async def crash():
    raise RuntimeError("unhandled")


@app.get("/headers")
async def headers(response: Response):
    response.headers["X-Custom"] = "custom-value"
    response.headers["X-Multi"] = "a"
    response.headers.append("X-Multi", "b")
    response.headers["Cache-Control"] = "max-age=60"
    response.headers["ETag"] = '"abc123"'
    return {"ok": True}


@app.get("/cookies/set")
async def set_cookies():
    r = JSONResponse({"set": True})
    r.set_cookie("session", "s3cr3t", httponly=True, samesite="lax", path="/")
    r.set_cookie("theme", "dark", max_age=3600)
    return r


@app.get("/cookies/read")
async def read_cookies(session: str | None = Cookie(None), theme: str | None = Cookie(None)):
    return {"session": session, "theme": theme}


@app.get("/redirect")
async def redirect():
    return RedirectResponse("/items/1?q=redirected")


@app.get("/redirect-301")
async def redirect_301():
    return RedirectResponse("https://example.com/elsewhere", status_code=301)


@app.get("/html", response_class=HTMLResponse)
async def html():
    return "<html><body><h1>caf\u00e9</h1></body></html>"


@app.get("/echo-request")
async def echo_request(request: Request):
    return {
        "method": request.method,
        "path": request.url.path,
        "query": str(request.url.query),
        "path_params": request.path_params,
        "root_path": request.scope.get("root_path"),
        "scheme": request.url.scheme,
        "http_version": request.scope.get("http_version"),
        "headers": {k: v for k, v in request.headers.items() if k not in ("host", "user-agent")},
    }


@app.post("/echo-body")
async def echo_body(request: Request):
    body = await request.body()
    return Response(body, media_type=request.headers.get("content-type", "application/octet-stream"))


@app.get("/unicode/{name}")
async def unicode_path(name: str):
    return {"name": name}


@app.get("/empty", status_code=204)
async def empty():
    return Response(status_code=204)


@app.get("/not-modified")
async def not_modified():
    return Response(status_code=304, headers={"ETag": '"v1"'})


# --- mounted sub-application -------------------------------------------------
subapp = FastAPI()


@subapp.get("/info")
async def sub_info(request: Request):
    return {
        "url_path": request.url.path,
        "scope_path": request.scope["path"],
        "root_path": request.scope.get("root_path"),
        "route_path": request.scope.get("route_path") or request.scope["path"][len(request.scope.get("root_path", "")):],
        "url_for": str(request.url_for("sub_info")),
    }


@subapp.get("/items/{x}")
async def sub_items(x: str):
    return {"sub": x}


app.mount("/sub", subapp)
