"""An orders service on SQLite: customers and their orders, wholly ported to C in orders.c.

Run it:               .venv/bin/graft app:app --app-dir examples/orders
                      (or: cd examples/orders && ../../.venv/bin/uvicorn app:app)
Run it, mixed:        .venv/bin/graft app:app --app-dir examples/orders --native build/orders.so
Run it with no Python: .venv/bin/graft-serve --native build/orders.so --openapi examples/orders/openapi.json

Environment:
  ORDERS_DB   the SQLite file (default: orders.db next to this file); created and seeded on
              first use. orders.c runs the very same SQL (SCHEMA_SQL and SEED_SQL, copied
              byte for byte: tests/examples/test_orders.py checks it), so the file is the same
              whichever side opens it first.

Everything here is written so that C can answer byte for byte: responses are plain dicts
(FastAPI writes them with json.dumps, floats as repr), totals are summed in a loop in item
order (no sum(), no SQL SUM over REAL), lists are ordered by id, and every integer parameter
is bounded inside int64 (a larger one fails the bound, in FastAPI and in the kit alike).
"""

from __future__ import annotations

import enum
import os
import sqlite3
from contextlib import closing

from fastapi import FastAPI, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

HERE = os.path.dirname(os.path.abspath(__file__))
DB_PATH = os.environ.get("ORDERS_DB") or os.path.join(HERE, "orders.db")
# graft loads --native libraries after importing the app: exporting the path makes orders.c
# open this very file when ORDERS_DB was not set.
os.environ["ORDERS_DB"] = DB_PATH

ID_MAX = 2**63 - 1  # SQLite rowids are int64

# ---- the database: this text is also in orders.c ----
SCHEMA_SQL = """\
CREATE TABLE IF NOT EXISTS customers (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    name  TEXT    NOT NULL,
    email TEXT    NOT NULL UNIQUE,
    vip   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    reference     TEXT    NOT NULL UNIQUE,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    status        TEXT    NOT NULL,
    note          TEXT,
    ship_street   TEXT    NOT NULL,
    ship_city     TEXT    NOT NULL,
    ship_postcode TEXT    NOT NULL,
    ship_country  TEXT    NOT NULL,
    total         REAL    NOT NULL
);
CREATE TABLE IF NOT EXISTS order_items (
    order_id   INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    sku        TEXT    NOT NULL,
    quantity   INTEGER NOT NULL,
    unit_price REAL    NOT NULL,
    PRIMARY KEY (order_id, position)
);
"""

SEED_SQL = """\
INSERT INTO customers (name, email, vip) VALUES
    ('Ada Lovelace', 'ada@example.org', 1),
    ('Grace Hopper', 'grace@example.org', 0),
    ('Émile Zola', 'emile@example.fr', 0),
    ('Linus Pauling', 'linus@example.com', 1);
INSERT INTO orders (reference, customer_id, status, note, ship_street, ship_city, ship_postcode,
                    ship_country, total) VALUES
    ('ORD-1001', 1, 'paid', NULL, '12 St James''s Square', 'London', 'SW1Y4LB', 'GB', 27.5),
    ('ORD-1002', 1, 'shipped', 'Leave at the door', '12 St James''s Square', 'London', 'SW1Y4LB', 'GB', 120.0),
    ('ORD-1003', 2, 'pending', NULL, '1 Navy Yard', 'Arlington', '22202', 'US', 9.75),
    ('ORD-1004', 3, 'cancelled', 'Annulée', '21 bis rue de Bruxelles', 'Paris', '75009', 'FR', 0.0),
    ('ORD-1005', 4, 'pending', NULL, '1200 E California Blvd', 'Pasadena', '91125', 'US', 1003.25);
INSERT INTO order_items (order_id, position, sku, quantity, unit_price) VALUES
    (1, 0, 'PEN-0001', 3, 2.5), (1, 1, 'INK-0042', 1, 20.0),
    (2, 0, 'LMP-0007', 1, 120.0),
    (3, 0, 'PAD-0100', 3, 3.25),
    (4, 0, 'MUG-0003', 2, 0.0),
    (5, 0, 'SCP-0900', 1, 1000.0), (5, 1, 'PEN-0001', 1, 3.25);
"""


