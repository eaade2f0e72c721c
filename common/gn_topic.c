/*
 * Gonsters common: MQTT topic parsing.
 */

#include <string.h>

#include "gn_topic.h"
#include "gn_utf8.h"
#include "gn_uuid.h"


#define GN_TOPIC_SEGMENTS  5


static const char *const  gn_topic_errors[] = {
    "OK",
    ("topic is not factory/{factory_id}/machine/{machine_id}/telemetry"
     " or .../status"),
    "empty factory_id or machine_id",
    "wildcard in topic name",
    "control character or invalid UTF-8 in topic",
    "factory_id or topic too long",
    "machine_id is not a UUID",
};


/*
 * Refuses what MQTT forbids or discourages in a topic name (wildcards,
 * U+0000, invalid UTF-8, C0 and C1 controls): the whole topic is checked
 * first, so the error does not depend on which segment holds it.
 */

static int
gn_topic_check_chars(const unsigned char *p, const unsigned char *end)
{
    int       n;
    uint32_t  cp;

    while (p < end) {

        if (*p == '+' || *p == '#') {
            return GN_TOPIC_EWILDCARD;
        }

        n = gn_utf8_next(p, end, &cp);

        if (n < 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
            return GN_TOPIC_ECHAR;
        }

        p += n;
    }

    return GN_TOPIC_OK;
}


static int
gn_seg_is(const char *seg, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(seg, lit, len) == 0;
}


int
gn_topic_parse(const char *topic, size_t len, gn_topic_t *out)
{
    int              rc, n;
    size_t           seg_len[GN_TOPIC_SEGMENTS];
    const char      *seg[GN_TOPIC_SEGMENTS], *p, *end, *slash;
    gn_topic_kind_e  kind;

    if (len == 0) {
        return GN_TOPIC_EFORMAT;
    }

    if (len > GN_TOPIC_MAX) {
        return GN_TOPIC_ETOOLONG;
    }

    rc = gn_topic_check_chars((const unsigned char *) topic,
                              (const unsigned char *) topic + len);
    if (rc != GN_TOPIC_OK) {
        return rc;
    }

    /* split on '/'; a sixth segment (even an empty one after a trailing
     * '/') makes the topic another topic */

    p = topic;
    end = topic + len;

    for (n = 0; n < GN_TOPIC_SEGMENTS; n++) {
        slash = memchr(p, '/', end - p);

        seg[n] = p;
        seg_len[n] = (slash ? slash : end) - p;

        if (slash == NULL) {
            break;
        }

        p = slash + 1;
    }

    if (n != GN_TOPIC_SEGMENTS - 1) {
        return GN_TOPIC_EFORMAT;
    }

    if (!gn_seg_is(seg[0], seg_len[0], "factory")
        || !gn_seg_is(seg[2], seg_len[2], "machine"))
    {
        return GN_TOPIC_EFORMAT;
    }

    if (gn_seg_is(seg[4], seg_len[4], "telemetry")) {
        kind = GN_TOPIC_TELEMETRY;

    } else if (gn_seg_is(seg[4], seg_len[4], "status")) {
        kind = GN_TOPIC_STATUS;

    } else {
        return GN_TOPIC_EFORMAT;
    }

    if (seg_len[1] == 0 || seg_len[3] == 0) {
        return GN_TOPIC_EEMPTY;
    }

    if (seg_len[1] > GN_TOPIC_FACTORY_ID_MAX) {
        return GN_TOPIC_ETOOLONG;
    }

    if (!gn_uuid_is_valid(seg[3], seg_len[3])) {
        return GN_TOPIC_EUUID;
    }

    out->factory_id = seg[1];
    out->factory_id_len = seg_len[1];
    out->machine_id = seg[3];
    out->machine_id_len = seg_len[3];
    out->kind = kind;

    return GN_TOPIC_OK;
}


const char *
gn_topic_strerror(int rc)
{
    if (rc > 0 || rc < GN_TOPIC_EUUID) {
        return "invalid topic";
    }

    return gn_topic_errors[-rc];
}
