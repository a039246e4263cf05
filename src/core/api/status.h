/* Reason phrases and canned error responses. */
#ifndef GRAFT__STATUS_H
#define GRAFT__STATUS_H

#include <stddef.h>

/* The RFC 9110 reason phrase for status, or "" for codes without one. */
const char *graft__status_reason(int status);

/* Writes "HTTP/1.1 <status> <reason>\r\n" into out (>= 64 bytes); returns its length. */
size_t graft__status_line(char *out, int status, int minor_version);

#endif
