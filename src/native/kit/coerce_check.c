/* Numeric and string constraints, UUIDs and enums (coerce.h). */
#include <math.h>
#include <string.h>

#include "coerce.h"
#include "pattern.h"
#include "utf8.h"

int graft__kit_int_check(const graft__kit_int_rules *r, int64_t v)
{
    if (r->has & GRAFT__KIT_MULTIPLE_OF) {
        if (r->multiple_of <= 0)
            return -EINVAL;
        /* v % 1 is 0, and INT64_MIN % -1 cannot arise: the divisor is positive */
        if (v % r->multiple_of != 0)
            return GRAFT__KIT_E_MULTIPLE_OF;
    }
    if ((r->has & GRAFT__KIT_LE) && !(v <= r->le))
        return GRAFT__KIT_E_LESS_THAN_EQUAL;
    if ((r->has & GRAFT__KIT_LT) && !(v < r->lt))
        return GRAFT__KIT_E_LESS_THAN;
    if ((r->has & GRAFT__KIT_GE) && !(v >= r->ge))
        return GRAFT__KIT_E_GREATER_THAN_EQUAL;
    if ((r->has & GRAFT__KIT_GT) && !(v > r->gt))
        return GRAFT__KIT_E_GREATER_THAN;
    return GRAFT__KIT_OK;
}

int graft__kit_float_check(const graft__kit_float_rules *r, double v)
{
    if (r->has & GRAFT__KIT_MULTIPLE_OF) {
        double m = r->multiple_of;
        if (!isfinite(m) || !(m > 0))
            return -EINVAL;
        /* Pydantic's test: v is a multiple when the nearest multiple (v / m rounded half
         * away from zero, times m, both in doubles) is within 1e-9 of it, absolutely. NaN
         * and infinities give NaN, which compares false: they pass, as in Pydantic. */
        double near = round(v / m) * m;
        if (fabs(v - near) > 1e-9)
            return GRAFT__KIT_E_MULTIPLE_OF;
    }
    if ((r->has & GRAFT__KIT_LE) && !(v <= r->le))
        return GRAFT__KIT_E_LESS_THAN_EQUAL;
    if ((r->has & GRAFT__KIT_LT) && !(v < r->lt))
        return GRAFT__KIT_E_LESS_THAN;
    if ((r->has & GRAFT__KIT_GE) && !(v >= r->ge))
        return GRAFT__KIT_E_GREATER_THAN_EQUAL;
    if ((r->has & GRAFT__KIT_GT) && !(v > r->gt))
        return GRAFT__KIT_E_GREATER_THAN;
    return GRAFT__KIT_OK;
}

int graft__kit_str_check(const graft__kit_str_rules *r, const char *s, size_t n)
{
    if (!graft__utf8_valid(s, n))
        return GRAFT__KIT_UNSUPPORTED;
    size_t cps = 0; /* code points: every byte but the continuation bytes starts one */
    for (size_t i = 0; i < n; i++)
        cps += ((unsigned char)s[i] & 0xc0) != 0x80;
    if ((r->has & GRAFT__KIT_MIN_LENGTH) && cps < r->min_length)
        return GRAFT__KIT_E_STRING_TOO_SHORT;
    if ((r->has & GRAFT__KIT_MAX_LENGTH) && cps > r->max_length)
        return GRAFT__KIT_E_STRING_TOO_LONG;
    if (r->has & GRAFT__KIT_PATTERN) {
        /* only a safe subset of Rust's regex is reproduced (pattern.h); the rest declines */
        graft__kit_pattern p;
        if (!r->pattern || graft__kit_pattern_compile(&p, r->pattern) != GRAFT__KIT_OK)
            return GRAFT__KIT_UNSUPPORTED;
        int m = graft__kit_pattern_match(&p, s, n);
        if (m < 0)
            return m;
        return m ? GRAFT__KIT_OK : GRAFT__KIT_E_STRING_PATTERN_MISMATCH;
    }
    return GRAFT__KIT_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 32 hex digits, with hyphens exactly at 8-4-4-4-12 when hyphens is set. */
static int uuid_hex(const char *s, size_t n, int hyphens, uint8_t out[16])
{
    if (n != (hyphens ? 36u : 32u))
        return GRAFT__KIT_UNSUPPORTED;
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (hyphens && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s[i] != '-')
                return GRAFT__KIT_UNSUPPORTED;
            continue;
        }
        int h = hexval(s[i]);
        if (h < 0)
            return GRAFT__KIT_UNSUPPORTED;
        if (k % 2 == 0)
            out[k / 2] = (uint8_t)(h << 4);
        else
            out[k / 2] |= (uint8_t)h;
        k++;
    }
    return GRAFT__KIT_OK;
}

