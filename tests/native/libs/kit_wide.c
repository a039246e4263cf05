/* The routes of tests/apps/kit_wide_app.py: /wide/items/{id} registered with
 * GRAFT_ROUTE_WIDE_INT echoes each int from graft_arg_int_text when it is beyond int64 (the
 * getters' saturation and sign checked on the way), /wide/plain/{id} without the flag. */
#include <stdint.h>
#include <string.h>

#include "graft.h"

GRAFT_LIBRARY()

/* An int as the app's JSON writes it: the canonical text beyond int64, else the value. Checks
 * that the saturated value and the sign agree with the text (a 500 tells the test if not). */
static int put_int(graft_json *j, int64_t v, int wide, const char *text, size_t n)
{
    if (!wide && !text) {
        graft_json_int(j, v);
        return 0;
    }
    if (!text || (wide > 0 ? v != INT64_MAX || text[0] == '-' : v != INT64_MIN || text[0] != '-'))
        return -1;
    graft_json_number_text(j, text, n);
    return 0;
}

/* Parameter name as key key (the app's Python name). */
static int scalar(graft_json *j, graft_request *req, const char *key, const char *name)
{
    graft_json_key(j, key);
    if (!graft_arg_has(req, name)) {
        graft_json_null(j);
        return 0;
    }
    size_t n = 0;
    const char *t = graft_arg_int_text(req, name, &n);
    return put_int(j, graft_arg_int(req, name), graft_arg_wide(req, name), t, n);
}

static int items(graft_request *req, void *st)
{
    (void)st;
    GRAFT_VALIDATE(req);
    graft_json *j = graft_json_new();
    int bad = 0;
    graft_json_object_begin(j);
    bad |= scalar(j, req, "item_id", "item_id");
    graft_json_key(j, "big");
    graft_json_bool(j, graft_arg_wide(req, "item_id") != 0);
    bad |= scalar(j, req, "lo", "lo");
    bad |= scalar(j, req, "hi", "hi");
    bad |= scalar(j, req, "m", "m");
    graft_json_key(j, "tags");
    graft_json_array_begin(j);
    for (size_t i = 0; i < graft_arg_count(req, "tags"); i++) {
        size_t n = 0;
        const char *t = graft_arg_int_text_at(req, "tags", i, &n);
        bad |= put_int(j, graft_arg_int_at(req, "tags", i), graft_arg_wide_at(req, "tags", i), t, n);
    }
    graft_json_array_end(j);
    bad |= scalar(j, req, "x_n", "x-n");
    bad |= scalar(j, req, "session", "session");
    graft_json_object_end(j);
    if (bad) {
        graft_json_free(j);
        return graft_respond(req, 500, "text/plain", "getters disagree", 16);
    }
    return graft_respond_json(req, 200, j);
}

static int plain(graft_request *req, void *st)
{
    (void)st;
    GRAFT_VALIDATE(req);
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "item_id");
    graft_json_int(j, graft_arg_int(req, "item_id"));
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    int rc = graft_route(r, "GET", "/wide/items/{id}", items, GRAFT_ROUTE_WIDE_INT);
    return rc ? rc : graft_route(r, "GET", "/wide/plain/{id}", plain, 0);
}
