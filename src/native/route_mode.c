/* Route modes: per native route, who answers a matched request (issue 8). `native` (the
 * default) runs the handler; `python` hands every request to the next embedder (the app);
 * `split:P` hands P % of them to the handler, spread evenly by a counter rather than by chance,
 * so that any 100 consecutive requests of a worker go P one way and 100 - P the other.
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

int graft__route_take_native(graft__route *rt)
{
    int m = atomic_load_explicit(mode_of(rt), memory_order_relaxed);
    switch (m & 0xff) {
    case MODE_PYTHON:
        return 0;
    case MODE_SPLIT: {
        /* The k-th request goes native when floor((k + 1) P / 100) passes floor(k P / 100):
         * P of every 100, as evenly spaced as integers allow. */
        uint64_t p = (uint64_t)(m >> 8);
        uint64_t k = atomic_fetch_add_explicit(&rt->mode_seq, 1, memory_order_relaxed) % 100;
        return (k + 1) * p / 100 > k * p / 100;
    }
    default:
        return 1;
    }
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
    if (strcmp(s, "shadow") == 0 || strncmp(s, "shadow:", 7) == 0) {
        snprintf(err, errlen, "route mode \"%s\": shadow mode is not available yet", s);
        return -1;
    }
    snprintf(err, errlen, "unknown route mode \"%s\" (expected native, python or split:P)", s);
    return -1;
}

int graft__route_mode_check(const char *method, const char *template, unsigned flags, int is_ws,
                            int has_app, const char *mode, char *err, size_t errlen)
{
    (void)flags; /* shadow's refusal rules will read GRAFT_ROUTE_SAFE here */
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
    return m;
}

int graft__route_mode_format(int mode, char *buf, size_t len)
{
    static const char *const kinds[] = {"native", "python", "split", "shadow"};
    int k = mode & 0xff, p = mode >> 8;
    if (k > MODE_SHADOW)
        return snprintf(buf, len, "unknown:%d", mode);
    if (k == MODE_SPLIT || (k == MODE_SHADOW && p))
        return snprintf(buf, len, "%s:%d", kinds[k], p);
    return snprintf(buf, len, "%s", kinds[k]);
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
    graft_router *r = &n->router;
    if (b - a == 1 && *a == '*') {
        /* Checked once for "any HTTP route": the mode is the same for all of them. */
        int mode = graft__route_mode_check("*", "", 0, 0, n->next != NULL, eq + 1, err, errlen);
        if (mode < 0)
            return GRAFT_EINVAL;
        for (size_t i = 0; i < r->n; i++)
            if (!r->routes[i].is_ws)
                atomic_store(mode_of(&r->routes[i]), mode);
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
        int mode = graft__route_mode_check(rt->method, rt->template, rt->flags, rt->is_ws,
                                           n->next != NULL, eq + 1, err, errlen);
        if (mode < 0)
            return GRAFT_EINVAL;
        atomic_store(mode_of(rt), mode);
        return 0;
    }
    int mode = graft__route_mode_check("*", "", 0, 0, n->next != NULL, eq + 1, err, errlen);
    if (mode < 0)
        return GRAFT_EINVAL;
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
