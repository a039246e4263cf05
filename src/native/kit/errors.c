/* FastAPI's 422 detail entries (errors.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "float_text.h"
#include "json_str.h"

const char *graft__kit_err_name(int type)
{
    static const char *const names[GRAFT__KIT_E_COUNT] = {
        [GRAFT__KIT_E_MISSING] = "missing",
        [GRAFT__KIT_E_INT_PARSING] = "int_parsing",
        [GRAFT__KIT_E_INT_FROM_FLOAT] = "int_from_float",
        [GRAFT__KIT_E_FLOAT_PARSING] = "float_parsing",
        [GRAFT__KIT_E_BOOL_PARSING] = "bool_parsing",
        [GRAFT__KIT_E_GREATER_THAN] = "greater_than",
        [GRAFT__KIT_E_GREATER_THAN_EQUAL] = "greater_than_equal",
        [GRAFT__KIT_E_LESS_THAN] = "less_than",
        [GRAFT__KIT_E_LESS_THAN_EQUAL] = "less_than_equal",
        [GRAFT__KIT_E_MULTIPLE_OF] = "multiple_of",
        [GRAFT__KIT_E_STRING_TOO_SHORT] = "string_too_short",
        [GRAFT__KIT_E_STRING_TOO_LONG] = "string_too_long",
        [GRAFT__KIT_E_STRING_PATTERN_MISMATCH] = "string_pattern_mismatch",
        [GRAFT__KIT_E_ENUM] = "enum",
        [GRAFT__KIT_E_STRING_TYPE] = "string_type",
        [GRAFT__KIT_E_INT_TYPE] = "int_type",
        [GRAFT__KIT_E_FLOAT_TYPE] = "float_type",
        [GRAFT__KIT_E_BOOL_TYPE] = "bool_type",
        [GRAFT__KIT_E_MODEL_ATTRIBUTES_TYPE] = "model_attributes_type",
        [GRAFT__KIT_E_LIST_TYPE] = "list_type",
        [GRAFT__KIT_E_TOO_SHORT] = "too_short",
        [GRAFT__KIT_E_TOO_LONG] = "too_long",
        [GRAFT__KIT_E_JSON_INVALID] = "json_invalid",
        [GRAFT__KIT_E_EXTRA_FORBIDDEN] = "extra_forbidden",
        [GRAFT__KIT_E_FINITE_NUMBER] = "finite_number",
        [GRAFT__KIT_E_INT_PARSING_SIZE] = "int_parsing_size",
    };
    return type > 0 && type < GRAFT__KIT_E_COUNT ? names[type] : NULL;
}

#define PUT(out, lit) graft__buf_append((out), GRAFT__STRLIT(lit))

/* A Python int as json.dumps writes it. */
static int put_int(graft__buf *out, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%" PRId64, v);
    return graft__buf_append(out, t, (size_t)n);
}

static int put_size(graft__buf *out, size_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%zu", v);
    return graft__buf_append(out, t, (size_t)n);
}

/* A value as json.dumps writes the Python object json.loads (or the query string) gave. */
static int put_value(graft__buf *out, const graft__kit_value *v)
{
    char t[GRAFT__KIT_FLOAT_MAX];
    switch (v->kind) {
    case GRAFT__KIT_V_NULL:
        return PUT(out, "null");
    case GRAFT__KIT_V_BOOL:
        return v->b ? PUT(out, "true") : PUT(out, "false");
    case GRAFT__KIT_V_INT:
        return put_int(out, v->i);
    case GRAFT__KIT_V_FLOAT:
        if (!isfinite(v->f))
            return GRAFT__KIT_UNSUPPORTED; /* allow_nan=False: FastAPI raises */
        return graft__buf_append(out, t, graft__kit_float_repr(v->f, t));
    case GRAFT__KIT_V_STR:
        return graft__json_str(out, v->s, v->n);
    case GRAFT__KIT_V_RAW:
        return graft__buf_append(out, v->s, v->n);
    }
    return -EINVAL;
}

/* A limit as Pydantic's message shows it: an int in decimal, a float as Rust's Display. */
static int put_limit_msg(graft__buf *out, const graft__kit_value *v)
{
    char t[GRAFT__KIT_FLOAT_MAX];
    if (v->kind == GRAFT__KIT_V_INT)
        return put_int(out, v->i);
    return graft__buf_append(out, t, graft__kit_float_display(v->f, t));
}

