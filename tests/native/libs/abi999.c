/* A handler library built for another ABI version. graft must refuse it. */
#include <graft.h>

GRAFT_API int graft_abi_version(void) { return 999; }

static int h(graft_request *req, void *st)
{
    (void)st;
    return graft_respond(req, 200, "text/plain", "abi999", 6);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    return graft_route(r, "GET", "/abi999", h, 0);
}
