"""The FastAPI app that tests/native/libs/fastapi_routes.c mirrors, route for route and in the
same order (tests/native/test_fastapi_routing.py): graft serves it with no native library, and
its routing-level answers (404, 405 + allow, HEAD on a GET route, the trailing-slash 307) are
what ``graft-serve --fastapi-routing`` must give for the library's routes."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI(title="graft fastapi-routing reference")


def _text(name: str, param: str | None = None) -> PlainTextResponse:
    return PlainTextResponse(name if param is None else f"{name}|{param}|")


@app.get("/items")
def items_get():
    return _text("items_get")


@app.post("/items")
def items_post():
    return _text("items_post")


@app.get("/items/{item_id}")
def item_get(item_id: str):
    return _text("item_get", item_id)


@app.delete("/items/{item_id}")
def item_delete(item_id: str):
    return _text("item_delete", item_id)


@app.get("/books/{book_id}")
def book(book_id: str):
    return _text("book", book_id)


@app.get("/files/{rest:path}")
def files(rest: str):
    return _text("files", rest)


@app.get("/café")
def cafe():
    return _text("cafe")


@app.put("/things/")
def things():
    return _text("things")


@app.head("/only-head")
def only_head():
    return _text("only_head")
