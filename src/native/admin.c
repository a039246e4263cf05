/* The admin listeners' answers (engine.h's cfg.admin): the metrics listener's GET /metrics and
 * the control listener's GET /routes and POST /routes?route=METHOD%20TEMPLATE&mode=MODE.
 * Everything is read from, and written to, the shared region (shared.h), so whichever worker
 * accepts the connection gives the same answer. Runs on the poller under the connection lock:
 * it answers at once with graft__req_respond_locked and never reaches the app or a handler.
 * Lives in the native layer because a mode is validated by route_mode.c; it needs no loaded
 * library (metrics work without --native). */
#include <stdio.h>
#include <string.h>

#include "native_req.h"

static const char json_type[] = "application/json";
static const char text_type[] = "text/plain; charset=utf-8";

static int path_is(const graft__req *r, const char *p)
{
    return r->path_len == strlen(p) && memcmp(r->path, p, r->path_len) == 0;
}

static int method_is(const graft__req *r, const char *m)
{
    return r->method_len == strlen(m) && memcmp(r->method, m, r->method_len) == 0;
}

static void respond_text(graft__req *r, int status, const char *body)
{
    graft__req_respond_locked(r, status, text_type, body, strlen(body));
}

/* Answers the JSON j holds (a NULL j, or one whose writing failed, is a 500), and frees j. */
static void respond_json(graft__req *r, int status, graft_json *j)
{
    size_t n = 0;
    const char *d = j ? graft_json_data(j, &n) : NULL;
    if (d)
        graft__req_respond_locked(r, status, json_type, d, n);
    else
        respond_text(r, 500, "out of memory\n");
    graft_json_free(j);
}

/* Answers {"error": msg} with status. */
static void respond_error(graft__req *r, int status, const char *msg)
{
    graft_json *j = graft_json_new();
    if (j) {
        graft_json_object_begin(j);
        graft_json_key(j, "error");
        graft_json_string(j, msg, strlen(msg));
        graft_json_object_end(j);
    }
    respond_json(r, status, j);
}

static void metrics(graft__admin *a, graft__req *r)
{
    if (!path_is(r, "/metrics")) {
        respond_text(r, 404, "Not Found\n");
        return;
    }
    if (!method_is(r, "GET") && !method_is(r, "HEAD")) {
        respond_text(r, 405, "Method Not Allowed\n");
        return;
    }
    graft__buf out = {0};
    if (graft__metrics_render(a->shared, &out) < 0)
        respond_text(r, 500, "out of memory\n");
    else
        graft__req_respond_locked(r, 200, "text/plain; version=0.0.4; charset=utf-8", out.data,
                                  out.len);
    graft__buf_free(&out);
}

static void route_json(graft__admin *a, graft_json *j, graft__shared_route *e)
{
    char mode[32];
    graft__route_mode_format(atomic_load(&e->mode), mode, sizeof mode);
    graft__route_counts c;
    graft__metrics_route_counts(a->shared, e->method, e->template, &c);
    graft_json_object_begin(j);
    graft_json_key(j, "method");
    graft_json_string(j, e->method, strlen(e->method));
    graft_json_key(j, "path");
    graft_json_string(j, e->template, strlen(e->template));
    graft_json_key(j, "mode");
    if (e->is_ws)
        graft_json_null(j);
    else
        graft_json_string(j, mode, strlen(mode));
    graft_json_key(j, "websocket");
    graft_json_bool(j, e->is_ws);
    graft_json_key(j, "flags");
    graft_json_int(j, e->flags);
    graft_json_key(j, "library");
    graft_json_string(j, e->lib, strlen(e->lib));
    graft_json_key(j, "counters");
    graft_json_object_begin(j);
    const char *names[] = {"native", "python", "declined", "shadow_compared", "shadow_mismatches",
                           "shadow_failed", "shadow_skipped"};
    uint64_t vals[] = {c.native, c.python, c.declined, c.shadow_compared, c.shadow_mismatches,
                       c.shadow_failed, c.shadow_skipped};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        graft_json_key(j, names[i]);
        graft_json_int(j, (int64_t)vals[i]);
    }
    graft_json_object_end(j);
    graft_json_object_end(j);
}

/* Copies query parameter name's value, percent-decoded ('+' is a space), into dst; 1 if found. */
static int query_param(const graft__req *r, const char *name, char *dst, size_t cap)
{
    const char *q = r->query, *end = r->query + r->query_len;
    size_t nl = strlen(name);
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - q) > nl && memcmp(q, name, nl) == 0 && q[nl] == '=') {
            size_t vl = (size_t)(stop - q) - nl - 1;
            if (vl >= cap)
                return 0;
            dst[graft__pct_decode(dst, q + nl + 1, vl, 1)] = '\0';
            return 1;
        }
        q = stop + 1;
    }
    return 0;
}

static void set_route(graft__admin *a, graft__req *r)
{
    char spec[GRAFT__SHM_METHOD + GRAFT__SHM_TEMPLATE + 2], mode[64], err[512];
    if (!query_param(r, "route", spec, sizeof spec) || !query_param(r, "mode", mode, sizeof mode)) {
        respond_error(r, 400, "expected POST /routes?route=METHOD%20TEMPLATE&mode=MODE");
        return;
    }
    const char *sp = strchr(spec, ' ');
    graft__shared_route *e = NULL;
    if (sp)
        e = graft__shared_route_find(a->shared, spec, (size_t)(sp - spec), sp + 1, strlen(sp + 1));
    if (!e) {
        snprintf(err, sizeof err, "no native route \"%s\" (give METHOD and TEMPLATE as "
                 "`graft ctl routes` lists them)", spec);
        respond_error(r, 400, err);
        return;
    }
    int m = graft__route_mode_check(e->method, e->template, e->flags, e->is_ws, a->has_app, mode,
                                    err, sizeof err);
    if (m < 0) {
        respond_error(r, 400, err);
        return;
    }
    atomic_store(&e->mode, m); /* every worker's next matched request reads it */
    graft_json *j = graft_json_new();
    if (j)
        route_json(a, j, e);
    respond_json(r, 200, j);
}

static void control(graft__admin *a, graft__req *r)
{
    if (!path_is(r, "/routes")) {
        respond_error(r, 404, "not found: the control listener serves /routes");
        return;
    }
    if (method_is(r, "POST")) {
        set_route(a, r);
        return;
    }
    if (!method_is(r, "GET")) {
        respond_error(r, 405, "method not allowed: GET or POST /routes");
        return;
    }
    graft_json *j = graft_json_new();
    if (j) {
        graft_json_array_begin(j);
        size_t cnt = graft__shared_route_count(a->shared);
        for (size_t i = 0; i < cnt; i++)
            route_json(a, j, graft__shared_route_at(a->shared, i));
        graft_json_array_end(j);
    }
    respond_json(r, 200, j);
}

void graft__admin_handle(void *ud, graft__req *r, int kind)
{
    graft__admin *a = ud;
    if (kind == GRAFT__LISTEN_METRICS)
        metrics(a, r);
    else
        control(a, r);
    graft__req_release(r); /* the delivery's reference */
}
