#include "date.h"

#include <stdio.h>

static const char wday[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

const char *graft__date_now(graft__date *d)
{
    struct timespec ts;
    /* The coarse clock is a vDSO read without a syscall; 1 s resolution is all Date needs. */
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != d->sec || d->text[0] == '\0') {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(d->text, sizeof d->text, "%s, %02d %s %04d %02d:%02d:%02d GMT", wday[tm.tm_wday],
                 tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        d->sec = ts.tv_sec;
    }
    return d->text;
}
