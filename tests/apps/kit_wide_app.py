"""A FastAPI app whose routes tests/native/libs/kit_wide.c serves natively
(tests/native/test_kit_wide.py): integer parameters without a bound that decides a value beyond
int64, which Python's ints hold. /wide/items opts in (GRAFT_ROUTE_WIDE_INT) and echoes every
int; /wide/plain is the same without the flag. Every answer of the app has the header
x-served-by: app, so a test can tell the app's answers from the native ones."""

from __future__ import annotations

from typing import Annotated, List, Optional

from fastapi import Cookie, FastAPI, Header, Path, Query

from kit_app import ServedBy  # the same marker of the app's answers

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


fastapi_app = app
app = ServedBy(fastapi_app)
