/* Unit tests for the JSON writer (src/native/json.c, the graft_json_* calls of graft.h).
 *
 * Strings are compared byte for byte with what Python writes for the same input, i.e.
 * json.dumps(s.decode("utf-8", errors="replace"), ensure_ascii=False): RFC 8259 escapes for
 * every control character, '"' and '\', and one U+FFFD per maximal invalid subpart (truncated
 * sequences, stray continuations, overlongs, surrogates, above U+10FFFF). Doubles are
 * compared with Python's repr, as json.dumps writes them. Inputs are copied into
 * exactly-sized heap blocks so sanitizers catch a read past the end. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "graft.h"

#include "../unit.h"

/* Checks the writer's text against want (NUL-terminated, length not counting it), then frees
 * the writer. */
static void expect(graft_json *j, const char *name, const char *want)
{
    size_t len = (size_t)-1;
    const char *got = graft_json_data(j, &len);
    size_t wl = strlen(want);
    check(got != NULL, name, "no data");
    if (got) {
        check(len == wl && memcmp(got, want, wl) == 0, name, "got %zu bytes [%.*s], want %zu [%s]",
              len, (int)len, got, wl, want);
        check(got[len] == '\0', name, "not NUL-terminated");
    }
    graft_json_free(j);
}

static graft_json *writer(void)
{
    graft_json *j = graft_json_new();
    if (!j)
        abort();
    return j;
}

/* ---- strings ---- */

typedef struct scase {
    const char *name;
    const char *in;
    size_t n;
    const char *want;
} scase;

