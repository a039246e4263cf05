/* The JSON values of a request body, one at a time: written back as FastAPI writes an error's
 * input (json.dumps of what json.loads made: floats as Python's repr), measured for nesting,
 * and coerced as a body field's scalar type by the kit's JSON-typed layer. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract_arg.h"
#include "json_str.h"
#include "kit/datetime.h"
#include "kit/float_text.h"

/* j as json.dumps(ensure_ascii=False, separators=(",", ":")) writes what json.loads made of
 * it (floats as repr). depth is bounded by the body's checked nesting. */
int graft__body_dump(graft__buf *b, json_t *j)
{
    char t[GRAFT__KIT_FLOAT_MAX];
    int rc = 0;
    size_t i;
    const char *k;
    json_t *x;
    switch (json_typeof(j)) {
    case JSON_NULL: return graft__buf_append(b, GRAFT__STRLIT("null"));
    case JSON_TRUE: return graft__buf_append(b, GRAFT__STRLIT("true"));
    case JSON_FALSE: return graft__buf_append(b, GRAFT__STRLIT("false"));
    case JSON_INTEGER:
        return graft__buf_append(b, t, (size_t)snprintf(t, sizeof t, "%lld", (long long)json_integer_value(j)));
    case JSON_REAL: return graft__buf_append(b, t, graft__kit_float_repr(json_real_value(j), t));
    case JSON_STRING: {
        const char *d;
        size_t dn;
        if (graft__body_marker(j, &d, &dn)) /* an integer beyond int64 (or NaN...), as written */
            return graft__buf_append(b, d, dn);
        return graft__json_str(b, json_string_value(j), json_string_length(j));
    }
    case JSON_ARRAY:
        rc = graft__buf_append(b, "[", 1);
        json_array_foreach(j, i, x) {
            rc = rc ? rc : i ? graft__buf_append(b, ",", 1) : 0;
            rc = rc ? rc : graft__body_dump(b, x);
        }
        return rc ? rc : graft__buf_append(b, "]", 1);
    case JSON_OBJECT:
        i = 0;
        rc = graft__buf_append(b, "{", 1);
        json_object_foreach(j, k, x) {
            rc = rc ? rc : i++ ? graft__buf_append(b, ",", 1) : 0;
            rc = rc ? rc : graft__json_str(b, k, strlen(k));
            rc = rc ? rc : graft__buf_append(b, ":", 1);
            rc = rc ? rc : graft__body_dump(b, x);
        }
        return rc ? rc : graft__buf_append(b, "}", 1);
    }
    return -EINVAL;
}

/* The nesting of j (1 for a scalar), counting no further than limit + 1. */
int graft__body_depth(json_t *j, int limit)
{
    int d = 0;
    size_t i;
    const char *k;
    json_t *x;
    if (limit < 0)
        return 1;
    if (json_is_array(j))
        json_array_foreach(j, i, x) { int e = graft__body_depth(x, limit - 1); d = e > d ? e : d; }
    else if (json_is_object(j))
        json_object_foreach(j, k, x) { int e = graft__body_depth(x, limit - 1); d = e > d ? e : d; }
    return d + 1;
}

/* The kit's view of a JSON value (an array or object: V_RAW, its text written by report). */
graft__kit_value graft__body_kit_value(json_t *j)
{
    graft__kit_value in = {.kind = GRAFT__KIT_V_RAW};
    switch (json_typeof(j)) {
    case JSON_NULL: in.kind = GRAFT__KIT_V_NULL; break;
    case JSON_TRUE: case JSON_FALSE: in.kind = GRAFT__KIT_V_BOOL; in.b = json_is_true(j); break;
    case JSON_INTEGER: in.kind = GRAFT__KIT_V_INT; in.i = json_integer_value(j); break;
    case JSON_REAL: in.kind = GRAFT__KIT_V_FLOAT; in.f = json_real_value(j); break;
    case JSON_STRING: in.kind = GRAFT__KIT_V_STR; in.s = json_string_value(j); in.n = json_string_length(j); break;
    default: break;
    }
    int m = graft__body_marker(j, &in.s, &in.n);
    if (m == GRAFT__BODY_BIGINT) /* written as it came: V_RAW holds the text */
        in.kind = GRAFT__KIT_V_RAW;
    else if (m == GRAFT__BODY_NONFINITE)
        in = (graft__kit_value){.kind = GRAFT__KIT_V_FLOAT, .f = graft__body_nonfinite_value(in.s)};
    return in;
}

/* A JSON integer beyond int64 (digits, n bytes) in a field of p's type, as Pydantic judges
 * the big integer: only its errors are reproduced (a valid one has no C value to read). */
