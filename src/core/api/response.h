/* Responses as producers describe them: a status, fields and a body plan. The protocol's
 * writer owns the wire format (HTTP/1.x: http1_response.c): status line, Date, the server's
 * default headers, framing and the connection header. Producers never write head bytes, so
 * another protocol (HTTP/2) can be a second writer behind the same description. */
#ifndef GRAFT__RESPONSE_H
#define GRAFT__RESPONSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "buf.h"

struct graft__engine_config;

/* One header field. The producer checked it: the name is a lowercase token, the value holds
 * no CR, LF or NUL. Both point into memory the producer keeps until the writer returns. */
typedef struct graft__field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} graft__field;

/* What the producer knows of the body when the head is written. */
enum graft__body_plan {
    GRAFT__PLAN_LENGTH = 0, /* exactly body_len bytes */
    GRAFT__PLAN_STREAM = 1, /* pieces of unknown total length, until the producer ends it */
    GRAFT__PLAN_NONE = 2,   /* no body at all (101) */
};

/* Where a producer's fields already say what the writer would otherwise add. */
enum {
    GRAFT__RESP_NO_DATE = 1,        /* the fields carry a Date: the server's is left out */
    GRAFT__RESP_OWN_CONNECTION = 2, /* the fields carry the connection header: none is added */
    GRAFT__RESP_OWN_LENGTH = 4,     /* the fields carry content-length (body_len): none is added */
    /* The framing and connection lines come right after the lead fields, before Date (the
     * order canned error responses have always had on the wire). */
    GRAFT__RESP_FRAMING_EARLY = 8,
};

/* A response head to write. Fields go out as given, in order: lead right after the status
 * line, then the server's Date and default headers, then fields. */
typedef struct graft__response {
    int status;            /* 100..999 */
    int minor_version;     /* the request's HTTP/1.x minor version */
    int is_head;           /* a HEAD request: the head says what GET's would, no body follows */
    int keep_alive;        /* the connection may stay open after this response */
    unsigned flags;        /* GRAFT__RESP_* */
    int plan;              /* GRAFT__PLAN_* */
    uint64_t body_len;     /* with GRAFT__PLAN_LENGTH */
    const graft__field *lead;
    size_t nlead;
    const graft__field *fields;
    size_t nfields;
} graft__response;

/* How the body goes on the wire, as the writer decided. */
enum graft__framing {
    GRAFT__FRAMING_NONE = 0,    /* send no body bytes (HEAD, 1xx, 204, 304, PLAN_NONE) */
    GRAFT__FRAMING_LENGTH = 1,  /* send the body_len bytes as they are */
    GRAFT__FRAMING_CHUNKED = 2, /* send each piece through graft__chunk_*, then the last chunk */
    GRAFT__FRAMING_CLOSE = 3,   /* send the bytes as they are; closing the connection ends them */
};

/* The writer's decision, for the producer to follow. */
typedef struct graft__response_decision {
    int framing; /* GRAFT__FRAMING_* */
    int close;   /* the connection must close after this response */
} graft__response_decision;

/* Appends resp's head to out as HTTP/1.x and reports the decision in *d. cfg supplies the
 * server's part (date_header, default_headers); NULL leaves both out. Returns 0, or -ENOMEM
 * with out unchanged. Embedders call graft__req_response_head (req.h), which supplies cfg
 * and keep-alive for a request; the engine calls this for heads of its own (errors, 101). */
int graft__http1_response_head(graft__buf *out, const graft__response *resp,
                               const struct graft__engine_config *cfg,
                               graft__response_decision *d);

/* Splits header lines "name: value\r\n", as a producer that checked them stores them, into
 * fields pointing into lines. Fills at most max and returns how many lines there are. */
size_t graft__fields_from_lines(const char *lines, size_t len, graft__field *out, size_t max);

/* Chunked framing (GRAFT__FRAMING_CHUNKED). The longest chunk-size line: 16 hex digits, CRLF. */
#define GRAFT__CHUNK_PREFIX_MAX 18
/* Writes the chunk-size line for len data bytes into out; returns its length. */
size_t graft__chunk_prefix(char out[GRAFT__CHUNK_PREFIX_MAX], size_t len);
/* The bytes after a chunk's data; with last, the last chunk too, so one write ends the body. */
struct iovec graft__chunk_end(int last);
/* The last chunk alone, for a body that ends without data. */
struct iovec graft__chunk_last(void);

/* The interim 100 (Continue) response, whole: a status line alone, no Date or default
 * fields (RFC 9110 §15.2.1 asks for none), sent before the body is read. */
struct iovec graft__http1_continue(void);

#endif
