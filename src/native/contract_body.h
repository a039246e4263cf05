/* A route contract's request body: the JSON schema of requestBody.content["application/json"]
 * resolved at start-up into a tree of nodes (objects with their fields in declaration order,
 * lists, scalars reusing graft__param's rules), walked per request against the Jansson-parsed
 * body (contract_body_check.c) and by the graft_body_* getters (contract_body_args.c). */
#ifndef GRAFT__CONTRACT_BODY_H
#define GRAFT__CONTRACT_BODY_H

#include <stddef.h>

#include "contract.h"

/* Nesting of the schema (objects and lists) and of an accepted body, at most: deeper schemas
 * are unsupported, deeper bodies declined (bounded recursion in both walks). */
#define GRAFT__BODY_MAX_DEPTH 16
/* Nodes per body schema, at most (a recursive model would never end). */
#define GRAFT__BODY_MAX_NODES 256

enum graft__bnode_kind { GRAFT__B_SCALAR, GRAFT__B_OBJECT, GRAFT__B_LIST };

struct graft__bfield;

/* One schema node: a scalar (its type and rules in `scalar`, as a parameter's), an object
 * (fields in declaration order; extra keys forbidden or ignored) or a list of `items`. */
typedef struct graft__bnode {
    int kind;     /* enum graft__bnode_kind */
    int nullable; /* anyOf [X, null]: null is None */
    graft__param scalar;
    struct graft__bfield *fields;
    size_t nfields;
    int forbid_extra; /* additionalProperties: false (extra="forbid") */
    struct graft__bnode *items;
    int has_min, has_max;
    size_t min_items, max_items;
    int list_default; /* a list field defaulting to [] */
    /* The root of an embedded body (Body(embed=True), or several body parameters): FastAPI's
     * own wrapper "Body_<operation>", not a model. FastAPI reads each field from the body
     * itself: a missing one (or a body that is no object) is "missing" with input null, and
     * extra keys are ignored. */
    int embed;
} graft__bnode;

/* One field of an object: its name (the alias), whether absent is "missing", its schema. */
typedef struct graft__bfield {
    char *name;
    int required;
    graft__bnode node;
} graft__bfield;

/* contract_body.c: the requestBody rb of an operation into *out (allocated). Returns 0; 1
 * when it uses a construct the kit does not reproduce (named in why); -ENOMEM. */
struct json_t;
int graft__contract_body(graft__bnode **out, struct json_t *rb, struct json_t *doc, char *why,
                         size_t whylen);
/* Frees a body schema tree (NULL is fine). */
void graft__contract_body_free(graft__bnode *b);

#endif
