/* UUIDs and enum members from inputs (coerce.h). */
#include <string.h>

#include "coerce.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 32 hex digits, with hyphens exactly at 8-4-4-4-12 when hyphens is set. */
static int uuid_hex(const char *s, size_t n, int hyphens, uint8_t out[16])
{
    if (n != (hyphens ? 36u : 32u))
        return GRAFT__KIT_UNSUPPORTED;
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (hyphens && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s[i] != '-')
                return GRAFT__KIT_UNSUPPORTED;
            continue;
        }
        int h = hexval(s[i]);
        if (h < 0)
            return GRAFT__KIT_UNSUPPORTED;
        if (k % 2 == 0)
            out[k / 2] = (uint8_t)(h << 4);
        else
            out[k / 2] |= (uint8_t)h;
        k++;
    }
    return GRAFT__KIT_OK;
}

int graft__kit_uuid_from_str(const char *s, size_t n, uint8_t out[16])
{
    /* the forms of Rust's uuid::Uuid::parse_str: simple, hyphenated, {braced}, urn:uuid: */
    if (n == 32)
        return uuid_hex(s, n, 0, out);
    if (n == 36)
        return uuid_hex(s, n, 1, out);
    if (n == 38 && s[0] == '{' && s[37] == '}')
        return uuid_hex(s + 1, 36, 1, out);
    if (n == 45 && memcmp(s, "urn:uuid:", 9) == 0)
        return uuid_hex(s + 9, 36, 1, out);
    return GRAFT__KIT_UNSUPPORTED;
}

int graft__kit_enum_str(const char *const *members, size_t count, const graft__kit_value *in,
                        size_t *index)
{
    if (in->kind != GRAFT__KIT_V_STR)
        return GRAFT__KIT_E_ENUM; /* lax mode turns no number, bool or null into a member */
    for (size_t i = 0; i < count; i++)
        if (strlen(members[i]) == in->n && memcmp(members[i], in->s, in->n) == 0) {
            *index = i;
            return GRAFT__KIT_OK;
        }
    return GRAFT__KIT_E_ENUM;
}

int graft__kit_enum_int(const int64_t *members, size_t count, const graft__kit_value *in,
                        size_t *index)
{
    int64_t v;
    int rc = graft__kit_to_int(in, &v);
    if (rc < 0)
        return rc;
    if (rc != GRAFT__KIT_OK)
        return GRAFT__KIT_E_ENUM;
    for (size_t i = 0; i < count; i++)
        if (members[i] == v) {
            *index = i;
            return GRAFT__KIT_OK;
        }
    return GRAFT__KIT_E_ENUM;
}
