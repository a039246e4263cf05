/* The porting kit's scalar layer: Pydantic v2's lax-mode coercion (pydantic 2.14,
 * pydantic-core 2.50) of one input value to int, float, bool, str, uuid or an enum member,
 * and the numeric and length constraints, as pure functions that allocate nothing.
 *
 * Every function returns GRAFT__KIT_OK with the value written, a validation error type
 * (> 0, enum graft__kit_err, the "type" of Pydantic's error), or a negative code:
 * GRAFT__KIT_UNSUPPORTED when the kit cannot reproduce Pydantic's answer exactly (the caller
 * then declines the request to the app), -EINVAL for a bad argument. docs/KIT.md has the
 * accepted forms per type. */
#ifndef GRAFT__KIT_COERCE_H
#define GRAFT__KIT_COERCE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define GRAFT__KIT_OK 0
/* The kit cannot give Pydantic's exact answer: decline (-EOPNOTSUPP). */
#define GRAFT__KIT_UNSUPPORTED (-EOPNOTSUPP)

/* Pydantic's error types the kit produces or builds entries for (errors.h). */
enum graft__kit_err {
    GRAFT__KIT_E_MISSING = 1,
    GRAFT__KIT_E_INT_PARSING,
    GRAFT__KIT_E_INT_FROM_FLOAT,
    GRAFT__KIT_E_FLOAT_PARSING,
    GRAFT__KIT_E_BOOL_PARSING,
    GRAFT__KIT_E_GREATER_THAN,
    GRAFT__KIT_E_GREATER_THAN_EQUAL,
    GRAFT__KIT_E_LESS_THAN,
    GRAFT__KIT_E_LESS_THAN_EQUAL,
    GRAFT__KIT_E_MULTIPLE_OF,
    GRAFT__KIT_E_STRING_TOO_SHORT,
    GRAFT__KIT_E_STRING_TOO_LONG,
    GRAFT__KIT_E_STRING_PATTERN_MISMATCH,
    GRAFT__KIT_E_ENUM,
    GRAFT__KIT_E_STRING_TYPE,
    GRAFT__KIT_E_INT_TYPE,
    GRAFT__KIT_E_FLOAT_TYPE,
    GRAFT__KIT_E_BOOL_TYPE,
    GRAFT__KIT_E_MODEL_ATTRIBUTES_TYPE,
    GRAFT__KIT_E_LIST_TYPE,
    GRAFT__KIT_E_TOO_SHORT,
    GRAFT__KIT_E_TOO_LONG,
    GRAFT__KIT_E_JSON_INVALID,
    GRAFT__KIT_E_EXTRA_FORBIDDEN,
    GRAFT__KIT_E_FINITE_NUMBER, /* a body field with allow_inf_nan=False (x-graft-allow-inf-nan) */
    GRAFT__KIT_E_INT_PARSING_SIZE, /* an int text of more than 4300 digits (Python's limit) */
    GRAFT__KIT_E_COUNT /* one past the last */
};

/* What an input value is: a string (query, path, header, cookie values; JSON strings), or a
 * JSON scalar as json.loads gives it, or any other JSON (array, object) as its text. */
typedef enum graft__kit_kind {
    GRAFT__KIT_V_NULL,
    GRAFT__KIT_V_BOOL,
    GRAFT__KIT_V_INT,   /* a JSON integer that fits int64 (the JSON layer declines others) */
    GRAFT__KIT_V_FLOAT, /* a JSON number with a fraction or exponent */
    GRAFT__KIT_V_STR,   /* valid UTF-8, n bytes, not NUL-terminated */
    GRAFT__KIT_V_RAW    /* an array or object: s holds its JSON text as FastAPI writes it */
} graft__kit_kind;

/* One input value; the strings are borrowed, never copied. */
typedef struct graft__kit_value {
    graft__kit_kind kind;
    int b;
    int64_t i;
    double f;
    const char *s;
    size_t n;
} graft__kit_value;

/* Lax int from a string: Unicode whitespace trimmed, sign, leading zeros, single underscores
 * between digits, and a ".000" fraction of zeros. A value outside int64 is UNSUPPORTED
 * (Python's ints are unbounded), as is a sign after leading zeros ("0-47", which Pydantic
 * reads by rules not reproduced). A text over 4300 bytes (Python's own limit) is
 * int_parsing_size when it is a bare decimal ("-"?[1-9][0-9]*) of more than 4300 digits,
 * else UNSUPPORTED. */
int graft__kit_int_from_str(const char *s, size_t n, int64_t *out);

/* The canonical decimal text of an int text that graft__kit_int_from_str accepts, or declines
 * only for lying outside int64: what Python's str() prints for the int Pydantic makes of it
 * ("-" for a negative value, then digits without leading zeros). out has room for n + 1 bytes
 * and at least 21; it is NUL-terminated, *len its length, *beyond 1 above int64, -1 below, 0
 * inside. Returns GRAFT__KIT_OK, or graft__kit_int_from_str's error or UNSUPPORTED. */
int graft__kit_int_text(const char *s, size_t n, char *out, size_t *len, int *beyond);

