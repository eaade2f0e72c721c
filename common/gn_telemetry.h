/*
 * Gonsters common: the rules of a telemetry reading, one implementation for
 * the REST ingest (POST /api/v1/data/ingest, seed §1.2 A) and the MQTT
 * worker (payload of factory/{f}/machine/{m}/telemetry, seed 2.1 A), and
 * the line protocol a reading becomes in InfluxDB.
 *
 * JSON is parsed in one pass by a strict parser of its own (RFC 8259,
 * UTF-8, bounded nesting) that fills the readings directly: no tree.
 * Error values point into the caller's text.
 */

#ifndef GN_TELEMETRY_H
#define GN_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "gn_uuid.h"


/* the fields of a reading, in this order everywhere */
typedef enum {
    GN_FIELD_TEMPERATURE = 0,
    GN_FIELD_PRESSURE,
    GN_FIELD_SPEED,
    GN_FIELD_N
} gn_field_e;

extern const char *const  gn_field_names[GN_FIELD_N];

#define GN_MEASUREMENT          "sensor_readings"

/* string bounds, as the machine_metadata columns */
#define GN_SENSOR_TYPE_MAX      100
#define GN_LOCATION_MAX         500
#define GN_GATEWAY_ID_MAX       255
#define GN_TIMESTAMP_MAX        64      /* longer is not a timestamp */


typedef struct {
    int64_t           ts_ns;                /* UTC, ns since the epoch */
    unsigned          present;              /* bit 1 << gn_field_e */
    double            value[GN_FIELD_N];    /* finite where present */
} gn_reading_t;


/* a JSON value as it was sent: a slice of the parsed text (text NULL:
 * no value) */
typedef struct {
    const char       *text;
    size_t            len;
} gn_json_text_t;

/* one validation error, as the API reports it: {"field" | "parameter",
 * "error", "value"} */
typedef struct {
    char              field[96];    /* "batch[1].readings[0].timestamp" */
    char              error[96];    /* "Invalid ISO 8601 format: ..." */
    gn_json_text_t    value;        /* the offending value, or text NULL */
} gn_error_t;

/* a list the caller provides: at most cap entries are kept, the others
 * only counted in dropped */
typedef struct {
    gn_error_t       *items;
    size_t            cap;
    size_t            n;
    size_t            dropped;
} gn_errors_t;

/* field is "path.field" ("field" when path is empty, "path" when field is
 * NULL); error is a printf format; errs NULL: nothing recorded */
void gn_errors_add(gn_errors_t *errs, const char *path, const char *field,
    const gn_json_text_t *value, const char *error, ...)
    __attribute__((format(printf, 5, 6)));


/*
 * The JSON rules of every text parsed here: one RFC 8259 value (a UTF-8
 * byte order mark before it is skipped) and white space around it, valid
 * UTF-8, no raw control character in a string, well-formed escapes and
 * surrogate pairs, numbers as the RFC's grammar writes them, at most
 * max_depth nested arrays/objects.  A text that breaks one is answered
 * "Malformed JSON: <what> at byte <offset>", where what is one of
 * "empty", "syntax error", "invalid UTF-8", "control character in a
 * string", "nested too deeply", "unexpected data after the JSON value".
 */

/*
 * Validates one reading object: "timestamp" (ISO 8601 with a zone, within
 * InfluxDB's range), at least one of temperature, pressure, speed, each a
 * finite JSON number; no key twice; other keys are ignored.  path prefixes
 * the field names of the errors ("batch[0].readings[2]", or "" for none).
 * Returns 0 and fills *out when valid, otherwise the number of errors
 * (malformed JSON: one, whose field is path).
 */
size_t gn_reading_parse(const char *json, size_t len, const char *path,
    gn_reading_t *out, gn_errors_t *errs);


/* MQTT payload: {"timestamp", "sensor_type", "temperature"?, "pressure"?,
 * "speed"?}; the dead-letter reasons */
