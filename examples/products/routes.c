/* routes.c — three routes of app.py ported to C: the "after" of the migration example.
 *
 *   GET  /products                the list, with pagination and filters
 *   GET  /products/{product_id}   one product
 *   POST /products                create one
 *
 * They read and write the same SQLite file as app.py and answer exactly what
 * app.py answers: same status, content-type and JSON text, validation errors
 * included. Whatever this file does not replicate exactly, it declines
 * (GRAFT_DECLINE) before answering, and app.py answers it instead: JSON it
 * cannot parse, values FastAPI/Pydantic would coerce in ways not copied here,
 * prices whose text Pydantic writes differently from Python, database errors.
 *
 * Build (see README.md):
 *   cc -O2 -Wall -Wextra -shared -fPIC $(.venv/bin/graft-config --cflags) \
 *      examples/products/routes.c -o build/products_routes.so \
 *      $(.venv/bin/graft-config --libs) -lsqlite3 -ljansson
 * Run:
 *   PRODUCTS_DB=/path/products.db .venv/bin/graft app:app --app-dir examples/products \
 *      --native build/products_routes.so
 *
 * Configuration:
 *   database   the config string (--native routes.so?/path/products.db), else $PRODUCTS_DB,
 *              else "products.db". app.py creates and seeds the file; it exports the path it
 *              uses as $PRODUCTS_DB, so by default both sides open the same file.
 *   PRODUCTS_NATIVE_OFF   comma-separated routes to hand back to Python ("list", "get",
 *              "create", or "all"): the roll-back switch, no rebuild needed.
 *   PRODUCTS_NATIVE_DEBUG=1   log every decline and its reason to stderr.
 *
 * Threads: handlers run on graft's I/O threads (the two GETs: short indexed reads of a
 * local WAL database, which do not wait for writers) or on its worker pool (the POST,
 * GRAFT_ROUTE_BLOCKING: a write may wait for SQLite's lock). Never with the GIL. Each
 * thread gets its own SQLite connection and prepared statements (thread state); the
 * library state is read-only after graft_register.
 *
 * JSON input: Jansson (libjansson-dev). It is strict RFC 8259 (no leading zeros, no
 * NaN, no trailing commas), validates UTF-8, rejects \u0000 and lone surrogates, keeps
 * integers (int64) apart from reals, reports integer/real overflow instead of rounding,
 * rejects duplicate keys on request, and keeps object keys in document order: every
 * document it accepts, Python's json.loads reads to the same values, and everything else
 * is declined. cJSON (checked with 1.7.15) stores every number as a double, accepts "01"
 * and "1." and invalid UTF-8, cuts strings at \u0000, reads 1e400 as inf, and finds the
 * first of duplicate keys where Python keeps the last.
 *
 * JSON output: graft's writer. Its strings are escaped like Python's json.dumps(...,
 * ensure_ascii=False) and Pydantic's serializer (which agree); its doubles are laid out
 * like Python's repr (10.0, 9.99, 1e+16, 1e-05). Pydantic, which writes FastAPI's
 * response_model output, differs from repr only below 1e-4 (0.00001, 1e-7): products
 * with such prices are declined. Error bodies come from json.dumps (repr) in FastAPI,
 * so their echoed inputs match as they are. */
#define _POSIX_C_SOURCE 200809L /* strdup, strncasecmp under -std=c11 too */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <graft.h>
#include <jansson.h>
#include <sqlite3.h>

GRAFT_LIBRARY()

#define NAME_MAX_CHARS 100
#define BODY_LIMIT (1u << 20) /* app.py: FastAPI(max_body_size=...) is the same */
#define MAX_DEPTH 64          /* Python's json gives up near 1000, Jansson at 2048: decline deep input */

enum { R_LIST = 1, R_GET = 2, R_CREATE = 4 };

typedef struct {
    char *db_path;
    unsigned off; /* R_* routes handed back to Python (PRODUCTS_NATIVE_OFF) */
    int debug;
} lib_state;

/* filters of the list, as a bit mask selecting a prepared statement */
enum { F_CATEGORY = 1, F_MIN = 2, F_MAX = 4, F_STOCK = 8, F_COMBOS = 16 };

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *get, *insert;
    sqlite3_stmt *count[F_COMBOS], *select[F_COMBOS];
} thread_state;

