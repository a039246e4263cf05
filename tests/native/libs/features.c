/* features.c — a native handler library exercising the public API (graft.h)
 * for tests/native/test_native_features.py. Every route says what it saw so
 * the tests can assert on it.
 *
 * Config (the part after '?' in --native features.so?DIR): a directory; the
 * file served by /file is DIR/served.bin, and the library-state destructor
 * writes DIR/destroyed at shutdown. */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <graft.h>

GRAFT_LIBRARY()

#define BODY_LIMIT 65536

typedef struct lib {
    char dir[1024];
    atomic_long requests;
    atomic_int thread_states;  /* thread states created */
    atomic_int thread_states_freed;
    atomic_int gone_seen;      /* /gone-watch threads that saw graft_request_gone() == 1 */
    atomic_int gone_finished;  /* /gone-watch threads that finished */
    atomic_int gone_late_rc;   /* what graft_respond returned after the client went away */
    atomic_int async_started;
} lib;

typedef struct tstate {
    long count;
    void *owner; /* the lib, which counts destroyed states */
} tstate;

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int text(graft_request *req, int status, const char *s)
{
    return graft_respond(req, status, "text/plain; charset=utf-8", s, strlen(s));
}

static void count(void *st)
{
    if (st)
        atomic_fetch_add(&((lib *)st)->requests, 1);
}

/* ---- routing precedence ---- */

static int items_exact(graft_request *req, void *st)
{
    count(st);
    return text(req, 200, "exact");
}

static int items_param(graft_request *req, void *st)
{
    count(st);
    size_t n = 0;
    const char *id = graft_param(req, "id", &n);
    char b[600];
    snprintf(b, sizeof b, "param:%.*s", (int)(n < 500 ? n : 500), id ? id : "(null)");
    return text(req, 200, b);
}

static int items_rest(graft_request *req, void *st)
{
    count(st);
    size_t n = 0;
    const char *rest = graft_param(req, "rest", &n);
    char b[600];
    snprintf(b, sizeof b, "catchall:%.*s", (int)(n < 500 ? n : 500), rest ? rest : "(null)");
    return text(req, 200, b);
}

/* ---- params, query, headers ---- */

static void json_str_or_null(graft_json *j, const char *s, size_t n)
{
    if (s)
        graft_json_string(j, s, n);
    else
        graft_json_null(j);
}

static int params(graft_request *req, void *st)
{
    count(st);
    size_t al = 0, bl = 0, zl = 0;
    const char *a = graft_param(req, "a", &al);
    const char *b = graft_param(req, "b", &bl);
    const char *z = graft_param(req, "nosuch", &zl);
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "a");
    json_str_or_null(j, a, al);
    graft_json_key(j, "b");
    json_str_or_null(j, b, bl);
    graft_json_key(j, "nosuch");
    json_str_or_null(j, z, zl);
    graft_json_key(j, "path");
    graft_json_string(j, graft_path(req), strlen(graft_path(req)));
    graft_json_key(j, "method");
    graft_json_string(j, graft_method(req), strlen(graft_method(req)));
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

