/* The native layer as the engine's embedder: deliver matches each new request to a route
 * and queues it, parked first when the route wants the whole body; later events of the
 * request (body, writable, disconnect, WebSocket messages) queue what they wake. deliver
 * runs on the I/O thread under the connection lock (req.h), so it never runs a handler. */
#include <stdlib.h>
#include <string.h>

#include "native_req.h"
#include "path_decode.h"

void graft__native_set_next(graft__native *n, graft__deliver_fn next, void *ud)
{
    n->next = next;
    n->next_ud = ud;
}

static size_t body_limit(const graft__route *rt)
{
    return rt->lib ? rt->lib->body_limit : (1u << 20);
}

int graft__native_set_fastapi_routing(graft__native *n, int on)
{
    if (on && n->next)
        return GRAFT_EINVAL; /* the app behind us gives these answers itself */
    n->fastapi_routing = on != 0;
    return 0;
}

/* A new request, its path decoded into dec (dlen < 0: it could not be): matched, refused, or
 * passed on to the next embedder. */
static void deliver_decoded(graft__native *n, graft__req *r, const char *dec, long dlen)
{
    graft__match m;
    /* With an app behind us HEAD is "another method": the app answers it as it always did
     * (FastAPI: 405 on a GET route) unless the library registered HEAD itself. So does
     * graft-serve when it answers as FastAPI would. */
    int head_as_get = n->next == NULL && !n->fastapi_routing;
    if (dlen < 0 || !graft__router_match(&n->router, r->method, r->method_len, dec, (size_t)dlen,
                                         r->websocket, head_as_get, &m)) {
        if (n->next) {
            n->next(n->next_ud, r, GRAFT__EV_REQUEST);
            return;
        }
        memset(&m, 0, sizeof m); /* no app behind us: a 404 answered like a route */
    } else if (n->next) {
        /* The route's mode may give this one to the app: it sees the request as if no native
         * route had matched. (The match is const for readers; the mode's counter is the one
         * field that changes, and it is atomic.) The metrics keep the native template, and
         * count the client's answer as the app's. A shadowed one carries a tap that watches
         * the app's exchange, to replay it through the handler afterwards. */
        int take = graft__route_take((graft__route *)m.route);
        if (take != GRAFT__TAKE_NATIVE) {
            r->route_label = m.route->template;
            r->answered_by = GRAFT__BY_PYTHON;
            if (take == GRAFT__TAKE_SHADOW)
                graft__shadow_watch(n, r, &m);
            n->next(n->next_ud, r, GRAFT__EV_REQUEST);
            return;
        }
    }
    /* Labels for the metrics (shared.h): a native answer under its template; graft-serve's
     * 404 for no route counts as native on route "other". */
    r->route_label = m.route ? m.route->template : NULL;
    r->answered_by = GRAFT__BY_NATIVE;
    struct graft_request *gr = graft__native_request_new(n, r, &m);
    if (!gr) {
        if (n->next) {
            r->answered_by = GRAFT__BY_PYTHON; /* no memory for the handler: the app answers */
            n->next(n->next_ud, r, GRAFT__EV_REQUEST);
        } else {
            /* Nobody will answer: end the exchange, or the connection stays open. */
            graft__req_write(r, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
            graft__req_release(r);
        }
        return;
    }
    r->native = gr; /* under the connection lock, which deliver holds */
    if (!m.route) {
        gr->fail = GR_FAIL_NOT_FOUND;
        graft__native_push_local(gr);
        return;
    }
    if (m.route->flags & GRAFT_ROUTE_BODY) {
        /* A declared length over the limit is refused before 100 Continue invites it. */
        if (r->content_length > body_limit(m.route)) {
            gr->fail = GR_FAIL_TOO_LARGE;
        } else if (!r->body_done) {
            gr->waiting_body = 1;
            graft__req_collect_body_locked(r);
            return;
        }
    }
    graft__native_schedule(n, gr);
}

/* Routes match the decoded path (router.h), decoded once here: on the stack for any path a
 * default request-line limit lets through, in one allocation for a longer one. Captures point
 * into it, so everything that keeps them (the native request, a shadow) copies them before
 * it goes. Without the memory for a long path nothing matches: the app (or the 404) answers. */
#define PATH_STACK 8192

static void deliver_request(graft__native *n, graft__req *r)
{
    /* The parser admits only visible ASCII in a request-target (http1_request.c), so a path
     * without '%' is its own decoding: no copy, the common case. */
    if (!memchr(r->path, '%', r->path_len)) {
        deliver_decoded(n, r, r->path, (long)r->path_len);
        return;
    }
    char stack[PATH_STACK];
    char *dec = r->path_len <= sizeof stack ? stack : malloc(r->path_len);
    long dlen = dec ? graft__path_decode(dec, r->path_len, r->path, r->path_len) : -1;
    deliver_decoded(n, r, dec, dlen);
    if (dec != stack)
        free(dec);
}

/* A BODY or DISCONNECT event for a request parked until its whole body has arrived. */
static void body_event(graft__native *n, struct graft_request *gr, int ev)
{
    graft__req *r = gr->req;
    if (ev == GRAFT__EV_DISCONNECT || r->client_gone) {
        gr->waiting_body = 0;
        gr->fail = GR_FAIL_GONE;
        graft__native_schedule(n, gr);
    } else if (graft__buf_avail(&r->body) > body_limit(gr->route)) {
        gr->waiting_body = 0;
        gr->fail = GR_FAIL_TOO_LARGE;
        graft__native_schedule(n, gr);
    } else if (r->body_done) {
        gr->waiting_body = 0;
        graft__native_schedule(n, gr);
    } else {
        graft__req_collect_body_locked(r); /* wait for the rest */
    }
}

void graft__native_deliver(void *ud, graft__req *r, int ev)
{
    graft__native *n = ud;
    if (ev == GRAFT__EV_REQUEST) {
        deliver_request(n, r);
        return;
    }
    struct graft_request *gr = r->native;
    if (!gr) {
        if (n->next)
            n->next(n->next_ud, r, ev);
        else
            graft__req_release(r);
        return;
    }
    if (gr->route && gr->route->is_ws) {
        if (gr->ws_open && !gr->ws_closed && !gr->queued)
            graft__native_push_local(gr); /* a message or the close arrived */
        graft__req_release(r);
        return;
    }
    if (gr->wcb && !gr->wfire && (ev == GRAFT__EV_WRITABLE || ev == GRAFT__EV_DISCONNECT)) {
        /* Not under the connection lock we hold: after the batch, on this thread. */
        gr->wstatus = ev == GRAFT__EV_WRITABLE ? 0 : GRAFT_EGONE;
        gr->wfire = 1;
        graft__native_push_local(gr);
    }
    if (gr->waiting_body)
        body_event(n, gr, ev);
    graft__req_release(r); /* the event's reference (the native request holds its own) */
}