/* ---------------------------------------------------------------- helpers */

static int decline(graft_request *req, const char *why)
{
    lib_state *ls = graft_lib_state(req);
    if (ls && ls->debug)
        fprintf(stderr, "products_routes: declined %s %s%s%s: %s\n", graft_method(req), graft_path(req),
                *graft_query_string(req) ? "?" : "", graft_query_string(req), why);
    return GRAFT_DECLINE;
}

/* Valid UTF-8 (what Python decodes to the same str), NUL allowed or not. */
static int utf8_valid(const char *s, size_t n, int nul_ok)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        unsigned c = *p++;
        size_t more;
        unsigned min;
        if (c == 0 && !nul_ok)
            return 0;
        if (c < 0x80)
            continue;
        if ((c & 0xe0) == 0xc0) { more = 1; min = 0x80; c &= 0x1f; }
        else if ((c & 0xf0) == 0xe0) { more = 2; min = 0x800; c &= 0x0f; }
        else if ((c & 0xf8) == 0xf0) { more = 3; min = 0x10000; c &= 0x07; }
        else return 0;
        if ((size_t)(e - p) < more)
            return 0;
        for (size_t i = 0; i < more; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            c = (c << 6) | (p[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        p += more;
    }
    return 1;
}

/* Code points of valid UTF-8: Python's len(). */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xc0) != 0x80;
    return k;
}

static int all_letters(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return 1;
}

static int ieq(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* Pydantic's lax str -> int, the cases copied here. 1: parsed; 0: int_parsing error (the
 * empty string, letters only); -1: anything else (" 5", "05", "+5", "1_0", "5.0" parse in
 * Pydantic, "5.5" does not...): decline. */
static int parse_int(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || all_letters(s, n))
        return 0;
    size_t i = s[0] == '-';
    size_t digits = n - i;
    if (digits == 0 || digits > 18 || (s[i] == '0' && (digits > 1 || i)))
        return -1;
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = s[0] == '-' ? -v : v;
    return 1;
}

/* Pydantic's lax str -> float, the cases copied here: -?digits(.digits)? parse (correctly
 * rounded, like Python); "" and letters-only words other than inf/infinity/nan are
 * float_parsing errors; anything else ("1e3", " 1", "1_0", ".5") is declined. */
static int parse_float(const char *s, size_t n, double *out)
{
    if (n == 0)
        return 0;
    if (all_letters(s, n))
        return ieq(s, n, "inf") || ieq(s, n, "infinity") || ieq(s, n, "nan") ? -1 : 0;
    if (n > 40)
        return -1;
    size_t i = s[0] == '-', d = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        d++;
    if (d == 0)
        return -1;
    if (i < n && s[i] == '.') {
        size_t f = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            f++;
        if (f == 0)
            return -1;
    }
    if (i != n)
        return -1;
    char buf[48];
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return isfinite(*out) ? 1 : -1;
}

/* Pydantic's str -> bool: these words, ASCII case-insensitive, else bool_parsing. Non-ASCII
 * is declined rather than reasoned about. */
static int parse_bool_str(const char *s, size_t n, int *out)
{
    static const char *const yes[] = {"1", "on", "t", "true", "y", "yes"};
    static const char *const no[] = {"0", "off", "f", "false", "n", "no"};
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80 || (unsigned char)s[i] < 0x20)
            return -1;
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (ieq(s, n, yes[i])) { *out = 1; return 1; }
        if (ieq(s, n, no[i])) { *out = 0; return 1; }
    }
    return 0;
}

/* Pydantic writes floats like repr except below 1e-4 (0.00001 for 1e-05, 1e-7 for 1e-07). */
static int price_writable(double v) { return isfinite(v) && (v == 0 || fabs(v) >= 1e-4); }

/* ---------------------------------------------------------------- validation errors */

/* FastAPI's 422 body: {"detail":[{"type","loc","msg","input"[,"ctx"]}, ...]}. */
typedef struct {
    graft_json *j;
    int n;
} errors;

