/* Responses of the public API: heads written by the engine (response.h), bodies
 * copied, borrowed, streamed or sent from a file. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "native_req.h"
#include "native_shadow.h"
#include "response.h"

_Static_assert(GRAFT__STREAM_CAP > GRAFT__OUT_HIGH, "the hard cap is above the slow mark");

static int tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int valid_value(const char *v)
{
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

GRAFT_API int graft_set_header(graft_request *gr, const char *name, const char *value)
{
    if (!gr || gr->state != GR_NONE || !name || !value || !name[0])
        return GRAFT_EINVAL;
    for (const char *p = name; *p; p++)
        if (!tchar((unsigned char)*p))
            return GRAFT_EINVAL;
    if (!valid_value(value))
        return GRAFT_EINVAL;
    size_t nl = strlen(name), vl = strlen(value);
    if (graft__buf_reserve(&gr->hdrs, nl + vl + 4) < 0)
        return GRAFT_ENOMEM;
    for (size_t i = 0; i < nl; i++) {
        char c = name[i];
        gr->hdrs.data[gr->hdrs.len++] = (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
    }
    /* Cannot fail: the room was reserved above. */
    graft__buf_append(&gr->hdrs, GRAFT__STRLIT(": "));
    graft__buf_append(&gr->hdrs, value, vl);
    graft__buf_append(&gr->hdrs, GRAFT__STRLIT("\r\n"));
    return 0;
}

/* A final response's status. 1xx are interim responses: sent as final they would leave
 * the client waiting for the real one on a keep-alive connection (h11 refuses them too). */
static int final_status(int status)
{
    return status >= 200 && status <= 999;
}

/* Fields on the stack for content-type and this many graft_set_header lines; more take one
 * allocation. */
#define STACK_FIELDS 16

/* Has the engine write the head: content-type first, then the graft_set_header lines, after
 * its Date and default headers. plan is a GRAFT__PLAN_*; *d says how the body goes. */
static int build_head(graft_request *gr, graft__buf *o, int status, const char *ctype, int plan,
                      uint64_t body_len, graft__response_decision *d)
{
    if (ctype && ctype[0] && !valid_value(ctype))
        return GRAFT_EINVAL;
    graft__field stack[STACK_FIELDS], *fs = stack;
    size_t n = 0;
    if (ctype && ctype[0])
        fs[n++] = (graft__field){GRAFT__STRLIT("content-type"), ctype, strlen(ctype)};
    const char *lines = graft__buf_head(&gr->hdrs);
    size_t len = graft__buf_avail(&gr->hdrs);
    size_t nl = graft__fields_from_lines(lines, len, fs + n, STACK_FIELDS - n);
    if (n + nl > STACK_FIELDS) {
        fs = malloc((n + nl) * sizeof *fs);
        if (!fs)
            return GRAFT_ENOMEM;
        if (n)
            fs[0] = stack[0];
        graft__fields_from_lines(lines, len, fs + n, nl);
    }
    if (gr->shadow) { /* a replay: captured, not written (native_shadow.c) */
        int rc = graft__shadow_head(gr, status, fs, n + nl, d);
        if (fs != stack)
            free(fs);
        return rc;
    }
    graft__response resp = {.status = status,
                            .keep_alive = 1,
                            .flags = gr->own_length ? GRAFT__RESP_OWN_LENGTH : 0,
                            .plan = plan,
                            .body_len = body_len,
                            .fields = fs,
                            .nfields = n + nl};
    int rc = graft__req_response_head(gr->req, &resp, o, d);
    if (fs != stack)
        free(fs);
    return rc < 0 ? GRAFT_ENOMEM : 0;
}

static int finish_write(graft_request *gr, struct iovec *iov, int cnt, int flags, int status)
{
    if (gr->shadow) {
        graft__shadow_body(gr, iov, cnt);
        if (flags & GRAFT__W_FINAL)
            graft__native_done(gr, status);
        return 0;
    }
    if (flags & GRAFT__W_FINAL)
        gr->req->status = status; /* before the write that completes it: the metrics read it */
    int rc = graft__req_write(gr->req, iov, cnt, flags);
    if (flags & GRAFT__W_FINAL) {
        graft__native_done(gr, status);
    }
    if (rc == -EPIPE)
        return GRAFT_EGONE;
    if (rc < 0)
        return GRAFT_ENOMEM;
    return rc;
}

/* An answer call after the server stopped (graft__native_free): nothing is sent and nothing
 * of the engine or the embedder is touched, but a call that completes a response
 * (final) still completes the request's bookkeeping, as it would for a client that went
 * away: its initial reference goes, once. */
