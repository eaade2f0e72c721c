/*
 * Gonsters common: the JSON shape of configuration bodies (seed Part 2 B),
 * before the settings' own type rules (PostgreSQL, sql/008) see the value.
 *
 *   update: {"setting_name": NAME, "setting_value": NUMBER | STRING}
 *   reset:  {"setting_name": NAME} or {"all": true}
 *
 * A number becomes the shortest text that reads back as the same double
 * (85.1, not 85.099999999999994), in JSON's number syntax; a string is
 * taken as it is.  Errors name the field, with the API's messages.
 */

#ifndef GN_CONFIG_H
#define GN_CONFIG_H

#include <stddef.h>
#include <cjson/cJSON.h>


#define GN_CONFIG_NAME_MAX    255     /* bytes */
#define GN_CONFIG_VALUE_MAX   1000    /* bytes */
#define GN_CONFIG_NUMBER_LEN  32


typedef struct {
    const char   *field;
    const char   *error;
} gn_config_error_t;


typedef struct {
    const char          *name;        /* in the tree */
    const char          *value;       /* in the tree, or number_text */
    int                  is_number;
    char                 number_text[GN_CONFIG_NUMBER_LEN];
    size_t               nerrors;
    gn_config_error_t    errors[2];
} gn_config_update_t;


typedef struct {
    const char          *name;        /* NULL: every setting */
    size_t               nerrors;
    gn_config_error_t    errors[1];
} gn_config_reset_t;


/* body: a JSON object.  0, or -1 with the errors set */
int gn_config_update(const cJSON *body, gn_config_update_t *u);
int gn_config_reset(const cJSON *body, gn_config_reset_t *r);

/* d as text into buf (at least GN_CONFIG_NUMBER_LEN bytes); its length,
 * or -1 when d is not finite */
int gn_config_number(double d, char *buf, size_t size);


#endif /* GN_CONFIG_H */
