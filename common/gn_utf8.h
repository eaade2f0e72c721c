/*
 * Gonsters common: UTF-8 decoding shared by the JSON and line-protocol
 * encoders, so that "what is valid UTF-8" is decided in one place.
 */

#ifndef GN_UTF8_H
#define GN_UTF8_H

#include <stddef.h>
#include <stdint.h>


/*
 * Decodes the sequence at p (p < end).  Returns its length (1..4) and stores
 * the code point in *cp when the sequence is well formed (Unicode 15, table
 * 3-7: no overlongs, no surrogates, nothing above U+10FFFF).  Otherwise
 * returns the negated length (-1..-3) of the maximal ill-formed subpart,
 * which the caller replaces with one U+FFFD (Unicode 15, section 3.9).
 */
int gn_utf8_next(const unsigned char *p, const unsigned char *end,
    uint32_t *cp);

/* 1 if s[0..len) is entirely well-formed UTF-8, else 0. */
int gn_utf8_valid(const char *s, size_t len);


#endif /* GN_UTF8_H */
