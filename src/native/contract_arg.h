/* The typed values graft_validate keeps per request for the graft_arg_* getters. */
#ifndef GRAFT__CONTRACT_ARG_H
#define GRAFT__CONTRACT_ARG_H

#include <stddef.h>
#include <stdint.h>

#include "contract.h"

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

#endif
