/* The typed values graft_validate keeps per request for the graft_arg_* getters. */
#ifndef GRAFT__CONTRACT_ARG_H
#define GRAFT__CONTRACT_ARG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "contract.h"
#include "kit/errors.h"

/* One scalar: the field its type uses (i for int and int enum, f, b; s/n for every type: the
 * text as given, NUL-terminated). */
typedef struct graft__arg_val {
    int64_t i;
    double f;
    int b;
    const char *s;
    size_t n;
} graft__arg_val;

/* One parameter's value: has (given, or a non-null default); a scalar in one, a list's items
 * in items (count of them). own: copies this parameter's strings live in (header, cookie). */
struct graft__arg {
    const graft__param *p;
    int has;
    graft__arg_val one;
    graft__arg_val *items;
    size_t count;
    char *own;
};
typedef struct graft__arg graft__arg;

/* Where the 422's entries go, and whether one input could not be reproduced. */
typedef struct graft__vstate {
    graft__buf body;
    size_t nerr;
    int unsupported;
    int has_app;
} graft__vstate;

/* contract_value.c. Each returns 0 or a negative code. */
/* Appends e (its loc set here: [in, name] and, for index >= 0, the list index). */
int graft__contract_error(graft__vstate *v, const graft__param *p, int64_t index, graft__kit_error *e);
/* A value the kit cannot judge exactly: marks v unsupported (graft declines), or under
 * graft-serve appends a graft_unsupported entry quoting the value (s, n bytes). */
int graft__contract_unsupported(graft__vstate *v, const graft__param *p, int64_t index, const char *s,
                                size_t n);
/* Coerces and checks the value s (n bytes, NUL-terminated) of p into out; an invalid one is
 * appended as an error. */
int graft__contract_value(graft__vstate *v, const graft__param *p, int64_t index, const char *s,
                          size_t n, graft__arg_val *out);

#endif
