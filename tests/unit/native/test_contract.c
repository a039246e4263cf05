/* Unit tests for route contracts (src/native/contract.c, contract_schema.c): a small OpenAPI
 * document in FastAPI's shapes (and a few hand-written ones) parsed into per-operation
 * contracts, template matching by shape, and the constructs named as unsupported. */
#include <stdio.h>
#include <string.h>

#include "contract.h"

#include "../unit.h"

static const char DOC[] =
    "{\"openapi\":\"3.1.0\",\"paths\":{"
    "\"/items/{item_id}\":{\"get\":{\"parameters\":["
    "{\"name\":\"x-token\",\"in\":\"header\",\"required\":true,\"schema\":{\"type\":\"string\",\"minLength\":2}},"
    "{\"name\":\"limit\",\"in\":\"query\",\"required\":false,\"schema\":{\"type\":\"integer\",\"maximum\":100,\"exclusiveMinimum\":0,\"default\":10}},"
    "{\"name\":\"item_id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"integer\"}},"
    "{\"name\":\"q\",\"in\":\"query\",\"schema\":{\"anyOf\":[{\"type\":\"string\",\"pattern\":\"^a+$\"},{\"type\":\"null\"}]}},"
    "{\"name\":\"tags\",\"in\":\"query\",\"schema\":{\"type\":\"array\",\"items\":{\"type\":\"number\"},\"default\":[]}},"
    "{\"name\":\"c\",\"in\":\"query\",\"schema\":{\"$ref\":\"#/components/schemas/Color\",\"default\":\"red\"}},"
    "{\"name\":\"lv\",\"in\":\"query\",\"schema\":{\"anyOf\":[{\"$ref\":\"#/components/schemas/Level\"},{\"type\":\"null\"}]}},"
    "{\"name\":\"u\",\"in\":\"cookie\",\"schema\":{\"type\":\"string\",\"format\":\"uuid\"}}"
    "]},"
    "\"post\":{\"requestBody\":{}}},"
    "\"/lit\":{\"get\":{\"parameters\":[{\"name\":\"m\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"enum\":[\"a\"]}}]}},"
    "\"/f/{a}/{b}\":{\"get\":{\"parameters\":["
    "{\"name\":\"b\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"}},"
    "{\"name\":\"a\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"boolean\"}},"
    "{\"name\":\"d\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"format\":\"date\"}}]}},"
    "\"/g\":{\"get\":{\"parameters\":[{\"name\":\"x\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":0.5}}]},"
    "\"put\":{\"parameters\":[{\"name\":\"x\",\"in\":\"query\",\"style\":\"deepObject\",\"schema\":{\"type\":\"integer\"}}]},"
    "\"patch\":{\"parameters\":[{\"name\":\"x\",\"in\":\"header\",\"schema\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}}]},"
    "\"delete\":{\"parameters\":[{\"name\":\"x\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"pattern\":\"(a|b)\"}}]},"
    "\"options\":{\"x-graft-unsupported\":\"parameters of dependencies\",\"parameters\":[]}}"
    "},\"components\":{\"schemas\":{"
    "\"Color\":{\"type\":\"string\",\"enum\":[\"red\",\"green\"],\"title\":\"Color\"},"
    "\"Level\":{\"type\":\"integer\",\"enum\":[1,3]}}}}";

