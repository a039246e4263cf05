/* GET /items/{item_id}?limit=&q= parsed by hand: the baseline bench/kit_ab.py compares the
 * kit-validated handler (kit.c) with. Valid inputs only are answered in full (the bench sends
 * those); anything else gets a bare 422, which a real port would have to build exactly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <graft.h>

GRAFT_LIBRARY()

static int parse_i64(const char *s, size_t n, long long *out)
{
    if (!s || !n || n > 19)
        return -1;
    char buf[24];
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    *out = strtoll(buf, &end, 10);
    return *end || errno ? -1 : 0;
}

static int item(graft_request *req, void *st)
{
    (void)st;
    size_t n;
    const char *s = graft_param(req, "item_id", &n);
    long long id, limit = 10;
    if (parse_i64(s, n, &id) < 0)
        return graft_respond(req, 422, "application/json", "{}", 2);
    s = graft_query(req, "limit", &n);
    if (s && (parse_i64(s, n, &limit) < 0 || limit < 1 || limit > 100))
        return graft_respond(req, 422, "application/json", "{}", 2);
    const char *q = graft_query(req, "q", &n);
    char body[256];
    int len = q ? snprintf(body, sizeof body, "{\"id\":%lld,\"limit\":%lld,\"q\":\"%.*s\"}", id, limit, (int)n, q)
                : snprintf(body, sizeof body, "{\"id\":%lld,\"limit\":%lld,\"q\":null}", id, limit);
    return graft_respond(req, 200, "application/json", body, (size_t)len);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    return graft_route(r, "GET", "/items/{item_id}", item, 0);
}
