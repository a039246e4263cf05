/* Shadow mode's record of a mismatch (issue 8): one JSON line per differing request, and the
 * sink those lines go to (a 0600 file that can be rotated, or a queue the Python graft.shadow
 * logger drains), rate-limited so a broken handler cannot flood the disk. */
#ifndef GRAFT__SHADOW_H
#define GRAFT__SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "capture.h"

/* The body bytes a mismatch line shows of each side when graft__shadow_line is given 0. */
#define GRAFT__SHADOW_BODY_LOG_DEFAULT 4096

/* Appends one mismatch line to out: a JSON object and "\n", with keys route, request (method,
 * path, query), differs (names of the diff bits), python and native (status, headers as
 * [name, value] pairs with credentials redacted, body as text or base64, body_base64,
 * body_length, body_truncated). query may be NULL. Bodies show at most body_log_cap bytes
 * (0: the default). Returns 0, or -ENOMEM with out as it was. */
int graft__shadow_line(graft__buf *out, const char *method_route, const char *method,
                       const char *path, size_t path_len, const char *query, size_t query_len,
                       const graft__capture *python, const graft__capture *native, unsigned diff,
                       size_t body_log_cap);

/* The rate limit on written lines: a token bucket holding GRAFT__SHADOW_BURST lines, refilled
 * at GRAFT__SHADOW_RATE lines a second. Lines over it are dropped and counted. */
#define GRAFT__SHADOW_BURST 1000
#define GRAFT__SHADOW_RATE 100
/* A queued line longer than this is dropped (counted as suppressed): it bounds the queue's
 * memory at queue_cap times this. */
#define GRAFT__SHADOW_LINE_MAX (256 * 1024)

#define GRAFT__SHADOW_QUEUE_MAX 100000

typedef struct graft__shadow_log graft__shadow_log;

/* Opens a sink. With a path: lines are appended to that file, created 0600 if missing (an
 * existing file keeps its mode), and reopened when the path is renamed or removed (rotation).
 * With NULL: lines wait in a queue of at most queue_cap lines (0: 1,000; at most
 * GRAFT__SHADOW_QUEUE_MAX) for graft__shadow_log_take.
 * Returns 0 and *out, or a negative errno with a message naming the file in err. */
int graft__shadow_log_open(graft__shadow_log **out, const char *path, size_t queue_cap, char *err,
                           size_t errlen);
/* Sets the function called (outside the lock, on the writing thread) after a line is queued,
 * so the owner can wake whoever drains it. Call before any write; queue mode only. */
void graft__shadow_log_set_notify(graft__shadow_log *l, void (*notify)(void *arg), void *arg);
/* Writes one line (a trailing "\n" is added when missing), from any thread, subject to the
 * rate limit. After lines were dropped, the next written line is preceded by
 * {"suppressed": N}. Returns 1 written or queued, 0 dropped, or a negative errno from write. */
int graft__shadow_log_write(graft__shadow_log *l, const char *line, size_t len);
/* As graft__shadow_log_write at the monotonic time now_ns, for tests of the rate limit. */
int graft__shadow_log_write_at(graft__shadow_log *l, const char *line, size_t len, uint64_t now_ns);
/* Moves every queued line to out (each ending in "\n"); returns how many, or -ENOMEM with the
 * queue kept. */
int graft__shadow_log_take(graft__shadow_log *l, graft__buf *out);
/* Lines dropped so far, by the rate limit or a full queue. */
uint64_t graft__shadow_log_suppressed(graft__shadow_log *l);
/* Closes the file, frees the queue and l. NULL is ignored. */
void graft__shadow_log_close(graft__shadow_log *l);

#endif