/* Lax float from a string: Unicode whitespace trimmed, or else underscores (not first, last
 * or doubled) dropped (Pydantic takes one or the other, never both); then Rust's f64
 * grammar: digits with '.' and exponent, inf, infinity and nan in any case, each with a
 * sign. Correctly rounded; overflow gives +-inf. -ENOMEM when a text over 127 bytes cannot
 * be copied for strtod. */
int graft__kit_float_from_str(const char *s, size_t n, double *out);

/* Lax bool from a string: exactly one of 0 off f false n no / 1 on t true y yes, in any
 * ASCII case, without whitespace. */
int graft__kit_bool_from_str(const char *s, size_t n, int *out);

/* Lax int from any input: bool, int, a float without fraction (int_from_float otherwise; a
 * non-finite one or one outside int64 is UNSUPPORTED), a string as above; else int_type. */
int graft__kit_to_int(const graft__kit_value *in, int64_t *out);

/* Lax float from any input: bool, int, float, a string as above; else float_type. */
int graft__kit_to_float(const graft__kit_value *in, double *out);

/* Lax bool from any input: bool, int 0/1 (bool_parsing otherwise), float 0.0/1.0
 * (another integral float inside int64: bool_parsing; any other: bool_type), a string as
 * above; else bool_type. */
int graft__kit_to_bool(const graft__kit_value *in, int *out);

/* Str from any input: only a string is one (lax mode turns no number into a string);
 * else string_type. */
int graft__kit_to_str(const graft__kit_value *in, const char **s, size_t *n);

/* Which bounds a rules struct sets (bit flags in .has). */
#define GRAFT__KIT_GT 1u
#define GRAFT__KIT_GE 2u
#define GRAFT__KIT_LT 4u
#define GRAFT__KIT_LE 8u
#define GRAFT__KIT_MULTIPLE_OF 16u
#define GRAFT__KIT_MIN_LENGTH 32u
#define GRAFT__KIT_MAX_LENGTH 64u
#define GRAFT__KIT_PATTERN 128u

/* An int's constraints; multiple_of must be > 0. */
typedef struct graft__kit_int_rules {
    unsigned has;
    int64_t gt, ge, lt, le, multiple_of;
} graft__kit_int_rules;

/* A float's constraints; multiple_of must be finite and > 0 (Pydantic refuses others). */
typedef struct graft__kit_float_rules {
    unsigned has;
    double gt, ge, lt, le, multiple_of;
} graft__kit_float_rules;

/* A string's constraints: lengths in code points; a NUL-terminated pattern in the subset of
 * Rust's regex that pattern.h reproduces (any other is UNSUPPORTED once the lengths pass). */
typedef struct graft__kit_str_rules {
    unsigned has;
    size_t min_length, max_length;
    const char *pattern;
} graft__kit_str_rules;

/* Checks v against r in Pydantic's order (multiple_of, le, lt, ge, gt): GRAFT__KIT_OK or
 * the first failing constraint's error type; -EINVAL for a multiple_of <= 0. */
int graft__kit_int_check(const graft__kit_int_rules *r, int64_t v);

/* For an int text that graft__kit_int_from_str declines only because it lies outside int64
 * (valid in Pydantic's grammar, at most 4300 significant digits): the error r gives it, as
 * Pydantic checks the big integer (multiple_of by its remainder; then above int64: le, then
 * lt; below: ge, then gt). UNSUPPORTED for any other text, or when r lets it pass (a valid
 * value: GRAFT_ROUTE_WIDE_INT routes take it, see graft__kit_int_text). */
int graft__kit_int_beyond_check(const graft__kit_int_rules *r, const char *s, size_t n);

/* As graft__kit_int_check, for a float: NaN fails every bound and passes multiple_of, as in
 * Pydantic; multiple_of is Pydantic's tolerant test (within 1e-9 of round(v / m) * m). */
int graft__kit_float_check(const graft__kit_float_rules *r, double v);

/* Checks a string against r: lengths first, then the pattern (searched anywhere unless
 * anchored, as Pydantic's Regex::is_match); invalid UTF-8 is UNSUPPORTED (Python would count
 * its U+FFFD replacements), as is a pattern outside the subset or \d \w \s on non-ASCII. */
int graft__kit_str_check(const graft__kit_str_rules *r, const char *s, size_t n);

/* A UUID from a string, in the forms Pydantic accepts (docs/KIT.md): 16 bytes in out. A
 * string it refuses is UNSUPPORTED: uuid_parsing's messages are not reproduced. */
int graft__kit_uuid_from_str(const char *s, size_t n, uint8_t out[16]);

/* Index of the str-enum member equal to the input (a string, byte for byte); enum
 * otherwise, whatever the input's kind (1 is not the member "1"). */
int graft__kit_enum_str(const char *const *members, size_t count, const graft__kit_value *in,
                        size_t *index);

/* Index of the int-enum member equal to the input coerced as a lax int; enum when it is not
 * one or does not parse; UNSUPPORTED when the int coercion is. */
int graft__kit_enum_int(const int64_t *members, size_t count, const graft__kit_value *in,
                        size_t *index);

/* Pydantic's name for an error type ("int_parsing"), or NULL when out of range. */
const char *graft__kit_err_name(int type);

#endif