int graft__kit_uuid_from_str(const char *s, size_t n, uint8_t out[16])
{
    /* the forms of Rust's uuid::Uuid::parse_str: simple, hyphenated, {braced}, urn:uuid: */
    if (n == 32)
        return uuid_hex(s, n, 0, out);
    if (n == 36)
        return uuid_hex(s, n, 1, out);
    if (n == 38 && s[0] == '{' && s[37] == '}')
        return uuid_hex(s + 1, 36, 1, out);
    if (n == 45 && memcmp(s, "urn:uuid:", 9) == 0)
        return uuid_hex(s + 9, 36, 1, out);
    return GRAFT__KIT_UNSUPPORTED;
}

int graft__kit_enum_str(const char *const *members, size_t count, const graft__kit_value *in,
                        size_t *index)
{
    if (in->kind != GRAFT__KIT_V_STR)
        return GRAFT__KIT_E_ENUM; /* lax mode turns no number, bool or null into a member */
    for (size_t i = 0; i < count; i++)
        if (strlen(members[i]) == in->n && memcmp(members[i], in->s, in->n) == 0) {
            *index = i;
            return GRAFT__KIT_OK;
        }
    return GRAFT__KIT_E_ENUM;
}

int graft__kit_enum_int(const int64_t *members, size_t count, const graft__kit_value *in,
                        size_t *index)
{
    int64_t v;
    int rc = graft__kit_to_int(in, &v);
    if (rc < 0)
        return rc;
    if (rc != GRAFT__KIT_OK)
        return GRAFT__KIT_E_ENUM;
    for (size_t i = 0; i < count; i++)
        if (members[i] == v) {
            *index = i;
            return GRAFT__KIT_OK;
        }
    return GRAFT__KIT_E_ENUM;
}

const char *graft__kit_err_name(int type)
{
    static const char *const names[GRAFT__KIT_E_COUNT] = {
        [GRAFT__KIT_E_MISSING] = "missing",
        [GRAFT__KIT_E_INT_PARSING] = "int_parsing",
        [GRAFT__KIT_E_INT_FROM_FLOAT] = "int_from_float",
        [GRAFT__KIT_E_FLOAT_PARSING] = "float_parsing",
        [GRAFT__KIT_E_BOOL_PARSING] = "bool_parsing",
        [GRAFT__KIT_E_GREATER_THAN] = "greater_than",
        [GRAFT__KIT_E_GREATER_THAN_EQUAL] = "greater_than_equal",
        [GRAFT__KIT_E_LESS_THAN] = "less_than",
        [GRAFT__KIT_E_LESS_THAN_EQUAL] = "less_than_equal",
        [GRAFT__KIT_E_MULTIPLE_OF] = "multiple_of",
        [GRAFT__KIT_E_STRING_TOO_SHORT] = "string_too_short",
        [GRAFT__KIT_E_STRING_TOO_LONG] = "string_too_long",
        [GRAFT__KIT_E_STRING_PATTERN_MISMATCH] = "string_pattern_mismatch",
        [GRAFT__KIT_E_ENUM] = "enum",
        [GRAFT__KIT_E_STRING_TYPE] = "string_type",
        [GRAFT__KIT_E_INT_TYPE] = "int_type",
        [GRAFT__KIT_E_FLOAT_TYPE] = "float_type",
        [GRAFT__KIT_E_BOOL_TYPE] = "bool_type",
        [GRAFT__KIT_E_MODEL_ATTRIBUTES_TYPE] = "model_attributes_type",
        [GRAFT__KIT_E_LIST_TYPE] = "list_type",
        [GRAFT__KIT_E_TOO_SHORT] = "too_short",
        [GRAFT__KIT_E_TOO_LONG] = "too_long",
        [GRAFT__KIT_E_JSON_INVALID] = "json_invalid",
        [GRAFT__KIT_E_EXTRA_FORBIDDEN] = "extra_forbidden",
    };
    return type > 0 && type < GRAFT__KIT_E_COUNT ? names[type] : NULL;
}
