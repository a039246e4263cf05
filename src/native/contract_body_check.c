/* graft_validate's body half: the request body read as FastAPI 0.165 reads it (JSON only for
 * an application/json or application/<x>+json content-type; an empty body is "missing"), parsed
 * strictly with Jansson, and walked against the body schema in Pydantic's order: an object's
 * fields in declaration order, each depth-first, then its extra keys in input order. What
 * Python's json reads differently (duplicate keys, NaN, huge numbers, a BOM, ...) never gets
 * this far under graft: Jansson refuses it and the request is declined. graft-serve, with no
 * app to decline to, reads it as Python would where that is exact (pyjson.h for malformed
 * bodies, contract_body_bigint.c for the rest) and answers as FastAPI does. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "contract_arg.h"
#include "contract_body.h"
#include "json_str.h"
#include "kit/pyjson.h"
#include "native_req.h"

/* Where in the body the walk is: loc[0] is "body", then keys and indexes. */
typedef struct bwalk {
    graft__vstate *v;
    graft__kit_loc loc[2 * GRAFT__BODY_MAX_DEPTH + 4];
    size_t nloc;
} bwalk;

/* Appends e at the walk's location; an input that is an array or object is written out. */
static int report(bwalk *w, graft__kit_error *e, json_t *input)
{
    graft__buf raw = {0};
    int rc = 0;
    if ((e->input.kind == GRAFT__KIT_V_FLOAT && !isfinite(e->input.f)) || (input && graft__body_has_nonfinite(input))) {
        w->v->fails = 1; /* graft-serve: the whole answer is FastAPI's 500 */
        w->v->nerr++;
        return 0;
    }
    if (input && (json_is_array(input) || json_is_object(input))) {
        if ((rc = graft__body_dump(&raw, input)) < 0) {
            graft__buf_free(&raw);
            return rc;
        }
        e->input.kind = GRAFT__KIT_V_RAW;
        e->input.s = graft__buf_head(&raw);
        e->input.n = graft__buf_avail(&raw);
    }
    e->loc = w->loc;
    e->nloc = w->nloc;
    if (w->v->nerr++)
        rc = graft__buf_append(&w->v->body, ",", 1);
    rc = rc ? rc : graft__kit_detail_entry(&w->v->body, e);
    graft__buf_free(&raw);
    if (rc == GRAFT__KIT_UNSUPPORTED) {
        w->v->unsupported = 1;
        return 0;
    }
    return rc;
}

/* A value the kit cannot judge: declined under graft; graft-serve's own entry otherwise. */
static int unsupported(graft__vstate *v, const graft__kit_loc *loc, size_t nloc, json_t *j,
                       const char *text, size_t n)
{
    if (v->has_app) {
        v->unsupported = 1;
        return 0;
    }
    graft__buf *b = &v->body;
    char idx[32];
    int rc = v->nerr++ ? graft__buf_append(b, ",", 1) : 0;
    rc = rc ? rc : graft__buf_append(b, GRAFT__STRLIT("{\"type\":\"graft_unsupported\",\"loc\":["));
    for (size_t i = 0; i < nloc && !rc; i++) {
        rc = i ? graft__buf_append(b, ",", 1) : 0;
        rc = rc ? rc : loc[i].key ? graft__json_str(b, loc[i].key, loc[i].n)
                   : graft__buf_append(b, idx, (size_t)snprintf(idx, sizeof idx, "%lld", (long long)loc[i].index));
    }
    rc = rc ? rc : graft__buf_append(b, GRAFT__STRLIT("],\"msg\":\"Input not supported by graft-serve\",\"input\":"));
    rc = rc ? rc : j ? graft__body_dump(b, j) : graft__json_str(b, text, n);
    return rc ? rc : graft__buf_append(b, "}", 1);
}

static int check(bwalk *w, const graft__bnode *b, json_t *j);

