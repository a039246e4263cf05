/* graft.h — the public C API for native route handlers.
 *
 * A handler library is a shared object that exports
 *
 *     int graft_abi_version(void) { return GRAFT_ABI_VERSION; }   (use GRAFT_LIBRARY())
 *     int graft_register(graft_router *router, const char *config);
 *
 * graft calls graft_register once at start-up. It adds routes and may set
 * library state (created there, destroyed by its destructor at shutdown) and a
 * per-thread state constructor for resources that are not thread-safe.
 *
 * Threads: handlers run on the thread polling the connections: a C I/O thread,
 * or under graft the event loop's thread while it is idle, with the GIL released
 * (routes marked GRAFT_ROUTE_BLOCKING run on a pool of worker threads). A
 * handler never holds Python's GIL and must not block on Python.
 * A handler must answer by calling exactly one of the graft_respond* family or
 * graft_stream_start, now or later and from any thread, or decline with
 * GRAFT_DECLINE before answering. Errors are negative codes; a call that fails
 * does nothing else. A handler that crashes (SIGSEGV, abort, ...) ends its
 * process, which logs "graft: worker PID crashed (signal N) in native handler
 * METHOD TEMPLATE"; under --workers that worker is replaced, without it the
 * server ends.
 *
 * Lifetime: a graft_request stays valid until its response is complete (the
 * last graft_stream_end / graft_respond* returned) and every graft_request_retain
 * has been matched by graft_request_release. Strings returned by accessors live
 * as long as the request. A request a handler still holds when the server stops
 * stays valid, and graft_request_release stays safe, after the server is gone:
 * from then on every answer call (graft_respond*, graft_stream_*, graft_ws_send,
 * graft_ws_close) returns GRAFT_EGONE and sends nothing, graft_request_gone
 * returns 1, and graft_lib_state / graft_thread_state return NULL (that state has
 * been destroyed). A final call (graft_respond*, graft_stream_end) still
 * completes the response, as it does for a client that went away. Symbols are
 * provided by the host process (graft or graft-serve), so handler libraries link
 * with no extra library. */
#ifndef GRAFT_H
#define GRAFT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define GRAFT_API __attribute__((visibility("default")))
#else
#define GRAFT_API
#endif

/* The handler API's version. graft loads libraries built for any version from 1 to its own
 * and refuses newer ones (or 0 and below). */
#define GRAFT_ABI_VERSION 1
/* Raised when declarations are appended (older libraries still load). 1: graft_stream_on_writable,
 * GRAFT_EAGAIN. 2: GRAFT_ROUTE_SAFE (an older graft ignores the flag: it has no shadow mode).
 * 3: route contracts (graft_validate, the graft_arg_* getters, graft_respond_detail).
 * 4: the graft_body_* getters. 5: graft_json_double_pydantic. 6: GRAFT_ROUTE_WIDE_INT,
 * graft_arg_wide(_at), graft_arg_int_text(_at), graft_json_number_text.
 * 7: TLS facts (graft_scheme, graft_tls_version, graft_tls_cipher, graft_tls_client_name).
 * A library that uses an added function fails to load, naming the symbol, in an older graft. */
#define GRAFT_ABI_REVISION 7

/* Error codes (negative). */
#define GRAFT_EINVAL (-22)  /* bad argument, or wrong state (already answered) */
#define GRAFT_ENOMEM (-12)  /* out of memory */
#define GRAFT_EGONE (-32)   /* the client went away; nothing was sent */
#define GRAFT_EEXIST (-17)  /* duplicate route */
#define GRAFT_ETOOBIG (-27) /* body over the limit */
#define GRAFT_EAGAIN (-11)  /* the client is too slow: its queue is full, nothing was written */

/* Handler return values. */
#define GRAFT_OK 0         /* answered, or will answer later */
#define GRAFT_DECLINE 1    /* not answered: forward the request unchanged to the ASGI app */

/* Route flags. */
#define GRAFT_ROUTE_BLOCKING 1u /* run on the worker pool: the handler may block */
#define GRAFT_ROUTE_BODY 2u     /* call the handler only once the whole body has arrived */
/* The handler has no side effects (it only reads): shadow mode may run it a second time on
 * live requests, whatever the method. GET and HEAD routes need no flag. */
