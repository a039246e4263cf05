"""A FastAPI app for the tools' tests (tests/tools/): `graft port` skeletons of its routes
(path, query, header and cookie parameters, lists, a nested body with a list of models) and
`graft diff --openapi` runs against it. An in-memory store (items 1..20 exist at start) takes
writes, so two servers sent the same requests stay in step. PORT_APP_VARIANT=1 makes a
deliberately different app: GET /items/{item_id} answers 410 instead of 404 for a missing item.
"""

from __future__ import annotations

import os
from enum import Enum
from typing import Annotated, Dict, List, Literal, Optional

from pydantic import BaseModel, Field

from fastapi import Cookie, FastAPI, Header, HTTPException, Path, Query


class Kind(str, Enum):
    book = "book"
    pen = "pen"


class Dim(BaseModel):
    w: int = Field(ge=1, le=1000)
    h: int = Field(ge=1, le=1000)


class Part(BaseModel):
    sku: str = Field(min_length=2, max_length=6)
    qty: int = Field(gt=0)
    fragile: bool = False


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    price: float = Field(ge=0, lt=10000)
    kind: Kind
    tags: List[str] = Field(default=[], max_length=3)
    dim: Optional[Dim] = None
    parts: List[Part] = []
    flags: List[bool] = []


class Meta(BaseModel):
    info: Dict[str, int]


app = FastAPI()
STORE: dict[int, dict] = {i: {"id": i, "name": f"item{i}", "price": float(i), "kind": "book"} for i in range(1, 21)}
VARIANT = os.environ.get("PORT_APP_VARIANT") == "1"


@app.get("/items/{item_id}")
def get_item(item_id: Annotated[int, Path(ge=1)], x_trace: Annotated[Optional[str], Header(max_length=8)] = None):
    if item_id not in STORE:
        raise HTTPException(status_code=410 if VARIANT else 404, detail="Item not found")
    return dict(STORE[item_id], trace=x_trace)


@app.get("/shops/{shop}/items")
def list_items(
    shop: Annotated[str, Path(min_length=2, max_length=8)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    min_price: Annotated[Optional[float], Query(ge=0)] = None,
    kind: Optional[Kind] = None,
    ids: Annotated[List[int], Query()] = [],
    labels: Annotated[Optional[List[str]], Query()] = None,
    verbose: bool = False,
    x_token: Annotated[Optional[str], Header(min_length=2)] = None,
    session: Annotated[Optional[int], Cookie()] = None,
):
    rows = [r for r in STORE.values() if (min_price is None or r["price"] >= min_price)
            and (kind is None or r["kind"] == kind.value) and (not ids or r["id"] in ids)]
    rows = rows[offset:offset + limit]
    return {"shop": shop, "rows": rows if verbose else [r["id"] for r in rows], "labels": labels,
            "x_token": x_token, "session": session}


@app.post("/shops/{shop}/items", status_code=201)
def create_item(shop: Annotated[int, Path(ge=1, le=100)], item: Item, dry: bool = False):
    new_id = max(STORE) + 1 if STORE else 1
    row = {"id": new_id, "name": item.name, "price": item.price, "kind": item.kind.value}
    if not dry:
        STORE[new_id] = row
    return dict(row, shop=shop, parts=len(item.parts), flags=sum(item.flags))


@app.delete("/items/{item_id}", status_code=204)
def delete_item(item_id: int):
    if STORE.pop(item_id, None) is None:
        raise HTTPException(status_code=404, detail="Item not found")


@app.get("/modes")
def modes(mode: Literal["a", "b"] = "a", flags: Annotated[List[bool], Query()] = []):
    """A Literal: a construct the kit does not support (graft port warns); a list of booleans:
    no typed item getter."""
    return {"mode": mode, "flags": flags}


@app.post("/meta")
def meta(m: Meta):
    """A dict field: a body construct the kit does not support."""
    return m.info


def _marked():
    from kit_app import ServedBy  # x-served-by: app on every answer of the app itself

    return ServedBy(app)


marked = _marked()
