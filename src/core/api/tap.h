/* A request tap: an observer an embedder hangs on a request before handing it to another
 * embedder, to see what that one reads and answers (shadow mode: the native layer watches
 * the ASGI app's exchange, then replays it through a native handler). The answering
 * embedder reports through graft__tap_* below; it never owns the tap. */
#ifndef GRAFT__TAP_H
#define GRAFT__TAP_H

#include <stddef.h>
#include <stdint.h>

#include "response.h"

typedef struct graft__tap graft__tap;

/* The observer's callbacks, all called from the thread that answers the request, in order:
 * request_body for each piece of body the answerer takes, response_head once, response_body
 * for each piece of body it sends (after framing was decided: none for HEAD, 204, 304),
 * response_end once when the response is complete, and release when the request is freed
 * (always, whether or not response_end came). */
typedef struct graft__tap_ops {
    void (*request_body)(graft__tap *t, const void *p, size_t n, int done);
    void (*response_head)(graft__tap *t, int status, const graft__field *fields, size_t n);
    void (*response_body)(graft__tap *t, const void *p, size_t n);
    /* A body sent from a file: size bytes of fd from offset 0 (the tap reads what it keeps). */
    void (*response_file)(graft__tap *t, int fd, uint64_t size);
    void (*response_end)(graft__tap *t);
    void (*release)(graft__tap *t);
} graft__tap_ops;

struct graft__tap {
    const graft__tap_ops *ops;
};

/* Helpers for the answering embedder: each is a no-op when t is NULL. */
static inline void graft__tap_request_body(graft__tap *t, const void *p, size_t n, int done)
{
    if (t)
        t->ops->request_body(t, p, n, done);
}
static inline void graft__tap_response_head(graft__tap *t, int status, const graft__field *f, size_t n)
{
    if (t)
        t->ops->response_head(t, status, f, n);
}
static inline void graft__tap_response_body(graft__tap *t, const void *p, size_t n)
{
    if (t && n)
        t->ops->response_body(t, p, n);
}
static inline void graft__tap_response_file(graft__tap *t, int fd, uint64_t size)
{
    if (t)
        t->ops->response_file(t, fd, size);
}
static inline void graft__tap_response_end(graft__tap *t)
{
    if (t)
        t->ops->response_end(t);
}

#endif