/* The message of e's type, which for some types interpolates its ctx. */
static int put_msg(graft__buf *out, const graft__kit_error *e)
{
    static const char *const fixed[GRAFT__KIT_E_COUNT] = {
        [GRAFT__KIT_E_MISSING] = "Field required",
        [GRAFT__KIT_E_INT_PARSING] = "Input should be a valid integer, unable to parse string as an integer",
        [GRAFT__KIT_E_INT_FROM_FLOAT] = "Input should be a valid integer, got a number with a fractional part",
        [GRAFT__KIT_E_FLOAT_PARSING] = "Input should be a valid number, unable to parse string as a number",
        [GRAFT__KIT_E_BOOL_PARSING] = "Input should be a valid boolean, unable to interpret input",
        [GRAFT__KIT_E_STRING_TYPE] = "Input should be a valid string",
        [GRAFT__KIT_E_INT_TYPE] = "Input should be a valid integer",
        [GRAFT__KIT_E_FLOAT_TYPE] = "Input should be a valid number",
        [GRAFT__KIT_E_BOOL_TYPE] = "Input should be a valid boolean",
        [GRAFT__KIT_E_MODEL_ATTRIBUTES_TYPE] = "Input should be a valid dictionary or object to extract fields from",
        [GRAFT__KIT_E_LIST_TYPE] = "Input should be a valid list",
        [GRAFT__KIT_E_JSON_INVALID] = "JSON decode error",
        [GRAFT__KIT_E_EXTRA_FORBIDDEN] = "Extra inputs are not permitted",
        [GRAFT__KIT_E_FINITE_NUMBER] = "Input should be a finite number",
        [GRAFT__KIT_E_INT_PARSING_SIZE] = "Unable to parse input string as an integer, exceeded maximum size",
    };
    static const char *const bound[GRAFT__KIT_E_COUNT] = {
        [GRAFT__KIT_E_GREATER_THAN] = "Input should be greater than ",
        [GRAFT__KIT_E_GREATER_THAN_EQUAL] = "Input should be greater than or equal to ",
        [GRAFT__KIT_E_LESS_THAN] = "Input should be less than ",
        [GRAFT__KIT_E_LESS_THAN_EQUAL] = "Input should be less than or equal to ",
        [GRAFT__KIT_E_MULTIPLE_OF] = "Input should be a multiple of ",
    };
    int t = e->type, rc;
    if (fixed[t]) /* most messages are constant: no assembly */
        return graft__json_str(out, fixed[t], strlen(fixed[t]));
    graft__buf m = {0}; /* the message is built apart, then escaped as one JSON string */
    if (bound[t]) {
        rc = graft__buf_append(&m, bound[t], strlen(bound[t]));
        if (rc == 0)
            rc = put_limit_msg(&m, &e->limit);
    } else if (t == GRAFT__KIT_E_STRING_TOO_SHORT || t == GRAFT__KIT_E_STRING_TOO_LONG) {
        rc = t == GRAFT__KIT_E_STRING_TOO_SHORT ? PUT(&m, "String should have at least ")
                                                 : PUT(&m, "String should have at most ");
        if (rc == 0)
            rc = put_size(&m, e->length);
        if (rc == 0)
            rc = e->length == 1 ? PUT(&m, " character") : PUT(&m, " characters");
    } else if (t == GRAFT__KIT_E_TOO_SHORT || t == GRAFT__KIT_E_TOO_LONG) {
        rc = graft__buf_append(&m, e->text, e->text_n);
        if (rc == 0)
            rc = t == GRAFT__KIT_E_TOO_SHORT ? PUT(&m, " should have at least ")
                                             : PUT(&m, " should have at most ");
        if (rc == 0)
            rc = put_size(&m, e->length);
        if (rc == 0)
            rc = e->length == 1 ? PUT(&m, " item after validation, not ")
                                : PUT(&m, " items after validation, not ");
        if (rc == 0)
            rc = put_size(&m, e->actual);
    } else if (t == GRAFT__KIT_E_STRING_PATTERN_MISMATCH) {
        rc = PUT(&m, "String should match pattern '");
        if (rc == 0)
            rc = graft__buf_append(&m, e->text, e->text_n);
        if (rc == 0)
            rc = PUT(&m, "'");
    } else { /* enum */
        rc = PUT(&m, "Input should be ");
        if (rc == 0)
            rc = graft__buf_append(&m, e->text, e->text_n);
    }
    if (rc == 0)
        rc = graft__json_str(out, m.data ? graft__buf_head(&m) : "", graft__buf_avail(&m));
    graft__buf_free(&m);
    return rc < 0 ? -ENOMEM : 0;
}

