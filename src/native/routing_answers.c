/* FastAPI's routing-level answers, for graft-serve standing in for a FastAPI app
 * (graft__native_set_fastapi_routing): what Starlette's Router.app does when no route fully
 * matches (starlette/routing.py, as FastAPI 0.165 on Starlette 1.10 runs it; checked against
 * it by tests/native/test_fastapi_routing.py). By then a full match has been ruled out, so
 * only Router.app's fallbacks remain, in its order:
 *  - a partial match, the first route in registration order whose template matches the path
 *    whatever its method: 405 listing that route's methods (only that route's, even when
 *    others share the path). FastAPI's routes do not add HEAD to GET ones: HEAD gets the 405.
 *  - redirect_slashes: for a path other than "/", the path with its trailing slashes removed
 *    (or one added) matching any route: 307 to that URL, query kept.
 *  - else 404.
 * The bodies are FastAPI's HTTPException handler's JSON. These are error answers, not the hot
 * path: they allocate. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "native_req.h"
#include "path_decode.h"

static const char json[] = "application/json";

void graft__native_answer_not_found(struct graft_request *gr)
{
    graft_respond(gr, 404, json, GRAFT__STRLIT("{\"detail\":\"Not Found\"}"));
}

/* --- the redirect's URL, as Starlette's URL(scope=...) and RedirectResponse build it --- */

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* One host character of Starlette's _HOST_RE (reg-name, case-insensitive). */
static int host_char(unsigned char c)
{
    return is_alnum(c) || (c && strchr("._~%!$&'()*+,;=-", c));
}

/* Starlette's parse_host_header: the Host value when it fullmatches _HOST_RE (a reg-name, an
 * IPv6 literal the address parser accepts, or an IPvFuture literal; an optional all-digit
 * port) with a port of at most 5 digits and 65535 once leading zeros go; its authority is then
 * the value as sent. 0 when it is not usable (the server address is used instead). */
static int host_usable(const char *h, size_t n)
{
    size_t i = 0;
    if (n && h[0] == '[') {
        const char *close = memchr(h, ']', n);
        if (!close)
            return 0;
        size_t in = (size_t)(close - h) - 1;
        const char *lit = h + 1;
        if (in > 1 && lit[0] == 'v') { /* v1.x: hex digits, '.', then unreserved/sub-delims/':' */
            size_t k = 1;
            while (k < in && ((lit[k] >= '0' && lit[k] <= '9') || ((lit[k] | 0x20) >= 'a' && (lit[k] | 0x20) <= 'f')))
                k++;
            if (k == 1 || k >= in - 1 || lit[k] != '.')
                return 0;
            for (k++; k < in; k++) /* the reg-name characters but '%', and ':' */
                if ((!host_char((unsigned char)lit[k]) && lit[k] != ':') || lit[k] == '%')
                    return 0;
        } else {
            char addr[64];
            unsigned char out[16];
            if (in == 0 || in >= sizeof addr || !memchr(lit, ':', in))
                return 0;
            memcpy(addr, lit, in);
            addr[in] = '\0';
            if (inet_pton(AF_INET6, addr, out) != 1)
                return 0;
        }
        i = in + 2;
    } else {
        while (i < n && host_char((unsigned char)h[i]))
            i++;
        if (i == 0)
            return 0;
    }
    if (i == n)
        return 1;
    if (h[i] != ':' || ++i == n)
        return 0;
    size_t digits = 0;
    long port = 0;
    for (; i < n; i++) {
        if (h[i] < '0' || h[i] > '9')
            return 0;
        if (digits || h[i] != '0') {
            if (++digits > 5)
                return 0;
            port = port * 10 + (h[i] - '0');
        }
    }
    return port <= 65535;
}

/* Appends s as urllib.parse.quote(s, safe=":/%#?=@[]!$&'()*+,;") does (s is UTF-8 already);
 * in a path, '?', '#' and '\' were escaped first (URL(scope=...)), so they come out escaped. */
