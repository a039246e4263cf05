/* Route modes: per native route, who answers a matched request (issue 8). `native` (the
 * default) runs the handler; `python` hands every request to the next embedder (the app);
 * `split:P` hands P % of them to the handler, spread evenly by a counter rather than by chance,
 * so that any 100 consecutive requests of a worker go P one way and 100 - P the other;
 * `shadow[:P]` gives every request to the app and, for P % of them counted the same way,
 * replays it through the handler afterwards to compare the answers (native_shadow.c).
 *
 * A mode is one atomic int, read with a relaxed load on every matched request: the route's
 * own, or, once attached to the shared region (shared.h), its entry in the live table that
 * every worker reads, so a live switch (`graft ctl set`) is one store seen by all workers, and
 * a request in flight keeps the side it was given. --route-mode and the control listener
 * validate a (route, mode) pair with the same function, graft__route_mode_check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native_req.h"

enum { MODE_NATIVE = 0, MODE_PYTHON = 1, MODE_SPLIT = 2, MODE_SHADOW = 3 };

#define MODE_OF(kind, pct) ((kind) | ((pct) << 8))

static atomic_int *mode_of(graft__route *rt) { return rt->mode ? rt->mode : &rt->mode_own; }

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
    int m = atomic_load_explicit(mode_of(rt), memory_order_relaxed);
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

/* A replay runs the handler a second time on a live request: only where that cannot change
 * anything, GET and HEAD, or what the library declared free of side effects. */
static int shadow_allowed(const char *method, unsigned flags)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 || (flags & GRAFT_ROUTE_SAFE);
}

/* Parses "native", "python", "split:P" or "shadow[:P]" (P an integer 0..100). Returns the
 * packed mode, or -1 with a message in err. */
static int parse_mode(const char *s, char *err, size_t errlen)
{
    if (strcmp(s, "native") == 0)
        return MODE_OF(MODE_NATIVE, 0);
    if (strcmp(s, "python") == 0)
        return MODE_OF(MODE_PYTHON, 0);
    if (strcmp(s, "shadow") == 0)
        return MODE_OF(MODE_SHADOW, 100);
    int kind = strncmp(s, "split:", 6) == 0 ? MODE_SPLIT : strncmp(s, "shadow:", 7) == 0 ? MODE_SHADOW : -1;
    if (kind < 0) {
        snprintf(err, errlen, "unknown route mode \"%s\" (expected native, python, split:P or shadow[:P])", s);
        return -1;
    }
    const char *num = s + (kind == MODE_SPLIT ? 6 : 7);
    char *end;
    long p = strtol(num, &end, 10);
    if (*num >= '0' && *num <= '9' && *end == '\0' && p >= 0 && p <= 100)
        return MODE_OF(kind, (int)p);
    snprintf(err, errlen, "route mode \"%s\": %s takes a percentage from 0 to 100", s,
             kind == MODE_SPLIT ? "split" : "shadow");
    return -1;
}

int graft__route_mode_check(const char *method, const char *template, unsigned flags, int is_ws,
                            int has_app, const char *mode, char *err, size_t errlen)
{
    if (is_ws) {
        snprintf(err, errlen, "route mode \"%s %s=%s\": WebSocket routes have no modes", method,
                 template, mode);
        return -1;
    }
    int m = parse_mode(mode, err, errlen);
    if (m < 0)
        return -1;
    if (!has_app && (m & 0xff) != MODE_NATIVE) {
        snprintf(err, errlen, "route mode \"%s %s=%s\": only native routes can answer without an app",
                 method, template, mode);
        return -1;
    }
    if ((m & 0xff) == MODE_SHADOW && !shadow_allowed(method, flags)) {
        snprintf(err, errlen, "route mode \"%s %s=%s\": shadow runs the native handler a second "
                 "time on live requests, so it is refused on %s routes unless the library flags "
                 "the route GRAFT_ROUTE_SAFE (free of side effects)", method, template, mode, method);
        return -1;
    }
    return m;
}

