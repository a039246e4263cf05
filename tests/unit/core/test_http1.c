/* Unit tests for the HTTP/1.1 request parser and the chunked decoder.
 *
 * Every request case is also replayed on each prefix of its input: a prefix
 * must yield 0 (need more) or, for a request that is refused, the same error,
 * which proves the parser is safe to call again as bytes trickle in. Every
 * chunked case is fed whole, byte by byte, split at each single point and in
 * pseudo-random pieces; all feedings must agree. Inputs are always copied into
 * exactly-sized heap blocks so that sanitizers catch any read past the end. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1_internal.h"

#include "../unit.h"

static char *dup_exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    if (!p)
        abort();
    memcpy(p, s, n);
    return p;
}

/* ---------------------------------------------------------------- requests */

#define OK 1 /* success, consuming exactly the head */

enum { F_CHUNKED = 1, F_CONTINUE = 2, F_CLOSE = 4, F_KEEPALIVE = 8, F_CONN_UPGRADE = 16,
       F_UPGRADE = 32, F_EXPECT_OTHER = 64 };

typedef struct rcase {
    const char *name;
    const char *head; /* the request head, or a whole refused/incomplete input */
    const char *tail; /* bytes after the head that must not be consumed */
    int want;         /* OK, 0 (need more) or a negative status */
    int small;        /* use the small limits */
    /* Checked only for OK cases: */
    const char *method, *path, *query, *authority, *host; /* path/method NULL: unchecked */
    const char *cl;   /* expected Content-Length, NULL: absent (-1) */
    unsigned flags;   /* exact expected F_* bits */
    int http10;       /* expect minor_version 0 */
    int nh;           /* expected header count when > 0 */
    const char *hname, *hval; /* a field that must be present with this value */
} rcase;

static const graft__http1_limits default_limits = {8190, 65536, 100};
static const graft__http1_limits small_limits = {32, 128, 4};

#define H11 " HTTP/1.1\r\nHost: a\r\n"

