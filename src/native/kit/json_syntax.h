/* Python's json.loads errors for malformed documents: FastAPI's json_invalid entry quotes the
 * decoder's message ("Expecting value") and character position (["body", 5]), which a strict
 * C parser (Jansson) words and counts otherwise. This scanner follows CPython 3.11's C
 * scanner (Modules/_json.c) and the decoder around it (Lib/json/decoder.py) token by token,
 * only to find the first error: values are not built. */
#ifndef GRAFT__KIT_JSON_SYNTAX_H
#define GRAFT__KIT_JSON_SYNTAX_H

#include <stddef.h>

/* Scans the n bytes of s (UTF-8) as json.loads(s) would. Returns 1 when Python raises
 * JSONDecodeError, with *msg its message (a static string) and *pos its position in code
 * points; 0 when Python parses the document (it may still be one that Jansson refuses: NaN,
 * Infinity, a lone surrogate, duplicate keys); GRAFT__KIT_UNSUPPORTED when Python's answer is
 * another error or not reproduced: invalid UTF-8 (UnicodeDecodeError), a BOM or the NUL bytes
 * of UTF-16/32 (json.loads decodes them), nesting deeper than 256 (RecursionError near 1000,
 * depending on the stack). */
int graft__kit_json_pyerror(const char *s, size_t n, const char **msg, size_t *pos);

#endif
