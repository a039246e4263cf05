/* Unit tests for shadow mode's mismatch lines and their sink (src/core/shadow_line.c,
 * shadow_log.c). The rate limit runs on an injected clock (graft__shadow_log_write_at), so
 * nothing sleeps; the file sink writes in a fresh directory under /tmp. Line content is
 * checked for the pieces that matter here; tests/server/test_compare_py.py parses whole lines
 * with json.loads. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shadow.h"

#include "../unit.h"

#define F(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}
#define MS 1000000ull

static int has(const graft__buf *b, const char *s)
{
    size_t n = strlen(s), len = graft__buf_avail(b);
    const char *h = graft__buf_head(b);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(h + i, s, n) == 0)
            return 1;
    return 0;
}

static void test_line(void)
{
    graft__capture py, nat;
    graft__capture_init(&py, 0);
    graft__capture_init(&nat, 0);
    graft__field pf[] = {F("Content-Type", "text/plain"), F("Set-Cookie", "sid=secret"),
                         F("authorization", "Bearer x")};
    graft__field nf[] = {F("content-type", "text/plain"), F("cookie", "c=secret")};
    graft__capture_head(&py, 200, pf, 3);
    graft__capture_head(&nat, 500, nf, 2);
    graft__capture_body(&py, "say \"hi\"\n", 9);
    graft__capture_body(&nat, "\xff\x00\x01", 3);
    graft__buf out = {0};
    int rc = graft__shadow_line(&out, "GET /items/{id}", "GET", "/items/\xc3\x28", 9, "q=1", 3, &py, &nat,
                                GRAFT__DIFF_STATUS | GRAFT__DIFF_BODY, 0);
    check(rc == 0, "line rc", "%d", rc);
    check(has(&out, "{\"route\": \"GET /items/{id}\", \"request\": {\"method\": \"GET\", \"path\": "
                    "\"/items/\xef\xbf\xbd(\", \"query\": \"q=1\"}, \"differs\": [\"status\", \"body\"]"),
          "line request", "%.*s", (int)out.len, out.data);
    check(!has(&out, "secret") && !has(&out, "Bearer"), "redacted", "%.*s", (int)out.len, out.data);
    check(has(&out, "[\"set-cookie\", \"[redacted]\"]") && has(&out, "[\"cookie\", \"[redacted]\"]") &&
              has(&out, "[\"authorization\", \"[redacted]\"]"),
          "redacted marks", "%.*s", (int)out.len, out.data);
    check(has(&out, "\"body\": \"say \\\"hi\\\"\\n\", \"body_base64\": false, \"body_length\": 9, "
                    "\"body_truncated\": false"),
          "text body", "%.*s", (int)out.len, out.data);
    check(has(&out, "\"status\": 500") && has(&out, "\"body\": \"/wAB\", \"body_base64\": true, \"body_length\": 3"),
          "base64 body", "%.*s", (int)out.len, out.data);
    check(out.len > 0 && out.data[out.len - 1] == '\n' && memchr(out.data, '\n', out.len - 1) == NULL,
          "one line", "%.*s", (int)out.len, out.data);
    graft__buf_free(&out);

    /* capped: 10 bytes of "é" (2 bytes each) cut at 5 keeps two characters as text */
    graft__capture_free(&py);
    graft__capture_body(&py, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10);
    rc = graft__shadow_line(&out, "GET /", "GET", "/", 1, NULL, 0, &py, &nat, GRAFT__DIFF_HEADERS, 5);
    check(rc == 0 && has(&out, "\"body\": \"\xc3\xa9\xc3\xa9\", \"body_base64\": false, \"body_length\": 10, "
                               "\"body_truncated\": true"),
          "cut text", "%.*s", (int)out.len, out.data);
    check(has(&out, "\"query\": \"\"") && has(&out, "\"differs\": [\"headers\"]") && has(&out, "\"status\": null"),
          "no query, no status", "%.*s", (int)out.len, out.data);
    graft__buf_free(&out);
    graft__capture_free(&py);
    graft__capture_free(&nat);
}

