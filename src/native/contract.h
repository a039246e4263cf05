/* Route contracts: the parameters (path, query, header, cookie) each native route takes
 * from the app's OpenAPI document, resolved once at start-up into a compact form that
 * graft_validate walks per request (contract_validate.c). docs/KIT.md has the rules. */
#ifndef GRAFT__CONTRACT_H
#define GRAFT__CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "kit/coerce.h"

/* Parameters per route, at most: a route with more is unsupported (bounded per-request work). */
#define GRAFT__CONTRACT_MAX_PARAMS 32

enum graft__param_in { GRAFT__IN_PATH, GRAFT__IN_QUERY, GRAFT__IN_HEADER, GRAFT__IN_COOKIE };

enum graft__param_type {
    GRAFT__T_INT,
    GRAFT__T_NUMBER,
    GRAFT__T_BOOL,
    GRAFT__T_STR,
    GRAFT__T_UUID,
    GRAFT__T_DATETIME,
    GRAFT__T_STR_ENUM,
    GRAFT__T_INT_ENUM,
};

/* One declared parameter: its scalar type (of the items, for a list) and rules. */
typedef struct graft__param {
    char *name;   /* the name in the document (FastAPI's alias: "x-token" for a header) */
    int in;       /* enum graft__param_in */
    int type;     /* enum graft__param_type */
    int required; /* absent → "missing" */
    int is_list;  /* a query list (repeated keys) */
    int pos;      /* path parameters: which capture of the template */
    int has_default; /* a non-null default (for a list: the empty list) */
    /* A body field: FastAPI's document writes a model's integer bounds as floats (ge=0 is
     * "minimum": 0.0); Pydantic makes an int field's bounds ints (ge=1.0 reports "ge": 1),
     * so integral float bounds are read as integers. */
    int body_field;
    /* A body number field with allow_inf_nan=False ("x-graft-allow-inf-nan": false, written
     * by graft openapi): a non-finite value is finite_number, checked before the bounds. */
    int finite;
    int64_t def_i;
    double def_f;
    int def_b;
    char *def_s; /* string / uuid / date-time / str-enum defaults */
    graft__kit_int_rules irules;
    graft__kit_float_rules frules;
    graft__kit_str_rules srules; /* srules.pattern points into `pattern` */
    char *pattern;
    char **members;     /* str enum */
    int64_t *imembers;  /* int enum */
    size_t nmembers;
    char *expected; /* the enum's "expected" text, built once */
    size_t expected_n;
} graft__param;

/* The contract of one operation (method + path template). */
typedef struct graft__contract {
    char *method;   /* upper case */
    char *template; /* as in the document */
    graft__param params[GRAFT__CONTRACT_MAX_PARAMS];
    size_t nparams;
    /* Set when the operation uses a construct the kit does not reproduce: the message names
     * the parameter and the construct, and graft_validate declines (graft) or graft-serve
     * refuses to start. */
    char *unsupported;
    /* The JSON request body's schema (contract_body.h), NULL when the operation has none. */
    struct graft__bnode *body;
} graft__contract;

/* Every operation of a document. */
typedef struct graft__contracts {
    graft__contract *ops;
    size_t n;
    /* The versions the document's "x-graft" names (`graft openapi`), or NULL. */
    char *fastapi, *pydantic;
} graft__contracts;

/* The FastAPI and Pydantic releases the kit reproduces (prefixes of their versions). */
#define GRAFT__KIT_FASTAPI "0.165."
#define GRAFT__KIT_PYDANTIC "2.14."

/* Parses an OpenAPI 3.x document (JSON text). Returns 0 with *out set, or a negative code
 * with a message in err (not JSON, no "paths" object, out of memory). */
int graft__contracts_parse(const char *json, size_t len, graft__contracts **out, char *err,
                           size_t errlen);
/* The operation with this method and a template equal to `template` once parameter names
 * and converters are ignored ("/items/{id}" is "/items/{item_id:int}"); NULL if none. */
const graft__contract *graft__contracts_find(const graft__contracts *c, const char *method,
                                             const char *template);
void graft__contracts_free(graft__contracts *c);

#endif

/* contract_schema.c: fills p from one entry of an operation's "parameters" (doc: the whole
 * document, for $ref; tmpl: the operation's path template, for a path parameter's position).
 * Returns 0; 1 when the parameter uses a construct the kit does not reproduce, with the
 * construct named in why; -ENOMEM. */
struct json_t;
int graft__contract_param(graft__param *p, struct json_t *param, struct json_t *doc,
                          const char *tmpl, char *why, size_t whylen);
/* contract_rules.c, for contract_schema.c. Each returns 0, 1 (unsupported: the construct
 * named in why) or -ENOMEM. graft__contract_unsup writes why and returns 1. */
int graft__contract_unsup(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The numeric bounds of schema s into p's int or float rules (p->type set). */
int graft__contract_bounds(graft__param *p, struct json_t *s, char *why, size_t whylen);
/* The enum of the component schema s: p becomes a str or int enum, its "expected" text built. */
int graft__contract_enum(graft__param *p, struct json_t *s, char *why, size_t whylen);
/* The default d (NULL or null: none), converted to p's type (FastAPI never validates it). */
int graft__contract_default(graft__param *p, struct json_t *d, char *why, size_t whylen);
/* contract_schema.c, shared with the body schema (contract_body.c): the component schema a
 * "#/components/schemas/X" reference names (NULL for others); whether keyword k changes no
 * validation (title, description, ...); whether s is {"type": "null"}; one scalar schema s
 * (a $ref to an enum included) into p's type and rules (0, 1 unsupported, -ENOMEM). */
struct json_t *graft__contract_resolve_ref(struct json_t *doc, const char *ref);
int graft__contract_is_annotation(const char *k);
int graft__contract_is_null(struct json_t *s);
int graft__contract_scalar(graft__param *p, struct json_t *doc, struct json_t *s, char *why,
                           size_t whylen);
/* Frees what graft__contract_param allocated in p. */
void graft__contract_param_free(graft__param *p);
