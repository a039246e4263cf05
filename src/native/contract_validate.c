/* graft_validate: a request's path, query, header and cookie parameters checked against its
 * route's contract as FastAPI 0.165 does (same values read, same order, same 422 body), the
 * typed values kept for the graft_arg_* getters (contract_args.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "json_str.h"
#include "kit/datetime.h"
#include "kit/errors.h"
#include "native_req.h"
#include "contract_arg.h"

/* Where the 422's entries go, and whether one input could not be reproduced. */
typedef struct vstate {
    graft__buf body;
    size_t nerr;
    int unsupported;
    int has_app;
} vstate;

/* One error: appended as an entry; loc is [in, name] plus the item index for a list. */
static int add_error(vstate *v, const graft__param *p, int64_t index, graft__kit_error *e)
{
    static const char *const ins[] = {"path", "query", "header", "cookie"};
    graft__kit_loc loc[3] = {{ins[p->in], strlen(ins[p->in]), 0}, {p->name, strlen(p->name), 0},
                             {NULL, 0, index}};
    e->loc = loc;
    e->nloc = index >= 0 ? 3 : 2;
    if (v->nerr++ && graft__buf_append(&v->body, ",", 1) < 0)
        return -ENOMEM;
    int rc = graft__kit_detail_entry(&v->body, e);
    if (rc == GRAFT__KIT_UNSUPPORTED) {
        v->unsupported = 1;
        return 0;
    }
    return rc;
}

/* graft-serve's answer for an input the kit cannot judge exactly (no app to decline to):
 * an entry of its own type, documented in docs/KIT.md. */
static int add_unsupported(vstate *v, const graft__param *p, int64_t index, const char *s, size_t n)
{
    if (v->has_app) {
        v->unsupported = 1;
        return 0;
    }
    static const char *const ins[] = {"path", "query", "header", "cookie"};
    graft__buf *b = &v->body;
    char idx[32];
    int rc = (v->nerr++ ? graft__buf_append(b, ",", 1) : 0);
    rc = rc ? rc : graft__buf_append(b, GRAFT__STRLIT("{\"type\":\"graft_unsupported\",\"loc\":[\""));
    rc = rc ? rc : graft__buf_append(b, ins[p->in], strlen(ins[p->in]));
    rc = rc ? rc : graft__buf_append(b, GRAFT__STRLIT("\","));
    rc = rc ? rc : graft__json_str(b, p->name, strlen(p->name));
    if (!rc && index >= 0)
        rc = graft__buf_append(b, idx, (size_t)snprintf(idx, sizeof idx, ",%lld", (long long)index));
    rc = rc ? rc : graft__buf_append(b, GRAFT__STRLIT("],\"msg\":\"Input not supported by graft-serve\",\"input\":"));
    rc = rc ? rc : graft__json_str(b, s, n);
    rc = rc ? rc : graft__buf_append(b, "}", 1);
    return rc;
}

/* The bound a failed constraint names, as the error's ctx wants it. */
static graft__kit_value bound_of(const graft__param *p, int type)
{
    graft__kit_value l = {0};
    int idx = type == GRAFT__KIT_E_GREATER_THAN ? 0 : type == GRAFT__KIT_E_GREATER_THAN_EQUAL ? 1
            : type == GRAFT__KIT_E_LESS_THAN ? 2 : type == GRAFT__KIT_E_LESS_THAN_EQUAL ? 3 : 4;
    if (p->type == GRAFT__T_NUMBER) {
        const double f[] = {p->frules.gt, p->frules.ge, p->frules.lt, p->frules.le, p->frules.multiple_of};
        l.kind = GRAFT__KIT_V_FLOAT;
        l.f = f[idx];
    } else {
        const int64_t i[] = {p->irules.gt, p->irules.ge, p->irules.lt, p->irules.le, p->irules.multiple_of};
        l.kind = GRAFT__KIT_V_INT;
        l.i = i[idx];
    }
    return l;
}

/* Coerces and checks one string value s (n bytes, NUL-terminated) into out. */
static int one_value(vstate *v, const graft__param *p, int64_t index, const char *s, size_t n,
                     graft__arg_val *out)
{
    graft__kit_value in = {.kind = GRAFT__KIT_V_STR, .s = s, .n = n};
    graft__kit_error e = {0};
    int rc = 0;
    out->s = s;
    out->n = n;
    switch (p->type) {
    case GRAFT__T_INT:
        rc = graft__kit_int_from_str(s, n, &out->i);
        if (rc == 0)
            rc = graft__kit_int_check(&p->irules, out->i);
        if (rc >= GRAFT__KIT_E_GREATER_THAN && rc <= GRAFT__KIT_E_MULTIPLE_OF)
            e.limit = bound_of(p, rc);
        break;
    case GRAFT__T_NUMBER:
        rc = graft__kit_float_from_str(s, n, &out->f);
        if (rc == 0)
            rc = graft__kit_float_check(&p->frules, out->f);
        if (rc >= GRAFT__KIT_E_GREATER_THAN && rc <= GRAFT__KIT_E_MULTIPLE_OF)
            e.limit = bound_of(p, rc);
        break;
    case GRAFT__T_BOOL:
        rc = graft__kit_bool_from_str(s, n, &out->b);
        break;
    case GRAFT__T_STR:
        rc = graft__kit_str_check(&p->srules, s, n);
        e.length = rc == GRAFT__KIT_E_STRING_TOO_SHORT ? p->srules.min_length : p->srules.max_length;
        if (rc == GRAFT__KIT_E_STRING_PATTERN_MISMATCH) {
            e.text = p->pattern;
            e.text_n = strlen(p->pattern);
        }
        break;
    case GRAFT__T_UUID: {
        uint8_t u[16];
        rc = graft__kit_uuid_from_str(s, n, u);
        break;
    }
    case GRAFT__T_DATETIME: {
        graft__kit_datetime dt;
        rc = graft__kit_datetime_from_str(s, n, &dt);
        break;
    }
    case GRAFT__T_STR_ENUM:
    case GRAFT__T_INT_ENUM: {
        size_t k = 0;
        rc = p->type == GRAFT__T_STR_ENUM
                 ? graft__kit_enum_str((const char *const *)p->members, p->nmembers, &in, &k)
                 : graft__kit_enum_int(p->imembers, p->nmembers, &in, &k);
        if (rc == 0 && p->type == GRAFT__T_INT_ENUM)
            out->i = p->imembers[k];
        e.text = p->expected;
        e.text_n = p->expected_n;
        break;
    }
    }
    if (rc == GRAFT__KIT_UNSUPPORTED)
        return add_unsupported(v, p, index, s, n);
    if (rc < 0)
        return rc;
    if (rc > 0) {
        e.type = rc;
        e.input = in;
        return add_error(v, p, index, &e);
    }
    return 0;
}

