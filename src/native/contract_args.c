/* The graft_arg_* getters over what graft_validate stored, and graft_respond_detail. A getter
 * asked for a name the contract lacks, or for the wrong type, returns 0 / NULL: the handler's
 * mistake must not read another parameter's memory. */
#include <string.h>

#include "contract_arg.h"
#include "json_str.h"
#include "native_req.h"

/* The stored parameter named name, only after graft_validate returned GRAFT_OK. */
static const graft__arg *arg(graft_request *gr, const char *name)
{
    if (!gr || !name || !gr->validated || gr->vresult != GRAFT_OK)
        return NULL;
    for (size_t i = 0; i < gr->nargs; i++)
        if (gr->args[i].p && strcmp(gr->args[i].p->name, name) == 0)
            return &gr->args[i];
    return NULL;
}

/* The scalar value of a present, non-list parameter of one of the types in mask. */
static const graft__arg_val *scalar(graft_request *gr, const char *name, unsigned mask)
{
    const graft__arg *a = arg(gr, name);
    if (!a || !a->has || a->p->is_list || !(mask & (1u << a->p->type)))
        return NULL;
    return &a->one;
}

/* Item i of a list parameter of one of the types in mask. */
static const graft__arg_val *item(graft_request *gr, const char *name, size_t i, unsigned mask)
{
    const graft__arg *a = arg(gr, name);
    if (!a || !a->p->is_list || i >= a->count || !(mask & (1u << a->p->type)))
        return NULL;
    return &a->items[i];
}

#define INTS ((1u << GRAFT__T_INT) | (1u << GRAFT__T_INT_ENUM))
#define NUMS (1u << GRAFT__T_NUMBER)
#define STRS ((1u << GRAFT__T_STR) | (1u << GRAFT__T_UUID) | (1u << GRAFT__T_DATETIME) | (1u << GRAFT__T_STR_ENUM))

GRAFT_API int graft_arg_has(graft_request *gr, const char *name)
{
    const graft__arg *a = arg(gr, name);
    return a && a->has;
}

GRAFT_API int64_t graft_arg_int(graft_request *gr, const char *name)
{
    const graft__arg_val *v = scalar(gr, name, INTS);
    return v ? v->i : 0;
}

GRAFT_API int graft_arg_wide(graft_request *gr, const char *name)
{
    const graft__arg_val *v = scalar(gr, name, INTS);
    return v ? v->wide : 0;
}

/* v's canonical text when it is beyond int64, else NULL. */
static const char *wide_text(const graft__arg_val *v, size_t *len)
{
    if (!v || !v->text)
        return NULL;
    if (len)
        *len = v->text_n;
    return v->text;
}

GRAFT_API const char *graft_arg_int_text(graft_request *gr, const char *name, size_t *len)
{
    return wide_text(scalar(gr, name, INTS), len);
}

GRAFT_API double graft_arg_number(graft_request *gr, const char *name)
{
    const graft__arg_val *v = scalar(gr, name, NUMS);
    return v ? v->f : 0.0;
}

GRAFT_API int graft_arg_bool(graft_request *gr, const char *name)
{
    const graft__arg_val *v = scalar(gr, name, 1u << GRAFT__T_BOOL);
    return v ? v->b : 0;
}

GRAFT_API const char *graft_arg_str(graft_request *gr, const char *name, size_t *len)
{
    const graft__arg_val *v = scalar(gr, name, STRS);
    if (v && len)
        *len = v->n;
    return v ? v->s : NULL;
}

GRAFT_API size_t graft_arg_count(graft_request *gr, const char *name)
{
    const graft__arg *a = arg(gr, name);
    return a && a->p->is_list ? a->count : 0;
}

GRAFT_API int64_t graft_arg_int_at(graft_request *gr, const char *name, size_t i)
{
    const graft__arg_val *v = item(gr, name, i, INTS);
    return v ? v->i : 0;
}

GRAFT_API int graft_arg_wide_at(graft_request *gr, const char *name, size_t i)
{
    const graft__arg_val *v = item(gr, name, i, INTS);
    return v ? v->wide : 0;
}

GRAFT_API const char *graft_arg_int_text_at(graft_request *gr, const char *name, size_t i, size_t *len)
{
    return wide_text(item(gr, name, i, INTS), len);
}

GRAFT_API double graft_arg_number_at(graft_request *gr, const char *name, size_t i)
{
    const graft__arg_val *v = item(gr, name, i, NUMS);
    return v ? v->f : 0.0;
}

GRAFT_API const char *graft_arg_str_at(graft_request *gr, const char *name, size_t i, size_t *len)
{
    const graft__arg_val *v = item(gr, name, i, STRS);
    if (v && len)
        *len = v->n;
    return v ? v->s : NULL;
}

GRAFT_API int graft_respond_detail(graft_request *gr, int status, const char *detail)
{
    if (!gr || !detail)
        return GRAFT_EINVAL;
    graft__buf b = {0};
    int rc = graft__buf_append(&b, GRAFT__STRLIT("{\"detail\":"));
    rc = rc ? rc : graft__json_str(&b, detail, strlen(detail));
    rc = rc ? rc : graft__buf_append(&b, "}", 1);
    if (rc < 0) {
        graft__buf_free(&b);
        return GRAFT_ENOMEM;
    }
    rc = graft_respond(gr, status, "application/json", graft__buf_head(&b), graft__buf_avail(&b));
    graft__buf_free(&b);
    return rc;
}
