/*
 * SipHash-2-4, written from the paper ("SipHash: a fast short-input PRF",
 * 2012): 64-bit state words v0..v3, two compression rounds per 8-byte
 * block, four finalisation rounds.
 */
#include <string.h>
#include <sys/random.h>

#include "core/siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                 \
	do {                                                                     \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);        \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                           \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                           \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);        \
	} while (0)

static uint64_t load_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t siphash(const void *data, size_t len, const siphash_key_t *key)
{
	const unsigned char *p = data;
	uint64_t k0 = key->key[0], k1 = key->key[1];
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56;
	size_t left = len & 7;
	const unsigned char *end = p + len - left;
	unsigned char tail[8] = { 0 };

	for (; p != end; p += 8) {
		uint64_t m = load_le64(p);

		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	memcpy(tail, p, left);
	b |= load_le64(tail);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void siphash_key_init(siphash_key_t *key)
{
	if (getrandom(key, sizeof(*key), 0) != (ssize_t)sizeof(*key)) {
		/* No entropy source: still distinct per run, never constant. */
		key->key[0] = (uint64_t)(uintptr_t)key ^ 0x9e3779b97f4a7c15ull;
		key->key[1] = (uint64_t)(uintptr_t)&siphash ^ 0xbf58476d1ce4e5b9ull;
	}
}
