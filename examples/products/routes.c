/* routes.c — three routes of app.py ported to C on graft's kit (docs/MIGRATING.md):
 *
 *   GET  /products                the list, with pagination and filters
 *   GET  /products/{product_id}   one product
 *   POST /products                create one
 *
 * No validation is written here: the contracts come from app.py's own OpenAPI document
 * (app.openapi() under graft; openapi.json, from `graft openapi`, under graft-serve), and
 * GRAFT_VALIDATE checks the parameters and the JSON body exactly as FastAPI and Pydantic do,
 * lax coercions and byte-exact 422s included. What the kit cannot reproduce it declines under
 * graft (the app answers). What is left is the logic: SQL, and the JSON app.py answers.
 *
 * Build and run: README.md. The database is the config string (--native routes.so?/path/db),
 * else $PRODUCTS_DB, else "products.db"; app.py creates and seeds it. Switches, read at
 * start-up: PRODUCTS_NATIVE_OFF=list,get,create|all hands routes back to Python (the
 * roll-back switch); PRODUCTS_NATIVE_DEBUG=1 logs this file's declines; -DPRODUCTS_PORT_BUG
 * builds a deliberately wrong port for shadow mode.
 *
 * Threads: the GETs run on graft's I/O threads (short reads of a WAL database, which never
 * wait for writers), the POST on its worker pool (GRAFT_ROUTE_BLOCKING: a write may wait for
 * SQLite's lock). Each thread has its own connection and statements (thread state). */
#define _POSIX_C_SOURCE 200809L /* strdup, strncasecmp under -std=c11 too */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <graft.h>
#include <sqlite3.h>

GRAFT_LIBRARY()

#define BODY_LIMIT (1u << 20) /* app.py: FastAPI(max_body_size=...) is the same */

enum { R_LIST = 1, R_GET = 2, R_CREATE = 4 };

typedef struct {
    char *db_path;
    unsigned off; /* R_* routes handed back to Python (PRODUCTS_NATIVE_OFF) */
    int debug;
} lib_state;

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *get, *insert, *count, *select;
} thread_state;

/* app.py's filters, each applied only when its flag is set: a NaN bound (min_price=nan is a
 * valid float) is bound as NULL by SQLite and then matches nothing, as in app.py. */
#define WHERE                                                                                      \
    " WHERE (?1 = 0 OR category = ?2) AND (?3 = 0 OR price >= ?4) AND (?5 = 0 OR price <= ?6)"    \
    " AND (?7 = 0 OR in_stock = ?8)"
#define COLUMNS "SELECT id, name, price, category, in_stock FROM products"

/* ---------------------------------------------------------------- state */

static int decline(graft_request *req, const char *why)
{
    lib_state *ls = graft_lib_state(req);
    if (ls && ls->debug)
        fprintf(stderr, "products_routes: declined %s %s: %s\n", graft_method(req), graft_path(req), why);
    return GRAFT_DECLINE;
}

static void thread_state_free(void *p)
{
    thread_state *ts = p;
    if (!ts)
        return;
    sqlite3_finalize(ts->get);
    sqlite3_finalize(ts->insert);
    sqlite3_finalize(ts->count);
    sqlite3_finalize(ts->select);
    sqlite3_close_v2(ts->db);
    free(ts);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) == SQLITE_OK ? st : NULL;
}

/* One connection per thread (NOMUTEX: only this thread uses it). NULL on failure: the
 * handlers then decline, and graft retries on the thread's next request. */
