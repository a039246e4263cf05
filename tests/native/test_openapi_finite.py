"""graft openapi's allow_inf_nan=False (graft/openapi.py): a body float field whose only hidden
rule it is gets "x-graft-allow-inf-nan": false on its schema, not x-graft-unsupported; any other
hidden rule beside it, or on another type, still marks the operation."""
from __future__ import annotations

from typing import Optional

from fastapi import FastAPI
from pydantic import BaseModel, Field

from graft.openapi import FINITE_EXT, document


class Finite(BaseModel):
    price: float = Field(ge=0, allow_inf_nan=False)
    maybe: Optional[float] = Field(None, allow_inf_nan=False)
    free: float = Field(1.0, allow_inf_nan=True)
    plain: float = 0.0


class FiniteInt(BaseModel):
    n: int = Field(0, allow_inf_nan=False)


class FiniteStrict(BaseModel):
    p: float = Field(0.0, allow_inf_nan=False, strict=True)


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/finite")
    def finite(body: Finite):
        return body

    @app.post("/finite-int")
    def finite_int(body: FiniteInt):
        return body

    @app.post("/finite-strict")
    def finite_strict(body: FiniteStrict):
        return body

    return app


def test_allow_inf_nan_false_is_written_for_the_kit():
    doc = document(_app())
    props = doc["components"]["schemas"]["Finite"]["properties"]
    assert props["price"][FINITE_EXT] is False and props["maybe"][FINITE_EXT] is False
    assert FINITE_EXT not in props["free"] and FINITE_EXT not in props["plain"]
    assert "x-graft-unsupported" not in doc["paths"]["/finite"]["post"]


def test_other_hidden_rules_still_mark_the_operation():
    doc = document(_app())
    assert "AllowInfNan" in doc["paths"]["/finite-int"]["post"]["x-graft-unsupported"]
    assert "x-graft-unsupported" in doc["paths"]["/finite-strict"]["post"]
    assert FINITE_EXT not in doc["components"]["schemas"]["FiniteInt"]["properties"]["n"]
