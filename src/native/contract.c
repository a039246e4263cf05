/* An OpenAPI document → the contract of each operation (contract.h), parsed once at start-up
 * with Jansson. Per operation only what the kit reproduces is kept; the first construct it
 * does not is recorded as the operation's `unsupported` message instead. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "contract.h"
#include "contract_body.h"

static const char *const methods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

/* Records why the operation is unsupported (the first reason only). */
static int mark(graft__contract *c, const char *what)
{
    if (!c->unsupported && !(c->unsupported = strdup(what)))
        return -ENOMEM;
    return 0;
}

/* Fills c from one operation object. FastAPI validates path, then query, header and cookie
 * parameters, each group in declaration order; its document lists them the same way, and a
 * hand-written one is sorted into that order (stable). */
static int operation(graft__contract *c, json_t *op, json_t *item, json_t *doc)
{
    char why[400], msg[480];
    /* what graft openapi found in the app itself and the document cannot say */
    const char *xu = json_string_value(json_object_get(op, "x-graft-unsupported"));
    if (xu)
        return mark(c, xu);
    if (json_object_get(item, "parameters"))
        return mark(c, "path-level parameters (not supported; list them per operation)");
    json_t *rb = json_object_get(op, "requestBody");
    if (rb) {
        int rc = graft__contract_body(&c->body, rb, doc, why, sizeof why);
        if (rc < 0)
            return rc;
        if (rc > 0) {
            snprintf(msg, sizeof msg, "request body: %s", why);
            return mark(c, msg);
        }
    }
    if (json_object_get(op, "security") || json_object_get(doc, "security"))
        return mark(c, "security requirements");
    json_t *ps = json_object_get(op, "parameters");
    size_t np = json_array_size(ps);
    if (np > GRAFT__CONTRACT_MAX_PARAMS)
        return mark(c, "more than 32 parameters");
    for (int in = GRAFT__IN_PATH; in <= GRAFT__IN_COOKIE; in++) {
        for (size_t i = 0; i < np; i++) {
            json_t *pj = json_array_get(ps, i);
            const char *pin = json_string_value(json_object_get(pj, "in"));
            static const char *const ins[] = {"path", "query", "header", "cookie"};
            int this_in = -1;
            for (int k = 0; pin && k < 4; k++)
                if (strcmp(pin, ins[k]) == 0)
                    this_in = k;
            if (this_in != in && !(this_in < 0 && in == GRAFT__IN_PATH))
                continue;
            if (json_object_get(pj, "$ref"))
                return mark(c, "a parameter given as $ref");
            graft__param *p = &c->params[c->nparams++];
            int rc = graft__contract_param(p, pj, doc, c->template, why, sizeof why);
            if (rc < 0)
                return rc;
            if (rc > 0) {
                const char *nm = json_string_value(json_object_get(pj, "name"));
                snprintf(msg, sizeof msg, "parameter %s (%s): %s", nm ? nm : "?", pin ? pin : "?", why);
                return mark(c, msg);
            }
        }
    }
    return 0;
}

static int upper_dup(char **out, const char *s)
{
    if (!(*out = strdup(s)))
        return -ENOMEM;
    for (char *p = *out; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return 0;
}

int graft__contracts_parse(const char *text, size_t len, graft__contracts **out, char *err,
                           size_t errlen)
{
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    if (!doc) {
        snprintf(err, errlen, "OpenAPI document: not JSON (line %d: %s)", je.line, je.text);
        return -EINVAL;
    }
    json_t *paths = json_object_get(doc, "paths");
    if (!json_is_object(paths)) {
        snprintf(err, errlen, "OpenAPI document: no \"paths\" object");
        json_decref(doc);
        return -EINVAL;
    }
    graft__contracts *cs = calloc(1, sizeof *cs);
    size_t cap = 0;
    const char *tmpl;
    json_t *item;
    int rc = cs ? 0 : -ENOMEM;
    json_object_foreach(paths, tmpl, item) {
        if (rc < 0)
            break;
        cap += 8;
        graft__contract *ops = realloc(cs->ops, cap * sizeof *ops);
        if (!ops) {
            rc = -ENOMEM;
            break;
        }
        cs->ops = ops;
        for (size_t m = 0; m < 8 && rc == 0; m++) {
            json_t *op = json_object_get(item, methods[m]);
            if (!json_is_object(op))
                continue;
            graft__contract *c = &cs->ops[cs->n++];
            memset(c, 0, sizeof *c);
            if (upper_dup(&c->method, methods[m]) < 0 || !(c->template = strdup(tmpl)))
                rc = -ENOMEM;
            else
                rc = operation(c, op, item, doc);
        }
    }
    json_t *xg = json_object_get(doc, "x-graft");
    const char *fv = json_string_value(json_object_get(xg, "fastapi"));
    const char *pv = json_string_value(json_object_get(xg, "pydantic"));
    if (rc == 0 && ((fv && !(cs->fastapi = strdup(fv))) || (pv && !(cs->pydantic = strdup(pv)))))
        rc = -ENOMEM;
    json_decref(doc);
    if (rc < 0) {
        graft__contracts_free(cs);
        snprintf(err, errlen, "OpenAPI document: out of memory");
        return rc;
    }
    *out = cs;
    return 0;
}

/* Whether two templates are equal once what is inside braces is ignored. */
static int same_template(const char *a, const char *b)
{
    for (;;) {
        if (*a == '{' && *b == '{') {
            a = strchr(a, '}');
            b = strchr(b, '}');
            if (!a || !b)
                return 0;
        }
        if (*a != *b)
            return 0;
        if (!*a)
            return 1;
        a++, b++;
    }
}

const graft__contract *graft__contracts_find(const graft__contracts *c, const char *method,
                                             const char *template)
{
    for (size_t i = 0; c && i < c->n; i++)
        if (strcasecmp(c->ops[i].method, method) == 0 && same_template(c->ops[i].template, template))
            return &c->ops[i];
    return NULL;
}

void graft__contracts_free(graft__contracts *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        for (size_t k = 0; k < c->ops[i].nparams; k++)
            graft__contract_param_free(&c->ops[i].params[k]);
        free(c->ops[i].method);
        free(c->ops[i].template);
        free(c->ops[i].unsupported);
        graft__contract_body_free(c->ops[i].body);
    }
    free(c->ops);
    free(c->fastapi);
    free(c->pydantic);
    free(c);
}
