/* The decoded path native routes match (path_decode.c). */
#ifndef GRAFT__PATH_DECODE_H
#define GRAFT__PATH_DECODE_H

#include <stddef.h>

/* Writes into dst (cap bytes, no NUL added) the path as the app sees it in scope["path"]:
 * src percent-decoded ("%zz", and a '%' without two hex digits after it, stay as they are,
 * like urllib's unquote; "%00" is a NUL byte, "%2F" a '/'), then every invalid UTF-8 sequence
 * replaced by U+FFFD the way Python's bytes.decode("utf-8", "replace") does. Returns the
 * length, or -1 when it does not fit in cap. A request's path (ASCII VCHARs, per the parser)
 * never grows: cap = n always fits; a raw byte >= 0x80 may take 3. */
long graft__path_decode(char *dst, size_t cap, const char *src, size_t n);

#endif
