/* Unit tests for the route table (src/native/router.c): the template depth limit
 * (GRAFT_ROUTE_MAX_SEGMENTS) for HTTP and WebSocket routes, matching right at
 * the limit, and the HEAD-over-GET tiebreak there; the decoded path routes match
 * (src/native/path_decode.c) and matching on it as Starlette matches scope["path"];
 * the first route for a path whatever its method (FastAPI's 405 and redirect). Paths
 * and templates are built in exactly-sized heap blocks so sanitizers see any overrun. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path_decode.h"
#include "router.h"
#include "buf.h"

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

/* Decodes raw into an exactly-sized block (cap bytes) and compares with want (wlen bytes). */
static void decode_case(const char *raw, size_t cap, const char *want, long wlen)
{
    size_t n = strlen(raw);
    char *out = malloc(cap ? cap : 1);
    if (!out)
        abort();
    long got = graft__path_decode(out, cap, raw, n);
    check(got == wlen && (got < 0 || memcmp(out, want, (size_t)got) == 0), "path_decode", "%s: got %ld bytes \"%.*s\", want %ld",
          raw, got, got < 0 ? 0 : (int)got, out, wlen);
    free(out);
}

#define DECODES(raw, want) decode_case(raw, strlen(raw), want, (long)sizeof(want) - 1)

/* Percent-decoding as the bridge's scope["path"] (and urllib's unquote) does, then invalid
 * UTF-8 replaced as Python's decode("utf-8", "replace") does (the expected bytes below are
 * what Python gives for each). */