static int query(graft_request *req, void *st)
{
    count(st);
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    size_t n = 0;
    const char *q = graft_query(req, "q", &n);
    graft_json_key(j, "q");
    json_str_or_null(j, q, n);
    const char *m = graft_query(req, "missing", &n);
    graft_json_key(j, "missing");
    json_str_or_null(j, m, n);
    const char *e = graft_query(req, "empty", &n);
    graft_json_key(j, "empty");
    json_str_or_null(j, e, n);
    const char *vals[16];
    size_t lens[16];
    size_t total = graft_query_all(req, "tag", vals, lens, 16);
    graft_json_key(j, "tags");
    graft_json_array_begin(j);
    for (size_t i = 0; i < total && i < 16; i++)
        graft_json_string(j, vals[i], lens[i]);
    graft_json_array_end(j);
    /* fewer slots than values: fills 2, still returns the full count */
    const char *v2[2] = {0, 0};
    size_t l2[2] = {0, 0};
    size_t total2 = graft_query_all(req, "tag", v2, l2, 2);
    graft_json_key(j, "ntags_max2");
    graft_json_int(j, (int64_t)total2);
    graft_json_key(j, "first2");
    graft_json_array_begin(j);
    for (size_t i = 0; i < total2 && i < 2; i++)
        graft_json_string(j, v2[i], l2[i]);
    graft_json_array_end(j);
    graft_json_key(j, "raw");
    graft_json_string(j, graft_query_string(req), strlen(graft_query_string(req)));
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

static int headers(graft_request *req, void *st)
{
    count(st);
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    size_t n = 0;
    const char *v = graft_header(req, "X-CUSTOM-header", &n);
    graft_json_key(j, "custom");
    json_str_or_null(j, v, n);
    v = graft_header(req, "x-absent", &n);
    graft_json_key(j, "absent");
    json_str_or_null(j, v, n);
    size_t cnt = graft_header_count(req);
    graft_json_key(j, "count");
    graft_json_int(j, (int64_t)cnt);
    graft_json_key(j, "fields");
    graft_json_array_begin(j);
    for (size_t i = 0; i < cnt; i++) {
        const char *hn, *hv;
        size_t hnl, hvl;
        if (graft_header_at(req, i, &hn, &hnl, &hv, &hvl) != 0)
            break;
        graft_json_array_begin(j);
        graft_json_string(j, hn, hnl);
        graft_json_string(j, hv, hvl);
        graft_json_array_end(j);
    }
    graft_json_array_end(j);
    const char *hn, *hv;
    size_t hnl, hvl;
    graft_json_key(j, "oob");
    graft_json_int(j, graft_header_at(req, cnt, &hn, &hnl, &hv, &hvl));
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

static int client(graft_request *req, void *st)
{
    count(st);
    int port = -2;
    const char *ip = graft_client(req, &port);
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "ip");
    json_str_or_null(j, ip, ip ? strlen(ip) : 0);
    graft_json_key(j, "port");
    graft_json_int(j, port);
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

static int setheader(graft_request *req, void *st)
{
    count(st);
    int ok = graft_set_header(req, "X-Native", "yes");
    int bad_value = graft_set_header(req, "x-evil", "a\r\nset-cookie: x=1");
    int bad_name = graft_set_header(req, "bad name", "v");
    char b[128];
    snprintf(b, sizeof b, "ok=%d bad_value=%d bad_name=%d", ok, bad_value, bad_name);
    int rc = text(req, 200, b);
    /* already answered: a second answer is refused */
    if (rc == 0 && graft_respond(req, 200, NULL, "x", 1) != GRAFT_EINVAL)
        fprintf(stderr, "features.c: second graft_respond was not refused\n");
    return rc;
}

/* ---- bodies ---- */

static int echo(graft_request *req, void *st)
{
    count(st);
    size_t n = 0;
    const char *b = graft_body(req, &n);
    char len[32];
    snprintf(len, sizeof len, "%zu", n);
    graft_set_header(req, "x-body-len", len);
    return graft_respond(req, 200, "application/octet-stream", b, n);
}

/* An empty body: its HEAD (graft-serve answers HEAD with the GET route) must not claim
 * content-length: 0 (RFC 9110 §8.6). */
static int empty(graft_request *req, void *st)
{
    count(st);
    return graft_respond(req, 200, "text/plain", "", 0);
}

/* ---- declining ---- */

static int wants_decline(graft_request *req)
{
    size_t n = 0;
    const char *v = graft_header(req, "x-decline", &n);
    return v && n == 1 && v[0] == '1';
}

static int maybe(graft_request *req, void *st)
{
    count(st);
    if (wants_decline(req))
        return GRAFT_DECLINE;
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "from");
    graft_json_string(j, "native", 6);
    graft_json_key(j, "method");
    graft_json_string(j, graft_method(req), strlen(graft_method(req)));
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

/* ---- errors ---- */

static int fail(graft_request *req, void *st)
{
    (void)req;
    count(st);
    return -5;
}

/* ---- streaming and files ---- */

static int stream(graft_request *req, void *st)
{
    count(st);
    size_t n = 0;
    const char *q = graft_query(req, "n", &n);
    int lines = q ? atoi(q) : 100;
    int rc = graft_stream_start(req, 200, "text/plain; charset=utf-8");
    if (rc < 0)
        return rc;
    char line[64];
    for (int i = 0; i < lines; i++) {
        int k = snprintf(line, sizeof line, "line %d\n", i);
        if (graft_stream_write(req, line, (size_t)k) < 0)
            break;
    }
    static char big[65536];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    graft_stream_write(req, big, sizeof big);
    graft_stream_write(req, "", 0); /* an empty write must not end the stream */
    graft_stream_write(req, "end\n", 4);
    return graft_stream_end(req);
}

static int file(graft_request *req, void *st)
{
    count(st);
    char path[1200];
    snprintf(path, sizeof path, "%s/served.bin", ((lib *)st)->dir);
    return graft_respond_file(req, 200, "application/octet-stream", path);
}

static int file_missing(graft_request *req, void *st)
{
    count(st);
    char path[1200];
    snprintf(path, sizeof path, "%s/no-such-file.bin", ((lib *)st)->dir);
    return graft_respond_file(req, 200, "application/octet-stream", path);
}

/* ---- 204 and 304 end at their head, whatever the handler sends after it ---- */

static int nobody_status(graft_request *req)
{
    size_t n = 0;
    const char *s = graft_query(req, "s", &n);
    return s && n == 3 ? atoi(s) : 204;
}

static int nobody_stream(graft_request *req, void *st)
{
    count(st);
    int rc = graft_stream_start(req, nobody_status(req), "text/plain");
    if (rc)
        return rc;
    graft_stream_write(req, "HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nsmuggled", 48);
    return graft_stream_end(req);
}

static int nobody_file(graft_request *req, void *st)
{
    count(st);
    char path[1200];
    snprintf(path, sizeof path, "%s/served.bin", ((lib *)st)->dir);
    return graft_respond_file(req, nobody_status(req), "application/octet-stream", path);
}

/* ---- 1xx statuses are not final responses ---- */

static void no_release(void *arg) { (void)arg; }

/* Tries every way to answer with a 1xx status (all must fail with GRAFT_EINVAL and send
 * nothing), then answers 200 with the return codes. */
static int interim(graft_request *req, void *st)
{
    count(st);
    char path[1200], b[512];
    snprintf(path, sizeof path, "%s/served.bin", ((lib *)st)->dir);
    static const int statuses[] = {100, 101, 103, 199};
    size_t n = 0;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        int s = statuses[i];
        graft_json *j = graft_json_new();
        graft_json_null(j);
        n += (size_t)snprintf(b + n, sizeof b - n, "%d:%d,%d,%d,%d,%d ", s,
                              graft_respond(req, s, "text/plain", "x", 1),
                              graft_respond_borrowed(req, s, NULL, "x", 1, no_release, NULL),
                              graft_respond_file(req, s, NULL, path),
                              graft_stream_start(req, s, "text/plain"),
                              graft_respond_json(req, s, j));
    }
    return text(req, 200, b);
}

/* ---- blocking and asynchronous answers ---- */

static int slow(graft_request *req, void *st)
{
    count(st);
    nap_ms(300);
    return text(req, 200, "slow");
}

static void *async_thread(void *arg)
{
    graft_request *req = arg;
    nap_ms(100);
    text(req, 200, "async-ok");
    graft_request_release(req);
    return NULL;
}

static int async_route(graft_request *req, void *st)
{
    count(st);
    atomic_fetch_add(&((lib *)st)->async_started, 1);
    graft_request_retain(req);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &at, async_thread, req) != 0) {
        pthread_attr_destroy(&at);
        graft_request_release(req);
        return -12;
    }
    pthread_attr_destroy(&at);
    return GRAFT_OK;
}

