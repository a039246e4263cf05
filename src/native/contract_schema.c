/* One OpenAPI parameter → a graft__param: the schema forms FastAPI 0.165 writes for path,
 * query, header and cookie parameters (and the same forms in a hand-written document).
 * Anything else is named as unsupported rather than guessed at: a route whose contract the
 * kit reproduces only approximately would answer differently from the app. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "kit/errors.h"
#include "kit/pattern.h"

/* "#/components/schemas/X" → that schema; NULL for any other reference. */
json_t *graft__contract_resolve_ref(json_t *doc, const char *ref)
{
    static const char prefix[] = "#/components/schemas/";
    if (strncmp(ref, prefix, sizeof prefix - 1) != 0 || strchr(ref + sizeof prefix - 1, '/'))
        return NULL;
    return json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                           ref + sizeof prefix - 1);
}

/* Keywords that do not change validation (documentation and FastAPI's own annotations). */
int graft__contract_is_annotation(const char *k)
{
    static const char *const ok[] = {"title", "description", "examples", "example", "deprecated",
                                     "readOnly", "writeOnly", "$comment", NULL};
    for (size_t i = 0; ok[i]; i++)
        if (strcmp(k, ok[i]) == 0)
            return 1;
    return 0;
}

/* The scalar schema s (the items of a list, or the parameter itself). */
int graft__contract_scalar(graft__param *p, json_t *doc, json_t *s, char *why, size_t whylen)
{
    int from_ref = 0;
    json_t *ref = json_object_get(s, "$ref");
    if (ref) {
        const char *rk;
        json_t *rv;
        json_object_foreach(s, rk, rv) {
            if (strcmp(rk, "$ref") != 0 && strcmp(rk, "default") != 0 && !graft__contract_is_annotation(rk))
                return graft__contract_unsup(why, whylen, "$ref with the sibling keyword %s", rk);
        }
        if (!json_is_string(ref) || !(s = graft__contract_resolve_ref(doc, json_string_value(ref))))
            return graft__contract_unsup(why, whylen, "$ref %s", json_is_string(ref) ? json_string_value(ref) : "?");
        from_ref = 1;
    }
    const char *t = json_string_value(json_object_get(s, "type"));
    if (!t)
        return graft__contract_unsup(why, whylen, "a schema without a single type");
    if (strcmp(t, "integer") == 0)
        p->type = GRAFT__T_INT;
    else if (strcmp(t, "number") == 0)
        p->type = GRAFT__T_NUMBER;
    else if (strcmp(t, "boolean") == 0)
        p->type = GRAFT__T_BOOL;
    else if (strcmp(t, "string") == 0)
        p->type = GRAFT__T_STR;
    else
        return graft__contract_unsup(why, whylen, "type %s", t);
    const char *k;
    json_t *v;
    int rc;
    json_object_foreach(s, k, v) {
        if (graft__contract_is_annotation(k) || strcmp(k, "type") == 0 || strcmp(k, "default") == 0)
            continue;
        if (strcmp(k, "enum") == 0) {
            if (!from_ref)
                return graft__contract_unsup(why, whylen, "an inline enum (a Literal: literal_error)");
            if ((rc = graft__contract_enum(p, s, why, whylen)) != 0)
                return rc;
        } else if (strcmp(k, "x-graft-allow-inf-nan") == 0 && p->type == GRAFT__T_NUMBER && p->body_field &&
                   json_is_boolean(v)) {
            p->finite = json_is_false(v);
        } else if (strstr(k, "imum") || strcmp(k, "multipleOf") == 0) {
            continue; /* graft__contract_bounds() below */
        } else if (p->type == GRAFT__T_STR && (strcmp(k, "minLength") == 0 || strcmp(k, "maxLength") == 0)) {
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return graft__contract_unsup(why, whylen, "%s that is not a count", k);
            if (k[1] == 'i') {
                p->srules.has |= GRAFT__KIT_MIN_LENGTH;
                p->srules.min_length = (size_t)json_integer_value(v);
            } else {
                p->srules.has |= GRAFT__KIT_MAX_LENGTH;
                p->srules.max_length = (size_t)json_integer_value(v);
            }
        } else if (p->type == GRAFT__T_STR && strcmp(k, "pattern") == 0 && json_is_string(v)) {
            graft__kit_pattern pat;
            if (graft__kit_pattern_compile(&pat, json_string_value(v)) != GRAFT__KIT_OK)
                return graft__contract_unsup(why, whylen, "pattern %s (outside the kit's subset)", json_string_value(v));
            if (!(p->pattern = strdup(json_string_value(v))))
                return -ENOMEM;
            p->srules.has |= GRAFT__KIT_PATTERN;
            p->srules.pattern = p->pattern;
        } else if (p->type == GRAFT__T_STR && strcmp(k, "format") == 0 && json_is_string(v)) {
            const char *f = json_string_value(v);
            if (strcmp(f, "uuid") == 0)
                p->type = GRAFT__T_UUID;
            else if (strcmp(f, "date-time") == 0)
                p->type = GRAFT__T_DATETIME;
            else
                return graft__contract_unsup(why, whylen, "format %s", f);
        } else {
            return graft__contract_unsup(why, whylen, "schema keyword %s on type %s", k, t);
        }
    }
    if ((p->type == GRAFT__T_UUID || p->type == GRAFT__T_DATETIME || p->type == GRAFT__T_STR_ENUM) &&
        p->srules.has)
        return graft__contract_unsup(why, whylen, "length or pattern constraints on a uuid, date-time or enum");
    if (p->type == GRAFT__T_INT_ENUM && (json_object_get(s, "minimum") || json_object_get(s, "maximum")))
        return graft__contract_unsup(why, whylen, "bounds on an enum");
    return graft__contract_bounds(p, s, why, whylen);
}