static int answer_stopped(graft_request *gr, int final)
{
    if (final && gr->state != GR_DONE) {
        gr->state = GR_DONE;
        graft_request_release(gr);
    } else if (!final && gr->state == GR_NONE) {
        gr->state = GR_STREAMING; /* graft_stream_start: graft_stream_end must follow */
    }
    return GRAFT_EGONE;
}

static int respond_running(graft_request *gr, int status, const char *ctype, const void *body,
                           size_t len)
{
    if (gr->state != GR_NONE || !final_status(status))
        return GRAFT_EINVAL;
    graft__buf head = {0};
    graft__response_decision d;
    int rc = build_head(gr, &head, status, ctype, GRAFT__PLAN_LENGTH, len, &d);
    if (rc) {
        graft__buf_free(&head);
        return rc;
    }
    size_t blen = d.framing == GRAFT__FRAMING_NONE ? 0 : len;
    struct iovec iov[2] = {{head.data, head.len}, {(void *)body, blen}};
    gr->state = GR_DONE;
    if (!gr->shadow)
        gr->req->body_sent = blen;
    rc = finish_write(gr, iov, 2, GRAFT__W_FINAL | (d.close ? GRAFT__W_CLOSE : 0), status);
    graft__buf_free(&head);
    return rc > 0 ? 0 : rc;
}

/* Every answer call runs inside graft__native_enter/leave, so graft__native_free cannot
 * pull the embedder from under it; n is read first because answering may free gr. */
static int respond(graft_request *gr, int status, const char *ctype, const void *body, size_t len)
{
    if (!gr)
        return GRAFT_EINVAL;
    graft__native *n = gr->nat;
    if (graft__native_enter(n))
        return answer_stopped(gr, 1);
    int rc = respond_running(gr, status, ctype, body, len);
    graft__native_leave(n);
    return rc;
}

GRAFT_API int graft_respond(graft_request *gr, int status, const char *content_type,
                            const void *body, size_t len)
{
    return respond(gr, status, content_type, body, len);
}

GRAFT_API int graft_respond_borrowed(graft_request *gr, int status, const char *content_type,
                                     const void *body, size_t len, void (*release)(void *),
                                     void *arg)
{
    /* The engine copies whatever the socket does not take at once, so the borrow ends here. */
    int rc = respond(gr, status, content_type, body, len);
    if (release && rc != GRAFT_EINVAL)
        release(arg);
    return rc;
}

static int respond_file_running(graft_request *gr, int status, const char *content_type,
                                const char *path)
{
    if (gr->state != GR_NONE || !path || !final_status(status))
        return GRAFT_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return respond_running(gr, 404, "text/plain; charset=utf-8", GRAFT__STRLIT("Not Found"));
    }
    graft__buf head = {0};
    graft__response_decision d;
    int rc = build_head(gr, &head, status, content_type, GRAFT__PLAN_LENGTH, (uint64_t)sb.st_size, &d);
    if (rc) {
        close(fd);
        graft__buf_free(&head);
        return rc;
    }
    struct iovec iov = {head.data, head.len};
    int flags = GRAFT__W_FINAL | (d.close ? GRAFT__W_CLOSE : 0);
    gr->state = GR_DONE;
    if (gr->shadow) {
        if (d.framing != GRAFT__FRAMING_NONE)
            graft__shadow_file(gr, fd, (uint64_t)sb.st_size);
        close(fd);
        rc = 0;
    } else if (d.framing == GRAFT__FRAMING_NONE) { /* HEAD, 204, 304: the head is all */
        close(fd);
        rc = graft__req_write(gr->req, &iov, 1, flags);
    } else {
        gr->req->body_sent = (uint64_t)sb.st_size;
        rc = graft__req_sendfile(gr->req, &iov, 1, fd, 0, (uint64_t)sb.st_size, flags);
    }
    graft__buf_free(&head);
    graft__native_done(gr, status);
    return rc == -EPIPE ? GRAFT_EGONE : rc < 0 ? GRAFT_ENOMEM : 0;
}

GRAFT_API int graft_respond_file(graft_request *gr, int status, const char *content_type,
                                 const char *path)
{
    if (!gr)
        return GRAFT_EINVAL;
    graft__native *n = gr->nat;
    if (graft__native_enter(n))
        return answer_stopped(gr, 1);
    int rc = respond_file_running(gr, status, content_type, path);
    graft__native_leave(n);
    return rc;
}

