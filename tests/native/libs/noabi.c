/* A handler library that forgot GRAFT_LIBRARY(): no graft_abi_version. graft must refuse it. */
#include <string.h>

#include <graft.h>

static int h(graft_request *req, void *st)
{
    (void)st;
    return graft_respond(req, 200, "text/plain", "noabi", 5);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    return graft_route(r, "GET", "/noabi", h, 0);
}
