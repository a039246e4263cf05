/* One OpenAPI parameter → a graft__param: the schema forms FastAPI 0.165 writes for path,
 * query, header and cookie parameters (and the same forms in a hand-written document).
 * Anything else is named as unsupported rather than guessed at: a route whose contract the
 * kit reproduces only approximately would answer differently from the app. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "kit/errors.h"
#include "kit/pattern.h"

/* Returns 1 (unsupported) with the construct written into why. */
static int unsup(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return 1;
}

/* "#/components/schemas/X" → that schema; NULL for any other reference. */
static json_t *resolve_ref(json_t *doc, const char *ref)
{
    static const char prefix[] = "#/components/schemas/";
    if (strncmp(ref, prefix, sizeof prefix - 1) != 0 || strchr(ref + sizeof prefix - 1, '/'))
        return NULL;
    return json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                           ref + sizeof prefix - 1);
}

/* Keywords that do not change validation (documentation and FastAPI's own annotations). */
static int is_annotation(const char *k)
{
    static const char *const ok[] = {"title", "description", "examples", "example", "deprecated",
                                     "readOnly", "writeOnly", "$comment", NULL};
    for (size_t i = 0; ok[i]; i++)
        if (strcmp(k, ok[i]) == 0)
            return 1;
    return 0;
}

static int is_int(json_t *v) { return json_is_integer(v); }

/* Numeric bounds of an integer (JSON integers only: Pydantic would compare an int field with
 * a float bound and write it as a float) or a number. */
static int bounds(graft__param *p, json_t *s, char *why, size_t whylen)
{
    static const struct { const char *key; unsigned bit; } keys[] = {
        {"exclusiveMinimum", GRAFT__KIT_GT}, {"minimum", GRAFT__KIT_GE},
        {"exclusiveMaximum", GRAFT__KIT_LT}, {"maximum", GRAFT__KIT_LE},
        {"multipleOf", GRAFT__KIT_MULTIPLE_OF}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(s, keys[i].key);
        if (!v)
            continue;
        if (p->type == GRAFT__T_INT) {
            if (!is_int(v))
                return unsup(why, whylen, json_is_boolean(v) ? "%s as a boolean (OpenAPI 3.0)"
                                                             : "%s on an integer that is not an integer",
                             keys[i].key);
            int64_t x = json_integer_value(v);
            int64_t *dst[] = {&p->irules.gt, &p->irules.ge, &p->irules.lt, &p->irules.le,
                              &p->irules.multiple_of};
            *dst[i] = x;
            p->irules.has |= keys[i].bit;
        } else if (p->type == GRAFT__T_NUMBER) {
            if (!json_is_number(v))
                return unsup(why, whylen, "%s that is not a number (OpenAPI 3.0 form)", keys[i].key);
            double x = json_number_value(v);
            double *dst[] = {&p->frules.gt, &p->frules.ge, &p->frules.lt, &p->frules.le,
                             &p->frules.multiple_of};
            *dst[i] = x;
            p->frules.has |= keys[i].bit;
        } else {
            return unsup(why, whylen, "%s on a non-numeric type", keys[i].key);
        }
    }
    if ((p->irules.has & GRAFT__KIT_MULTIPLE_OF) && p->irules.multiple_of <= 0)
        return unsup(why, whylen, "multipleOf <= 0");
    if ((p->frules.has & GRAFT__KIT_MULTIPLE_OF) &&
        !(isfinite(p->frules.multiple_of) && p->frules.multiple_of > 0))
        return unsup(why, whylen, "multipleOf <= 0");
    return 0;
}

/* An enum, only from a component (FastAPI's Enum classes: error type "enum"; an inline enum is
 * a Literal, whose "literal_error" the kit does not write). */