#define GRAFT_ROUTE_SAFE 4u
/* The handler takes integer parameters beyond int64, which Python's ints hold and FastAPI
 * accepts: graft_validate passes them (instead of declining, or graft-serve's
 * graft_unsupported) and graft_arg_wide / graft_arg_int_text tell them apart. (Revision 6;
 * an older graft ignores the flag and declines them as before.) */
#define GRAFT_ROUTE_WIDE_INT 8u

typedef struct graft_router graft_router;
typedef struct graft_request graft_request;

/* A route handler; lib_state is the library's state (graft_router_set_state). Returns
 * GRAFT_OK, GRAFT_DECLINE, or a negative code (the client gets a 500). */
typedef int (*graft_handler)(graft_request *req, void *lib_state);

/* Exported by the handler library: declare it with GRAFT_LIBRARY(). */
typedef int (*graft_abi_version_fn)(void);
typedef int (*graft_register_fn)(graft_router *router, const char *config);
#define GRAFT_LIBRARY()                                                                            \
    GRAFT_API int graft_abi_version(void) { return GRAFT_ABI_VERSION; }

/* ---- registration (only inside graft_register) ---- */

/* Adds METHOD PATH. PATH is a template: literal segments, {name} captures one segment,
 * a final {name:path} captures the rest. Precedence: exact > parameter > catch-all.
 * A template has at most GRAFT_ROUTE_MAX_SEGMENTS segments (the parts between '/'s:
 * "/" has one, "/a/{b}" two) and at most 8 captures.
 * Returns 0, GRAFT_EEXIST for a duplicate, GRAFT_EINVAL for a bad template. */
#define GRAFT_ROUTE_MAX_SEGMENTS 63
GRAFT_API int graft_route(graft_router *r, const char *method, const char *path,
                          graft_handler handler, unsigned flags);
/* Sets the library state passed to every handler; destroy (may be NULL) runs at shutdown. */
GRAFT_API void graft_router_set_state(graft_router *r, void *state, void (*destroy)(void *state));
/* Per-thread state: create(lib_state) runs on first use in each thread, destroy at thread exit
 * (for the thread that stops the server, when it stops, before the library state's destroy). */
GRAFT_API void graft_router_set_thread_state(graft_router *r, void *(*create)(void *lib_state),
                                             void (*destroy)(void *thread_state));
/* Limit for GRAFT_ROUTE_BODY bodies of this library's routes (default 1 MiB; larger → 413). */
GRAFT_API void graft_router_set_body_limit(graft_router *r, size_t max_bytes);

/* ---- request ---- */

/* The method ("GET"), NUL-terminated. */
GRAFT_API const char *graft_method(graft_request *req);
/* The raw (still percent-encoded) path without the query, NUL-terminated: the bytes the
 * client sent, not the decoded path routes are matched on (see graft_param). */
GRAFT_API const char *graft_path(graft_request *req);
/* The raw query string without '?', "" if none. */
GRAFT_API const char *graft_query_string(graft_request *req);
/* A path parameter; NULL if the route has no such capture. Routes match the percent-decoded
 * path, as FastAPI/Starlette match scope["path"]: the path is decoded once ("%zz" stays as
 * is), invalid UTF-8 becomes U+FFFD (as the app would see it), then split on '/'. So a
 * {param} never holds a '/' (GET /books/1%2F2 does not match /books/{id}), a {rest:path}
 * takes "%2F" as '/', and literal template segments compare with the decoded text ("/café"
 * matches /caf%C3%A9). The value is that decoded text; it may hold a NUL byte ("%00"):
 * *len (when len is not NULL) is its length, and it is NUL-terminated after it. */
GRAFT_API const char *graft_param(graft_request *req, const char *name, size_t *len);
/* The first query parameter named name, form-decoded ('+' is space); NULL if absent. */
GRAFT_API const char *graft_query(graft_request *req, const char *name, size_t *len);
/* All values of a repeated query parameter: fills up to max, returns how many exist. */
GRAFT_API size_t graft_query_all(graft_request *req, const char *name, const char **values,
                                 size_t *lens, size_t max);