static int check_object(bwalk *w, const graft__bnode *b, json_t *j)
{
    int rc = 0;
    if (b->embed && !json_is_object(j)) /* FastAPI: no .get(), every field missing */
        j = NULL;
    else if (!json_is_object(j)) {
        graft__kit_error e = {.type = GRAFT__KIT_E_MODEL_ATTRIBUTES_TYPE, .input = graft__body_kit_value(j)};
        return report(w, &e, j);
    }
    for (size_t i = 0; i < b->nfields && rc >= 0 && !w->v->unsupported; i++) {
        const graft__bfield *f = &b->fields[i];
        json_t *x = j ? json_object_get(j, f->name) : NULL;
        w->loc[w->nloc++] = (graft__kit_loc){f->name, strlen(f->name), 0};
        if (x) {
            rc = check(w, &f->node, x);
        } else if (f->required) { /* Pydantic's input for a missing field: the whole object;
                                     * FastAPI's for an embedded body parameter: null */
            graft__kit_error e = {.type = GRAFT__KIT_E_MISSING};
            rc = report(w, &e, b->embed ? NULL : j);
        }
        w->nloc--;
    }
    if (!b->forbid_extra || b->embed)
        return rc;
    const char *k;
    json_t *x;
    json_object_foreach(j, k, x) {
        int known = 0;
        for (size_t i = 0; i < b->nfields && !known; i++)
            known = strcmp(b->fields[i].name, k) == 0;
        if (known || rc < 0 || w->v->unsupported)
            continue;
        graft__kit_error e = {.type = GRAFT__KIT_E_EXTRA_FORBIDDEN, .input = graft__body_kit_value(x)};
        w->loc[w->nloc++] = (graft__kit_loc){k, strlen(k), 0};
        rc = report(w, &e, x);
        w->nloc--;
    }
    return rc;
}

/* Pydantic's list: over max_length → too_long alone; else the items' errors; else, when too
 * few, too_short. */
static int check_list(bwalk *w, const graft__bnode *b, json_t *j)
{
    graft__kit_error e = {.text = "List", .text_n = 4};
    if (!json_is_array(j)) {
        e.type = GRAFT__KIT_E_LIST_TYPE;
        e.input = graft__body_kit_value(j);
        return report(w, &e, j);
    }
    size_t n = json_array_size(j), before = w->v->nerr;
    if (b->has_max && n > b->max_items) {
        e.type = GRAFT__KIT_E_TOO_LONG;
        e.length = b->max_items;
        e.actual = n;
        return report(w, &e, j);
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc >= 0 && !w->v->unsupported; i++) {
        w->loc[w->nloc++] = (graft__kit_loc){NULL, 0, (int64_t)i};
        rc = check(w, b->items, json_array_get(j, i));
        w->nloc--;
    }
    if (rc < 0 || w->v->nerr != before || !b->has_min || n >= b->min_items)
        return rc;
    e.type = GRAFT__KIT_E_TOO_SHORT;
    e.length = b->min_items;
    e.actual = n;
    return report(w, &e, j);
}

static int check(bwalk *w, const graft__bnode *b, json_t *j)
{
    if (json_is_null(j) && b->nullable)
        return 0;
    if (b->kind == GRAFT__B_OBJECT)
        return check_object(w, b, j);
    if (b->kind == GRAFT__B_LIST)
        return check_list(w, b, j);
    graft__arg_val val;
    graft__kit_error e = {0};
    int rc = graft__body_scalar(&b->scalar, j, &val, &e);
    if (rc == GRAFT__KIT_UNSUPPORTED)
        return unsupported(w->v, w->loc, w->nloc, j, NULL, 0);
    if (rc <= 0)
        return rc;
    return report(w, &e, j);
}

/* FastAPI reads the body as JSON for these content-types only (email.message's parse of
 * "application/json" or "application/<x>+json"); the kit takes the plain forms and declines
 * the rest (parameters, odd spellings: email.message is lenient). 1 JSON, 0 not, -1 unsure. */
static int json_content_type(const char *s, size_t n)
{
    size_t e = 0;
    while (e < n && s[e] != ';')
        e++;
    while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
        e--;
    if (e == 16 && strncasecmp(s, "application/json", 16) == 0)
        return 1;
    if (e > 17 && strncasecmp(s, "application/", 12) == 0 && strncasecmp(s + e - 5, "+json", 5) == 0) {
        for (size_t i = 12; i < e - 5; i++)
            if (!(s[i] == '-' || s[i] == '.' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                  (s[i] >= '0' && s[i] <= '9')))
                return -1;
        return 1;
    }
    return -1;
}

/* graft-serve: email.message's reading of the content-type, exactly, where FastAPI's test is
 * the JSON one: the text before ';' stripped and lowered, one '/', maintype "application",
 * subtype "json" or "<x>+json". 1 JSON, 0 not, -1 unsure (bytes Python's str.strip or
 * str.lower would treat otherwise: controls, non-ASCII). */
static int python_json_content_type(const char *s, size_t n)
{
    size_t e = 0, b = 0, slash = 0, nslash = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || (unsigned char)s[i] >= 0x7f)
            return -1;
    while (e < n && s[e] != ';')
        e++;
    while (b < e && (s[b] == ' ' || s[b] == '\t'))
        b++;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
        e--;
    for (size_t i = b; i < e; i++)
        if (s[i] == '/')
            slash = i, nslash++;
    if (nslash != 1 || slash - b != 11 || strncasecmp(s + b, "application", 11) != 0)
        return 0;
    size_t sub = slash + 1, sn = e - sub;
    return (sn == 4 && strncasecmp(s + sub, "json", 4) == 0) ||
           (sn >= 5 && strncasecmp(s + e - 5, "+json", 5) == 0);
}