static void test_path_decode(void)
{
    DECODES("/books/1%2F2", "/books/1/2");
    DECODES("/caf%C3%A9", "/caf\xc3\xa9");
    DECODES("/caf%c3%a9", "/caf\xc3\xa9");
    DECODES("/a%2520b", "/a%20b");
    DECODES("/%zz/%4/%", "/%zz/%4/%");       /* not an escape: left as is */
    DECODES("/x%4", "/x%4");
    DECODES("/x%41", "/xA");                 /* the last escape of the path */
    DECODES("/%2e%2E/", "/../");             /* not normalised, as Starlette does not */
    DECODES("/a%00b", "/a\0b");
    DECODES("/%FF", "/\xef\xbf\xbd");
    DECODES("/%E2%82A", "/\xef\xbf\xbd" "A"); /* a truncated sequence is one U+FFFD */
    DECODES("/%F0%9F%98", "/\xef\xbf\xbd");
    DECODES("/%F0%9F%98%80", "/\xf0\x9f\x98\x80");
    DECODES("/%ED%A0%80", "/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* a surrogate */
    DECODES("/%C0%80", "/\xef\xbf\xbd\xef\xbf\xbd");               /* overlong */
    DECODES("/%E0%80%80", "/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    DECODES("/%F4%90%80%80", "/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    DECODES("/%C3", "/\xef\xbf\xbd");
    DECODES("/%C3%", "/\xef\xbf\xbd%");
    /* Never past cap: a raw byte >= 0x80 (the parser lets none through) takes 3. */
    decode_case("/\xff", 2, NULL, -1);
    decode_case("/\xff", 4, "/\xef\xbf\xbd", 4);
    decode_case("/abc", 3, NULL, -1);
    decode_case("", 0, "", 0);
}

/* Decodes path, then matches it: captures point into the decoded copy (kept until the next
 * call, like last_path). */
static char *last_dec;

static int match_raw(graft_router *r, const char *method, const char *raw, graft__match *m)
{
    size_t n = strlen(raw);
    free(last_dec);
    last_dec = malloc(n ? n : 1);
    if (!last_dec)
        abort();
    long dl = graft__path_decode(last_dec, n, raw, n);
    if (dl < 0)
        return 0;
    return graft__router_match(r, method, strlen(method), last_dec, (size_t)dl, 0, 0, m);
}

static int cap_is(const graft__match *m, size_t i, const char *want, size_t wlen)
{
    return i < m->nparams && m->lens[i] == wlen && memcmp(m->vals[i], want, wlen) == 0;
}

/* Matching on the decoded path: an encoded '/' splits segments (so a {param} never holds
 * one, and GET /books/1%2F2 matches nothing, as in FastAPI), a catch-all takes it as '/',
 * literals compare with the decoded text, captures are the decoded text. */
static void test_decoded_matching(void)
{
    graft_router r = {0};
    check(graft_route(&r, "GET", "/books/{book_id}", h_get, 0) == 0, "decoded: books", "%s", r.err);
    check(graft_route(&r, "GET", "/files/{rest:path}", h_get, 0) == 0, "decoded: files", "%s", r.err);
    check(graft_route(&r, "GET", "/caf\xc3\xa9", h_lit, 0) == 0, "decoded: cafe", "%s", r.err);
    check(graft_route(&r, "GET", "/a%20b", h_lit, 0) == 0, "decoded: pct literal", "%s", r.err);
    graft__match m;
    check(!match_raw(&r, "GET", "/books/1%2F2", &m), "decoded: %2F splits", "matched");
    check(!match_raw(&r, "GET", "/books/%2F", &m), "decoded: lone %2F", "matched");
    check(match_raw(&r, "GET", "/books/1%202", &m) && cap_is(&m, 0, "1 2", 3), "decoded: param",
          "wrong capture");
    check(match_raw(&r, "GET", "/books/a%00b", &m) && cap_is(&m, 0, "a\0b", 3), "decoded: NUL",
          "wrong capture");
    check(match_raw(&r, "GET", "/books/%FFx", &m) && cap_is(&m, 0, "\xef\xbf\xbdx", 4),
          "decoded: invalid UTF-8 replaced", "wrong capture");
    check(match_raw(&r, "GET", "/books/%zz", &m) && cap_is(&m, 0, "%zz", 3), "decoded: %zz",
          "wrong capture");
    check(match_raw(&r, "GET", "/files/a%2Fb/c", &m) && cap_is(&m, 0, "a/b/c", 5),
          "decoded: catch-all takes %2F", "wrong capture");
    check(match_raw(&r, "GET", "/caf%C3%A9", &m) && m.route->handler == h_lit, "decoded: literal",
          "no match");
    check(match_raw(&r, "GET", "/caf\xc3\xa9", &m), "decoded: raw literal", "no match");
    check(!match_raw(&r, "GET", "/caf%C3%A9%2F", &m), "decoded: trailing %2F", "matched");
    check(match_raw(&r, "GET", "/a%2520b", &m) && m.route->handler == h_lit,
          "decoded: literal '%' in template", "no match");
    check(!match_raw(&r, "GET", "/a%20b", &m), "decoded: template text is not re-encoded",
          "matched");
    graft__router_free(&r);
}

/* graft__router_path_route: the first registered HTTP route whose template matches, whatever
 * its method (Starlette's first partial match); WebSocket routes never count. */
static void test_path_route(void)
{
    graft_router r = {0};
    check(graft_ws_route(&r, "/items", &wsh) == 0, "path_route: ws", "%s", r.err);
    check(graft_route(&r, "POST", "/items/{id}", h_head, 0) == 0, "path_route: POST", "%s", r.err);
    check(graft_route(&r, "GET", "/items/special", h_lit, 0) == 0, "path_route: GET", "%s", r.err);
    check(graft_route(&r, "GET", "/items", h_get, 0) == 0, "path_route: GET items", "%s", r.err);
    const graft__route *rt = graft__router_path_route(&r, GRAFT__STRLIT("/items/special"));
    check(rt && rt->handler == h_head, "path_route: registration order, not precedence",
          "wrong route");
    rt = graft__router_path_route(&r, GRAFT__STRLIT("/items"));
    check(rt && rt->handler == h_get, "path_route: HTTP only", "wrong route");
    check(!graft__router_path_route(&r, GRAFT__STRLIT("/items/a/b")), "path_route: none", "found");
    check(!graft__router_path_route(&r, GRAFT__STRLIT("")), "path_route: empty", "found");
    graft__router_free(&r);
}

int main(void)
{
    test_too_deep_refused();
    test_at_limit();
    test_path_decode();
    test_decoded_matching();
    test_path_route();
    free(last_path);
    free(last_dec);
    return unit_report();
}
