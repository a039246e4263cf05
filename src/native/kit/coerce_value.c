/* Lax coercion from any input kind (coerce.h): JSON scalars as json.loads gives them, and
 * strings through the string rules of coerce.c. */
#include <math.h>

#include "coerce.h"

int graft__kit_to_int(const graft__kit_value *in, int64_t *out)
{
    switch (in->kind) {
    case GRAFT__KIT_V_BOOL:
        *out = in->b != 0;
        return GRAFT__KIT_OK;
    case GRAFT__KIT_V_INT:
        *out = in->i;
        return GRAFT__KIT_OK;
    case GRAFT__KIT_V_FLOAT:
        /* non-finite: finite_number, whose input json.dumps cannot write (FastAPI fails);
         * at or past +-2^63: int_parsing_size. Neither is reproduced. */
        if (!isfinite(in->f) || in->f >= 0x1p63 || in->f <= -0x1p63)
            return GRAFT__KIT_UNSUPPORTED;
        if (in->f != trunc(in->f))
            return GRAFT__KIT_E_INT_FROM_FLOAT;
        *out = (int64_t)in->f;
        return GRAFT__KIT_OK;
    case GRAFT__KIT_V_STR:
        return graft__kit_int_from_str(in->s, in->n, out);
    default:
        return GRAFT__KIT_E_INT_TYPE;
    }
}

int graft__kit_to_float(const graft__kit_value *in, double *out)
{
    switch (in->kind) {
    case GRAFT__KIT_V_BOOL:
        *out = in->b ? 1.0 : 0.0;
        return GRAFT__KIT_OK;
    case GRAFT__KIT_V_INT:
        *out = (double)in->i; /* rounds to nearest, ties to even, as Python's int->float */
        return GRAFT__KIT_OK;
    case GRAFT__KIT_V_FLOAT:
        *out = in->f;
        return GRAFT__KIT_OK;
    case GRAFT__KIT_V_STR:
        return graft__kit_float_from_str(in->s, in->n, out);
    default:
        return GRAFT__KIT_E_FLOAT_TYPE;
    }
}

int graft__kit_to_bool(const graft__kit_value *in, int *out)
{
    switch (in->kind) {
    case GRAFT__KIT_V_BOOL:
        *out = in->b != 0;
        return GRAFT__KIT_OK;
    case GRAFT__KIT_V_INT:
        if (in->i != 0 && in->i != 1)
            return GRAFT__KIT_E_BOOL_PARSING;
        *out = in->i == 1;
        return GRAFT__KIT_OK;
    case GRAFT__KIT_V_FLOAT:
        /* a float that is an int (in int64, as for int) is judged as that int */
        if (in->f != 0.0 && in->f != 1.0)
            return isfinite(in->f) && in->f == trunc(in->f) && in->f < 0x1p63 && in->f > -0x1p63
                       ? GRAFT__KIT_E_BOOL_PARSING
                       : GRAFT__KIT_E_BOOL_TYPE;
        *out = in->f == 1.0;
        return GRAFT__KIT_OK;
    case GRAFT__KIT_V_STR:
        return graft__kit_bool_from_str(in->s, in->n, out);
    default:
        return GRAFT__KIT_E_BOOL_TYPE;
    }
}

int graft__kit_to_str(const graft__kit_value *in, const char **s, size_t *n)
{
    if (in->kind != GRAFT__KIT_V_STR)
        return GRAFT__KIT_E_STRING_TYPE;
    *s = in->s;
    *n = in->n;
    return GRAFT__KIT_OK;
}
