/*
 * SipHash-2-4 (Aumasson and Bernstein), the keyed hash the kernel uses for
 * initial sequence numbers, SYN cookies and port offsets
 * (lib/siphash.c): short inputs, secret 128-bit key, safe against an
 * attacker who chooses the input.
 */
#ifndef NS_CORE_SIPHASH_H
#define NS_CORE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t key[2];
} siphash_key_t;

uint64_t siphash(const void *data, size_t len, const siphash_key_t *key);

/* Fill @key from the system's random source (getrandom). */
void siphash_key_init(siphash_key_t *key);

#endif
