"""The route bench/kit_ab.py measures, as FastAPI states it: its OpenAPI document is the
contract the kit-validated handler (kit.c) gets; hand.c parses the same inputs by hand."""

from fastapi import FastAPI, Query

app = FastAPI()


@app.get("/items/{item_id}")
def item(item_id: int, limit: int = Query(10, ge=1, le=100), q: str | None = None):
    return {"id": item_id, "limit": limit, "q": q}
