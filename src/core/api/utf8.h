/* Incremental UTF-8 validation (RFC 3629), shared by WebSocket text frames and the
 * JSON writer. */
#ifndef GRAFT__UTF8_H
#define GRAFT__UTF8_H

#include <stddef.h>
#include <stdint.h>

/* UTF-8 validation, incremental: state starts at 0; returns the new state, 1 = invalid. */
uint32_t graft__utf8_step(uint32_t state, const unsigned char *s, size_t n);
#define GRAFT__UTF8_OK 0
#define GRAFT__UTF8_BAD 1

/* Whether the n bytes at s are, whole, valid UTF-8. */
int graft__utf8_valid(const char *s, size_t n);

#endif
