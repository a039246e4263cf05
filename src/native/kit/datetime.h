/* Date-times from strings for the kit: the RFC 3339 / ISO 8601 forms Pydantic 2.14 accepts
 * (speedate), in a subset reproduced exactly; everything else, and every string Pydantic
 * refuses, is GRAFT__KIT_UNSUPPORTED (the datetime_parsing messages are not reproduced). */
#ifndef GRAFT__KIT_DATETIME_H
#define GRAFT__KIT_DATETIME_H

#include <stddef.h>

/* A date-time as Pydantic gives it: naive unless has_tz. */
typedef struct graft__kit_datetime {
    int year, month, day, hour, minute, second, microsecond;
    int has_tz;
    int tz_offset; /* seconds east of UTC, -86340..86340 */
} graft__kit_datetime;

/* Parses YYYY-MM-DD, optionally followed by T, t, ' ' or '_' and HH:MM, optional :SS and a
 * fraction after '.' or ',' (any length, truncated to microseconds), then optionally Z, z,
 * +HH:MM, -HH:MM, +HHMM or -HHMM. Fields are range-checked as Pydantic does (year 1-9999,
 * real days, hours < 24, seconds < 60, offsets < 24 h). GRAFT__KIT_OK, or UNSUPPORTED for
 * any other text (including Unix timestamps, which Pydantic also takes). */
int graft__kit_datetime_from_str(const char *s, size_t n, graft__kit_datetime *out);

#endif