def connect() -> sqlite3.Connection:
    """A connection per request: simple, and correct across threads."""
    conn = sqlite3.connect(DB_PATH, timeout=10, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def init_db() -> None:
    """Creates the tables and seeds them when empty, in one IMMEDIATE transaction (whoever
    comes first, Python or C, seeds; the other then sees the rows)."""
    with closing(connect()) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in SCHEMA_SQL.split(";\n"):
                if stmt.strip():
                    conn.execute(stmt)
            (count,) = conn.execute("SELECT COUNT(*) FROM customers").fetchone()
            if count == 0:
                for stmt in SEED_SQL.split(";\n"):
                    if stmt.strip():
                        conn.execute(stmt)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


# ---- models ----

class OrderStatus(str, enum.Enum):
    pending = "pending"
    paid = "paid"
    shipped = "shipped"
    cancelled = "cancelled"


# Which status may follow which (setting the current one again is always allowed).
TRANSITIONS = {
    "pending": {"paid", "cancelled"},
    "paid": {"shipped", "cancelled"},
    "shipped": set(),
    "cancelled": set(),
}


class Address(BaseModel):
    street: str = Field(min_length=1, max_length=100)
    city: str = Field(min_length=1, max_length=60)
    postcode: str = Field(pattern=r"^[0-9A-Z]{3,10}$")
    country: str = Field(pattern=r"^[A-Z]{2}$")


class Item(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}-[0-9]{4}$")
    quantity: int = Field(ge=1, le=1000)
    unit_price: float = Field(ge=0, le=1000000)


class OrderIn(BaseModel):
    reference: str = Field(pattern=r"^ORD-[0-9]{4,8}$")
    customer_id: int = Field(ge=1, le=10**15)  # an int bound FastAPI writes exactly (2**63-1 it would not)
    status: OrderStatus = OrderStatus.pending
    items: list[Item] = Field(min_length=1, max_length=50)
    note: str | None = Field(default=None, max_length=200)
    shipping: Address


class OrderPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: OrderStatus | None = None
    note: str | None = Field(default=None, max_length=200)


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    email: str = Field(max_length=120, pattern=r"^[^@ ]+@[^@ ]+\.[a-z]{2,}$")
    vip: bool = False


# ---- rows to JSON (plain dicts, in this key order) ----

def customer_dict(row: sqlite3.Row) -> dict:
    return {"id": row["id"], "name": row["name"], "email": row["email"], "vip": bool(row["vip"])}


def order_dict(conn: sqlite3.Connection, row: sqlite3.Row) -> dict:
    items = conn.execute("SELECT sku, quantity, unit_price FROM order_items WHERE order_id = ? "
                         "ORDER BY position", (row["id"],)).fetchall()
    return {
        "id": row["id"],
        "reference": row["reference"],
        "customer_id": row["customer_id"],
        "status": row["status"],
        "note": row["note"],
        "shipping": {"street": row["ship_street"], "city": row["ship_city"],
                     "postcode": row["ship_postcode"], "country": row["ship_country"]},
        "items": [{"sku": i["sku"], "quantity": i["quantity"], "unit_price": i["unit_price"]}
                  for i in items],
        "total": row["total"],
    }


def get_order_row(conn: sqlite3.Connection, order_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="Order not found")
    return row


def customer_exists(conn: sqlite3.Connection, customer_id: int) -> bool:
    return conn.execute("SELECT 1 FROM customers WHERE id = ?", (customer_id,)).fetchone() is not None


def order_page(conn, where: list[str], args: list, limit: int, offset: int) -> dict:
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    (total,) = conn.execute("SELECT COUNT(*) FROM orders" + clause, args).fetchone()
    rows = conn.execute("SELECT * FROM orders" + clause + " ORDER BY id LIMIT ? OFFSET ?",
                        [*args, limit, offset]).fetchall()
    return {"items": [order_dict(conn, r) for r in rows], "total": total, "limit": limit, "offset": offset}


init_db()
# Bodies above 1 MiB get 413, the default limit of orders.c's routes (graft_router_set_body_limit).
app = FastAPI(title="orders", version="1.0.0", max_body_size=1 << 20)

Limit = Query(20, ge=1, le=100)
Offset = Query(0, ge=0, le=1_000_000_000)
OrderId = Path(ge=1, le=ID_MAX)
CustomerId = Path(ge=1, le=ID_MAX)


# ---- customers ----

@app.get("/customers")
def list_customers(limit: int = Limit, offset: int = Offset, vip: bool | None = None,
                   q: str | None = Query(None, min_length=1, max_length=80)):
    where, args = [], []
    if vip is not None:
        where.append("vip = ?")
        args.append(int(vip))
    if q is not None:
        where.append("instr(name, ?) > 0")
        args.append(q)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    with closing(connect()) as conn:
        (total,) = conn.execute("SELECT COUNT(*) FROM customers" + clause, args).fetchone()
        rows = conn.execute("SELECT * FROM customers" + clause + " ORDER BY id LIMIT ? OFFSET ?",
                            [*args, limit, offset]).fetchall()
    return {"items": [customer_dict(r) for r in rows], "total": total, "limit": limit, "offset": offset}


@app.get("/customers/{customer_id}")
def get_customer(customer_id: int = CustomerId):
    with closing(connect()) as conn:
        row = conn.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="Customer not found")
    return customer_dict(row)