static void err_begin(errors *e, const char *type, const char *where, const char *field,
                      const char *msg)
{
    if (e->n++ == 0) {
        e->j = graft_json_new();
        if (!e->j)
            return;
        graft_json_object_begin(e->j);
        graft_json_key(e->j, "detail");
        graft_json_array_begin(e->j);
    }
    if (!e->j)
        return;
    graft_json_object_begin(e->j);
    graft_json_key(e->j, "type");
    graft_json_string(e->j, type, strlen(type));
    graft_json_key(e->j, "loc");
    graft_json_array_begin(e->j);
    graft_json_string(e->j, where, strlen(where));
    if (field)
        graft_json_string(e->j, field, strlen(field));
    graft_json_array_end(e->j);
    graft_json_key(e->j, "msg");
    graft_json_string(e->j, msg, strlen(msg));
    graft_json_key(e->j, "input");
}

/* The error's end, with an optional ctx {name: value}: an integer, or a real when real is set. */
static void err_end(errors *e, const char *ctx, int real, double v)
{
    if (!e->j)
        return;
    if (ctx) {
        graft_json_key(e->j, "ctx");
        graft_json_object_begin(e->j);
        graft_json_key(e->j, ctx);
        if (real)
            graft_json_double(e->j, v);
        else
            graft_json_int(e->j, (int64_t)v);
        graft_json_object_end(e->j);
    }
    graft_json_object_end(e->j);
}

/* An error whose input is a query or path string. */
static void err_str(errors *e, const char *type, const char *where, const char *field,
                    const char *msg, const char *in, size_t inlen, const char *ctx, double v)
{
    err_begin(e, type, where, field, msg);
    if (e->j)
        graft_json_string(e->j, in, inlen);
    err_end(e, ctx, 0, v);
}

static int err_send(graft_request *req, errors *e)
{
    if (!e->j)
        return GRAFT_ENOMEM;
    graft_json_array_end(e->j);
    graft_json_object_end(e->j);
    return graft_respond_json(req, 422, e->j);
}

/* Writes a parsed JSON value as Python's json.dumps writes what json.loads made of it. */
static void echo(graft_json *j, json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        graft_json_object_begin(j);
        json_object_foreach(v, k, x) {
            graft_json_key(j, k);
            echo(j, x);
        }
        graft_json_object_end(j);
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        graft_json_array_begin(j);
        json_array_foreach(v, i, x) echo(j, x);
        graft_json_array_end(j);
        break;
    }
    case JSON_STRING:
        graft_json_string(j, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        graft_json_int(j, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL:
        graft_json_double(j, json_real_value(v));
        break;
    case JSON_TRUE:
        graft_json_bool(j, 1);
        break;
    case JSON_FALSE:
        graft_json_bool(j, 0);
        break;
    case JSON_NULL:
        graft_json_null(j);
        break;
    }
}

static void err_json(errors *e, const char *type, const char *field, const char *msg, json_t *in,
                     const char *ctx, int real, double v)
{
    err_begin(e, type, "body", field, msg);
    if (e->j)
        echo(e->j, in);
    err_end(e, ctx, real, v);
}

static int depth(json_t *v)
{
    int d = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            int c = depth(x);
            if (c > d)
                d = c;
            if (d > MAX_DEPTH)
                break;
        }
        return d + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            int c = depth(x);
            if (c > d)
                d = c;
            if (d > MAX_DEPTH)
                break;
        }
        return d + 1;
    }
    return 0;
}

static const char MSG_INT[] = "Input should be a valid integer, unable to parse string as an integer";
static const char MSG_FLOAT[] = "Input should be a valid number, unable to parse string as a number";
static const char MSG_BOOL[] = "Input should be a valid boolean, unable to interpret input";

/* ---------------------------------------------------------------- state */

static void thread_state_free(void *p)
{
    thread_state *ts = p;
    if (!ts)
        return;
    sqlite3_finalize(ts->get);
    sqlite3_finalize(ts->insert);
    for (int i = 0; i < F_COMBOS; i++) {
        sqlite3_finalize(ts->count[i]);
        sqlite3_finalize(ts->select[i]);
    }
    sqlite3_close_v2(ts->db);
    free(ts);
}