static int enumeration(graft__param *p, json_t *s, char *why, size_t whylen)
{
    json_t *e = json_object_get(s, "enum");
    size_t n = json_array_size(e);
    if (!json_is_array(e) || n == 0)
        return unsup(why, whylen, "an empty or malformed enum");
    graft__buf txt = {0};
    int rc;
    if (p->type == GRAFT__T_STR) {
        p->type = GRAFT__T_STR_ENUM;
        if (!(p->members = calloc(n, sizeof *p->members)))
            return -ENOMEM;
        p->nmembers = n;
        for (size_t i = 0; i < n; i++) {
            json_t *m = json_array_get(e, i);
            if (!json_is_string(m))
                return unsup(why, whylen, "an enum with a non-string member");
            if (!(p->members[i] = strdup(json_string_value(m))))
                return -ENOMEM;
        }
        rc = graft__kit_enum_expected(&txt, (const char *const *)p->members, NULL, n);
    } else if (p->type == GRAFT__T_INT) {
        p->type = GRAFT__T_INT_ENUM;
        if (!(p->imembers = calloc(n, sizeof *p->imembers)))
            return -ENOMEM;
        p->nmembers = n;
        for (size_t i = 0; i < n; i++) {
            json_t *m = json_array_get(e, i);
            if (!is_int(m))
                return unsup(why, whylen, "an enum with a non-integer member");
            p->imembers[i] = json_integer_value(m);
        }
        rc = graft__kit_enum_expected(&txt, NULL, p->imembers, n);
    } else {
        return unsup(why, whylen, "an enum of a type other than string or integer");
    }
    if (rc == GRAFT__KIT_UNSUPPORTED) {
        graft__buf_free(&txt);
        return unsup(why, whylen, "an enum member outside printable ASCII");
    }
    if (rc < 0 || !(p->expected = malloc(graft__buf_avail(&txt) + 1))) {
        graft__buf_free(&txt);
        return -ENOMEM;
    }
    p->expected_n = graft__buf_avail(&txt);
    memcpy(p->expected, graft__buf_head(&txt), p->expected_n);
    p->expected[p->expected_n] = '\0';
    graft__buf_free(&txt);
    return 0;
}

/* The scalar schema s (the items of a list, or the parameter itself). */
static int scalar(graft__param *p, json_t *doc, json_t *s, char *why, size_t whylen)
{
    int from_ref = 0;
    json_t *ref = json_object_get(s, "$ref");
    if (ref) {
        const char *rk;
        json_t *rv;
        json_object_foreach(s, rk, rv) {
            if (strcmp(rk, "$ref") != 0 && strcmp(rk, "default") != 0 && !is_annotation(rk))
                return unsup(why, whylen, "$ref with the sibling keyword %s", rk);
        }
        if (!json_is_string(ref) || !(s = resolve_ref(doc, json_string_value(ref))))
            return unsup(why, whylen, "$ref %s", json_is_string(ref) ? json_string_value(ref) : "?");
        from_ref = 1;
    }
    const char *t = json_string_value(json_object_get(s, "type"));
    if (!t)
        return unsup(why, whylen, "a schema without a single type");
    if (strcmp(t, "integer") == 0)
        p->type = GRAFT__T_INT;
    else if (strcmp(t, "number") == 0)
        p->type = GRAFT__T_NUMBER;
    else if (strcmp(t, "boolean") == 0)
        p->type = GRAFT__T_BOOL;
    else if (strcmp(t, "string") == 0)
        p->type = GRAFT__T_STR;
    else
        return unsup(why, whylen, "type %s", t);
    const char *k;
    json_t *v;
    int rc;
    json_object_foreach(s, k, v) {
        if (is_annotation(k) || strcmp(k, "type") == 0 || strcmp(k, "default") == 0)
            continue;
        if (strcmp(k, "enum") == 0) {
            if (!from_ref)
                return unsup(why, whylen, "an inline enum (a Literal: literal_error)");
            if ((rc = enumeration(p, s, why, whylen)) != 0)
                return rc;
        } else if (strstr(k, "imum") || strcmp(k, "multipleOf") == 0) {
            continue; /* bounds() below */
        } else if (p->type == GRAFT__T_STR && (strcmp(k, "minLength") == 0 || strcmp(k, "maxLength") == 0)) {
            if (!is_int(v) || json_integer_value(v) < 0)
                return unsup(why, whylen, "%s that is not a count", k);
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
                return unsup(why, whylen, "pattern %s (outside the kit's subset)", json_string_value(v));
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
                return unsup(why, whylen, "format %s", f);
        } else {
            return unsup(why, whylen, "schema keyword %s on type %s", k, t);
        }
    }
    if ((p->type == GRAFT__T_UUID || p->type == GRAFT__T_DATETIME || p->type == GRAFT__T_STR_ENUM) &&
        p->srules.has)
        return unsup(why, whylen, "length or pattern constraints on a uuid, date-time or enum");
    if (p->type == GRAFT__T_INT_ENUM && (json_object_get(s, "minimum") || json_object_get(s, "maximum")))
        return unsup(why, whylen, "bounds on an enum");
    return bounds(p, s, why, whylen);
}

/* The default, converted to the parameter's type (FastAPI never validates defaults, so
 * neither do we: the getters return it as the app would see it). */
