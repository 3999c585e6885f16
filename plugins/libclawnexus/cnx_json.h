/*
 * A small zero-copy JSON reader (RFC 8259, strict) and a bounded builder.
 *
 * Reader: cnx_json_parse() splits a buffer into tokens that point back
 * into it (offsets); nothing is copied or decoded until asked for.
 * Tokens are laid out in document order: an object token is followed by
 * its members, each a key (string token) then the value's subtree; an
 * array token is followed by its elements.  Every token knows the index
 * just past its own subtree (next), so walking an object's members or
 * skipping a value is O(1) per step.
 *
 * Duplicate keys are accepted by the tokenizer; cnx_json_obj_get()
 * returns the FIRST member with the key.  (cnx_relay_msg_parse() is
 * stricter and refuses a message that repeats one of its known fields.)
 */

#ifndef CNX_JSON_H
#define CNX_JSON_H

#include <stddef.h>
#include <stdint.h>

/* A slice of a buffer that is not NUL-terminated; p is NULL when absent. */
typedef struct {
    const char  *p;
    size_t       len;
} cnx_slice_t;

typedef enum {
    CNX_JSON_UNDEF = 0,
    CNX_JSON_OBJECT,
    CNX_JSON_ARRAY,
    CNX_JSON_STRING,
    CNX_JSON_NUMBER,
    CNX_JSON_TRUE,
    CNX_JSON_FALSE,
    CNX_JSON_NULL
} cnx_json_type_t;

typedef struct {
    uint8_t      type;      /* cnx_json_type_t */
    uint8_t      escaped;   /* string: contains at least one backslash */
    uint16_t     reserved;
    uint32_t     start;     /* strings: first byte after the opening quote */
    uint32_t     end;       /* strings: offset of the closing quote */
    uint32_t     size;      /* object: members; array: elements; else 0 */
    int32_t      next;      /* index of the token after this subtree */
} cnx_json_tok_t;

/* Negative results of cnx_json_parse(). */
#define CNX_JSON_EINVAL   (-1)   /* not one strict JSON value */
#define CNX_JSON_ENOMEM   (-2)   /* more tokens than ntoks */
#define CNX_JSON_EDEPTH   (-3)   /* nesting deeper than CNX_JSON_MAX_DEPTH */

/* Arrays/objects nested deeper than this are refused (stack bombs). */
#define CNX_JSON_MAX_DEPTH  32

/* Buffers longer than this are refused (offsets are 32-bit). */
#define CNX_JSON_MAX_LEN    0x7fffffffu

/*
 * Tokenize buf[0..len) which must hold exactly one JSON value, optionally
 * surrounded by whitespace (space, tab, CR, LF).  Strings must be valid
 * UTF-8 without raw control characters, escapes must be well formed
 * (\uXXXX with 4 hex digits; surrogate pairing is checked only when a
 * string is decoded), numbers follow the RFC grammar (no leading zeros,
 * no '+', no NaN).  buf need not be NUL-terminated.
 * Returns the number of tokens used (>= 1; token 0 is the root) or a
 * negative CNX_JSON_E* code.
 */
int cnx_json_parse(const char *buf, size_t len, cnx_json_tok_t *toks,
    unsigned ntoks);

/* As cnx_json_parse(); on failure *err_at (when not NULL) is the offset
 * where the input stopped making sense (for "line L, column C"). */
int cnx_json_parse_at(const char *buf, size_t len, cnx_json_tok_t *toks,
    unsigned ntoks, size_t *err_at);

/*
 * Scan the one string whose opening quote is buf[i], with exactly the
 * checks cnx_json_parse() makes (UTF-8, no raw control characters, well
 * formed escapes).  Returns the offset of the closing quote, or -1 if
 * buf[i] is not '"' or the string is invalid or unterminated.  Sets
 * *escaped to 1 if the string holds a backslash, else 0.
 */
long cnx_json_scan_string(const char *buf, size_t len, size_t i,
    int *escaped);

/*
 * Find the value of member key (NUL-terminated, compared byte-exactly
 * after decoding escapes of the JSON key) in the object at index obj of
 * the ntok tokens.  Returns the value's token index, or -1 if obj is not
 * an object or the key is absent.  The first match wins.
 */
int cnx_json_obj_get(const char *buf, const cnx_json_tok_t *t, int ntok,
    int obj, const char *key);

/*
 * 1 if the string token tok decodes to exactly the n bytes s, else 0
 * (also 0 when tok is not a string or has invalid escapes).
 */
