/* A native request's lifetime: created for a matched request with its strings copied
 * out, completed (access log) or abandoned, freed with its last reference. */
#include <stdlib.h>
#include <string.h>

#include "native_req.h"
#include "native_shadow.h"

size_t graft__pct_decode(char *dst, const char *src, size_t n, int plus_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%' && i + 2 < n) {
            int hi = src[i + 1], lo = src[i + 2];
            hi = hi >= '0' && hi <= '9' ? hi - '0' : (hi | 0x20) >= 'a' && (hi | 0x20) <= 'f' ? (hi | 0x20) - 'a' + 10 : -1;
            lo = lo >= '0' && lo <= '9' ? lo - '0' : (lo | 0x20) >= 'a' && (lo | 0x20) <= 'f' ? (lo | 0x20) - 'a' + 10 : -1;
            if (hi >= 0 && lo >= 0) {
                dst[o++] = (char)(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        dst[o++] = plus_space && c == '+' ? ' ' : c;
    }
    dst[o] = '\0';
    return o;
}

/* One allocation of NUL-terminated strings: method, path, query, params (already decoded:
 * they are slices of the decoded path the router matched, which dies with deliver). */
static int build_strings(struct graft_request *gr)
{
    graft__req *r = gr->req;
    size_t need = r->method_len + r->path_len + r->query_len + 3;
    for (size_t i = 0; i < gr->m.nparams; i++)
        need += gr->m.lens[i] + 1;
    char *p = malloc(need);
    if (!p)
        return -1;
    gr->strs = p;
    memcpy(p, r->method, r->method_len);
    p[r->method_len] = '\0';
    gr->method_z = p;
    p += r->method_len + 1;
    memcpy(p, r->path, r->path_len);
    p[r->path_len] = '\0';
    gr->path_z = p;
    p += r->path_len + 1;
    memcpy(p, r->query, r->query_len);
    p[r->query_len] = '\0';
    gr->query_z = p;
    p += r->query_len + 1;
    for (size_t i = 0; i < gr->m.nparams; i++) {
        gr->params[i] = p;
        memcpy(p, gr->m.vals[i], gr->m.lens[i]);
        p[gr->m.lens[i]] = '\0';
        gr->param_lens[i] = gr->m.lens[i];
        gr->m.vals[i] = p; /* the copy: gr->m outlives the buffer it was matched in */
        p += gr->m.lens[i] + 1;
    }
    return 0;
}

static void gr_free(struct graft_request *gr)
{
    graft__buf_free(&gr->hdrs);
    graft__buf_free(&gr->body);
    free(gr->strs);
    free(gr->qbuf);
    free(gr->qk);
    free(gr->qv);
    free(gr->qvl);
    graft__native_args_free(gr);
    if (gr->req)
        graft__req_release(gr->req);
    if (gr->shadow)
        graft__shadow_release(gr->shadow);
    graft__native *n = gr->nat;
    free(gr);
    graft__native_unref(n); /* may be the last: the server stopped while a handler held gr */
}

struct graft_request *graft__native_request_new(graft__native *n, graft__req *r,
                                                const graft__match *m)
{
    struct graft_request *gr = calloc(1, sizeof *gr);
    if (!gr)
        return NULL;
    gr->req = r;
    gr->nat = n;
    atomic_fetch_add(&n->refs, 1); /* dropped by gr_free */
    gr->route = m->route;
    gr->m = *m;
    atomic_init(&gr->refs, 1);
    if (build_strings(gr) < 0) {
        gr->req = NULL; /* the caller keeps the event's reference */
        gr_free(gr);
        return NULL;
    }
    return gr;
}

GRAFT_API void graft_request_retain(graft_request *gr) { atomic_fetch_add(&gr->refs, 1); }

GRAFT_API void graft_request_release(graft_request *gr)
{
    if (atomic_fetch_sub(&gr->refs, 1) == 1)
        gr_free(gr);
}

void graft__native_detach(struct graft_request *gr)
{
    graft__req *r = gr->req;
    graft__req_lock(r);
    r->native = NULL;
    graft__req_unlock(r);
}

void graft__native_done(struct graft_request *gr, int status)
{
    if (gr->shadow) {
        graft__shadow_done(gr, status);
        return;
    }
    graft__native *n = gr->nat;
    graft__req *r = gr->req;
    r->status = status;
    gr->state = GR_DONE;
    graft__native_detach(gr);
    /* the access log lives with the next embedder */
    if (n->next) {
        if (n->log_to_next) {
            atomic_fetch_add(&r->refs, 1);
            n->next(n->next_ud, r, GRAFT__EV_LOG);
        }
    } else if (n->access_log) {
        n->access_log(r, status);
    }
    graft_request_release(gr); /* the initial reference */
}

void graft__native_abandon(struct graft_request *gr)
{
    if (gr->shadow) {
        graft__shadow_done(gr, 0);
        return;
    }
    /* End the exchange in the engine too, or the connection (and its fd) stays open with a
     * request that nobody will ever answer. */
    graft__req_write(gr->req, NULL, 0, GRAFT__W_FINAL | GRAFT__W_CLOSE);
    gr->state = GR_DONE;
    graft__native_detach(gr);
    graft_request_release(gr);
}
