/* A handler library that registers a WebSocket route 70 segments deep, ignoring
 * the result. Templates over GRAFT_ROUTE_MAX_SEGMENTS used to register (the
 * WebSocket path skipped the depth guard) and a matching Upgrade request then
 * overflowed the router's score array; graft must refuse to start instead and
 * name the route. */
#include <string.h>

#include <graft.h>

GRAFT_LIBRARY()

static void on_message(graft_ws *ws, int binary, const void *data, size_t len, void *st)
{
    (void)st;
    graft_ws_send(ws, binary, data, len);
}

static int h(graft_request *req, void *st)
{
    (void)st;
    return graft_respond(req, 200, "text/plain", "ok", 2);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    static const graft_ws_handlers ws = {NULL, on_message, NULL};
    char path[1 + 70 * 5];
    size_t n = 0;
    for (int i = 0; i < 70; i++) {
        memcpy(path + n, "/deep", 5);
        n += 5;
    }
    path[n] = '\0';
    graft_route(r, "GET", "/shallow", h, 0);
    graft_ws_route(r, path, &ws);
    return 0;
}