static int default_value(graft__param *p, json_t *d, char *why, size_t whylen)
{
    if (!d || json_is_null(d))
        return 0;
    if (p->is_list) {
        if (!json_is_array(d) || json_array_size(d) != 0)
            return unsup(why, whylen, "a list default other than []");
        p->has_default = 1;
        return 0;
    }
    switch (p->type) {
    case GRAFT__T_INT:
    case GRAFT__T_INT_ENUM:
        if (!is_int(d))
            return unsup(why, whylen, "a default that is not an integer");
        p->def_i = json_integer_value(d);
        break;
    case GRAFT__T_NUMBER:
        if (!json_is_number(d))
            return unsup(why, whylen, "a default that is not a number");
        p->def_f = json_number_value(d);
        break;
    case GRAFT__T_BOOL:
        if (!json_is_boolean(d))
            return unsup(why, whylen, "a default that is not a boolean");
        p->def_b = json_is_true(d);
        break;
    default:
        if (!json_is_string(d))
            return unsup(why, whylen, "a default that is not a string");
        if (!(p->def_s = strdup(json_string_value(d))))
            return -ENOMEM;
    }
    p->has_default = 1;
    return 0;
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
static int is_null_schema(json_t *s)
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
            return unsup(why, whylen, "anyOf other than [X, null]");
        if (is_null_schema(a))
            a = b, b = json_array_get(any, 0);
        if (!is_null_schema(b))
            return unsup(why, whylen, "anyOf other than [X, null]");
        const char *k;
        json_t *v;
        json_object_foreach(s, k, v) {
            if (strcmp(k, "anyOf") != 0 && strcmp(k, "default") != 0 && !is_annotation(k))
                return unsup(why, whylen, "schema keyword %s beside anyOf", k);
        }
        s = a;
        if (json_object_get(s, "default"))
            return unsup(why, whylen, "a default inside anyOf");
    }
    const char *t = json_string_value(json_object_get(s, "type"));
    int rc;
    if (t && strcmp(t, "array") == 0) {
        if (p->in != GRAFT__IN_QUERY)
            return unsup(why, whylen, "a list outside the query");
        const char *k;
        json_t *v;
        json_object_foreach(s, k, v) {
            if (strcmp(k, "type") != 0 && strcmp(k, "items") != 0 && strcmp(k, "default") != 0 &&
                !is_annotation(k))
                return unsup(why, whylen, "schema keyword %s on a list", k);
        }
        json_t *items = json_object_get(s, "items");
        if (!json_is_object(items))
            return unsup(why, whylen, "a list without items");
        p->is_list = 1;
        if (json_object_get(items, "default") || json_object_get(items, "anyOf"))
            return unsup(why, whylen, "optional or defaulted list items");
        rc = scalar(p, doc, items, why, whylen);
    } else {
        rc = scalar(p, doc, s, why, whylen);
    }
    if (rc != 0)
        return rc;
    return default_value(p, def, why, whylen);
}

int graft__contract_param(graft__param *p, json_t *param, json_t *doc, const char *tmpl,
                          char *why, size_t whylen)
{
    static const char *const ins[] = {"path", "query", "header", "cookie"};
    static const char *const styles[] = {"simple", "form", "simple", "form"};
    const char *name = json_string_value(json_object_get(param, "name"));
    const char *in = json_string_value(json_object_get(param, "in"));
    if (!name || !in)
        return unsup(why, whylen, "a parameter without name or in");
    if (!(p->name = strdup(name)))
        return -ENOMEM;
    p->in = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(in, ins[i]) == 0)
            p->in = i;
    if (p->in < 0)
        return unsup(why, whylen, "in: %s", in);
    p->required = json_is_true(json_object_get(param, "required"));
    const char *style = json_string_value(json_object_get(param, "style"));
    json_t *explode = json_object_get(param, "explode");
    if (style && strcmp(style, styles[p->in]) != 0)
        return unsup(why, whylen, "style %s", style);
    if (explode && json_is_true(explode) != (p->in == GRAFT__IN_QUERY || p->in == GRAFT__IN_COOKIE))
        return unsup(why, whylen, "explode %s", json_is_true(explode) ? "true" : "false");
    if (json_object_get(param, "content"))
        return unsup(why, whylen, "content instead of schema");
    if (json_is_true(json_object_get(param, "allowReserved")))
        return unsup(why, whylen, "allowReserved");
    if (p->in == GRAFT__IN_PATH) {
        if (!p->required)
            return unsup(why, whylen, "an optional path parameter");
        if ((p->pos = path_pos(tmpl, name)) < 0)
            return unsup(why, whylen, "a path parameter not in the template");
    }
    json_t *s = json_object_get(param, "schema");
    if (!json_is_object(s))
        return unsup(why, whylen, "no schema");
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