static const rcase rcases[] = {
    /* Basic forms. */
    {.name = "simple", .head = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", .want = OK,
     .method = "GET", .path = "/", .host = "example.com", .nh = 1},
    {.name = "query", .head = "GET /a/b?x=1&y=2" H11 "\r\n", .want = OK, .path = "/a/b",
     .query = "x=1&y=2"},
    {.name = "empty query", .head = "GET /?" H11 "\r\n", .want = OK, .path = "/", .query = ""},
    {.name = "second ? in query", .head = "GET /a?b?c" H11 "\r\n", .want = OK, .path = "/a",
     .query = "b?c"},
    {.name = "leading CRLFs counted", .head = "\r\n\r\nGET /x" H11 "\r\n", .want = OK,
     .path = "/x"},
    {.name = "pipelined tail", .head = "GET /1" H11 "\r\n", .tail = "GET /2" H11 "\r\n",
     .want = OK, .path = "/1"},
    {.name = "body tail", .head = "POST /" H11 "Content-Length: 5\r\n\r\n", .tail = "hello",
     .want = OK, .method = "POST", .cl = "5", .nh = 2},
    {.name = "HTTP/1.0 without Host", .head = "GET / HTTP/1.0\r\n\r\n", .want = OK, .http10 = 1},
    {.name = "HTTP/1.2 is 1.1", .head = "GET / HTTP/1.2\r\nHost: a\r\n\r\n", .want = OK},
    {.name = "HTTP/1.9 is 1.1", .head = "GET / HTTP/1.9\r\nHost: a\r\n\r\n", .want = OK},
    {.name = "asterisk with extra", .head = "OPTIONS *x" H11 "\r\n", .want = -400},
    {.name = "token method", .head = "M-SEARCH /" H11 "\r\n", .want = OK, .method = "M-SEARCH"},
    {.name = "lowercase method kept", .head = "get /" H11 "\r\n", .want = OK, .method = "get"},
    {.name = "OPTIONS *", .head = "OPTIONS *" H11 "\r\n", .want = OK, .path = "*"},
    {.name = "CONNECT authority", .head = "CONNECT example.com:443" H11 "\r\n", .want = OK,
     .path = "example.com:443", .authority = "example.com:443"},
    {.name = "CONNECT IPv6", .head = "CONNECT [::1]:443" H11 "\r\n", .want = OK,
     .authority = "[::1]:443"},
    {.name = "absolute-form", .head = "GET http://example.com/x?y" H11 "\r\n", .want = OK,
     .path = "/x", .query = "y", .authority = "example.com"},
    {.name = "absolute-form empty path", .head = "GET HTTPS://Example.com" H11 "\r\n",
     .want = OK, .path = "/", .authority = "Example.com"},
    {.name = "absolute-form query only", .head = "GET http://h?q" H11 "\r\n", .want = OK,
     .path = "/", .query = "q", .authority = "h"},
    {.name = "absolute-form IPv6 port", .head = "GET http://[::1]:8080/a" H11 "\r\n",
     .want = OK, .path = "/a", .authority = "[::1]:8080"},
    {.name = "all tchar name", .head = "GET /" H11 "!#$%&'*+-.^_`|~09AZaz: v\r\n\r\n",
     .want = OK, .hname = "!#$%&'*+-.^_`|~09azaz", .hval = "v"},
    /* Field values. */
    {.name = "OWS stripped", .head = "GET /" H11 "X:  a b \t\r\n\r\n", .want = OK, .hname = "x",
     .hval = "a b"},
    {.name = "tab OWS", .head = "GET /" H11 "X:\ta\t\r\n\r\n", .want = OK, .hname = "x",
     .hval = "a"},
    {.name = "empty value", .head = "GET /" H11 "X:\r\n\r\n", .want = OK, .hname = "x",
     .hval = ""},
    {.name = "whitespace-only value", .head = "GET /" H11 "X: \t \r\n\r\n", .want = OK,
     .hname = "x", .hval = ""},
    {.name = "obs-text value", .head = "GET /" H11 "X: caf\xc3\xa9\xff\r\n\r\n", .want = OK,
     .hname = "x", .hval = "caf\xc3\xa9\xff"},
    {.name = "inner tab", .head = "GET /" H11 "X: 12345678\t12345678\r\n\r\n", .want = OK,
     .hname = "x", .hval = "12345678\t12345678"},
    {.name = "long value", .head = "GET /" H11 "Cookie: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa~\r\n\r\n",
     .want = OK},
    {.name = "empty Host", .head = "GET / HTTP/1.1\r\nHost:\r\n\r\n", .want = OK, .host = ""},
    {.name = "Host IPv6", .head = "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", .want = OK,
     .host = "[::1]:80"},
    {.name = "Host IPv4 port", .head = "GET / HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n\r\n",
     .want = OK, .host = "127.0.0.1:8080"},
    {.name = "Host pct", .head = "GET / HTTP/1.1\r\nHOST: a%2Db\r\n\r\n", .want = OK,
     .host = "a%2Db"},
    {.name = "Host empty port", .head = "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", .want = OK},
    /* Content-Length. */
    {.name = "CL list equal", .head = "POST /" H11 "Content-Length: 5, 5\r\n\r\n", .want = OK,
     .cl = "5"},
    {.name = "CL list OWS", .head = "POST /" H11 "Content-Length: 5 ,5\t,  5\r\n\r\n",
     .want = OK, .cl = "5"},
    {.name = "CL two fields equal", .head = "POST /" H11 "Content-Length: 5\r\ncontent-length: 5\r\n\r\n",
     .want = OK, .cl = "5"},
    {.name = "CL leading zeros", .head = "POST /" H11 "Content-Length: 007\r\n\r\n", .want = OK,
     .cl = "7"},
    {.name = "CL zero", .head = "POST /" H11 "Content-Length: 0\r\n\r\n", .want = OK, .cl = "0"},
    {.name = "CL 2^62", .head = "POST /" H11 "Content-Length: 4611686018427387904\r\n\r\n",
     .want = OK, .cl = "4611686018427387904"},
    {.name = "CL 2^62+1", .head = "POST /" H11 "Content-Length: 4611686018427387905\r\n\r\n",
     .want = -400},
    {.name = "CL huge", .head = "POST /" H11 "Content-Length: 99999999999999999999999\r\n\r\n",
     .want = -400},
    {.name = "CL letters", .head = "POST /" H11 "Content-Length: abc\r\n\r\n", .want = -400},
    {.name = "CL minus", .head = "POST /" H11 "Content-Length: -5\r\n\r\n", .want = -400},
    {.name = "CL plus", .head = "POST /" H11 "Content-Length: +5\r\n\r\n", .want = -400},
    {.name = "CL hex", .head = "POST /" H11 "Content-Length: 0x5\r\n\r\n", .want = -400},
    {.name = "CL inner space", .head = "POST /" H11 "Content-Length: 5 5\r\n\r\n", .want = -400},
    {.name = "CL list differ", .head = "POST /" H11 "Content-Length: 5,6\r\n\r\n", .want = -400},
    {.name = "CL fields differ", .head = "POST /" H11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
     .want = -400},
    {.name = "CL empty", .head = "POST /" H11 "Content-Length:\r\n\r\n", .want = -400},
    {.name = "CL trailing comma", .head = "POST /" H11 "Content-Length: 5,\r\n\r\n", .want = -400},
    {.name = "CL leading comma", .head = "POST /" H11 "Content-Length: ,5\r\n\r\n", .want = -400},
    {.name = "CL decimal point", .head = "POST /" H11 "Content-Length: 5.0\r\n\r\n", .want = -400},
    /* Transfer-Encoding: chunked must be present exactly once and last (else 400);
     * a valid list "x, chunked" with other codings is merely unsupported (501). */
    {.name = "TE chunked", .head = "POST /" H11 "Transfer-Encoding: chunked\r\n\r\n", .want = OK,
     .flags = F_CHUNKED},
    {.name = "TE case", .head = "POST /" H11 "transfer-encoding: CHUNKED\r\n\r\n", .want = OK,
     .flags = F_CHUNKED},
    {.name = "TE empty elements", .head = "POST /" H11 "Transfer-Encoding: , chunked ,\r\n\r\n",
     .want = OK, .flags = F_CHUNKED},
    {.name = "TE gzip,chunked 501", .head = "POST /" H11 "Transfer-Encoding: gzip, chunked\r\n\r\n",
     .want = -501},
    {.name = "TE split fields 501", .head = "POST /" H11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
     .want = -501},
    {.name = "TE gzip only", .head = "POST /" H11 "Transfer-Encoding: gzip\r\n\r\n", .want = -400},
    {.name = "TE identity", .head = "POST /" H11 "Transfer-Encoding: identity\r\n\r\n", .want = -400},
    {.name = "TE chunked not last", .head = "POST /" H11 "Transfer-Encoding: chunked, gzip\r\n\r\n",
     .want = -400},
    {.name = "TE chunked twice", .head = "POST /" H11 "Transfer-Encoding: chunked, chunked\r\n\r\n",
     .want = -400},
    {.name = "TE chunked twice fields", .head = "POST /" H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
     .want = -400},
    {.name = "TE fields chunked then gzip", .head = "POST /" H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
     .want = -400},
    {.name = "TE params", .head = "POST /" H11 "Transfer-Encoding: chunked;q=1\r\n\r\n", .want = -400},
    {.name = "TE quoted", .head = "POST /" H11 "Transfer-Encoding: \"chunked\"\r\n\r\n", .want = -400},
    {.name = "TE inner space", .head = "POST /" H11 "Transfer-Encoding: chun ked\r\n\r\n", .want = -400},
    {.name = "TE empty", .head = "POST /" H11 "Transfer-Encoding:\r\n\r\n", .want = -400},
    {.name = "TE only commas", .head = "POST /" H11 "Transfer-Encoding: , ,\r\n\r\n", .want = -400},
    {.name = "TE with CL", .head = "POST /" H11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
     .want = -400},
    {.name = "CL with TE", .head = "POST /" H11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     .want = -400},
    {.name = "TE 501 with CL is 400", .head = "POST /" H11 "Content-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
     .want = -400},
    {.name = "TE in HTTP/1.0", .head = "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
     .want = -400},
    /* Connection, Upgrade, Expect. */
    {.name = "Connection close", .head = "GET /" H11 "Connection: close\r\n\r\n", .want = OK,
     .flags = F_CLOSE},
    {.name = "Connection list", .head = "GET /" H11 "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
     .want = OK, .flags = F_KEEPALIVE | F_CONN_UPGRADE | F_UPGRADE},
    {.name = "Connection case", .head = "GET /" H11 "connection: CLOSE,,foo\r\n\r\n", .want = OK,
     .flags = F_CLOSE},
    {.name = "Connection empty", .head = "GET /" H11 "Connection:\r\n\r\n", .want = OK},
    {.name = "Connection not token", .head = "GET /" H11 "Connection: close foo\r\n\r\n",
     .want = -400},
    {.name = "Connection param", .head = "GET /" H11 "Connection: close;x\r\n\r\n", .want = -400},
    {.name = "Connection prefix only", .head = "GET /" H11 "Connection: closed\r\n\r\n", .want = OK},
    {.name = "Expect 100", .head = "POST /" H11 "Expect: 100-Continue\r\n\r\n", .want = OK,
     .flags = F_CONTINUE},
    {.name = "Expect other", .head = "POST /" H11 "Expect: 200-ok\r\n\r\n", .want = OK,
     .flags = F_EXPECT_OTHER},
    {.name = "Expect empty", .head = "POST /" H11 "Expect:\r\n\r\n", .want = OK},
    {.name = "Upgrade alone", .head = "GET /" H11 "upgrade: h2c\r\n\r\n", .want = OK,
     .flags = F_UPGRADE},
    /* Request line. */
    {.name = "double SP", .head = "GET  /" H11 "\r\n", .want = -400},
    {.name = "leading SP", .head = " GET /" H11 "\r\n", .want = -400},
    {.name = "trailing SP", .head = "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", .want = -400},
    {.name = "SP before version x2", .head = "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", .want = -400},
    {.name = "tab separator", .head = "GET\t/" H11 "\r\n", .want = -400},
    {.name = "bad method char", .head = "G(T /" H11 "\r\n", .want = -400},
    {.name = "empty request line", .head = "\r\n \r\n\r\n", .want = -400},
    {.name = "missing version", .head = "GET /\r\nHost: a\r\n\r\n", .want = -400},
    {.name = "missing target", .head = "GET HTTP/1.1\r\nHost: a\r\n\r\n", .want = -400},
    {.name = "SP in target", .head = "GET /a b" H11 "\r\n", .want = -400},
    {.name = "CTL in target", .head = "GET /\x01" H11 "\r\n", .want = -400},
    {.name = "DEL in target", .head = "GET /\x7f" H11 "\r\n", .want = -400},
    {.name = "high byte in target", .head = "GET /\x80" H11 "\r\n", .want = -400},
    {.name = "tab in target", .head = "GET /a\tb" H11 "\r\n", .want = -400},
    {.name = "fragment", .head = "GET /a#f" H11 "\r\n", .want = -400},
    {.name = "relative target", .head = "GET abc" H11 "\r\n", .want = -400},
    {.name = "query-only target", .head = "GET ?x" H11 "\r\n", .want = -400},
    {.name = "* with GET", .head = "GET *" H11 "\r\n", .want = -400},
    {.name = "options *x", .head = "OPTIONS */" H11 "\r\n", .want = -400},
    {.name = "authority-form with GET", .head = "GET example.com:80" H11 "\r\n", .want = -400},
    {.name = "CONNECT origin-form", .head = "CONNECT /" H11 "\r\n", .want = -400},
    {.name = "CONNECT no port", .head = "CONNECT example.com" H11 "\r\n", .want = -400},
    {.name = "CONNECT empty port", .head = "CONNECT example.com:" H11 "\r\n", .want = -400},
    {.name = "CONNECT empty host", .head = "CONNECT :443" H11 "\r\n", .want = -400},
    {.name = "CONNECT userinfo", .head = "CONNECT u@h:1" H11 "\r\n", .want = -400},
    {.name = "CONNECT path", .head = "CONNECT h:1/x" H11 "\r\n", .want = -400},
    {.name = "absolute empty authority", .head = "GET http:///x" H11 "\r\n", .want = -400},
    {.name = "absolute scheme only", .head = "GET http://" H11 "\r\n", .want = -400},
    {.name = "absolute userinfo", .head = "GET http://u@h/" H11 "\r\n", .want = -400},
    {.name = "absolute ftp", .head = "GET ftp://h/" H11 "\r\n", .want = -400},
    {.name = "absolute bad port", .head = "GET http://h:8x/" H11 "\r\n", .want = -400},
    {.name = "absolute no slashes", .head = "GET http:h/" H11 "\r\n", .want = -400},
    /* Versions: well-formed major != 1 is 505, anything malformed is 400. */
    {.name = "HTTP/2.0", .head = "GET / HTTP/2.0\r\nHost: a\r\n\r\n", .want = -505},
    {.name = "HTTP/0.9", .head = "GET / HTTP/0.9\r\n\r\n", .want = -505},
    {.name = "HTTP/3.0", .head = "GET / HTTP/3.0\r\n\r\n", .want = -505},
    {.name = "505 before head complete", .head = "GET / HTTP/2.0\r\nHost: a\r\n", .want = -505},
    {.name = "HTTP/1", .head = "GET / HTTP/1\r\nHost: a\r\n\r\n", .want = -400},
    {.name = "HTTP/1.1.1", .head = "GET / HTTP/1.1.1\r\nHost: a\r\n\r\n", .want = -400},
    {.name = "HTTP/1.10", .head = "GET / HTTP/1.10\r\nHost: a\r\n\r\n", .want = -400},
    {.name = "lowercase http", .head = "GET / http/1.1\r\nHost: a\r\n\r\n", .want = -400},
    {.name = "HTTP/11.1", .head = "GET / HTTP/11.1\r\nHost: a\r\n\r\n", .want = -400},
    {.name = "HTTP/1.x", .head = "GET / HTTP/1.x\r\nHost: a\r\n\r\n", .want = -400},
    {.name = "HTTP/a.1", .head = "GET / HTTP/a.1\r\nHost: a\r\n\r\n", .want = -400},
    {.name = "HTTP/2.0 bad tail", .head = "GET / HTTP/2.0x\r\n\r\n", .want = -400},
    /* Line endings and control bytes. */
    {.name = "bare LF request line", .head = "GET / HTTP/1.1\nHost: a\r\n\r\n", .want = -400},
    {.name = "bare LF field", .head = "GET /" H11 "X: a\n\r\n", .want = -400},
    {.name = "bare LF end", .head = "GET /" H11 "\n", .want = -400},
    {.name = "bare CR field", .head = "GET /" H11 "X: a\rb\r\n\r\n", .want = -400},
    {.name = "bare CR request line", .head = "GET / HTTP/1.1\rHost: a\r\n\r\n", .want = -400},
    {.name = "bare CR end", .head = "GET /" H11 "\rX\r\n\r\n", .want = -400},
    {.name = "leading bare LF", .head = "\r\n\nGET /" H11 "\r\n", .want = -400},
    {.name = "leading bare CR", .head = "\rGET /" H11 "\r\n", .want = -400},
    {.name = "LF LF", .head = "GET / HTTP/1.0\n\n", .want = -400},
    {.name = "CTL value", .head = "GET /" H11 "X: a\x01" "b\r\n\r\n", .want = -400},
    {.name = "ESC value", .head = "GET /" H11 "X: \x1b[0m\r\n\r\n", .want = -400},
    {.name = "DEL value", .head = "GET /" H11 "X: a\x7f\r\n\r\n", .want = -400},
    {.name = "DEL in long value", .head = "GET /" H11 "X: 0123456789abcdef\x7f" "0123456789\r\n\r\n",
     .want = -400},
    {.name = "high byte name", .head = "GET /" H11 "X\xc3\xa9: a\r\n\r\n", .want = -400},
    /* Field syntax. */
    {.name = "obs-fold first", .head = "GET / HTTP/1.1\r\n Host: a\r\n\r\n", .want = -400},
    {.name = "obs-fold", .head = "GET /" H11 "X: a\r\n  b\r\n\r\n", .want = -400},
    {.name = "obs-fold tab", .head = "GET /" H11 "X: a\r\n\tb\r\n\r\n", .want = -400},
    {.name = "space before colon", .head = "GET /" H11 "X : a\r\n\r\n", .want = -400},
    {.name = "tab before colon", .head = "GET /" H11 "X\t: a\r\n\r\n", .want = -400},
    {.name = "empty name", .head = "GET /" H11 ": a\r\n\r\n", .want = -400},
    {.name = "no colon", .head = "GET /" H11 "NoColon\r\n\r\n", .want = -400},
    {.name = "bad name char", .head = "GET /" H11 "X(y): a\r\n\r\n", .want = -400},
    /* Host. */
    {.name = "no Host", .head = "GET / HTTP/1.1\r\n\r\n", .want = -400},
    {.name = "two Host", .head = "GET /" H11 "Host: a\r\n\r\n", .want = -400},
    {.name = "two Host in 1.0", .head = "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", .want = -400},
    {.name = "Host space", .head = "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", .want = -400},
    {.name = "Host slash", .head = "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", .want = -400},
    {.name = "Host userinfo", .head = "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", .want = -400},
    {.name = "Host bad port", .head = "GET / HTTP/1.1\r\nHost: h:8x\r\n\r\n", .want = -400},
    {.name = "Host two ports", .head = "GET / HTTP/1.1\r\nHost: h:1:2\r\n\r\n", .want = -400},
    {.name = "Host open bracket", .head = "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", .want = -400},
    {.name = "Host empty brackets", .head = "GET / HTTP/1.1\r\nHost: []\r\n\r\n", .want = -400},
    {.name = "Host port only", .head = "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", .want = -400},
    {.name = "Host bad pct", .head = "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", .want = -400},
    {.name = "Host obs-text", .head = "GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", .want = -400},
    /* Need more. */
    {.name = "empty input", .head = "", .want = 0},
    {.name = "only CRLF", .head = "\r\n", .want = 0},
    {.name = "only CR", .head = "\r", .want = 0},
    {.name = "no empty line", .head = "GET /" H11, .want = 0},
    {.name = "final CR", .head = "GET /" H11 "\r", .want = 0},
    /* Limits (small: request line 32, head 128, 4 fields). */
    {.name = "line at limit", .head = "GET /012345678901234567 HTTP/1.1\r\nHost: a\r\n\r\n",
     .want = OK, .small = 1},
    {.name = "line over limit", .head = "GET /0123456789012345678 HTTP/1.1\r\nHost: a\r\n\r\n",
     .want = -414, .small = 1},
    {.name = "leading CRLFs not in line limit",
     .head = "\r\n\r\nGET /012345678901234567 HTTP/1.1\r\nHost: a\r\n\r\n", .want = OK, .small = 1},
    {.name = "414 without CRLF", .head = "GET /0123456789012345678901234567890123456789",
     .want = -414, .small = 1},
    {.name = "414 at version", .head = "GET /012345678901234567890123 HTTP/1.1", .want = -414,
     .small = 1},
    {.name = "414 after leading CRLFs", .head = "\r\n\r\nGET /0123456789012345678 HTTP/1.1\r\n",
     .want = -414, .small = 1},
    {.name = "400 before 414", .head = "GET /\x01" "1234567890123456789012345678901234", .want = -400,
     .small = 1},
    {.name = "4 fields", .head = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
     .want = OK, .small = 1, .nh = 4},
    {.name = "5 fields", .head = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
     .want = -431, .small = 1},
    {.name = "head at limit", .head = "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789012345678901234567890123"
                                      "45678901234567890123456789012345678901234567890123456789012345\r\n\r\n",
     .want = OK, .small = 1},
    {.name = "head over limit", .head = "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789012345678901234567890123"
                                        "4567890123456789012345678901234567890123456789012345678901234567\r\n\r\n",
     .want = -431, .small = 1},
    {.name = "431 without end", .head = "GET / HTTP/1.1\r\nHost: a\r\nX: 012345678901234567890123456789012345"
                                        "678901234567890123456789012345678901234567890123456789012345678901234567890",
     .want = -431, .small = 1},
    {.name = "431 CRLF flood", .head = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                                       "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                                       "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                                       "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n",
     .want = -431, .small = 1},
};

