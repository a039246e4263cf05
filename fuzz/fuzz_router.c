/* libFuzzer target for the native route table (src/native/router.c): registration of
 * random templates, and matching of random raw paths once decoded (src/native/path_decode.c)
 * as deliver does.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/core/api -Isrc/native \
 *         src/native/router.c src/native/path_decode.c fuzz/fuzz_router.c -o build/fuzz_router
 *
 * The input is lines. A line starting with an upper-case letter registers a route:
 * 'W' a WebSocket route, 'G' GET, 'H' HEAD, 'P' POST, any other letter METHOD "X";
 * the rest of the line is the template. Any other line is a raw request path: decoded, then
 * matched as GET, HEAD (with and without head_as_get), POST and as a WebSocket upgrade.
 * Beyond "no crash" (ASan sees the per-segment score array and every capture), it checks:
 *  - a template over GRAFT_ROUTE_MAX_SEGMENTS is refused with GRAFT_EINVAL;
 *  - every registered route matches a path made from its own template, with the
 *    right kind (WebSocket or not), and a template of literals only matches itself;
 *  - the route picked is the one a plain reference matcher picks by the documented
 *    precedence (literal > {name} > {name:path} per segment from the left, then the
 *    request's own method over GET-for-HEAD, then the earlier registration);
 *  - a match's captures lie inside the path, are as many as the route's parameters,
 *    never contain '/' unless a catch-all, and the route's method fits the request;
 *  - the decoded path fits where deliver puts it (no longer than the raw one when that is
 *    all VCHARs, as the parser guarantees; never past the given room), is valid UTF-8, and
 *    one byte less room is refused;
 *  - graft__router_path_route picks the first registered HTTP route the reference matches
 *    whatever its method, and nothing when none does.
 * Link with fuzz/replay.c instead of libFuzzer (any compiler) to replay files given
 * on the command line; make test-c replays the seed corpus so. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path_decode.h"
#include "router.h"

#include "fuzz_check.h"

static int handler(graft_request *req, void *st)
{
    (void)req;
    (void)st;
    return 0;
}

static void on_message(graft_ws *ws, int binary, const void *d, size_t n, void *st)
{
    (void)ws, (void)binary, (void)d, (void)n, (void)st;
}

static const graft_ws_handlers ws_handlers = {NULL, on_message, NULL};

static size_t count_params(const graft__route *rt)
{
    size_t k = 0;
    for (size_t i = 0; i < rt->nsegs; i++)
        k += rt->kinds[i] != 0;
    return k;
}

/* ---- reference matcher: the documented precedence, written out plainly ----
 * A route matches when its literals equal the path's segments, each {name} has a
 * non-empty segment and a final {name:path} takes whatever follows its '/' (maybe
 * nothing). Among matches, compare segment by segment from the left: literal (2) beats
 * {name} (1) beats {name:path} (0), a shorter score list counting as padded with 0;
 * then a route of the request's own method beats GET answering HEAD; then the earlier
 * registration wins. */

typedef struct ref_score {
    unsigned char seg[GRAFT_ROUTE_MAX_SEGMENTS];
    int own_method;
} ref_score;

static int ref_route(const graft__route *rt, const char *path, size_t len, ref_score *sc)
{
    memset(sc, 0, sizeof *sc);
    const char *p = path + 1, *end = path + len;
    for (size_t i = 0; i < rt->nsegs; i++) {
        if (rt->kinds[i] == 2)
            return 1; /* score 0 */
        const char *e = memchr(p, '/', (size_t)(end - p));
        size_t n = (size_t)((e ? e : end) - p);
        if (rt->kinds[i] == 0) {
            if (strlen(rt->segs[i]) != n || memcmp(rt->segs[i], p, n) != 0)
                return 0;
            sc->seg[i] = 2;
        } else {
            if (n == 0)
                return 0;
            sc->seg[i] = 1;
        }
        if (i + 1 == rt->nsegs)
            return e == NULL;
        if (!e)
            return 0;
        p = e + 1;
    }
    return 0;
}

static int ref_better(const ref_score *a, const ref_score *b)
{
    int c = memcmp(a->seg, b->seg, sizeof a->seg);
    return c > 0 || (c == 0 && a->own_method > b->own_method);
}