/* A header or cookie value as Starlette gives it to FastAPI: latin-1 decoded, which equals
 * the bytes only for ASCII; copied to be NUL-terminated. */
static int own_copy(vstate *v, const graft__param *p, graft__arg *a, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return add_unsupported(v, p, -1, s, n) < 0 ? -ENOMEM : 1;
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

/* Reads and checks parameter p into a. */
static int one_param(vstate *v, struct graft_request *gr, const graft__param *p, graft__arg *a)
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
        count = graft_query_all(gr, p->name, NULL, NULL, 0);
        break;
    case GRAFT__IN_HEADER:
        s = graft_header(gr, p->name, &n);
        break;
    case GRAFT__IN_COOKIE: {
        size_t hl;
        const char *h = graft_header(gr, "cookie", &hl);
        if (!h || !find_cookie(h, hl, p->name, &s, &n))
            s = NULL;
        else if (n >= 2 && s[0] == '"' && s[n - 1] == '"') /* http.cookies._unquote: not reproduced */
            return add_unsupported(v, p, -1, s, n);
        break;
    }
    }
    if (p->in == GRAFT__IN_QUERY && count) {
        /* A list takes every value; a scalar the last one, as Starlette's QueryParams.get */
        if (!(a->items = calloc(count, sizeof *a->items)))
            return -ENOMEM;
        const char **vals = malloc(count * sizeof *vals);
        size_t *lens = malloc(count * sizeof *lens);
        if (!vals || !lens) {
            free(vals);
            free(lens);
            return -ENOMEM;
        }
        graft_query_all(gr, p->name, vals, lens, count);
        a->has = 1;
        rc = 0;
        if (p->is_list) {
            a->count = count;
            for (size_t i = 0; i < count && rc >= 0; i++)
                rc = one_value(v, p, (int64_t)i, vals[i], lens[i], &a->items[i]);
        } else {
            rc = one_value(v, p, -1, vals[count - 1], lens[count - 1], &a->one);
        }
        free(vals);
        free(lens);
        return rc;
    }
    if (s && (p->in == GRAFT__IN_HEADER || p->in == GRAFT__IN_COOKIE)) {
        if ((rc = own_copy(v, p, a, s, n)) != 0)
            return rc < 0 ? rc : 0;
        s = a->own;
    }
    if (s) {
        a->has = 1;
        return one_value(v, p, -1, s, n, &a->one);
    }
    if (p->required) {
        graft__kit_error e = {.type = GRAFT__KIT_E_MISSING, .input = {.kind = GRAFT__KIT_V_NULL}};
        return add_error(v, p, -1, &e);
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
    int has_app = gr->nat->contract_has_app;
    if (!c || c->unsupported) /* graft-serve refuses to start with an unsupported contract */
        return has_app ? GRAFT_DECLINE : GRAFT_OK;
    if (!(gr->args = calloc(c->nparams ? c->nparams : 1, sizeof *gr->args)))
        return GRAFT_ENOMEM;
    gr->nargs = c->nparams;
    vstate v = {.has_app = has_app};
    int rc = graft__buf_append(&v.body, GRAFT__STRLIT("{\"detail\":["));
    for (size_t i = 0; i < c->nparams && rc >= 0 && !v.unsupported; i++)
        rc = one_param(&v, gr, &c->params[i], &gr->args[i]);
    if (rc >= 0 && !v.unsupported && v.nerr)
        rc = graft__buf_append(&v.body, "]}", 2);
    if (rc < 0) {
        graft__buf_free(&v.body);
        return rc == -ENOMEM ? GRAFT_ENOMEM : GRAFT_EINVAL;
    }
    if (v.unsupported) {
        graft__buf_free(&v.body);
        return GRAFT_DECLINE;
    }
    if (!v.nerr) {
        graft__buf_free(&v.body);
        return GRAFT_OK;
    }
    rc = graft_respond(gr, 422, "application/json", graft__buf_head(&v.body), graft__buf_avail(&v.body));
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
        free(gr->args[i].items);
        free(gr->args[i].own);
    }
    free(gr->args);
    gr->args = NULL;
}
