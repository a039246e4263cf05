/* Unit tests for the body schema (src/native/contract_body.c): FastAPI's requestBody shapes
 * for a model (nested models, Optional, lists with limits, enums, extra="forbid") parsed into
 * the node tree, and each construct the kit does not reproduce named. */
#include <stdio.h>
#include <string.h>

#include "contract.h"
#include "contract_body.h"

#include "../unit.h"

#define BODY(ref) "{\"required\":true,\"content\":{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/" ref "\"}}}}"

static const char DOC[] =
    "{\"openapi\":\"3.1.0\",\"paths\":{"
    "\"/items\":{\"post\":{\"requestBody\":" BODY("Item") "},"
    "\"put\":{\"requestBody\":" BODY("Self") "},"
    "\"patch\":{\"requestBody\":{\"content\":{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Item\"}}}}},"
    "\"delete\":{\"requestBody\":" BODY("Dotted") "},"
    "\"options\":{\"requestBody\":{\"required\":true,\"content\":{\"application/x-www-form-urlencoded\":{\"schema\":{}}}}}},"
    "\"/fin\":{\"post\":{\"requestBody\":" BODY("Fin") "},\"put\":{\"requestBody\":" BODY("FinInt") "}},"
    "\"/lit\":{\"post\":{\"requestBody\":" BODY("Lit") "},"
    "\"put\":{\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}}}}}}"
    "},\"components\":{\"schemas\":{"
    "\"Color\":{\"type\":\"string\",\"enum\":[\"red\",\"green\"],\"title\":\"Color\"},"
    "\"Addr\":{\"properties\":{\"city\":{\"type\":\"string\",\"minLength\":1},\"zip\":{\"type\":\"integer\"}},"
    "\"type\":\"object\",\"required\":[\"city\",\"zip\"],\"title\":\"Addr\"},"
    "\"Item\":{\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":5},"
    "\"price\":{\"type\":\"number\",\"exclusiveMinimum\":0.0},\"qty\":{\"type\":\"integer\",\"default\":1},"
    "\"notes\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]},\"addr\":{\"$ref\":\"#/components/schemas/Addr\"},"
    "\"tags\":{\"items\":{\"type\":\"integer\"},\"type\":\"array\",\"maxItems\":3,\"minItems\":1},"
    "\"color\":{\"$ref\":\"#/components/schemas/Color\",\"default\":\"red\"}},"
    "\"additionalProperties\":false,\"type\":\"object\",\"required\":[\"name\",\"price\",\"addr\",\"tags\"]},"
    "\"Self\":{\"properties\":{\"next\":{\"anyOf\":[{\"$ref\":\"#/components/schemas/Self\"},{\"type\":\"null\"}]}},\"type\":\"object\"},"
    "\"Dotted\":{\"properties\":{\"a.b\":{\"type\":\"integer\"}},\"type\":\"object\"},"
    "\"Lit\":{\"properties\":{\"m\":{\"type\":\"string\",\"enum\":[\"a\"]}},\"type\":\"object\"},"
    "\"Fin\":{\"properties\":{\"p\":{\"type\":\"number\",\"minimum\":0.0,\"x-graft-allow-inf-nan\":false},"
    "\"q\":{\"type\":\"number\"}},\"type\":\"object\"},"
    "\"FinInt\":{\"properties\":{\"n\":{\"type\":\"integer\",\"x-graft-allow-inf-nan\":false}},\"type\":\"object\"}"
    "}}}";

static const char *why(const graft__contracts *cs, const char *m, const char *t)
{
    const graft__contract *c = graft__contracts_find(cs, m, t);
    return c && c->unsupported ? c->unsupported : "(supported)";
}

static void expect_why(const graft__contracts *cs, const char *m, const char *t, const char *want)
{
    const char *w = why(cs, m, t);
    check(strcmp(w, want) == 0, "unsupported", "%s %s: got \"%s\", want \"%s\"", m, t, w, want);
}