static sqlite3_stmt *prepare(thread_state *ts, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(ts->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

/* One connection per thread (opened NOMUTEX: only this thread uses it). NULL on failure: the
 * handlers then decline, and graft retries the creation on the thread's next request. */
static void *thread_state_new(void *lib)
{
    lib_state *ls = lib;
    thread_state *ts = calloc(1, sizeof *ts);
    if (!ts)
        return NULL;
    if (sqlite3_open_v2(ls->db_path, &ts->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(ts->db, 10000) != SQLITE_OK) { /* app.py: sqlite3.connect(timeout=10) */
        if (ls->debug)
            fprintf(stderr, "products_routes: cannot open %s: %s\n", ls->db_path,
                    ts->db ? sqlite3_errmsg(ts->db) : "out of memory");
        thread_state_free(ts);
        return NULL;
    }
    ts->get = prepare(ts, "SELECT id, name, price, category, in_stock FROM products WHERE id = ?");
    ts->insert = prepare(ts, "INSERT INTO products (name, price, category, in_stock) VALUES (?, ?, ?, ?)");
    if (!ts->get || !ts->insert) {
        if (ls->debug)
            fprintf(stderr, "products_routes: %s: %s\n", ls->db_path, sqlite3_errmsg(ts->db));
        thread_state_free(ts);
        return NULL;
    }
    return ts;
}

/* The list statements, one per combination of filters, prepared on first use. */
static void where_clause(char *out, size_t cap, unsigned mask)
{
    static const char *const conds[] = {"category = ?", "price >= ?", "price <= ?", "in_stock = ?"};
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 4; i++)
        if (mask & (1u << i))
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? " AND " : " WHERE ", conds[i]);
}

static sqlite3_stmt *list_stmt(thread_state *ts, unsigned mask, int select)
{
    sqlite3_stmt **slot = select ? &ts->select[mask] : &ts->count[mask];
    if (!*slot) {
        char where[128], sql[320];
        where_clause(where, sizeof where, mask);
        if (select)
            snprintf(sql, sizeof sql,
                     "SELECT id, name, price, category, in_stock FROM products%s ORDER BY id LIMIT ? OFFSET ?",
                     where);
        else
            snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM products%s", where);
        *slot = prepare(ts, sql);
    }
    return *slot;
}

static void lib_state_free(void *p)
{
    lib_state *ls = p;
    if (ls)
        free(ls->db_path);
    free(ls);
}

/* ---------------------------------------------------------------- rows */

/* A product from a row (id, name, price, category, in_stock) as app.py's Product writes it. */
static void write_product(graft_json *j, sqlite3_stmt *st)
{
    graft_json_object_begin(j);
    graft_json_key(j, "id");
    graft_json_int(j, sqlite3_column_int64(st, 0));
    graft_json_key(j, "name");
    const char *name = (const char *)sqlite3_column_text(st, 1);
    graft_json_string(j, name ? name : "", (size_t)sqlite3_column_bytes(st, 1));
    graft_json_key(j, "price");
#ifdef PRODUCTS_PORT_BUG
    /* The deliberately wrong variant (README.md, "Proving the port in production"): a port
     * that writes whole prices as integers, 35 where FastAPI writes 35.0. Shadow mode's log
     * names exactly the requests whose answer holds such a price. */
    double price = sqlite3_column_double(st, 2);
    if (price == floor(price) && fabs(price) < 1e15)
        graft_json_int(j, (int64_t)price);
    else
        graft_json_double(j, price);
#else
    graft_json_double(j, sqlite3_column_double(st, 2));
#endif
    graft_json_key(j, "category");
    const char *cat = (const char *)sqlite3_column_text(st, 3);
    graft_json_string(j, cat ? cat : "", (size_t)sqlite3_column_bytes(st, 3));
    graft_json_key(j, "in_stock");
    graft_json_bool(j, sqlite3_column_int64(st, 4) != 0);
    graft_json_object_end(j);
}

/* Columns app.py would not turn into the same JSON (NULLs, non-UTF-8 text, tiny prices). */
static int row_writable(sqlite3_stmt *st)
{
    if (sqlite3_column_type(st, 1) != SQLITE_TEXT || sqlite3_column_type(st, 3) != SQLITE_TEXT)
        return 0;
    int pt = sqlite3_column_type(st, 2);
    if (pt != SQLITE_FLOAT && pt != SQLITE_INTEGER)
        return 0;
    if (sqlite3_column_type(st, 4) != SQLITE_INTEGER)
        return 0;
    const char *name = (const char *)sqlite3_column_text(st, 1);
    const char *cat = (const char *)sqlite3_column_text(st, 3);
    return name && cat && utf8_valid(name, (size_t)sqlite3_column_bytes(st, 1), 1) &&
           utf8_valid(cat, (size_t)sqlite3_column_bytes(st, 3), 1) &&
           price_writable(sqlite3_column_double(st, 2));
}

/* ---------------------------------------------------------------- GET /products/{product_id} */

/* graft routes HEAD to GET handlers; FastAPI answers HEAD on a GET route with 405. */
static int is_head(graft_request *req) { return strcmp(graft_method(req), "HEAD") == 0; }

static int get_product(graft_request *req, void *lib)
{
    lib_state *ls = lib;
    if (ls->off & R_GET)
        return decline(req, "PRODUCTS_NATIVE_OFF");
    if (is_head(req))
        return decline(req, "HEAD");
    size_t n;
    const char *s = graft_param(req, "product_id", &n);
    int64_t id;
    int p = parse_int(s, n, &id);
    if (p < 0)
        return decline(req, "product_id in a form not replicated");
    if (p == 0) {
        if (!all_letters(s, n))
            return decline(req, "product_id error not replicated");
        errors e = {0};
        err_str(&e, "int_parsing", "path", "product_id", MSG_INT, s, n, NULL, 0);
        return err_send(req, &e);
    }
    thread_state *ts = graft_thread_state(req);
    if (!ts)
        return decline(req, "no database connection");
    sqlite3_stmt *st = ts->get;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int status;
    graft_json *j = NULL;
    if (rc == SQLITE_ROW) {
        if (!row_writable(st)) {
            sqlite3_reset(st);
            return decline(req, "row not replicated (price below 1e-4?)");
        }
        j = graft_json_new();
        if (j)
            write_product(j, st);
        status = 200;
    } else if (rc == SQLITE_DONE) {
        j = graft_json_new();
        if (j) {
            graft_json_object_begin(j);
            graft_json_key(j, "detail");
            graft_json_string(j, "Product not found", 17);
            graft_json_object_end(j);
        }
        status = 404;
    } else {
        sqlite3_reset(st);
        return decline(req, sqlite3_errmsg(ts->db));
    }
    sqlite3_reset(st);
    if (!j)
        return GRAFT_ENOMEM;
    return graft_respond_json(req, status, j);
}

/* ---------------------------------------------------------------- GET /products */

/* The value FastAPI uses for a query parameter: the last of repeated ones (Starlette's
 * QueryParams.get). 1: present, 0: absent, -1: repeated too often to look at. */
static int query_last(graft_request *req, const char *name, const char **val, size_t *len)
{
    const char *vals[16];
    size_t lens[16];
    size_t k = graft_query_all(req, name, vals, lens, 16);
    if (k == 0)
        return 0;
    if (k > 16)
        return -1;
    *val = vals[k - 1];
    *len = lens[k - 1];
    return 1;
}

/* Query strings whose decoding Starlette and graft might not agree on: raw non-ASCII
 * (Starlette reads it as Latin-1), %00 (graft's keys are C strings). */
static int query_plain(const char *q)
{
    for (const char *p = q; *p; p++) {
        if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
            return 0;
        if (p[0] == '%' && p[1] == '0' && p[2] == '0')
            return 0;
    }
    return 1;
}

static int list_products(graft_request *req, void *lib)
{
    lib_state *ls = lib;
    if (ls->off & R_LIST)
        return decline(req, "PRODUCTS_NATIVE_OFF");
    if (is_head(req))
        return decline(req, "HEAD");
    if (!query_plain(graft_query_string(req)))
        return decline(req, "query string not replicated");

    static const char *const names[] = {"limit", "offset", "category", "min_price", "max_price", "in_stock"};
    const char *v[6] = {NULL};
    size_t vl[6] = {0};
    for (int i = 0; i < 6; i++) {
        if (query_last(req, names[i], &v[i], &vl[i]) < 0)
            return decline(req, "too many repeated parameters");
        if (v[i] && !utf8_valid(v[i], vl[i], 0))
            return decline(req, "query value not UTF-8");
    }

    /* Parse everything first (1 ok, 0 a replicated error, -1 decline), then report the
     * errors in FastAPI's order: the order of the parameters in app.py. */
    int64_t limit = 10, offset = 0;
    double minp = 0, maxp = 0;
    int stock = 0;
    int pl = v[0] ? parse_int(v[0], vl[0], &limit) : 1;
    int po = v[1] ? parse_int(v[1], vl[1], &offset) : 1;
    int pmin = v[3] ? parse_float(v[3], vl[3], &minp) : 1;
    int pmax = v[4] ? parse_float(v[4], vl[4], &maxp) : 1;
    int ps = v[5] ? parse_bool_str(v[5], vl[5], &stock) : 1;
    if (pl < 0 || po < 0 || pmin < 0 || pmax < 0 || ps < 0)
        return decline(req, "a parameter in a form not replicated");

    errors e = {0};
    if (pl == 0)
        err_str(&e, "int_parsing", "query", "limit", MSG_INT, v[0], vl[0], NULL, 0);
    else if (limit < 1)
        err_str(&e, "greater_than_equal", "query", "limit", "Input should be greater than or equal to 1",
                v[0], vl[0], "ge", 1);
    else if (limit > 100)
        err_str(&e, "less_than_equal", "query", "limit", "Input should be less than or equal to 100",
                v[0], vl[0], "le", 100);
    if (po == 0)
        err_str(&e, "int_parsing", "query", "offset", MSG_INT, v[1], vl[1], NULL, 0);
    else if (offset < 0)
        err_str(&e, "greater_than_equal", "query", "offset", "Input should be greater than or equal to 0",
                v[1], vl[1], "ge", 0);
    if (pmin == 0)
        err_str(&e, "float_parsing", "query", "min_price", MSG_FLOAT, v[3], vl[3], NULL, 0);
    if (pmax == 0)
        err_str(&e, "float_parsing", "query", "max_price", MSG_FLOAT, v[4], vl[4], NULL, 0);
    if (ps == 0)
        err_str(&e, "bool_parsing", "query", "in_stock", MSG_BOOL, v[5], vl[5], NULL, 0);
    unsigned mask = (v[2] ? F_CATEGORY : 0) | (v[3] ? F_MIN : 0) | (v[4] ? F_MAX : 0) | (v[5] ? F_STOCK : 0);
    if (e.n)
        return err_send(req, &e);

    thread_state *ts = graft_thread_state(req);
    if (!ts)
        return decline(req, "no database connection");
    sqlite3_stmt *cnt = list_stmt(ts, mask, 0), *sel = list_stmt(ts, mask, 1);
    if (!cnt || !sel)
        return decline(req, sqlite3_errmsg(ts->db));
    for (int s = 0; s < 2; s++) {
        sqlite3_stmt *st = s ? sel : cnt;
        int k = 1;
        if (mask & F_CATEGORY)
            sqlite3_bind_text(st, k++, v[2], (int)vl[2], SQLITE_STATIC);
        if (mask & F_MIN)
            sqlite3_bind_double(st, k++, minp);
        if (mask & F_MAX)
            sqlite3_bind_double(st, k++, maxp);
        if (mask & F_STOCK)
            sqlite3_bind_int(st, k++, stock);
        if (s) {
            sqlite3_bind_int64(st, k++, limit);
            sqlite3_bind_int64(st, k++, offset);
        }
    }

    const char *why = NULL;
    graft_json *j = NULL;
    int64_t total = 0;
    if (sqlite3_step(cnt) != SQLITE_ROW) {
        why = sqlite3_errmsg(ts->db);
        goto out;
    }
    total = sqlite3_column_int64(cnt, 0);
    j = graft_json_new();
    if (!j)
        goto out;
    graft_json_object_begin(j);
    graft_json_key(j, "items");
    graft_json_array_begin(j);
    int rc;
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        if (!row_writable(sel)) {
            why = "row not replicated (price below 1e-4?)";
            goto out;
        }
        write_product(j, sel);
    }
    if (rc != SQLITE_DONE) {
        why = sqlite3_errmsg(ts->db);
        goto out;
    }
    graft_json_array_end(j);
    graft_json_key(j, "total");
    graft_json_int(j, total);
    graft_json_key(j, "limit");
    graft_json_int(j, limit);
    graft_json_key(j, "offset");
    graft_json_int(j, offset);
    graft_json_object_end(j);
out:
    /* reset before answering or declining: the bound category points into the request */
    sqlite3_reset(cnt);
    sqlite3_reset(sel);
    sqlite3_clear_bindings(cnt);
    sqlite3_clear_bindings(sel);
    if (why) {
        graft_json_free(j);
        return decline(req, why);
    }
    if (!j)
        return GRAFT_ENOMEM;
    return graft_respond_json(req, 200, j);
}

