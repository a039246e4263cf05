/* The graft_body_* getters: a field by its path from the body's root ("price",
 * "address.city", "lines.0.qty": dots between field names, a list item by its index), walked
 * through the body schema and the body graft_validate parsed together. The value is the JSON
 * value coerced again as graft_validate judged it (so "5" in an int field reads 5), or the
 * field's default when absent. A wrong path or type gives 0 / NULL. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "contract_arg.h"
#include "contract_body.h"
#include "native_req.h"

/* The schema node and JSON value at path (NULL: absent; a JSON null: None), only after a
 * GRAFT_OK. A path through an absent or null model or list leads nowhere (NULL): the field
 * of a missing model has no value, not its default. */
static const graft__bnode *at(graft_request *gr, const char *path, json_t **out)
{
    if (!gr || !path || !gr->validated || gr->vresult != GRAFT_OK || !gr->body_doc)
        return NULL;
    size_t i = (size_t)(gr->route - gr->nat->router.routes);
    const graft__contract *c = gr->nat->route_contract && i < gr->nat->router.n ? gr->nat->route_contract[i] : NULL;
    const graft__bnode *b = c ? c->body : NULL;
    json_t *j = (json_t *)gr->body_doc;
    for (const char *s = path; b;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        const graft__bnode *next = NULL;
        if (!j || json_is_null(j))
            return NULL;
        if (b->kind == GRAFT__B_OBJECT) {
            for (size_t k = 0; k < b->nfields && !next; k++)
                if (strlen(b->fields[k].name) == n && memcmp(b->fields[k].name, s, n) == 0) {
                    next = &b->fields[k].node;
                    j = json_is_object(j) ? json_object_getn(j, s, n) : NULL;
                }
        } else if (b->kind == GRAFT__B_LIST && n > 0 && n < 20 && strspn(s, "0123456789") >= n) {
            next = b->items;
            j = json_array_get(j, (size_t)strtoull(s, NULL, 10)); /* NULL past the end */
            if (!j)
                return NULL;
        }
        b = next;
        if (!dot)
            break;
        s = dot + 1;
    }
    *out = j;
    return b;
}

/* The scalar at path of a type in mask: from the body, or the field's default when absent. */
static int scalar(graft_request *gr, const char *path, unsigned mask, graft__arg_val *v)
{
    json_t *j = NULL;
    const graft__bnode *b = at(gr, path, &j);
    graft__kit_error e = {0};
    if (!b || b->kind != GRAFT__B_SCALAR || !(mask & (1u << b->scalar.type)) || json_is_null(j))
        return 0;
    if (j)
        return graft__body_scalar(&b->scalar, j, v, &e) == 0;
    if (!b->scalar.has_default)
        return 0;
    *v = (graft__arg_val){.i = b->scalar.def_i, .f = b->scalar.def_f, .b = b->scalar.def_b, .s = b->scalar.def_s,
                          .n = b->scalar.def_s ? strlen(b->scalar.def_s) : 0};
    return 1;
}

/* The path of item i of the list at path, in buf ("" when it would not fit). */
static const char *item_path(char *buf, size_t cap, const char *path, size_t i)
{
    int n = snprintf(buf, cap, "%s.%zu", path ? path : "", i);
    return n > 0 && (size_t)n < cap ? buf : "";
}

#define INTS ((1u << GRAFT__T_INT) | (1u << GRAFT__T_INT_ENUM))
#define NUMS (1u << GRAFT__T_NUMBER)
#define STRS ((1u << GRAFT__T_STR) | (1u << GRAFT__T_UUID) | (1u << GRAFT__T_DATETIME) | (1u << GRAFT__T_STR_ENUM))

GRAFT_API int graft_body_has(graft_request *gr, const char *path)
{
    json_t *j = NULL;
    const graft__bnode *b = at(gr, path, &j);
    if (!b || json_is_null(j))
        return 0;
    if (j)
        return 1;
    return b->kind == GRAFT__B_SCALAR ? b->scalar.has_default : b->kind == GRAFT__B_LIST && b->list_default;
}

GRAFT_API int64_t graft_body_int(graft_request *gr, const char *path)
{
    graft__arg_val v;
    return scalar(gr, path, INTS, &v) ? v.i : 0;
}

GRAFT_API double graft_body_number(graft_request *gr, const char *path)
{
    graft__arg_val v;
    return scalar(gr, path, NUMS, &v) ? v.f : 0.0;
}

GRAFT_API int graft_body_bool(graft_request *gr, const char *path)
{
    graft__arg_val v;
    return scalar(gr, path, 1u << GRAFT__T_BOOL, &v) ? v.b : 0;
}

GRAFT_API const char *graft_body_str(graft_request *gr, const char *path, size_t *len)
{
    graft__arg_val v;
    if (!scalar(gr, path, STRS, &v))
        return NULL;
    if (len)
        *len = v.n;
    return v.s;
}

GRAFT_API size_t graft_body_count(graft_request *gr, const char *path)
{
    json_t *j = NULL;
    const graft__bnode *b = at(gr, path, &j);
    return b && b->kind == GRAFT__B_LIST ? json_array_size(j) : 0;
}

GRAFT_API int64_t graft_body_int_at(graft_request *gr, const char *path, size_t i)
{
    char p[512];
    return graft_body_int(gr, item_path(p, sizeof p, path, i));
}

GRAFT_API double graft_body_number_at(graft_request *gr, const char *path, size_t i)
{
    char p[512];
    return graft_body_number(gr, item_path(p, sizeof p, path, i));
}

GRAFT_API const char *graft_body_str_at(graft_request *gr, const char *path, size_t i, size_t *len)
{
    char p[512];
    return graft_body_str(gr, item_path(p, sizeof p, path, i), len);
}
