/* Date-times (datetime.h). */
#include <string.h>

#include "coerce.h"
#include "datetime.h"

/* k ASCII digits at s as a number, or -1. */
static int digits(const char *s, int k)
{
    int v = 0;
    for (int i = 0; i < k; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

/* The time part after the separator: HH:MM[:SS[.f]][offset]; 0 or UNSUPPORTED. */
static int time_part(const char *s, size_t n, graft__kit_datetime *o)
{
    size_t i = 5;
    if (n < 5 || s[2] != ':')
        return GRAFT__KIT_UNSUPPORTED;
    o->hour = digits(s, 2);
    o->minute = digits(s + 3, 2);
    if (o->hour < 0 || o->hour > 23 || o->minute < 0 || o->minute > 59)
        return GRAFT__KIT_UNSUPPORTED;
    if (i < n && s[i] == ':') {
        if (n < i + 3 || (o->second = digits(s + i + 1, 2)) < 0 || o->second > 59)
            return GRAFT__KIT_UNSUPPORTED; /* 60, a leap second, Pydantic refuses */
        i += 3;
        if (i < n && (s[i] == '.' || s[i] == ',')) {
            size_t f = ++i;
            int us = 0, k = 0;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                if (k++ < 6)
                    us = us * 10 + (s[i] - '0');
                i++;
            }
            if (i == f)
                return GRAFT__KIT_UNSUPPORTED;
            for (; k < 6; k++)
                us *= 10;
            o->microsecond = us;
        }
    }
    if (i == n)
        return GRAFT__KIT_OK;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
        o->has_tz = 1;
        return GRAFT__KIT_OK;
    }
    if (s[i] != '+' && s[i] != '-')
        return GRAFT__KIT_UNSUPPORTED;
    int sign = s[i] == '-' ? -1 : 1, hh, mm;
    const char *t = s + i + 1;
    size_t rest = n - i - 1;
    if (rest == 5 && t[2] == ':')
        hh = digits(t, 2), mm = digits(t + 3, 2);
    else if (rest == 4)
        hh = digits(t, 2), mm = digits(t + 2, 2);
    else
        return GRAFT__KIT_UNSUPPORTED;
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
        return GRAFT__KIT_UNSUPPORTED;
    o->has_tz = 1;
    o->tz_offset = sign * (hh * 3600 + mm * 60);
    return GRAFT__KIT_OK;
}

int graft__kit_datetime_from_str(const char *s, size_t n, graft__kit_datetime *out)
{
    graft__kit_datetime o;
    memset(&o, 0, sizeof o);
    if (n < 10 || s[4] != '-' || s[7] != '-')
        return GRAFT__KIT_UNSUPPORTED;
    o.year = digits(s, 4);
    o.month = digits(s + 5, 2);
    o.day = digits(s + 8, 2);
    if (o.year < 1 || o.month < 1 || o.month > 12 || o.day < 1 || o.day > days_in(o.year, o.month))
        return GRAFT__KIT_UNSUPPORTED;
    if (n > 10) {
        if (s[10] != 'T' && s[10] != 't' && s[10] != ' ' && s[10] != '_')
            return GRAFT__KIT_UNSUPPORTED;
        int rc = time_part(s + 11, n - 11, &o);
        if (rc != GRAFT__KIT_OK)
            return rc;
    }
    *out = o;
    return GRAFT__KIT_OK;
}
