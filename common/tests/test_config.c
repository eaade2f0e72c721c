/*
 * Unit tests: gn_config (the JSON shape of configuration bodies), with
 * hostile inputs: wrong types, empty and oversized names and values,
 * invalid UTF-8, numbers JSON cannot hold, both or neither reset form.
 */

#include <math.h>
#include <stdlib.h>

#include "gn_config.h"
#include "gn_ref.h"
#include "gn_test.h"


static void
update_case(const char *json, int rc, const char *value, int is_number,
    const char *field0, const char *error0, const char *field1,
    const char *error1)
{
    cJSON               *body;
    gn_config_update_t   u;

    body = cJSON_Parse(json);
    GN_CHECK_MSG(body != NULL, "%s", json);
    if (body == NULL) {
        return;
    }

    GN_CHECK_MSG(gn_config_update(body, &u) == rc, "%s", json);

    if (rc == 0) {
        GN_CHECK_MSG(u.nerrors == 0, "%s", json);
        GN_CHECK_MSG(u.value && strcmp(u.value, value) == 0, "%s: %s", json,
                     u.value ? u.value : "(null)");
        GN_CHECK_MSG(u.is_number == is_number, "%s", json);
        GN_CHECK_MSG(u.name != NULL, "%s", json);

    } else {
        GN_CHECK_MSG(u.nerrors == (field1 ? 2u : 1u), "%s", json);
        GN_CHECK_MSG(strcmp(u.errors[0].field, field0) == 0
                     && strcmp(u.errors[0].error, error0) == 0,
                     "%s: %s %s", json, u.errors[0].field, u.errors[0].error);
        if (field1 && u.nerrors == 2) {
            GN_CHECK_MSG(strcmp(u.errors[1].field, field1) == 0
                         && strcmp(u.errors[1].error, error1) == 0,
                         "%s: %s %s", json, u.errors[1].field,
                         u.errors[1].error);
        }
    }

    cJSON_Delete(body);
}


static void
test_update(void)
{
    char   big[1200], json[1400];

    update_case("{\"setting_name\":\"a\",\"setting_value\":85.0}", 0, "85", 1,
                NULL, NULL, NULL, NULL);
    update_case("{\"setting_name\":\"a\",\"setting_value\":85.1}", 0, "85.1", 1,
                NULL, NULL, NULL, NULL);
    update_case("{\"setting_name\":\"a\",\"setting_value\":0.1}", 0, "0.1", 1,
                NULL, NULL, NULL, NULL);
    update_case("{\"setting_name\":\"a\",\"setting_value\":-0.000001}", 0,
                "-1e-06", 1, NULL, NULL, NULL, NULL);
    update_case("{\"setting_name\":\"a\",\"setting_value\":1e300}", 0,
                "1e+300", 1, NULL, NULL, NULL, NULL);
    update_case("{\"setting_name\":\"a\",\"setting_value\":\"85.0\"}", 0,
                "85.0", 0, NULL, NULL, NULL, NULL);
    update_case("{\"setting_name\":\"a\",\"setting_value\":\"\"}", 0, "", 0,
                NULL, NULL, NULL, NULL);
    update_case("{\"setting_name\":\"a\",\"setting_value\":\"'; DROP TABLE x;--\"}",
                0, "'; DROP TABLE x;--", 0, NULL, NULL, NULL, NULL);

    /* cJSON turns 1e400 into infinity */
    update_case("{\"setting_name\":\"a\",\"setting_value\":1e400}", -1, NULL, 0,
                "setting_value", "must be a finite number", NULL, NULL);
    update_case("{\"setting_name\":\"a\",\"setting_value\":true}", -1, NULL, 0,
                "setting_value", "must be a number or a string", NULL, NULL);
    update_case("{\"setting_name\":\"a\",\"setting_value\":null}", -1, NULL, 0,
                "setting_value", "must be a number or a string", NULL, NULL);
    update_case("{\"setting_name\":\"a\",\"setting_value\":[1]}", -1, NULL, 0,
                "setting_value", "must be a number or a string", NULL, NULL);
    update_case("{\"setting_name\":\"a\",\"setting_value\":{}}", -1, NULL, 0,
                "setting_value", "must be a number or a string", NULL, NULL);
    /* raw bytes: cJSON passes them through, it refuses \ud800 itself */
    update_case("{\"setting_name\":\"a\",\"setting_value\":\"\xff\xfe\"}",
                -1, NULL, 0, "setting_value", "must be valid UTF-8", NULL,
                NULL);
    update_case("{}", -1, NULL, 0, "setting_name", "is required",
                "setting_value", "is required");
    update_case("{\"setting_name\":null,\"setting_value\":1}", -1, NULL, 0,
                "setting_name", "is required", NULL, NULL);
    update_case("{\"setting_name\":7,\"setting_value\":1}", -1, NULL, 0,
                "setting_name", "must be a string", NULL, NULL);
    update_case("{\"setting_name\":\"\",\"setting_value\":1}", -1, NULL, 0,
                "setting_name", "must not be empty", NULL, NULL);
    update_case("{\"setting_name\":[],\"setting_value\":[]}", -1, NULL, 0,
                "setting_name", "must be a string", "setting_value",
                "must be a number or a string");
    update_case("{\"Setting_Name\":\"a\",\"setting_value\":1}", -1, NULL, 0,
                "setting_name", "is required", NULL, NULL);

    memset(big, 'n', 256);
    big[256] = '\0';
    snprintf(json, sizeof(json),
             "{\"setting_name\":\"%s\",\"setting_value\":1}", big);
    update_case(json, -1, NULL, 0, "setting_name", "must be at most 255 bytes",
                NULL, NULL);
    big[255] = '\0';
    snprintf(json, sizeof(json),
             "{\"setting_name\":\"%s\",\"setting_value\":1}", big);
    update_case(json, 0, "1", 1, NULL, NULL, NULL, NULL);

    memset(big, 'v', 1001);
    big[1001] = '\0';
    snprintf(json, sizeof(json),
             "{\"setting_name\":\"a\",\"setting_value\":\"%s\"}", big);
    update_case(json, -1, NULL, 0, "setting_value",
                "must be at most 1000 bytes", NULL, NULL);
    big[1000] = '\0';
    snprintf(json, sizeof(json),
             "{\"setting_name\":\"a\",\"setting_value\":\"%s\"}", big);
    update_case(json, 0, big, 0, NULL, NULL, NULL, NULL);
}