/* The first header named name (case-insensitive); NULL if absent. Not NUL-terminated. */
GRAFT_API const char *graft_header(graft_request *req, const char *name, size_t *len);
/* Number of request header fields. */
GRAFT_API size_t graft_header_count(graft_request *req);
/* Header i as sent: returns 0, or GRAFT_EINVAL when i is out of range. */
GRAFT_API int graft_header_at(graft_request *req, size_t i, const char **name, size_t *name_len,
                              const char **value, size_t *value_len);
/* The whole body (routes with GRAFT_ROUTE_BODY); *len 0 and "" when empty. */
GRAFT_API const char *graft_body(graft_request *req, size_t *len);
/* Takes up to cap body bytes received so far (streamed bodies, routes without
 * GRAFT_ROUTE_BODY). Returns the count, 0 when nothing is waiting yet; sets *done at the end. */
GRAFT_API size_t graft_body_read(graft_request *req, void *buf, size_t cap, int *done);
/* The client's address ("127.0.0.1") and port (-1 for a Unix socket). */
GRAFT_API const char *graft_client(graft_request *req, int *port);
/* "https" when the request came over TLS (--ssl-certfile), else "http": the ASGI scope's
 * scheme before any X-Forwarded-Proto. A static string. */
GRAFT_API const char *graft_scheme(graft_request *req);
/* The connection's TLS protocol version as on the wire (0x0303 TLS 1.2, 0x0304 TLS 1.3; the
 * ASGI TLS extension's tls_version); 0 over plain HTTP. */
GRAFT_API int graft_tls_version(graft_request *req);
/* The negotiated cipher suite's IANA number (0x1301 TLS_AES_128_GCM_SHA256, ...; the TLS
 * extension's cipher_suite); 0 over plain HTTP. */
GRAFT_API int graft_tls_cipher(graft_request *req);
/* The client certificate's subject as an RFC 4514 string ("CN=alice,O=Example"), verified
 * against --ssl-ca-certs; NULL (and *len 0) without a client certificate or over plain HTTP.
 * NUL-terminated; valid as long as req. */
GRAFT_API const char *graft_tls_client_name(graft_request *req, size_t *len);
/* The library state and this thread's state (created on first use); NULL once the server
 * has stopped. */
GRAFT_API void *graft_lib_state(graft_request *req);
GRAFT_API void *graft_thread_state(graft_request *req);
/* 1 when the client has gone away (a late answer will not be delivered). */
GRAFT_API int graft_request_gone(graft_request *req);
/* Keeps req valid past its response (pair with graft_request_release). */
GRAFT_API void graft_request_retain(graft_request *req);
GRAFT_API void graft_request_release(graft_request *req);

/* ---- response ---- */

/* A response's status is 200..999: a 1xx status is an interim response, never a final one,
 * so graft_respond*, graft_respond_json and graft_stream_start refuse it with GRAFT_EINVAL
 * (and send nothing). graft sends 100 Continue itself; a WebSocket route's 101 is the
 * handshake's. */

/* Adds a response header before the response starts; validated (token name, no CR/LF/NUL). */
GRAFT_API int graft_set_header(graft_request *req, const char *name, const char *value);
/* Sends a complete response; body is copied. content_type may be NULL. */
GRAFT_API int graft_respond(graft_request *req, int status, const char *content_type,
                            const void *body, size_t len);
/* Sends a complete response whose body is borrowed until release(arg) runs (after the
 * bytes are written or the request ends). */
GRAFT_API int graft_respond_borrowed(graft_request *req, int status, const char *content_type,
                                     const void *body, size_t len, void (*release)(void *),
                                     void *arg);
/* Sends a file with sendfile(); 404 if it cannot be opened. */
GRAFT_API int graft_respond_file(graft_request *req, int status, const char *content_type,
                                 const char *path);
/* Starts a streamed (chunked) response; then graft_stream_write …, graft_stream_end. */
GRAFT_API int graft_stream_start(graft_request *req, int status, const char *content_type);
/* Writes a chunk; returns 0, 1 when the client is slow (queue above its mark, 256 KiB: stop
 * and wait for graft_stream_on_writable), GRAFT_EAGAIN when the queue already holds over
 * 1 MiB (nothing written: a writer that ignores 1 stays bounded), or GRAFT_EGONE. */
