"""A FastAPI app whose routes tests/native/libs/kit.c serves natively through route contracts
(tests/native/test_kit_params.py). Every answer of the app has the header x-served-by: app
(a middleware), so a test can tell the app's answers from the native ones; the bodies are
built from values C reproduces exactly (no float texts: floats as floor(x * 1000))."""

from __future__ import annotations

import math
from datetime import datetime
from enum import Enum, IntEnum
from typing import Annotated, List, Literal, Optional
from uuid import UUID

from pydantic import AfterValidator

from fastapi import Cookie, Depends, FastAPI, Header, HTTPException, Path, Query


class Color(str, Enum):
    red = "red"
    green = "green"
    blue = "blue"


class Level(IntEnum):
    low = 1
    high = 3


app = FastAPI()


@app.get("/kit/items/{item_id}")
def items(
    item_id: Annotated[int, Path(ge=1)],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    q: Annotated[Optional[str], Query(max_length=5, pattern="^[a-z]+$")] = None,
    ratio: Annotated[float, Query(gt=0, le=1.0)] = 0.5,
    flag: bool = False,
    tags: Annotated[List[int], Query()] = [],
    color: Color = Color.red,
    level: Optional[Level] = None,
    uid: Optional[UUID] = None,
    when: Optional[datetime] = None,
    x_token: Annotated[Optional[str], Header(min_length=2)] = None,
    session: Annotated[Optional[int], Cookie()] = None,
):
    if item_id == 404:
        raise HTTPException(status_code=404, detail="Item \"404\" not found: ü")
    return {
        "item_id": item_id,
        "limit": limit,
        "q": q,
        "ratio_milli": math.floor(ratio * 1000),
        "flag": flag,
        "tags": tags,
        "color": color.value,
        "level": None if level is None else int(level),
        "uid": None if uid is None else uid.hex,
        "year": None if when is None else when.year,
        "x_token": x_token,
        "session": session,
    }


@app.get("/kit/users/{name}")
def users(name: Annotated[str, Path(min_length=2)], n: int, scores: Annotated[List[float], Query()] = [],
          labels: Annotated[Optional[List[str]], Query()] = None):
    return {"name": name, "n": n, "scores_milli": [math.floor(s * 1000) for s in scores], "labels": labels}


@app.get("/kit/literal")
def literal(mode: Literal["a", "b"] = "a"):
    return {"mode": mode}


def page_size(size: int = 10) -> int:
    return size


@app.get("/kit/dep")
def dep(size: Annotated[int, Depends(page_size)], a: int = 0):
    """Parameters of a dependency are validated first: a contract FastAPI's document cannot
    give (x-graft-unsupported)."""
    return {"size": size, "a": a}


@app.get("/kit/hidden")
def hidden(a: Annotated[int, AfterValidator(lambda v: v * 2), Query()] = 1):
    """A validator the document does not show (x-graft-unsupported)."""
    return {"a": a}


@app.get("/query")
def query(q: int):
    """Also a route of tests/native/libs/features.c, a library without the kit: its contract
    must change nothing there."""
    return {"q": q}


class ServedBy:
    """Marks every answer of the app (its own 422s and HTTPExceptions included)."""

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
