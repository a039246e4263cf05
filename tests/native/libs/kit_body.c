/* The routes of tests/apps/kit_body_app.py, served natively: each handler validates with
 * GRAFT_VALIDATE (parameters and the JSON body) and answers, from the graft_body_* getters,
 * the body the app would. /kitb/streamed is registered without GRAFT_ROUTE_BODY: under graft
 * its graft_validate declines, and graft-serve refuses it at start-up. */
#include <math.h>
#include <stdio.h>

#include "graft.h"

GRAFT_LIBRARY()

static void str_or_null(graft_json *j, graft_request *req, const char *path)
{
    size_t n;
    const char *s = graft_body_str(req, path, &n);
    if (s)
        graft_json_string(j, s, n);
    else
        graft_json_null(j);
}

static void addr(graft_json *j, graft_request *req, const char *path)
{
    char p[64];
    if (!graft_body_has(req, path)) {
        graft_json_null(j);
        return;
    }
    graft_json_object_begin(j);
    graft_json_key(j, "city");
    snprintf(p, sizeof p, "%s.city", path);
    str_or_null(j, req, p);
    graft_json_key(j, "zip");
    snprintf(p, sizeof p, "%s.zip", path);
    graft_json_int(j, graft_body_int(req, p));
    graft_json_object_end(j);
}

static int create(graft_request *req, void *st)
{
    (void)st;
    GRAFT_VALIDATE(req);
    if (!isfinite(graft_body_number(req, "price"))) /* the app's math.floor(inf) raises */
        return graft_respond(req, 500, "text/plain; charset=utf-8", "Internal Server Error", 21);
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "shop");
    graft_json_int(j, graft_arg_int(req, "shop"));
    graft_json_key(j, "dry");
    graft_json_bool(j, graft_arg_bool(req, "dry"));
    graft_json_key(j, "name");
    str_or_null(j, req, "name");
    graft_json_key(j, "price_milli");
    graft_json_int(j, (int64_t)floor(graft_body_number(req, "price") * 1000));
    graft_json_key(j, "qty");
    graft_json_int(j, graft_body_int(req, "qty"));
    graft_json_key(j, "ok");
    graft_json_bool(j, graft_body_bool(req, "ok"));
    graft_json_key(j, "notes");
    str_or_null(j, req, "notes");
    graft_json_key(j, "addr");
    addr(j, req, "addr");
    graft_json_key(j, "tags");
    graft_json_array_begin(j);
    for (size_t i = 0; i < graft_body_count(req, "tags"); i++)
        graft_json_int(j, graft_body_int_at(req, "tags", i));
    graft_json_array_end(j);
    graft_json_key(j, "color");
    str_or_null(j, req, "color");
    graft_json_key(j, "lines");
    graft_json_array_begin(j);
    for (size_t i = 0; i < graft_body_count(req, "lines"); i++) {
        char p[64];
        graft_json_object_begin(j);
        graft_json_key(j, "sku");
        snprintf(p, sizeof p, "lines.%zu.sku", i);
        str_or_null(j, req, p);
        graft_json_key(j, "qty");
        snprintf(p, sizeof p, "lines.%zu.qty", i);
        graft_json_int(j, graft_body_int(req, p));
        graft_json_object_end(j);
    }
    graft_json_array_end(j);
    graft_json_key(j, "billing");
    addr(j, req, "billing");
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

/* Loose's fields under prefix ("" for the body itself, "item." embedded). */
static int loose_answer(graft_request *req, const char *prefix)
{
    char p[64];
    snprintf(p, sizeof p, "%sb", prefix);
    if (graft_body_has(req, p) && !isfinite(graft_body_number(req, p))) /* math.floor(inf) raises */
        return graft_respond(req, 500, "text/plain; charset=utf-8", "Internal Server Error", 21);
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "a");
    snprintf(p, sizeof p, "%sa", prefix);
    graft_json_int(j, graft_body_int(req, p));
    graft_json_key(j, "b_milli");
    snprintf(p, sizeof p, "%sb", prefix);
    if (graft_body_has(req, p))
        graft_json_int(j, (int64_t)floor(graft_body_number(req, p) * 1000));
    else
        graft_json_null(j);
    graft_json_key(j, "s");
    snprintf(p, sizeof p, "%ss", prefix);
    graft_json_array_begin(j);
    for (size_t i = 0; i < graft_body_count(req, p); i++) {
        size_t n;
        const char *s = graft_body_str_at(req, p, i, &n);
        graft_json_string(j, s, n);
    }
    graft_json_array_end(j);
    graft_json_key(j, "t"); /* Optional with a default: null reads as None, absent the default */
    snprintf(p, sizeof p, "%st", prefix);
    str_or_null(j, req, p);
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

static int loose(graft_request *req, void *st)
{
    (void)st;
    GRAFT_VALIDATE(req);
    return loose_answer(req, "");
}

static int embed(graft_request *req, void *st)
{
    (void)st;
    GRAFT_VALIDATE(req);
    return loose_answer(req, "item.");
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    int rc = graft_route(r, "POST", "/kitb/orders/{shop}", create, GRAFT_ROUTE_BODY);
    rc = rc ? rc : graft_route(r, "PUT", "/kitb/loose", loose, GRAFT_ROUTE_BODY);
    rc = rc ? rc : graft_route(r, "POST", "/kitb/embed", embed, GRAFT_ROUTE_BODY);
    rc = rc ? rc : graft_route(r, "POST", "/kitb/streamed", loose, 0);
    rc = rc ? rc : graft_route(r, "POST", "/kitb/checked", loose, GRAFT_ROUTE_BODY); /* declines */
    return rc;
}
