/* A handler library that registers GET /dup twice. graft must refuse to start
 * and name the route, even though this library ignores graft_route's result. */
#include <graft.h>

GRAFT_LIBRARY()

static int h(graft_request *req, void *st)
{
    (void)st;
    return graft_respond(req, 200, "text/plain", "dup", 3);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    graft_route(r, "GET", "/other", h, 0);
    graft_route(r, "GET", "/dup", h, 0);
    graft_route(r, "GET", "/dup", h, 0);
    return 0;
}
