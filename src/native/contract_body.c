/* requestBody → a body schema tree (contract_body.h): FastAPI's JSON forms for a Pydantic
 * model body: an object through $ref, its properties in declaration order, required,
 * additionalProperties false (extra="forbid"), nested models, lists with items and
 * minItems/maxItems, anyOf [X, null], enums through $ref, scalars as for parameters. Anything
 * else is named as unsupported rather than guessed at. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract_body.h"

/* Work bound shared by one body's walk: nodes made so far. */
typedef struct walk {
    json_t *doc;
    size_t nodes;
    char *why;
    size_t whylen;
} walk;

static int node(walk *w, graft__bnode *b, json_t *s, int depth);

/* Only these keywords (and annotations) may sit beside what a node kind uses. */
static int only(walk *w, json_t *s, const char *const *ok, const char *what)
{
    const char *k;
    json_t *v;
    json_object_foreach(s, k, v) {
        int fine = graft__contract_is_annotation(k);
        for (size_t i = 0; ok[i] && !fine; i++)
            fine = strcmp(k, ok[i]) == 0;
        if (!fine)
            return graft__contract_unsup(w->why, w->whylen, "schema keyword %s on %s", k, what);
    }
    return 0;
}

static int object(walk *w, graft__bnode *b, json_t *s, int depth)
{
    static const char *const ok[] = {"type", "properties", "required", "additionalProperties", NULL};
    int rc = only(w, s, ok, "an object");
    if (rc)
        return rc;
    json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    json_t *ap = json_object_get(s, "additionalProperties");
    if ((props && !json_is_object(props)) || (req && !json_is_array(req)) || (ap && !json_is_boolean(ap)))
        return graft__contract_unsup(w->why, w->whylen, "a malformed object schema");
    b->kind = GRAFT__B_OBJECT;
    b->forbid_extra = ap && json_is_false(ap); /* true (extra="allow") validates as ignore */
    size_t n = json_object_size(props);
    if (n && !(b->fields = calloc(n, sizeof *b->fields)))
        return -ENOMEM;
    const char *k;
    json_t *v;
    /* Jansson keeps the document's key order: FastAPI writes fields in declaration order,
     * the order Pydantic validates and reports them in. */
    json_object_foreach(props, k, v) {
        graft__bfield *f = &b->fields[b->nfields++];
        if (strchr(k, '.'))
            return graft__contract_unsup(w->why, w->whylen, "field %s: a name with '.' (getter paths)", k);
        if (!(f->name = strdup(k)))
            return -ENOMEM;
        for (size_t i = 0; i < json_array_size(req); i++)
            if (json_is_string(json_array_get(req, i)) && strcmp(json_string_value(json_array_get(req, i)), k) == 0)
                f->required = 1;
        if ((rc = node(w, &f->node, v, depth + 1)) != 0) {
            if (rc > 0) { /* name the field: the path, outermost first */
                char inner[300];
                snprintf(inner, sizeof inner, "%s", w->why);
                snprintf(w->why, w->whylen, "field %s: %s", k, inner);
            }
            return rc;
        }
    }
    return 0;
}

static int list(walk *w, graft__bnode *b, json_t *s, int depth)
{
    static const char *const ok[] = {"type", "items", "minItems", "maxItems", "default", NULL};
    int rc = only(w, s, ok, "a list");
    if (rc)
        return rc;
    json_t *items = json_object_get(s, "items"), *mn = json_object_get(s, "minItems"),
           *mx = json_object_get(s, "maxItems"), *def = json_object_get(s, "default");
    if (!json_is_object(items))
        return graft__contract_unsup(w->why, w->whylen, "a list without items");
    if ((mn && (!json_is_integer(mn) || json_integer_value(mn) < 0)) ||
        (mx && (!json_is_integer(mx) || json_integer_value(mx) < 0)))
        return graft__contract_unsup(w->why, w->whylen, "minItems/maxItems that are not counts");
    if (def && !json_is_null(def) && !(json_is_array(def) && json_array_size(def) == 0))
        return graft__contract_unsup(w->why, w->whylen, "a list default other than []");
    b->kind = GRAFT__B_LIST;
    b->list_default = def && json_is_array(def);
    b->has_min = mn != NULL;
    b->min_items = mn ? (size_t)json_integer_value(mn) : 0;
    b->has_max = mx != NULL;
    b->max_items = mx ? (size_t)json_integer_value(mx) : 0;
    if (!(b->items = calloc(1, sizeof *b->items)))
        return -ENOMEM;
    if (json_object_get(items, "default"))
        return graft__contract_unsup(w->why, w->whylen, "defaulted list items");
    return node(w, b->items, items, depth + 1);
}

