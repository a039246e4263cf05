/* Reason phrases. */
#ifndef GRAFT__STATUS_H
#define GRAFT__STATUS_H

/* The RFC 9110 reason phrase for status, or "" for codes without one. */
const char *graft__status_reason(int status);

#endif
