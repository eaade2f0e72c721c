/*
 * Gonsters common: the JSON shape of configuration bodies (gn_config.h).
 */

#include "gn_config.h"
#include "gn_utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void
gn_config_error(gn_config_error_t *errors, size_t *n, size_t max,
    const char *field, const char *error)
{
    if (*n < max) {
        errors[*n].field = field;
        errors[*n].error = error;
        (*n)++;
    }
}


/* a string member: 1 present, 0 absent or null, -1 (*error set) */
static int
gn_config_string(const cJSON *body, const char *name, const char **s,
    const char **error)
{
    const cJSON  *item;

    item = cJSON_GetObjectItemCaseSensitive(body, name);

    if (item == NULL || cJSON_IsNull(item)) {
        return 0;
    }

    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        *error = "must be a string";
        return -1;
    }

    if (!gn_utf8_valid(item->valuestring, strlen(item->valuestring))) {
        *error = "must be valid UTF-8";
        return -1;
    }

    *s = item->valuestring;

    return 1;
}


int
gn_config_number(double d, char *buf, size_t size)
{
    int  n;

    if (!isfinite(d) || size < GN_CONFIG_NUMBER_LEN) {
        return -1;
    }

    n = snprintf(buf, size, "%.15g", d);

    if (n > 0 && (size_t) n < size && strtod(buf, NULL) != d) {
        n = snprintf(buf, size, "%.17g", d);
    }

    return (n > 0 && (size_t) n < size) ? n : -1;
}


static const char *
gn_config_value(const cJSON *item, gn_config_update_t *u)
{
    size_t  len;

    if (item == NULL) {
        return "is required";
    }

    if (cJSON_IsString(item) && item->valuestring != NULL) {
        len = strlen(item->valuestring);

        if (len > GN_CONFIG_VALUE_MAX) {
            return "must be at most 1000 bytes";
        }

        if (!gn_utf8_valid(item->valuestring, len)) {
            return "must be valid UTF-8";
        }

        u->value = item->valuestring;
        return NULL;
    }

    if (!cJSON_IsNumber(item)) {
        return "must be a number or a string";
    }

    if (gn_config_number(item->valuedouble, u->number_text,
                         sizeof(u->number_text)) < 0)
    {
        return "must be a finite number";
    }

    u->value = u->number_text;
    u->is_number = 1;

    return NULL;
}


int
gn_config_update(const cJSON *body, gn_config_update_t *u)
{
    int          rc;
    size_t       len;
    const char  *error;

    memset(u, 0, sizeof(*u));
    error = NULL;

    rc = gn_config_string(body, "setting_name", &u->name, &error);

    if (rc == 0) {
        error = "is required";

    } else if (rc > 0) {
        len = strlen(u->name);

        if (len == 0) {
            error = "must not be empty";

        } else if (len > GN_CONFIG_NAME_MAX) {
            error = "must be at most 255 bytes";
        }
    }

    if (error != NULL) {
        u->name = NULL;
        gn_config_error(u->errors, &u->nerrors, 2, "setting_name", error);
    }

    error = gn_config_value(
                cJSON_GetObjectItemCaseSensitive(body, "setting_value"), u);

    if (error != NULL) {
        u->value = NULL;
        u->is_number = 0;
        gn_config_error(u->errors, &u->nerrors, 2, "setting_value", error);
    }

    return u->nerrors ? -1 : 0;
}


int
gn_config_reset(const cJSON *body, gn_config_reset_t *r)
{
    int           rc;
    const char   *error;
    const cJSON  *all;

    memset(r, 0, sizeof(*r));
    error = NULL;

    rc = gn_config_string(body, "setting_name", &r->name, &error);
    all = cJSON_GetObjectItemCaseSensitive(body, "all");

    if (rc < 0) {
        gn_config_error(r->errors, &r->nerrors, 1, "setting_name", error);

    } else if (all != NULL && !cJSON_IsBool(all)) {
        gn_config_error(r->errors, &r->nerrors, 1, "all",
                        "must be true or false");

    } else if ((rc > 0) == (cJSON_IsTrue(all) != 0)) {
        gn_config_error(r->errors, &r->nerrors, 1, "setting_name",
                        "give either setting_name or \"all\": true");
    }

    if (r->nerrors) {
        r->name = NULL;
        return -1;
    }

    return 0;
}