static int stream_start_running(graft_request *gr, int status, const char *content_type)
{
    if (gr->state != GR_NONE || !final_status(status))
        return GRAFT_EINVAL;
    graft__buf head = {0};
    graft__response_decision d;
    int rc = build_head(gr, &head, status, content_type, GRAFT__PLAN_STREAM, 0, &d);
    if (rc) {
        graft__buf_free(&head);
        return rc;
    }
    gr->chunked = d.framing == GRAFT__FRAMING_CHUNKED;
    gr->no_body = d.framing == GRAFT__FRAMING_NONE;
    gr->req->status = status;
    gr->state = GR_STREAMING;
    gr->close_after = d.close;
    struct iovec iov = {head.data, head.len};
    rc = finish_write(gr, &iov, 1, 0, status);
    graft__buf_free(&head);
    return rc < 0 ? rc : 0;
}

GRAFT_API int graft_stream_start(graft_request *gr, int status, const char *content_type)
{
    if (!gr)
        return GRAFT_EINVAL;
    graft__native *n = gr->nat;
    if (graft__native_enter(n))
        return answer_stopped(gr, 0);
    int rc = stream_start_running(gr, status, content_type);
    graft__native_leave(n);
    return rc;
}

static int stream_write_running(graft_request *gr, const void *data, size_t len)
{
    if (gr->state != GR_STREAMING)
        return GRAFT_EINVAL;
    /* HEAD, 204, 304: the response ended at its head; bytes sent now would be read as the
     * next response on the connection. */
    if (len == 0 || gr->no_body)
        return 0;
    /* Only this writer adds to the queue, so what is queued now is an upper bound until the
     * write below: the queue never exceeds the cap by more than one chunk. */
    if (!gr->shadow && graft__req_queued(gr->req) > GRAFT__STREAM_CAP)
        return GRAFT_EAGAIN;
    char pre[GRAFT__CHUNK_PREFIX_MAX];
    struct iovec iov[3];
    int cnt = 0;
    if (gr->chunked)
        iov[cnt++] = (struct iovec){pre, graft__chunk_prefix(pre, len)};
    iov[cnt++] = (struct iovec){(void *)data, len};
    if (gr->chunked)
        iov[cnt++] = graft__chunk_end(0);
    if (!gr->shadow)
        gr->req->body_sent += len;
    return finish_write(gr, iov, cnt, 0, gr->req->status);
}

GRAFT_API int graft_stream_write(graft_request *gr, const void *data, size_t len)
{
    if (!gr)
        return GRAFT_EINVAL;
    graft__native *n = gr->nat;
    if (graft__native_enter(n))
        return GRAFT_EGONE; /* not final: graft_stream_end still completes the response */
    int rc = stream_write_running(gr, data, len);
    graft__native_leave(n);
    return rc;
}

static int stream_end_running(graft_request *gr)
{
    if (gr->state != GR_STREAMING)
        return GRAFT_EINVAL;
    /* After the final write no WRITABLE or DISCONNECT comes for this request. */
    graft__native_cancel_writable(gr);
    struct iovec iov = graft__chunk_last();
    if (!gr->chunked)
        iov.iov_len = 0;
    int flags = GRAFT__W_FINAL | (gr->close_after ? GRAFT__W_CLOSE : 0);
    int rc = finish_write(gr, &iov, 1, flags, gr->req->status);
    return rc > 0 ? 0 : rc;
}

GRAFT_API int graft_stream_end(graft_request *gr)
{
    if (!gr)
        return GRAFT_EINVAL;
    graft__native *n = gr->nat;
    if (graft__native_enter(n))
        return answer_stopped(gr, 1);
    int rc = stream_end_running(gr);
    graft__native_leave(n);
    return rc;
}

static int on_writable_running(graft_request *gr, graft_writable_cb cb, void *ud)
{
    if (gr->shadow)
        return graft__shadow_on_writable(gr, cb, ud);
    int rc = 0;
    graft_request_retain(gr); /* the armed callback's, dropped after it ran */
    /* Under the lock deliver holds: the event cannot come between arming and storing cb. */
    graft__req_lock(gr->req);
    if (gr->state != GR_STREAMING || gr->wcb) {
        rc = GRAFT_EINVAL;
    } else if (graft__req_want_writable_locked(gr->req) < 0) {
        rc = GRAFT_EGONE; /* no event would ever come */
    } else {
        gr->wcb = cb;
        gr->wud = ud;
    }
    graft__req_unlock(gr->req);
    if (rc)
        graft_request_release(gr);
    return rc;
}

GRAFT_API int graft_stream_on_writable(graft_request *gr, graft_writable_cb cb, void *ud)
{
    if (!gr || !cb)
        return GRAFT_EINVAL;
    graft__native *n = gr->nat;
    if (graft__native_enter(n))
        return GRAFT_EGONE;
    int rc = on_writable_running(gr, cb, ud);
    graft__native_leave(n);
    return rc;
}
