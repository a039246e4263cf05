/* bigbody.c — a second library loaded beside features.c (--native is repeatable):
 * one GRAFT_ROUTE_BODY echo route under the default body limit (1 MiB). */
#include <stdio.h>

#include <graft.h>

GRAFT_LIBRARY()

static int big_echo(graft_request *req, void *st)
{
    (void)st;
    size_t n = 0;
    const char *b = graft_body(req, &n);
    char len[32];
    snprintf(len, sizeof len, "%zu", n);
    graft_set_header(req, "x-body-len", len);
    return graft_respond(req, 200, "application/octet-stream", b, n);
}

int graft_register(graft_router *r, const char *config)
{
    (void)config;
    return graft_route(r, "POST", "/big-echo", big_echo, GRAFT_ROUTE_BODY);
}
