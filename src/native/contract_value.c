/* Judging one value of a parameter: coerced and checked by the kit, its error appended to the
 * 422 being built as FastAPI writes it, or marked as a case the kit cannot reproduce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract_arg.h"
#include "json_str.h"
#include "kit/datetime.h"
#include "kit/errors.h"

/* One error: appended as an entry; loc is [in, name] plus the item index for a list. */
int graft__contract_error(graft__vstate *v, const graft__param *p, int64_t index, graft__kit_error *e)
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
int graft__contract_unsupported(graft__vstate *v, const graft__param *p, int64_t index, const char *s, size_t n)
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
graft__kit_value graft__contract_bound(const graft__param *p, int type)
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

/* An int beyond int64 that no constraint refuses (graft__kit_int_beyond_check ran), for a
 * route that takes one: valid, as in Python. The handler gets it saturated, with its sign in
 * wide and its canonical text. */
static int wide_value(const char *s, size_t n, graft__arg_val *out)
{
    char *t = malloc(n + 22);
    if (!t)
        return -ENOMEM;
    int wide;
    int rc = graft__kit_int_text(s, n, t, &out->text_n, &wide);
    if (rc != GRAFT__KIT_OK || !wide) {
        free(t);
        return rc == GRAFT__KIT_OK ? GRAFT__KIT_UNSUPPORTED : rc;
    }
    out->text = t;
    out->wide = wide;
    out->i = wide > 0 ? INT64_MAX : INT64_MIN;
    return GRAFT__KIT_OK;
}

/* Coerces and checks one string value s (n bytes, NUL-terminated) into out. */
int graft__contract_value(graft__vstate *v, const graft__param *p, int64_t index, const char *s, size_t n,
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
        else if (rc == GRAFT__KIT_UNSUPPORTED) /* beyond int64, yet a bound decides it */
            rc = graft__kit_int_beyond_check(&p->irules, s, n);
        if (rc == GRAFT__KIT_UNSUPPORTED && v->wide_int)
            rc = wide_value(s, n, out);
        if (rc >= GRAFT__KIT_E_GREATER_THAN && rc <= GRAFT__KIT_E_MULTIPLE_OF)
            e.limit = graft__contract_bound(p, rc);
        break;
    case GRAFT__T_NUMBER:
        rc = graft__kit_float_from_str(s, n, &out->f);
        if (rc == 0)
            rc = graft__kit_float_check(&p->frules, out->f);
        if (rc >= GRAFT__KIT_E_GREATER_THAN && rc <= GRAFT__KIT_E_MULTIPLE_OF)
            e.limit = graft__contract_bound(p, rc);
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
        return graft__contract_unsupported(v, p, index, s, n);
    if (rc < 0)
        return rc;
    if (rc > 0) {
        e.type = rc;
        e.input = in;
        return graft__contract_error(v, p, index, &e);
    }
    return 0;
}