/* ,"ctx":{...} for the types that have one; nothing for the others. */
static int put_ctx(graft__buf *out, const graft__kit_error *e)
{
    static const char *const bound_key[GRAFT__KIT_E_COUNT] = {
        [GRAFT__KIT_E_GREATER_THAN] = ",\"ctx\":{\"gt\":",
        [GRAFT__KIT_E_GREATER_THAN_EQUAL] = ",\"ctx\":{\"ge\":",
        [GRAFT__KIT_E_LESS_THAN] = ",\"ctx\":{\"lt\":",
        [GRAFT__KIT_E_LESS_THAN_EQUAL] = ",\"ctx\":{\"le\":",
        [GRAFT__KIT_E_MULTIPLE_OF] = ",\"ctx\":{\"multiple_of\":",
    };
    int t = e->type, rc = 0;
    if (bound_key[t]) {
        if (e->limit.kind != GRAFT__KIT_V_INT && e->limit.kind != GRAFT__KIT_V_FLOAT)
            return -EINVAL;
        rc = graft__buf_append(out, bound_key[t], strlen(bound_key[t]));
        if (rc == 0)
            rc = put_value(out, &e->limit); /* a float limit: repr, "5.0", "1e-05" */
    } else if (t == GRAFT__KIT_E_STRING_TOO_SHORT || t == GRAFT__KIT_E_STRING_TOO_LONG) {
        rc = t == GRAFT__KIT_E_STRING_TOO_SHORT ? PUT(out, ",\"ctx\":{\"min_length\":")
                                                 : PUT(out, ",\"ctx\":{\"max_length\":");
        if (rc == 0)
            rc = put_size(out, e->length);
    } else if (t == GRAFT__KIT_E_TOO_SHORT || t == GRAFT__KIT_E_TOO_LONG) {
        rc = PUT(out, ",\"ctx\":{\"field_type\":");
        if (rc == 0)
            rc = graft__json_str(out, e->text, e->text_n);
        if (rc == 0)
            rc = t == GRAFT__KIT_E_TOO_SHORT ? PUT(out, ",\"min_length\":") : PUT(out, ",\"max_length\":");
        if (rc == 0)
            rc = put_size(out, e->length);
        if (rc == 0)
            rc = PUT(out, ",\"actual_length\":");
        if (rc == 0)
            rc = put_size(out, e->actual);
    } else if (t == GRAFT__KIT_E_STRING_PATTERN_MISMATCH || t == GRAFT__KIT_E_ENUM ||
               t == GRAFT__KIT_E_JSON_INVALID) {
        rc = t == GRAFT__KIT_E_STRING_PATTERN_MISMATCH ? PUT(out, ",\"ctx\":{\"pattern\":")
             : t == GRAFT__KIT_E_ENUM                  ? PUT(out, ",\"ctx\":{\"expected\":")
                                                       : PUT(out, ",\"ctx\":{\"error\":");
        if (rc == 0)
            rc = graft__json_str(out, e->text, e->text_n);
    } else {
        return 0;
    }
    if (rc == 0)
        rc = PUT(out, "}");
    return rc;
}

int graft__kit_detail_entry(graft__buf *out, const graft__kit_error *e)
{
    if (!graft__kit_err_name(e->type))
        return -EINVAL;
    const char *name = graft__kit_err_name(e->type);
    int rc = PUT(out, "{\"type\":\"");
    if (rc == 0)
        rc = graft__buf_append(out, name, strlen(name));
    if (rc == 0)
        rc = PUT(out, "\",\"loc\":[");
    for (size_t i = 0; i < e->nloc && rc == 0; i++) {
        if (i)
            rc = PUT(out, ",");
        if (rc == 0)
            rc = e->loc[i].key ? graft__json_str(out, e->loc[i].key, e->loc[i].n)
                               : put_int(out, e->loc[i].index);
    }
    if (rc == 0)
        rc = PUT(out, "],\"msg\":");
    if (rc == 0)
        rc = put_msg(out, e);
    if (rc == 0)
        rc = PUT(out, ",\"input\":");
    if (rc == 0)
        rc = put_value(out, &e->input);
    if (rc == 0)
        rc = put_ctx(out, e);
    if (rc == 0)
        rc = PUT(out, "}");
    return rc;
}

int graft__kit_detail_body(graft__buf *out, const graft__kit_error *es, size_t n)
{
    int rc = PUT(out, "{\"detail\":[");
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i)
            rc = PUT(out, ",");
        if (rc == 0)
            rc = graft__kit_detail_entry(out, &es[i]);
    }
    if (rc == 0)
        rc = PUT(out, "]}");
    return rc;
}

/* Python's repr of a printable-ASCII str: single quotes unless it holds a ' and no ",
 * backslashes doubled, and the chosen quote escaped. */
static int put_repr(graft__buf *out, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return GRAFT__KIT_UNSUPPORTED;
    char q = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
    int rc = graft__buf_append(out, &q, 1);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (s[i] == '\\' || s[i] == q)
            rc = PUT(out, "\\");
        if (rc == 0)
            rc = graft__buf_append(out, s + i, 1);
    }
    if (rc == 0)
        rc = graft__buf_append(out, &q, 1);
    return rc;
}

int graft__kit_enum_expected(graft__buf *out, const char *const *strs, const int64_t *ints,
                             size_t count)
{
    if (!strs == !ints || count == 0)
        return -EINVAL;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (i)
            rc = i + 1 == count ? PUT(out, " or ") : PUT(out, ", ");
        if (rc == 0)
            rc = strs ? put_repr(out, strs[i]) : put_int(out, ints[i]);
    }
    return rc;
}
