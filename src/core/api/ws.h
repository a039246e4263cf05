/* WebSocket (RFC 6455, RFC 7692 permessage-deflate) on an upgraded
 * connection. The I/O thread parses frames and queues whole messages on the
 * request; embedders take them and send from any thread. No Python. */
#ifndef GRAFT__WS_H
#define GRAFT__WS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http1.h"
#include "utf8.h"
struct graft__req;

/* Opcodes. */
enum { GRAFT__WS_CONT = 0, GRAFT__WS_TEXT = 1, GRAFT__WS_BINARY = 2, GRAFT__WS_CLOSE = 8,
       GRAFT__WS_PING = 9, GRAFT__WS_PONG = 10 };

/* Server-wide WebSocket settings (engine config). */
typedef struct graft__ws_config {
    int enabled;              /* 0: Upgrade requests are plain HTTP */
    uint64_t max_size;        /* largest message (after inflation) -> 1009 */
    int max_queue;            /* messages queued for the app before reading pauses */
    double ping_interval;     /* 0: no server pings */
    double ping_timeout;      /* no pong within this -> 1011 */
    int per_message_deflate;  /* accept permessage-deflate offers */
} graft__ws_config;

/* Handshake facts the engine checked before delivering the request. */
typedef struct graft__ws_offer {
    char key[32];             /* Sec-WebSocket-Key as sent (24 chars) */
    int deflate;              /* a permessage-deflate offer we accept */
    int server_no_ctx, client_no_ctx;
    int server_bits;          /* 0: default 15 */
    int client_bits;          /* 0: not offered with a value */
    int client_bits_offered;  /* client_max_window_bits present (maybe without a value) */
} graft__ws_offer;

/* Validates a parsed Upgrade: websocket request. Returns 0 when valid (offer filled), or
 * the HTTP status to refuse with: 426 (version other than 13) or 400. */
int graft__ws_check_handshake_parsed(const graft__http1_request *p, graft__ws_offer *offer,
                                     const graft__ws_config *cfg);

/* Accepts the upgrade: writes 101 (with subprotocol and extra header lines, each
 * "name: value\r\n") and switches the connection to WebSocket framing. */
int graft__ws_accept(struct graft__req *r, const char *subprotocol, size_t sp_len, const char *headers,
                     size_t headers_len);

/* Sends one message (TEXT or BINARY). Returns 0, 1 when output is above its mark (a
 * WRITABLE event follows), or -EPIPE when the connection is closing or gone. */
int graft__ws_send(struct graft__req *r, int opcode, const void *data, size_t len);

/* Starts the close handshake with code (1000 when 0) and reason; idempotent. */
int graft__ws_close(struct graft__req *r, int code, const char *reason, size_t len);

/* Takes the next received message. Returns 1 with *opcode and data appended to out; 0 when
 * none is queued (a WS event follows when one arrives); 2 when the connection is closed,
 * with the close code and reason. */
int graft__ws_take(struct graft__req *r, int *opcode, graft__buf *out, int *code, graft__buf *reason);

/* Whether a close code received from a peer is valid (RFC 6455 §7.4). */
int graft__ws_code_valid(int code);

#endif