static int span_eq(const char *p, size_t n, const char *want)
{
    return p && strlen(want) == n && memcmp(p, want, n) == 0;
}

static void check_request(const rcase *c, const char *buf, const graft__http1_request *req)
{
    unsigned flags = (req->chunked ? F_CHUNKED : 0) | (req->expect_continue ? F_CONTINUE : 0) |
                     (req->conn_close ? F_CLOSE : 0) | (req->conn_keep_alive ? F_KEEPALIVE : 0) |
                     (req->conn_upgrade ? F_CONN_UPGRADE : 0) | (req->has_upgrade ? F_UPGRADE : 0) |
                     (req->expect_other ? F_EXPECT_OTHER : 0);
    if (c->method && !span_eq(req->method, req->method_len, c->method))
        fail(c->name, "method '%.*s'", (int)req->method_len, req->method);
    if (c->path && !span_eq(req->path, req->path_len, c->path))
        fail(c->name, "path '%.*s'", (int)req->path_len, req->path);
    if (!span_eq(req->query, req->query_len, c->query ? c->query : ""))
        fail(c->name, "query '%.*s'", (int)req->query_len, req->query);
    if (c->authority ? !span_eq(req->authority, req->authority_len, c->authority)
                     : req->authority != NULL)
        fail(c->name, "authority '%.*s'", (int)req->authority_len,
             req->authority ? req->authority : "(null)");
    if (c->host && !span_eq(req->host, req->host_len, c->host))
        fail(c->name, "host '%.*s'", (int)req->host_len, req->host ? req->host : "(null)");
    int64_t cl = c->cl ? strtoll(c->cl, NULL, 10) : -1;
    if (req->content_length != cl)
        fail(c->name, "content_length %" PRId64, req->content_length);
    if (flags != c->flags)
        fail(c->name, "flags %#x, want %#x", flags, c->flags);
    if (req->minor_version != (c->http10 ? 0 : 1))
        fail(c->name, "minor_version %d", req->minor_version);
    if (c->nh && req->num_headers != (size_t)c->nh)
        fail(c->name, "num_headers %zu", req->num_headers);
    if (req->target < buf || req->target + req->target_len > buf + strlen(c->head))
        fail(c->name, "target outside the buffer");
    if (c->hname) {
        size_t i;
        for (i = 0; i < req->num_headers; i++)
            if (graft__tok_eq(req->headers[i].name, req->headers[i].name_len, c->hname))
                break;
        if (i == req->num_headers)
            fail(c->name, "field %s missing", c->hname);
        else if (!span_eq(req->headers[i].value, req->headers[i].value_len, c->hval))
            fail(c->name, "field value '%.*s'", (int)req->headers[i].value_len,
                 req->headers[i].value);
    }
}

