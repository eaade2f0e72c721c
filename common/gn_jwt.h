/*
 * Gonsters common: JSON Web Token pre-parsing (RFC 7519 tokens in the JWS
 * compact serialization of RFC 7515).
 *
 * Splits a token into its three base64url segments, decodes a segment
 * strictly, and reads the JOSE header (alg, kid, typ) and the claims that
 * Gonsters uses with a small JSON reader that accepts exactly RFC 8259
 * objects, nested at most GN_JWT_MAX_DEPTH deep.  No signature is checked
 * here: the module pins the algorithm with what this returns before it
 * checks the signature, and reads the claims from here once it has.
 *
 * Nothing is allocated.  The JSON parsers work in place on a buffer the
 * caller owns (a decoded segment): strings are unescaped where they stand,
 * so every gn_jwt_str_t they return points into that buffer.
 */

#ifndef GN_JWT_H
#define GN_JWT_H

#include <stddef.h>
#include <stdint.h>


#define GN_JWT_OK          0
#define GN_JWT_EFORMAT    -1   /* not three non-empty base64url segments */
#define GN_JWT_ETOOLONG   -2   /* longer than GN_JWT_MAX_LEN */
#define GN_JWT_EBASE64    -3   /* a segment is not canonical base64url */
#define GN_JWT_EJSON      -4   /* not a JSON object (or too deeply nested) */
#define GN_JWT_EHEADER    -5   /* alg missing or not a string, typ not JWT,
                                  crit, a duplicate alg/kid/typ */
#define GN_JWT_ECLAIM     -6   /* a known claim has the wrong type or is
                                  duplicated; a control character in a
                                  string claim */

/* tokens longer than this are refused before anything is decoded */
#define GN_JWT_MAX_LEN     8192

/* objects and arrays inside the header or the claims */
#define GN_JWT_MAX_DEPTH   32


/* data == NULL: absent */
typedef struct {
    const char  *data;
    size_t       len;
} gn_jwt_str_t;


/* strings separated by one '\0' each (none after the last) */
typedef struct {
    const char  *data;
    size_t       len;
    size_t       count;
} gn_jwt_list_t;


typedef struct {
    gn_jwt_str_t  header;       /* base64url, inside the token */
    gn_jwt_str_t  payload;
    gn_jwt_str_t  signature;
    gn_jwt_str_t  signed_part;  /* header "." payload */
} gn_jwt_parts_t;


typedef struct {
    gn_jwt_str_t  alg;          /* present on success */
    gn_jwt_str_t  kid;
    gn_jwt_str_t  typ;
} gn_jwt_header_t;


/* the state of "permissions" */
#define GN_JWT_ABSENT    0
#define GN_JWT_PRESENT   1
#define GN_JWT_INVALID   2      /* not an array of strings */


typedef struct {
    gn_jwt_str_t   sub;
    gn_jwt_str_t   username;
    gn_jwt_str_t   email;
    gn_jwt_str_t   role;
    gn_jwt_str_t   factory_id;
    gn_jwt_str_t   department;
    gn_jwt_str_t   jti;
    gn_jwt_str_t   fam;         /* refresh family of the session */
    gn_jwt_str_t   type;
    gn_jwt_str_t   iss;

    gn_jwt_list_t  aud;         /* a string "aud" is a list of one */
    gn_jwt_list_t  permissions;
    int            permissions_state;

    /* NumericDate: seconds, a fraction is dropped */
    int64_t        exp;
    int64_t        nbf;
    int64_t        iat;

    unsigned       has_aud:1;
    unsigned       has_exp:1;
    unsigned       has_nbf:1;
    unsigned       has_iat:1;
} gn_jwt_claims_t;


/*
 * Splits token[0..len): exactly two dots, three non-empty segments of the
 * base64url alphabet (A-Z a-z 0-9 - _), no padding, no other byte.
 */
int gn_jwt_split(const char *token, size_t len, gn_jwt_parts_t *parts);

/* Number of bytes gn_jwt_b64url_decode() writes for a segment of len. */
size_t gn_jwt_b64url_decoded_len(size_t len);

/*
 * Decodes src[0..len) into dst (gn_jwt_b64url_decoded_len(len) bytes).
 * Refuses what is not canonical: a length of 4n+1, bytes outside the
 * alphabet, padding, non-zero unused bits in the last character.
 */
int gn_jwt_b64url_decode(const char *src, size_t len, unsigned char *dst);

/*
 * Parses a decoded JOSE header json[0..len) in place.  alg must be a
 * non-empty string; kid, if present, a string without control characters;
 * typ, if present, "JWT" in any case (as libjwt required); crit is
 * refused (no extension is understood).  Other members are checked as JSON
 * and ignored.
 */
int gn_jwt_parse_header(char *json, size_t len, gn_jwt_header_t *h);

/*
 * Parses decoded claims json[0..len) in place into *c.  sub, username,
 * email, role, factory_id, department, jti, fam, type and iss must be
 * strings;
 * exp, nbf and iat numbers without exponent; aud a string or an array of
 * strings; an extracted string must be valid UTF-8 without control
 * characters (the values end up in log lines and upstream headers).
 * "permissions" that is not an array of strings is not an error: the state
 * says GN_JWT_INVALID.  Presence and values are the caller's to check.
 */
int gn_jwt_parse_claims(char *json, size_t len, gn_jwt_claims_t *c);

/* 1 if one element of the list is exactly s[0..len), else 0. */
int gn_jwt_list_contains(const gn_jwt_list_t *list, const char *s,
    size_t len);

/*
 * Walks a list: *pos starts at 0; returns 1 and sets *item for each
 * element, then 0.
 */
int gn_jwt_list_next(const gn_jwt_list_t *list, size_t *pos,
    gn_jwt_str_t *item);

/* Short description of a return code; never NULL. */
const char *gn_jwt_strerror(int rc);


#endif /* GN_JWT_H */