/* Which capture of tmpl is {name} (or {name:converter}); -1 if none. */
static int path_pos(const char *tmpl, const char *name)
{
    int pos = 0;
    size_t nl = strlen(name);
    for (const char *c = strchr(tmpl, '{'); c; c = strchr(c + 1, '{'), pos++)
        if (strncmp(c + 1, name, nl) == 0 && (c[1 + nl] == '}' || c[1 + nl] == ':'))
            return pos;
    return -1;
}

/* {"type": "null"}, the None half of Optional[X]. */
int graft__contract_is_null(json_t *s)
{
    const char *t = json_string_value(json_object_get(s, "type"));
    return json_object_size(s) == 1 && t && strcmp(t, "null") == 0;
}

static int schema(graft__param *p, json_t *doc, json_t *s, char *why, size_t whylen)
{
    json_t *def = json_object_get(s, "default");
    json_t *any = json_object_get(s, "anyOf");
    if (any) { /* Optional[X]: anyOf [X, {"type": "null"}] */
        json_t *a = json_array_get(any, 0), *b = json_array_get(any, 1);
        if (json_array_size(any) != 2)
            return graft__contract_unsup(why, whylen, "anyOf other than [X, null]");
        if (graft__contract_is_null(a))
            a = b, b = json_array_get(any, 0);
        if (!graft__contract_is_null(b))
            return graft__contract_unsup(why, whylen, "anyOf other than [X, null]");
        const char *k;
        json_t *v;
        json_object_foreach(s, k, v) {
            if (strcmp(k, "anyOf") != 0 && strcmp(k, "default") != 0 && !graft__contract_is_annotation(k))
                return graft__contract_unsup(why, whylen, "schema keyword %s beside anyOf", k);
        }
        s = a;
        if (json_object_get(s, "default"))
            return graft__contract_unsup(why, whylen, "a default inside anyOf");
    }
    const char *t = json_string_value(json_object_get(s, "type"));
    int rc;
    if (t && strcmp(t, "array") == 0) {
        if (p->in != GRAFT__IN_QUERY)
            return graft__contract_unsup(why, whylen, "a list outside the query");
        const char *k;
        json_t *v;
        json_object_foreach(s, k, v) {
            if (strcmp(k, "type") != 0 && strcmp(k, "items") != 0 && strcmp(k, "default") != 0 &&
                !graft__contract_is_annotation(k))
                return graft__contract_unsup(why, whylen, "schema keyword %s on a list", k);
        }
        json_t *items = json_object_get(s, "items");
        if (!json_is_object(items))
            return graft__contract_unsup(why, whylen, "a list without items");
        p->is_list = 1;
        if (json_object_get(items, "default") || json_object_get(items, "anyOf"))
            return graft__contract_unsup(why, whylen, "optional or defaulted list items");
        rc = graft__contract_scalar(p, doc, items, why, whylen);
    } else {
        rc = graft__contract_scalar(p, doc, s, why, whylen);
    }
    if (rc != 0)
        return rc;
    return graft__contract_default(p, def, why, whylen);
}

int graft__contract_param(graft__param *p, json_t *param, json_t *doc, const char *tmpl,
                          char *why, size_t whylen)
{
    static const char *const ins[] = {"path", "query", "header", "cookie"};
    static const char *const styles[] = {"simple", "form", "simple", "form"};
    const char *name = json_string_value(json_object_get(param, "name"));
    const char *in = json_string_value(json_object_get(param, "in"));
    if (!name || !in)
        return graft__contract_unsup(why, whylen, "a parameter without name or in");
    if (!(p->name = strdup(name)))
        return -ENOMEM;
    p->in = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(in, ins[i]) == 0)
            p->in = i;
    if (p->in < 0)
        return graft__contract_unsup(why, whylen, "in: %s", in);
    p->required = json_is_true(json_object_get(param, "required"));
    const char *style = json_string_value(json_object_get(param, "style"));
    json_t *explode = json_object_get(param, "explode");
    if (style && strcmp(style, styles[p->in]) != 0)
        return graft__contract_unsup(why, whylen, "style %s", style);
    if (explode && json_is_true(explode) != (p->in == GRAFT__IN_QUERY || p->in == GRAFT__IN_COOKIE))
        return graft__contract_unsup(why, whylen, "explode %s", json_is_true(explode) ? "true" : "false");
    if (json_object_get(param, "content"))
        return graft__contract_unsup(why, whylen, "content instead of schema");
    if (json_is_true(json_object_get(param, "allowReserved")))
        return graft__contract_unsup(why, whylen, "allowReserved");
    if (p->in == GRAFT__IN_PATH) {
        if (!p->required)
            return graft__contract_unsup(why, whylen, "an optional path parameter");
        if ((p->pos = path_pos(tmpl, name)) < 0)
            return graft__contract_unsup(why, whylen, "a path parameter not in the template");
    }
    json_t *s = json_object_get(param, "schema");
    if (!json_is_object(s))
        return graft__contract_unsup(why, whylen, "no schema");
    return schema(p, doc, s, why, whylen);
}

void graft__contract_param_free(graft__param *p)
{
    free(p->name);
    free(p->def_s);
    free(p->pattern);
    for (size_t i = 0; p->members && i < p->nmembers; i++)
        free(p->members[i]);
    free(p->members);
    free(p->imembers);
    free(p->expected);
}