/* The index of the route that should answer, or -1. */
static long ref_match(const graft_router *r, const char *method, const char *path, size_t len,
                      int ws, int head_as_get)
{
    long best = -1;
    ref_score bs, sc;
    if (len == 0 || path[0] != '/')
        return -1;
    for (size_t i = 0; i < r->n; i++) {
        const graft__route *rt = &r->routes[i];
        if (rt->is_ws != (ws != 0))
            continue;
        int own = ws || strcmp(rt->method, method) == 0;
        int as_get = !ws && head_as_get && strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0;
        if (!own && !as_get)
            continue;
        if (!ref_route(rt, path, len, &sc))
            continue;
        sc.own_method = own;
        if (best < 0 || ref_better(&sc, &bs)) {
            best = (long)i;
            bs = sc;
        }
    }
    return best;
}

/* Matches path[0..len) (an exactly-sized copy) and checks what a match must satisfy. */
static int match(const graft_router *r, const char *method, const char *path, size_t len, int ws,
                 int head_as_get, graft__match *m)
{
    char *p = malloc(len ? len : 1);
    CHECK(p);
    memcpy(p, path, len);
    memset(m, 0xa5, sizeof *m);
    int found = graft__router_match(r, method, strlen(method), p, len, ws, head_as_get, m);
    CHECK(found == 0 || found == 1);
    long want = ref_match(r, method, p, len, ws, head_as_get);
    long got = found ? (long)(m->route - r->routes) : -1;
    if (got != want) {
        fprintf(stderr, "%s %.*s (ws %d, head_as_get %d): router picked route %ld, reference %ld\n",
                method, (int)len, path, ws, head_as_get, got, want);
        abort();
    }
    if (found) {
        const graft__route *rt = m->route;
        CHECK(rt >= r->routes && rt < r->routes + r->n);
        CHECK(rt->is_ws == (ws != 0));
        CHECK(rt->nsegs <= GRAFT_ROUTE_MAX_SEGMENTS);
        if (!ws)
            CHECK(strcmp(rt->method, method) == 0 ||
                  (head_as_get && strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0));
        CHECK(m->nparams == count_params(rt) && m->nparams <= GRAFT__MAX_PARAMS);
        for (size_t i = 0; i < m->nparams; i++) {
            CHECK(m->names[i] != NULL);
            CHECK(m->vals[i] >= p && m->lens[i] <= len && m->vals[i] + m->lens[i] <= p + len);
            int rest = rt->kinds[rt->nsegs - 1] == 2 && i + 1 == m->nparams;
            if (!rest)
                CHECK(m->lens[i] > 0 && !memchr(m->vals[i], '/', m->lens[i]));
        }
    }
    free(p);
    return found;
}

/* A path the route's template must match: literals as they are, "v" for {name}, "r/s"
 * for {name:path}. Returns its length (out has room for it). */
static size_t instantiate(const graft__route *rt, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < rt->nsegs; i++) {
        out[n++] = '/';
        const char *s = rt->kinds[i] == 0 ? rt->segs[i] : rt->kinds[i] == 1 ? "v" : "r/s";
        size_t l = strlen(s);
        memcpy(out + n, s, l);
        n += l;
    }
    return n;
}

static const char *method_of(char c)
{
    switch (c) {
    case 'W': return "WEBSOCKET";
    case 'G': return "GET";
    case 'H': return "HEAD";
    case 'P': return "POST";
    default: return "X";
    }
}

/* Valid UTF-8 as Unicode table 3-7 has it, written out by byte ranges. */
static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return 0;
        }
        if (i + k >= n)
            return 0; /* truncated */
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t j = 2; j <= k; j++)
            if (s[i + j] < 0x80 || s[i + j] > 0xBF)
                return 0;
        i += k + 1;
    }
    return 1;
}

/* The raw path decoded as deliver decodes it, with the checks above: a heap block (room for
 * 3 bytes per raw one) holding *dlen decoded bytes; match() copies them to an exact size. */
