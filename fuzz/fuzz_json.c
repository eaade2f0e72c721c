/*
 * Fuzz target: gn_json.  Invariants: the announced length is the written
 * length; the output is valid UTF-8 with no raw control character and no
 * unescaped '"', and decodes as a JSON string; valid UTF-8 input decodes
 * back to itself; gn_utf8_valid() agrees with an independent validator.
 */

#include "gn_fuzz.h"
#include "gn_json.h"
#include "gn_utf8.h"


static int
hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}


/* RFC 8259 string content -> UTF-8; -1 if not valid JSON */

static long
json_decode(const char *s, size_t len, unsigned char *out)
{
    size_t         i;
    long           o = 0;
    uint32_t       cp;
    int            k, h;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c < 0x20 || c == '"') {
            return -1;
        }

        if (c != '\\') {
            out[o++] = c;
            continue;
        }

        if (++i == len) {
            return -1;
        }

        switch (s[i]) {
        case '"':  out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case '/':  out[o++] = '/'; break;
        case 'b':  out[o++] = '\b'; break;
        case 'f':  out[o++] = '\f'; break;
        case 'n':  out[o++] = '\n'; break;
        case 'r':  out[o++] = '\r'; break;
        case 't':  out[o++] = '\t'; break;
        case 'u':
            if (len - i < 5) {
                return -1;
            }
            for (cp = 0, k = 1; k <= 4; k++) {
                h = hexval(s[i + k]);
                if (h < 0) {
                    return -1;
                }
                cp = cp << 4 | (uint32_t) h;
            }
            i += 4;
            if (cp >= 0xd800 && cp <= 0xdfff) {
                return -1;
            }
            if (cp < 0x80) {
                out[o++] = (unsigned char) cp;
            } else if (cp < 0x800) {
                out[o++] = (unsigned char) (0xc0 | cp >> 6);
                out[o++] = (unsigned char) (0x80 | (cp & 0x3f));
            } else {
                out[o++] = (unsigned char) (0xe0 | cp >> 12);
                out[o++] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
                out[o++] = (unsigned char) (0x80 | (cp & 0x3f));
            }
            break;
        default:
            return -1;
        }
    }

    return o;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char     *in = (const char *) data;
    char           *out, *end;
    unsigned char  *dec;
    size_t          n, i;
    long            dl;
    int             valid;

    valid = ref_utf8_valid(data, size);
    GN_FUZZ_ASSERT(gn_utf8_valid(in, size) == valid);

    n = gn_json_escape_len(in, size);
    GN_FUZZ_ASSERT(n >= size && n <= 6 * size);

    out = malloc(n + 1);
    end = gn_json_escape(out, in, size);
    GN_FUZZ_ASSERT((size_t) (end - out) == n);

    for (i = 0; i < n; i++) {
        GN_FUZZ_ASSERT((unsigned char) out[i] >= 0x20);
        GN_FUZZ_ASSERT(out[i] != 0x7f);
    }

    GN_FUZZ_ASSERT(ref_utf8_valid((unsigned char *) out, n));

    dec = malloc(n + 1);
    dl = json_decode(out, n, dec);
    GN_FUZZ_ASSERT(dl >= 0);

    if (valid) {
        GN_FUZZ_ASSERT((size_t) dl == size && memcmp(dec, data, size) == 0);
    }

    free(dec);
    free(out);

    return 0;
}