typedef enum {
    GN_PAYLOAD_OK = 0,
    GN_PAYLOAD_TOO_LARGE,       /* over max_bytes */
    GN_PAYLOAD_NOT_JSON,        /* malformed, too deep, not UTF-8 */
    GN_PAYLOAD_INVALID          /* JSON, but breaks a rule (errs says which) */
} gn_payload_status_e;

/* "payload_too_large", "invalid_json", "invalid_payload" */
const char *gn_payload_reason(gn_payload_status_e status);

/* On GN_PAYLOAD_OK fills *out; on GN_PAYLOAD_NOT_JSON adds one error with
 * the parser's message.  errs values are left without text (the payload
 * is the caller's, errors outlive it in dead letters). */
gn_payload_status_e gn_payload_parse(const char *payload, size_t len,
    size_t max_bytes, gn_reading_t *out, gn_errors_t *errs);


/* REST ingest body */
typedef struct {
    size_t            max_machines;     /* batch entries */
    size_t            max_readings;     /* readings per batch entry */
    size_t            max_depth;        /* JSON nesting */
} gn_ingest_limits_t;

typedef struct {
    char              machine_id[GN_UUID_LEN + 1];  /* lower case; "" when
                                                       not a UUID */
    gn_json_text_t    machine_id_value; /* as sent, text NULL if absent */
    const char       *machine_id_sent;  /* a string that is not a UUID:
                                           decoded, NUL-terminated */
    int               valid;            /* the entry and all its readings */
    size_t            nreadings;
    gn_reading_t     *readings;         /* nreadings, when valid */
    gn_json_text_t   *timestamps;       /* of the readings as sent, when
                                           valid */
} gn_ingest_machine_t;

typedef struct {
    const char           *gateway_id;   /* NUL-terminated, allocated */
    int64_t               gateway_ts_ns;
    size_t                nmachines;
    gn_ingest_machine_t  *machines;
    size_t                nreadings;    /* in valid entries */
    size_t                nvalid;       /* valid entries */
    size_t                json_offset;  /* MALFORMED: where parsing stopped */
} gn_ingest_t;

typedef enum {
    GN_INGEST_OK = 0,           /* every entry valid */
    GN_INGEST_PARTIAL,          /* some entries invalid (errs), others valid */
    GN_INGEST_INVALID,          /* nothing valid, or an error outside the
                                   entries (gateway_id, limits) */
    GN_INGEST_MALFORMED,        /* not JSON: errs holds one error whose
                                   field is "body" */
    GN_INGEST_NOMEM
} gn_ingest_status_e;

/*
 * Parses and validates the whole body in one pass, every error reported.
 * alloc(ctx, size) provides every array and string of *in (nginx: the
 * request pool; nothing is freed one by one).  The errors' values point
 * into body, which must outlive them.  A limit exceeded is one error
 * naming the limit, and status INVALID.
 */
gn_ingest_status_e gn_ingest_parse(const char *body, size_t len,
    const gn_ingest_limits_t *limits, void *(*alloc)(void *ctx, size_t size),
    void *ctx, gn_ingest_t *in, gn_errors_t *errs);


/*
 * The line of one reading:
 *   sensor_readings,location=L,machine_id=M,sensor_type=S f=v,... ts_ns\n
 * tags sorted by key as InfluxDB stores them, escaped; location and
 * sensor_type must pass gn_lp_check_tag() (the registry checks them on the
 * way in).  gn_reading_line_len() is the exact size; gn_reading_line()
 * returns the end.
 */
typedef struct {
    const char       *machine_id;       /* lower-case UUID */
    const char       *location;
    size_t            location_len;
    const char       *sensor_type;
    size_t            sensor_type_len;
} gn_series_t;

/* GN_LP_OK when location and sensor_type can be tag values */
int gn_series_check(const gn_series_t *s);

size_t gn_reading_line_len(const gn_series_t *s, const gn_reading_t *r);
char *gn_reading_line(char *dst, const gn_series_t *s, const gn_reading_t *r);


#endif /* GN_TELEMETRY_H */
