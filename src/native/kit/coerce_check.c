/* Numeric and string constraints (coerce.h). */
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