static int parse_copy(const char *in, size_t n, const graft__http1_limits *lim,
                      graft__http1_request *req, graft__header *hdrs, char **out)
{
    char *b = dup_exact(in, n);
    req->headers = hdrs;
    int r = graft__http1_parse_request(b, n, req, lim);
    *out = b;
    return r;
}

static void run_request_case(const rcase *c)
{
    static graft__header hdrs[128];
    const graft__http1_limits *lim = c->small ? &small_limits : &default_limits;
    size_t hl = strlen(c->head), tl = c->tail ? strlen(c->tail) : 0, n = hl + tl;
    char *in = malloc(n + 1);
    graft__http1_request req;
    char *b;

    memcpy(in, c->head, hl);
    if (tl)
        memcpy(in + hl, c->tail, tl);
    int want = c->want == OK ? (int)hl : c->want;
    int r = parse_copy(in, n, lim, &req, hdrs, &b);
    if (r != want)
        fail(c->name, "got %d, want %d", r, want);
    else if (c->want == OK)
        check_request(c, b, &req);
    free(b);
    for (size_t k = 0; k < n; k++) {
        r = parse_copy(in, k, lim, &req, hdrs, &b);
        free(b);
        int ok = c->want == OK ? r == (k >= hl ? (int)hl : 0) : (r == 0 || r == want);
        if (!ok) {
            fail(c->name, "prefix %zu: got %d, want 0 or %d", k, r, want);
            break;
        }
    }
    free(in);
    finish_case();
}

