/* The opening handshake: validating an Upgrade request, negotiating
 * permessage-deflate (RFC 7692) and writing 101. */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "ws.h"
#include "ws_state.h"

static const graft__header *find(const graft__http1_request *r, const char *lower, int *count)
{
    size_t n = strlen(lower);
    const graft__header *first = NULL;
    *count = 0;
    for (size_t i = 0; i < r->num_headers; i++)
        if (r->headers[i].name_len == n && graft__tok_eq(r->headers[i].name, n, lower)) {
            if (!first)
                first = &r->headers[i];
            (*count)++;
        }
    return first;
}

static int valid_key(const char *v, size_t n)
{
    if (n != 24 || v[22] != '=' || v[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++) {
        char c = v[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return 0;
    }
    return 1;
}

static int parse_bits(const char *v, size_t n)
{
    if (n == 0 || n > 2)
        return -1;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x >= 8 && x <= 15 ? x : -1;
}

/* Reads the first acceptable permessage-deflate offer of Sec-WebSocket-Extensions. */
static void negotiate(const graft__http1_request *r, graft__ws_offer *o)
{
    for (size_t i = 0; i < r->num_headers; i++) {
        const graft__header *h = &r->headers[i];
        if (!GRAFT__TOK_IS(h->name, h->name_len, "sec-websocket-extensions"))
            continue;
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *oe = comma ? comma : end;
            graft__ws_offer t = {0};
            int ok = 1, first = 1;
            const char *q = p;
            while (q < oe && ok) {
                const char *semi = memchr(q, ';', (size_t)(oe - q));
                const char *pe = semi ? semi : oe;
                const char *a = q, *b = pe;
                while (a < b && (*a == ' ' || *a == '\t'))
                    a++;
                while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                    b--;
                const char *eq = memchr(a, '=', (size_t)(b - a));
                size_t kl = (size_t)((eq ? eq : b) - a);
                const char *val = eq ? eq + 1 : NULL;
                size_t vl = eq ? (size_t)(b - eq - 1) : 0;
                if (val && vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
                    val++;
                    vl -= 2;
                }
                if (first) {
                    ok = GRAFT__TOK_IS(a, kl, "permessage-deflate") && !eq;
                    first = 0;
                } else if (GRAFT__TOK_IS(a, kl, "server_no_context_takeover") && !eq) {
                    ok = !t.server_no_ctx;
                    t.server_no_ctx = 1;
                } else if (GRAFT__TOK_IS(a, kl, "client_no_context_takeover") && !eq) {
                    ok = !t.client_no_ctx;
                    t.client_no_ctx = 1;
                } else if (GRAFT__TOK_IS(a, kl, "server_max_window_bits") && eq) {
                    int bits = parse_bits(val, vl);
                    /* zlib cannot make raw deflate streams with an 8-bit window */
                    ok = bits >= 9 && !t.server_bits;
                    t.server_bits = bits;
                } else if (GRAFT__TOK_IS(a, kl, "client_max_window_bits")) {
                    ok = !t.client_bits_offered;
                    t.client_bits_offered = 1;
                    if (eq) {
                        int bits = parse_bits(val, vl);
                        ok = ok && bits > 0;
                        t.client_bits = bits;
                    }
                } else {
                    ok = 0;
                }
                q = semi ? semi + 1 : oe;
            }
            if (ok && !first) {
                o->deflate = 1;
                o->server_no_ctx = t.server_no_ctx;
                o->client_no_ctx = t.client_no_ctx;
                o->server_bits = t.server_bits;
                o->client_bits = t.client_bits;
                o->client_bits_offered = t.client_bits_offered;
                return;
            }
            p = comma ? comma + 1 : end;
        }
    }
}

int graft__ws_check_handshake_parsed(const graft__http1_request *r, graft__ws_offer *o,
                                     const graft__ws_config *cfg)
{
    memset(o, 0, sizeof *o);
    int n;
    const graft__header *ver = find(r, "sec-websocket-version", &n);
    if (!ver || n != 1)
        return 400;
    if (!GRAFT__LIT_EQ(ver->value, ver->value_len, "13"))
        return 426;
    if (!GRAFT__LIT_EQ(r->method, r->method_len, "GET") || r->minor_version < 1 ||
        !r->conn_upgrade || r->chunked || r->content_length > 0)
        return 400;
    const graft__header *key = find(r, "sec-websocket-key", &n);
    if (!key || n != 1 || !valid_key(key->value, key->value_len))
        return 400;
    memcpy(o->key, key->value, 24);
    o->key[24] = '\0';
    if (cfg->per_message_deflate)
        negotiate(r, o);
    return 0;
}

/* Builds the 101 head into out: the handshake's fields first, then Date and the server's
 * default headers, then the embedder's extra lines ("name: value\r\n", checked by it). */
int graft__ws_head(graft__conn *c, const graft__ws_offer *o, const char *sp, size_t sp_len,
                   const char *extra, size_t extra_len, graft__buf *out)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char cat[24 + sizeof guid], digest[SHA_DIGEST_LENGTH];
    memcpy(cat, o->key, 24);
    memcpy(cat + 24, guid, sizeof guid - 1);
    SHA1(cat, 24 + sizeof guid - 1, digest);
    unsigned char accept[32];
    EVP_EncodeBlock(accept, digest, SHA_DIGEST_LENGTH);
    graft__field lead[5] = {
        {GRAFT__STRLIT("upgrade"), GRAFT__STRLIT("websocket")},
        {GRAFT__STRLIT("connection"), GRAFT__STRLIT("Upgrade")},
        {GRAFT__STRLIT("sec-websocket-accept"), (const char *)accept, 28},
    };
    size_t nlead = 3;
    char ext[160];
    if (o->deflate) {
        int k = snprintf(ext, sizeof ext, "permessage-deflate%s%s",
                         o->server_no_ctx ? "; server_no_context_takeover" : "",
                         o->client_no_ctx ? "; client_no_context_takeover" : "");
        if (o->server_bits)
            k += snprintf(ext + k, sizeof ext - (size_t)k, "; server_max_window_bits=%d", o->server_bits);
        if (o->client_bits)
            k += snprintf(ext + k, sizeof ext - (size_t)k, "; client_max_window_bits=%d", o->client_bits);
        lead[nlead++] = (graft__field){GRAFT__STRLIT("sec-websocket-extensions"), ext, (size_t)k};
    }
    if (sp_len)
        lead[nlead++] = (graft__field){GRAFT__STRLIT("sec-websocket-protocol"), sp, sp_len};
    graft__field stack[8], *fields = stack;
    size_t n = graft__fields_from_lines(extra, extra_len, stack, 8);
    if (n > 8) {
        fields = malloc(n * sizeof *fields);
        if (!fields)
            return -1;
        graft__fields_from_lines(extra, extra_len, fields, n);
    }
    graft__response resp = {.status = 101,
                            .minor_version = 1,
                            .keep_alive = 1,
                            .flags = GRAFT__RESP_OWN_CONNECTION,
                            .plan = GRAFT__PLAN_NONE,
                            .lead = lead,
                            .nlead = nlead,
                            .fields = fields,
                            .nfields = n};
    graft__response_decision d;
    int rc = graft__http1_response_head(out, &resp, &c->th->e->cfg, &d);
    if (fields != stack)
        free(fields);
    return rc < 0 ? -1 : 0;
}
