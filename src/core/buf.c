#include "buf.h"

#include <errno.h>
#include <stdlib.h>

int graft__buf_reserve(graft__buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;
    /* Reclaim consumed space before growing: pipelined input and partial
     * writes leave a prefix that is never read again. */
    if (b->off > 0) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= n)
            return 0;
    }
    size_t need = b->len + n;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) {
        if (cap > ((size_t)-1) / 2)
            return -ENOMEM;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int graft__buf_append(graft__buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = graft__buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void graft__buf_free(graft__buf *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}