@app.post("/customers", status_code=201)
def create_customer(customer: CustomerIn):
    with closing(connect()) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM customers WHERE email = ?", (customer.email,)).fetchone():
                raise HTTPException(status_code=409, detail="Email already registered")
            cur = conn.execute("INSERT INTO customers (name, email, vip) VALUES (?, ?, ?)",
                               (customer.name, customer.email, int(customer.vip)))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return {"id": cur.lastrowid, "name": customer.name, "email": customer.email, "vip": customer.vip}


@app.get("/customers/{customer_id}/orders")
def list_customer_orders(customer_id: int = CustomerId, status: OrderStatus | None = None,
                         limit: int = Limit, offset: int = Offset):
    with closing(connect()) as conn:
        if not customer_exists(conn, customer_id):
            raise HTTPException(status_code=404, detail="Customer not found")
        where, args = ["customer_id = ?"], [customer_id]
        if status is not None:
            where.append("status = ?")
            args.append(status.value)
        return order_page(conn, where, args, limit, offset)


# ---- orders ----

@app.get("/orders")
def list_orders(status: OrderStatus | None = None,
                customer_id: int | None = Query(None, ge=1, le=ID_MAX),
                min_total: float | None = Query(None, ge=0, le=1e12),
                limit: int = Limit, offset: int = Offset):
    where, args = [], []
    if status is not None:
        where.append("status = ?")
        args.append(status.value)
    if customer_id is not None:
        where.append("customer_id = ?")
        args.append(customer_id)
    if min_total is not None:
        where.append("total >= ?")
        args.append(min_total)
    with closing(connect()) as conn:
        return order_page(conn, where, args, limit, offset)


@app.get("/orders/{order_id}")
def get_order(order_id: int = OrderId):
    with closing(connect()) as conn:
        return order_dict(conn, get_order_row(conn, order_id))


@app.post("/orders", status_code=201)
def create_order(order: OrderIn):
    total = 0.0
    for item in order.items:  # a loop, in item order: C sums the same way
        total += item.quantity * item.unit_price
    ship = order.shipping
    with closing(connect()) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not customer_exists(conn, order.customer_id):
                raise HTTPException(status_code=404, detail="Customer not found")
            if conn.execute("SELECT 1 FROM orders WHERE reference = ?", (order.reference,)).fetchone():
                raise HTTPException(status_code=409, detail="Order reference already exists")
            cur = conn.execute(
                "INSERT INTO orders (reference, customer_id, status, note, ship_street, ship_city, "
                "ship_postcode, ship_country, total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (order.reference, order.customer_id, order.status.value, order.note, ship.street,
                 ship.city, ship.postcode, ship.country, total))
            order_id = cur.lastrowid
            for pos, item in enumerate(order.items):
                conn.execute("INSERT INTO order_items (order_id, position, sku, quantity, unit_price) "
                             "VALUES (?, ?, ?, ?, ?)", (order_id, pos, item.sku, item.quantity, item.unit_price))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return order_dict(conn, get_order_row(conn, order_id))


@app.patch("/orders/{order_id}")
def update_order(patch: OrderPatch, order_id: int = OrderId):
    with closing(connect()) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = get_order_row(conn, order_id)
            if patch.status is not None and patch.status.value != row["status"]:
                if patch.status.value not in TRANSITIONS[row["status"]]:
                    raise HTTPException(status_code=409, detail=f"Cannot change status from "
                                        f"{row['status']} to {patch.status.value}")
                conn.execute("UPDATE orders SET status = ? WHERE id = ?", (patch.status.value, order_id))
            if patch.note is not None:
                conn.execute("UPDATE orders SET note = ? WHERE id = ?", (patch.note, order_id))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return order_dict(conn, get_order_row(conn, order_id))


@app.delete("/orders/{order_id}", status_code=204)
def delete_order(order_id: int = OrderId):
    with closing(connect()) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = get_order_row(conn, order_id)
            if row["status"] not in ("pending", "cancelled"):
                raise HTTPException(status_code=409, detail="Only pending or cancelled orders can be deleted")
            conn.execute("DELETE FROM order_items WHERE order_id = ?", (order_id,))
            conn.execute("DELETE FROM orders WHERE id = ?", (order_id,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return Response(status_code=204)


@app.get("/stats")
def stats():
    """Counts per status (every status, in the enum's order) and the revenue of paid and
    shipped orders, summed in id order."""
    by_status = {s.value: 0 for s in OrderStatus}
    revenue = 0.0
    with closing(connect()) as conn:
        for row in conn.execute("SELECT status, total FROM orders ORDER BY id"):
            by_status[row["status"]] += 1
            if row["status"] in ("paid", "shipped"):
                revenue += row["total"]
        (customers,) = conn.execute("SELECT COUNT(*) FROM customers").fetchone()
    return {"customers": customers, "orders": sum(by_status.values()), "by_status": by_status,
            "revenue": revenue}
