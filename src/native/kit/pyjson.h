/* What Python's json.loads(bytes) makes of a request body that Jansson refused, so graft-serve
 * can answer malformed JSON as FastAPI 0.165 does: the JSONDecodeError's message and character
 * position (FastAPI's json_invalid entry), or the UnicodeDecodeError FastAPI turns into a 400.
 * It follows CPython 3.11's C scanner (Modules/_json.c) and json.decoder: whitespace is
 * " \t\n\r", strings are strict (no control characters), NaN/Infinity/-Infinity are values,
 * numbers are read by _match_number and never fail but for a missing digit. */
#ifndef GRAFT_KIT_PYJSON_H
#define GRAFT_KIT_PYJSON_H

#include <stddef.h>

/* Results of graft__kit_pyjson_error. */
enum {
    GRAFT__PYJSON_OK = 0,      /* Python reads the body (Jansson's refusal is its own) */
    GRAFT__PYJSON_INVALID = 1, /* JSONDecodeError: *msg (static text) at character *pos */
    GRAFT__PYJSON_UNICODE = 2  /* UnicodeDecodeError: the body is not UTF-8 */
};

/* Judges the n bytes of body as json.loads(body) would. Returns one of the values above, or
 * GRAFT__KIT_UNSUPPORTED where Python's answer is not reproduced: a BOM or the NUL bytes that
 * make json.loads pick UTF-16/32, surrogates encoded in UTF-8 (decoded with surrogatepass),
 * nesting deeper than 500 (Python's RecursionError). */
int graft__kit_pyjson_error(const char *body, size_t n, size_t *pos, const char **msg);
/* The n bytes of body as UTF-8 decoded by Python with errors="surrogatepass": 0 valid, 1 invalid
 * (a UnicodeDecodeError), 2 valid but holding encoded surrogates (strict decoding fails). */
int graft__kit_pyjson_utf8(const char *body, size_t n);

#endif
