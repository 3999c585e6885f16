/*
 * Base64 (RFC 4648 section 4, padded, strict), base64url (section 5, no
 * padding) and hex, over libsodium's constant-time codecs.  One interface
 * for the whole tree: JWT, session v1 payloads, WireGuard keys,
 * Sec-WebSocket-Key/Accept.
 */

#ifndef CNX_BASE64_H
#define CNX_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters produced by the padded encoder for n input bytes (no NUL). */
#define CNX_BASE64_ENCODED_LEN(n)     ((((n) + 2) / 3) * 4)

/* Characters produced by the unpadded base64url encoder (no NUL). */
#define CNX_BASE64URL_ENCODED_LEN(n)  (((n) / 3) * 4 + (((n) % 3) * 4 + 2) / 3)

/* Upper bound of decoded bytes for n input characters (either alphabet). */
#define CNX_BASE64_DECODED_MAX(n)     (((n) / 4) * 3 + 3)

/*
 * Encode n bytes of in as padded standard base64 into out and
 * NUL-terminate.  cap must be at least CNX_BASE64_ENCODED_LEN(n) + 1.
 * Returns the length written (without the NUL), or -1 if out is too small
 * or the result would not fit an int.
 */
int cnx_base64_encode(char *out, size_t cap, const uint8_t *in, size_t n);

/*
 * Decode padded standard base64.  Strict: the length must be a multiple
 * of 4, padding only at the end and only as needed, no whitespace, no
 * characters outside the alphabet, and unused bits of the last character
 * must be zero (so every byte string has exactly one accepted encoding).
 * Returns the number of bytes written to out, or -1 on malformed input or
 * if cap is too small.
 */
int cnx_base64_decode(uint8_t *out, size_t cap, const char *in, size_t n);

/*
 * base64url without padding (as JWT uses), NUL-terminated.  cap must be at
 * least CNX_BASE64URL_ENCODED_LEN(n) + 1.  Returns length or -1.
 */
int cnx_base64url_encode(char *out, size_t cap, const uint8_t *in, size_t n);

/*
 * Decode unpadded base64url.  Rejects '=', '+', '/', a length of 1 mod 4,
 * and nonzero unused bits.  Returns bytes written or -1.
 */
int cnx_base64url_decode(uint8_t *out, size_t cap, const char *in, size_t n);

/* Characters produced by the hex encoder for n input bytes (no NUL). */
#define CNX_HEX_ENCODED_LEN(n)        ((n) * 2)

/*
 * Lowercase hex, NUL-terminated.  cap must be at least
 * CNX_HEX_ENCODED_LEN(n) + 1.  Returns the length or -1.
 */
int cnx_hex_encode(char *out, size_t cap, const uint8_t *in, size_t n);

/*
 * Decode hex (either case): an even number of hex digits and nothing
 * else.  Returns bytes written or -1 (malformed, or cap too small).
 */
int cnx_hex_decode(uint8_t *out, size_t cap, const char *in, size_t n);

#endif
