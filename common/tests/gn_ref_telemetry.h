/*
 * The reference of the differential tests of gn_telemetry: the cJSON-based
 * parser that gn_telemetry.c replaced (strict pre-scan, cJSON tree, the
 * rules on the tree), kept as it was so that the one-pass parser is
 * checked against it: same statuses, errors, values and offsets.  Test
 * code only (unit test and fuzz target).
 */

#ifndef GN_REF_TELEMETRY_H
#define GN_REF_TELEMETRY_H

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gn_telemetry.h"
#include "gn_time.h"
#include "gn_utf8.h"


#define GN_KEY_TIMESTAMP    GN_FIELD_N
#define GN_KEY_SENSOR_TYPE  (GN_FIELD_N + 1)

typedef struct {
    char              field[96];
    char              error[96];
    const cJSON      *value;
} ref_error_t;

typedef struct {
    ref_error_t      *items;
    size_t            cap;
    size_t            n;
    size_t            dropped;
} ref_errors_t;

typedef struct {
    char              machine_id[GN_UUID_LEN + 1];
    const cJSON      *machine_id_value;
    int               valid;
    size_t            nreadings;
    gn_reading_t     *readings;
} ref_ingest_machine_t;

typedef struct {
    cJSON                 *root;
    const char            *gateway_id;
    int64_t                gateway_ts_ns;
    size_t                 nmachines;
    ref_ingest_machine_t  *machines;
    size_t                 nreadings;
    size_t                 nvalid;
    size_t                 json_offset;
} ref_ingest_t;

static void ref_errors_add(ref_errors_t *errs, const char *path,
    const char *field, const cJSON *value, const char *error, ...)
    __attribute__((format(printf, 5, 6), unused));

static void
ref_errors_add(ref_errors_t *errs, const char *path, const char *field,
    const cJSON *value, const char *error, ...)
{
    ref_error_t  *e;
    va_list      ap;

    if (errs == NULL) {
        return;
    }

    if (errs->n == errs->cap) {
        errs->dropped++;
        return;
    }

    e = &errs->items[errs->n++];

    if (field == NULL) {
        snprintf(e->field, sizeof(e->field), "%s", path);

    } else if (path[0] == '\0') {
        snprintf(e->field, sizeof(e->field), "%s", field);

    } else {
        snprintf(e->field, sizeof(e->field), "%s.%s", path, field);
    }

    va_start(ap, error);
    vsnprintf(e->error, sizeof(e->error), error, ap);
    va_end(ap);

    e->value = value;
}


/*
 * What cJSON lets through and JSON (RFC 8259) does not: invalid UTF-8 and
 * raw control characters in strings.  The same pass bounds the nesting
 * before any tree is built.  Runs of bytes that need no look (most of a
 * body) are skipped with one table lookup each.
 */

/* bytes that end a run: inside strings '"', '\\', controls and non-ASCII;
 * outside them also the brackets */
#define REF_SCAN_STRING  1
#define REF_SCAN_OUTSIDE 2

static const unsigned char  ref_scan_stop[256] = {
    [0x00 ... 0x1f] = REF_SCAN_STRING,
    ['"'] = REF_SCAN_STRING | REF_SCAN_OUTSIDE,
    ['\\'] = REF_SCAN_STRING,
    ['['] = REF_SCAN_OUTSIDE,
    [']'] = REF_SCAN_OUTSIDE,
    ['{'] = REF_SCAN_OUTSIDE,
    ['}'] = REF_SCAN_OUTSIDE,
    [0x80 ... 0xff] = REF_SCAN_STRING | REF_SCAN_OUTSIDE,
};


