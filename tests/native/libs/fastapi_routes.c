/* The routes of tests/apps/fastapi_routing_app.py, registered in the same order, for
 * graft-serve --fastapi-routing (tests/native/test_fastapi_routing.py): every handler answers
 * text/plain with the route's name and its captures, as graft_param returns them, between
 * '|' (a capture may hold any byte, NUL included: its length is what counts). */
#include <string.h>

#include "graft.h"

GRAFT_LIBRARY()

static int answer(graft_request *req, const char *name, const char *param)
{
    char out[8192];
    size_t n = strlen(name), len = 0;
    memcpy(out, name, n);
    if (param) {
        const char *v = graft_param(req, param, &len);
        if (!v || len > sizeof out - n - 2)
            return graft_respond(req, 500, "text/plain", "bad param", 9);
        out[n++] = '|';
        memcpy(out + n, v, len);
        n += len;
        out[n++] = '|';
    }
    return graft_respond(req, 200, "text/plain; charset=utf-8", out, n);
}

static int items_get(graft_request *q, void *s) { (void)s; return answer(q, "items_get", NULL); }
static int items_post(graft_request *q, void *s) { (void)s; return answer(q, "items_post", NULL); }
static int item_get(graft_request *q, void *s) { (void)s; return answer(q, "item_get", "item_id"); }
static int item_delete(graft_request *q, void *s) { (void)s; return answer(q, "item_delete", "item_id"); }
static int book(graft_request *q, void *s) { (void)s; return answer(q, "book", "book_id"); }
static int files(graft_request *q, void *s) { (void)s; return answer(q, "files", "rest"); }
static int cafe(graft_request *q, void *s) { (void)s; return answer(q, "cafe", NULL); }
static int things(graft_request *q, void *s) { (void)s; return answer(q, "things", NULL); }
static int only_head(graft_request *q, void *s) { (void)s; return answer(q, "only_head", NULL); }

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    struct {
        const char *m, *p;
        graft_handler h;
    } routes[] = {
        {"GET", "/items", items_get},
        {"POST", "/items", items_post},
        {"GET", "/items/{item_id}", item_get},
        {"DELETE", "/items/{item_id}", item_delete},
        {"GET", "/books/{book_id}", book},
        {"GET", "/files/{rest:path}", files},
        {"GET", "/caf\xc3\xa9", cafe},
        {"PUT", "/things/", things},
        {"HEAD", "/only-head", only_head},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int rc = graft_route(r, routes[i].m, routes[i].p, routes[i].h, 0);
        if (rc)
            return rc;
    }
    return 0;
}
