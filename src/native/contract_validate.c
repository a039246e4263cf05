/* graft_validate: a request's path, query, header and cookie parameters checked against its
 * route's contract as FastAPI 0.165 does (same values read, same order, same 422 body), the
 * typed values kept for the graft_arg_* getters (contract_args.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract_arg.h"
#include "contract_body.h"
#include "native_req.h"
#include "utf8.h"

/* A header or cookie value as Starlette gives it to FastAPI: latin-1 decoded, which equals
 * the bytes only for ASCII; copied to be NUL-terminated. */
static int own_copy(graft__vstate *v, const graft__param *p, graft__arg *a, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return graft__contract_unsupported(v, p, -1, s, n) < 0 ? -ENOMEM : 1;
    if (!(a->own = malloc(n + 1)))
        return -ENOMEM;
    memcpy(a->own, s, n);
    a->own[n] = '\0';
    return 0;
}

/* The cookie named name as Starlette's cookie_parser reads the Cookie header: chunks split on
 * ';', each "key=value" (a chunk without '=' has the key ""), both stripped of whitespace; the
 * last chunk with the key wins. 1 when found. */
static int find_cookie(const char *h, size_t hl, const char *name, const char **val, size_t *vl)
{
    size_t nl = strlen(name);
    int found = 0;
    const char *p = h, *end = h + hl;
    while (p <= end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (!semi)
            semi = end;
        const char *eq = memchr(p, '=', (size_t)(semi - p));
        const char *ks = p, *ke = eq ? eq : p, *vs = eq ? eq + 1 : p, *ve = semi;
        /* Python's str.strip(): ASCII whitespace here (the value is ASCII, checked after) */
#define WS(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r' || (c) == '\v' || (c) == '\f')
        while (ks < ke && WS(*ks)) ks++;
        while (ke > ks && WS(ke[-1])) ke--;
        while (vs < ve && WS(*vs)) vs++;
        while (ve > vs && WS(ve[-1])) ve--;
#undef WS
        if ((size_t)(ke - ks) == nl && memcmp(ks, name, nl) == 0) {
            *val = vs;
            *vl = (size_t)(ve - vs);
            found = 1;
        }
        p = semi + 1;
    }
    return found;
}

/* Whether s holds a byte that Starlette would read differently from the kit: non-ASCII
 * (Starlette decodes the query string and headers as latin-1) or, with ctl, a control
 * character other than tab (Python's str.strip() also strips \x1c-\x1f in cookies). */
static int unusual(const char *s, size_t n, int ctl)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || (ctl && c < 0x20 && c != '\t'))
            return 1;
    }
    return 0;
}

/* src as Starlette's query parsing decodes it (unquote with errors="replace"): each maximal
 * invalid UTF-8 subpart becomes one U+FFFD. dst has room for 3 * n + 1 bytes; returns the
 * length (dst NUL-terminated). */
static size_t utf8_replace(char *dst, const char *src, size_t n)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i], lo = 0x80, hi = 0xBF;
        int want = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (c == 0xE0 || c == 0xF0)
            lo = c == 0xE0 ? 0xA0 : 0x90;
        else if (c == 0xED || c == 0xF4)
            hi = c == 0xED ? 0x9F : 0x8F;
        int got = 1;
        while (got < want && i + (size_t)got < n && s[i + got] >= lo && s[i + got] <= hi) {
            got++;
            lo = 0x80;
            hi = 0xBF;
        }
        if (got == want) {
            memcpy(dst + o, s + i, (size_t)got);
            o += (size_t)got;
        } else {
            memcpy(dst + o, "\xef\xbf\xbd", 3);
            o += 3;
        }
        i += (size_t)got;
    }
    dst[o] = '\0';
    return o;
}

/* The query values of p (each NUL-terminated) as the app reads them: invalid UTF-8 replaced,
 * into a->own (room for all of them, made on the first invalid one). */
