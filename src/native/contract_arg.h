/* The typed values graft_validate keeps per request for the graft_arg_* getters. */
#ifndef GRAFT__CONTRACT_ARG_H
#define GRAFT__CONTRACT_ARG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "contract.h"
#include "kit/errors.h"

/* One scalar: the field its type uses (i for int and int enum, f, b; s/n for every type: the
 * text as given, NUL-terminated). An int beyond int64 on a GRAFT_ROUTE_WIDE_INT route: wide
 * 1 above, -1 below, i saturated, and its canonical text (malloc'd, text_n bytes). */
typedef struct graft__arg_val {
    int64_t i;
    double f;
    int b;
    const char *s;
    size_t n;
    int wide;
    char *text;
    size_t text_n;
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
    int status; /* 0: the 422 of the entries; else body holds the whole answer (FastAPI's 400) */
    int fails; /* an error quotes NaN, an infinity or bytes that are not UTF-8: FastAPI fails
                * writing its 422 (json.dumps(allow_nan=False), bytes.decode()) and answers 500 */
    int wide_int; /* the route takes ints beyond int64 (GRAFT_ROUTE_WIDE_INT) */
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

/* contract_body_check.c. Checks the request's JSON body against b, appending its entries to
 * v after the parameters' (FastAPI's order); the parsed body is kept in gr for the getters. */
struct graft_request;
struct graft__bnode;
int graft__contract_check_body(graft__vstate *v, struct graft_request *gr, const struct graft__bnode *b);
/* One JSON scalar j coerced and checked as p (int, float, bool, str, uuid, date-time, enum)
 * into out; an invalid one fills e (type, input, ctx). Returns as the kit's functions. */
struct json_t;
int graft__body_scalar(const graft__param *p, struct json_t *j, graft__arg_val *out, graft__kit_error *e);
/* contract_body_value.c. j as FastAPI writes an error's input (json.dumps, floats as repr);
 * the nesting of j (1 for a scalar; counted no further than limit + 1); the kit's view of j
 * (an array or object: GRAFT__KIT_V_RAW without its text, which graft__body_dump writes). */
int graft__body_dump(graft__buf *b, struct json_t *j);
int graft__body_depth(struct json_t *j, int limit);
graft__kit_value graft__body_kit_value(struct json_t *j);
/* contract_body_bigint.c (graft-serve). A body Python reads but Jansson refused, parsed again
 * with each integer beyond int64 and each non-finite float (NaN, Infinity, -Infinity, 1e400)
 * as a marker string (duplicate keys: the last value wins); NULL when the body cannot be read so. */
struct json_t *graft__body_bigint_doc(const char *body, size_t n);
/* Whether j is a marker (0, or one of these) and its token's text (n bytes). */
enum { GRAFT__BODY_BIGINT = 1, GRAFT__BODY_NONFINITE = 2 };
int graft__body_marker(struct json_t *j, const char **text, size_t *n);
/* A non-finite marker's value as Python's json made it (nan, inf, -inf). */
double graft__body_nonfinite_value(const char *text);
/* 1 when j holds a non-finite marker anywhere (an error quoting it makes FastAPI answer 500). */
int graft__body_has_nonfinite(struct json_t *j);
/* The bound of p that a failed constraint (error type) names, as the error's ctx wants it. */
graft__kit_value graft__contract_bound(const graft__param *p, int type);

#endif
