/* orders.c — every route of app.py in C, on the kit: the contract (the app's OpenAPI document)
 * validates parameters and bodies and writes FastAPI's 422s, so what is left here is the
 * service's logic: SQLite reads and writes, 404/409s, and JSON written as app.py writes it.
 *
 * Build (README.md):
 *   cc -O2 -Wall -Wextra -shared -fPIC $(.venv/bin/graft-config --cflags) examples/orders/orders.c \
 *      -o build/orders.so $(.venv/bin/graft-config --libs) -lsqlite3
 * Run with no Python:
 *   ORDERS_DB=/srv/orders.db .venv/bin/graft-serve --native build/orders.so \
 *      --openapi examples/orders/openapi.json
 *
 * The database: the --native configuration string (orders.so?/path/orders.db), else $ORDERS_DB,
 * else orders.db. SCHEMA_SQL and SEED_SQL are app.py's text, so whichever side opens the file
 * first creates the same tables and rows. Each thread has its own connection (thread state);
 * reads run on the I/O threads, writes on the worker pool (GRAFT_ROUTE_BLOCKING).
 *
 * JSON: app.py returns plain dicts, which FastAPI writes with json.dumps: floats as Python's
 * repr, which is what graft_json_double writes. Totals are summed in item order, as app.py's
 * loop does (IEEE doubles give the same sum; build without -ffp-contract=fast on FMA targets). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <graft.h>
#include <sqlite3.h>

GRAFT_LIBRARY()

static const char SCHEMA_SQL[] =
    "CREATE TABLE IF NOT EXISTS customers (\n"
    "    id    INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "    name  TEXT    NOT NULL,\n"
    "    email TEXT    NOT NULL UNIQUE,\n"
    "    vip   INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS orders (\n"
    "    id            INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "    reference     TEXT    NOT NULL UNIQUE,\n"
    "    customer_id   INTEGER NOT NULL REFERENCES customers(id),\n"
    "    status        TEXT    NOT NULL,\n"
    "    note          TEXT,\n"
    "    ship_street   TEXT    NOT NULL,\n"
    "    ship_city     TEXT    NOT NULL,\n"
    "    ship_postcode TEXT    NOT NULL,\n"
    "    ship_country  TEXT    NOT NULL,\n"
    "    total         REAL    NOT NULL\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS order_items (\n"
    "    order_id   INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,\n"
    "    position   INTEGER NOT NULL,\n"
    "    sku        TEXT    NOT NULL,\n"
    "    quantity   INTEGER NOT NULL,\n"
    "    unit_price REAL    NOT NULL,\n"
    "    PRIMARY KEY (order_id, position)\n"
    ");\n";

static const char SEED_SQL[] =
    "INSERT INTO customers (name, email, vip) VALUES\n"
    "    ('Ada Lovelace', 'ada@example.org', 1),\n"
    "    ('Grace Hopper', 'grace@example.org', 0),\n"
    "    ('\xc3\x89mile Zola', 'emile@example.fr', 0),\n"
    "    ('Linus Pauling', 'linus@example.com', 1);\n"
    "INSERT INTO orders (reference, customer_id, status, note, ship_street, ship_city, ship_postcode,\n"
    "                    ship_country, total) VALUES\n"
    "    ('ORD-1001', 1, 'paid', NULL, '12 St James''s Square', 'London', 'SW1Y4LB', 'GB', 27.5),\n"
    "    ('ORD-1002', 1, 'shipped', 'Leave at the door', '12 St James''s Square', 'London', 'SW1Y4LB', 'GB', 120.0),\n"
    "    ('ORD-1003', 2, 'pending', NULL, '1 Navy Yard', 'Arlington', '22202', 'US', 9.75),\n"
    "    ('ORD-1004', 3, 'cancelled', 'Annul\xc3\xa9" "e', '21 bis rue de Bruxelles', 'Paris', '75009', 'FR', 0.0),\n"
    "    ('ORD-1005', 4, 'pending', NULL, '1200 E California Blvd', 'Pasadena', '91125', 'US', 1003.25);\n"
    "INSERT INTO order_items (order_id, position, sku, quantity, unit_price) VALUES\n"
    "    (1, 0, 'PEN-0001', 3, 2.5), (1, 1, 'INK-0042', 1, 20.0),\n"
    "    (2, 0, 'LMP-0007', 1, 120.0),\n"
    "    (3, 0, 'PAD-0100', 3, 3.25),\n"
    "    (4, 0, 'MUG-0003', 2, 0.0),\n"
    "    (5, 0, 'SCP-0900', 1, 1000.0), (5, 1, 'PEN-0001', 1, 3.25);\n";

static const char *const STATUSES[] = {"pending", "paid", "shipped", "cancelled"};

/* ---------------------------------------------------------------- database */

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    return db;
}

