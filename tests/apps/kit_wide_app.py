"""A FastAPI app whose routes tests/native/libs/kit_wide.c serves natively
(tests/native/test_kit_wide.py): integer parameters without a bound that decides a value beyond
int64, which Python's ints hold. /wide/items opts in (GRAFT_ROUTE_WIDE_INT) and echoes every
int; /wide/plain is the same without the flag. Every answer of the app has the header
x-served-by: app, so a test can tell the app's answers from the native ones."""

from __future__ import annotations

from typing import Annotated, List, Optional

from fastapi import Cookie, FastAPI, Header, Path, Query

app = FastAPI()


@app.get("/wide/items/{item_id}")
def items(
    item_id: Annotated[int, Path()],
    lo: Annotated[int, Query(ge=0)] = 0,
    hi: Annotated[int, Query(le=10)] = 0,
    m: Annotated[Optional[int], Query(multiple_of=3)] = None,
    tags: Annotated[List[int], Query()] = [],
    x_n: Annotated[Optional[int], Header()] = None,
    session: Annotated[Optional[int], Cookie()] = None,
):
    return {"item_id": item_id, "big": item_id > 2**63 - 1 or item_id < -2**63, "lo": lo, "hi": hi,
            "m": m, "tags": tags, "x_n": x_n, "session": session}


@app.get("/wide/plain/{item_id}")
def plain(item_id: int):
    return {"item_id": item_id}


class ServedBy:
    """Marks every answer of the app (its own 422s included)."""

    def __init__(self, app):
        self.app = app

    def __getattr__(self, name):  # openapi(), routes: the wrapped app's
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        async def send2(msg):
            if msg["type"] == "http.response.start":
                msg = dict(msg)
                msg["headers"] = list(msg.get("headers", [])) + [(b"x-served-by", b"app")]
            await send(msg)

        await self.app(scope, receive, send2)


fastapi_app = app
app = ServedBy(fastapi_app)