static int bigint_scalar(const graft__param *p, const char *digits, size_t n, graft__kit_error *e)
{
    int rc = GRAFT__KIT_UNSUPPORTED;
    char t[64];
    switch (p->type) {
    case GRAFT__T_INT:
        rc = graft__kit_int_beyond_check(&p->irules, digits, n);
        break;
    case GRAFT__T_NUMBER: /* int to float, correctly rounded as Python's float(int) */
        if (n < sizeof t) {
            memcpy(t, digits, n);
            t[n] = '\0';
            double f = strtod(t, NULL);
            rc = isfinite(f) ? graft__kit_float_check(&p->frules, f) : GRAFT__KIT_UNSUPPORTED;
            rc = rc == 0 ? GRAFT__KIT_UNSUPPORTED : rc;
        }
        break;
    case GRAFT__T_BOOL: rc = GRAFT__KIT_E_BOOL_TYPE; break;    /* beyond int64: not even bool_parsing */
    case GRAFT__T_STR: rc = GRAFT__KIT_E_STRING_TYPE; break;  /* lax mode makes no str of an int */
    case GRAFT__T_STR_ENUM: rc = GRAFT__KIT_E_ENUM; break;    /* only a string can be a member */
    default: break;
    }
    e->text = p->expected;
    e->text_n = p->expected_n;
    return rc;
}

/* An error's type, input and bound. */
static int finish(const graft__param *p, int rc, graft__kit_value in, graft__kit_error *e)
{
    if (rc >= GRAFT__KIT_E_GREATER_THAN && rc <= GRAFT__KIT_E_MULTIPLE_OF)
        e->limit = graft__contract_bound(p, rc);
    if (rc > 0) {
        e->type = rc;
        e->input = in;
    }
    return rc;
}

int graft__body_scalar(const graft__param *p, json_t *j, graft__arg_val *out, graft__kit_error *e)
{
    graft__kit_value in = graft__body_kit_value(j);
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (in.kind == GRAFT__KIT_V_RAW && json_is_string(j))
        return finish(p, bigint_scalar(p, in.s, in.n, e), in, e);
    if (in.kind == GRAFT__KIT_V_FLOAT && !isfinite(in.f)) {
        /* NaN or an infinity: a float field may take it (then no C value: unsupported); every
         * other type refuses it, and the error quoting it is FastAPI's 500 (the type is moot) */
        rc = p->type == GRAFT__T_NUMBER ? graft__kit_float_check(&p->frules, in.f) : GRAFT__KIT_E_FLOAT_TYPE;
        return finish(p, rc == 0 ? GRAFT__KIT_UNSUPPORTED : rc, in, e);
    }
    switch (p->type) {
    case GRAFT__T_INT:
        rc = graft__kit_to_int(&in, &out->i);
        rc = rc ? rc : graft__kit_int_check(&p->irules, out->i);
        break;
    case GRAFT__T_NUMBER:
        rc = graft__kit_to_float(&in, &out->f);
        if (rc == 0 && p->finite && !isfinite(out->f)) /* Pydantic: before the bounds */
            rc = GRAFT__KIT_E_FINITE_NUMBER;
        rc = rc ? rc : graft__kit_float_check(&p->frules, out->f);
        break;
    case GRAFT__T_BOOL:
        rc = graft__kit_to_bool(&in, &out->b);
        break;
    case GRAFT__T_STR:
        rc = graft__kit_to_str(&in, &out->s, &out->n);
        rc = rc ? rc : graft__kit_str_check(&p->srules, out->s, out->n);
        e->length = rc == GRAFT__KIT_E_STRING_TOO_SHORT ? p->srules.min_length : p->srules.max_length;
        if (rc == GRAFT__KIT_E_STRING_PATTERN_MISMATCH) {
            e->text = p->pattern;
            e->text_n = strlen(p->pattern);
        }
        break;
    case GRAFT__T_UUID:
    case GRAFT__T_DATETIME: {
        uint8_t u[16];
        graft__kit_datetime dt;
        if (in.kind != GRAFT__KIT_V_STR) /* uuid_type, datetime_type: not in the catalogue */
            return GRAFT__KIT_UNSUPPORTED;
        out->s = in.s, out->n = in.n;
        rc = p->type == GRAFT__T_UUID ? graft__kit_uuid_from_str(in.s, in.n, u)
                                      : graft__kit_datetime_from_str(in.s, in.n, &dt);
        break;
    }
    case GRAFT__T_STR_ENUM:
    case GRAFT__T_INT_ENUM: {
        size_t k = 0;
        rc = p->type == GRAFT__T_STR_ENUM
                 ? graft__kit_enum_str((const char *const *)p->members, p->nmembers, &in, &k)
                 : graft__kit_enum_int(p->imembers, p->nmembers, &in, &k);
        if (rc == 0 && p->type == GRAFT__T_STR_ENUM)
            out->s = p->members[k], out->n = strlen(p->members[k]);
        if (rc == 0 && p->type == GRAFT__T_INT_ENUM)
            out->i = p->imembers[k];
        e->text = p->expected;
        e->text_n = p->expected_n;
        break;
    }
    }
    return finish(p, rc, in, e);
}
