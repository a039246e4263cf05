/* A handler library built for ABI version 0, which never existed. graft must refuse it. */
#include <graft.h>

GRAFT_API int graft_abi_version(void) { return 0; }

static int h(graft_request *req, void *st)
{
    (void)st;
    return graft_respond(req, 200, "text/plain", "abi0", 4);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    return graft_route(r, "GET", "/abi0", h, 0);
}