static void test_fastapi_shapes(const graft__contracts *cs)
{
    const graft__contract *c = graft__contracts_find(cs, "GET", "/items/{id}");
    check(c != NULL, "find by shape", "no contract for GET /items/{id}");
    if (!c)
        return;
    check(c->unsupported == NULL, "supported", "%s", c->unsupported ? c->unsupported : "");
    check(c->nparams == 8, "nparams", "%zu", c->nparams);
    /* sorted into FastAPI's order: path, query, header, cookie (stable) */
    const char *order[] = {"item_id", "limit", "q", "tags", "c", "lv", "x-token", "u"};
    for (size_t i = 0; i < 8 && i < c->nparams; i++)
        check(strcmp(c->params[i].name, order[i]) == 0, "order", "%zu: %s", i, c->params[i].name);
    const graft__param *p = &c->params[1];
    check(p->type == GRAFT__T_INT && p->has_default && p->def_i == 10 && !p->required, "limit",
          "type %d default %lld", p->type, (long long)p->def_i);
    check(p->irules.has == (GRAFT__KIT_GT | GRAFT__KIT_LE) && p->irules.gt == 0 && p->irules.le == 100,
          "limit bounds", "has %u", p->irules.has);
    p = &c->params[2];
    check(p->type == GRAFT__T_STR && !p->has_default && p->pattern && strcmp(p->pattern, "^a+$") == 0,
          "optional pattern", "type %d", p->type);
    p = &c->params[3];
    check(p->is_list && p->type == GRAFT__T_NUMBER && p->has_default, "list", "type %d", p->type);
    p = &c->params[4];
    check(p->type == GRAFT__T_STR_ENUM && p->nmembers == 2 && p->def_s && strcmp(p->def_s, "red") == 0 &&
              strcmp(p->expected, "'red' or 'green'") == 0,
          "str enum", "type %d expected %s", p->type, p->expected ? p->expected : "");
    p = &c->params[5];
    check(p->type == GRAFT__T_INT_ENUM && p->nmembers == 2 && p->imembers[1] == 3 &&
              strcmp(p->expected, "1 or 3") == 0,
          "int enum", "type %d", p->type);
    p = &c->params[6];
    check(p->in == GRAFT__IN_HEADER && p->required && p->srules.min_length == 2, "header", "in %d", p->in);
    p = &c->params[7];
    check(p->in == GRAFT__IN_COOKIE && p->type == GRAFT__T_UUID, "cookie uuid", "type %d", p->type);
    check(graft__contracts_find(cs, "get", "/items/{item_id:int}") == c, "converter ignored", "-");
    check(graft__contracts_find(cs, "GET", "/items") == NULL, "other shape", "-");
    check(graft__contracts_find(cs, "HEAD", "/items/{x}") == NULL, "other method", "-");
}

/* Returns the unsupported message of METHOD TEMPLATE, "" when supported. */
static const char *why(const graft__contracts *cs, const char *m, const char *t)
{
    const graft__contract *c = graft__contracts_find(cs, m, t);
    return !c ? "(none)" : c->unsupported ? c->unsupported : "";
}

static void expect_why(const graft__contracts *cs, const char *m, const char *t, const char *want)
{
    const char *w = why(cs, m, t);
    check(strcmp(w, want) == 0, "unsupported", "%s %s: got \"%s\", want \"%s\"", m, t, w, want);
}

static void test_unsupported(const graft__contracts *cs)
{
    expect_why(cs, "POST", "/items/{i}", "request body: a request body other than application/json alone (forms, files)");
    expect_why(cs, "GET", "/lit", "parameter m (query): an inline enum (a Literal: literal_error)");
    expect_why(cs, "GET", "/f/{x}/{y}", "parameter d (query): format date");
    expect_why(cs, "GET", "/g", "parameter x (query): minimum on an integer that is not an integer");
    expect_why(cs, "PUT", "/g", "parameter x (query): style deepObject");
    expect_why(cs, "PATCH", "/g", "parameter x (header): a list outside the query");
    expect_why(cs, "DELETE", "/g", "parameter x (query): pattern (a|b) (outside the kit's subset)");
    expect_why(cs, "OPTIONS", "/g", "parameters of dependencies"); /* graft openapi's mark */
    /* path parameters map by position in the template, whatever their order in the list */
    const graft__contract *c = graft__contracts_find(cs, "GET", "/f/{x}/{y}");
    check(c && c->params[0].pos == 1 && c->params[1].pos == 0, "path positions", "-");
}

static void test_bad_documents(void)
{
    graft__contracts *cs = NULL;
    char err[256] = "";
    check(graft__contracts_parse("{", 1, &cs, err, sizeof err) < 0 && strstr(err, "not JSON"),
          "not json", "%s", err);
    check(graft__contracts_parse("{}", 2, &cs, err, sizeof err) < 0 && strstr(err, "paths"),
          "no paths", "%s", err);
    static const char xg[] = "{\"paths\":{},\"x-graft\":{\"fastapi\":\"0.100.0\",\"pydantic\":\"2.14.4\"}}";
    cs = NULL;
    check(graft__contracts_parse(xg, sizeof xg - 1, &cs, err, sizeof err) == 0 && cs && cs->n == 0 &&
              cs->fastapi && strcmp(cs->fastapi, "0.100.0") == 0 && cs->pydantic &&
              strcmp(cs->pydantic, "2.14.4") == 0,
          "x-graft versions", "%s", err);
    graft__contracts_free(cs);
}

int main(void)
{
    graft__contracts *cs = NULL;
    char err[256] = "";
    int rc = graft__contracts_parse(DOC, sizeof DOC - 1, &cs, err, sizeof err);
    check(rc == 0 && cs, "parse", "%d %s", rc, err);
    if (cs) {
        test_fastapi_shapes(cs);
        test_unsupported(cs);
        graft__contracts_free(cs);
    }
    test_bad_documents();
    return unit_report();
}
