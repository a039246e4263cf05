/* The comparison rule (capture.h): the one definition of "the same answer" that shadow mode,
 * `graft diff` and the differential tests share, so a difference one reports is a difference
 * in all three. */
#include <stdlib.h>
#include <string.h>

#include "capture.h"

/* Fields the rule leaves out: date and server differ between any two servers by design, and
 * content-length / transfer-encoding only say how the body was framed, which the body's total
 * length is compared for instead. Names are stored lowercased, so bytes compare exactly. */
static int ignored(const graft__field *f)
{
    return GRAFT__LIT_EQ(f->name, f->name_len, "date") || GRAFT__LIT_EQ(f->name, f->name_len, "server") ||
           GRAFT__LIT_EQ(f->name, f->name_len, "content-length") ||
           GRAFT__LIT_EQ(f->name, f->name_len, "transfer-encoding");
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);
    if (r)
        return r;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

/* A total order on fields (name, then value), so two sorted lists are equal as multisets
 * exactly when they are equal element by element. */
static int cmp_field(const void *x, const void *y)
{
    const graft__field *a = *(const graft__field *const *)x, *b = *(const graft__field *const *)y;
    int r = cmp_bytes(a->name, a->name_len, b->name, b->name_len);
    return r ? r : cmp_bytes(a->value, a->value_len, b->value, b->value_len);
}

/* Fills out with the compared fields of c (at most GRAFT__CAPTURE_MAX_FIELDS), sorted. */
static size_t compared(const graft__capture *c, const graft__field **out)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nfields && n < GRAFT__CAPTURE_MAX_FIELDS; i++)
        if (!ignored(&c->fields[i]))
            out[n++] = &c->fields[i];
    qsort(out, n, sizeof *out, cmp_field);
    return n;
}

/* Whether two heads hold the same fields in the same order, byte for byte. */
static int identical(const graft__capture *a, const graft__capture *b)
{
    if (a->nfields != b->nfields)
        return 0;
    for (size_t i = 0; i < a->nfields; i++)
        if (cmp_field(&(const graft__field *){&a->fields[i]}, &(const graft__field *){&b->fields[i]}))
            return 0;
    return 1;
}

static int same_headers(const graft__capture *a, const graft__capture *b)
{
    /* A truncated head hides fields the rule cannot see, so it is "the same" only when both
     * sides were cut and what was kept is identical, order included: the likely case of one
     * producer's oversized head given twice. One cut side against a whole one is a difference:
     * the bounds are far above what real handlers send. */
    if (a->truncated_head || b->truncated_head)
        return a->truncated_head && b->truncated_head && identical(a, b);
    const graft__field *fa[GRAFT__CAPTURE_MAX_FIELDS], *fb[GRAFT__CAPTURE_MAX_FIELDS];
    size_t na = compared(a, fa), nb = compared(b, fb);
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (cmp_field(&fa[i], &fb[i]))
            return 0;
    return 1;
}

static int same_body(const graft__capture *a, const graft__capture *b)
{
    if (a->body_total != b->body_total)
        return 0;
    /* With equal totals each side kept min(total, its cap) bytes: comparing the shorter prefix
     * is comparing both under the same (the smaller) cap. */
    size_t na = graft__buf_avail(&a->body), nb = graft__buf_avail(&b->body);
    size_t n = na < nb ? na : nb;
    return n == 0 || memcmp(graft__buf_head(&a->body), graft__buf_head(&b->body), n) == 0;
}

unsigned graft__compare(const graft__capture *a, const graft__capture *b)
{
    unsigned d = 0;
    if (a->status != b->status)
        d |= GRAFT__DIFF_STATUS;
    if (!same_headers(a, b))
        d |= GRAFT__DIFF_HEADERS;
    if (!same_body(a, b))
        d |= GRAFT__DIFF_BODY;
    return d;
}