int cnx_json_str_eq(const char *buf, const cnx_json_tok_t *tok,
    const char *s, size_t n);

/*
 * Decode the escapes of JSON string content s[0..n) (what sits between the
 * quotes) into out: \" \\ \/ \b \f \n \r \t and \uXXXX, surrogate pairs
 * joined into one UTF-8 sequence.  Lone surrogates, \u0000, bad escapes and
 * raw control characters are rejected.  Writes a NUL after the result when
 * it fits (the NUL is not counted).  Returns 0 and sets *outlen, or -1 on
 * bad input or if cap is too small (cap must leave room for the NUL).
 */
int cnx_json_unescape(const char *s, size_t n, char *out, size_t cap,
    size_t *outlen);

/* cnx_json_unescape() applied to a string token. */
int cnx_json_str_decode(const char *buf, const cnx_json_tok_t *tok,
    char *out, size_t cap, size_t *outlen);

/* The raw (still escaped) bytes of a token as a slice. */
cnx_slice_t cnx_json_tok_slice(const char *buf, const cnx_json_tok_t *tok);

/*
 * Read a number token that is an integer in int64 range ("-0" is 0).
 * Fractions and exponents are refused.  Returns 0 or -1.
 */
int cnx_json_tok_int64(const char *buf, const cnx_json_tok_t *tok,
    int64_t *v);

/* Read a true/false token: 0 and *v set, or -1 if it is not a boolean. */
int cnx_json_tok_bool(const cnx_json_tok_t *tok, int *v);

/*
 * Write the JSON-escaped form of s[0..n) (no quotes) to out: '"', '\\'
 * and control characters are escaped (\n, \t, ... or \u00XX), other bytes
 * (including UTF-8 sequences, which the caller must have validated) are
 * copied.  Writes at most cap bytes and no NUL.  Returns the length the
 * full escaped form needs; if that is > cap the output is incomplete.
 */
size_t cnx_json_escape(char *out, size_t cap, const char *s, size_t n);


/*
 * Builder over a caller buffer.  Commas and colons are inserted
 * automatically; once anything does not fit, the builder records the
 * failure and cnx_json_buf_finish() returns -1.  Example:
 *
 *     cnx_json_buf_t b;
 *     cnx_json_buf_init(&b, out, sizeof(out));
 *     cnx_json_buf_obj_open(&b);
 *     cnx_json_buf_key(&b, "type");  cnx_json_buf_cstr(&b, "PONG");
 *     cnx_json_buf_obj_close(&b);
 *     len = cnx_json_buf_finish(&b);      // {"type":"PONG"}
 */
typedef struct {
    char        *p;
    size_t       len;
    size_t       cap;
    uint32_t     first;     /* bit d: nothing emitted yet at depth d */
    uint8_t      depth;
    uint8_t      after_key;
    uint8_t      err;
} cnx_json_buf_t;

void cnx_json_buf_init(cnx_json_buf_t *b, char *mem, size_t cap);
void cnx_json_buf_obj_open(cnx_json_buf_t *b);
void cnx_json_buf_obj_close(cnx_json_buf_t *b);
void cnx_json_buf_arr_open(cnx_json_buf_t *b);
void cnx_json_buf_arr_close(cnx_json_buf_t *b);
/* A member name (NUL-terminated, escaped as needed) followed by ':'. */
void cnx_json_buf_key(cnx_json_buf_t *b, const char *key);
/* A string value: quoted, s[0..n) escaped. */
void cnx_json_buf_str(cnx_json_buf_t *b, const char *s, size_t n);
/* Same for a NUL-terminated string. */
void cnx_json_buf_cstr(cnx_json_buf_t *b, const char *s);
/* A string value whose content is ALREADY escaped JSON (copied verbatim
 * between quotes), e.g. a payload slice forwarded by the relay. */
void cnx_json_buf_str_escaped(cnx_json_buf_t *b, const char *s, size_t n);
void cnx_json_buf_int(cnx_json_buf_t *b, int64_t v);
void cnx_json_buf_bool(cnx_json_buf_t *b, int v);
void cnx_json_buf_null(cnx_json_buf_t *b);
/* Raw JSON text inserted as one value (caller guarantees validity). */
void cnx_json_buf_raw(cnx_json_buf_t *b, const char *s, size_t n);
/*
 * Returns the length written, NUL-terminating when there is room (the
 * NUL is not counted), or -1 if anything overflowed, nesting was
 * unbalanced or deeper than 32.
 */
int cnx_json_buf_finish(cnx_json_buf_t *b);

#endif
