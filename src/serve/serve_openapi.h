/* graft-serve --openapi FILE: route contracts with no Python in the process. */
#ifndef GRAFT__SERVE_OPENAPI_H
#define GRAFT__SERVE_OPENAPI_H

#include <stddef.h>

#include "../native/native.h"

/* Reads the whole file at path into *text (malloc'd, NUL-terminated; *len bytes). Returns 0,
 * or -1 after printing why to stderr. */
int graft__serve_read_openapi(const char *path, char **text, size_t *len);

/* Sets the contracts of nat's routes from the document (no app behind: graft_validate never
 * declines). With report, prints the start-up report to stderr: a debug line per route only
 * when verbose, an error per route whose contract the kit does not reproduce. Returns 0, 1
 * when a route's contract is unsupported (graft-serve must then refuse to start), or -1 on
 * a bad document (printed). */
int graft__serve_set_contracts(graft__native *nat, const char *text, size_t len, int report);

#endif