static int query_value(graft__arg *a, struct graft_request *gr, size_t i, size_t *used, const char **s, size_t *n)
{
    *s = gr->qv[i];
    *n = gr->qvl[i];
    if (graft__utf8_valid(*s, *n))
        return 0;
    if (!a->own) {
        size_t need = 0;
        for (size_t k = 0; k < gr->nq; k++)
            need += strcmp(gr->qk[k], a->p->name) == 0 ? 3 * gr->qvl[k] + 1 : 0;
        if (!(a->own = malloc(need)))
            return -ENOMEM;
    }
    *n = utf8_replace(a->own + *used, *s, *n);
    *s = a->own + *used;
    *used += *n + 1;
    return 0;
}

/* Reads and checks parameter p into a. */
static int one_param(graft__vstate *v, struct graft_request *gr, const graft__param *p, graft__arg *a)
{
    const char *s = NULL;
    size_t n = 0, count = 0;
    int rc;
    a->p = p;
    switch (p->in) {
    case GRAFT__IN_PATH:
        if ((size_t)p->pos < gr->m.nparams) {
            s = gr->params[p->pos];
            n = gr->param_lens[p->pos];
        }
        break;
    case GRAFT__IN_QUERY:
        if (unusual(gr->query_z, strlen(gr->query_z), 0)) /* raw non-ASCII: latin-1 in Starlette */
            return graft__contract_unsupported(v, p, -1, gr->query_z, strlen(gr->query_z));
        count = graft_query_all(gr, p->name, NULL, NULL, 0);
        break;
    case GRAFT__IN_HEADER:
        s = graft_header(gr, p->name, &n);
        break;
    case GRAFT__IN_COOKIE: {
        size_t hl;
        const char *h = graft_header(gr, "cookie", &hl);
        if (h && unusual(h, hl, 1))
            return graft__contract_unsupported(v, p, -1, h, hl);
        if (!h || !find_cookie(h, hl, p->name, &s, &n))
            s = NULL;
        else if (n >= 2 && s[0] == '"' && s[n - 1] == '"') /* http.cookies._unquote: not reproduced */
            return graft__contract_unsupported(v, p, -1, s, n);
        break;
    }
    }
    if (p->in == GRAFT__IN_QUERY && count && !p->is_list) {
        /* a scalar takes the last value, as Starlette's QueryParams.get (graft_query_all has
         * split the query into gr->qk / qv already) */
        size_t used = 0;
        for (size_t i = gr->nq; i-- > 0;)
            if (strcmp(gr->qk[i], p->name) == 0) {
                a->has = 1;
                if ((rc = query_value(a, gr, i, &used, &s, &n)) < 0)
                    return rc;
                return graft__contract_value(v, p, -1, s, n, &a->one);
            }
    }
    if (p->in == GRAFT__IN_QUERY && count) { /* a list takes every value, in order */
        if (!(a->items = calloc(count, sizeof *a->items)))
            return -ENOMEM;
        a->has = 1;
        rc = 0;
        size_t used = 0;
        for (size_t i = 0; i < gr->nq && a->count < count && rc >= 0; i++)
            if (strcmp(gr->qk[i], p->name) == 0 && (rc = query_value(a, gr, i, &used, &s, &n)) >= 0) {
                rc = graft__contract_value(v, p, (int64_t)a->count, s, n, &a->items[a->count]);
                a->count++;
            }
        return rc;
    }
    if (s && (p->in == GRAFT__IN_HEADER || p->in == GRAFT__IN_COOKIE)) {
        if ((rc = own_copy(v, p, a, s, n)) != 0)
            return rc < 0 ? rc : 0;
        s = a->own;
    }
    if (s) {
        a->has = 1;
        return graft__contract_value(v, p, -1, s, n, &a->one);
    }
    if (p->required) {
        graft__kit_error e = {.type = GRAFT__KIT_E_MISSING, .input = {.kind = GRAFT__KIT_V_NULL}};
        return graft__contract_error(v, p, -1, &e);
    }
    a->has = p->has_default;
    a->one.i = p->def_i;
    a->one.f = p->def_f;
    a->one.b = p->def_b;
    a->one.s = p->def_s;
    a->one.n = p->def_s ? strlen(p->def_s) : 0;
    return 0;
}