typedef struct watch {
    graft_request *req;
    lib *st;
} watch;

static void *gone_thread(void *arg)
{
    watch *w = arg;
    int seen = 0;
    for (int i = 0; i < 500; i++) { /* up to 5 s */
        if (graft_request_gone(w->req)) {
            seen = 1;
            break;
        }
        nap_ms(10);
    }
    if (seen) {
        atomic_fetch_add(&w->st->gone_seen, 1);
        atomic_store(&w->st->gone_late_rc, text(w->req, 200, "too late"));
    } else {
        text(w->req, 200, "not gone");
    }
    graft_request_release(w->req);
    atomic_fetch_add(&w->st->gone_finished, 1);
    free(w);
    return NULL;
}

static int gone_watch(graft_request *req, void *st)
{
    count(st);
    watch *w = malloc(sizeof *w);
    if (!w)
        return -12;
    w->req = req;
    w->st = st;
    graft_request_retain(req);
    pthread_t t;
    if (pthread_create(&t, NULL, gone_thread, w) != 0) {
        graft_request_release(req);
        free(w);
        return -12;
    }
    pthread_detach(t);
    return GRAFT_OK;
}

static int gone_count(graft_request *req, void *st)
{
    lib *l = st;
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "seen");
    graft_json_int(j, atomic_load(&l->gone_seen));
    graft_json_key(j, "finished");
    graft_json_int(j, atomic_load(&l->gone_finished));
    graft_json_key(j, "late_rc");
    graft_json_int(j, atomic_load(&l->gone_late_rc));
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

