/* JSON string escaping, shared by the handlers' JSON writer (src/native/json.c) and the
 * shadow-mode mismatch lines (shadow_line.c): one escaper, so both write the same text. */
#ifndef GRAFT__JSON_STR_H
#define GRAFT__JSON_STR_H

#include <stddef.h>

#include "buf.h"

/* Appends the n bytes at s to out as a quoted JSON string (RFC 8259): '"', '\' and control
 * characters escaped, other bytes as they are, every maximal invalid UTF-8 subpart replaced by
 * one U+FFFD, so the text is always valid UTF-8. Returns 0, or -ENOMEM (out may then hold a
 * partial string: callers discard the whole buffer). */
int graft__json_str(graft__buf *out, const char *s, size_t n);

#endif