static int node(walk *w, graft__bnode *b, json_t *s, int depth)
{
    if (depth > GRAFT__BODY_MAX_DEPTH || ++w->nodes > GRAFT__BODY_MAX_NODES)
        return graft__contract_unsup(w->why, w->whylen, "a body schema deeper than %d or over %d nodes "
                                     "(a recursive model?)", GRAFT__BODY_MAX_DEPTH, GRAFT__BODY_MAX_NODES);
    if (!json_is_object(s))
        return graft__contract_unsup(w->why, w->whylen, "a schema that is not an object");
    json_t *def = json_object_get(s, "default");
    json_t *any = json_object_get(s, "anyOf");
    if (any) { /* Optional[X]: anyOf [X, {"type": "null"}] */
        json_t *a = json_array_get(any, 0), *c = json_array_get(any, 1);
        if (json_array_size(any) != 2)
            return graft__contract_unsup(w->why, w->whylen, "anyOf other than [X, null]");
        if (graft__contract_is_null(a))
            a = c, c = json_array_get(any, 0);
        if (!graft__contract_is_null(c) || graft__contract_is_null(a))
            return graft__contract_unsup(w->why, w->whylen, "anyOf other than [X, null]");
        static const char *const ok[] = {"anyOf", "default", NULL};
        int rc = only(w, s, ok, "an Optional");
        if (rc)
            return rc;
        if (json_object_get(a, "default") || json_object_get(a, "anyOf"))
            return graft__contract_unsup(w->why, w->whylen, "a default or anyOf inside anyOf");
        b->nullable = 1;
        if (def && !json_is_null(def)) { /* the default of the whole Optional: scalars only */
            json_t *copy = json_deep_copy(a);
            if (!copy || json_object_set(copy, "default", def) < 0) {
                json_decref(copy);
                return -ENOMEM;
            }
            rc = node(w, b, copy, depth);
            json_decref(copy);
            return rc;
        }
        s = a;
    }
    json_t *ref = json_object_get(s, "$ref");
    if (ref) {
        json_t *target = json_is_string(ref) ? graft__contract_resolve_ref(w->doc, json_string_value(ref)) : NULL;
        if (!target)
            return graft__contract_unsup(w->why, w->whylen, "$ref %s", json_is_string(ref) ? json_string_value(ref) : "?");
        const char *t = json_string_value(json_object_get(target, "type"));
        if (t && strcmp(t, "object") == 0) { /* a nested model */
            static const char *const ok[] = {"$ref", NULL};
            int rc = only(w, s, ok, "a model reference");
            return rc ? rc : object(w, b, target, depth);
        }
    } else {
        const char *t = json_string_value(json_object_get(s, "type"));
        if (t && strcmp(t, "object") == 0)
            return object(w, b, s, depth);
        if (t && strcmp(t, "array") == 0)
            return list(w, b, s, depth);
    }
    b->kind = GRAFT__B_SCALAR;
    b->scalar.body_field = 1;
    int rc = graft__contract_scalar(&b->scalar, w->doc, s, w->why, w->whylen);
    return rc ? rc : graft__contract_default(&b->scalar, def, w->why, w->whylen);
}

int graft__contract_body(graft__bnode **out, json_t *rb, json_t *doc, char *why, size_t whylen)
{
    walk w = {doc, 0, why, whylen};
    *out = NULL;
    json_t *content = json_object_get(rb, "content");
    json_t *mt = json_object_get(content, "application/json");
    if (json_object_get(rb, "$ref"))
        return graft__contract_unsup(why, whylen, "a requestBody given as $ref");
    if (!json_is_object(mt) || json_object_size(content) != 1)
        return graft__contract_unsup(why, whylen, "a request body other than application/json alone (forms, files)");
    if (!json_is_true(json_object_get(rb, "required")))
        return graft__contract_unsup(why, whylen, "an optional request body");
    if (!(*out = calloc(1, sizeof **out)))
        return -ENOMEM;
    json_t *s = json_object_get(mt, "schema");
    int rc = node(&w, *out, s, 1);
    if (rc == 0 && ((*out)->kind != GRAFT__B_OBJECT || (*out)->nullable))
        rc = graft__contract_unsup(why, whylen, "a request body that is not a model (an object)");
    /* FastAPI names the wrapper of embedded body parameters Body_<operation id> */
    const char *ref = json_string_value(json_object_get(s, "$ref"));
    static const char body_ref[] = "#/components/schemas/Body_";
    if (rc == 0 && ref && strncmp(ref, body_ref, sizeof body_ref - 1) == 0)
        (*out)->embed = 1;
    return rc;
}

static void free_node(graft__bnode *b)
{
    graft__contract_param_free(&b->scalar);
    for (size_t i = 0; i < b->nfields; i++) {
        free(b->fields[i].name);
        free_node(&b->fields[i].node);
    }
    free(b->fields);
    if (b->items) {
        free_node(b->items);
        free(b->items);
    }
}

void graft__contract_body_free(graft__bnode *b)
{
    if (!b)
        return;
    free_node(b);
    free(b);
}