static int put_quoted(graft__buf *o, const char *s, size_t n, int path)
{
    static const char hex[] = "0123456789ABCDEF";
    if (graft__buf_reserve(o, 3 * n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int keep = is_alnum(c) || (c && strchr("_.-~:/%=@[]!$&'()*+,;", c)) ||
                   (!path && (c == '?' || c == '#'));
        if (keep) {
            o->data[o->len++] = (char)c;
        } else {
            o->data[o->len++] = '%';
            o->data[o->len++] = hex[c >> 4];
            o->data[o->len++] = hex[c & 15];
        }
    }
    return 0;
}

/* The Location of the redirect to path (the decoded path, altered): scheme://netloc, with the
 * Host header as netloc when usable, else the server address; then the path and the query. */
static int build_location(graft__buf *o, const graft__req *r, const char *path, size_t plen)
{
    const graft__header *host = NULL;
    for (size_t i = 0; i < r->num_headers; i++)
        if (r->headers[i].name_len == 4 && strncasecmp(r->headers[i].name, "host", 4) == 0) {
            host = &r->headers[i]; /* the first one, as Starlette reads it */
            break;
        }
    int rc = graft__buf_append(o, GRAFT__STRLIT("http://"));
    if (host && host_usable(host->value, host->value_len)) {
        rc |= put_quoted(o, host->value, host->value_len, 0);
    } else {
        char port[16];
        int bracket = strchr(r->server_ip, ':') != NULL && r->server_ip[0] != '[';
        rc |= graft__buf_append(o, "[", (size_t)bracket);
        rc |= put_quoted(o, r->server_ip, strlen(r->server_ip), 0);
        rc |= graft__buf_append(o, "]", (size_t)bracket);
        if (r->server_port != 80) {
            int k = snprintf(port, sizeof port, ":%d", r->server_port);
            rc |= graft__buf_append(o, port, (size_t)k);
        }
    }
    rc |= put_quoted(o, path, plen, 1);
    if (r->query_len) {
        rc |= graft__buf_append(o, "?", 1);
        rc |= put_quoted(o, r->query, r->query_len, 0);
    }
    rc |= graft__buf_append(o, "", 1); /* NUL: graft_set_header takes a string */
    return rc < 0 ? -1 : 0;
}

/* 307 to the path with its trailing slashes removed, or one added, when that matches a route
 * (any method); 1 when answered, 0 when there is no such route, -1 without memory. */
static int try_redirect(struct graft_request *gr, const char *dec, size_t dlen)
{
    if (dlen == 0 || (dlen == 1 && dec[0] == '/'))
        return 0; /* "/" is never redirected; an empty path is not an origin-form one */
    char *alt = malloc(dlen + 1);
    if (!alt)
        return -1;
    memcpy(alt, dec, dlen);
    size_t alen = dlen;
    if (alen && alt[alen - 1] == '/')
        while (alen && alt[alen - 1] == '/')
            alen--; /* rstrip("/") */
    else
        alt[alen++] = '/';
    int rc = 0;
    if (graft__router_path_route(&gr->nat->router, alt, alen)) {
        graft__buf loc = {0};
        rc = -1;
        /* Starlette sends content-length: 0 with it, on HEAD too, where the writer would
         * say nothing of an unmeasured length: so the header is ours. */
        if (build_location(&loc, gr->req, alt, alen) == 0 &&
            graft_set_header(gr, "location", graft__buf_head(&loc)) == 0 &&
            graft_set_header(gr, "content-length", "0") == 0) {
            gr->own_length = 1;
            graft_respond(gr, 307, NULL, "", 0);
            rc = 1;
        }
        graft__buf_free(&loc);
    }
    free(alt);
    return rc;
}

void graft__native_answer_unrouted(struct graft_request *gr)
{
    const graft__req *r = gr->req;
    char *dec = malloc(r->path_len ? r->path_len : 1);
    long dlen = dec ? graft__path_decode(dec, r->path_len, r->path, r->path_len) : -1;
    int rc = 0;
    if (dlen >= 0) {
        const graft__route *partial = graft__router_path_route(&gr->nat->router, dec, (size_t)dlen);
        if (partial) {
            rc = graft_set_header(gr, "allow", partial->method) == 0 ? 1 : -1;
            if (rc == 1)
                graft_respond(gr, 405, json, GRAFT__STRLIT("{\"detail\":\"Method Not Allowed\"}"));
        } else {
            rc = try_redirect(gr, dec, (size_t)dlen);
        }
    }
    free(dec);
    if (dlen < 0 || rc < 0) /* no memory for the path or the headers */
        graft_respond(gr, 500, "text/plain; charset=utf-8", GRAFT__STRLIT("Internal Server Error"));
    else if (rc == 0)
        graft__native_answer_not_found(gr);
}
