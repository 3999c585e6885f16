/*
 * Incremental UTF-8 validation (RFC 3629): overlong forms, UTF-16
 * surrogates (U+D800..U+DFFF) and code points above U+10FFFF are rejected.
 * The state carries across buffers, so a sequence split between two
 * WebSocket fragments is validated correctly.
 */

#ifndef CNX_UTF8_H
#define CNX_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Between characters: everything so far is valid and complete. */
#define CNX_UTF8_ACCEPT  0u
/* Invalid input seen; sticky (feeding more bytes keeps it REJECT). */
#define CNX_UTF8_REJECT  1u
/* Any other value means "inside a multi-byte sequence". */

/*
 * Feed n bytes starting in state (CNX_UTF8_ACCEPT for a new text) and
 * return the new state.  At the end of the text the state must be
 * CNX_UTF8_ACCEPT; a different non-REJECT value means the text ended in
 * the middle of a character.  The function may return REJECT as soon as
 * the first bad byte is seen.
 */
uint32_t cnx_utf8_step(uint32_t state, const uint8_t *p, size_t n);

/* 1 if the n bytes are complete, valid UTF-8; 0 otherwise. */
int cnx_utf8_valid(const uint8_t *p, size_t n);

#endif
