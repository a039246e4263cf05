/* graft-serve --openapi FILE: the document read once at start-up, its contracts attached to
 * the native routes, and the refusal to start when a route graft-serve serves uses a
 * construct the kit does not reproduce exactly (there is no app to decline it to). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_openapi.h"

int graft__serve_read_openapi(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "graft-serve: --openapi %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *nb = cap < ((size_t)1 << 30) ? realloc(buf, 2 * cap + 1) : NULL; /* 1 GiB: no document */
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "graft-serve: --openapi %s: %s\n", path, buf ? "read error" : "too large or out of memory");
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

int graft__serve_set_contracts(graft__native *nat, const char *text, size_t len, int report)
{
    graft__buf rep = {0};
    char err[512] = "";
    int rc = graft__native_set_contracts(nat, text, len, 0, &rep, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "graft-serve: --openapi: %s\n", err);
        graft__buf_free(&rep);
        return -1;
    }
    const char *p = graft__buf_avail(&rep) ? graft__buf_head(&rep) : "";
    const char *end = p + graft__buf_avail(&rep);
    int verbose = getenv("GRAFT_SERVE_DEBUG") != NULL;
    while (report && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        if (p[0] == 'V')
            fprintf(stderr, "WARNING:  --openapi: %.*s\n", (int)(nl - p - 2), p + 2);
        else if (p[0] == 'W')
            fprintf(stderr, "ERROR:    Native route %.*s (graft-serve has no app to decline to)\n",
                    (int)(nl - p - 2), p + 2);
        else if (verbose)
            fprintf(stderr, "DEBUG:    Native route %.*s\n", (int)(nl - p - 2), p + 2);
        p = nl + 1;
    }
    graft__buf_free(&rep);
    return rc > 0 ? 1 : 0;
}