GRAFT_API int graft_stream_write(graft_request *req, const void *data, size_t len);
/* Ends the streamed response; a graft_stream_on_writable callback not yet running is
 * cancelled (one already running races with this call: serialize them yourself). */
GRAFT_API int graft_stream_end(graft_request *req);

/* Called once per successful graft_stream_on_writable, on a polling thread (never inside
 * the graft call that armed it; it must not block). status is 0 when the queued output has
 * drained below the low mark (64 KiB), GRAFT_EGONE when the client went away or the server
 * is stopping (writes then fail: end the stream). req is valid during the call. */
typedef void (*graft_writable_cb)(graft_request *req, int status, void *ud);
/* Arms cb(req, status, ud) for a streamed response (between graft_stream_start and
 * graft_stream_end), one at a time; it comes soon if the queue is already low. Holds a
 * reference on req until cb has run. Returns 0, GRAFT_EGONE (client or server gone) or
 * GRAFT_EINVAL (not streaming, cb NULL, already armed); on failure cb is never called. */
GRAFT_API int graft_stream_on_writable(graft_request *req, graft_writable_cb cb, void *ud);

/* ---- WebSocket routes ---- */

typedef struct graft_ws graft_ws;

/* Callbacks of a native WebSocket route. They run on the polling thread (as handlers do), one
 * at a time per connection; data passed to on_message is valid only during the call. */
typedef struct graft_ws_handlers {
    /* The handshake succeeded (101 sent); the handler may send from here on. */
    void (*on_open)(graft_ws *ws, void *lib_state);
    /* A whole message (reassembled, inflated); text (binary == 0) is valid UTF-8. */
    void (*on_message)(graft_ws *ws, int binary, const void *data, size_t len, void *lib_state);
    /* The connection ended: the peer's close code and reason, 1006 when it just went away,
     * 1012 on server shutdown, or the code of a protocol error. Called exactly once. */
    void (*on_close)(graft_ws *ws, int code, const char *reason, size_t len, void *lib_state);
} graft_ws_handlers;

/* Adds a WebSocket route (only Upgrade: websocket requests match it; plain GETs to the same
 * path go on to the app). The template is as for graft_route, with the same limits. handlers
 * is copied. Returns 0, GRAFT_EEXIST or GRAFT_EINVAL. */
GRAFT_API int graft_ws_route(graft_router *r, const char *path, const graft_ws_handlers *handlers);
/* Sends a text (binary == 0, must be UTF-8) or binary message; any thread. Returns 0, 1 when
 * the client is slow (output above its mark), or GRAFT_EGONE once closing or closed. */
GRAFT_API int graft_ws_send(graft_ws *ws, int binary, const void *data, size_t len);
/* Starts the close handshake (code 0 means 1000); on_close follows. Any thread. */
GRAFT_API int graft_ws_close(graft_ws *ws, int code, const char *reason);
/* A path parameter of the route, percent-decoded; NULL if absent. */
GRAFT_API const char *graft_ws_param(graft_ws *ws, const char *name, size_t *len);
/* Per-connection user data. */
GRAFT_API void graft_ws_set_data(graft_ws *ws, void *data);
GRAFT_API void *graft_ws_data(graft_ws *ws);
/* Keeps ws valid after on_close returns (for senders on other threads); pair with release. */
GRAFT_API void graft_ws_retain(graft_ws *ws);
GRAFT_API void graft_ws_release(graft_ws *ws);

/* ---- JSON writer (correct escaping, no allocation beyond its buffer) ---- */

typedef struct graft_json graft_json;
/* A new writer; free it with graft_json_free or hand it to graft_respond_json. */
GRAFT_API graft_json *graft_json_new(void);
GRAFT_API void graft_json_free(graft_json *j);
GRAFT_API void graft_json_object_begin(graft_json *j);
GRAFT_API void graft_json_object_end(graft_json *j);
GRAFT_API void graft_json_array_begin(graft_json *j);
GRAFT_API void graft_json_array_end(graft_json *j);
/* An object key; the next value call gives its value. */
GRAFT_API void graft_json_key(graft_json *j, const char *key);
/* A string value of len bytes (NUL allowed), UTF-8. Output is always valid UTF-8: each invalid
 * sequence in s (stray or missing continuation bytes, overlongs, surrogates, above U+10FFFF,
 * truncated at the end) becomes one U+FFFD, exactly as Python's
 * bytes.decode("utf-8", errors="replace") does; keys are written the same way. */
