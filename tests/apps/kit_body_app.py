"""A FastAPI app taking JSON request bodies (Pydantic models) whose routes
tests/native/libs/kit_body.c serves natively through route contracts
(tests/native/test_kit_body.py). Every answer of the app has the header x-served-by: app. The
answers are built from values C reproduces exactly (floats as floor(x * 1000))."""

from __future__ import annotations

import math
from enum import Enum
from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fastapi import Body, FastAPI

from kit_app import ServedBy  # the same marker of the app's answers


class Color(str, Enum):
    red = "red"
    green = "green"
    blue = "blue"


class Addr(BaseModel):
    city: str = Field(min_length=1, max_length=12)
    zip: int = Field(ge=0)


class Line(BaseModel):
    sku: str
    qty: int = Field(gt=0)


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=8)
    price: float = Field(gt=0)
    qty: int = 1
    ok: bool
    notes: Optional[str] = None
    addr: Addr
    tags: List[int] = Field(min_length=1, max_length=3)
    color: Color = Color.red
    lines: List[Line] = []
    billing: Optional[Addr] = None


class Loose(BaseModel):
    a: int
    b: Optional[float] = None
    s: List[str] = []
    t: Optional[str] = "dflt"


app = FastAPI()


def _addr(a: Optional[Addr]):
    return None if a is None else {"city": a.city, "zip": a.zip}


@app.post("/kitb/orders/{shop}")
def create(shop: int, order: Order, dry: bool = False):
    return {
        "shop": shop,
        "dry": dry,
        "name": order.name,
        "price_milli": math.floor(order.price * 1000),
        "qty": order.qty,
        "ok": order.ok,
        "notes": order.notes,
        "addr": _addr(order.addr),
        "tags": order.tags,
        "color": order.color.value,
        "lines": [{"sku": x.sku, "qty": x.qty} for x in order.lines],
        "billing": _addr(order.billing),
    }


def _loose(item: Loose):
    return {"a": item.a, "b_milli": None if item.b is None else math.floor(item.b * 1000), "s": item.s,
            "t": item.t}


@app.put("/kitb/loose")
def loose(item: Loose):
    return _loose(item)


@app.post("/kitb/embed")
def embed(item: Loose = Body(embed=True)):
    return _loose(item)


@app.post("/kitb/streamed")
def streamed(item: Loose):
    """kit_body.c registers this route without GRAFT_ROUTE_BODY: graft declines it."""
    return _loose(item)


class Checked(BaseModel):
    a: int

    @field_validator("a")
    @classmethod
    def positive(cls, v: int) -> int:
        if v < 0:
            raise ValueError("negative")
        return v


@app.post("/kitb/checked")
def checked(item: Checked):
    """A validator the document cannot show: graft openapi marks the operation."""
    return {"a": item.a}


fastapi_app = app
app = ServedBy(fastapi_app)
