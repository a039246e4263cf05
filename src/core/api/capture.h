/* Captured responses and the comparison rule (issue 8, shadow mode): one response as its
 * producer described it, kept in memory instead of sent, and the one rule graft uses wherever
 * two answers are compared (shadow mode, `graft diff`, the differential tests). */
#ifndef GRAFT__CAPTURE_H
#define GRAFT__CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "response.h"

/* Bounds on a captured head: beyond either, later fields are dropped and truncated_head set. */
#define GRAFT__CAPTURE_MAX_FIELDS 100
#define GRAFT__CAPTURE_MAX_HEAD_BYTES (64 * 1024)
/* The body bytes kept when graft__capture_init is given 0. */
#define GRAFT__CAPTURE_BODY_CAP_DEFAULT (64 * 1024)

/* One captured response. Fields point into head, which is owned by the capture; names are
 * lowercased, values as given, in the producer's order. */
typedef struct graft__capture {
    int status;          /* 0 = no head captured */
    int truncated_head;  /* fields were dropped past the bounds above */
    graft__field *fields;
    size_t nfields;
    graft__buf head;     /* names and values, back to back, in field order */
    graft__buf body;     /* the first body_cap body bytes */
    size_t body_cap;
    uint64_t body_total; /* every body byte given, kept or not */
} graft__capture;

/* Empties c and sets how many body bytes it keeps (0: GRAFT__CAPTURE_BODY_CAP_DEFAULT). */
void graft__capture_init(graft__capture *c, size_t body_cap);
/* Records the status and appends n fields (names lowercased). Returns 0, or -ENOMEM with the
 * fields appended so far kept and truncated_head set. */
int graft__capture_head(graft__capture *c, int status, const graft__field *fields, size_t n);
/* As graft__capture_head, for a producer holding checked "name: value\r\n" lines. */
int graft__capture_header_lines(graft__capture *c, int status, const char *lines, size_t len);
/* Counts n body bytes and keeps those that fit under the cap. Allocation failure keeps fewer
 * bytes (body.len < min(cap, total) then) but never loses the count. */
void graft__capture_body(graft__capture *c, const void *p, size_t n);
/* Releases the memory; c is empty afterwards and may be initialised again. */
void graft__capture_free(graft__capture *c);

/* What graft__compare found different: 0 when the two responses are the same. */
#define GRAFT__DIFF_STATUS 1u
#define GRAFT__DIFF_HEADERS 2u
#define GRAFT__DIFF_BODY 4u

/* The comparison rule: same status; the same header fields as a multiset of (lowercase name,
 * exact value), leaving out date, server and the framing fields content-length and
 * transfer-encoding; the same body: equal body_total and byte-equal kept prefixes. Returns
 * a GRAFT__DIFF_* mask. */
unsigned graft__compare(const graft__capture *a, const graft__capture *b);

#endif