GRAFT_API void graft_json_string(graft_json *j, const char *s, size_t len);
GRAFT_API void graft_json_int(graft_json *j, int64_t v);
/* Doubles are written with the shortest repr that round-trips (%.17g fallback); NaN/inf → null. */
GRAFT_API void graft_json_double(graft_json *j, double v);
/* A double as Pydantic writes a float field of a response model (pydantic_core.to_json, what
 * FastAPI sends): repr's layout, except positional down to 1e-5 ("0.00001" where repr says
 * "1e-05") and exponents unpadded ("1e-7", "1e+16"); NaN/inf → null. (ABI revision 5.) */
GRAFT_API void graft_json_double_pydantic(graft_json *j, double v);
/* A number given as its JSON text (len bytes), such as graft_arg_int_text's, written as is;
 * a text that is not a JSON number is written as null, so the output stays JSON. (Rev. 6.) */
GRAFT_API void graft_json_number_text(graft_json *j, const char *s, size_t len);
GRAFT_API void graft_json_bool(graft_json *j, int v);
GRAFT_API void graft_json_null(graft_json *j);
/* The text so far, NUL-terminated; NULL if an allocation failed along the way. */
GRAFT_API const char *graft_json_data(graft_json *j, size_t *len);
/* Sends the JSON as application/json and frees the writer. */
GRAFT_API int graft_respond_json(graft_request *req, int status, graft_json *j);

/* ---- validated inputs (route contracts, docs/KIT.md) ----
 *
 * A route gets a contract when the app's OpenAPI document (graft: app.openapi(); graft-serve:
 * --openapi FILE) has an operation with its method and path template (parameter names
 * ignored). graft_validate checks the request's path, query, header and cookie parameters
 * against it exactly as FastAPI would, then the graft_arg_* getters return typed values by
 * the parameter's name in the document (FastAPI's alias: a header `x_token` is "x-token"). */

/* A return of graft_validate: the kit sent the 422 itself (return GRAFT_OK from the handler). */
#define GRAFT_ANSWERED 2
/* Validates the request's parameters against its route's contract, once per request (later
 * calls return the first result). GRAFT_OK: every parameter is valid and the getters are
 * ready. GRAFT_ANSWERED: invalid input; the 422 FastAPI would send has been sent, byte for
 * byte. GRAFT_DECLINE (graft only): the route has no usable contract, or this input is a case
 * the kit cannot reproduce exactly: return it so the app answers. Under graft-serve it never
 * declines (no contract: GRAFT_OK with nothing to get). Else a negative error code. */
GRAFT_API int graft_validate(graft_request *req);
/* Validates, and returns from the handler unless the parameters are valid: GRAFT_OK after the
 * kit's 422, GRAFT_DECLINE or the error code otherwise. */
#define GRAFT_VALIDATE(req)                                                                        \
    do {                                                                                           \
        int graft_v_ = graft_validate(req);                                                        \
        if (graft_v_ != GRAFT_OK)                                                                  \
            return graft_v_ == GRAFT_ANSWERED ? GRAFT_OK : graft_v_;                               \
    } while (0)
/* 1 when the parameter was given, or defaults to a non-null value; 0 when absent (or None),
 * or when graft_validate has not returned GRAFT_OK, or no parameter has that name. */
GRAFT_API int graft_arg_has(graft_request *req, const char *name);
/* An integer (or int enum) parameter's value; 0 when absent or not an integer parameter. */
GRAFT_API int64_t graft_arg_int(graft_request *req, const char *name);
/* On a GRAFT_ROUTE_WIDE_INT route, an integer parameter beyond int64 is valid (no constraint
 * refused it): graft_arg_int saturates it to INT64_MAX or INT64_MIN, graft_arg_wide returns 1
 * (above int64) or -1 (below), and graft_arg_int_text its canonical decimal text, as Python
 * prints it and FastAPI's JSON echoes it ("-" then digits: no "+", leading zeros, underscores,
 * whitespace or ".0"), NUL-terminated, living as long as the request. For a value that fits,
 * an absent one or a non-int parameter: 0 and NULL (use graft_arg_int). (Revision 6.) */
