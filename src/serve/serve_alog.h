/* graft-serve's --access-log-format: graft's gunicorn-style atoms (graft/access_format.py),
 * parsed once at start-up, rendered per response. */
#ifndef GRAFT__SERVE_ALOG_H
#define GRAFT__SERVE_ALOG_H

#include <stddef.h>

#include "req.h"

typedef struct graft__alog graft__alog;

/* Parses fmt. NULL (message in err) on an unknown atom, a stray '%' or no memory. */
graft__alog *graft__alog_parse(const char *fmt, char *err, size_t errlen);
/* Whether the format has a duration atom: only then must the engine stamp arrivals. */
int graft__alog_needs_duration(const graft__alog *f);
/* Renders r's line (no newline) into out, truncated to cap - 1 bytes; returns its length. */
size_t graft__alog_render(const graft__alog *f, const graft__req *r, int status, char *out, size_t cap);

#endif