/* ---- library and thread state ---- */

static int state(graft_request *req, void *st)
{
    count(st);
    lib *l = st;
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "same");
    graft_json_bool(j, st != NULL && graft_lib_state(req) == st);
    graft_json_key(j, "config");
    graft_json_string(j, l->dir, strlen(l->dir));
    graft_json_key(j, "requests");
    graft_json_int(j, atomic_load(&l->requests));
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

static void *tstate_create(void *st)
{
    tstate *t = calloc(1, sizeof *t);
    if (t) {
        t->owner = st;
        if (st)
            atomic_fetch_add(&((lib *)st)->thread_states, 1);
    }
    return t;
}

static void tstate_destroy(void *p)
{
    tstate *t = p;
    if (t->owner)
        atomic_fetch_add(&((lib *)t->owner)->thread_states_freed, 1);
    free(t);
}

static int thread_state(graft_request *req, void *st)
{
    count(st);
    tstate *t = graft_thread_state(req);
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "created");
    graft_json_int(j, atomic_load(&((lib *)st)->thread_states));
    graft_json_key(j, "mine");
    if (t)
        graft_json_int(j, ++t->count);
    else
        graft_json_null(j);
    graft_json_key(j, "same_again");
    graft_json_bool(j, graft_thread_state(req) == t);
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

static void lib_destroy(void *st)
{
    lib *l = st;
    if (l->dir[0]) {
        char path[1200];
        snprintf(path, sizeof path, "%s/destroyed", l->dir);
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "destroyed requests=%ld thread_states=%d/%d\n",
                    (long)atomic_load(&l->requests), atomic_load(&l->thread_states_freed),
                    atomic_load(&l->thread_states));
            fclose(f);
        }
    }
    free(l);
}

/* ---- JSON writer ---- */

static int json(graft_request *req, void *st)
{
    count(st);
    graft_json *j = graft_json_new();
    graft_json_object_begin(j);
    graft_json_key(j, "quote");
    graft_json_string(j, "a\"b", 3);
    graft_json_key(j, "backslash");
    graft_json_string(j, "a\\b", 3);
    static const char ctl[] = "\x01\n\t\r\b\f\x1f";
    graft_json_key(j, "controls");
    graft_json_string(j, ctl, sizeof ctl - 1);
    graft_json_key(j, "nul");
    graft_json_string(j, "a\0b", 3);
    static const char uni[] = "h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x98\x80";
    graft_json_key(j, "unicode");
    graft_json_string(j, uni, sizeof uni - 1);
    graft_json_key(j, "empty");
    graft_json_string(j, "", 0);
    graft_json_key(j, "ke\"y\\");
    graft_json_int(j, 1);
    graft_json_key(j, "doubles");
    graft_json_array_begin(j);
    static const double ds[] = {10.0, 9.99, 1e-05, 1e+16, 0.1, 1.5, 0.0001, 123.456,
                                1e22, 5e-324, 1.7976931348623157e308, -2.5, 0.0, 1e15, 3.0e-7};
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++)
        graft_json_double(j, ds[i]);
    graft_json_array_end(j);
    graft_json_key(j, "nonfinite");
    graft_json_array_begin(j);
    graft_json_double(j, NAN);
    graft_json_double(j, INFINITY);
    graft_json_double(j, -INFINITY);
    graft_json_array_end(j);
    graft_json_key(j, "ints");
    graft_json_array_begin(j);
    graft_json_int(j, 0);
    graft_json_int(j, -42);
    graft_json_int(j, INT64_MAX);
    graft_json_int(j, INT64_MIN);
    graft_json_array_end(j);
    graft_json_key(j, "atoms");
    graft_json_array_begin(j);
    graft_json_bool(j, 1);
    graft_json_bool(j, 0);
    graft_json_null(j);
    graft_json_array_end(j);
    graft_json_key(j, "nested");
    graft_json_object_begin(j);
    graft_json_key(j, "a");
    graft_json_array_begin(j);
    graft_json_object_begin(j);
    graft_json_object_end(j);
    graft_json_array_begin(j);
    graft_json_array_end(j);
    graft_json_object_begin(j);
    graft_json_key(j, "b");
    graft_json_array_begin(j);
    graft_json_int(j, 1);
    graft_json_array_end(j);
    graft_json_object_end(j);
    graft_json_array_end(j);
    graft_json_object_end(j);
    graft_json_object_end(j);
    return graft_respond_json(req, 200, j);
}

