/* The routes of tests/apps/kit_app.py, served natively through route contracts: each handler
 * validates with GRAFT_VALIDATE and answers, from the typed getters, the body the app would.
 * /kit/literal has a contract the kit does not support: it declines (graft) and otherwise
 * answers from the raw accessors. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "graft.h"

GRAFT_LIBRARY()

static void opt_str(graft_json *j, graft_request *req, const char *name)
{
    size_t n;
    const char *s = graft_arg_str(req, name, &n);
    if (s)
        graft_json_string(j, s, n);
    else
        graft_json_null(j);
}

/* uuid.hex: the 32 hex digits, lower case, of any form Pydantic accepts. */
static void uuid_hex(graft_json *j, const char *s, size_t n)
{
    char out[33];
    size_t o = 0;
    if (n > 9 && strncmp(s, "urn:uuid:", 9) == 0)
        s += 9, n -= 9;
    for (size_t i = 0; i < n && o < 32; i++)
        if (isxdigit((unsigned char)s[i]))
            out[o++] = (char)tolower((unsigned char)s[i]);
    graft_json_string(j, out, o);
}

static int items(graft_request *req, void *st)
{
    (void)st;
    GRAFT_VALIDATE(req);
    if (graft_arg_int(req, "item_id") == 404)
        return graft_respond_detail(req, 404, "Item \"404\" not found: \xc3\xbc");
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "item_id");
    graft_json_int(j, graft_arg_int(req, "item_id"));
    graft_json_key(j, "limit");
    graft_json_int(j, graft_arg_int(req, "limit"));
    graft_json_key(j, "q");
    opt_str(j, req, "q");
    graft_json_key(j, "ratio_milli");
    graft_json_int(j, (int64_t)floor(graft_arg_number(req, "ratio") * 1000));
    graft_json_key(j, "flag");
    graft_json_bool(j, graft_arg_bool(req, "flag"));
    graft_json_key(j, "tags");
    graft_json_array_begin(j);
    for (size_t i = 0; i < graft_arg_count(req, "tags"); i++)
        graft_json_int(j, graft_arg_int_at(req, "tags", i));
    graft_json_array_end(j);
    graft_json_key(j, "color");
    opt_str(j, req, "color");
    graft_json_key(j, "level");
    if (graft_arg_has(req, "level"))
        graft_json_int(j, graft_arg_int(req, "level"));
    else
        graft_json_null(j);
    graft_json_key(j, "uid");
    size_t n;
    const char *u = graft_arg_str(req, "uid", &n);
    if (u)
        uuid_hex(j, u, n);
    else
        graft_json_null(j);
    graft_json_key(j, "year");
    const char *w = graft_arg_str(req, "when", &n);
    if (w)
        graft_json_int(j, (w[0] - '0') * 1000 + (w[1] - '0') * 100 + (w[2] - '0') * 10 + (w[3] - '0'));
    else
        graft_json_null(j);
    graft_json_key(j, "x_token");
    opt_str(j, req, "x-token");
    graft_json_key(j, "session");
    if (graft_arg_has(req, "session"))
        graft_json_int(j, graft_arg_int(req, "session"));
    else
        graft_json_null(j);
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

static int users(graft_request *req, void *st)
{
    (void)st;
    GRAFT_VALIDATE(req);
    /* The app's math.floor(inf) (or nan) raises: FastAPI answers its plain 500. */
    for (size_t i = 0; i < graft_arg_count(req, "scores"); i++)
        if (!isfinite(graft_arg_number_at(req, "scores", i)))
            return graft_respond(req, 500, "text/plain; charset=utf-8", "Internal Server Error", 21);
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "name");
    opt_str(j, req, "name");
    graft_json_key(j, "n");
    graft_json_int(j, graft_arg_int(req, "n"));
    graft_json_key(j, "scores_milli");
    graft_json_array_begin(j);
    for (size_t i = 0; i < graft_arg_count(req, "scores"); i++)
        graft_json_int(j, (int64_t)floor(graft_arg_number_at(req, "scores", i) * 1000));
    graft_json_array_end(j);
    graft_json_key(j, "labels");
    if (graft_arg_has(req, "labels")) {
        graft_json_array_begin(j);
        for (size_t i = 0; i < graft_arg_count(req, "labels"); i++) {
            size_t n;
            const char *s = graft_arg_str_at(req, "labels", i, &n);
            graft_json_string(j, s, n);
        }
        graft_json_array_end(j);
    } else {
        graft_json_null(j);
    }
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

/* Unsupported contract (a Literal): under graft it declines; without a contract (graft-serve
 * given a document without this route) it answers from the raw query. */
static int literal(graft_request *req, void *st)
{
    (void)st;
    GRAFT_VALIDATE(req);
    size_t n;
    const char *m = graft_query(req, "mode", &n);
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "mode");
    graft_json_string(j, m ? m : "a", m ? n : 1);
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    int rc = graft_route(r, "GET", "/kit/items/{id}", items, 0);
    rc = rc ? rc : graft_route(r, "GET", "/kit/users/{name}", users, 0);
    rc = rc ? rc : graft_route(r, "GET", "/kit/literal", literal, 0);
    rc = rc ? rc : graft_route(r, "GET", "/kit/dep", literal, 0); /* declines: its contract is unsupported */
    return rc;
}