static char *decode(const char *raw, size_t len, size_t *dlen)
{
    size_t cap = 3 * len;
    char *d = malloc(cap ? cap : 1);
    CHECK(d);
    long got = graft__path_decode(d, cap, raw, len);
    CHECK(got >= 0 && (size_t)got <= cap);
    int vchar = 1;
    for (size_t i = 0; i < len; i++)
        vchar &= raw[i] > 0x20 && raw[i] < 0x7f;
    if (vchar)
        CHECK((size_t)got <= len);
    CHECK(valid_utf8((const unsigned char *)d, (size_t)got));
    if (got > 0) {
        char *small = malloc((size_t)got - 1 ? (size_t)got - 1 : 1);
        CHECK(small);
        CHECK(graft__path_decode(small, (size_t)got - 1, raw, len) == -1);
        free(small);
    }
    *dlen = (size_t)got;
    return d;
}

/* graft__router_path_route against the reference: the first HTTP route matching the path. */
static void check_path_route(const graft_router *r, const char *path, size_t len)
{
    long want = -1;
    ref_score sc;
    for (size_t i = 0; len && path[0] == '/' && i < r->n && want < 0; i++)
        if (!r->routes[i].is_ws && ref_route(&r->routes[i], path, len, &sc))
            want = (long)i;
    const graft__route *got = graft__router_path_route(r, path, len);
    CHECK(got ? want == (long)(got - r->routes) : want < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    graft_router r = {0};
    graft__match m;
    const char *s = (const char *)data, *end = s + size;
    /* First pass: registrations. Templates are NUL-terminated strings: a NUL in the
     * line ends it, as it would in C. */
    for (const char *line = s; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t len = (size_t)((nl ? nl : end) - line);
        if (len && line[0] >= 'A' && line[0] <= 'Z') {
            char *t = strndup(line + 1, len - 1);
            CHECK(t);
            size_t before = r.n, slashes = 0;
            for (const char *q = t; *q; q++)
                slashes += *q == '/';
            int rc = line[0] == 'W' ? graft_ws_route(&r, t, &ws_handlers)
                                    : graft_route(&r, method_of(line[0]), t, handler, 0);
            CHECK(rc == 0 || rc == GRAFT_EINVAL || rc == GRAFT_EEXIST);
            CHECK(r.n == before + (rc == 0));
            if (slashes > GRAFT_ROUTE_MAX_SEGMENTS)
                CHECK(rc == GRAFT_EINVAL);
            if (rc)
                CHECK(r.err[0] != '\0');
            free(t);
        }
        line += len + 1;
    }
    /* Every route matches a path made from its own template. */
    for (size_t i = 0; i < r.n; i++) {
        const graft__route *rt = &r.routes[i];
        size_t cap = strlen(rt->template) + 4 * rt->nsegs + 8;
        char *path = malloc(cap);
        CHECK(path);
        size_t len = instantiate(rt, path);
        CHECK(len < cap);
        int ws = rt->is_ws;
        const char *method = ws ? "GET" : rt->method;
        int found = match(&r, method, path, len, ws, 0, &m);
        if (!found)
            fprintf(stderr, "route \"%s %s\" does not match its own path\n", rt->method, rt->template);
        CHECK(found);
        if (count_params(rt) == 0)
            CHECK(m.route == rt); /* all literals: nothing else can be as specific */
        if (!ws && strcmp(rt->method, "GET") == 0)
            CHECK(match(&r, "HEAD", path, len, 0, 1, &m));
        free(path);
    }
    /* Other lines are request paths. */
    for (const char *line = s; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t len = (size_t)((nl ? nl : end) - line);
        if (!(len && line[0] >= 'A' && line[0] <= 'Z')) {
            size_t dl;
            char *d = decode(line, len, &dl);
            match(&r, "GET", d, dl, 0, 0, &m);
            match(&r, "HEAD", d, dl, 0, 0, &m);
            match(&r, "HEAD", d, dl, 0, 1, &m);
            match(&r, "POST", d, dl, 0, 0, &m);
            match(&r, "GET", d, dl, 1, 0, &m);
            check_path_route(&r, d, dl);
            free(d);
        }
        line += len + 1;
    }
    graft__router_free(&r);
    return 0;
}

