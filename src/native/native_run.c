/* Running a queued native request, with no engine lock held: its handler (and what follows
 * from its return value), an answer given without it, or a fired writable callback. */
#include "native_req.h"
#include "native_shadow.h"

static const char text_plain[] = "text/plain; charset=utf-8";

/* Hands a declined request to the next embedder, which sees it as new. */
static void forward(struct graft_request *gr)
{
    graft__req *r = gr->req;
    if (!gr->nat->next) {
        if (gr->nat->fastapi_routing)
            graft__native_answer_not_found(gr); /* declined, nobody behind: FastAPI's 404 */
        else
            graft_respond(gr, 404, text_plain, GRAFT__STRLIT("Not Found"));
        return;
    }
    /* Forwarded unchanged: the app reads the same body. Without the memory to give the
     * taken bytes back it would read a body with a hole: answer instead. */
    if (graft__req_unread_body(r, &gr->body) < 0) {
        graft_respond(gr, 500, text_plain, GRAFT__STRLIT("Internal Server Error"));
        return;
    }
    graft__native_detach(gr);
    r->answered_by = GRAFT__BY_DECLINED; /* the app answers, under the native template */
    atomic_fetch_add(&r->refs, 1);
    gr->state = GR_DONE;
    gr->nat->next(gr->nat->next_ud, r, GRAFT__EV_REQUEST);
    graft_request_release(gr); /* the initial reference: no response will come through gr */
}

/* Runs an armed graft_stream_on_writable callback the engine has triggered, then drops the
 * reference the armed callback held. */
static void fire_writable(struct graft_request *gr)
{
    graft__req_lock(gr->req);
    graft_writable_cb cb = gr->wcb;
    void *ud = gr->wud;
    int status = gr->wstatus;
    gr->wcb = NULL; /* cleared first: the callback may arm the next one */
    gr->wud = NULL;
    gr->wfire = 0;
    graft__req_unlock(gr->req);
    if (cb) /* NULL: graft_stream_end cancelled it meanwhile */
        GRAFT__WITH_ROUTE(gr->nat, gr->route, cb(gr, status, ud));
    graft_request_release(gr);
}

void graft__native_cancel_writable(struct graft_request *gr)
{
    if (gr->shadow) {
        graft__shadow_cancel_writable(gr);
        return;
    }
    graft__req_lock(gr->req);
    int drop = gr->wcb && !gr->wfire; /* a queued one drops its reference when it runs */
    gr->wcb = NULL;
    gr->wud = NULL;
    graft__req_unlock(gr->req);
    if (drop)
        graft_request_release(gr);
}

/* Answers (or ends) a request deliver judged before its handler could run. */
static void run_failed(struct graft_request *gr)
{
    switch (gr->fail) {
    case GR_FAIL_NOT_FOUND:
        /* A WebSocket upgrade is not an HTTP request to Starlette's redirect and 405 either;
         * it keeps the plain 404. */
        if (gr->nat->fastapi_routing && !gr->req->websocket)
            graft__native_answer_unrouted(gr);
        else
            graft_respond(gr, 404, text_plain, GRAFT__STRLIT("Not Found"));
        break;
    case GR_FAIL_TOO_LARGE:
        graft_respond(gr, 413, text_plain, GRAFT__STRLIT("Content Too Large"));
        break;
    case GR_FAIL_GONE:
        graft__native_abandon(gr);
        break;
    case GR_FAIL_NONE:
        break;
    }
}

void graft__native_run_one(struct graft_request *gr)
{
    if (gr->wfire) {
        fire_writable(gr);
        return;
    }
    if (gr->route && gr->route->is_ws) {
        graft_request_retain(gr);
        graft__native_run_ws(gr);
        graft_request_release(gr);
        return;
    }
    if (gr->fail != GR_FAIL_NONE) {
        run_failed(gr);
        return;
    }
    if (gr->route->flags & GRAFT_ROUTE_BODY) {
        int more = 0, gone = 0;
        graft__req_take_body(gr->req, &gr->body, &more, &gone);
    }
    graft_request_retain(gr); /* ours, so gr outlives an answer given inside the handler */
    const graft__route *rt = gr->route;
    int rc;
    GRAFT__WITH_ROUTE(gr->nat, rt, rc = rt->handler(gr, rt->lib ? rt->lib->state : NULL));
    if (gr->state == GR_NONE) {
        if (rc == GRAFT_DECLINE)
            forward(gr);
        else if (rc < 0)
            graft_respond(gr, 500, text_plain, GRAFT__STRLIT("Internal Server Error"));
        /* GRAFT_OK without an answer: the handler answers later */
    } else if (gr->state == GR_STREAMING && rc < 0) {
        graft__req_write(gr->req, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
        graft__native_done(gr, 500);
    }
    graft_request_release(gr);
}