static void *thread_state_new(void *lib)
{
    lib_state *ls = lib;
    thread_state *ts = calloc(1, sizeof *ts);
    if (!ts)
        return NULL;
    if (sqlite3_open_v2(ls->db_path, &ts->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(ts->db, 10000) == SQLITE_OK) { /* app.py: sqlite3.connect(timeout=10) */
        ts->get = prepare(ts->db, COLUMNS " WHERE id = ?");
        ts->insert = prepare(ts->db, "INSERT INTO products (name, price, category, in_stock) VALUES (?, ?, ?, ?)");
        ts->count = prepare(ts->db, "SELECT COUNT(*) FROM products" WHERE);
        ts->select = prepare(ts->db, COLUMNS WHERE " ORDER BY id LIMIT ?9 OFFSET ?10");
    }
    if (!ts->get || !ts->insert || !ts->count || !ts->select) {
        fprintf(stderr, "products_routes: %s: %s\n", ls->db_path,
                    ts->db ? sqlite3_errmsg(ts->db) : "out of memory");
        thread_state_free(ts);
        return NULL;
    }
    return ts;
}

static void lib_state_free(void *p)
{
    lib_state *ls = p;
    if (ls)
        free(ls->db_path);
    free(ls);
}

/* ---------------------------------------------------------------- responses */

/* A price as app.py's response models write a float (Pydantic: 35.0, 9.99, 0.00001). */
static void write_price(graft_json *j, double price)
{
#ifdef PRODUCTS_PORT_BUG
    /* The deliberately wrong variant (README.md, "Proving the port in production"): a port
     * that writes whole prices as integers, 35 where FastAPI writes 35.0. Shadow mode's log
     * names exactly the requests whose answer holds such a price. */
    if (price == floor(price) && fabs(price) < 1e15) {
        graft_json_int(j, (int64_t)price);
        return;
    }
#endif
    graft_json_double_pydantic(j, price);
}

static void write_text(graft_json *j, const char *key, sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    graft_json_key(j, key);
    graft_json_string(j, s ? s : "", (size_t)sqlite3_column_bytes(st, col));
}

/* A product from a row (id, name, price, category, in_stock), as app.py's Product. */
static void write_product(graft_json *j, sqlite3_stmt *st)
{
    graft_json_object_begin(j);
    graft_json_key(j, "id");
    graft_json_int(j, sqlite3_column_int64(st, 0));
    write_text(j, "name", st, 1);
    graft_json_key(j, "price");
    write_price(j, sqlite3_column_double(st, 2));
    write_text(j, "category", st, 3);
    graft_json_key(j, "in_stock");
    graft_json_bool(j, sqlite3_column_int64(st, 4) != 0);
    graft_json_object_end(j);
}

/* ---------------------------------------------------------------- GET /products/{product_id} */

static int get_product(graft_request *req, void *lib)
{
    if (((lib_state *)lib)->off & R_GET)
        return decline(req, "PRODUCTS_NATIVE_OFF");
    GRAFT_VALIDATE(req);
    thread_state *ts = graft_thread_state(req);
    if (!ts)
        return decline(req, "no database connection");

    /* an id beyond int64 (GRAFT_ROUTE_WIDE_INT) is valid, as in Python, but no row has it */
    sqlite3_bind_int64(ts->get, 1, graft_arg_int(req, "product_id"));
    int rc = graft_arg_wide(req, "product_id") ? SQLITE_DONE : sqlite3_step(ts->get);
    graft_json *j = rc == SQLITE_ROW ? graft_json_new() : NULL;
    if (j)
        write_product(j, ts->get);
    sqlite3_reset(ts->get);
    if (rc == SQLITE_DONE)
        return graft_respond_detail(req, 404, "Product not found");
    if (rc != SQLITE_ROW)
        return decline(req, sqlite3_errmsg(ts->db));
    return j ? graft_respond_json(req, 200, j) : GRAFT_ENOMEM;
}

/* ---------------------------------------------------------------- GET /products */

/* Binds filter k (1..4) of WHERE: its flag, and the value when the parameter was given. */
static int bind_filter(graft_request *req, sqlite3_stmt *st, int k, const char *name)
{
    int given = graft_arg_has(req, name);
    sqlite3_bind_int(st, 2 * k - 1, given);
    if (!given)
        return sqlite3_bind_null(st, 2 * k);
    if (k == 1) {
        size_t n;
        const char *s = graft_arg_str(req, name, &n);
        return sqlite3_bind_text(st, 2 * k, s, (int)n, SQLITE_STATIC); /* lives as long as req */
    }
    if (k == 4)
        return sqlite3_bind_int(st, 2 * k, graft_arg_bool(req, name));
    return sqlite3_bind_double(st, 2 * k, graft_arg_number(req, name));
}

static int list_products(graft_request *req, void *lib)
{
    if (((lib_state *)lib)->off & R_LIST)
        return decline(req, "PRODUCTS_NATIVE_OFF");
    GRAFT_VALIDATE(req); /* limit 1..100 (10), offset >= 0 (0), the optional filters */
    thread_state *ts = graft_thread_state(req);
    if (!ts)
        return decline(req, "no database connection");

    static const char *const filters[] = {"category", "min_price", "max_price", "in_stock"};
    int64_t limit = graft_arg_int(req, "limit"), offset = graft_arg_int(req, "offset");
    for (int k = 1; k <= 4; k++) {
        bind_filter(req, ts->count, k, filters[k - 1]);
        bind_filter(req, ts->select, k, filters[k - 1]);
    }
    sqlite3_bind_int64(ts->select, 9, limit);
    sqlite3_bind_int64(ts->select, 10, offset);

    graft_json *j = graft_json_new();
    int rc = sqlite3_step(ts->count);
    if (j && rc == SQLITE_ROW) {
        int64_t total = sqlite3_column_int64(ts->count, 0);
        graft_json_object_begin(j);
        graft_json_key(j, "items");
        graft_json_array_begin(j);
        while ((rc = sqlite3_step(ts->select)) == SQLITE_ROW)
            write_product(j, ts->select);
        graft_json_array_end(j);
        graft_json_key(j, "total");
        graft_json_int(j, total);
        graft_json_key(j, "limit");
        graft_json_int(j, limit);
        graft_json_key(j, "offset"); /* beyond int64: saturated above (no items), echoed as given */
        size_t on;
        const char *ot = graft_arg_int_text(req, "offset", &on);
        if (ot)
            graft_json_number_text(j, ot, on);
        else
            graft_json_int(j, offset);
        graft_json_object_end(j);
    }
    /* reset before answering or declining: the bound category points into the request */
    sqlite3_reset(ts->count);
    sqlite3_reset(ts->select);
    sqlite3_clear_bindings(ts->count);
    sqlite3_clear_bindings(ts->select);
    if (!j)
        return GRAFT_ENOMEM;
    if (rc != SQLITE_DONE) {
        graft_json_free(j);
        return decline(req, sqlite3_errmsg(ts->db));
    }
    return graft_respond_json(req, 200, j);
}

/* ---------------------------------------------------------------- POST /products */

static int create_product(graft_request *req, void *lib)
{
    if (((lib_state *)lib)->off & R_CREATE)
        return decline(req, "PRODUCTS_NATIVE_OFF");
    GRAFT_VALIDATE(req); /* the body as ProductIn: name 1..100 chars, price >= 0 and finite, ... */
    thread_state *ts = graft_thread_state(req);
    if (!ts)
        return decline(req, "no database connection");

    size_t name_n, cat_n;
    const char *name = graft_body_str(req, "name", &name_n);
    const char *category = graft_body_str(req, "category", &cat_n);
    double price = graft_body_number(req, "price");
    int in_stock = graft_body_bool(req, "in_stock"); /* absent: the model's default, true */

    sqlite3_stmt *st = ts->insert;
    sqlite3_bind_text(st, 1, name, (int)name_n, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, price);
    sqlite3_bind_text(st, 3, category, (int)cat_n, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, in_stock);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) /* nothing was written: Python may try the same insert */
        return decline(req, sqlite3_errmsg(ts->db));

    graft_json *j = graft_json_new();
    if (!j)
        return GRAFT_ENOMEM;
    graft_json_object_begin(j);
    graft_json_key(j, "id");
    graft_json_int(j, sqlite3_last_insert_rowid(ts->db)); /* this thread's connection: our row */
    graft_json_key(j, "name");
    graft_json_string(j, name, name_n);
    graft_json_key(j, "price");
    write_price(j, price);
    graft_json_key(j, "category");
    graft_json_string(j, category, cat_n);
    graft_json_key(j, "in_stock");
    graft_json_bool(j, in_stock);
    graft_json_object_end(j);
    return graft_respond_json(req, 201, j);
}

