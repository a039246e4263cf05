"""A products service on SQLite: the "before" of the migration example.

Run it:            .venv/bin/graft app:app --app-dir examples/products
Run it, mixed:     .venv/bin/graft app:app --app-dir examples/products --native build/products_routes.so

routes.c (next to this file) ports three of these routes to C: GET /products,
GET /products/{product_id} and POST /products. The C versions read and write
the same database and answer byte-for-byte what this file answers; whatever
they do not replicate exactly they decline, and this app answers it. See
docs/MIGRATING.md.

Environment:
  PRODUCTS_DB            the SQLite file (default: products.db next to this file);
                         created with its table on first use, seeded when empty.
  PRODUCTS_MARK_PYTHON   test-only: when "1", every response this app makes gets
                         the header x-python: 1, so a test can tell which side
                         answered a request (routes.c never adds it). Leave it
                         unset in production.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

from fastapi import FastAPI, HTTPException, Query, Response
from pydantic import BaseModel, Field

HERE = os.path.dirname(os.path.abspath(__file__))
DB_PATH = os.environ.get("PRODUCTS_DB") or os.path.join(HERE, "products.db")
# graft loads --native libraries after importing the app, in this process: exporting the
# path makes routes.c open this very file when PRODUCTS_DB was not set.
os.environ["PRODUCTS_DB"] = DB_PATH
MARK_PYTHON = os.environ.get("PRODUCTS_MARK_PYTHON") == "1"

# Request bodies above this get 413; routes.c sets the same limit for its POST.
MAX_BODY_SIZE = 1 << 20

# SQLite integers are 64-bit; ids and offsets beyond that cannot exist.
INT64_MAX = 2**63 - 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT    NOT NULL,
    price    REAL    NOT NULL,
    category TEXT    NOT NULL,
    in_stock INTEGER NOT NULL
)
"""

SEED = [
    ("Espresso cup", 9.99, "kitchen", True),
    ("Chef's knife", 49.5, "kitchen", True),
    ("Cast-iron pan", 35.0, "kitchen", False),
    ("Desk lamp", 24.0, "office", True),
    ("Notebook (A5)", 3.25, "office", True),
    ("Fountain pen", 120.0, "office", False),
    ("Trail shoes", 89.9, "outdoor", True),
    ("Tent, 2 persons", 199.0, "outdoor", True),
    ("Thermos 0.5 l", 0.0, "outdoor", False),
    ("Café au lait bowl", 12.75, "kitchen", True),
    ("Stapler", 7.0, "office", True),
    ("Head torch", 19.95, "outdoor", True),
]


