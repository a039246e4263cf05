/* Unit tests for captured responses and the comparison rule (src/core/capture.c, compare.c):
 * each case builds two captures that differ (or not) in one respect and checks the mask. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

#include "../unit.h"

#define F(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

/* Captures a head and a body into c (body cap cap); body may be NULL. */
static void make(graft__capture *c, size_t cap, int status, const graft__field *fs, size_t n,
                 const char *body, size_t blen)
{
    graft__capture_init(c, cap);
    if (graft__capture_head(c, status, fs, n) != 0)
        fail("make", "capture_head failed");
    if (body)
        graft__capture_body(c, body, blen);
}

/* Compares two heads (same empty body, status 200) and checks the mask is want. */
static void heads(const char *name, const graft__field *fa, size_t na, const graft__field *fb,
                  size_t nb, unsigned want)
{
    graft__capture a, b;
    make(&a, 0, 200, fa, na, NULL, 0);
    make(&b, 0, 200, fb, nb, NULL, 0);
    unsigned got = graft__compare(&a, &b), back = graft__compare(&b, &a);
    check(got == want && back == want, name, "mask %u / %u, want %u", got, back, want);
    graft__capture_free(&a);
    graft__capture_free(&b);
}

static void test_headers(void)
{
    graft__field a[] = {F("content-type", "text/plain"), F("x-a", "1"), F("x-b", "2")};
    graft__field order[] = {F("x-b", "2"), F("content-type", "text/plain"), F("x-a", "1")};
    heads("order-insensitive", a, 3, order, 3, 0);
    graft__field upper[] = {F("Content-Type", "text/plain"), F("X-A", "1"), F("x-B", "2")};
    heads("names case-insensitive", a, 3, upper, 3, 0);
    graft__field value_case[] = {F("content-type", "Text/Plain"), F("x-a", "1"), F("x-b", "2")};
    heads("value case matters", a, 3, value_case, 3, GRAFT__DIFF_HEADERS);
    graft__field one[] = {F("set-cookie", "a=1")};
    graft__field two[] = {F("set-cookie", "a=1"), F("set-cookie", "a=1")};
    heads("duplicates counted", one, 1, two, 2, GRAFT__DIFF_HEADERS);
    graft__field two_other[] = {F("set-cookie", "a=1"), F("set-cookie", "b=2")};
    heads("same count other values", two, 2, two_other, 2, GRAFT__DIFF_HEADERS);
    graft__field framing_a[] = {F("x-a", "1"), F("date", "Mon"), F("server", "graft"),
                                F("content-length", "5")};
    graft__field framing_b[] = {F("transfer-encoding", "chunked"), F("Server", "uvicorn"),
                                F("Date", "Tue"), F("x-a", "1")};
    heads("date server framing ignored", framing_a, 4, framing_b, 4, 0);
    graft__field missing[] = {F("x-a", "1"), F("x-b", "2")};
    heads("missing field", a, 3, missing, 2, GRAFT__DIFF_HEADERS);
    heads("empty vs empty", NULL, 0, NULL, 0, 0);
    graft__field empty_value[] = {F("x-a", "")};
    graft__field empty_value2[] = {F("x-a", "")};
    heads("empty value", empty_value, 1, empty_value2, 1, 0);
}

static void test_status(void)
{
    graft__capture a, b;
    make(&a, 0, 200, NULL, 0, "x", 1);
    make(&b, 0, 201, NULL, 0, "x", 1);
    check(graft__compare(&a, &b) == GRAFT__DIFF_STATUS, "status", "mask %u", graft__compare(&a, &b));
    b.status = 0;
    check(graft__compare(&a, &b) == GRAFT__DIFF_STATUS, "status none", "mask %u", graft__compare(&a, &b));
    graft__capture_free(&a);
    graft__capture_free(&b);
}

