/* graft-serve's --access-log-format, the same atoms as graft's (graft/access_format.py): a
 * native answer's response headers are not kept, so %({name}o)s is always '-', as under graft. */
#include "serve_alog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "shared.h"

enum {
    A_LIT, A_H, A_R, A_M, A_U, A_Q, A_PROTO, A_S, A_BDASH, A_B, A_D, A_MS, A_T, A_L,
    A_REQH, A_RESPH, A_P, A_TIME, A_BY
};

typedef struct piece {
    int kind;
    const char *text; /* A_LIT: the text; A_REQH: the header name */
    size_t len;
} piece;

struct graft__alog {
    piece *p;
    size_t n;
    int duration;
    char *buf; /* the format's copy the pieces point into */
};

static const struct {
    const char *name;
    int kind;
} atoms[] = {{"h", A_H}, {"r", A_R}, {"m", A_M}, {"U", A_U}, {"q", A_Q}, {"H", A_PROTO},
             {"s", A_S}, {"b", A_BDASH}, {"B", A_B}, {"D", A_D}, {"M", A_MS}, {"T", A_T},
             {"L", A_L}, {"p", A_P}, {"t", A_TIME}, {"answered_by", A_BY}};

static int atom(piece *pc, const char *name, size_t nl)
{
    for (size_t i = 0; i < sizeof atoms / sizeof atoms[0]; i++)
        if (strlen(atoms[i].name) == nl && memcmp(atoms[i].name, name, nl) == 0) {
            pc->kind = atoms[i].kind;
            return 0;
        }
    if (nl == 1 && (name[0] == 'f' || name[0] == 'a')) {
        pc->kind = A_REQH;
        pc->text = name[0] == 'f' ? "referer" : "user-agent";
        pc->len = strlen(pc->text);
        return 0;
    }
    if (nl >= 4 && name[0] == '{' && name[nl - 2] == '}' && (name[nl - 1] == 'i' || name[nl - 1] == 'o')) {
        pc->kind = name[nl - 1] == 'i' ? A_REQH : A_RESPH;
        pc->text = name + 1;
        pc->len = nl - 3;
        return 0;
    }
    return -1;
}

graft__alog *graft__alog_parse(const char *fmt, char *err, size_t errlen)
{
    graft__alog *f = calloc(1, sizeof *f);
    size_t fl = strlen(fmt);
    if (f) {
        f->buf = strdup(fmt);
        f->p = calloc(fl + 1, sizeof *f->p); /* at most one piece per byte */
    }
    if (!f || !f->buf || !f->p) {
        snprintf(err, errlen, "no memory");
        goto fail;
    }
    const char *s = f->buf;
    size_t i = 0;
    while (i < fl) {
        const char *pct = strchr(s + i, '%');
        size_t end = pct ? (size_t)(pct - s) : fl;
        if (end > i)
            f->p[f->n++] = (piece){A_LIT, s + i, end - i};
        if (!pct)
            break;
        if (s[end + 1] == '%') {
            f->p[f->n++] = (piece){A_LIT, "%", 1};
            i = end + 2;
            continue;
        }
        const char *close = s[end + 1] == '(' ? strstr(s + end + 2, ")s") : NULL;
        if (!close) {
            snprintf(err, errlen, "--access-log-format: a '%%' must start an atom such as %%(h)s, or be written %%%%");
            goto fail;
        }
        piece *pc = &f->p[f->n];
        const char *name = s + end + 2;
        size_t nl = (size_t)(close - name);
        if (memchr(name, ')', nl) || atom(pc, name, nl) < 0) {
            snprintf(err, errlen, "--access-log-format: unknown atom %%(%.*s)s", (int)nl, name);
            goto fail;
        }
        f->n++;
        f->duration |= pc->kind >= A_D && pc->kind <= A_L;
        i = (size_t)(close - s) + 2;
    }
    return f;
fail:
    if (f) {
        free(f->p);
        free(f->buf);
        free(f);
    }
    return NULL;
}

int graft__alog_needs_duration(const graft__alog *f) { return f->duration; }

typedef struct out {
    char *p;
    size_t len, cap;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (n > o->cap - 1 - o->len)
        n = o->cap - 1 - o->len;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void putf(out *o, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0)
        put(o, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

static void req_header(out *o, const graft__req *r, const char *name, size_t nl)
{
    for (size_t i = 0; i < r->num_headers; i++)
        if (r->headers[i].name_len == nl && strncasecmp(r->headers[i].name, name, nl) == 0) {
            put(o, r->headers[i].value, r->headers[i].value_len);
            return;
        }
    put(o, "-", 1);
}

size_t graft__alog_render(const graft__alog *f, const graft__req *r, int status, char *buf, size_t cap)
{
    out o = {buf, 0, cap};
    if (!cap)
        return 0;
    const char *q = memchr(r->target, '?', r->target_len);
    size_t pl = q ? (size_t)(q - r->target) : r->target_len;
    uint64_t now = f->duration && r->t_start_ns ? graft__metrics_now() : 0;
    unsigned long long us = now > r->t_start_ns ? (now - r->t_start_ns) / 1000 : 0;
    static const char *const by[] = {"python", "native", "declined", "graft"};
    for (size_t i = 0; i < f->n; i++) {
        const piece *pc = &f->p[i];
        switch (pc->kind) {
        case A_LIT: put(&o, pc->text, pc->len); break;
        case A_H:
            if (r->client_port >= 0)
                put(&o, r->client_ip, strlen(r->client_ip));
            else
                put(&o, "-", 1);
            break;
        case A_R:
            put(&o, r->method, r->method_len);
            put(&o, " ", 1);
            put(&o, r->target, r->target_len);
            putf(&o, " HTTP/1.%d", r->minor_version);
            break;
        case A_M: put(&o, r->method, r->method_len); break;
        case A_U: put(&o, r->target, pl); break;
        case A_Q: if (q) put(&o, q + 1, r->target_len - pl - 1); break;
        case A_PROTO: putf(&o, "HTTP/1.%d", r->minor_version); break;
        case A_S: putf(&o, "%d", status); break;
        case A_BDASH:
            if (r->body_sent)
                putf(&o, "%llu", (unsigned long long)r->body_sent);
            else
                put(&o, "-", 1);
            break;
        case A_B: putf(&o, "%llu", (unsigned long long)r->body_sent); break;
        case A_D: putf(&o, "%llu", us); break;
        case A_MS: putf(&o, "%llu", us / 1000); break;
        case A_T: putf(&o, "%llu", us / 1000000); break;
        case A_L: putf(&o, "%llu.%06llu", us / 1000000, us % 1000000); break;
        case A_REQH: req_header(&o, r, pc->text, pc->len); break;
        case A_RESPH: put(&o, "-", 1); break; /* a native answer's headers are not kept */
        case A_P: putf(&o, "<%d>", (int)getpid()); break;
        case A_TIME: {
            time_t t = time(NULL);
            struct tm tm;
            char tb[48];
            localtime_r(&t, &tm);
            size_t k = strftime(tb, sizeof tb, "[%d/%b/%Y:%H:%M:%S %z]", &tm);
            put(&o, tb, k);
            break;
        }
        case A_BY: {
            const char *b = r->answered_by < 4 ? by[r->answered_by] : "-";
            put(&o, b, strlen(b));
            break;
        }
        }
    }
    buf[o.len] = '\0';
    return o.len;
}
