/* Routes for the coverage report's tests (`graft routes`, test_routes_report.py): two that
 * match tests/apps/routes_app.py's routes under other parameter names, one that matches a
 * route of a mounted sub-app, a WebSocket route the app also has, and one the app lacks. */
#include <graft.h>

GRAFT_LIBRARY()

static void on_open(graft_ws *ws, void *st)
{
    (void)ws;
    (void)st;
}

static int h(graft_request *req, void *st)
{
    (void)st;
    return graft_respond(req, 200, "text/plain", "native", 6);
}

GRAFT_API int graft_register(graft_router *r, const char *config)
{
    (void)config;
    static const graft_ws_handlers ws = {.on_open = on_open};
    if (graft_route(r, "GET", "/items/{id}", h, 0) || graft_route(r, "POST", "/items", h, 0) ||
        graft_route(r, "GET", "/sub/x/{number}", h, 0) || graft_route(r, "GET", "/dead", h, 0) ||
        graft_ws_route(r, "/ws", &ws))
        return -1;
    return 0;
}
