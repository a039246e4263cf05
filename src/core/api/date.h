/* The IMF-fixdate for the Date header, formatted once per second per owner
 * (each thread keeps its own cache, so no locking). */
#ifndef GRAFT__DATE_H
#define GRAFT__DATE_H

#include <time.h>

typedef struct graft__date {
    time_t sec;
    char text[32]; /* "Sun, 06 Nov 1994 08:49:37 GMT" */
} graft__date;

/* Returns the current date text (29 chars, NUL-terminated), refreshing it when the second changed. */
const char *graft__date_now(graft__date *d);

#endif