static void test_model(const graft__contracts *cs)
{
    const graft__contract *c = graft__contracts_find(cs, "POST", "/items");
    check(c && !c->unsupported && c->body, "model", "%s", c && c->unsupported ? c->unsupported : "-");
    if (!c || !c->body)
        return;
    const graft__bnode *b = c->body;
    const char *order[] = {"name", "price", "qty", "notes", "addr", "tags", "color"};
    check(b->kind == GRAFT__B_OBJECT && b->nfields == 7 && b->forbid_extra, "object", "%zu", b->nfields);
    for (size_t i = 0; i < 7 && i < b->nfields; i++)
        check(strcmp(b->fields[i].name, order[i]) == 0, "field order", "%zu %s", i, b->fields[i].name);
    if (b->nfields != 7)
        return;
    const int req[] = {1, 1, 0, 0, 1, 1, 0};
    for (size_t i = 0; i < 7; i++)
        check(b->fields[i].required == req[i], "required", "%s", order[i]);
    check(b->fields[0].node.scalar.srules.max_length == 5, "maxLength", "-");
    check(b->fields[1].node.scalar.type == GRAFT__T_NUMBER && (b->fields[1].node.scalar.frules.has & GRAFT__KIT_GT),
          "gt", "-");
    check(b->fields[2].node.scalar.has_default && b->fields[2].node.scalar.def_i == 1, "default", "-");
    check(b->fields[3].node.nullable && b->fields[3].node.scalar.type == GRAFT__T_STR, "Optional", "-");
    const graft__bnode *a = &b->fields[4].node;
    check(a->kind == GRAFT__B_OBJECT && a->nfields == 2 && !a->forbid_extra &&
              a->fields[1].node.scalar.type == GRAFT__T_INT, "nested model", "-");
    const graft__bnode *t = &b->fields[5].node;
    check(t->kind == GRAFT__B_LIST && t->has_min && t->min_items == 1 && t->has_max && t->max_items == 3 &&
              t->items && t->items->scalar.type == GRAFT__T_INT, "list limits", "-");
    const graft__param *e = &b->fields[6].node.scalar;
    check(e->type == GRAFT__T_STR_ENUM && e->nmembers == 2 && e->def_s && strcmp(e->def_s, "red") == 0,
          "enum with default", "-");
}

static void test_unsupported(const graft__contracts *cs)
{
    const char *w = why(cs, "PUT", "/items"); /* a recursive model: bounded, named */
    check(strncmp(w, "request body: field next: field next: ", 38) == 0 &&
              strstr(w, ": a body schema deeper than 16 or over 256 nodes (a recursive model?)"),
          "recursive", "%s", w);
    expect_why(cs, "PATCH", "/items", "request body: an optional request body");
    expect_why(cs, "DELETE", "/items", "request body: field a.b: a name with '.' (getter paths)");
    expect_why(cs, "OPTIONS", "/items", "request body: a request body other than application/json alone (forms, files)");
    expect_why(cs, "POST", "/lit", "request body: field m: an inline enum (a Literal: literal_error)");
    expect_why(cs, "PUT", "/lit", "request body: a request body that is not a model (an object)");
    /* graft openapi's allow_inf_nan=False: a number field's rule, nothing else's */
    expect_why(cs, "PUT", "/fin", "request body: field n: schema keyword x-graft-allow-inf-nan on type integer");
}

static void test_finite(const graft__contracts *cs)
{
    const graft__contract *c = graft__contracts_find(cs, "POST", "/fin");
    check(c && !c->unsupported && c->body && c->body->nfields == 2, "finite", "%s",
          c && c->unsupported ? c->unsupported : "-");
    if (c && c->body && c->body->nfields == 2)
        check(c->body->fields[0].node.scalar.finite == 1 && c->body->fields[1].node.scalar.finite == 0,
              "finite flag", "%d %d", c->body->fields[0].node.scalar.finite, c->body->fields[1].node.scalar.finite);
}

int main(void)
{
    graft__contracts *cs = NULL;
    char err[256] = "";
    int rc = graft__contracts_parse(DOC, sizeof DOC - 1, &cs, err, sizeof err);
    check(rc == 0 && cs, "parse", "%d %s", rc, err);
    if (cs) {
        test_model(cs);
        test_unsupported(cs);
        test_finite(cs);
        graft__contracts_free(cs);
    }
    return unit_report();
}
