/* The rules of one parameter's schema: numeric bounds, enum members (and their "expected"
 * text, built once here), and the default, converted to the parameter's type. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "kit/errors.h"

/* Returns 1 (unsupported) with the construct written into why. */
int graft__contract_unsup(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return 1;
}

static int is_int(json_t *v) { return json_is_integer(v); }

/* Numeric bounds of an integer (JSON integers only: Pydantic would compare an int field with
 * a float bound and write it as a float) or a number. */
int graft__contract_bounds(graft__param *p, json_t *s, char *why, size_t whylen)
{
    static const struct { const char *key; unsigned bit; } keys[] = {
        {"exclusiveMinimum", GRAFT__KIT_GT}, {"minimum", GRAFT__KIT_GE},
        {"exclusiveMaximum", GRAFT__KIT_LT}, {"maximum", GRAFT__KIT_LE},
        {"multipleOf", GRAFT__KIT_MULTIPLE_OF}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(s, keys[i].key);
        if (!v)
            continue;
        if (p->type == GRAFT__T_INT) {
            double r = json_is_real(v) ? json_real_value(v) : 0.5;
            int lenient = p->body_field && json_is_real(v) && r == floor(r) && fabs(r) < 9007199254740992.0;
            if (!is_int(v) && !lenient)
                return graft__contract_unsup(why, whylen, json_is_boolean(v) ? "%s as a boolean (OpenAPI 3.0)"
                                                             : "%s on an integer that is not an integer",
                             keys[i].key);
            int64_t x = lenient ? (int64_t)r : json_integer_value(v);
            int64_t *dst[] = {&p->irules.gt, &p->irules.ge, &p->irules.lt, &p->irules.le,
                              &p->irules.multiple_of};
            *dst[i] = x;
            p->irules.has |= keys[i].bit;
        } else if (p->type == GRAFT__T_NUMBER) {
            if (!json_is_number(v))
                return graft__contract_unsup(why, whylen, "%s that is not a number (OpenAPI 3.0 form)", keys[i].key);
            double x = json_number_value(v);
            double *dst[] = {&p->frules.gt, &p->frules.ge, &p->frules.lt, &p->frules.le,
                             &p->frules.multiple_of};
            *dst[i] = x;
            p->frules.has |= keys[i].bit;
        } else {
            return graft__contract_unsup(why, whylen, "%s on a non-numeric type", keys[i].key);
        }
    }
    if ((p->irules.has & GRAFT__KIT_MULTIPLE_OF) && p->irules.multiple_of <= 0)
        return graft__contract_unsup(why, whylen, "multipleOf <= 0");
    if ((p->frules.has & GRAFT__KIT_MULTIPLE_OF) &&
        !(isfinite(p->frules.multiple_of) && p->frules.multiple_of > 0))
        return graft__contract_unsup(why, whylen, "multipleOf <= 0");
    return 0;
}

/* An enum, only from a component (FastAPI's Enum classes: error type "enum"; an inline enum is
 * a Literal, whose "literal_error" the kit does not write). */
int graft__contract_enum(graft__param *p, json_t *s, char *why, size_t whylen)
{
    json_t *e = json_object_get(s, "enum");
    size_t n = json_array_size(e);
    if (!json_is_array(e) || n == 0)
        return graft__contract_unsup(why, whylen, "an empty or malformed enum");
    graft__buf txt = {0};
    int rc;
    if (p->type == GRAFT__T_STR) {
        p->type = GRAFT__T_STR_ENUM;
        if (!(p->members = calloc(n, sizeof *p->members)))
            return -ENOMEM;
        p->nmembers = n;
        for (size_t i = 0; i < n; i++) {
            json_t *m = json_array_get(e, i);
            if (!json_is_string(m))
                return graft__contract_unsup(why, whylen, "an enum with a non-string member");
            if (!(p->members[i] = strdup(json_string_value(m))))
                return -ENOMEM;
        }
        rc = graft__kit_enum_expected(&txt, (const char *const *)p->members, NULL, n);
    } else if (p->type == GRAFT__T_INT) {
        p->type = GRAFT__T_INT_ENUM;
        if (!(p->imembers = calloc(n, sizeof *p->imembers)))
            return -ENOMEM;
        p->nmembers = n;
        for (size_t i = 0; i < n; i++) {
            json_t *m = json_array_get(e, i);
            if (!is_int(m))
                return graft__contract_unsup(why, whylen, "an enum with a non-integer member");
            p->imembers[i] = json_integer_value(m);
        }
        rc = graft__kit_enum_expected(&txt, NULL, p->imembers, n);
    } else {
        return graft__contract_unsup(why, whylen, "an enum of a type other than string or integer");
    }
    if (rc == GRAFT__KIT_UNSUPPORTED) {
        graft__buf_free(&txt);
        return graft__contract_unsup(why, whylen, "an enum member outside printable ASCII");
    }
    if (rc < 0 || !(p->expected = malloc(graft__buf_avail(&txt) + 1))) {
        graft__buf_free(&txt);
        return -ENOMEM;
    }
    p->expected_n = graft__buf_avail(&txt);
    memcpy(p->expected, graft__buf_head(&txt), p->expected_n);
    p->expected[p->expected_n] = '\0';
    graft__buf_free(&txt);
    return 0;
}

/* The default, converted to the parameter's type (FastAPI never validates defaults, so
 * neither do we: the getters return it as the app would see it). */
int graft__contract_default(graft__param *p, json_t *d, char *why, size_t whylen)
{
    if (!d || json_is_null(d))
        return 0;
    if (p->is_list) {
        if (!json_is_array(d) || json_array_size(d) != 0)
            return graft__contract_unsup(why, whylen, "a list default other than []");
        p->has_default = 1;
        return 0;
    }
    switch (p->type) {
    case GRAFT__T_INT:
    case GRAFT__T_INT_ENUM:
        if (!is_int(d))
            return graft__contract_unsup(why, whylen, "a default that is not an integer");
        p->def_i = json_integer_value(d);
        break;
    case GRAFT__T_NUMBER:
        if (!json_is_number(d))
            return graft__contract_unsup(why, whylen, "a default that is not a number");
        p->def_f = json_number_value(d);
        break;
    case GRAFT__T_BOOL:
        if (!json_is_boolean(d))
            return graft__contract_unsup(why, whylen, "a default that is not a boolean");
        p->def_b = json_is_true(d);
        break;
    default:
        if (!json_is_string(d))
            return graft__contract_unsup(why, whylen, "a default that is not a string");
        if (!(p->def_s = strdup(json_string_value(d))))
            return -ENOMEM;
    }
    p->has_default = 1;
    return 0;
}