static const char *
ref_json_scan(const char *text, size_t len, size_t max_depth, size_t *offset)
{
    const unsigned char  *p = (const unsigned char *) text, *end = p + len;
    const unsigned char  *start = p;
    size_t                depth = 0;
    unsigned              stop = REF_SCAN_OUTSIDE;
    int                   n;
    uint32_t              cp;

    for ( ;; ) {
        while (p < end && !(ref_scan_stop[*p] & stop)) {
            p++;
        }

        if (p == end) {
            return NULL;
        }

        if (*p >= 0x80) {
            n = gn_utf8_next(p, end, &cp);
            if (n < 0) {
                *offset = (size_t) (p - start);
                return "invalid UTF-8";
            }
            p += n;
            continue;
        }

        if (stop == REF_SCAN_STRING) {
            if (*p == '\\') {
                p += (p + 1 < end) ? 2 : 1;
                continue;
            }

            if (*p < 0x20) {
                *offset = (size_t) (p - start);
                return "control character in a string";
            }

            stop = REF_SCAN_OUTSIDE;     /* the closing quote */
            p++;
            continue;
        }

        switch (*p) {
        case '"':
            stop = REF_SCAN_STRING;
            break;

        case '[':
        case '{':
            if (++depth > max_depth) {
                *offset = (size_t) (p - start);
                return "nested too deeply";
            }
            break;

        default:                        /* ']' '}' */
            if (depth > 0) {
                depth--;
            }
            break;
        }

        p++;
    }
}


static cJSON *
ref_json_parse(const char *text, size_t len, size_t max_depth,
    const char **error, size_t *offset)
{
    cJSON       *root;
    const char  *end = NULL;

    *error = ref_json_scan(text, len, max_depth, offset);
    if (*error != NULL) {
        return NULL;
    }

    if (len == 0) {
        *error = "empty";
        *offset = 0;
        return NULL;
    }

    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL) {
        *error = "syntax error";
        *offset = end != NULL ? (size_t) (end - text) : 0;
        return NULL;
    }

    /* cJSON stops after the first value; anything but white space after
     * it makes the text something other than one JSON value */
    while (end < text + len
           && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
    {
        end++;
    }

    if (end != text + len) {
        cJSON_Delete(root);
        *error = "unexpected data after the JSON value";
        *offset = (size_t) (end - text);
        return NULL;
    }

    return root;
}


/* a string of 1..max bytes without control characters (valid UTF-8 is
 * already guaranteed by ref_json_parse) */
static int
ref_check_string(const cJSON *item, const char *path, const char *field,
    size_t max, ref_errors_t *errs)
{
    const char  *s;
    size_t       len, i;

    if (item == NULL) {
        ref_errors_add(errs, path, field, NULL, "Required field missing");
        return 0;
    }

    if (!cJSON_IsString(item)) {
        ref_errors_add(errs, path, field, item, "Must be a string");
        return 0;
    }

    s = item->valuestring;
    len = strlen(s);

    if (len == 0) {
        ref_errors_add(errs, path, field, item, "Must not be empty");
        return 0;
    }

    if (len > max) {
        ref_errors_add(errs, path, field, item,
                      "Longer than %zu bytes", max);
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            ref_errors_add(errs, path, field, item,
                          "Must not contain control characters");
            return 0;
        }
    }

    return 1;
}


static int
ref_check_timestamp(const cJSON *item, const char *path, const char *field,
    int64_t *ns, ref_errors_t *errs)
{
    size_t  len;
    int     rc;

    if (item == NULL) {
        ref_errors_add(errs, path, field, NULL, "Required field missing");
        return 0;
    }

    if (!cJSON_IsString(item)) {
        ref_errors_add(errs, path, field, item,
                      "Invalid ISO 8601 format: must be a string");
        return 0;
    }

    len = strlen(item->valuestring);
    rc = len > GN_TIMESTAMP_MAX
         ? GN_TIME_EFORMAT
         : gn_time_parse_iso8601(item->valuestring, len, ns);

    if (rc == GN_TIME_EFORMAT) {
        ref_errors_add(errs, path, field, item, "%s", gn_time_strerror(rc));
        return 0;
    }

    if (rc != GN_TIME_OK) {
        ref_errors_add(errs, path, field, item, "Invalid ISO 8601 format: %s",
                      gn_time_strerror(rc));
        return 0;
    }

    return 1;
}


/* the index of a key whose repetition matters, or -1 */
static int
ref_reading_key(const char *key)
{
    switch (key[0]) {
    case 't':
        if (strcmp(key, "timestamp") == 0) {
            return GN_KEY_TIMESTAMP;
        }
        return strcmp(key, "temperature") == 0 ? GN_FIELD_TEMPERATURE : -1;

    case 'p':
        return strcmp(key, "pressure") == 0 ? GN_FIELD_PRESSURE : -1;

    case 's':
        if (strcmp(key, "speed") == 0) {
            return GN_FIELD_SPEED;
        }
        return strcmp(key, "sensor_type") == 0 ? GN_KEY_SENSOR_TYPE : -1;

    default:
        return -1;
    }
}


