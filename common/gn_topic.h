/*
 * Gonsters common: MQTT topic names of the machines,
 *   factory/{factory_id}/machine/{machine_id}/telemetry
 *   factory/{factory_id}/machine/{machine_id}/status
 */

#ifndef GN_TOPIC_H
#define GN_TOPIC_H

#include <stddef.h>


#define GN_TOPIC_OK          0
#define GN_TOPIC_EFORMAT    -1  /* not factory/x/machine/y/(telemetry|status) */
#define GN_TOPIC_EEMPTY     -2  /* empty factory_id or machine_id */
#define GN_TOPIC_EWILDCARD  -3  /* '+' or '#' (not allowed in topic names) */
#define GN_TOPIC_ECHAR      -4  /* NUL, control character, invalid UTF-8 */
#define GN_TOPIC_ETOOLONG   -5  /* factory_id or topic too long */
#define GN_TOPIC_EUUID      -6  /* machine_id is not a canonical UUID */

#define GN_TOPIC_FACTORY_ID_MAX  64
#define GN_TOPIC_MAX             65535  /* MQTT limit on a topic name */


typedef enum {
    GN_TOPIC_TELEMETRY = 1,
    GN_TOPIC_STATUS
} gn_topic_kind_e;


typedef struct {
    const char       *factory_id;       /* points into the topic */
    size_t            factory_id_len;   /* 1..GN_TOPIC_FACTORY_ID_MAX */
    const char       *machine_id;       /* points into the topic, as sent */
    size_t            machine_id_len;   /* GN_UUID_LEN */
    gn_topic_kind_e   kind;
} gn_topic_t;


/*
 * Parses topic[0..len) (need not be NUL-terminated).  Returns GN_TOPIC_OK
 * and fills *out, or a negative GN_TOPIC_E* code and leaves *out alone.
 * factory_id is valid UTF-8 without C0/C1 controls or DEL; machine_id may
 * be upper case (see gn_uuid_lower()).
 */
int gn_topic_parse(const char *topic, size_t len, gn_topic_t *out);

const char *gn_topic_strerror(int rc);


#endif /* GN_TOPIC_H */