/* ---------------------------------------------------------------- registration */

static unsigned parse_off(const char *s)
{
    static const char *const names[] = {"list", "get", "create", "all"};
    static const unsigned bits[] = {R_LIST, R_GET, R_CREATE, R_LIST | R_GET | R_CREATE};
    unsigned off = 0;
    while (s && *s) {
        size_t n = strcspn(s, ",");
        for (int i = 0; i < 4; i++)
            if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
                off |= bits[i];
        s += n + (s[n] == ',');
    }
    return off;
}

int graft_register(graft_router *r, const char *config)
{
    lib_state *ls = calloc(1, sizeof *ls);
    if (!ls)
        return GRAFT_ENOMEM;
    const char *path = config && *config ? config : getenv("PRODUCTS_DB");
    const char *dbg = getenv("PRODUCTS_NATIVE_DEBUG");
    ls->db_path = strdup(path && *path ? path : "products.db");
    ls->off = parse_off(getenv("PRODUCTS_NATIVE_OFF"));
    ls->debug = dbg && *dbg && strcmp(dbg, "0") != 0;
    graft_router_set_state(r, ls, lib_state_free);
    if (!ls->db_path)
        return GRAFT_ENOMEM;
    sqlite3 *db = NULL; /* say so at start-up; each thread tries again on its first request */
    int rc = sqlite3_open_v2(ls->db_path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK)
        fprintf(stderr, "products_routes: cannot open %s (yet): %s\n", ls->db_path,
                db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close_v2(db);
    graft_router_set_thread_state(r, thread_state_new, thread_state_free);
    graft_router_set_body_limit(r, BODY_LIMIT);
    if ((rc = graft_route(r, "GET", "/products", list_products, GRAFT_ROUTE_WIDE_INT)) < 0 ||
        (rc = graft_route(r, "GET", "/products/{product_id}", get_product, GRAFT_ROUTE_WIDE_INT)) < 0 ||
        (rc = graft_route(r, "POST", "/products", create_product, GRAFT_ROUTE_BODY | GRAFT_ROUTE_BLOCKING)) < 0)
        return rc;
    if (ls->debug)
        fprintf(stderr, "products_routes: database %s%s\n", ls->db_path, ls->off ? " (some routes off)" : "");
    return 0;
}