static size_t
ref_reading_parse(const cJSON *obj, const char *path, gn_reading_t *out,
    ref_errors_t *errs)
{
    const cJSON  *item, *timestamp = NULL, *field[GN_FIELD_N] = { NULL };
    unsigned      seen = 0;
    size_t        nerr = 0;
    int           i, k;

    if (!cJSON_IsObject(obj)) {
        ref_errors_add(errs, path, NULL, obj, "Must be an object");
        return 1;
    }

    /* one pass over the keys; a key given twice would let two parsers see
     * two different readings */
    cJSON_ArrayForEach(item, obj) {
        k = ref_reading_key(item->string);
        if (k < 0) {
            continue;
        }

        if (seen & (1u << k)) {
            ref_errors_add(errs, path, item->string, item, "Duplicate key");
            nerr++;
            continue;
        }

        seen |= 1u << k;

        if (k == GN_KEY_TIMESTAMP) {
            timestamp = item;

        } else if (k < GN_FIELD_N) {
            field[k] = item;
        }
    }

    out->present = 0;
    out->ts_ns = 0;

    if (!ref_check_timestamp(timestamp, path, "timestamp", &out->ts_ns,
                            errs))
    {
        nerr++;
    }

    for (i = 0; i < GN_FIELD_N; i++) {
        item = field[i];
        if (item == NULL) {
            continue;
        }

        if (!cJSON_IsNumber(item)) {
            ref_errors_add(errs, path, gn_field_names[i], item,
                          "Must be a number");
            nerr++;
            continue;
        }

        if (!isfinite(item->valuedouble)) {
            ref_errors_add(errs, path, gn_field_names[i], item,
                          "Must be a finite number");
            nerr++;
            continue;
        }

        out->value[i] = item->valuedouble;
        out->present |= 1u << i;
    }

    if (out->present == 0 && nerr == 0) {
        ref_errors_add(errs, path, NULL, obj,
                      "At least one of temperature, pressure, speed is "
                      "required");
        nerr++;
    }

    return nerr;
}


/* MQTT payloads */

#define REF_PAYLOAD_MAX_DEPTH  8


static gn_payload_status_e __attribute__((unused))
ref_payload_parse(const char *payload, size_t len, size_t max_bytes,
    gn_reading_t *out, ref_errors_t *errs)
{
    cJSON               *root;
    const char          *error;
    size_t               offset, n0 = errs->n, i;
    gn_payload_status_e  status = GN_PAYLOAD_OK;

    if (len > max_bytes) {
        ref_errors_add(errs, "payload", NULL, NULL,
                      "Larger than %zu bytes", max_bytes);
        return GN_PAYLOAD_TOO_LARGE;
    }

    root = ref_json_parse(payload, len, REF_PAYLOAD_MAX_DEPTH, &error, &offset);
    if (root == NULL) {
        ref_errors_add(errs, "payload", NULL, NULL,
                      "Malformed JSON: %s at byte %zu", error, offset);
        return GN_PAYLOAD_NOT_JSON;
    }

    if (ref_reading_parse(root, "", out, errs) != 0) {
        status = GN_PAYLOAD_INVALID;
    }

    if (cJSON_IsObject(root)
        && !ref_check_string(cJSON_GetObjectItemCaseSensitive(root,
                                                             "sensor_type"),
                            "", "sensor_type", GN_SENSOR_TYPE_MAX, errs))
    {
        status = GN_PAYLOAD_INVALID;
    }

    /* the values point into the tree about to be freed */
    for (i = n0; i < errs->n; i++) {
        errs->items[i].value = NULL;
    }

    cJSON_Delete(root);

    return status;
}


/* REST ingest bodies */