GRAFT_API int graft_arg_wide(graft_request *req, const char *name);
GRAFT_API const char *graft_arg_int_text(graft_request *req, const char *name, size_t *len);
/* A number parameter's value; 0.0 when absent or not a number parameter. */
GRAFT_API double graft_arg_number(graft_request *req, const char *name);
/* A boolean parameter's value (0 or 1); 0 when absent or not a boolean parameter. */
GRAFT_API int graft_arg_bool(graft_request *req, const char *name);
/* A string, uuid, date-time (the text as given) or string enum parameter, NUL-terminated and
 * valid UTF-8, living as long as the request; NULL when absent or of another type. */
GRAFT_API const char *graft_arg_str(graft_request *req, const char *name, size_t *len);
/* The number of items of a list parameter (repeated query keys); 0 when absent or not a list. */
GRAFT_API size_t graft_arg_count(graft_request *req, const char *name);
/* Item i of a list parameter, as the scalar getters above; 0, 0.0 or NULL when out of range. */
GRAFT_API int64_t graft_arg_int_at(graft_request *req, const char *name, size_t i);
GRAFT_API int graft_arg_wide_at(graft_request *req, const char *name, size_t i);
GRAFT_API const char *graft_arg_int_text_at(graft_request *req, const char *name, size_t i, size_t *len);
GRAFT_API double graft_arg_number_at(graft_request *req, const char *name, size_t i);
GRAFT_API const char *graft_arg_str_at(graft_request *req, const char *name, size_t i, size_t *len);
/* The JSON request body's fields (an operation with a requestBody: a Pydantic model; the
 * route registered with GRAFT_ROUTE_BODY), after graft_validate returned GRAFT_OK. A path
 * names a field from the body's root: field names joined by dots ("price", "address.city"),
 * a list item by its index ("lines.0.qty"); names containing '.' are not supported. Values
 * are coerced as FastAPI would (a "5" in an int field reads 5); an absent field reads its
 * default. A wrong path, the wrong type, or a call before GRAFT_OK gives 0 / 0.0 / NULL. */
/* 1 when the field is present and not null, or absent with a non-null default. */
GRAFT_API int graft_body_has(graft_request *req, const char *path);
/* An integer (or int enum) field. */
GRAFT_API int64_t graft_body_int(graft_request *req, const char *path);
/* A number field. */
GRAFT_API double graft_body_number(graft_request *req, const char *path);
/* A boolean field (0 or 1). */
GRAFT_API int graft_body_bool(graft_request *req, const char *path);
/* A string, uuid, date-time (the text as given) or string enum field, NUL-terminated, valid
 * UTF-8, living as long as the request. It may hold a NUL (JSON's "\u0000", which graft-serve
 * reads as Python does; graft declines such bodies): *len is its length. */
GRAFT_API const char *graft_body_str(graft_request *req, const char *path, size_t *len);
/* The number of items of a list field; 0 when absent, null or not a list. */
GRAFT_API size_t graft_body_count(graft_request *req, const char *path);
/* Item i of a list field of scalars, as the getters above (path "tags", i 2 is "tags.2"). */
GRAFT_API int64_t graft_body_int_at(graft_request *req, const char *path, size_t i);
GRAFT_API double graft_body_number_at(graft_request *req, const char *path, size_t i);
GRAFT_API const char *graft_body_str_at(graft_request *req, const char *path, size_t i, size_t *len);
/* Sends {"detail": detail} as application/json, as FastAPI's HTTPException(status, detail)
 * does (detail a UTF-8 string, escaped as json.dumps(ensure_ascii=False)). Returns as
 * graft_respond. */
GRAFT_API int graft_respond_detail(graft_request *req, int status, const char *detail);

#ifdef __cplusplus
}
#endif
#endif
