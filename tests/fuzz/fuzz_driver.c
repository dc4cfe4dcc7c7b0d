/*
 * A plain driver for the fuzz entry points, for make check: replays any
 * files named on the command line, then builds valid seed frames (ARP
 * request, ICMP echo, UDP datagram, IP with options, fragments that
 * complete an echo request, a UDP fragment with options) and feeds
 * FUZZ_ITERATIONS deterministic mutations of them (byte flips, truncation,
 * extension, field smashing, with checksums fixed up half of the time so
 * that mutations reach past the checksum checks).  Exit status 0 means no
 * crash; ASan/UBSan/LSan report everything else.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static uint16_t csum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static size_t eth(uint8_t *f, uint16_t type)
{
	memcpy(f, fuzz_our_mac, 6);
	memcpy(f + 6, fuzz_peer_mac, 6);
	put16(f + 12, type);
	return 14;
}

/* Recompute the IPv4 header and ICMP/UDP checksums of frame @f. */
static void fix_checksums(uint8_t *f, size_t n)
{
	size_t ihl, tot;
	uint8_t *ip = f + 14;

	if (n < 34 || f[12] != 0x08 || f[13] != 0x00)
		return;
	ihl = (size_t)(ip[0] & 15) * 4;
	if (ihl < 20 || 14 + ihl > n)
		return;
	put16(ip + 10, 0);
	put16(ip + 10, csum(ip, ihl, 0));
	tot = (size_t)(ip[2] << 8 | ip[3]);
	if (tot < ihl || 14 + tot > n)
		return;
	if (ip[9] == 1 && tot - ihl >= 4) {
		put16(ip + ihl + 2, 0);
		put16(ip + ihl + 2, csum(ip + ihl, tot - ihl, 0));
	} else if (ip[9] == 17 && tot - ihl >= 8) {
		uint32_t ph = 0;

		for (int i = 12; i < 20; i += 2)
			ph += (uint32_t)(ip[i] << 8 | ip[i + 1]);
		ph += 17 + (uint32_t)(tot - ihl);
		put16(ip + ihl + 6, 0);
		put16(ip + ihl + 6, csum(ip + ihl, tot - ihl, ph));
	}
}

static size_t seed_ip(uint8_t *f, uint8_t proto, const uint8_t *l4, size_t l4len, size_t optlen)
{
	size_t n = eth(f, 0x0800), ihl = 20 + optlen;
	uint8_t *ip = f + n;

	memset(ip, 0, ihl);
	ip[0] = (uint8_t)(0x40 | (ihl / 4));
	put16(ip + 2, (uint16_t)(ihl + l4len));
	put16(ip + 4, 0x1234);
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, FUZZ_PEER_IP);
	put32(ip + 16, FUZZ_OUR_IP);
	if (optlen) {
		ip[20] = 7;     /* record route */
		ip[21] = (uint8_t)optlen;
		ip[22] = 4;
	}
	memcpy(ip + ihl, l4, l4len);
	n += ihl + l4len;
	fix_checksums(f, n);
	return n;
}

/* An IPv4 fragment of datagram @id: @len bytes at @offset (bytes), MF if @mf. */
static size_t seed_frag(uint8_t *f, uint8_t proto, uint16_t id, size_t offset, bool mf,
			const uint8_t *l4, size_t len, size_t optlen)
{
	size_t n = seed_ip(f, proto, l4, len, optlen);

	put16(f + 14 + 4, id);
	put16(f + 14 + 6, (uint16_t)((offset / 8) | (mf ? 0x2000 : 0)));
	fix_checksums(f, n);
	return n;
}

/* Options: timestamp (address and time), router alert, security, NOOP, END. */
static size_t seed_options(uint8_t *f, const uint8_t *l4, size_t l4len)
{
	static const uint8_t opts[] = { 68, 12, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0,
					148, 4, 0, 0, 130, 4, 0, 0, 1, 0, 0, 0 };
	size_t n = seed_ip(f, 1, l4, l4len, sizeof(opts));

	memcpy(f + 14 + 20, opts, sizeof(opts));
	fix_checksums(f, n);
	return n;
}

#define NSEEDS 9