static int
ref_ingest_entry(const cJSON *entry, size_t idx,
    const gn_ingest_limits_t *limits, void *(*alloc)(void *, size_t),
    void *ctx, ref_ingest_machine_t *m, int *limit_hit, ref_errors_t *errs)
{
    char          path[48], rpath[80];
    const cJSON  *item, *readings, *reading;
    size_t        n0 = errs->n + errs->dropped, j;
    int           nreadings;

    snprintf(path, sizeof(path), "batch[%zu]", idx);

    m->machine_id[0] = '\0';
    m->machine_id_value = NULL;
    m->valid = 0;
    m->nreadings = 0;
    m->readings = NULL;

    if (!cJSON_IsObject(entry)) {
        ref_errors_add(errs, path, NULL, entry, "Must be an object");
        return 0;
    }

    item = cJSON_GetObjectItemCaseSensitive(entry, "machine_id");
    m->machine_id_value = item;

    if (item == NULL) {
        ref_errors_add(errs, path, "machine_id", NULL,
                      "Required field missing");

    } else if (!cJSON_IsString(item)
               || !gn_uuid_is_valid(item->valuestring,
                                    strlen(item->valuestring)))
    {
        ref_errors_add(errs, path, "machine_id", item, "Must be a UUID");

    } else {
        gn_uuid_lower(m->machine_id, item->valuestring);
        m->machine_id[GN_UUID_LEN] = '\0';
    }

    /* required by the seed's schema; the tags come from the registry */
    ref_check_string(cJSON_GetObjectItemCaseSensitive(entry, "sensor_type"),
                    path, "sensor_type", GN_SENSOR_TYPE_MAX, errs);
    ref_check_string(cJSON_GetObjectItemCaseSensitive(entry, "location"),
                    path, "location", GN_LOCATION_MAX, errs);

    readings = cJSON_GetObjectItemCaseSensitive(entry, "readings");

    if (readings == NULL) {
        ref_errors_add(errs, path, "readings", NULL, "Required field missing");
        return 0;
    }

    if (!cJSON_IsArray(readings)) {
        ref_errors_add(errs, path, "readings", readings, "Must be an array");
        return 0;
    }

    nreadings = cJSON_GetArraySize(readings);

    if (nreadings == 0) {
        ref_errors_add(errs, path, "readings", readings,
                      "Must hold at least one reading");
        return 0;
    }

    if ((size_t) nreadings > limits->max_readings) {
        ref_errors_add(errs, path, "readings", NULL,
                      "More than %zu readings (the limit per machine)",
                      limits->max_readings);
        *limit_hit = 1;
        return 0;
    }

    m->readings = alloc(ctx, (size_t) nreadings * sizeof(gn_reading_t));
    if (m->readings == NULL) {
        return -1;
    }

    j = 0;
    cJSON_ArrayForEach(reading, readings) {
        /* the path is only written for a reading that has errors */
        if (ref_reading_parse(reading, NULL, &m->readings[j], NULL) != 0) {
            snprintf(rpath, sizeof(rpath), "%s.readings[%zu]", path, j);
            ref_reading_parse(reading, rpath, &m->readings[j], errs);
        }
        j++;
    }

    m->nreadings = j;
    m->valid = (errs->n + errs->dropped == n0);

    return 0;
}


