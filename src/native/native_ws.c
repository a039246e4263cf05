/* WebSocket routes: the upgrade, the callbacks fed from the engine's message queue, and the
 * graft_ws_* calls of the public API. */
#include <errno.h>
#include <string.h>

#include "native_req.h"
#include "ws.h"

void graft__native_run_ws(struct graft_request *gr)
{
    const graft__route *rt = gr->route;
    void *state = rt->lib ? rt->lib->state : NULL;
    graft_ws *ws = (graft_ws *)gr;
    if (gr->ws_closed)
        return;
    if (!gr->ws_open) {
        if (graft__ws_accept(gr->req, NULL, 0, NULL, 0) < 0) {
            /* No 101 went out (out of memory, or the client left): end the exchange so the
             * connection closes instead of waiting for an answer nobody will give. */
            gr->ws_closed = 1;
            graft__native_abandon(gr);
            return;
        }
        gr->ws_open = 1;
        gr->state = GR_STREAMING;
        if (rt->ws.on_open)
            GRAFT__WITH_ROUTE(gr->nat, rt, rt->ws.on_open(ws, state));
    }
    for (;;) {
        int op = 0, code = 0;
        graft__buf data = {0}, reason = {0};
        int rc = graft__ws_take(gr->req, &op, &data, &code, &reason);
        if (rc == 1 && rt->ws.on_message)
            GRAFT__WITH_ROUTE(gr->nat, rt, rt->ws.on_message(ws, op == GRAFT__WS_BINARY,
                                             graft__buf_avail(&data) ? graft__buf_head(&data) : "",
                                             graft__buf_avail(&data), state));
        if (rc == 2) {
            gr->ws_closed = 1;
            if (rt->ws.on_close)
                GRAFT__WITH_ROUTE(gr->nat, rt, rt->ws.on_close(ws, code,
                                               graft__buf_avail(&reason) ? graft__buf_head(&reason) : "",
                                               graft__buf_avail(&reason), state));
        }
        graft__buf_free(&data);
        graft__buf_free(&reason);
        if (rc == 2) {
            graft__native_done(gr, 101); /* access log, and the initial reference goes */
            return;
        }
        if (rc != 1)
            return; /* nothing queued: an event brings us back */
    }
}

GRAFT_API int graft_ws_send(graft_ws *ws, int binary, const void *data, size_t len)
{
    struct graft_request *gr = (struct graft_request *)ws;
    if (!gr || (!data && len))
        return GRAFT_EINVAL;
    if (graft__native_enter(gr->nat))
        return GRAFT_EGONE; /* the server stopped: the engine is gone */
    int rc = graft__ws_send(gr->req, binary ? GRAFT__WS_BINARY : GRAFT__WS_TEXT, data, len);
    graft__native_leave(gr->nat);
    return rc == -EPIPE ? GRAFT_EGONE : rc < 0 ? GRAFT_ENOMEM : rc;
}

GRAFT_API int graft_ws_close(graft_ws *ws, int code, const char *reason)
{
    struct graft_request *gr = (struct graft_request *)ws;
    if (!gr || (code && !graft__ws_code_valid(code)))
        return GRAFT_EINVAL;
    if (graft__native_enter(gr->nat))
        return GRAFT_EGONE;
    int rc = graft__ws_close(gr->req, code, reason ? reason : "", reason ? strlen(reason) : 0);
    graft__native_leave(gr->nat);
    return rc;
}

GRAFT_API const char *graft_ws_param(graft_ws *ws, const char *name, size_t *len)
{
    return graft_param((graft_request *)ws, name, len);
}

GRAFT_API void graft_ws_set_data(graft_ws *ws, void *data) { ((struct graft_request *)ws)->ws_data = data; }
GRAFT_API void *graft_ws_data(graft_ws *ws) { return ((struct graft_request *)ws)->ws_data; }
GRAFT_API void graft_ws_retain(graft_ws *ws) { graft_request_retain((graft_request *)ws); }
GRAFT_API void graft_ws_release(graft_ws *ws) { graft_request_release((graft_request *)ws); }