/* FastAPI's answers that come before any parameter is checked (a json_invalid entry, or the
 * 400 of a body that is not UTF-8) replace what the parameters wrote. */
static int answer_alone(graft__vstate *v, const graft__kit_loc *root, const char *msg, size_t pos, int http400)
{
    v->body.len = v->body.off;
    v->nerr = 0;
    if (http400) {
        v->status = 400;
        v->nerr = 1;
        return graft__buf_append(&v->body, GRAFT__STRLIT("{\"detail\":\"There was an error parsing the body\"}"));
    }
    int rc = graft__buf_append(&v->body, GRAFT__STRLIT("{\"detail\":["));
    graft__kit_loc loc[2] = {*root, {NULL, 0, (int64_t)pos}};
    bwalk w = {.v = v, .loc = {loc[0], loc[1]}, .nloc = 2};
    graft__kit_error e = {.type = GRAFT__KIT_E_JSON_INVALID, .input = {.kind = GRAFT__KIT_V_RAW, .s = "{}", .n = 2},
                          .text = msg, .text_n = strlen(msg)};
    return rc < 0 ? rc : report(&w, &e, NULL);
}

int graft__contract_check_body(graft__vstate *v, struct graft_request *gr, const graft__bnode *b)
{
    size_t n, cl;
    const char *body = graft_body(gr, &n);
    graft__kit_loc root = {"body", 4, 0};
    bwalk w = {.v = v, .loc = {root}, .nloc = 1};
    if (n == 0) { /* FastAPI: no bytes is no body, whatever the content-type */
        if (b->embed)
            return check_object(&w, b, NULL);
        graft__kit_error e = {.type = GRAFT__KIT_E_MISSING, .input = {.kind = GRAFT__KIT_V_NULL}};
        return report(&w, &e, NULL);
    }
    const char *ct = graft_header(gr, "content-type", &cl);
    int is_json = !ct || cl == 0 ? 0 : v->has_app ? json_content_type(ct, cl) : python_json_content_type(ct, cl);
    if (is_json != 1) {
        /* not JSON: FastAPI validates the bytes. A model says model_attributes_type quoting
         * them, written through bytes.decode() (strict UTF-8: else a 500) */
        if (v->has_app || is_json < 0 || b->embed)
            return unsupported(v, &root, 1, NULL, body, n);
        if (graft__kit_pyjson_utf8(body, n) != 0) { /* bytes.decode() fails in FastAPI's handler */
            v->fails = 1;
            v->nerr++;
            return 0;
        }
        graft__kit_error e = {.type = GRAFT__KIT_E_MODEL_ATTRIBUTES_TYPE,
                              .input = {.kind = GRAFT__KIT_V_STR, .s = body, .n = n}};
        return report(&w, &e, NULL);
    }
    /* a raw NUL is never JSON for Python (a control character in a string, else no token),
     * but Jansson can take one between tokens: such a body goes Python's way */
    json_error_t je;
    json_t *doc = memchr(body, 0, n) ? NULL : json_loadb(body, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        /* graft declines; graft-serve answers what Python's json.loads says (pyjson.h):
         * FastAPI's json_invalid with Python's message and character position, or its 400
         * for a body that is not UTF-8; what Python reads (NaN, huge numbers, lone
         * surrogates, a BOM, ...) stays unsupported */
        size_t pos = 0, tn = 0;
        const char *msg = NULL;
        char *text = NULL; /* the body as json.loads decodes it (UTF-16/32, a BOM) */
        int py = v->has_app ? GRAFT__KIT_UNSUPPORTED : graft__kit_pyjson_decode(body, n, &text, &tn);
        if (py == 0)
            py = graft__kit_pyjson_scan(text, tn, &pos, &msg);
        if (py == GRAFT__PYJSON_OK)
            doc = graft__body_bigint_doc(text, tn);
        free(text);
        if (py == -ENOMEM)
            return py;
        if (py == GRAFT__PYJSON_INVALID || py == GRAFT__PYJSON_UNICODE)
            return answer_alone(v, &root, msg, pos, py == GRAFT__PYJSON_UNICODE);
        if (!doc)
            return unsupported(v, &root, 1, NULL, body, n);
    }
    if (graft__body_depth(doc, 2 * GRAFT__BODY_MAX_DEPTH) > 2 * GRAFT__BODY_MAX_DEPTH) {
        json_decref(doc);
        return unsupported(v, &root, 1, NULL, body, n);
    }
    gr->body_doc = doc;
    return check(&w, b, doc);
}