static gn_ingest_status_e __attribute__((unused))
ref_ingest_parse(const char *body, size_t len, const gn_ingest_limits_t *limits,
    void *(*alloc)(void *ctx, size_t size), void *ctx, ref_ingest_t *in,
    ref_errors_t *errs)
{
    const cJSON  *batch, *entry;
    const char   *error;
    size_t        i, n0;
    int           n, limit_hit = 0, top_ok = 1;

    memset(in, 0, sizeof(*in));

    in->root = ref_json_parse(body, len, limits->max_depth, &error,
                             &in->json_offset);
    if (in->root == NULL) {
        ref_errors_add(errs, "body", NULL, NULL,
                      "Malformed JSON: %s at byte %zu", error,
                      in->json_offset);
        return GN_INGEST_MALFORMED;
    }

    if (!cJSON_IsObject(in->root)) {
        ref_errors_add(errs, "body", NULL, NULL, "Must be a JSON object");
        return GN_INGEST_INVALID;
    }

    n0 = errs->n + errs->dropped;

    if (ref_check_string(cJSON_GetObjectItemCaseSensitive(in->root,
                                                         "gateway_id"),
                        "", "gateway_id", GN_GATEWAY_ID_MAX, errs))
    {
        in->gateway_id = cJSON_GetObjectItemCaseSensitive(in->root,
                                                          "gateway_id")
                         ->valuestring;
    }

    ref_check_timestamp(cJSON_GetObjectItemCaseSensitive(in->root,
                                                        "timestamp"),
                       "", "timestamp", &in->gateway_ts_ns, errs);

    top_ok = (errs->n + errs->dropped == n0);

    batch = cJSON_GetObjectItemCaseSensitive(in->root, "batch");

    if (batch == NULL) {
        ref_errors_add(errs, "batch", NULL, NULL, "Required field missing");
        return GN_INGEST_INVALID;
    }

    if (!cJSON_IsArray(batch)) {
        ref_errors_add(errs, "batch", NULL, batch, "Must be an array");
        return GN_INGEST_INVALID;
    }

    n = cJSON_GetArraySize(batch);

    if (n == 0) {
        ref_errors_add(errs, "batch", NULL, batch,
                      "Must hold at least one machine");
        return GN_INGEST_INVALID;
    }

    if ((size_t) n > limits->max_machines) {
        ref_errors_add(errs, "batch", NULL, NULL,
                      "More than %zu machines (the limit per request)",
                      limits->max_machines);
        return GN_INGEST_INVALID;
    }

    in->machines = alloc(ctx, (size_t) n * sizeof(ref_ingest_machine_t));
    if (in->machines == NULL) {
        return GN_INGEST_NOMEM;
    }

    i = 0;
    cJSON_ArrayForEach(entry, batch) {
        if (ref_ingest_entry(entry, i, limits, alloc, ctx, &in->machines[i],
                            &limit_hit, errs)
            != 0)
        {
            return GN_INGEST_NOMEM;
        }

        if (in->machines[i].valid) {
            in->nvalid++;
            in->nreadings += in->machines[i].nreadings;
        }

        i++;
    }

    in->nmachines = i;

    if (!top_ok || limit_hit || in->nvalid == 0) {
        return GN_INGEST_INVALID;
    }

    return in->nvalid == in->nmachines ? GN_INGEST_OK : GN_INGEST_PARTIAL;
}



/*
 * 1 for a text on which the one-pass parser differs from the reference on
 * purpose: RFC 8259 breaks that cJSON lets through (leading zeros, "1.",
 * ".5", bytes below 0x20 as white space, \u with a bad hex digit, read
 * as 0), \u0000 (cJSON cuts the string there), numbers longer than
 * cJSON's 63-byte buffer.  An over-approximation: some texts it names
 * would agree.
 */
static int __attribute__((unused))
ref_deviant(const char *t, size_t len)
{
    size_t  i, run = 0;
    int     prev, instr = 0;

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) t[i];

        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            return 1;
        }

        if (instr) {
            /* \u0000, and \u with a bad digit (cJSON reads 0) */
            if (c == '\\' && i + 1 < len && t[i + 1] == 'u') {
                size_t  k;
                int     zero = 1;

                for (k = i + 2; k < i + 6; k++) {
                    if (k >= len || !isxdigit((unsigned char) t[k])) {
                        return 1;
                    }
                    zero &= t[k] == '0';
                }

                if (zero) {
                    return 1;
                }
            }

            if (c == '\\') {
                i++;
            } else if (c == '"') {
                instr = 0;
            }
            continue;
        }

        if (c == '"') {
            instr = 1;
            run = 0;
            continue;
        }

        if ((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E'
            || c == '+' || c == '-')
        {
            if (++run >= 63) {
                return 1;
            }
        } else {
            run = 0;
        }

        prev = i ? (unsigned char) t[i - 1] : ' ';

        if (c == '0' && i + 1 < len && t[i + 1] >= '0' && t[i + 1] <= '9'
            && !(prev >= '0' && prev <= '9') && prev != '.' && prev != 'e'
            && prev != 'E' && prev != '+')
        {
            return 1;                   /* 01, -01 */
        }

        if (c == '.' && (i + 1 == len || t[i + 1] < '0' || t[i + 1] > '9')) {
            return 1;                   /* 1. */
        }

        if (c == '.' && (prev < '0' || prev > '9')) {
            return 1;                   /* -.5 */
        }
    }

    return 0;
}


/* the same reading, values bit for bit */
static int
ref_same_reading(const gn_reading_t *a, const gn_reading_t *b)
{
    int  i;

    if (a->ts_ns != b->ts_ns || a->present != b->present) {
        return 0;
    }

    for (i = 0; i < GN_FIELD_N; i++) {
        if ((a->present & (1u << i))
            && memcmp(&a->value[i], &b->value[i], sizeof(double)) != 0)
        {
            return 0;
        }
    }

    return 1;
}


#endif /* GN_REF_TELEMETRY_H */
