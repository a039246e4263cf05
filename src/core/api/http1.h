/* HTTP/1.1 request parsing (RFC 9112), strict. Allocation-free: every
 * pointer returned points into the caller's buffer. No Python here. */
#ifndef GRAFT__HTTP1_H
#define GRAFT__HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One header field; name and value point into the parsed buffer. The value
 * has leading/trailing OWS removed. */
typedef struct graft__header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} graft__header;

/* Client-controlled sizes the parser enforces. */
typedef struct graft__http1_limits {
    size_t max_request_line; /* bytes of the request line without CRLF (-> 414) */
    size_t max_head;         /* bytes of the whole head incl. final CRLFCRLF (-> 431) */
    size_t max_headers;      /* number of header fields (-> 431) */
} graft__http1_limits;

/* Result of parsing one request head. */
typedef struct graft__http1_request {
    const char *method;
    size_t method_len;
    const char *target; /* request-target exactly as sent */
    size_t target_len;
    const char *path;   /* origin path ("/..." ; "*" for OPTIONS *); absolute-form: path part of the URI, "/" if empty */
    size_t path_len;
    const char *query;  /* bytes after '?', without the '?'; query_len 0 if none */
    size_t query_len;
    const char *authority; /* absolute-form authority, else NULL */
    size_t authority_len;
    int minor_version;  /* 0 or 1 (HTTP/1.x only) */
    graft__header *headers; /* caller-provided array of max_headers entries */
    size_t num_headers;     /* out: number of fields parsed */
    /* Framing derived from the fields, validated: */
    int64_t content_length; /* -1 when absent */
    unsigned chunked : 1;         /* Transfer-Encoding ends in (and is only) chunked */
    unsigned expect_continue : 1; /* Expect: 100-continue */
    unsigned expect_other : 1;    /* Expect present with anything else (server may answer 417) */
    unsigned conn_close : 1;      /* Connection: close token present */
    unsigned conn_keep_alive : 1; /* Connection: keep-alive token present */
    unsigned conn_upgrade : 1;    /* Connection: upgrade token present */
    unsigned has_upgrade : 1;     /* Upgrade header field present */
    const char *host;             /* the Host field value, NULL if absent */
    size_t host_len;
} graft__http1_request;

/* Parses a complete request head from buf[0..len). Returns the number of
 * bytes of the head (request line through the empty line) when complete, 0
 * when more bytes are needed, or a negative HTTP status when the request must
 * be refused: -400, -414 (request line too long), -431 (head or header count
 * too large), -501 (unknown transfer coding), -505 (HTTP major version other
 * than 1). A buffer longer than the limits without a complete head fails with
 * -414/-431 instead of returning 0, so callers never buffer unboundedly.
 * req->headers must point to limits->max_headers entries. */
int graft__http1_parse_request(const char *buf, size_t len, graft__http1_request *req,
                               const graft__http1_limits *limits);

/* Incremental chunked transfer-coding decoder (RFC 9112 §7.1). */
typedef struct graft__chunked {
    int state;
    uint64_t remaining;   /* data bytes left in the current chunk */
    size_t line_bytes;    /* bytes seen in the current size/trailer line */
    size_t trailer_bytes; /* total trailer section bytes */
    size_t max_line;      /* limit for a chunk-size line incl. extensions */
    size_t max_trailers;  /* limit for the trailer section */
    int done;             /* set when the last chunk and trailers are consumed */
} graft__chunked;

/* Prepares a decoder with the given limits (0 selects 4096 / 8192). */
void graft__chunked_init(graft__chunked *d, size_t max_line, size_t max_trailers);

/* Consumes bytes from buf[0..len). On success returns the number of bytes
 * consumed (>= 0) and sets *data and *data_len to at most one span of decoded body
 * bytes inside buf (data_len 0 when none). Call again with the rest until it
 * consumes 0 bytes or d->done is set. Returns -400 on any framing error (bad
 * hex size, overflow, missing CRLF after data, bare CR/LF, over-long line),
 * after which the stream cannot be resynchronised. Never reads past len. */
ssize_t graft__chunked_decode(graft__chunked *d, const char *buf, size_t len, const char **data,
                              size_t *data_len);

/* Walks a comma-separated field value: sets *item and *len to the next element with OWS trimmed
 * (len may be 0 for an empty element) and advances *p. Returns 0 at the end. */
int graft__list_next(const char **p, const char *end, const char **item, size_t *len);

/* Case-insensitive ASCII comparison of a token with a NUL-terminated lowercase literal. */
int graft__tok_eq(const char *s, size_t len, const char *lower);
/* graft__tok_eq against a lowercase literal, the length test first with the length counted
 * by the compiler; len is evaluated twice. */
#define GRAFT__TOK_IS(s, len, lower) \
    ((len) == sizeof("" lower "") - 1 && graft__tok_eq((s), (len), "" lower ""))

#endif