static void test_body(void)
{
    graft__capture a, b;
    /* pieces framed differently, same bytes */
    make(&a, 0, 200, NULL, 0, "hello world", 11);
    make(&b, 0, 200, NULL, 0, "hello", 5);
    graft__capture_body(&b, " world", 6);
    check(graft__compare(&a, &b) == 0, "body pieces", "mask %u", graft__compare(&a, &b));
    graft__capture_body(&b, "", 0);
    check(graft__compare(&a, &b) == 0, "empty piece", "mask %u", graft__compare(&a, &b));
    graft__capture_free(&a);
    graft__capture_free(&b);

    make(&a, 0, 200, NULL, 0, "hello", 5);
    make(&b, 0, 200, NULL, 0, "hellO", 5);
    check(graft__compare(&a, &b) == GRAFT__DIFF_BODY, "body bytes", "mask %u", graft__compare(&a, &b));
    graft__capture_free(&a);
    graft__capture_free(&b);

    /* cap 4: a difference past the cap is not seen, one inside it is */
    make(&a, 4, 200, NULL, 0, "abcdXYZ", 7);
    make(&b, 4, 200, NULL, 0, "abcdQQQ", 7);
    check(a.body.len == 4 && a.body_total == 7, "cap keeps", "kept %zu total %llu", a.body.len,
          (unsigned long long)a.body_total);
    check(graft__compare(&a, &b) == 0, "past cap unseen", "mask %u", graft__compare(&a, &b));
    graft__capture_free(&b);
    make(&b, 4, 200, NULL, 0, "abCdXYZ", 7);
    check(graft__compare(&a, &b) == GRAFT__DIFF_BODY, "inside cap", "mask %u", graft__compare(&a, &b));
    graft__capture_free(&b);
    /* total length beyond the cap: same prefix, one more byte */
    make(&b, 4, 200, NULL, 0, "abcdXYZ!", 8);
    check(graft__compare(&a, &b) == GRAFT__DIFF_BODY, "total beyond cap", "mask %u",
          graft__compare(&a, &b));
    graft__capture_free(&b);
    /* different caps: compared under the smaller */
    make(&b, 6, 200, NULL, 0, "abcdXQZ", 7);
    check(graft__compare(&a, &b) == 0, "smaller cap", "mask %u", graft__compare(&a, &b));
    graft__capture_free(&a);
    graft__capture_free(&b);

    make(&a, 0, 200, NULL, 0, "", 0);
    make(&b, 0, 200, NULL, 0, "x", 1);
    check(graft__compare(&a, &b) == GRAFT__DIFF_BODY, "empty vs one", "mask %u", graft__compare(&a, &b));
    b.status = 500;
    check(graft__compare(&a, &b) == (GRAFT__DIFF_BODY | GRAFT__DIFF_STATUS), "two parts", "mask %u",
          graft__compare(&a, &b));
    graft__capture_free(&a);
    graft__capture_free(&b);
}

static void test_lines(void)
{
    graft__capture a, b;
    graft__capture_init(&a, 0);
    const char lines[] = "Content-Type: text/plain\r\nX-A: 1\r\nx-a: 2\r\n";
    check(graft__capture_header_lines(&a, 404, lines, sizeof lines - 1) == 0, "lines", "rc");
    check(a.status == 404 && a.nfields == 3, "lines count", "status %d n %zu", a.status, a.nfields);
    check(a.nfields == 3 && GRAFT__LIT_EQ(a.fields[1].name, a.fields[1].name_len, "x-a") &&
              GRAFT__LIT_EQ(a.fields[0].value, a.fields[0].value_len, "text/plain"),
          "lines lowercased", "first %.*s", (int)a.fields[0].name_len, a.fields[0].name);
    graft__field fs[] = {F("x-a", "2"), F("content-type", "text/plain"), F("x-a", "1")};
    make(&b, 0, 404, fs, 3, NULL, 0);
    check(graft__compare(&a, &b) == 0, "lines vs fields", "mask %u", graft__compare(&a, &b));
    graft__capture_free(&a);
    graft__capture_free(&b);
}

/* Past the bounds the head is cut; a cut head equals only an identical cut head. */
static void test_truncated(void)
{
    graft__field many[GRAFT__CAPTURE_MAX_FIELDS + 5];
    for (size_t i = 0; i < GRAFT__CAPTURE_MAX_FIELDS + 5; i++)
        many[i] = (graft__field)F("x-n", "v");
    graft__capture a, b, c;
    make(&a, 0, 200, many, GRAFT__CAPTURE_MAX_FIELDS + 5, NULL, 0);
    make(&b, 0, 200, many, GRAFT__CAPTURE_MAX_FIELDS + 3, NULL, 0);
    make(&c, 0, 200, many, GRAFT__CAPTURE_MAX_FIELDS, NULL, 0);
    check(a.truncated_head && a.nfields == GRAFT__CAPTURE_MAX_FIELDS, "cut at count", "n %zu", a.nfields);
    check(!c.truncated_head, "at the bound", "cut");
    check(graft__compare(&a, &b) == 0, "both cut identical", "mask %u", graft__compare(&a, &b));
    check(graft__compare(&a, &c) == GRAFT__DIFF_HEADERS, "cut vs whole", "mask %u", graft__compare(&a, &c));
    graft__capture_free(&a);
    graft__capture_free(&b);
    graft__capture_free(&c);

    /* byte bound: two 40 KiB values do not both fit in 64 KiB */
    size_t big = 40 * 1024;
    char *v = malloc(big);
    if (!v)
        return;
    memset(v, 'v', big);
    graft__field huge[] = {{"x-big", 5, v, big}, {"x-big2", 6, v, big}};
    make(&a, 0, 200, huge, 2, NULL, 0);
    check(a.truncated_head && a.nfields == 1 && a.head.len == 5 + big, "cut at bytes", "n %zu len %zu",
          a.nfields, a.head.len);
    graft__capture_free(&a);
    free(v);
}

int main(void)
{
    test_headers();
    test_status();
    test_body();
    test_lines();
    test_truncated();
    return unit_report();
}