int graft__route_mode_format(int mode, char *buf, size_t len)
{
    static const char *const kinds[] = {"native", "python", "split", "shadow"};
    int k = mode & 0xff, p = mode >> 8;
    if (k > MODE_SHADOW)
        return snprintf(buf, len, "unknown:%d", mode);
    if (k == MODE_SPLIT || (k == MODE_SHADOW && p != 100))
        return snprintf(buf, len, "%s:%d", kinds[k], p);
    return snprintf(buf, len, "%s", kinds[k]);
}

/* "*=MODE": every HTTP route the mode may apply to. Shadow skips the routes it may not run
 * on, which keep their mode; it is an error only when no route is left. */
static int set_all(graft__native *n, const char *spec, const char *mode_s, char *err, size_t errlen)
{
    int mode = parse_mode(mode_s, err, errlen);
    if (mode < 0)
        return GRAFT_EINVAL;
    if (!n->next && (mode & 0xff) != MODE_NATIVE) {
        snprintf(err, errlen, "route mode \"%s\": only native routes can answer without an app", spec);
        return GRAFT_EINVAL;
    }
    graft_router *r = &n->router;
    size_t set = 0;
    for (size_t i = 0; i < r->n; i++) {
        graft__route *rt = &r->routes[i];
        if (rt->is_ws || ((mode & 0xff) == MODE_SHADOW && !shadow_allowed(rt->method, rt->flags)))
            continue;
        atomic_store(mode_of(rt), mode);
        set++;
    }
    if (!set && (mode & 0xff) == MODE_SHADOW) {
        snprintf(err, errlen, "route mode \"%s\": no native route may be shadowed (only GET and "
                 "HEAD routes, and routes flagged GRAFT_ROUTE_SAFE)", spec);
        return GRAFT_EINVAL;
    }
    return 0;
}

int graft__native_set_route_mode(graft__native *n, const char *spec, char *err, size_t errlen)
{
    const char *eq = strrchr(spec, '=');
    if (!eq || eq == spec) {
        snprintf(err, errlen, "route mode \"%s\": expected 'METHOD TEMPLATE=MODE' or '*=MODE'", spec);
        return GRAFT_EINVAL;
    }
    /* The route: "*", or "METHOD TEMPLATE" as registered (spaces around it ignored). */
    const char *a = spec, *b = eq;
    while (a < b && *a == ' ')
        a++;
    while (b > a && b[-1] == ' ')
        b--;
    if (b - a == 1 && *a == '*')
        return set_all(n, spec, eq + 1, err, errlen);
    graft_router *r = &n->router;
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
        int mode = graft__route_mode_check(rt->method, rt->template, rt->flags, rt->is_ws,
                                           n->next != NULL, eq + 1, err, errlen);
        if (mode < 0)
            return GRAFT_EINVAL;
        atomic_store(mode_of(rt), mode);
        return 0;
    }
    if (parse_mode(eq + 1, err, errlen) < 0)
        return GRAFT_EINVAL; /* a bad mode is named before an unknown route */
    snprintf(err, errlen, "route mode \"%s\": no native route \"%.*s\" (give METHOD and TEMPLATE "
             "as the library registered them, e.g. 'GET /items/{id}=python')", spec, (int)(b - a), a);
    return GRAFT_EINVAL;
}

int graft__native_attach_shared(graft__native *n, graft__shared *s)
{
    graft_router *r = &n->router;
    for (size_t i = 0; i < r->n; i++) {
        graft__route *rt = &r->routes[i];
        graft__shared_route *e;
        int rc = graft__shared_route_attach(s, rt->method, rt->template, rt->flags, rt->is_ws,
                                            rt->lib ? rt->lib->path : NULL,
                                            atomic_load(&rt->mode_own), &e);
        if (rc == -ENOSPC || rc == -ENAMETOOLONG)
            continue; /* this route keeps a mode of its own, per worker */
        if (rc < 0)
            return rc;
        rt->mode = &e->mode; /* before the engine starts: its threads see it from creation */
    }
    return 0;
}
