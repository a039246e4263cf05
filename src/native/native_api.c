/* Request accessors of the public API (graft.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "native_req.h"
#include "tls.h"

GRAFT_API const char *graft_method(graft_request *gr) { return gr->method_z; }
GRAFT_API const char *graft_path(graft_request *gr) { return gr->path_z; }
GRAFT_API const char *graft_query_string(graft_request *gr) { return gr->query_z; }

GRAFT_API const char *graft_param(graft_request *gr, const char *name, size_t *len)
{
    for (size_t i = 0; i < gr->m.nparams; i++)
        if (strcmp(gr->m.names[i], name) == 0) {
            if (len)
                *len = gr->param_lens[i];
            return gr->params[i];
        }
    return NULL;
}

/* Splits and decodes the query once, on first use. */
static int parse_query(graft_request *gr)
{
    if (gr->qbuf)
        return 0;
    const char *q = gr->query_z;
    size_t n = strlen(q), pairs = 1;
    for (size_t i = 0; i < n; i++)
        pairs += q[i] == '&';
    gr->qbuf = malloc(2 * n + 2);
    gr->qk = calloc(pairs, sizeof *gr->qk);
    gr->qv = calloc(pairs, sizeof *gr->qv);
    gr->qvl = calloc(pairs, sizeof *gr->qvl);
    if (!gr->qbuf || !gr->qk || !gr->qv || !gr->qvl)
        return -1;
    char *out = gr->qbuf;
    const char *p = q, *end = q + n;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp)
            amp = end;
        const char *eq = memchr(p, '=', (size_t)(amp - p));
        const char *kend = eq ? eq : amp;
        if (kend > p) {
            gr->qk[gr->nq] = out;
            size_t kl = graft__pct_decode(out, p, (size_t)(kend - p), 1);
            out += kl + 1;
            if (strlen(gr->qk[gr->nq]) != kl) { /* "limit%00": no C-string name is that key */
                p = amp + 1;
                continue;
            }
            gr->qv[gr->nq] = out;
            size_t vl = eq ? graft__pct_decode(out, eq + 1, (size_t)(amp - eq - 1), 1) : (*out = '\0', 0);
            gr->qvl[gr->nq++] = vl;
            out += vl + 1;
        }
        p = amp + 1;
    }
    return 0;
}

GRAFT_API const char *graft_query(graft_request *gr, const char *name, size_t *len)
{
    const char *v;
    size_t l;
    if (graft_query_all(gr, name, &v, &l, 1) == 0)
        return NULL;
    if (len)
        *len = l;
    return v;
}

GRAFT_API size_t graft_query_all(graft_request *gr, const char *name, const char **values,
                                 size_t *lens, size_t max)
{
    if (parse_query(gr) < 0)
        return 0;
    size_t found = 0;
    for (size_t i = 0; i < gr->nq; i++)
        if (strcmp(gr->qk[i], name) == 0) {
            if (found < max) {
                if (values)
                    values[found] = gr->qv[i];
                if (lens)
                    lens[found] = gr->qvl[i];
            }
            found++;
        }
    return found;
}

GRAFT_API const char *graft_header(graft_request *gr, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    graft__req *r = gr->req;
    for (size_t i = 0; i < r->num_headers; i++) {
        const graft__header *h = &r->headers[i];
        if (h->name_len == nl && strncasecmp(h->name, name, nl) == 0) {
            if (len)
                *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

GRAFT_API size_t graft_header_count(graft_request *gr) { return gr->req->num_headers; }

GRAFT_API int graft_header_at(graft_request *gr, size_t i, const char **name, size_t *name_len,
                              const char **value, size_t *value_len)
{
    if (i >= gr->req->num_headers)
        return GRAFT_EINVAL;
    const graft__header *h = &gr->req->headers[i];
    *name = h->name;
    *name_len = h->name_len;
    *value = h->value;
    *value_len = h->value_len;
    return 0;
}

GRAFT_API const char *graft_body(graft_request *gr, size_t *len)
{
    if (len)
        *len = graft__buf_avail(&gr->body);
    return graft__buf_avail(&gr->body) ? graft__buf_head(&gr->body) : "";
}

GRAFT_API size_t graft_body_read(graft_request *gr, void *buf, size_t cap, int *done)
{
    int more = 1, gone = 0;
    /* When this read empties what we hold, ask the engine, under its lock: bytes may have
     * arrived since, and only then can the end be reported. (Judging by body_done alone,
     * unlocked, raced with the poller and reported the end while the tail of the body
     * still waited in the request.) While bytes stay held, the end is not near: no lock. */
    if (gr->shadow) /* a replay holds the whole body already */
        more = 0;
    else if (graft__buf_avail(&gr->body) <= cap)
        graft__req_take_body(gr->req, &gr->body, &more, &gone);
    size_t n = graft__buf_avail(&gr->body);
    if (n > cap)
        n = cap;
    memcpy(buf, graft__buf_head(&gr->body), n);
    graft__buf_consume(&gr->body, n);
    if (done)
        *done = (!more || gone) && graft__buf_avail(&gr->body) == 0;
    return n;
}

GRAFT_API const char *graft_client(graft_request *gr, int *port)
{
    if (port)
        *port = gr->req->client_port;
    return gr->req->client_ip;
}

/* TLS facts: the connection's, filled by the engine before the request was delivered and
 * immutable afterwards, so no lock. */
GRAFT_API const char *graft_scheme(graft_request *gr)
{
    return graft__req_tls(gr->req) ? "https" : "http";
}

GRAFT_API int graft_tls_version(graft_request *gr)
{
    const graft__tls_info *t = graft__req_tls(gr->req);
    return t ? t->version : 0;
}

GRAFT_API int graft_tls_cipher(graft_request *gr)
{
    const graft__tls_info *t = graft__req_tls(gr->req);
    return t ? t->cipher : 0;
}

GRAFT_API const char *graft_tls_client_name(graft_request *gr, size_t *len)
{
    const graft__tls_info *t = graft__req_tls(gr->req);
    const char *n = t ? t->client_name : NULL;
    if (len)
        *len = n ? strlen(n) : 0;
    return n;
}

GRAFT_API void *graft_lib_state(graft_request *gr)
{
    if (atomic_load(&gr->nat->stopped))
        return NULL; /* destroyed at shutdown; a late caller must not get a dangling pointer */
    return gr->route && gr->route->lib ? gr->route->lib->state : NULL;
}

GRAFT_API void *graft_thread_state(graft_request *gr)
{
    graft__lib *lib = gr->route ? gr->route->lib : NULL;
    /* Inside enter/leave: graft__native_free deletes the key and destroys the state. */
    if (!lib || graft__native_enter(gr->nat))
        return NULL;
    void *v = NULL;
    if (lib->has_key) {
        v = pthread_getspecific(lib->key);
        if (!v && lib->tcreate) {
            v = lib->tcreate(lib->state);
            pthread_setspecific(lib->key, v);
        }
    }
    graft__native_leave(gr->nat);
    return v;
}

GRAFT_API int graft_request_gone(graft_request *gr)
{
    if (atomic_load(&gr->nat->stopped))
        return 1;
    if (gr->shadow)
        return 0; /* a replay's answer goes to memory, which never leaves */
    return graft__req_closed(gr->req);
}
