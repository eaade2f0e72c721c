/*
 * Fuzz target: gn_config (configuration bodies).  The input is parsed as
 * JSON; for an object, both body checks run.  Invariants: success exactly
 * when no error is recorded; an accepted update has a name of 1 to 255
 * bytes and a value of at most 1000 bytes, both valid UTF-8, and a number
 * became text in JSON's syntax that reads back as the same double; an
 * accepted reset names one setting or says "all": true, never both; a
 * refused one has no name.  The first 8 bytes also go through
 * gn_config_number() as a double.
 */

#include "gn_fuzz.h"
#include "gn_ref.h"
#include "gn_config.h"
#include "gn_utf8.h"


static void
check_update(const cJSON *body)
{
    int                  rc;
    size_t               len;
    const cJSON         *v;
    gn_config_update_t   u;

    rc = gn_config_update(body, &u);
    GN_FUZZ_ASSERT((rc == 0) == (u.nerrors == 0));
    GN_FUZZ_ASSERT(u.nerrors <= 2);

    if (rc != 0) {
        return;
    }

    len = strlen(u.name);
    GN_FUZZ_ASSERT(len >= 1 && len <= GN_CONFIG_NAME_MAX);
    GN_FUZZ_ASSERT(ref_utf8_valid((const unsigned char *) u.name, len));

    len = strlen(u.value);
    GN_FUZZ_ASSERT(len <= GN_CONFIG_VALUE_MAX);
    GN_FUZZ_ASSERT(ref_utf8_valid((const unsigned char *) u.value, len));

    v = cJSON_GetObjectItemCaseSensitive(body, "setting_value");
    GN_FUZZ_ASSERT(u.is_number == cJSON_IsNumber(v));

    if (u.is_number) {
        GN_FUZZ_ASSERT(ref_json_number(u.value));
        GN_FUZZ_ASSERT(strtod(u.value, NULL) == v->valuedouble);

    } else {
        GN_FUZZ_ASSERT(u.value == v->valuestring);
    }
}


static void
check_reset(const cJSON *body)
{
    int                 rc;
    gn_config_reset_t   r;

    rc = gn_config_reset(body, &r);
    GN_FUZZ_ASSERT((rc == 0) == (r.nerrors == 0));

    if (rc != 0) {
        GN_FUZZ_ASSERT(r.name == NULL);
        return;
    }

    GN_FUZZ_ASSERT((r.name != NULL)
                   != (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body,
                                                                     "all"))
                       != 0));

    if (r.name) {
        GN_FUZZ_ASSERT(ref_utf8_valid((const unsigned char *) r.name,
                                      strlen(r.name)));
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int      n;
    char     buf[GN_CONFIG_NUMBER_LEN];
    double   d;
    cJSON   *body;

    if (size >= sizeof(d)) {
        memcpy(&d, data, sizeof(d));
        n = gn_config_number(d, buf, sizeof(buf));

        if (d != d || d - d != 0) {
            GN_FUZZ_ASSERT(n == -1);

        } else {
            GN_FUZZ_ASSERT(n > 0 && (size_t) n == strlen(buf));
            GN_FUZZ_ASSERT(ref_json_number(buf));
            GN_FUZZ_ASSERT(strtod(buf, NULL) == d);
        }
    }

    body = cJSON_ParseWithLength((const char *) data, size);

    if (cJSON_IsObject(body)) {
        check_update(body);
        check_reset(body);
    }

    cJSON_Delete(body);

    return 0;
}
