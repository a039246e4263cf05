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

/* json.loads(bytes)'s decoding of body (n bytes): the codec json.detect_encoding picks (UTF-8,
 * or UTF-16/32 for a BOM or NULs among the first bytes; a BOM dropped), with "surrogatepass"
 * (lone surrogates kept, in their 3-byte UTF-8 forms). Returns 0 with *text (len bytes of
 * UTF-8, NUL-terminated, the caller frees it), GRAFT__PYJSON_UNICODE for a UnicodeDecodeError,
 * or -ENOMEM. */
int graft__kit_pyjson_decode(const char *body, size_t n, char **text, size_t *len);
/* Judges decoded text (n bytes) as json.loads does: GRAFT__PYJSON_OK, or GRAFT__PYJSON_INVALID
 * with *msg (static text) and *pos (in characters), or GRAFT__KIT_UNSUPPORTED for nesting
 * deeper than 500 (where Python's RecursionError may come first). */
int graft__kit_pyjson_scan(const char *text, size_t n, size_t *pos, const char **msg);
/* Both: what json.loads(body) raises, if anything (the values above, or -ENOMEM). */
int graft__kit_pyjson_error(const char *body, size_t n, size_t *pos, const char **msg);
/* The n bytes of body as UTF-8 decoded by Python with errors="surrogatepass": 0 valid, 1 invalid
 * (a UnicodeDecodeError), 2 valid but holding encoded surrogates (strict decoding fails). */
int graft__kit_pyjson_utf8(const char *body, size_t n);

#endif
