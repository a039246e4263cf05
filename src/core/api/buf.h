/* Growable byte buffer with a read offset. Errors are negative errno codes;
 * nothing here aborts, because the server runs inside a Python process. */
#ifndef GRAFT__BUF_H
#define GRAFT__BUF_H

#include <stddef.h>
#include <string.h>

typedef struct graft__buf {
    char *data;
    size_t off; /* first unread byte */
    size_t len; /* end of valid bytes */
    size_t cap;
} graft__buf;

/* A string literal and its length as two arguments (h2o's H2O_STRLIT): lengths are never
 * counted by hand. Only for literals: sizeof of a pointer would be wrong. */
#define GRAFT__STRLIT(s) ("" s ""), (sizeof(s) - 1)
/* Whether the n bytes at p are exactly the literal lit (its length counted by the compiler,
 * tested first); n is evaluated twice. */
#define GRAFT__LIT_EQ(p, n, lit) ((n) == sizeof("" lit "") - 1 && memcmp((p), GRAFT__STRLIT(lit)) == 0)

/* Ensures room for n more bytes after len; may compact or reallocate. */
int graft__buf_reserve(graft__buf *b, size_t n);
/* Appends n bytes; returns 0 or -ENOMEM. */
int graft__buf_append(graft__buf *b, const void *p, size_t n);
/* Releases the memory; the buffer is empty and reusable afterwards. */
void graft__buf_free(graft__buf *b);

/* Unread bytes. */
static inline size_t graft__buf_avail(const graft__buf *b) { return b->len - b->off; }
static inline char *graft__buf_head(const graft__buf *b) { return b->data + b->off; }
/* Marks n unread bytes as consumed; resets offsets when empty so the space is reused. */
static inline void graft__buf_consume(graft__buf *b, size_t n)
{
    b->off += n;
    if (b->off == b->len)
        b->off = b->len = 0;
}

#endif