/* NUL bytes cannot live in the string table; these cases are built by hand. */
static void run_nul_cases(void)
{
    static const struct {
        const char *name;
        const char *in;
        size_t len;
    } cases[] = {
#define NUL_CASE(name, lit) {name, lit, sizeof(lit) - 1}
        NUL_CASE("NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"),
        NUL_CASE("NUL in name", "GET / HTTP/1.1\r\nHost: a\r\nX\0: a\r\n\r\n"),
        NUL_CASE("NUL in target", "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"),
        NUL_CASE("NUL in method", "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        NUL_CASE("NUL in TE", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\0\r\n\r\n"),
        NUL_CASE("NUL at start", "\0GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        NUL_CASE("NUL in leading CRLFs", "\r\n\0\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
#undef NUL_CASE
    };
    static graft__header hdrs[100];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        graft__http1_request req;
        char *b;
        if (memmem(cases[i].in, cases[i].len, "\r\n\r\n", 4) == NULL)
            fail(cases[i].name, "bad test: no CRLFCRLF within %zu bytes", cases[i].len);
        for (size_t k = 0; k <= cases[i].len; k++) {
            int r = parse_copy(cases[i].in, k, &default_limits, &req, hdrs, &b);
            free(b);
            if (k == cases[i].len ? r != -400 : (r != 0 && r != -400))
                fail(cases[i].name, "prefix %zu: got %d", k, r);
        }
        finish_case();
    }
}