static size_t make_seed(unsigned int which, uint8_t *f)
{
	uint8_t l4[64];
	size_t n;

	memset(l4, 0xa5, sizeof(l4));
	switch (which % NSEEDS) {
	case 0: /* ARP request for our address */
		n = eth(f, 0x0806);
		put16(f + n, 1);
		put16(f + n + 2, 0x0800);
		f[n + 4] = 6;
		f[n + 5] = 4;
		put16(f + n + 6, 1);
		memcpy(f + n + 8, fuzz_peer_mac, 6);
		put32(f + n + 14, FUZZ_PEER_IP);
		memset(f + n + 18, 0, 6);
		put32(f + n + 24, FUZZ_OUR_IP);
		return n + 28;
	case 1: /* ICMP echo */
		l4[0] = 8;
		l4[1] = 0;
		return seed_ip(f, 1, l4, 40, 0);
	case 2: /* UDP datagram to port 7 */
		put16(l4, 4000);
		put16(l4 + 2, 7);
		put16(l4 + 4, 40);
		return seed_ip(f, 17, l4, 40, 0);
	case 3: /* ICMP port unreachable quoting a UDP datagram we sent */
		memset(l4, 0, sizeof(l4));
		l4[0] = 3;
		l4[1] = 3;
		l4[8] = 0x45;
		put16(l4 + 10, 48);
		l4[17] = 17;
		put32(l4 + 20, FUZZ_OUR_IP);
		put32(l4 + 24, FUZZ_PEER_IP);
		put16(l4 + 28, 4000);
		put16(l4 + 30, 7);
		return seed_ip(f, 1, l4, 36, 0);
	case 4: /* IP with options, unknown protocol */
		return seed_ip(f, 253, l4, 16, 8);
	case 5: /* the first fragment of an ICMP echo ... */
		l4[0] = 8;
		l4[1] = 0;
		return seed_frag(f, 1, 0x2222, 0, true, l4, 48, 0);
	case 6: /* ... and its last, which completes it */
		return seed_frag(f, 1, 0x2222, 48, false, l4, 24, 0);
	case 7: /* a middle fragment of a UDP datagram, with a record route */
		return seed_frag(f, 17, 0x3333, 1480, true, l4, 64, 8);
	default: /* an echo request with several options */
		l4[0] = 8;
		l4[1] = 0;
		return seed_options(f, l4, 40);
	}
}

static size_t mutate(uint8_t *f, size_t n, size_t cap)
{
	unsigned int rounds = 1 + next_rand() % 4;

	for (unsigned int r = 0; r < rounds; r++) {
		switch (next_rand() % 6) {
		case 0: /* flip a bit */
			if (n)
				f[next_rand() % n] ^= (uint8_t)(1u << (next_rand() % 8));
			break;
		case 1: /* random byte */
			if (n)
				f[next_rand() % n] = (uint8_t)next_rand();
			break;
		case 2: /* truncate */
			n = n ? next_rand() % (n + 1) : 0;
			break;
		case 3: /* extend with random bytes */
		{
			size_t add = next_rand() % 64;

			if (n + add > cap)
				add = cap - n;
			for (size_t i = 0; i < add; i++)
				f[n + i] = (uint8_t)next_rand();
			n += add;
			break;
		}
		case 4: /* smash a header field with an interesting value */
		{
			static const uint8_t vals[] = { 0, 1, 4, 5, 0x0f, 0x40, 0x45, 0x4f, 0x7f,
							0x80, 0xfe, 0xff };

			if (n > 14)
				f[14 + next_rand() % (n - 14 < 40 ? n - 14 : 40)] =
					vals[next_rand() % sizeof(vals)];
			break;
		}
		default: /* swap in another destination MAC class */
			if (n >= 6)
				memset(f, (next_rand() & 1) ? 0xff : 0x01, 6);
			break;
		}
	}
	if (next_rand() & 1)
		fix_checksums(f, n);
	return n;
}

static int run_file(const char *path)
{
	uint8_t buf[9100];
	size_t n;
	FILE *fp = fopen(path, "rb");

	if (!fp) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *it = getenv("FUZZ_ITERATIONS");
	unsigned long iterations = it ? strtoul(it, NULL, 10) : 20000;
	uint8_t f[9100];

	for (int i = 1; i < argc; i++)
		if (run_file(argv[i]) < 0)
			return 1;
	for (unsigned long i = 0; i < iterations; i++) {
		size_t n = make_seed((unsigned int)i, f);

		if (i >= NSEEDS) /* the first round of seeds runs unmutated */
			n = mutate(f, n, sizeof(f));
		LLVMFuzzerTestOneInput(f, n);
	}
	printf("fuzz_rx: %lu inputs, %lu frames sent by the stack\n", iterations,
	       fuzz_frames_sent());
	fuzz_cleanup();
	return 0;
}