static const scase scases[] = {
    {"empty", GRAFT__STRLIT(""),
     "\"\""},
    {"ASCII", GRAFT__STRLIT("plain text / 'quotes' ~"),
     "\"plain text / 'quotes' ~\""},
    {"quote and backslash", GRAFT__STRLIT("say \"hi\" \\o/"),
     "\"say \\\"hi\\\" \\\\o/\""},
    {"DEL is not escaped", GRAFT__STRLIT("\x7f"),
     "\"\x7f\""},
    {"valid UTF-8 passes", GRAFT__STRLIT("\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd \xf4\x8f\xbf\xbf"),
     "\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd \xf4\x8f\xbf\xbf\""},
    {"NUL inside", GRAFT__STRLIT("a\x00" "b"),
     "\"a\\u0000b\""},
    {"stray continuation", GRAFT__STRLIT("\x80"),
     "\"\xef\xbf\xbd\""},
    {"stray continuations", GRAFT__STRLIT("a\x80\xbf" "b"),
     "\"a\xef\xbf\xbd\xef\xbf\xbd" "b\""},
    {"truncated 2-byte at the end", GRAFT__STRLIT("ok\xc3"),
     "\"ok\xef\xbf\xbd\""},
    {"truncated 3-byte at the end", GRAFT__STRLIT("a\xe2\x82"),
     "\"a\xef\xbf\xbd\""},
    {"truncated 4-byte at the end", GRAFT__STRLIT("\xf0\x9f\x98"),
     "\"\xef\xbf\xbd\""},
    {"truncated 3-byte before ASCII", GRAFT__STRLIT("\xe2\x82" "a"),
     "\"\xef\xbf\xbd" "a\""},
    {"truncated 4-byte before ASCII", GRAFT__STRLIT("\xf0\x9f\x98x"),
     "\"\xef\xbf\xbdx\""},
    {"truncated before a lead", GRAFT__STRLIT("\xe1\x80\xe1\x80\x80"),
     "\"\xef\xbf\xbd\xe1\x80\x80\""},
    {"truncated before 2-byte", GRAFT__STRLIT("\xf1\x80\x80\xc3\xa9"),
     "\"\xef\xbf\xbd\xc3\xa9\""},
    {"truncated before an escape", GRAFT__STRLIT("\xe2\x82\x0a"),
     "\"\xef\xbf\xbd\\n\""},
    {"overlong 2-byte", GRAFT__STRLIT("\xc0\xaf"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\""},
    {"overlong NUL", GRAFT__STRLIT("\xc0\x80"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\""},
    {"overlong 3-byte", GRAFT__STRLIT("\xe0\x80\xaf"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
    {"overlong 3-byte, E0 9F", GRAFT__STRLIT("\xe0\x9f\xbf"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
    {"overlong 4-byte", GRAFT__STRLIT("\xf0\x8f\xbf\xbf"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
    {"surrogate U+D800", GRAFT__STRLIT("\xed\xa0\x80"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
    {"surrogate U+DFFF", GRAFT__STRLIT("\xed\xbf\xbf"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
    {"CESU-8 pair", GRAFT__STRLIT("\xed\xa0\xbd\xed\xb8\x80"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
    {"U+110000", GRAFT__STRLIT("\xf4\x90\x80\x80"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
    {"F5 lead", GRAFT__STRLIT("\xf5\x80\x80\x80"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
    {"5-byte form", GRAFT__STRLIT("\xf8\x88\x80\x80\x80"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
    {"FE FF", GRAFT__STRLIT("\xfe\xff"),
     "\"\xef\xbf\xbd\xef\xbf\xbd\""},
    {"invalid between escapes", GRAFT__STRLIT("\\\x80\"\xff\x09"),
     "\"\\\\\xef\xbf\xbd\\\"\xef\xbf\xbd\\t\""},
    {"last valid before invalid", GRAFT__STRLIT("\xf4\x8f\xbf\xbf\xf4\x90"),
     "\"\xf4\x8f\xbf\xbf\xef\xbf\xbd\xef\xbf\xbd\""},
};

static void test_strings(void)
{
    for (size_t i = 0; i < sizeof scases / sizeof scases[0]; i++) {
        const scase *c = &scases[i];
        char *p = malloc(c->n ? c->n : 1);
        if (!p)
            abort();
        memcpy(p, c->in, c->n);
        graft_json *j = writer();
        graft_json_string(j, p, c->n);
        expect(j, c->name, c->want);
        free(p);
    }
}

/* Each control character alone: the short escapes where JSON has one, else \u00XX. */
static void test_control_chars(void)
{
    static const char *const want[32] = {
    "\"\\u0000\"", "\"\\u0001\"", "\"\\u0002\"", "\"\\u0003\"", "\"\\u0004\"", "\"\\u0005\"",
    "\"\\u0006\"", "\"\\u0007\"", "\"\\b\"", "\"\\t\"", "\"\\n\"", "\"\\u000b\"", "\"\\f\"",
    "\"\\r\"", "\"\\u000e\"", "\"\\u000f\"", "\"\\u0010\"", "\"\\u0011\"", "\"\\u0012\"",
    "\"\\u0013\"", "\"\\u0014\"", "\"\\u0015\"", "\"\\u0016\"", "\"\\u0017\"", "\"\\u0018\"",
    "\"\\u0019\"", "\"\\u001a\"", "\"\\u001b\"", "\"\\u001c\"", "\"\\u001d\"", "\"\\u001e\"",
    "\"\\u001f\"",
    };
    for (int c = 0; c < 32; c++) {
        char in = (char)c, name[24];
        snprintf(name, sizeof name, "control 0x%02x", c);
        graft_json *j = writer();
        graft_json_string(j, &in, 1);
        expect(j, name, want[c]);
    }
    /* all of them in one string, between text, are escaped in place */
    char all[34];
    all[0] = '<';
    for (int c = 0; c < 32; c++)
        all[1 + c] = (char)c;
    all[33] = '>';
    graft_json *j = writer();
    graft_json_string(j, all, sizeof all);
    expect(j, "all control chars",
           "\"<\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r"
           "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
           "\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f>\"");
}

/* Keys are escaped and repaired like strings. */
static void test_keys(void)
{
    graft_json *j = writer();
    graft_json_object_begin(j);
    graft_json_key(j, "a\"b\\c\n\x01");
    graft_json_int(j, 1);
    graft_json_key(j, "bad \xff\xe2\x82 end");
    graft_json_int(j, 2);
    graft_json_key(j, "");
    graft_json_int(j, 3);
    graft_json_object_end(j);
    expect(j, "keys",
           "{\"a\\\"b\\\\c\\n\\u0001\":1,\"bad \xef\xbf\xbd\xef\xbf\xbd end\":2,\"\":3}");
}

/* ---- numbers ---- */

static void test_ints(void)
{
    static const struct { int64_t v; const char *want; } cases[] = {
        {0, "0"}, {1, "1"}, {-1, "-1"}, {1234567890123, "1234567890123"},
        {INT64_MAX, "9223372036854775807"}, {INT64_MIN, "-9223372036854775808"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        graft_json *j = writer();
        graft_json_int(j, cases[i].v);
        expect(j, "int", cases[i].want);
    }
}

/* A number's text, written as is when it is a JSON number, else null. */
static void test_number_text(void)
{
    static const struct { const char *in, *want; } cases[] = {
        {"0", "0"}, {"-18446744073709551616", "-18446744073709551616"}, {"1.5e-7", "1.5e-7"},
        {"2E+10", "2E+10"}, {"-0.0", "-0.0"}, {"", "null"}, {"-", "null"}, {"01", "null"},
        {"+1", "null"}, {"1.", "null"}, {".5", "null"}, {"1e", "null"}, {"1e+", "null"},
        {"NaN", "null"}, {"1 ", "null"}, {"1_0", "null"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        graft_json *j = writer();
        graft_json_number_text(j, cases[i].in, strlen(cases[i].in));
        expect(j, "number_text", cases[i].want);
    }
    graft_json *j = writer();
    graft_json_array_begin(j);
    graft_json_number_text(j, "99999999999999999999", 20);
    graft_json_number_text(j, NULL, 0);
    graft_json_array_end(j);
    expect(j, "number_text", "[99999999999999999999,null]");
}

/* The shortest digits that read back as the same double, laid out like Python's repr: fixed
 * notation with at least one decimal for 1e-4 <= |v| < 1e16, else an exponent. */
static void test_doubles(void)
{
    static const struct { double v; const char *want; } cases[] = {
    {0.0, "0.0"},
    {-0.0, "-0.0"},
    {1.0, "1.0"},
    {-1.5, "-1.5"},
    {100.0, "100.0"},
    {0.1, "0.1"},
    {0.30000000000000004, "0.30000000000000004"},
    {0.3333333333333333, "0.3333333333333333"},
    {-0.6666666666666666, "-0.6666666666666666"},
    {4.35, "4.35"},
    {123456789.123, "123456789.123"},
    {1000000000000000.0, "1000000000000000.0"},
    {9999999999999998.0, "9999999999999998.0"},
    {1e+16, "1e+16"},
    {1.5e+300, "1.5e+300"},
    {1e+22, "1e+22"},
    {1e+23, "1e+23"},
    {0.0001, "0.0001"},
    {9.9e-05, "9.9e-05"},
    {1e-05, "1e-05"},
    {5e-324, "5e-324"},
    {2.2250738585072014e-308, "2.2250738585072014e-308"},
    {1.7976931348623157e+308, "1.7976931348623157e+308"},
    /* powers of two whose shortest repr is not their correctly rounded digits at that
     * length, but the neighbour one unit away */
    {7.120236347223045e-307, "7.120236347223045e-307"},
    {5.858190679279809e-244, "5.858190679279809e-244"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        graft_json *j = writer();
        graft_json_double(j, cases[i].v);
        expect(j, cases[i].want, cases[i].want);
    }
    /* JSON has no NaN or infinity */
    static const double nonfinite[] = {NAN, -NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof nonfinite / sizeof nonfinite[0]; i++) {
        graft_json *j = writer();
        graft_json_double(j, nonfinite[i]);
        expect(j, "non-finite double", "null");
    }
}

/* Pydantic's float text (pydantic_core.to_json): repr's layout, positional down to 1e-5,
 * exponents unpadded; the values FastAPI's response models write differently from repr. */
static void test_doubles_pydantic(void)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {35.0, "35.0"}, {9.99, "9.99"}, {-0.0, "-0.0"}, {0.0001, "0.0001"}, {1e-05, "0.00001"},
        {9.9e-05, "0.000099"}, {1e-07, "1e-7"}, {2.5e-07, "2.5e-7"}, {1e+16, "1e+16"},
        {0.30000000000000004, "0.30000000000000004"}, {5e-324, "5e-324"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        graft_json *j = writer();
        graft_json_double_pydantic(j, cases[i].v);
        expect(j, cases[i].want, cases[i].want);
    }
    graft_json *j = writer();
    graft_json_array_begin(j);
    graft_json_double_pydantic(j, INFINITY);
    graft_json_double_pydantic(j, NAN);
    graft_json_array_end(j);
    expect(j, "non-finite: null, as Pydantic's default ser_json_inf_nan", "[null,null]");
}

/* ---- structure: nesting and the commas between values ---- */

static void test_structure(void)
{
    graft_json *j = writer();
    expect(j, "nothing written", "");

    j = writer();
    graft_json_object_begin(j);
    graft_json_object_end(j);
    expect(j, "empty object", "{}");

    j = writer();
    graft_json_array_begin(j);
    graft_json_array_end(j);
    expect(j, "empty array", "[]");

    j = writer();
    graft_json_array_begin(j);
    graft_json_int(j, 1);
    graft_json_string(j, GRAFT__STRLIT("two"));
    graft_json_double(j, 3.5);
    graft_json_bool(j, 1);
    graft_json_bool(j, 0);
    graft_json_null(j);
    graft_json_array_end(j);
    expect(j, "scalars in an array", "[1,\"two\",3.5,true,false,null]");

    j = writer();
    graft_json_array_begin(j);
    graft_json_array_begin(j);
    graft_json_array_end(j);
    graft_json_array_begin(j);
    graft_json_array_begin(j);
    graft_json_array_end(j);
    graft_json_int(j, 1);
    graft_json_array_end(j);
    graft_json_object_begin(j);
    graft_json_object_end(j);
    graft_json_int(j, 2);
    graft_json_array_end(j);
    expect(j, "nested arrays", "[[],[[],1],{},2]");

    j = writer();
    graft_json_object_begin(j);
    graft_json_key(j, "a");
    graft_json_int(j, 1);
    graft_json_key(j, "list");
    graft_json_array_begin(j);
    graft_json_bool(j, 1);
    graft_json_object_begin(j);
    graft_json_key(j, "deep");
    graft_json_null(j);
    graft_json_object_end(j);
    graft_json_array_end(j);
    graft_json_key(j, "obj");
    graft_json_object_begin(j);
    graft_json_key(j, "x");
    graft_json_string(j, GRAFT__STRLIT("y"));
    graft_json_key(j, "e");
    graft_json_object_begin(j);
    graft_json_object_end(j);
    graft_json_object_end(j);
    graft_json_key(j, "last");
    graft_json_double(j, -0.25);
    graft_json_object_end(j);
    expect(j, "nested object",
           "{\"a\":1,\"list\":[true,{\"deep\":null}],\"obj\":{\"x\":\"y\",\"e\":{}},\"last\":-0.25}");

    j = writer();
    graft_json_string(j, GRAFT__STRLIT("top"));
    expect(j, "a scalar alone", "\"top\"");

    /* the length is optional, and the text stays readable after more is written */
    j = writer();
    graft_json_array_begin(j);
    const char *d = graft_json_data(j, NULL);
    check(d && strcmp(d, "[") == 0, "data without length", "got %s", d ? d : "NULL");
    graft_json_int(j, 7);
    graft_json_array_end(j);
    expect(j, "data, then more", "[7]");

    graft_json_free(NULL); /* like free(NULL) */
}

/* ---- graft_respond_json: sends application/json, then frees the writer ---- */

static struct {
    int calls, status;
    char type[32];
    char body[64];
    size_t len;
} sent;

/* graft_respond as the host provides it, recording the response instead (the test links
 * json.c alone). */
int graft_respond(graft_request *req, int status, const char *content_type, const void *body,
                  size_t len)
{
    (void)req;
    sent.calls++;
    sent.status = status;
    snprintf(sent.type, sizeof sent.type, "%s", content_type ? content_type : "(null)");
    sent.len = len < sizeof sent.body ? len : sizeof sent.body;
    memcpy(sent.body, body, sent.len);
    return 5; /* passed back as is */
}

static void test_respond_json(void)
{
    graft_json *j = writer();
    graft_json_object_begin(j);
    graft_json_key(j, "ok");
    graft_json_bool(j, 1);
    graft_json_object_end(j);
    int rc = graft_respond_json(NULL, 201, j); /* j is freed: a leak checker would see it */
    check(rc == 5, "respond_json", "returned %d", rc);
    check(sent.calls == 1 && sent.status == 201, "respond_json", "%d calls, status %d",
          sent.calls, sent.status);
    check(strcmp(sent.type, "application/json") == 0, "respond_json", "type %s", sent.type);
    check(sent.len == 11 && memcmp(sent.body, "{\"ok\":true}", 11) == 0, "respond_json",
          "body %.*s", (int)sent.len, sent.body);
}

int main(void)
{
    test_strings();
    test_control_chars();
    test_keys();
    test_ints();
    test_number_text();
    test_doubles();
    test_doubles_pydantic();
    test_structure();
    test_respond_json();
    return unit_report();
}