static void test_rate_limit(void)
{
    graft__shadow_log *l;
    char err[256];
    int rc = graft__shadow_log_open(&l, NULL, 5000, err, sizeof err);
    check(rc == 0, "open queue", "%d %s", rc, err);
    if (rc)
        return;
    uint64_t t = 1000 * MS;
    int ok = 0;
    for (int i = 0; i < GRAFT__SHADOW_BURST + 50; i++)
        ok += graft__shadow_log_write_at(l, "{\"x\": 1}", 8, t) == 1;
    check(ok == GRAFT__SHADOW_BURST, "burst", "%d written", ok);
    check(graft__shadow_log_suppressed(l) == 50, "counted", "%llu",
          (unsigned long long)graft__shadow_log_suppressed(l));
    graft__buf out = {0};
    int n = graft__shadow_log_take(l, &out);
    check(n == GRAFT__SHADOW_BURST && out.len == (size_t)GRAFT__SHADOW_BURST * 9, "take", "%d lines %zu bytes",
          n, out.len);
    graft__buf_free(&out);
    /* 9 ms later: no whole token yet */
    check(graft__shadow_log_write_at(l, "a", 1, t + 9 * MS) == 0, "no token", "written");
    /* 10 ms: one token; the line comes after the note of the 51 dropped */
    check(graft__shadow_log_write_at(l, "b\n", 2, t + 10 * MS) == 1, "refilled", "dropped");
    check(graft__shadow_log_write_at(l, "c", 1, t + 11 * MS) == 0, "one token only", "written");
    n = graft__shadow_log_take(l, &out);
    check(n == 2 && out.len == strlen("{\"suppressed\": 51}\nb\n") &&
              memcmp(out.data, "{\"suppressed\": 51}\nb\n", out.len) == 0,
          "note then line", "%d [%.*s]", n, (int)out.len, out.data);
    graft__buf_free(&out);
    /* one second: 100 tokens; ten seconds: capped at the burst */
    ok = 0;
    for (int i = 0; i < 150; i++)
        ok += graft__shadow_log_write_at(l, "d", 1, t + 1011 * MS) == 1;
    check(ok == GRAFT__SHADOW_RATE, "rate", "%d written in a second", ok);
    (void)graft__shadow_log_take(l, &out);
    graft__buf_free(&out);
    ok = 0;
    for (int i = 0; i < 2 * GRAFT__SHADOW_BURST; i++)
        ok += graft__shadow_log_write_at(l, "e", 1, t + 20000 * MS) == 1;
    check(ok == GRAFT__SHADOW_BURST, "burst cap", "%d written", ok);
    check(graft__shadow_log_suppressed(l) == 50 + 2 + 50 + GRAFT__SHADOW_BURST, "total", "%llu",
          (unsigned long long)graft__shadow_log_suppressed(l));
    graft__shadow_log_close(l);
}

static int woken;
static void wake(void *arg) { woken += *(int *)arg; }

static void test_queue(void)
{
    graft__shadow_log *l;
    char err[256];
    if (graft__shadow_log_open(&l, NULL, 3, err, sizeof err) != 0)
        return fail("queue open", "%s", err);
    int one = 1;
    graft__shadow_log_set_notify(l, wake, &one);
    int w = 0;
    for (int i = 0; i < 5; i++)
        w += graft__shadow_log_write_at(l, "q", 1, 0);
    check(w == 3 && woken == 3 && graft__shadow_log_suppressed(l) == 2, "queue full", "w %d woken %d", w, woken);
    graft__buf out = {0};
    check(graft__shadow_log_take(l, &out) == 3, "taken", "not 3");
    check(graft__shadow_log_take(l, &out) == 0, "taken twice", "not empty");
    /* room for the note and one line */
    check(graft__shadow_log_write_at(l, "r", 1, 0) == 1, "after take", "dropped");
    out.len = 0;
    check(graft__shadow_log_take(l, &out) == 2 && out.len == strlen("{\"suppressed\": 2}\nr\n"), "note queued",
          "[%.*s]", (int)out.len, out.data);
    graft__buf_free(&out);
    graft__shadow_log_close(l);
}

