/* A plain route table: linear, compared segment by segment on the decoded path. Precedence
 * is decided per segment from the left: literal beats {param} beats {rest:path}. */
#include "router.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int valid_name(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

static void route_free(graft__route *rt)
{
    for (size_t i = 0; i < rt->nsegs; i++)
        free(rt->segs[i]);
    free(rt->segs);
    free(rt->kinds);
    free(rt->method);
    free(rt->template);
}

/* Splits "/a/{b}/{c:path}" into segments; 0 or GRAFT_EINVAL. */
static int parse_template(graft__route *rt, const char *t)
{
    if (t[0] != '/')
        return GRAFT_EINVAL;
    size_t cap = 1;
    for (const char *p = t; *p; p++)
        cap += *p == '/';
    rt->segs = calloc(cap, sizeof *rt->segs);
    rt->kinds = calloc(cap, 1);
    if (!rt->segs || !rt->kinds)
        return GRAFT_ENOMEM;
    const char *p = t + 1;
    size_t nparams = 0;
    for (;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        unsigned char kind = 0;
        const char *name = p;
        size_t nl = n;
        if (n >= 2 && p[0] == '{' && p[n - 1] == '}') {
            name = p + 1;
            nl = n - 2;
            kind = 1;
            static const char rest[] = ":path";
            const size_t rest_len = sizeof rest - 1;
            if (nl > rest_len && memcmp(name + nl - rest_len, rest, rest_len) == 0) {
                nl -= rest_len;
                kind = 2;
                if (e)
                    return GRAFT_EINVAL; /* a catch-all must be last */
            }
            if (!valid_name(name, nl) || ++nparams > GRAFT__MAX_PARAMS)
                return GRAFT_EINVAL;
        } else if (memchr(p, '{', n) || memchr(p, '}', n)) {
            return GRAFT_EINVAL;
        }
        rt->segs[rt->nsegs] = strndup(name, nl);
        if (!rt->segs[rt->nsegs])
            return GRAFT_ENOMEM;
        rt->kinds[rt->nsegs++] = kind;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static int same_shape(const graft__route *a, const graft__route *b)
{
    if (a->nsegs != b->nsegs || strcmp(a->method, b->method) != 0)
        return 0;
    for (size_t i = 0; i < a->nsegs; i++) {
        if (a->kinds[i] != b->kinds[i])
            return 0;
        if (a->kinds[i] == 0 && strcmp(a->segs[i], b->segs[i]) != 0)
            return 0;
    }
    return 1;
}

static int add_route(graft_router *r, const char *method, const char *path, graft_handler handler,
                     const graft_ws_handlers *ws, unsigned flags);

GRAFT_API int graft_route(graft_router *r, const char *method, const char *path,
                          graft_handler handler, unsigned flags)
{
    return add_route(r, method, path, handler, NULL, flags);
}

GRAFT_API int graft_ws_route(graft_router *r, const char *path, const graft_ws_handlers *ws)
{
    if (!ws || (!ws->on_open && !ws->on_message && !ws->on_close)) {
        if (r)
            snprintf(r->err, sizeof r->err, "graft_ws_route: no handlers for %s", path ? path : "?");
        return GRAFT_EINVAL;
    }
    return add_route(r, "WEBSOCKET", path, NULL, ws, 0);
}

static int add_route(graft_router *r, const char *method, const char *path, graft_handler handler,
                     const graft_ws_handlers *ws, unsigned flags)
{
    if (!r || !method || !path || (!handler && !ws) || !method[0]) {
        if (r)
            snprintf(r->err, sizeof r->err, "graft_route: missing method, path or handler");
        return GRAFT_EINVAL;
    }
    graft__route rt = {0};
    rt.method = strdup(method);
    rt.template = strdup(path);
    rt.handler = handler;
    if (ws) {
        rt.ws = *ws;
        rt.is_ws = 1;
    }
    rt.flags = flags;
    rt.lib = r->current;
    size_t nsegs = 0;
    for (const char *q = path; *q; q++)
        nsegs += *q == '/';
    if (nsegs > GRAFT_ROUTE_MAX_SEGMENTS) {
        /* Matching scores each segment in a fixed-size array: refuse here, loudly, rather
         * than overflow it or register a route that can never match. */
        int shown = (int)strnlen(path, 160);
        snprintf(r->err, sizeof r->err,
                 "route template \"%s %.*s%s\" has %zu segments, more than the %d allowed", method,
                 shown, path, path[shown] ? "..." : "", nsegs, GRAFT_ROUTE_MAX_SEGMENTS);
        route_free(&rt);
        return GRAFT_EINVAL;
    }
    int rc = rt.method && rt.template ? parse_template(&rt, path) : GRAFT_ENOMEM;
    if (rc) {
        snprintf(r->err, sizeof r->err, "invalid route template \"%s %s\"", method, path);
        route_free(&rt);
        return rc;
    }
    for (size_t i = 0; i < r->n; i++)
        if (same_shape(&r->routes[i], &rt)) {
            snprintf(r->err, sizeof r->err, "duplicate route \"%s %s\" (already registered as \"%s %s\")",
                     method, path, r->routes[i].method, r->routes[i].template);
            route_free(&rt);
            return GRAFT_EEXIST;
        }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        graft__route *p = realloc(r->routes, cap * sizeof *p);
        if (!p) {
            route_free(&rt);
            return GRAFT_ENOMEM;
        }
        r->routes = p;
        r->cap = cap;
    }
    r->routes[r->n++] = rt;
    return 0;
}

/* Scores of a candidate: one per segment, then the method tiebreak. */
#define TIEBREAK GRAFT_ROUTE_MAX_SEGMENTS
#define SCORE_LEN (GRAFT_ROUTE_MAX_SEGMENTS + 1)

/* Per-segment score: lexicographic over segments, higher is more specific. */
static int try_match(const graft__route *rt, const char *path, size_t plen, graft__match *m,
                     unsigned char *score)
{
    const char *p = path + 1, *end = path + plen;
    m->nparams = 0;
    for (size_t i = 0; i < rt->nsegs; i++) {
        if (p > end)
            return 0;
        if (rt->kinds[i] == 2) {
            m->names[m->nparams] = rt->segs[i];
            m->vals[m->nparams] = p;
            m->lens[m->nparams++] = (size_t)(end - p);
            score[i] = 0;
            return 1;
        }
        const char *e = memchr(p, '/', (size_t)(end - p));
        if (!e)
            e = end;
        size_t n = (size_t)(e - p);
        if (rt->kinds[i] == 0) {
            if (strlen(rt->segs[i]) != n || memcmp(rt->segs[i], p, n) != 0)
                return 0;
            score[i] = 2;
        } else {
            if (n == 0)
                return 0; /* {param} never matches an empty segment */
            m->names[m->nparams] = rt->segs[i];
            m->vals[m->nparams] = p;
            m->lens[m->nparams++] = n;
            score[i] = 1;
        }
        if (i + 1 == rt->nsegs)
            return e == end;
        if (e == end)
            return 0;
        p = e + 1;
    }
    return 0;
}

int graft__router_match(const graft_router *r, const char *method, size_t mlen, const char *path,
                        size_t plen, int websocket, int head_as_get, graft__match *m)
{
    if (!r || r->n == 0 || plen == 0 || path[0] != '/')
        return 0;
    int head = head_as_get && GRAFT__LIT_EQ(method, mlen, "HEAD");
    /* One score per segment (registration caps their number), then the method tiebreak in
     * its own last slot, so it never overwrites a segment's score. */
    unsigned char best[SCORE_LEN], cur[SCORE_LEN];
    int found = 0;
    graft__match tmp;
    for (size_t i = 0; i < r->n; i++) {
        const graft__route *rt = &r->routes[i];
        if (rt->is_ws != (websocket != 0))
            continue; /* upgrades match WebSocket routes only, and only they do */
        if (rt->nsegs > GRAFT_ROUTE_MAX_SEGMENTS)
            continue; /* cannot happen: add_route refuses them */
        size_t ml = rt->is_ws ? mlen : strlen(rt->method);
        int mok = rt->is_ws || (ml == mlen && memcmp(rt->method, method, mlen) == 0) ||
                  (head && GRAFT__LIT_EQ(rt->method, ml, "GET"));
        if (!mok)
            continue;
        memset(cur, 0, sizeof cur);
        if (!try_match(rt, path, plen, &tmp, cur))
            continue;
        /* an explicit HEAD route beats GET's implicit one */
        cur[TIEBREAK] = (unsigned char)(rt->is_ws || ml == mlen);
        if (!found || memcmp(cur, best, sizeof cur) > 0) {
            memcpy(best, cur, sizeof best);
            *m = tmp;
            m->route = rt;
            found = 1;
        }
    }
    return found;
}

const graft__route *graft__router_path_route(const graft_router *r, const char *path, size_t plen)
{
    if (!r || plen == 0 || path[0] != '/')
        return NULL;
    unsigned char score[SCORE_LEN];
    graft__match tmp;
    for (size_t i = 0; i < r->n; i++) {
        const graft__route *rt = &r->routes[i];
        if (!rt->is_ws && rt->nsegs <= GRAFT_ROUTE_MAX_SEGMENTS && try_match(rt, path, plen, &tmp, score))
            return rt;
    }
    return NULL;
}

void graft__router_free(graft_router *r)
{
    for (size_t i = 0; i < r->n; i++)
        route_free(&r->routes[i]);
    free(r->routes);
    r->routes = NULL;
    r->n = r->cap = 0;
}