static void
reset_case(const char *json, int rc, const char *name, const char *field,
    const char *error)
{
    cJSON              *body;
    gn_config_reset_t   r;

    body = cJSON_Parse(json);
    GN_CHECK_MSG(body != NULL, "%s", json);
    if (body == NULL) {
        return;
    }

    GN_CHECK_MSG(gn_config_reset(body, &r) == rc, "%s", json);

    if (rc == 0) {
        GN_CHECK_MSG(name ? (r.name && strcmp(r.name, name) == 0)
                          : r.name == NULL, "%s", json);

    } else {
        GN_CHECK_MSG(r.nerrors == 1 && r.name == NULL, "%s", json);
        GN_CHECK_MSG(strcmp(r.errors[0].field, field) == 0
                     && strcmp(r.errors[0].error, error) == 0,
                     "%s: %s %s", json, r.errors[0].field, r.errors[0].error);
    }

    cJSON_Delete(body);
}


static void
test_reset(void)
{
    const char  *either = "give either setting_name or \"all\": true";

    reset_case("{\"setting_name\":\"alert_email\"}", 0, "alert_email", NULL,
               NULL);
    reset_case("{\"all\":true}", 0, NULL, NULL, NULL);
    reset_case("{\"setting_name\":\"x\",\"all\":false}", 0, "x", NULL, NULL);
    reset_case("{\"setting_name\":null,\"all\":true}", 0, NULL, NULL, NULL);
    reset_case("{}", -1, NULL, "setting_name", either);
    reset_case("{\"all\":false}", -1, NULL, "setting_name", either);
    reset_case("{\"all\":true,\"setting_name\":\"x\"}", -1, NULL,
               "setting_name", either);
    reset_case("{\"all\":1}", -1, NULL, "all", "must be true or false");
    reset_case("{\"all\":\"yes\"}", -1, NULL, "all", "must be true or false");
    reset_case("{\"setting_name\":3}", -1, NULL, "setting_name",
               "must be a string");
    reset_case("{\"setting_name\":\"\xed\xa0\x80\"}", -1, NULL, "setting_name",
               "must be valid UTF-8");
}


static void
test_number(void)
{
    char          buf[GN_CONFIG_NUMBER_LEN];
    size_t        i;
    double        d;
    static const double  values[] = {
        0.0, -0.0, 1.0, -1.0, 0.1, 85.1, 1.0 / 3, 1e-300, 5e-324, 1e308,
        1.7976931348623157e308, -2.2250738585072014e-308, 123456789012345678.0,
        4503599627370497.0, 0.30000000000000004
    };

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        d = values[i];
        GN_CHECK_MSG(gn_config_number(d, buf, sizeof(buf)) > 0, "%.17g", d);
        GN_CHECK_MSG(strtod(buf, NULL) == d, "%.17g -> %s", d, buf);
        GN_CHECK_MSG(ref_json_number(buf), "%.17g -> %s", d, buf);
    }

    GN_CHECK_INT(gn_config_number(NAN, buf, sizeof(buf)), -1);
    GN_CHECK_INT(gn_config_number(INFINITY, buf, sizeof(buf)), -1);
    GN_CHECK_INT(gn_config_number(-INFINITY, buf, sizeof(buf)), -1);
    GN_CHECK_INT(gn_config_number(1.0, buf, 8), -1);

    GN_CHECK(gn_config_number(85.1, buf, sizeof(buf)) == 4
             && strcmp(buf, "85.1") == 0);
    GN_CHECK(gn_config_number(0.1 + 0.2, buf, sizeof(buf)) > 0
             && strcmp(buf, "0.30000000000000004") == 0);
}


int
main(void)
{
    test_update();
    test_reset();
    test_number();

    GN_TEST_DONE();
}