static int count_of(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* app.py's init_db: tables, and the seed when there are no customers, in one IMMEDIATE
 * transaction so that concurrent first openers (C or Python) seed once. */
static int init_db(const char *path)
{
    sqlite3 *db = open_db(path);
    if (!db)
        return -1;
    int ok = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    if (ok) {
        ok = sqlite3_exec(db, SCHEMA_SQL, NULL, NULL, NULL) == SQLITE_OK;
        int n = ok ? count_of(db, "SELECT COUNT(*) FROM customers") : -1;
        ok = n > 0 || (n == 0 && sqlite3_exec(db, SEED_SQL, NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_exec(db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    }
    if (!ok)
        fprintf(stderr, "orders: cannot initialise %s: %s\n", path, sqlite3_errmsg(db));
    sqlite3_close(db);
    return ok ? 0 : -1;
}

static void *thread_db_new(void *lib_state)
{
    return open_db(lib_state);
}

static void thread_db_free(void *db)
{
    sqlite3_close(db);
}

/* One query's bound values: what app.py collects in its `args` list. */
typedef struct {
    int n;
    struct { char kind; int64_t i; double d; const char *s; int n; } v[12];
} args;

static void arg_int(args *a, int64_t i) { a->v[a->n].kind = 'i', a->v[a->n++].i = i; }
static void arg_double(args *a, double d) { a->v[a->n].kind = 'd', a->v[a->n++].d = d; }
static void arg_text_n(args *a, const char *s, int n) { a->v[a->n].kind = 's', a->v[a->n].n = n, a->v[a->n++].s = s; }
static void arg_text(args *a, const char *s) { arg_text_n(a, s, -1); }
/* A body string field, with its length: Python's strings may hold NULs (JSON's \u0000). */
static void arg_body(args *a, graft_request *req, const char *path)
{
    size_t n = 0;
    const char *s = graft_body_str(req, path, &n);
    arg_text_n(a, s, (int)n);
}

static sqlite3_stmt *query(sqlite3 *db, const char *sql, const args *a)
{
    sqlite3_stmt *st = NULL;
    if (!db || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    for (int k = 0; a && k < a->n; k++) {
        if (a->v[k].kind == 'i')
            sqlite3_bind_int64(st, k + 1, a->v[k].i);
        else if (a->v[k].kind == 'd')
            sqlite3_bind_double(st, k + 1, a->v[k].d);
        else if (a->v[k].kind == 's')
            sqlite3_bind_text(st, k + 1, a->v[k].s, a->v[k].n, SQLITE_TRANSIENT);
    }
    return st;
}

/* Runs a statement to its end: SQLITE_DONE when it did. */
static int exec(sqlite3 *db, const char *sql, const args *a)
{
    sqlite3_stmt *st = query(db, sql, a);
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    sqlite3_finalize(st);
    return rc;
}

static int exists(sqlite3 *db, const char *sql, const args *a)
{
    sqlite3_stmt *st = query(db, sql, a);
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* ---------------------------------------------------------------- JSON of rows */

static void col_text(graft_json *j, const char *key, sqlite3_stmt *st, int col)
{
    graft_json_key(j, key);
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        graft_json_null(j);
    else
        graft_json_string(j, (const char *)sqlite3_column_text(st, col), (size_t)sqlite3_column_bytes(st, col));
}

static void write_customer(graft_json *j, sqlite3_stmt *st)
{
    graft_json_object_begin(j);
    graft_json_key(j, "id");
    graft_json_int(j, sqlite3_column_int64(st, 0));
    col_text(j, "name", st, 1);
    col_text(j, "email", st, 2);
    graft_json_key(j, "vip");
    graft_json_bool(j, sqlite3_column_int(st, 3));
    graft_json_object_end(j);
}

/* app.py's order_dict, from a `SELECT * FROM orders` row. */
static int write_order(graft_json *j, sqlite3 *db, sqlite3_stmt *st)
{
    static const char *const ship[] = {"street", "city", "postcode", "country"};
    int64_t id = sqlite3_column_int64(st, 0);
    graft_json_object_begin(j);
    graft_json_key(j, "id");
    graft_json_int(j, id);
    col_text(j, "reference", st, 1);
    graft_json_key(j, "customer_id");
    graft_json_int(j, sqlite3_column_int64(st, 2));
    col_text(j, "status", st, 3);
    col_text(j, "note", st, 4);
    graft_json_key(j, "shipping");
    graft_json_object_begin(j);
    for (int k = 0; k < 4; k++)
        col_text(j, ship[k], st, 5 + k);
    graft_json_object_end(j);
    graft_json_key(j, "items");
    graft_json_array_begin(j);
    args a = {0};
    arg_int(&a, id);
    sqlite3_stmt *it = query(db, "SELECT sku, quantity, unit_price FROM order_items WHERE order_id = ? "
                                 "ORDER BY position", &a);
    int rc;
    while (it && (rc = sqlite3_step(it)) == SQLITE_ROW) {
        graft_json_object_begin(j);
        col_text(j, "sku", it, 0);
        graft_json_key(j, "quantity");
        graft_json_int(j, sqlite3_column_int64(it, 1));
        graft_json_key(j, "unit_price");
        graft_json_double(j, sqlite3_column_double(it, 2));
        graft_json_object_end(j);
    }
    sqlite3_finalize(it);
    graft_json_array_end(j);
    graft_json_key(j, "total");
    graft_json_double(j, sqlite3_column_double(st, 9));
    graft_json_object_end(j);
    return it && rc == SQLITE_DONE ? 0 : -1;
}

/* Sends the finished writer, or a 500 when the database failed along the way. */
static int send(graft_request *req, int status, graft_json *j, int failed)
{
    if (!j)
        return GRAFT_ENOMEM;
    if (failed) {
        graft_json_free(j);
        return graft_respond(req, 500, "text/plain; charset=utf-8", "Internal Server Error", 21);
    }
    return graft_respond_json(req, status, j);
}

/* The order as app.py answers it after a read or write; 404 when there is none. */
static int respond_order(graft_request *req, sqlite3 *db, int status, int64_t id)
{
    args a = {0};
    arg_int(&a, id);
    sqlite3_stmt *st = query(db, "SELECT * FROM orders WHERE id = ?", &a);
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return graft_respond_detail(req, 404, "Order not found");
    }
    graft_json *j = graft_json_new();
    int failed = rc != SQLITE_ROW || (j && write_order(j, db, st) < 0);
    sqlite3_finalize(st);
    return send(req, status, j, failed);
}

/* {"items": [...], "total", "limit", "offset"} of `SELECT * FROM table WHERE ...`. */
static int respond_page(graft_request *req, const char *table, const char *where, args *a)
{
    sqlite3 *db = graft_thread_state(req);
    char sql[512];
    int64_t limit = graft_arg_int(req, "limit"), offset = graft_arg_int(req, "offset");
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s%s%s", table, *where ? " WHERE " : "", where);
    sqlite3_stmt *st = query(db, sql, a);
    int failed = !st || sqlite3_step(st) != SQLITE_ROW;
    int64_t total = failed ? 0 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    snprintf(sql, sizeof sql, "SELECT * FROM %s%s%s ORDER BY id LIMIT ? OFFSET ?", table, *where ? " WHERE " : "",
             where);
    arg_int(a, limit);
    arg_int(a, offset);
    st = failed ? NULL : query(db, sql, a);
    graft_json *j = graft_json_new();
    if (j) {
        graft_json_object_begin(j);
        graft_json_key(j, "items");
        graft_json_array_begin(j);
        int rc = SQLITE_ERROR;
        while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (strcmp(table, "orders") == 0)
                failed |= write_order(j, db, st) < 0;
            else
                write_customer(j, st);
        }
        failed |= rc != SQLITE_DONE;
        graft_json_array_end(j);
        graft_json_key(j, "total");
        graft_json_int(j, total);
        graft_json_key(j, "limit");
        graft_json_int(j, limit);
        graft_json_key(j, "offset");
        graft_json_int(j, offset);
        graft_json_object_end(j);
    }
    sqlite3_finalize(st);
    return send(req, 200, j, failed);
}

/* ---------------------------------------------------------------- customers */

static int list_customers(graft_request *req, void *ls)
{
    (void)ls;
    GRAFT_VALIDATE(req);
    args a = {0};
    char where[128] = "";
    if (graft_arg_has(req, "vip")) {
        strcat(where, "vip = ?");
        arg_int(&a, graft_arg_bool(req, "vip"));
    }
    if (graft_arg_has(req, "q")) {
        size_t n;
        const char *q = graft_arg_str(req, "q", &n); /* may hold a NUL (%00) */
        strcat(where, *where ? " AND instr(name, ?) > 0" : "instr(name, ?) > 0");
        arg_text_n(&a, q, (int)n);
    }
    return respond_page(req, "customers", where, &a);
}

static int get_customer(graft_request *req, void *ls)
{
    (void)ls;
    GRAFT_VALIDATE(req);
    args a = {0};
    arg_int(&a, graft_arg_int(req, "customer_id"));
    sqlite3_stmt *st = query(graft_thread_state(req), "SELECT * FROM customers WHERE id = ?", &a);
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return graft_respond_detail(req, 404, "Customer not found");
    }
    graft_json *j = graft_json_new();
    if (j && rc == SQLITE_ROW)
        write_customer(j, st);
    sqlite3_finalize(st);
    return send(req, 200, j, rc != SQLITE_ROW);
}

static int create_customer(graft_request *req, void *ls)
{
    (void)ls;
    GRAFT_VALIDATE(req);
    sqlite3 *db = graft_thread_state(req);
    size_t name_n = 0, email_n = 0;
    const char *name = graft_body_str(req, "name", &name_n), *email = graft_body_str(req, "email", &email_n);
    int vip = graft_body_bool(req, "vip");
    if (!db || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return send(req, 500, graft_json_new(), 1);
    args a = {0};
    arg_text_n(&a, email, (int)email_n);
    int dup = exists(db, "SELECT 1 FROM customers WHERE email = ?", &a);
    if (dup) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return dup > 0 ? graft_respond_detail(req, 409, "Email already registered") : send(req, 500, graft_json_new(), 1);
    }
    args ins = {0};
    arg_text_n(&ins, name, (int)name_n);
    arg_text_n(&ins, email, (int)email_n);
    arg_int(&ins, vip);
    int failed = exec(db, "INSERT INTO customers (name, email, vip) VALUES (?, ?, ?)", &ins) != SQLITE_DONE;
    int64_t id = sqlite3_last_insert_rowid(db);
    failed = sqlite3_exec(db, failed ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK || failed;
    graft_json *j = graft_json_new();
    if (j) {
        graft_json_object_begin(j);
        graft_json_key(j, "id");
        graft_json_int(j, id);
        graft_json_key(j, "name");
        graft_json_string(j, name, name_n);
        graft_json_key(j, "email");
        graft_json_string(j, email, email_n);
        graft_json_key(j, "vip");
        graft_json_bool(j, vip);
        graft_json_object_end(j);
    }
    return send(req, 201, j, failed);
}

static int customer_missing(sqlite3 *db, int64_t id)
{
    args a = {0};
    arg_int(&a, id);
    return exists(db, "SELECT 1 FROM customers WHERE id = ?", &a) == 0;
}

static int list_customer_orders(graft_request *req, void *ls)
{
    (void)ls;
    GRAFT_VALIDATE(req);
    int64_t id = graft_arg_int(req, "customer_id");
    if (customer_missing(graft_thread_state(req), id))
        return graft_respond_detail(req, 404, "Customer not found");
    args a = {0};
    arg_int(&a, id);
    const char *where = "customer_id = ?";
    if (graft_arg_has(req, "status")) {
        where = "customer_id = ? AND status = ?";
        arg_text(&a, graft_arg_str(req, "status", NULL));
    }
    return respond_page(req, "orders", where, &a);
}

/* ---------------------------------------------------------------- orders */

static int list_orders(graft_request *req, void *ls)
{
    (void)ls;
    GRAFT_VALIDATE(req);
    args a = {0};
    char where[128] = "";
    if (graft_arg_has(req, "status")) {
        strcat(where, "status = ?");
        arg_text(&a, graft_arg_str(req, "status", NULL));
    }
    if (graft_arg_has(req, "customer_id")) {
        strcat(where, *where ? " AND customer_id = ?" : "customer_id = ?");
        arg_int(&a, graft_arg_int(req, "customer_id"));
    }
    if (graft_arg_has(req, "min_total")) {
        strcat(where, *where ? " AND total >= ?" : "total >= ?");
        arg_double(&a, graft_arg_number(req, "min_total"));
    }
    return respond_page(req, "orders", where, &a);
}

static int get_order(graft_request *req, void *ls)
{
    (void)ls;
    GRAFT_VALIDATE(req);
    return respond_order(req, graft_thread_state(req), 200, graft_arg_int(req, "order_id"));
}

/* Ends the transaction opened by a write handler: ROLLBACK and the HTTPException, or a 500. */
static int abort_with(graft_request *req, sqlite3 *db, int status, const char *detail)
{
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return detail ? graft_respond_detail(req, status, detail) : send(req, 500, graft_json_new(), 1);
}

static int insert_items(graft_request *req, sqlite3 *db, int64_t order_id)
{
    for (size_t i = 0; i < graft_body_count(req, "items"); i++) {
        char p[3][48];
        snprintf(p[0], sizeof p[0], "items.%zu.sku", i);
        snprintf(p[1], sizeof p[1], "items.%zu.quantity", i);
        snprintf(p[2], sizeof p[2], "items.%zu.unit_price", i);
        args a = {0};
        arg_int(&a, order_id);
        arg_int(&a, (int64_t)i);
        arg_body(&a, req, p[0]);
        arg_int(&a, graft_body_int(req, p[1]));
        arg_double(&a, graft_body_number(req, p[2]));
        if (exec(db, "INSERT INTO order_items (order_id, position, sku, quantity, unit_price) "
                     "VALUES (?, ?, ?, ?, ?)", &a) != SQLITE_DONE)
            return -1;
    }
    return 0;
}

static int create_order(graft_request *req, void *ls)
{
    (void)ls;
    GRAFT_VALIDATE(req);
    sqlite3 *db = graft_thread_state(req);
    double total = 0.0;
    for (size_t i = 0; i < graft_body_count(req, "items"); i++) {
        char q[48], p[48];
        snprintf(q, sizeof q, "items.%zu.quantity", i);
        snprintf(p, sizeof p, "items.%zu.unit_price", i);
        double line = (double)graft_body_int(req, q) * graft_body_number(req, p);
        total += line;
    }
    if (!db || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return send(req, 500, graft_json_new(), 1);
    if (customer_missing(db, graft_body_int(req, "customer_id")))
        return abort_with(req, db, 404, "Customer not found");
    args a = {0};
    arg_body(&a, req, "reference");
    int dup = exists(db, "SELECT 1 FROM orders WHERE reference = ?", &a);
    if (dup)
        return abort_with(req, db, 409, dup > 0 ? "Order reference already exists" : NULL);
    static const char *const ship[] = {"shipping.street", "shipping.city", "shipping.postcode", "shipping.country"};
    args o = {0};
    arg_body(&o, req, "reference");
    arg_int(&o, graft_body_int(req, "customer_id"));
    arg_body(&o, req, "status");
    if (graft_body_has(req, "note"))
        arg_body(&o, req, "note");
    else
        o.v[o.n++].kind = 'n'; /* left unbound: NULL */
    for (int k = 0; k < 4; k++)
        arg_body(&o, req, ship[k]);
    arg_double(&o, total);
    if (exec(db, "INSERT INTO orders (reference, customer_id, status, note, ship_street, ship_city, "
                 "ship_postcode, ship_country, total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", &o) != SQLITE_DONE)
        return abort_with(req, db, 500, NULL);
    int64_t id = sqlite3_last_insert_rowid(db);
    if (insert_items(req, db, id) < 0 || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return abort_with(req, db, 500, NULL);
    return respond_order(req, db, 201, id);
}

/* The status of order id into out (16 bytes): 1, 0 when there is no such order, -1 on error. */
static int order_status(sqlite3 *db, int64_t id, char out[16])
{
    args a = {0};
    arg_int(&a, id);
    sqlite3_stmt *st = query(db, "SELECT status FROM orders WHERE id = ?", &a);
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (rc == SQLITE_ROW)
        snprintf(out, 16, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* app.py's TRANSITIONS: may an order go from `from` to `to` (a different status)? */
static int transition_ok(const char *from, const char *to)
{
    if (strcmp(from, "pending") == 0)
        return strcmp(to, "paid") == 0 || strcmp(to, "cancelled") == 0;
    if (strcmp(from, "paid") == 0)
        return strcmp(to, "shipped") == 0 || strcmp(to, "cancelled") == 0;
    return 0;
}

/* Opens the write transaction and reads the order's status into cur: 1 when it exists;
 * else 0 with the answer (404, or 500) sent and its code in *rc. */
static int begin_on_order(graft_request *req, sqlite3 *db, int64_t id, char cur[16], int *rc)
{
    if (!db || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        *rc = send(req, 500, graft_json_new(), 1);
        return 0;
    }
    int found = order_status(db, id, cur);
    if (found <= 0) {
        *rc = abort_with(req, db, 404, found == 0 ? "Order not found" : NULL);
        return 0;
    }
    return 1;
}

static int update_order(graft_request *req, void *ls)
{
    (void)ls;
    GRAFT_VALIDATE(req);
    sqlite3 *db = graft_thread_state(req);
    int64_t id = graft_arg_int(req, "order_id");
    char cur[16];
    int rc;
    if (!begin_on_order(req, db, id, cur, &rc))
        return rc;
    const char *to = graft_body_str(req, "status", NULL);
    if (to && strcmp(to, cur) != 0) {
        if (!transition_ok(cur, to)) {
            char detail[64];
            snprintf(detail, sizeof detail, "Cannot change status from %s to %s", cur, to);
            return abort_with(req, db, 409, detail);
        }
        args a = {0};
        arg_text(&a, to);
        arg_int(&a, id);
        if (exec(db, "UPDATE orders SET status = ? WHERE id = ?", &a) != SQLITE_DONE)
            return abort_with(req, db, 500, NULL);
    }
    if (graft_body_has(req, "note")) {
        args a = {0};
        arg_body(&a, req, "note");
        arg_int(&a, id);
        if (exec(db, "UPDATE orders SET note = ? WHERE id = ?", &a) != SQLITE_DONE)
            return abort_with(req, db, 500, NULL);
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return abort_with(req, db, 500, NULL);
    return respond_order(req, db, 200, id);
}

static int delete_order(graft_request *req, void *ls)
{
    (void)ls;
    GRAFT_VALIDATE(req);
    sqlite3 *db = graft_thread_state(req);
    int64_t id = graft_arg_int(req, "order_id");
    char cur[16];
    int rc;
    if (!begin_on_order(req, db, id, cur, &rc))
        return rc;
    if (strcmp(cur, "pending") != 0 && strcmp(cur, "cancelled") != 0)
        return abort_with(req, db, 409, "Only pending or cancelled orders can be deleted");
    args a = {0};
    arg_int(&a, id);
    if (exec(db, "DELETE FROM order_items WHERE order_id = ?", &a) != SQLITE_DONE ||
        exec(db, "DELETE FROM orders WHERE id = ?", &a) != SQLITE_DONE ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return abort_with(req, db, 500, NULL);
    return graft_respond(req, 204, NULL, "", 0);
}

static int stats(graft_request *req, void *ls)
{
    (void)ls;
    GRAFT_VALIDATE(req);
    sqlite3 *db = graft_thread_state(req);
    int64_t by_status[4] = {0}, orders = 0;
    double revenue = 0.0;
    sqlite3_stmt *st = query(db, "SELECT status, total FROM orders ORDER BY id", NULL);
    int rc = SQLITE_ERROR;
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        for (int k = 0; k < 4; k++)
            by_status[k] += strcmp(s, STATUSES[k]) == 0;
        orders++;
        if (strcmp(s, "paid") == 0 || strcmp(s, "shipped") == 0)
            revenue += sqlite3_column_double(st, 1);
    }
    sqlite3_finalize(st);
    int customers = count_of(db, "SELECT COUNT(*) FROM customers");
    graft_json *j = graft_json_new();
    if (j) {
        graft_json_object_begin(j);
        graft_json_key(j, "customers");
        graft_json_int(j, customers);
        graft_json_key(j, "orders");
        graft_json_int(j, orders);
        graft_json_key(j, "by_status");
        graft_json_object_begin(j);
        for (int k = 0; k < 4; k++) {
            graft_json_key(j, STATUSES[k]);
            graft_json_int(j, by_status[k]);
        }
        graft_json_object_end(j);
        graft_json_key(j, "revenue");
        graft_json_double(j, revenue);
        graft_json_object_end(j);
    }
    return send(req, 200, j, rc != SQLITE_DONE || customers < 0);
}

/* ---------------------------------------------------------------- registration */

#define WRITE_BODY (GRAFT_ROUTE_BLOCKING | GRAFT_ROUTE_BODY)

int graft_register(graft_router *r, const char *config);
int graft_register(graft_router *r, const char *config)
{
    const char *path = config && *config ? config : getenv("ORDERS_DB");
    char *db_path = strdup(path && *path ? path : "orders.db");
    if (!db_path)
        return GRAFT_ENOMEM;
    graft_router_set_state(r, db_path, free);
    if (init_db(db_path) < 0)
        return GRAFT_EINVAL;
    graft_router_set_thread_state(r, thread_db_new, thread_db_free);
    static const struct { const char *m, *p; graft_handler h; unsigned flags; } routes[] = {
        {"GET", "/customers", list_customers, 0},
        {"POST", "/customers", create_customer, WRITE_BODY},
        {"GET", "/customers/{customer_id}", get_customer, 0},
        {"GET", "/customers/{customer_id}/orders", list_customer_orders, 0},
        {"GET", "/orders", list_orders, 0},
        {"POST", "/orders", create_order, WRITE_BODY},
        {"GET", "/orders/{order_id}", get_order, 0},
        {"PATCH", "/orders/{order_id}", update_order, WRITE_BODY},
        {"DELETE", "/orders/{order_id}", delete_order, GRAFT_ROUTE_BLOCKING},
        {"GET", "/stats", stats, 0},
    };
    for (size_t k = 0; k < sizeof routes / sizeof routes[0]; k++) {
        int rc = graft_route(r, routes[k].m, routes[k].p, routes[k].h, routes[k].flags);
        if (rc < 0)
            return rc;
    }
    return 0;
}