/* The character table must match the RFC definitions it was generated from. */
static void run_table_case(void)
{
    const char *tspecial = "!#$%&'*+-.^_`|~", *sub = "-._~!$&'()*+,;=";
    for (int c = 0; c < 256; c++) {
        int alnum = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
        int hex = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
        unsigned want = 0;
        if (alnum || (c && strchr(tspecial, c)))
            want |= GRAFT__CT_TCHAR;
        if (c >= 0x21 && c <= 0x7e && c != '#')
            want |= GRAFT__CT_TARGET;
        if (c == 9 || (c >= 0x20 && c != 0x7f))
            want |= GRAFT__CT_VALUE;
        if (c >= '0' && c <= '9')
            want |= GRAFT__CT_DIGIT;
        if (hex)
            want |= GRAFT__CT_HEX;
        if (alnum || (c && strchr(sub, c)))
            want |= GRAFT__CT_REGNAME;
        if (c == 9 || c == ' ' || c == '!' || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) ||
            c >= 0x80)
            want |= GRAFT__CT_QDTEXT;
        if (c == 9 || c == ' ')
            want |= GRAFT__CT_WS;
        if (graft__http1_ctype[c] != want)
            fail("ctype table", "entry %#x is %#x, want %#x", c, graft__http1_ctype[c], want);
    }
    finish_case();
}

static void run_tok_eq_cases(void)
{
    if (!graft__tok_eq("Chunked", 7, "chunked") || !graft__tok_eq("", 0, "") ||
        graft__tok_eq("chunke", 6, "chunked") || graft__tok_eq("chunkedx", 8, "chunked") ||
        graft__tok_eq("chunk\xc5" "d", 7, "chunked") || graft__tok_eq("[", 1, "{") ||
        !graft__tok_eq("KEEP-ALIVE", 10, "keep-alive"))
        fail("tok_eq", "mismatch");
    finish_case();
}