/* Which contract the request's route has (the route's index in the router). */
static const graft__contract *contract_of(struct graft_request *gr)
{
    graft__native *n = gr->nat;
    if (!n->route_contract || !gr->route)
        return NULL;
    size_t i = (size_t)(gr->route - n->router.routes);
    return i < n->router.n ? n->route_contract[i] : NULL;
}

static int validate(struct graft_request *gr)
{
    const graft__contract *c = contract_of(gr);
    int has_app = gr->nat->next != NULL; /* graft: an app to decline to; graft-serve: none */
    if (!c || c->unsupported) /* graft-serve refuses to start with an unsupported contract */
        return has_app ? GRAFT_DECLINE : GRAFT_OK;
    /* a body needs the whole body at hand (graft-serve refuses such a route at start-up) */
    if (c->body && !(gr->route->flags & GRAFT_ROUTE_BODY))
        return has_app ? GRAFT_DECLINE : GRAFT_EINVAL;
    if (!(gr->args = calloc(c->nparams ? c->nparams : 1, sizeof *gr->args)))
        return GRAFT_ENOMEM;
    gr->nargs = c->nparams;
    graft__vstate v = {.has_app = has_app, .wide_int = (gr->route->flags & GRAFT_ROUTE_WIDE_INT) != 0};
    int rc = graft__buf_append(&v.body, GRAFT__STRLIT("{\"detail\":["));
    for (size_t i = 0; i < c->nparams && rc >= 0 && !v.unsupported; i++)
        rc = one_param(&v, gr, &c->params[i], &gr->args[i]);
    if (c->body && rc >= 0 && !v.unsupported) /* FastAPI: the body's entries after the parameters' */
        rc = graft__contract_check_body(&v, gr, c->body);
    if (rc >= 0 && !v.unsupported && v.nerr && !v.status)
        rc = graft__buf_append(&v.body, "]}", 2);
    if (rc < 0) {
        graft__buf_free(&v.body);
        return rc == -ENOMEM ? GRAFT_ENOMEM : GRAFT_EINVAL;
    }
    if (v.fails) { /* FastAPI's handler fails writing its 422: Starlette's 500 */
        graft__buf_free(&v.body);
        rc = graft_respond(gr, 500, "text/plain; charset=utf-8", "Internal Server Error", 21);
        return rc < 0 ? rc : GRAFT_ANSWERED;
    }
    if (v.unsupported) {
        graft__buf_free(&v.body);
        return GRAFT_DECLINE;
    }
    if (!v.nerr) {
        graft__buf_free(&v.body);
        return GRAFT_OK;
    }
    rc = graft_respond(gr, v.status ? v.status : 422, "application/json", graft__buf_head(&v.body), graft__buf_avail(&v.body));
    graft__buf_free(&v.body);
    return rc < 0 ? rc : GRAFT_ANSWERED;
}

GRAFT_API int graft_validate(graft_request *gr)
{
    if (!gr)
        return GRAFT_EINVAL;
    if (!gr->validated) {
        gr->vresult = validate(gr);
        gr->validated = 1;
    }
    return gr->vresult;
}

void graft__native_args_free(struct graft_request *gr)
{
    for (size_t i = 0; gr->args && i < gr->nargs; i++) {
        free(gr->args[i].one.text);
        for (size_t k = 0; k < gr->args[i].count; k++)
            free(gr->args[i].items[k].text);
        free(gr->args[i].items);
        free(gr->args[i].own);
    }
    free(gr->args);
    gr->args = NULL;
    json_decref((json_t *)gr->body_doc);
    gr->body_doc = NULL;
}
