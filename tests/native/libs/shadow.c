/* shadow.c — native ports for tests/native/test_shadow.py, next to tests/apps/shadow_app.py.
 * Most routes answer exactly as the app does; the ones named "wrong" differ on purpose in
 * one place (status, a header, the body), so the shadow log must name exactly them. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <graft.h>

GRAFT_LIBRARY()

static const char json[] = "application/json";

/* GET /items/{id}: {"id":ID,"name":"item-ID"}; id 13 is the port's bug (wrong name). */
static int item(graft_request *req, void *st)
{
    (void)st;
    size_t n;
    const char *id = graft_param(req, "id", &n);
    char body[160];
    int len = snprintf(body, sizeof body, "{\"id\":%.*s,\"name\":\"item-%.*s%s\"}", (int)n, id,
                       (int)n, id, strcmp(id, "13") == 0 ? "!" : "");
    return graft_respond(req, 200, json, body, (size_t)len);
}

/* GET /who: the app says python, the port native: every request differs. */
static int who(graft_request *req, void *st)
{
    (void)st;
    return graft_respond(req, 200, json, "{\"from\":\"native\"}", 17);
}

/* GET /stream/{n}: n lines streamed in pieces; the app sends them with a content-length. */
static int stream(graft_request *req, void *st)
{
    (void)st;
    int n = atoi(graft_param(req, "n", NULL));
    if (graft_stream_start(req, 200, "text/plain; charset=utf-8") < 0)
        return GRAFT_OK;
    char line[32];
    for (int i = 0; i < n; i++) {
        int len = snprintf(line, sizeof line, "line %d\n", i);
        graft_stream_write(req, line, (size_t)len);
    }
    graft_stream_end(req);
    return GRAFT_OK;
}

/* GET /headers: the same fields as the app in another order and name case, unless ?wrong. */
static int headers(graft_request *req, void *st)
{
    (void)st;
    graft_set_header(req, "X-B", "2");
    graft_set_header(req, "x-a", graft_query(req, "wrong", NULL) ? "one" : "1");
    return graft_respond(req, 200, "text/plain; charset=utf-8", "ok", 2);
}

/* GET /cookie: another session cookie than the app's (the log must redact both). */
static int cookie(graft_request *req, void *st)
{
    (void)st;
    graft_set_header(req, "Set-Cookie", "session=native-secret; Path=/; SameSite=lax");
    return graft_respond(req, 200, "text/plain; charset=utf-8", "ok", 2);
}

/* GET /bytes: a binary body, one byte off from the app's. */
static int bytes(graft_request *req, void *st)
{
    (void)st;
    static const unsigned char b[] = {0xff, 0x00, 0xfe, 0x02};
    return graft_respond(req, 200, "application/octet-stream", b, sizeof b);
}

/* GET /missing: the port answers 404 where the app answers 200. */
static int missing(graft_request *req, void *st)
{
    (void)st;
    return graft_respond(req, 404, json, "{\"detail\":\"Not Found\"}", 22);
}

static int decline(graft_request *req, void *st)
{
    (void)req;
    (void)st;
    return GRAFT_DECLINE;
}

static int fail(graft_request *req, void *st)
{
    (void)req;
    (void)st;
    return GRAFT_ENOMEM;
}

/* GET /slow: answers after 1.5 s (beyond the tests' --shadow-timeout). */
static int slow(graft_request *req, void *st)
{
    (void)st;
    struct timespec ts = {1, 500000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    return graft_respond(req, 200, json, "{\"slow\":true}", 13);
}

/* POST /search (safe, whole body): {"q":BODY,"hits":LEN}, as the app computes it. */
static int search(graft_request *req, void *st)
{
    (void)st;
    size_t n;
    const char *b = graft_body(req, &n);
    char out[256];
    int len = snprintf(out, sizeof out, "{\"q\":\"%.*s\",\"hits\":%zu}", n > 100 ? 100 : (int)n, b, n);
    return graft_respond(req, 200, json, out, (size_t)len);
}

/* POST /orders: has side effects; shadow mode must refuse it. */
static int orders(graft_request *req, void *st)
{
    (void)st;
    return graft_respond(req, 201, json, "{\"native\":true}", 15);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    int rc = graft_route(r, "GET", "/items/{id}", item, 0);
    rc |= graft_route(r, "GET", "/who", who, 0);
    rc |= graft_route(r, "GET", "/stream/{n}", stream, 0);
    rc |= graft_route(r, "GET", "/headers", headers, 0);
    rc |= graft_route(r, "GET", "/cookie", cookie, 0);
    rc |= graft_route(r, "GET", "/bytes", bytes, 0);
    rc |= graft_route(r, "GET", "/missing", missing, 0);
    rc |= graft_route(r, "GET", "/decline", decline, 0);
    rc |= graft_route(r, "GET", "/fail", fail, 0);
    rc |= graft_route(r, "GET", "/slow", slow, GRAFT_ROUTE_BLOCKING);
    rc |= graft_route(r, "POST", "/search", search, GRAFT_ROUTE_BODY | GRAFT_ROUTE_SAFE);
    rc |= graft_route(r, "POST", "/orders", orders, 0);
    return rc;
}
