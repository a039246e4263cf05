/* Route modes: per native route, who answers a matched request (issue 8). `native` (the
 * default) runs the handler; `python` hands every request to the next embedder (the app);
 * `split:P` hands P % of them to the handler, spread evenly by a counter rather than by chance,
 * so that any 100 consecutive requests of a worker go P one way and 100 - P the other;
 * `shadow[:P]` gives every request to the app and, for P % of them counted the same way,
 * replays it through the handler afterwards to compare the answers (native_shadow.c).
 *
 * A mode is one atomic int in the route, read with a relaxed load on every matched request:
 * changing it later (a live switch) is one store, and a request in flight keeps the side it
 * was given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native_req.h"

enum { MODE_NATIVE = 0, MODE_PYTHON = 1, MODE_SPLIT = 2, MODE_SHADOW = 3 };

#define MODE_OF(kind, pct) ((kind) | ((pct) << 8))

/* Whether the next of the route's counted requests is among P of every 100: the k-th is when
 * floor((k + 1) P / 100) passes floor(k P / 100), as evenly spaced as integers allow. */
static int counted_pick(graft__route *rt, int pct)
{
    uint64_t p = (uint64_t)pct;
    uint64_t k = atomic_fetch_add_explicit(&rt->mode_seq, 1, memory_order_relaxed) % 100;
    return (k + 1) * p / 100 > k * p / 100;
}

int graft__route_take(graft__route *rt)
{
    int m = atomic_load_explicit(&rt->mode, memory_order_relaxed);
    switch (m & 0xff) {
    case MODE_PYTHON:
        return GRAFT__TAKE_APP;
    case MODE_SPLIT:
        return counted_pick(rt, m >> 8) ? GRAFT__TAKE_NATIVE : GRAFT__TAKE_APP;
    case MODE_SHADOW:
        return counted_pick(rt, m >> 8) ? GRAFT__TAKE_SHADOW : GRAFT__TAKE_APP;
    default:
        return GRAFT__TAKE_NATIVE;
    }
}

int graft__route_shadow_allowed(const graft__route *rt)
{
    return !rt->is_ws && (strcmp(rt->method, "GET") == 0 || strcmp(rt->method, "HEAD") == 0 ||
                          (rt->flags & GRAFT_ROUTE_SAFE));
}

/* Parses "native", "python" or "split:P" (P an integer 0..100). Returns the packed mode, or -1
 * with a message in err. */
static int parse_mode(const char *s, char *err, size_t errlen)
{
    if (strcmp(s, "native") == 0)
        return MODE_OF(MODE_NATIVE, 0);
    if (strcmp(s, "python") == 0)
        return MODE_OF(MODE_PYTHON, 0);
    if (strncmp(s, "split:", 6) == 0) {
        char *end;
        long p = strtol(s + 6, &end, 10);
        if (s[6] >= '0' && s[6] <= '9' && *end == '\0' && p >= 0 && p <= 100)
            return MODE_OF(MODE_SPLIT, (int)p);
        snprintf(err, errlen, "route mode \"%s\": split takes a percentage from 0 to 100", s);
        return -1;
    }
    if (strcmp(s, "shadow") == 0)
        return MODE_OF(MODE_SHADOW, 100);
    if (strncmp(s, "shadow:", 7) == 0) {
        char *end;
        long p = strtol(s + 7, &end, 10);
        if (s[7] >= '0' && s[7] <= '9' && *end == '\0' && p >= 0 && p <= 100)
            return MODE_OF(MODE_SHADOW, (int)p);
        snprintf(err, errlen, "route mode \"%s\": shadow takes a percentage from 0 to 100", s);
        return -1;
    }
    snprintf(err, errlen, "unknown route mode \"%s\" (expected native, python, split:P or shadow[:P])", s);
    return -1;
}

int graft__native_set_route_mode(graft__native *n, const char *spec, char *err, size_t errlen)
{
    const char *eq = strrchr(spec, '=');
    if (!eq || eq == spec) {
        snprintf(err, errlen, "route mode \"%s\": expected 'METHOD TEMPLATE=MODE' or '*=MODE'", spec);
        return GRAFT_EINVAL;
    }
    int mode = parse_mode(eq + 1, err, errlen);
    if (mode < 0)
        return GRAFT_EINVAL;
    if (!n->next && (mode & 0xff) != MODE_NATIVE) {
        snprintf(err, errlen, "route mode \"%s\": only native routes can answer without an app", spec);
        return GRAFT_EINVAL;
    }
    /* The route: "*", or "METHOD TEMPLATE" as registered (spaces around it ignored). */
    const char *a = spec, *b = eq;
    while (a < b && *a == ' ')
        a++;
    while (b > a && b[-1] == ' ')
        b--;
    graft_router *r = &n->router;
    int shadow = (mode & 0xff) == MODE_SHADOW;
    if (b - a == 1 && *a == '*') {
        /* Shadow covers the routes it may run on; the others keep their mode. */
        size_t set = 0;
        for (size_t i = 0; i < r->n; i++)
            if (!r->routes[i].is_ws && (!shadow || graft__route_shadow_allowed(&r->routes[i]))) {
                atomic_store(&r->routes[i].mode, mode);
                set++;
            }
        if (shadow && !set) {
            snprintf(err, errlen, "route mode \"%s\": no native route may be shadowed (only GET "
                     "and HEAD routes, and routes flagged GRAFT_ROUTE_SAFE)", spec);
            return GRAFT_EINVAL;
        }
        return 0;
    }
    const char *sp = memchr(a, ' ', (size_t)(b - a));
    size_t mlen = sp ? (size_t)(sp - a) : 0;
    const char *t = sp ? sp + 1 : b;
    while (t < b && *t == ' ')
        t++;
    for (size_t i = 0; sp && i < r->n; i++) {
        graft__route *rt = &r->routes[i];
        if (strlen(rt->method) != mlen || memcmp(rt->method, a, mlen) != 0 ||
            strlen(rt->template) != (size_t)(b - t) || memcmp(rt->template, t, (size_t)(b - t)) != 0)
            continue;
        if (rt->is_ws) {
            snprintf(err, errlen, "route mode \"%s\": WebSocket routes have no modes", spec);
            return GRAFT_EINVAL;
        }
        if (shadow && !graft__route_shadow_allowed(rt)) {
            snprintf(err, errlen, "route mode \"%s\": shadow runs the native handler a second "
                     "time on live requests, so it is refused on %s routes unless the library "
                     "flags the route GRAFT_ROUTE_SAFE (free of side effects)", spec, rt->method);
            return GRAFT_EINVAL;
        }
        atomic_store(&rt->mode, mode);
        return 0;
    }
    snprintf(err, errlen, "route mode \"%s\": no native route \"%.*s\" (give METHOD and TEMPLATE "
             "as the library registered them, e.g. 'GET /items/{id}=python')", spec, (int)(b - a), a);
    return GRAFT_EINVAL;
}