/* The body is byte strings, each after its length (2 bytes, big-endian); the answer is a
 * JSON array of them, each written with graft_json_string (invalid UTF-8 → U+FFFD). Each
 * string is copied to an exactly-sized block so sanitizers see any over-read. */
static int json_strings(graft_request *req, void *st)
{
    count(st);
    size_t n = 0;
    const unsigned char *b = (const unsigned char *)graft_body(req, &n);
    graft_json *j = graft_json_new();
    graft_json_array_begin(j);
    for (size_t i = 0; i + 2 <= n;) {
        size_t len = (size_t)b[i] << 8 | b[i + 1];
        i += 2;
        char *copy = len <= n - i ? malloc(len ? len : 1) : NULL;
        if (!copy) {
            graft_json_free(j);
            return len <= n - i ? -12 : text(req, 400, "truncated");
        }
        memcpy(copy, b + i, len);
        graft_json_string(j, copy, len);
        free(copy);
        i += len;
    }
    graft_json_array_end(j);
    return graft_respond_json(req, 200, j);
}

static int pid(graft_request *req, void *st)
{
    count(st);
    char b[32];
    snprintf(b, sizeof b, "%d", (int)getpid());
    return text(req, 200, b);
}

int graft_register(graft_router *r, const char *config)
{
    lib *l = calloc(1, sizeof *l);
    if (!l)
        return -12;
    if (config)
        snprintf(l->dir, sizeof l->dir, "%s", config);
    graft_router_set_state(r, l, lib_destroy);
    graft_router_set_thread_state(r, tstate_create, tstate_destroy);
    graft_router_set_body_limit(r, BODY_LIMIT);
    struct {
        const char *m, *p;
        graft_handler h;
        unsigned flags;
    } routes[] = {
        {"GET", "/items/special", items_exact, 0},
        {"GET", "/items/{id}", items_param, 0},
        {"GET", "/items/{rest:path}", items_rest, 0},
        {"GET", "/params/{a}/{b}", params, 0},
        {"GET", "/query", query, 0},
        {"GET", "/headers", headers, 0},
        {"GET", "/client", client, 0},
        {"GET", "/setheader", setheader, 0},
        {"POST", "/echo", echo, GRAFT_ROUTE_BODY},
        {"PUT", "/echo", echo, GRAFT_ROUTE_BODY | GRAFT_ROUTE_BLOCKING},
        {"GET", "/maybe", maybe, 0},
        {"POST", "/maybe", maybe, 0},
        {"POST", "/maybe-body", maybe, GRAFT_ROUTE_BODY},
        {"GET", "/fail", fail, 0},
        {"GET", "/stream", stream, 0},
        {"GET", "/file", file, 0},
        {"GET", "/nobody/stream", nobody_stream, 0},
        {"GET", "/nobody/file", nobody_file, 0},
        {"HEAD", "/file", file, 0}, /* under graft HEAD reaches a library only when registered */
        {"GET", "/file-missing", file_missing, 0},
        {"GET", "/slow", slow, GRAFT_ROUTE_BLOCKING},
        {"GET", "/async", async_route, 0},
        {"GET", "/gone-watch", gone_watch, 0},
        {"GET", "/gone-count", gone_count, 0},
        {"GET", "/state", state, 0},
        {"GET", "/tstate", thread_state, 0},
        {"GET", "/json", json, 0},
        {"POST", "/json-strings", json_strings, GRAFT_ROUTE_BODY},
        {"GET", "/pid", pid, 0},
        {"GET", "/empty", empty, 0},
        {"GET", "/interim", interim, 0},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int rc = graft_route(r, routes[i].m, routes[i].p, routes[i].h, routes[i].flags);
        if (rc != 0)
            return rc;
    }
    return 0;
}
