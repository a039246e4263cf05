/* Unit tests for the route table (src/native/router.c): the template depth limit
 * (GRAFT_ROUTE_MAX_SEGMENTS) for HTTP and WebSocket routes, matching right at
 * the limit, and the HEAD-over-GET tiebreak there. Paths and templates are
 * built in exactly-sized heap blocks so sanitizers see any overrun. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

#include "../unit.h"

/* "/seg/seg/.../last" with n segments (n - 1 copies of seg, then last). */
static char *deep(size_t n, const char *seg, const char *last)
{
    size_t sl = strlen(seg), ll = strlen(last), len = (n - 1) * (sl + 1) + 1 + ll;
    char *p = malloc(len + 1), *q = p;
    if (!p)
        abort();
    for (size_t i = 0; i + 1 < n; i++) {
        *q++ = '/';
        memcpy(q, seg, sl);
        q += sl;
    }
    *q++ = '/';
    memcpy(q, last, ll + 1);
    return p;
}

static int h_get(graft_request *req, void *st) { (void)req; (void)st; return 0; }
static int h_head(graft_request *req, void *st) { (void)req; (void)st; return 0; }
static int h_lit(graft_request *req, void *st) { (void)req; (void)st; return 0; }
static void on_msg(graft_ws *ws, int binary, const void *d, size_t n, void *st)
{
    (void)ws; (void)binary; (void)d; (void)n; (void)st;
}
static const graft_ws_handlers wsh = {NULL, on_msg, NULL};

/* The path is copied without its NUL; the copy lives until the next call (captures point
 * into it). */
static char *last_path;

static int match(graft_router *r, const char *method, const char *path, int ws, int head_as_get,
                 graft__match *m)
{
    size_t n = strlen(path);
    free(last_path);
    last_path = malloc(n ? n : 1);
    if (!last_path)
        abort();
    memcpy(last_path, path, n);
    return graft__router_match(r, method, strlen(method), last_path, n, ws, head_as_get, m);
}

/* Over the limit, a WebSocket template used to register (its guard was skipped) and a
 * matching path then overflowed the per-segment score array; an HTTP one registered but
 * could never match. Both are refused now, with a message naming the route. */
static void test_too_deep_refused(void)
{
    static const size_t depths[] = {GRAFT_ROUTE_MAX_SEGMENTS + 1, 64, 65, 100, 1000};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        size_t n = depths[i];
        graft_router r = {0};
        char *t = deep(n, "a", "b"), *tp = deep(n, "a", "{x}"), *e = deep(n, "", "");
        int rc = graft_ws_route(&r, t, &wsh);
        check(rc == GRAFT_EINVAL, "ws too deep", "%zu segments: graft_ws_route returned %d", n, rc);
        check(strstr(r.err, "segments") && strstr(r.err, "/a/a"), "ws too deep message",
              "%zu segments: err \"%s\"", n, r.err);
        rc = graft_ws_route(&r, e, &wsh);
        check(rc == GRAFT_EINVAL, "ws too deep (empty segments)", "%zu: %d", n, rc);
        rc = graft_route(&r, "GET", t, h_get, 0);
        check(rc == GRAFT_EINVAL, "http too deep", "%zu segments: graft_route returned %d", n, rc);
        check(strstr(r.err, "GET /a/a") != NULL, "http too deep message", "err \"%s\"", r.err);
        rc = graft_route(&r, "GET", tp, h_get, 0);
        check(rc == GRAFT_EINVAL, "http too deep (param)", "%zu: %d", n, rc);
        check(r.n == 0, "nothing registered", "%zu routes", r.n);
        /* Whatever was registered, matching deep paths stays in bounds (ASan checks). */
        graft__match m;
        match(&r, "GET", e, 1, 0, &m);
        match(&r, "GET", t, 0, 1, &m);
        graft__router_free(&r);
        free(t);
        free(tp);
        free(e);
    }
}

/* At the limit everything works: registration, matching, precedence, captures. */
static void test_at_limit(void)
{
    const size_t n = GRAFT_ROUTE_MAX_SEGMENTS;
    graft_router r = {0};
    char *lit = deep(n, "a", "b"), *par = deep(n, "a", "{x}"), *path = deep(n, "a", "b");
    char *other = deep(n, "a", "c"), *longer = deep(n + 5, "a", "b"), *e = deep(n, "", "");
    check(graft_route(&r, "GET", par, h_get, 0) == 0, "at limit: param", "%s", r.err);
    check(graft_route(&r, "GET", lit, h_lit, 0) == 0, "at limit: literal", "%s", r.err);
    check(graft_ws_route(&r, e, &wsh) == 0, "at limit: ws", "%s", r.err);
    graft__match m;
    check(match(&r, "GET", path, 0, 0, &m) && m.route->handler == h_lit, "at limit: literal wins",
          "the last segment's score was lost");
    check(match(&r, "GET", other, 0, 0, &m) && m.route->handler == h_get && m.nparams == 1 &&
              m.lens[0] == 1 && m.vals[0][0] == 'c',
          "at limit: param captures", "no match");
    check(!match(&r, "GET", longer, 0, 0, &m), "at limit: longer path", "matched");
    check(match(&r, "GET", e, 1, 0, &m) && m.route->is_ws, "at limit: ws matches", "no match");
    check(!match(&r, "GET", longer, 1, 0, &m), "at limit: longer ws path", "matched");
    graft__router_free(&r);

    /* The HEAD tiebreak has its own slot: with head_as_get, HEAD picks the HEAD route at
     * every depth, and a more specific GET route still beats a less specific HEAD one. */
    graft_router h = {0};
    check(graft_route(&h, "GET", lit, h_get, 0) == 0, "tiebreak: GET", "%s", h.err);
    check(graft_route(&h, "HEAD", lit, h_head, 0) == 0, "tiebreak: HEAD", "%s", h.err);
    check(graft_route(&h, "HEAD", par, h_lit, 0) == 0, "tiebreak: HEAD param", "%s", h.err);
    check(match(&h, "HEAD", path, 0, 1, &m) && m.route->handler == h_head, "tiebreak: HEAD wins",
          "wrong route");
    check(match(&h, "GET", path, 0, 1, &m) && m.route->handler == h_get, "tiebreak: GET", "wrong");
    graft__router_free(&h);

    graft_router g = {0};
    check(graft_route(&g, "HEAD", par, h_head, 0) == 0, "specific GET: HEAD param", "%s", g.err);
    check(graft_route(&g, "GET", lit, h_get, 0) == 0, "specific GET: GET literal", "%s", g.err);
    check(match(&g, "HEAD", path, 0, 1, &m) && m.route->handler == h_get,
          "specific GET beats HEAD param", "segment score must come before the tiebreak");
    graft__router_free(&g);
    free(lit);
    free(par);
    free(path);
    free(other);
    free(longer);
    free(e);
}

int main(void)
{
    test_too_deep_refused();
    test_at_limit();
    free(last_path);
    return unit_report();
}