/* ---------------------------------------------------------------- POST /products */

static int create_product(graft_request *req, void *lib)
{
    lib_state *ls = lib;
    if (ls->off & R_CREATE)
        return decline(req, "PRODUCTS_NATIVE_OFF");
    size_t blen;
    const char *body = graft_body(req, &blen);
    errors e = {0};
    if (blen == 0) { /* FastAPI: no body at all, whatever the content-type */
        err_begin(&e, "missing", "body", NULL, "Field required");
        if (e.j)
            graft_json_null(e.j);
        err_end(&e, NULL, 0, 0);
        return err_send(req, &e);
    }
    /* FastAPI parses JSON for application/json and application/...+json (parameters
     * allowed), and by default not without a content-type: only the plain case here. */
    size_t ctl;
    const char *ct = graft_header(req, "content-type", &ctl);
    if (!ct || !ieq(ct, ctl, "application/json"))
        return decline(req, "content-type not replicated");

    json_error_t jerr;
    json_t *doc = json_loadb(body, blen, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return decline(req, "JSON that Jansson rejects (FastAPI's json_invalid quotes Python's parser)");
    int rc;
    if (depth(doc) > MAX_DEPTH) {
        rc = decline(req, "deeply nested JSON");
        goto done;
    }
    if (!json_is_object(doc)) {
        err_begin(&e, "model_attributes_type", "body", NULL,
                  "Input should be a valid dictionary or object to extract fields from");
        if (e.j)
            echo(e.j, doc);
        err_end(&e, NULL, 0, 0);
        rc = err_send(req, &e);
        goto done;
    }

    /* ProductIn, field by field in declaration order, as Pydantic (lax mode) does. */
    json_t *name = json_object_get(doc, "name");
    json_t *price = json_object_get(doc, "price");
    json_t *category = json_object_get(doc, "category");
    json_t *stock = json_object_get(doc, "in_stock");
    double pv = 0;
    int sv = 1;

    if (!name) {
        err_json(&e, "missing", "name", "Field required", doc, NULL, 0, 0);
    } else if (!json_is_string(name)) {
        err_json(&e, "string_type", "name", "Input should be a valid string", name, NULL, 0, 0);
    } else {
        size_t chars = utf8_chars(json_string_value(name), json_string_length(name));
        if (chars < 1)
            err_json(&e, "string_too_short", "name", "String should have at least 1 character", name,
                     "min_length", 0, 1);
        else if (chars > NAME_MAX_CHARS)
            err_json(&e, "string_too_long", "name", "String should have at most 100 characters", name,
                     "max_length", 0, NAME_MAX_CHARS);
    }

    if (!price) {
        err_json(&e, "missing", "price", "Field required", doc, NULL, 0, 0);
    } else {
        int ok = 1;
        switch (json_typeof(price)) {
        case JSON_INTEGER: pv = (double)json_integer_value(price); break;
        case JSON_REAL: pv = json_real_value(price); break;
        case JSON_TRUE: pv = 1; break;
        case JSON_FALSE: pv = 0; break;
        case JSON_STRING: /* Pydantic parses numeric strings its own way */
            rc = decline(req, "price given as a string");
            goto done;
        default:
            ok = 0;
            err_json(&e, "float_type", "price", "Input should be a valid number", price, NULL, 0, 0);
        }
        if (ok && !(pv >= 0))
            err_json(&e, "greater_than_equal", "price", "Input should be greater than or equal to 0", price,
                     "ge", 1, 0.0);
    }

    if (!category)
        err_json(&e, "missing", "category", "Field required", doc, NULL, 0, 0);
    else if (!json_is_string(category))
        err_json(&e, "string_type", "category", "Input should be a valid string", category, NULL, 0, 0);

    if (stock) {
        switch (json_typeof(stock)) {
        case JSON_TRUE: sv = 1; break;
        case JSON_FALSE: sv = 0; break;
        case JSON_INTEGER: {
            json_int_t x = json_integer_value(stock);
            if (x == 0 || x == 1)
                sv = (int)x;
            else
                err_json(&e, "bool_parsing", "in_stock", MSG_BOOL, stock, NULL, 0, 0);
            break;
        }
        case JSON_REAL: {
            double x = json_real_value(stock);
            if (x == 0 || x == 1) {
                sv = x == 1;
                break;
            }
            rc = decline(req, "in_stock given as a float other than 0.0/1.0");
            goto done;
        }
        case JSON_STRING: {
            int p = parse_bool_str(json_string_value(stock), json_string_length(stock), &sv);
            if (p < 0) {
                rc = decline(req, "in_stock string not replicated");
                goto done;
            }
            if (p == 0)
                err_json(&e, "bool_parsing", "in_stock", MSG_BOOL, stock, NULL, 0, 0);
            break;
        }
        default:
            err_json(&e, "bool_type", "in_stock", "Input should be a valid boolean", stock, NULL, 0, 0);
        }
    }

    if (e.n) {
        rc = err_send(req, &e);
        goto done;
    }
    if (!price_writable(pv)) {
        rc = decline(req, "price below 1e-4: Pydantic writes it differently");
        goto done;
    }

    thread_state *ts = graft_thread_state(req);
    if (!ts) {
        rc = decline(req, "no database connection");
        goto done;
    }
    sqlite3_stmt *st = ts->insert;
    const char *nm = json_string_value(name), *cat = json_string_value(category);
    size_t nml = json_string_length(name), catl = json_string_length(category);
    sqlite3_bind_text(st, 1, nm, (int)nml, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, pv);
    sqlite3_bind_text(st, 3, cat, (int)catl, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, sv);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (step != SQLITE_DONE) { /* nothing was written: Python may try the same insert */
        rc = decline(req, sqlite3_errmsg(ts->db));
        goto done;
    }
    int64_t id = sqlite3_last_insert_rowid(ts->db); /* this thread's connection: our row */

    graft_json *j = graft_json_new();
    if (!j) {
        rc = GRAFT_ENOMEM;
        goto done;
    }
    graft_json_object_begin(j);
    graft_json_key(j, "id");
    graft_json_int(j, id);
    graft_json_key(j, "name");
    graft_json_string(j, nm, nml);
    graft_json_key(j, "price");
    graft_json_double(j, pv);
    graft_json_key(j, "category");
    graft_json_string(j, cat, catl);
    graft_json_key(j, "in_stock");
    graft_json_bool(j, sv);
    graft_json_object_end(j);
    rc = graft_respond_json(req, 201, j);
done:
    if (e.n && rc == GRAFT_DECLINE)
        graft_json_free(e.j);
    json_decref(doc);
    return rc;
}

/* ---------------------------------------------------------------- registration */

static unsigned parse_off(const char *s)
{
    unsigned off = 0;
    while (s && *s) {
        size_t n = strcspn(s, ",");
        if (ieq(s, n, "all"))
            off |= R_LIST | R_GET | R_CREATE;
        else if (ieq(s, n, "list"))
            off |= R_LIST;
        else if (ieq(s, n, "get"))
            off |= R_GET;
        else if (ieq(s, n, "create"))
            off |= R_CREATE;
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
    ls->db_path = strdup(path && *path ? path : "products.db");
    ls->off = parse_off(getenv("PRODUCTS_NATIVE_OFF"));
    const char *dbg = getenv("PRODUCTS_NATIVE_DEBUG");
    ls->debug = dbg && *dbg && strcmp(dbg, "0") != 0;
    if (!ls->db_path) {
        free(ls);
        return GRAFT_ENOMEM;
    }
    graft_router_set_state(r, ls, lib_state_free);
    graft_router_set_thread_state(r, thread_state_new, thread_state_free);
    graft_router_set_body_limit(r, BODY_LIMIT);
    int rc;
    if ((rc = graft_route(r, "GET", "/products", list_products, 0)) < 0 ||
        (rc = graft_route(r, "GET", "/products/{product_id}", get_product, 0)) < 0 ||
        (rc = graft_route(r, "POST", "/products", create_product, GRAFT_ROUTE_BODY | GRAFT_ROUTE_BLOCKING)) < 0)
        return rc;
    if (ls->debug)
        fprintf(stderr, "products_routes: database %s%s\n", ls->db_path, ls->off ? " (some routes off)" : "");
    return 0;
}
