/*
 * cnx_random: randomness from libsodium (randombytes_buf, the kernel's
 * getrandom underneath).
 */

#ifndef CNX_RANDOM_H
#define CNX_RANDOM_H

#include <stddef.h>

void cnx_random(void *buf, size_t len);

#endif