static size_t file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (size_t)st.st_size : (size_t)-1;
}

static void test_file(void)
{
    char dir[] = "/tmp/graft-shadow-XXXXXX";
    if (!mkdtemp(dir))
        return fail("file", "mkdtemp: %s", strerror(errno));
    char path[128], moved[128], bad[128];
    snprintf(path, sizeof path, "%s/shadow.log", dir);
    snprintf(moved, sizeof moved, "%s/shadow.log.1", dir);
    snprintf(bad, sizeof bad, "%s/missing/shadow.log", dir);
    graft__shadow_log *l;
    char err[256] = "";
    int rc = graft__shadow_log_open(&l, bad, 0, err, sizeof err);
    check(rc == -ENOENT && strstr(err, bad) != NULL, "open error names file", "%d [%s]", rc, err);
    rc = graft__shadow_log_open(&l, path, 0, err, sizeof err);
    check(rc == 0, "open file", "%d %s", rc, err);
    if (rc)
        return;
    struct stat st;
    check(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600", "%o", (unsigned)st.st_mode);
    uint64_t t = 5000 * MS;
    check(graft__shadow_log_write_at(l, "one", 3, t) == 1, "write", "no");
    check(file_size(path) == 4, "in file", "%zu", file_size(path));
    check(rename(path, moved) == 0, "rename", "%s", strerror(errno));
    /* within the second: still the old file */
    graft__shadow_log_write_at(l, "two\n", 4, t + 500 * MS);
    check(file_size(moved) == 8 && file_size(path) == (size_t)-1, "not yet reopened", "%zu",
          file_size(moved));
    graft__shadow_log_write_at(l, "three", 5, t + 1600 * MS);
    check(file_size(moved) == 8 && file_size(path) == 6, "reopened", "%zu %zu", file_size(moved),
          file_size(path));
    check(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "new file 0600", "%o", (unsigned)st.st_mode);
    graft__shadow_log_close(l);
    /* an existing file keeps its mode */
    chmod(path, 0640);
    rc = graft__shadow_log_open(&l, path, 0, err, sizeof err);
    check(rc == 0 && stat(path, &st) == 0 && (st.st_mode & 0777) == 0640, "mode kept", "%o", (unsigned)st.st_mode);
    if (rc == 0)
        graft__shadow_log_close(l);
    unlink(path);
    unlink(moved);
    rmdir(dir);
}

struct writer {
    graft__shadow_log *l;
    int written;
};

static void *write_many(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < 600; i++)
        w->written += graft__shadow_log_write_at(w->l, "{\"t\": 1}", 8, 7000 * MS) == 1;
    return NULL;
}

/* Four threads at once against the burst: exactly the burst is queued, whole lines only. */
static void test_threads(void)
{
    graft__shadow_log *l;
    char err[256];
    if (graft__shadow_log_open(&l, NULL, 5000, err, sizeof err) != 0)
        return fail("threads open", "%s", err);
    struct writer w[4];
    pthread_t t[4];
    int started = 0;
    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){l, 0};
        if (pthread_create(&t[i], NULL, write_many, &w[i]) == 0)
            started++;
        else
            break;
    }
    int total = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        total += w[i].written;
    }
    graft__buf out = {0};
    int n = graft__shadow_log_take(l, &out);
    check(started == 4 && total == GRAFT__SHADOW_BURST && n == GRAFT__SHADOW_BURST &&
              out.len == (size_t)GRAFT__SHADOW_BURST * 9 && graft__shadow_log_suppressed(l) == 1400,
          "threads", "started %d written %d taken %d bytes %zu", started, total, n, out.len);
    int whole = 1;
    for (size_t i = 0; i + 9 <= out.len; i += 9)
        whole &= memcmp(out.data + i, "{\"t\": 1}\n", 9) == 0;
    check(whole, "threads whole lines", "interleaved");
    graft__buf_free(&out);
    graft__shadow_log_close(l);
}

int main(void)
{
    test_threads();
    test_line();
    test_rate_limit();
    test_queue();
    test_file();
    return unit_report();
}
