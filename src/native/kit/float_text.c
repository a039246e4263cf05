/* Float texts (float_text.h): one digit generator, three layouts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_locale.h"
#include "float_text.h"

/* The shortest decimal digits of |v| (finite, non-zero) that read back as v, and the
 * decimal exponent of the first one: |v| ~ d[0].d[1]d[2]... x 10^exp. When the closest
 * string of a length misses v, one a unit away in the last digit may still hit it (the
 * rounding interval is lopsided at powers of two): that one is taken. Returns the count. */
static int shortest_c(double v, char d[20], int *exp)
{
    char t[40];
    v = fabs(v);
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*e", prec - 1, v);
        char *e = strchr(t, 'e');
        int n = 0;
        for (char *p = t; p < e; p++)
            if (*p != '.')
                d[n++] = *p;
        *exp = atoi(e + 1);
        if (strtod(t, NULL) == v)
            return n;
        if (prec == 17)
            break;
        for (int delta = 1; delta >= -1; delta -= 2) {
            char u[20];
            memcpy(u, d, (size_t)n);
            int i = n - 1, carry = delta;
            for (; i >= 0 && carry; i--) {
                int x = u[i] - '0' + carry;
                carry = x > 9 ? 1 : x < 0 ? -1 : 0;
                u[i] = (char)('0' + (x + 10) % 10);
            }
            if (carry || u[0] == '0')
                continue; /* the exponent would change: not a string of this length */
            char w[48];
            snprintf(w, sizeof w, "%c.%.*se%d", u[0], n - 1, u + 1, *exp);
            if (strtod(w, NULL) == v) {
                memcpy(d, u, (size_t)n);
                return n;
            }
        }
    }
    return 17; /* 17 significant digits always read back */
}

/* shortest_c under the C locale, whatever the app set. */
static int shortest(double v, char d[20], int *exp)
{
    locale_t old = graft__kit_c_locale_begin();
    int n = shortest_c(v, d, exp);
    graft__kit_c_locale_end(old);
    return n;
}

/* The digits laid out without exponent: integral values get ".0" when dot0 is set. */
static size_t positional(char *out, int neg, const char *d, int n, int exp, int dot0)
{
    size_t k = 0;
    if (neg)
        out[k++] = '-';
    if (exp < 0) {
        out[k++] = '0';
        out[k++] = '.';
        for (int i = 0; i < -exp - 1; i++)
            out[k++] = '0';
        memcpy(out + k, d, (size_t)n);
        k += (size_t)n;
    } else {
        for (int i = 0; i <= exp; i++)
            out[k++] = i < n ? d[i] : '0';
        if (n > exp + 1) {
            out[k++] = '.';
            memcpy(out + k, d + exp + 1, (size_t)(n - exp - 1));
            k += (size_t)(n - exp - 1);
        } else if (dot0) {
            out[k++] = '.';
            out[k++] = '0';
        }
    }
    out[k] = '\0';
    return k;
}

/* d.ddd, 'e', the exponent's sign and at least pad digits. */
static size_t exponent(char *out, int neg, const char *d, int n, int exp, int pad)
{
    size_t k = 0;
    if (neg)
        out[k++] = '-';
    out[k++] = d[0];
    if (n > 1) {
        out[k++] = '.';
        memcpy(out + k, d + 1, (size_t)(n - 1));
        k += (size_t)(n - 1);
    }
    k += (size_t)snprintf(out + k, GRAFT__KIT_FLOAT_MAX - k, "e%c%0*d", exp < 0 ? '-' : '+', pad,
                          exp < 0 ? -exp : exp);
    return k;
}

/* Copies a literal answer (inf, nan, zero) into out. */
static size_t lit(char *out, const char *s)
{
    size_t n = strlen(s);
    memcpy(out, s, n + 1);
    return n;
}

size_t graft__kit_float_repr(double v, char out[GRAFT__KIT_FLOAT_MAX])
{
    if (isnan(v))
        return lit(out, "nan");
    if (isinf(v))
        return lit(out, v < 0 ? "-inf" : "inf");
    if (v == 0)
        return lit(out, signbit(v) ? "-0.0" : "0.0");
    char d[20];
    int exp, n = shortest(v, d, &exp);
    if (exp >= -4 && exp < 16)
        return positional(out, v < 0, d, n, exp, 1);
    return exponent(out, v < 0, d, n, exp, 2);
}

/* Between two shortest strings equally close to v (its exact decimal expansion is a 5 and
 * then zeros right after the n digits), Rust's Display takes the one away from zero, where
 * Python's repr (and printf) take the even one: moves d up a unit in that case. The exact
 * expansion of a double has at most 767 significant digits. */
static void tie_away(double v, char d[20], int n, int *exp)
{
    char big[800];
    locale_t old = graft__kit_c_locale_begin();
    snprintf(big, sizeof big, "%.780e", fabs(v));
    char u[20];
    memcpy(u, d, (size_t)n);
    int x = *exp, tie = 0;
    /* the digits of big: big[0], then big[2..] after the point */
    const char *rest = big + 1 + n; /* big[1] is the '.', so digit k (k >= 1) is big[k + 1] */
    if (atoi(strchr(big, 'e') + 1) == *exp && big[0] == d[0] && memcmp(big + 2, d + 1, (size_t)n - 1) == 0 &&
        rest[0] == '5') {
        tie = 1;
        for (const char *p = rest + 1; *p != 'e'; p++)
            if (*p != '0')
                tie = 0;
    }
    if (tie) {
        int i = n - 1, carry = 1;
        for (; i >= 0 && carry; i--) {
            int dig = u[i] - '0' + 1;
            carry = dig > 9;
            u[i] = (char)('0' + dig % 10);
        }
        /* a carry out of the first digit (9.5 -> 10) would make a shorter string, which
         * shortest() would have found: not a case that arises, left as it is */
        char w[48];
        snprintf(w, sizeof w, "%c.%.*se%d", u[0], n - 1, u + 1, x);
        if (!carry && strtod(w, NULL) == fabs(v)) {
            memcpy(d, u, (size_t)n);
            *exp = x;
        }
    }
    graft__kit_c_locale_end(old);
}

size_t graft__kit_float_display(double v, char out[GRAFT__KIT_FLOAT_MAX])
{
    if (isnan(v))
        return lit(out, "NaN");
    if (isinf(v))
        return lit(out, v < 0 ? "-inf" : "inf");
    if (v == 0)
        return lit(out, signbit(v) ? "-0" : "0");
    char d[20];
    int exp, n = shortest(v, d, &exp);
    tie_away(v, d, n, &exp);
    return positional(out, v < 0, d, n, exp, 0);
}

size_t graft__kit_float_json(double v, char out[GRAFT__KIT_FLOAT_MAX])
{
    if (isnan(v))
        return lit(out, "NaN");
    if (isinf(v))
        return lit(out, v < 0 ? "-Infinity" : "Infinity");
    if (v == 0)
        return lit(out, signbit(v) ? "-0.0" : "0.0");
    char d[20];
    int exp, n = shortest(v, d, &exp);
    if (exp >= -5 && exp < 16)
        return positional(out, v < 0, d, n, exp, 1);
    return exponent(out, v < 0, d, n, exp, 1);
}
