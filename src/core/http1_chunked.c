/* Incremental decoder for the chunked transfer coding (RFC 9112 §7.1).
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-ext    = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
 *
 * Framing bytes go through a byte-at-a-time state machine, so a split at any
 * byte boundary behaves exactly like the unsplit input. Chunk data is never
 * copied: it is handed back as a span of the caller's buffer. */
#include <string.h>

#include "http1_internal.h"

enum {
    S_SIZE_FIRST,  /* first hex digit of chunk-size */
    S_SIZE,        /* further hex digits */
    S_EXT_WS,      /* BWS after size or ext value: only ';' may follow */
    S_EXT_NAME0,   /* after ';': BWS, then ext-name */
    S_EXT_NAME,    /* inside ext-name */
    S_EXT_NAME_WS, /* BWS after ext-name: '=' or ';' must follow */
    S_EXT_VAL0,    /* after '=': BWS, then token or quoted-string */
    S_EXT_TOKEN,   /* inside a token ext-val */
    S_EXT_QSTR,    /* inside a quoted-string ext-val */
    S_EXT_QESC,    /* after a backslash in the quoted-string */
    S_EXT_QEND,    /* after the closing quote */
    S_SIZE_LF,     /* CR of the size line seen */
    S_DATA,        /* chunk-data */
    S_DATA_CR,     /* CRLF after chunk-data */
    S_DATA_LF,
    S_TR_START,    /* start of a trailer line (or the final CRLF) */
    S_TR_NAME,
    S_TR_VALUE,
    S_TR_LF,
    S_FINAL_LF,
    S_DONE,
    S_ERROR
};

void graft__chunked_init(graft__chunked *d, size_t max_line, size_t max_trailers)
{
    memset(d, 0, sizeof *d);
    d->state = S_SIZE_FIRST;
    d->max_line = max_line ? max_line : 4096;
    d->max_trailers = max_trailers ? max_trailers : 8192;
}

static int hexval(unsigned char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Next state after a byte of the size line that ends a size/ext-value item. */
static int after_item(unsigned char c)
{
    if (c == ';')
        return S_EXT_NAME0;
    if (c == '\r')
        return S_SIZE_LF;
    if (GRAFT__IS(c, GRAFT__CT_WS))
        return S_EXT_WS;
    return S_ERROR;
}

/* One framing byte: returns the next state (S_ERROR on a violation). */
static int step(graft__chunked *d, unsigned char c)
{
    int tchar = GRAFT__IS(c, GRAFT__CT_TCHAR) != 0, ws = GRAFT__IS(c, GRAFT__CT_WS) != 0;
    int st = d->state;

    if (st <= S_EXT_QEND && c != '\r' && ++d->line_bytes > d->max_line)
        return S_ERROR;
    if (st >= S_TR_START && st <= S_FINAL_LF) {
        if (++d->trailer_bytes > d->max_trailers)
            return S_ERROR;
        if (c != '\r' && c != '\n' && ++d->line_bytes > d->max_line)
            return S_ERROR;
    }
    switch (st) {
    case S_SIZE_FIRST:
    case S_SIZE:
        if (GRAFT__IS(c, GRAFT__CT_HEX)) {
            if (d->line_bytes > 16)
                return S_ERROR; /* > 16 hex digits cannot fit 64 bits */
            d->remaining = (d->remaining << 4) | (uint64_t)hexval(c);
            return S_SIZE;
        }
        return st == S_SIZE_FIRST ? S_ERROR : after_item(c);
    case S_EXT_WS:
        return ws ? S_EXT_WS : c == ';' ? S_EXT_NAME0 : S_ERROR;
    case S_EXT_NAME0:
        return ws ? S_EXT_NAME0 : tchar ? S_EXT_NAME : S_ERROR;
    case S_EXT_NAME:
        if (tchar)
            return S_EXT_NAME;
        if (c == '=')
            return S_EXT_VAL0;
        return after_item(c) == S_EXT_WS ? S_EXT_NAME_WS : after_item(c);
    case S_EXT_NAME_WS:
        return ws ? S_EXT_NAME_WS : c == '=' ? S_EXT_VAL0 : c == ';' ? S_EXT_NAME0 : S_ERROR;
    case S_EXT_VAL0:
        return ws ? S_EXT_VAL0 : c == '"' ? S_EXT_QSTR : tchar ? S_EXT_TOKEN : S_ERROR;
    case S_EXT_TOKEN:
        return tchar ? S_EXT_TOKEN : after_item(c);
    case S_EXT_QSTR:
        if (c == '"')
            return S_EXT_QEND;
        if (c == '\\')
            return S_EXT_QESC;
        return GRAFT__IS(c, GRAFT__CT_QDTEXT) ? S_EXT_QSTR : S_ERROR;
    case S_EXT_QESC: /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
        return GRAFT__IS(c, GRAFT__CT_VALUE) ? S_EXT_QSTR : S_ERROR;
    case S_EXT_QEND:
        return after_item(c);
    case S_SIZE_LF:
        if (c != '\n')
            return S_ERROR;
        d->line_bytes = 0;
        return d->remaining ? S_DATA : S_TR_START;
    case S_DATA_CR:
        return c == '\r' ? S_DATA_LF : S_ERROR;
    case S_DATA_LF:
        return c == '\n' ? S_SIZE_FIRST : S_ERROR;
    case S_TR_START: /* no obs-fold, no empty name */
        return c == '\r' ? S_FINAL_LF : tchar ? S_TR_NAME : S_ERROR;
    case S_TR_NAME:
        return tchar ? S_TR_NAME : c == ':' ? S_TR_VALUE : S_ERROR;
    case S_TR_VALUE:
        return c == '\r' ? S_TR_LF : GRAFT__IS(c, GRAFT__CT_VALUE) ? S_TR_VALUE : S_ERROR;
    case S_TR_LF:
        d->line_bytes = 0;
        return c == '\n' ? S_TR_START : S_ERROR;
    case S_FINAL_LF:
        return c == '\n' ? S_DONE : S_ERROR;
    default:
        return S_ERROR;
    }
}

ssize_t graft__chunked_decode(graft__chunked *d, const char *buf, size_t len, const char **data,
                              size_t *data_len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t p = 0;

    *data = buf;
    *data_len = 0;
    if (d->state == S_ERROR)
        return -400;
    while (p < len && d->state != S_DONE) {
        if (d->state == S_DATA) {
            /* One span per call: hand the data back and let the caller consume it. */
            size_t n = len - p;
            if ((uint64_t)n > d->remaining)
                n = (size_t)d->remaining;
            *data = buf + p;
            *data_len = n;
            d->remaining -= n;
            if (d->remaining == 0)
                d->state = S_DATA_CR;
            return (ssize_t)(p + n);
        }
        d->state = step(d, s[p++]);
        if (d->state == S_ERROR)
            return -400;
    }
    d->done = d->state == S_DONE;
    return (ssize_t)p;
}
