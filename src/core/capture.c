/* One captured response (capture.h): what a producer would have sent, kept in memory so
 * shadow mode can compare it with the answer the client got. Every part is bounded: the head
 * by field count and bytes, the body by the cap given at init; only the length is unbounded. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

void graft__capture_init(graft__capture *c, size_t body_cap)
{
    memset(c, 0, sizeof *c);
    c->body_cap = body_cap ? body_cap : GRAFT__CAPTURE_BODY_CAP_DEFAULT;
}

void graft__capture_free(graft__capture *c)
{
    size_t cap = c->body_cap;
    free(c->fields);
    graft__buf_free(&c->head);
    graft__buf_free(&c->body);
    graft__capture_init(c, cap);
}

/* Points every field at its bytes again: appending may have moved head's memory. Names and
 * values are stored back to back in field order, so the lengths alone locate them. */
static void relink(graft__capture *c)
{
    const char *p = graft__buf_head(&c->head);
    for (size_t i = 0; i < c->nfields; i++) {
        c->fields[i].name = p;
        p += c->fields[i].name_len;
        c->fields[i].value = p;
        p += c->fields[i].value_len;
    }
}

int graft__capture_head(graft__capture *c, int status, const graft__field *fields, size_t n)
{
    c->status = status;
    if (n == 0)
        return 0;
    if (!c->fields) {
        /* allocated at its bound once: at most 100 small structs, and no growth path */
        c->fields = calloc(GRAFT__CAPTURE_MAX_FIELDS, sizeof *c->fields);
        if (!c->fields) {
            c->truncated_head = 1;
            return -ENOMEM;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const graft__field *f = &fields[i];
        size_t used = graft__buf_avail(&c->head);
        if (c->nfields == GRAFT__CAPTURE_MAX_FIELDS || f->name_len > GRAFT__CAPTURE_MAX_HEAD_BYTES ||
            f->value_len > GRAFT__CAPTURE_MAX_HEAD_BYTES - f->name_len ||
            used > GRAFT__CAPTURE_MAX_HEAD_BYTES - f->name_len - f->value_len) {
            c->truncated_head = 1;
            break;
        }
        if (graft__buf_reserve(&c->head, f->name_len + f->value_len) < 0) {
            c->truncated_head = 1;
            rc = -ENOMEM;
            break;
        }
        char *d = c->head.data + c->head.len;
        for (size_t k = 0; k < f->name_len; k++) {
            char ch = f->name[k];
            d[k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + ('a' - 'A')) : ch;
        }
        if (f->value_len)
            memcpy(d + f->name_len, f->value, f->value_len);
        c->head.len += f->name_len + f->value_len;
        c->fields[c->nfields].name_len = f->name_len;
        c->fields[c->nfields].value_len = f->value_len;
        c->nfields++;
    }
    relink(c);
    return rc;
}

int graft__capture_header_lines(graft__capture *c, int status, const char *lines, size_t len)
{
    /* one more than the bound, so a longer list is seen as truncated */
    graft__field fs[GRAFT__CAPTURE_MAX_FIELDS + 1];
    size_t n = graft__fields_from_lines(lines, len, fs, GRAFT__CAPTURE_MAX_FIELDS + 1);
    if (n > GRAFT__CAPTURE_MAX_FIELDS + 1)
        n = GRAFT__CAPTURE_MAX_FIELDS + 1;
    return graft__capture_head(c, status, fs, n);
}

void graft__capture_body(graft__capture *c, const void *p, size_t n)
{
    c->body_total += n;
    size_t kept = graft__buf_avail(&c->body);
    if (kept >= c->body_cap || n == 0)
        return;
    size_t take = n < c->body_cap - kept ? n : c->body_cap - kept;
    /* a failed append keeps fewer bytes; compare then sees the prefixes differ in length only
     * if the other side kept more, which graft__compare bounds to the shorter one */
    (void)graft__buf_append(&c->body, p, take);
}
