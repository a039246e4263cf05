"""The app behind `graft routes`' tests (tests/native/test_routes_report.py): FastAPI routes
with typed parameters, a WebSocket route, and a Starlette sub-app mounted at /sub."""

from fastapi import FastAPI, WebSocket
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/items/{item_id}")
async def get_item(item_id: int):
    return {"item_id": item_id}


@app.post("/items")
async def create_item():
    return {}


@app.delete("/items/{item_id}")
async def delete_item(item_id: int):
    return {}


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    await websocket.close()


async def _x(request):
    return PlainTextResponse("x")


app.mount("/sub", Starlette(routes=[Route("/x/{n:int}", _x, methods=["GET"])]))
