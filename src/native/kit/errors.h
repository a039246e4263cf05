/* FastAPI's 422 body, written by the kit: {"detail":[entry,...]} where each entry is
 * {"type","loc","msg","input","ctx"} exactly as FastAPI 0.165 with Pydantic 2.14 writes it
 * (jsonable_encoder(exc.errors()) through json.dumps(ensure_ascii=False, allow_nan=False,
 * separators=(",", ":"))). Message templates and ctx keys: docs/KIT.md. */
#ifndef GRAFT__KIT_ERRORS_H
#define GRAFT__KIT_ERRORS_H

#include <stddef.h>

#include "buf.h"
#include "coerce.h"

/* One step of an error's location: a key ("query", a field name) or, when key is NULL, a
 * list index or a JSON error's position. */
typedef struct graft__kit_loc {
    const char *key;
    size_t n;
    int64_t index;
} graft__kit_loc;

/* One validation error. Which ctx fields count depends on type:
 * greater_than..less_than_equal, multiple_of: limit (GRAFT__KIT_V_INT or _FLOAT);
 * string_too_short/long: length; too_short/too_long: length, actual, and text = the
 * field_type ("List"); string_pattern_mismatch: text = the pattern; enum: text = the
 * expected list (graft__kit_enum_expected); json_invalid: text = the decoder's message.
 * input is GRAFT__KIT_V_NULL for missing. */
typedef struct graft__kit_error {
    int type;
    const graft__kit_loc *loc;
    size_t nloc;
    graft__kit_value input;
    graft__kit_value limit;
    size_t length, actual;
    const char *text;
    size_t text_n;
} graft__kit_error;

/* Appends e as one detail entry to out. Returns 0; -EINVAL for an unknown type or a limit
 * of the wrong kind; GRAFT__KIT_UNSUPPORTED when FastAPI could not write it either (a
 * non-finite float in input or ctx: json.dumps(allow_nan=False) raises, the app answers
 * 500); -ENOMEM. On failure out may hold a partial entry: callers drop the buffer. */
int graft__kit_detail_entry(graft__buf *out, const graft__kit_error *e);

/* Appends {"detail":[...]} with the n entries of es, in the order given (FastAPI's: the
 * order its parameters were declared and validated). Returns as graft__kit_detail_entry. */
int graft__kit_detail_body(graft__buf *out, const graft__kit_error *es, size_t n);

/* Appends the text Pydantic shows for a set of enum members: their Python reprs joined by
 * ", " with " or " before the last ("'a', 'b' or 'c'", "1 or 2"). Exactly one of strs and
 * ints is non-NULL. Returns 0, -ENOMEM, or UNSUPPORTED when a member holds a character
 * outside printable ASCII (repr's escapes are not reproduced). */
int graft__kit_enum_expected(graft__buf *out, const char *const *strs, const int64_t *ints,
                             size_t count);

#endif