/* ----------------------------------------------------------------- chunked */

enum { C_DONE = 1, C_MORE = 2, C_ERR = 3 };

typedef struct ccase {
    const char *name;
    const char *in;
    const char *tail;   /* bytes after the body that must not be consumed */
    const char *out;    /* decoded body (up to the error, for C_ERR) */
    int want;
    size_t max_line, max_trailers;
} ccase;

static const ccase ccases[] = {
    {"one chunk", "5\r\nhello\r\n0\r\n\r\n", NULL, "hello", C_DONE, 0, 0},
    {"two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", NULL, "hello world", C_DONE, 0, 0},
    {"empty body", "0\r\n\r\n", NULL, "", C_DONE, 0, 0},
    {"hex sizes", "A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n", NULL,
     "0123456789abcdefghijk", C_DONE, 0, 0},
    {"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", NULL, "hello", C_DONE, 0, 0},
    {"16 digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", NULL, "hello", C_DONE, 0, 0},
    {"17 digits", "00000000000000005\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"huge size", "ffffffffffffffff\r\nabc", NULL, "abc", C_MORE, 0, 0},
    {"data with CRLF inside", "4\r\n\r\n\r\n\r\n0\r\n\r\n", NULL, "\r\n\r\n", C_DONE, 0, 0},
    {"pipelined tail", "3\r\nabc\r\n0\r\n\r\n", "GET / HTTP/1.1\r\n\r\n", "abc", C_DONE, 0, 0},
    {"tail right after last chunk", "0\r\n\r\n", "0\r\n\r\n", "", C_DONE, 0, 0},
    {"ext", "5;foo=bar\r\nhello\r\n0\r\n\r\n", NULL, "hello", C_DONE, 0, 0},
    {"ext BWS", "5 ;\tfoo = bar \t; x\r\nhello\r\n0\r\n\r\n", NULL, "hello", C_DONE, 0, 0},
    {"ext no value", "5;foo;bar\r\nhello\r\n0\r\n\r\n", NULL, "hello", C_DONE, 0, 0},
    {"ext quoted", "5;a=\"q \\\"x\\\\\";b=\"\"\r\nhello\r\n0\r\n\r\n", NULL, "hello", C_DONE, 0, 0},
    {"ext quoted obs-text", "5;a=\"caf\xc3\xa9\"\r\nhello\r\n0\r\n\r\n", NULL, "hello", C_DONE, 0, 0},
    {"ext on last chunk", "0;x=y\r\n\r\n", NULL, "", C_DONE, 0, 0},
    {"trailers", "0\r\nX-T: v\r\nY:\r\nZ: a\tb \xff\r\n\r\n", NULL, "", C_DONE, 0, 0},
    {"need more data", "5\r\nhel", NULL, "hel", C_MORE, 0, 0},
    {"need more size", "5", NULL, "", C_MORE, 0, 0},
    {"need more nothing", "", NULL, "", C_MORE, 0, 0},
    {"need final CRLF", "5\r\nhello\r\n0\r\n", NULL, "hello", C_MORE, 0, 0},
    {"need trailer end", "0\r\nX: y\r\n", NULL, "", C_MORE, 0, 0},
    {"non-hex size", "x\r\n", NULL, "", C_ERR, 0, 0},
    {"empty size", "\r\nhello\r\n", NULL, "", C_ERR, 0, 0},
    {"leading space", " 5\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"minus", "-5\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"plus", "+5\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"trailing space", "5 \r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"bare LF size", "5\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"bare CR size", "5\rhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"no CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", NULL, "hello", C_ERR, 0, 0},
    {"LF after data", "5\r\nhello\n0\r\n\r\n", NULL, "hello", C_ERR, 0, 0},
    {"CR CR after data", "5\r\nhello\r\r\n0\r\n\r\n", NULL, "hello", C_ERR, 0, 0},
    {"data longer than size", "3\r\nhello\r\n0\r\n\r\n", NULL, "hel", C_ERR, 0, 0},
    {"empty ext name", "5;\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"ext name missing", "5;=x\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"ext empty value", "5;a=\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"ext trailing BWS", "5;a=b \r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"ext name then space", "5;a b\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"ext unterminated quote", "5;a=\"x\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"ext CTL", "5;a=\x01\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"ext CTL in quote", "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"ext DEL in quote", "5;a=\"\x7f\"\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"ext quoted-pair CTL", "5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"ext after quote", "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"ext bad name", "5;a(b)\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"trailer obs-fold", "0\r\n X: y\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"trailer fold continuation", "0\r\nX: y\r\n\tz\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"trailer space before colon", "0\r\nX : y\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"trailer empty name", "0\r\n: y\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"trailer no colon", "0\r\nXy\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"trailer CTL", "0\r\nX: a\x01\r\n\r\n", NULL, "", C_ERR, 0, 0},
    {"trailer bare LF", "0\r\nX: y\n\r\n", NULL, "", C_ERR, 0, 0},
    {"final bare LF", "0\r\n\n", NULL, "", C_ERR, 0, 0},
    {"final bare CR", "0\r\n\rX", NULL, "", C_ERR, 0, 0},
    {"line at max_line", "5;aaaaaa\r\nhello\r\n0\r\n\r\n", NULL, "hello", C_DONE, 8, 0},
    {"line over max_line", "5;aaaaaaa\r\nhello\r\n0\r\n\r\n", NULL, "", C_ERR, 8, 0},
    {"trailer line over max_line", "0\r\nX: 123456\r\n\r\n", NULL, "", C_ERR, 8, 0},
    {"trailers at max", "0\r\nX: 1\r\nY: 2\r\n\r\n", NULL, "", C_DONE, 0, 14},
    {"trailers over max", "0\r\nX: 1\r\nY: 22\r\n\r\n", NULL, "", C_ERR, 0, 14},
};

typedef struct cresult {
    int status;
    size_t consumed;
    size_t out_len;
    char out[512];
} cresult;

/* Feeds in[0..n) as a caller would: bytes arrive up to each cut, the decoder
 * is called on the unconsumed bytes until it stops making progress. */
static void feed(const ccase *c, const char *in, size_t n, const size_t *cuts, size_t ncuts,
                 cresult *res)
{
    graft__chunked d;
    size_t off = 0;
    graft__chunked_init(&d, c->max_line, c->max_trailers);
    memset(res, 0, sizeof *res);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t avail = i < ncuts ? cuts[i] : n;
        while (off < avail) {
            char *b = dup_exact(in + off, avail - off);
            const char *data;
            size_t dl;
            ssize_t r = graft__chunked_decode(&d, b, avail - off, &data, &dl);
            if (r < 0) {
                free(b);
                res->status = r == -400 ? C_ERR : -1;
                res->consumed = 0; /* not comparable: depends on the earlier splits */
                if (graft__chunked_decode(&d, "0\r\n\r\n", 5, &data, &dl) != -400)
                    res->status = -2; /* errors must be sticky */
                return;
            }
            if ((size_t)r > avail - off || (dl && (data < b || data + dl != b + r)) ||
                res->out_len + dl > sizeof res->out)
                res->status = -3;
            else
                memcpy(res->out + res->out_len, data, dl);
            res->out_len += dl;
            free(b);
            off += (size_t)r;
            if (d.done) {
                res->status = res->status ? res->status : C_DONE;
                res->consumed = off;
                if (graft__chunked_decode(&d, "x", 1, &data, &dl) != 0 || dl)
                    res->status = -4; /* done must consume nothing more */
                return;
            }
            if (r == 0)
                break;
        }
    }
    res->status = res->status ? res->status : C_MORE;
    res->consumed = off;
}

static int same(const cresult *a, const cresult *b)
{
    return a->status == b->status && a->consumed == b->consumed && a->out_len == b->out_len &&
           memcmp(a->out, b->out, a->out_len) == 0;
}

static void run_chunked_case(const ccase *c)
{
    size_t bl = strlen(c->in), tl = c->tail ? strlen(c->tail) : 0, n = bl + tl;
    char *in = malloc(n + 1);
    size_t cuts[600];
    cresult whole, other;

    memcpy(in, c->in, bl);
    if (tl)
        memcpy(in + bl, c->tail, tl);
    feed(c, in, n, NULL, 0, &whole);
    if (whole.status != c->want)
        fail(c->name, "status %d, want %d", whole.status, c->want);
    if (whole.out_len != strlen(c->out) || memcmp(whole.out, c->out, whole.out_len) != 0)
        fail(c->name, "output '%.*s', want '%s'", (int)whole.out_len, whole.out, c->out);
    if (c->want == C_DONE && whole.consumed != bl)
        fail(c->name, "consumed %zu, want %zu", whole.consumed, bl);
    if (c->want == C_MORE && whole.consumed != n)
        fail(c->name, "consumed %zu of %zu while incomplete", whole.consumed, n);

    /* Byte by byte. */
    for (size_t i = 1; i < n && i < 600; i++)
        cuts[i - 1] = i;
    feed(c, in, n, cuts, n ? n - 1 : 0, &other);
    if (!same(&whole, &other))
        fail(c->name, "byte-by-byte feeding differs (status %d)", other.status);
    /* Every single split point. */
    for (size_t i = 1; i < n; i++) {
        cuts[0] = i;
        feed(c, in, n, cuts, 1, &other);
        if (!same(&whole, &other))
            fail(c->name, "split at %zu differs (status %d)", i, other.status);
    }
    /* Pseudo-random pieces. */
    uint32_t rng = 12345u + (uint32_t)n;
    for (int round = 0; round < 50; round++) {
        size_t nc = 0, pos = 0;
        for (;;) {
            rng = rng * 1664525u + 1013904223u;
            pos += 1 + (rng >> 24) % 7;
            if (pos >= n)
                break;
            cuts[nc++] = pos;
        }
        feed(c, in, n, cuts, nc, &other);
        if (!same(&whole, &other)) {
            fail(c->name, "random split round %d differs (status %d)", round, other.status);
            break;
        }
    }
    free(in);
    finish_case();
}

int main(void)
{
    run_table_case();
    run_tok_eq_cases();
    for (size_t i = 0; i < sizeof rcases / sizeof rcases[0]; i++)
        run_request_case(&rcases[i]);
    run_nul_cases();
    for (size_t i = 0; i < sizeof ccases / sizeof ccases[0]; i++)
        run_chunked_case(&ccases[i]);
    return unit_report();
}
