/* The three ways a double is written as text in a FastAPI 422 or a Pydantic response:
 * Python's repr (json.dumps, so the "input" and "ctx" of an error), Rust's Display (Pydantic's
 * error messages: "greater than 0.00001") and pydantic_core's to_json. All three use the
 * shortest digits that read back as the same double; they differ only in the layout. */
#ifndef GRAFT__KIT_FLOAT_TEXT_H
#define GRAFT__KIT_FLOAT_TEXT_H

#include <stddef.h>

/* Room for any of the three texts, NUL included: Display writes 5e-324 as "0." and 323
 * digits, and 1.8e308 as 309 digits. */
#define GRAFT__KIT_FLOAT_MAX 400

/* Writes v as Python's repr(v) does ("5.0", "1e-05", "1e+16", "0.0001", "-0.0", "inf",
 * "nan") into out, NUL-terminated; returns the length. */
size_t graft__kit_float_repr(double v, char out[GRAFT__KIT_FLOAT_MAX]);

/* Writes v as Rust's `{}` does, the text of Pydantic's messages: positional, never an
 * exponent, no ".0" ("5", "-0", "0.00001", "100000000000000000000", "inf", "NaN"). */
size_t graft__kit_float_display(double v, char out[GRAFT__KIT_FLOAT_MAX]);

/* Writes v as pydantic_core.to_json does: repr's layout, but positional down to 1e-5
 * ("0.00001") and exponents unpadded ("1e-7", "1e+16"); "Infinity", "-Infinity", "NaN". */
size_t graft__kit_float_json(double v, char out[GRAFT__KIT_FLOAT_MAX]);

#endif