def connect() -> sqlite3.Connection:
    """A connection per request: simple, and correct across threads."""
    conn = sqlite3.connect(DB_PATH, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def init_db() -> None:
    """Creates the table and seeds it when empty. BEGIN IMMEDIATE serializes this
    across worker processes starting at the same time (one seeds, the others see rows)."""
    with closing(connect()) as conn:
        conn.isolation_level = None  # explicit transactions below
        conn.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer (C or Python)
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(SCHEMA)
            (count,) = conn.execute("SELECT COUNT(*) FROM products").fetchone()
            if count == 0:
                conn.executemany(
                    "INSERT INTO products (name, price, category, in_stock) VALUES (?, ?, ?, ?)",
                    [(n, p, c, int(s)) for n, p, c, s in SEED],
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


class ProductIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    price: float = Field(ge=0, allow_inf_nan=False)
    category: str
    in_stock: bool = True


class Product(BaseModel):
    id: int
    name: str
    price: float
    category: str
    in_stock: bool


class ProductList(BaseModel):
    items: list[Product]
    total: int
    limit: int
    offset: int


def row_to_product(row: sqlite3.Row) -> Product:
    return Product(id=row["id"], name=row["name"], price=row["price"], category=row["category"],
                   in_stock=bool(row["in_stock"]))


class MarkPython:
    """Test-only ASGI wrapper (PRODUCTS_MARK_PYTHON=1): adds x-python: 1 to every
    response of this app, validation errors, 404s, 413s and 500s included."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_marked(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-python", b"1")]}
            await send(message)

        await self.app(scope, receive, send_marked)


init_db()
app = FastAPI(title="products", max_body_size=MAX_BODY_SIZE)


# ---- ported to C in routes.c ----------------------------------------------

@app.get("/products", response_model=ProductList)
def list_products(
    limit: int = Query(10, ge=1, le=100),
    offset: int = Query(0, ge=0),
    category: str | None = None,
    min_price: float | None = None,
    max_price: float | None = None,
    in_stock: bool | None = None,
):
    where, args = [], []
    if category is not None:
        where.append("category = ?")
        args.append(category)
    if min_price is not None:
        where.append("price >= ?")
        args.append(min_price)
    if max_price is not None:
        where.append("price <= ?")
        args.append(max_price)
    if in_stock is not None:
        where.append("in_stock = ?")
        args.append(int(in_stock))
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    with closing(connect()) as conn:
        (total,) = conn.execute("SELECT COUNT(*) FROM products" + clause, args).fetchone()
        rows = []
        if offset <= INT64_MAX:
            rows = conn.execute(
                "SELECT id, name, price, category, in_stock FROM products" + clause
                + " ORDER BY id LIMIT ? OFFSET ?", [*args, limit, offset],
            ).fetchall()
    return ProductList(items=[row_to_product(r) for r in rows], total=total, limit=limit, offset=offset)


@app.get("/products/{product_id}", response_model=Product)
def get_product(product_id: int):
    row = None
    if -INT64_MAX - 1 <= product_id <= INT64_MAX:
        with closing(connect()) as conn:
            row = conn.execute(
                "SELECT id, name, price, category, in_stock FROM products WHERE id = ?", (product_id,)
            ).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="Product not found")
    return row_to_product(row)


@app.post("/products", response_model=Product, status_code=201)
def create_product(product: ProductIn):
    with closing(connect()) as conn, conn:
        cur = conn.execute(
            "INSERT INTO products (name, price, category, in_stock) VALUES (?, ?, ?, ?)",
            (product.name, product.price, product.category, int(product.in_stock)),
        )
        new_id = cur.lastrowid
    return Product(id=new_id, **product.model_dump())


# ---- Python only ------------------------------------------------------------

@app.put("/products/{product_id}", response_model=Product)
def update_product(product_id: int, product: ProductIn):
    changed = 0
    if -INT64_MAX - 1 <= product_id <= INT64_MAX:
        with closing(connect()) as conn, conn:
            changed = conn.execute(
                "UPDATE products SET name = ?, price = ?, category = ?, in_stock = ? WHERE id = ?",
                (product.name, product.price, product.category, int(product.in_stock), product_id),
            ).rowcount
    if not changed:
        raise HTTPException(status_code=404, detail="Product not found")
    return Product(id=product_id, **product.model_dump())


@app.delete("/products/{product_id}", status_code=204)
def delete_product(product_id: int):
    deleted = 0
    if -INT64_MAX - 1 <= product_id <= INT64_MAX:
        with closing(connect()) as conn, conn:
            deleted = conn.execute("DELETE FROM products WHERE id = ?", (product_id,)).rowcount
    if not deleted:
        raise HTTPException(status_code=404, detail="Product not found")
    return Response(status_code=204)


@app.get("/reports/summary")
def summary():
    with closing(connect()) as conn:
        rows = conn.execute(
            "SELECT category, COUNT(*) AS count, AVG(price) AS average_price, "
            "SUM(in_stock) AS in_stock FROM products GROUP BY category ORDER BY category"
        ).fetchall()
    categories = [
        {"category": r["category"], "count": r["count"], "average_price": round(r["average_price"], 2),
         "in_stock": r["in_stock"]}
        for r in rows
    ]
    return {"categories": categories, "total": sum(c["count"] for c in categories)}


if MARK_PYTHON:  # outermost, so body-limit 413s and 500s are marked too
    app = MarkPython(app)
