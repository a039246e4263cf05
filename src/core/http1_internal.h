/* Internals shared by http1_request.c, http1_fields.c and http1_chunked.c.
 * Not part of the public parser interface (see http1.h). */
#ifndef GRAFT__HTTP1_INTERNAL_H
#define GRAFT__HTTP1_INTERNAL_H

#include "http1.h"

/* Character classes, one bit each, looked up in graft__http1_ctype. */
enum {
    GRAFT__CT_TCHAR = 0x01,   /* tchar (RFC 9110 §5.6.2) */
    GRAFT__CT_TARGET = 0x02,  /* request-target byte: VCHAR except '#' */
    GRAFT__CT_VALUE = 0x04,   /* field-value byte: HTAB, SP, VCHAR, obs-text */
    GRAFT__CT_DIGIT = 0x08,   /* DIGIT */
    GRAFT__CT_HEX = 0x10,     /* HEXDIG (either case) */
    GRAFT__CT_REGNAME = 0x20, /* unreserved / sub-delims (RFC 3986), '%' excluded */
    GRAFT__CT_QDTEXT = 0x40,  /* qdtext (RFC 9110 §5.6.4) */
    GRAFT__CT_WS = 0x80,      /* SP / HTAB */
};

extern const unsigned char graft__http1_ctype[256];

#define GRAFT__IS(c, cls) (graft__http1_ctype[(unsigned char)(c)] & (cls))

/* Per-request bookkeeping for the framing fields while the head is scanned. */
typedef struct graft__http1_fstate {
    unsigned host_count;
    unsigned te_fields;        /* Transfer-Encoding field lines seen */
    unsigned te_chunked;       /* occurrences of the "chunked" coding */
    unsigned te_other;         /* occurrences of any other coding */
    int te_last_chunked;       /* last coding seen so far is "chunked" */
} graft__http1_fstate;

/* Validates one field line and updates req/st. Returns 0 or a negative status. */
int graft__http1_field(graft__http1_request *req, graft__http1_fstate *st, const char *name,
                       size_t name_len, const char *value, size_t value_len);

/* Checks that need the whole head (Host presence, TE/CL combination). */
int graft__http1_fields_done(graft__http1_request *req, const graft__http1_fstate *st);

/* uri-host [ ":" port ] (RFC 3986 reg-name / IPv4 / IP-literal). With
 * need_port the host must be non-empty and the port 1*DIGIT (CONNECT). */
int graft__http1_valid_host(const char *s, size_t len, int need_port);

#endif
