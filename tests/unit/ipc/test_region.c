/*
 * Unit tests for daemon/ipc/region.c: the sealed memfd a client maps, its
 * header, and the page allocator over it.
 *
 * Each case creates small regions (1 MiB: 255 allocatable pages, so runs
 * cross bitmap words) and checks what a client and the socket layer rely
 * on: the seals, the header, contiguous zeroed runs that never overlap,
 * ENOBUFS when full, space coming back on free, and daemon_alive.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc/region.h"
#include "proto/shm.h"

#define MB (1ull << 20)
#define PAGES_1MB (MB / NS_SHM_PAGE - 1)

static void test_create_seals_and_header(void **state)
{
	struct ns_region *r;
	struct ns_shm_hdr *hdr;
	struct stat st;
	int seals;

	(void)state;
	r = region_create(MB, NULL, 0);
	assert_non_null(r);
	assert_true(region_fd(r) >= 0);
	assert_int_equal(fstat(region_fd(r), &st), 0);
	assert_int_equal(st.st_size, MB);
	assert_true(fcntl(region_fd(r), F_GETFD) & FD_CLOEXEC);
	seals = fcntl(region_fd(r), F_GET_SEALS);
	assert_true(seals & F_SEAL_SHRINK);
	assert_true(seals & F_SEAL_GROW);
	assert_true(seals & F_SEAL_SEAL);
	/* The client cannot resize the file nor add seals. */
	assert_int_equal(ftruncate(region_fd(r), 2 * MB), -1);
	assert_int_equal(ftruncate(region_fd(r), MB / 2), -1);
	assert_int_equal(fcntl(region_fd(r), F_ADD_SEALS, F_SEAL_WRITE), -1);

	hdr = region_base(r);
	assert_int_equal(hdr->magic, NS_SHM_MAGIC);
	assert_int_equal(hdr->version, NS_SHM_LAYOUT_VERSION);
	assert_int_equal(hdr->size, MB);
	assert_int_equal(atomic_load(&hdr->daemon_alive), 1);
	assert_int_equal(region_size(r), MB);
	assert_int_equal(region_used(r), NS_SHM_PAGE);
	region_put(r);
}

static void test_create_bad_size(void **state)
{
	char err[128] = "";

	(void)state;
	errno = 0;
	assert_null(region_create(MB + 1, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_true(err[0] != '\0');
	assert_null(region_create(REGION_MIN_SIZE - NS_SHM_PAGE, NULL, 0));
	assert_null(region_create(REGION_MAX_SIZE + NS_SHM_PAGE, NULL, 0));
}

/* A second mapping of the memfd, as the client makes, sees the same bytes. */
static void test_client_mapping_shares(void **state)
{
	struct ns_region *r = region_create(MB, NULL, 0);
	unsigned char *client;
	uint64_t off;

	(void)state;
	assert_non_null(r);
	client = mmap(NULL, MB, PROT_READ | PROT_WRITE, MAP_SHARED, region_fd(r), 0);
	assert_true(client != MAP_FAILED);
	assert_int_equal(((struct ns_shm_hdr *)client)->magic, NS_SHM_MAGIC);
	assert_int_equal(region_alloc(r, NS_SHM_PAGE, &off), 0);
	((unsigned char *)region_base(r))[off] = 0x5a;
	assert_int_equal(client[off], 0x5a);
	client[off + 1] = 0xa5;
	assert_int_equal(((unsigned char *)region_base(r))[off + 1], 0xa5);
	region_free(r, off, NS_SHM_PAGE);
	munmap(client, MB);
	region_put(r);
}

static void test_alloc_contiguous_no_overlap(void **state)
{
	struct ns_region *r = region_create(MB, NULL, 0);
	uint64_t a, b, c;

	(void)state;
	assert_non_null(r);
	assert_int_equal(region_alloc(r, NS_SHM_PAGE, &a), 0);
	assert_int_equal(a, NS_SHM_PAGE);          /* right after the header */
	assert_int_equal(region_alloc(r, 64 * 1024, &b), 0);
	assert_int_equal(b, 2 * NS_SHM_PAGE);
	assert_int_equal(region_alloc(r, 100, &c), 0);   /* rounded to a page */
	assert_int_equal(c, b + 64 * 1024);
	assert_int_equal(region_used(r), (1 + 1 + 16 + 1) * NS_SHM_PAGE);
	region_free(r, b, 64 * 1024);
	assert_int_equal(region_used(r), 3 * NS_SHM_PAGE);
	/* First fit: the hole is reused. */
	assert_int_equal(region_alloc(r, 8 * NS_SHM_PAGE, &b), 0);
	assert_int_equal(b, 2 * NS_SHM_PAGE);
	region_free(r, a, NS_SHM_PAGE);
	region_free(r, b, 8 * NS_SHM_PAGE);
	region_free(r, c, 100);
	assert_int_equal(region_used(r), NS_SHM_PAGE);
	region_put(r);
}

static void test_alloc_zeroes(void **state)
{
	struct ns_region *r = region_create(MB, NULL, 0);
	static const uint64_t sizes[] = { NS_SHM_PAGE, 3 * NS_SHM_PAGE, 256 * 1024 };
	unsigned char *base;
	size_t i;

	(void)state;
	assert_non_null(r);
	base = region_base(r);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t off, off2, j;

		assert_int_equal(region_alloc(r, sizes[i], &off), 0);
		memset(base + off, 0xee, sizes[i]);
		region_free(r, off, sizes[i]);
		/* A client may scribble on free pages too. */
		memset(base + off, 0xdd, sizes[i]);
		assert_int_equal(region_alloc(r, sizes[i], &off2), 0);
		assert_int_equal(off2, off);
		for (j = 0; j < sizes[i]; j++)
			if (base[off2 + j])
				fail_msg("byte %llu of a %llu-byte run not zero",
					 (unsigned long long)j, (unsigned long long)sizes[i]);
		region_free(r, off2, sizes[i]);
	}
	region_put(r);
}

static void test_full_enobufs(void **state)
{
	struct ns_region *r = region_create(MB, NULL, 0);
	uint64_t offs[PAGES_1MB], off;
	size_t i;

	(void)state;
	assert_non_null(r);
	assert_int_equal(region_alloc(r, MB, &off), -ENOBUFS);
	assert_int_equal(region_alloc(r, 0, &off), -EINVAL);
	for (i = 0; i < PAGES_1MB; i++)
		assert_int_equal(region_alloc(r, NS_SHM_PAGE, &offs[i]), 0);
	assert_int_equal(region_used(r), MB);
	assert_int_equal(region_alloc(r, NS_SHM_PAGE, &off), -ENOBUFS);

	/* Every other page free: 128 pages free, but no run of two. */
	for (i = 0; i < PAGES_1MB; i += 2)
		region_free(r, offs[i], NS_SHM_PAGE);
	assert_int_equal(region_alloc(r, 2 * NS_SHM_PAGE, &off), -ENOBUFS);
	/* Freeing a neighbour makes a run of three (it crosses a bitmap word). */
	region_free(r, offs[63], NS_SHM_PAGE);
	assert_int_equal(region_alloc(r, 3 * NS_SHM_PAGE, &off), 0);
	assert_int_equal(off, offs[62]);
	region_free(r, off, 3 * NS_SHM_PAGE);
	for (i = 1; i < PAGES_1MB; i += 2)
		if (i != 63)
			region_free(r, offs[i], NS_SHM_PAGE);
	assert_int_equal(region_used(r), NS_SHM_PAGE);
	/* Everything free again: the whole region in one run. */
	assert_int_equal(region_alloc(r, PAGES_1MB * NS_SHM_PAGE, &off), 0);
	assert_int_equal(off, NS_SHM_PAGE);
	region_free(r, off, PAGES_1MB * NS_SHM_PAGE);
	region_put(r);
}

/* Random allocations and frees against a model: no overlaps, exact accounting. */
static void test_random_against_model(void **state)
{
	struct ns_region *r = region_create(MB, NULL, 0);
	struct { uint64_t off, pages; } live[64];
	unsigned char owner[PAGES_1MB + 1];
	size_t nlive = 0, used = 0, i, k;
	unsigned int seed = 12345;

	(void)state;
	assert_non_null(r);
	memset(owner, 0, sizeof(owner));
	for (i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		if (nlive < 64 && ((seed >> 16) & 1)) {
			uint64_t pages = 1u << ((seed >> 8) % 6), off, p, expect = 0, run = 0;
			int ret = region_alloc(r, pages * NS_SHM_PAGE, &off);

			/* The model's first fit: the lowest run of free pages. */
			for (p = 1; p <= PAGES_1MB && !expect; p++) {
				run = owner[p] ? 0 : run + 1;
				if (run == pages)
					expect = p - pages + 1;
			}
			if (ret) {
				assert_int_equal(ret, -ENOBUFS);
				assert_int_equal(expect, 0);
				continue;
			}
			assert_int_equal(off, expect * NS_SHM_PAGE);
			for (p = off / NS_SHM_PAGE; p < off / NS_SHM_PAGE + pages; p++) {
				assert_true(p >= 1 && p <= PAGES_1MB);
				assert_int_equal(owner[p], 0);
				owner[p] = 1;
			}
			live[nlive].off = off;
			live[nlive].pages = pages;
			nlive++;
			used += pages;
		} else if (nlive) {
			uint64_t p;

			k = (seed >> 4) % nlive;
			region_free(r, live[k].off, live[k].pages * NS_SHM_PAGE);
			for (p = live[k].off / NS_SHM_PAGE; p < live[k].off / NS_SHM_PAGE + live[k].pages; p++)
				owner[p] = 0;
			used -= live[k].pages;
			live[k] = live[--nlive];
		}
		assert_int_equal(region_used(r), (used + 1) * NS_SHM_PAGE);
	}
	while (nlive--)
		region_free(r, live[nlive].off, live[nlive].pages * NS_SHM_PAGE);
	assert_int_equal(region_used(r), NS_SHM_PAGE);
	region_put(r);
}

/*
 * The default region is large and sparse (client_shm_mb 8192): it maps,
 * and thousands of sockets' runs placed in a row land back to back at the
 * front (the search starts at the first free page, it does not rescan).
 */
static void test_large_region(void **state)
{
	struct ns_region *r = region_create(8192 * MB, NULL, 0);
	static uint64_t offs[3000][3];
	const uint64_t sizes[3] = { NS_SHM_PAGE, 128 * NS_SHM_PAGE, 64 * NS_SHM_PAGE };
	uint64_t expect = NS_SHM_PAGE, off;
	size_t i, j;

	(void)state;
	assert_non_null(r);
	assert_int_equal(region_size(r), 8192 * MB);
	for (i = 0; i < 3000; i++)
		for (j = 0; j < 3; j++) {
			assert_int_equal(region_alloc(r, sizes[j], &offs[i][j]), 0);
			assert_int_equal(offs[i][j], expect);
			expect += sizes[j];
		}
	assert_int_equal(region_used(r), expect);
	/* A hole near the front is found again, then the end of the fill. */
	region_free(r, offs[10][1], sizes[1]);
	assert_int_equal(region_alloc(r, sizes[2], &off), 0);
	assert_int_equal(off, offs[10][1]);
	assert_int_equal(region_alloc(r, sizes[1], &off), 0);
	assert_int_equal(off, expect);
	region_free(r, off, sizes[1]);
	region_free(r, offs[10][1], sizes[2]);
	offs[10][1] = 0;
	for (i = 0; i < 3000; i++)
		for (j = 0; j < 3; j++)
			if (offs[i][j])
				region_free(r, offs[i][j], sizes[j]);
	assert_int_equal(region_used(r), NS_SHM_PAGE);
	region_put(r);
}

static void test_refcount_and_mark_dead(void **state)
{
	struct ns_region *a = region_create(MB, NULL, 0);
	struct ns_region *b = region_create(2 * MB, NULL, 0);
	struct ns_shm_hdr *ha, *hb;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	ha = region_base(a);
	hb = region_base(b);
	region_get(a);
	region_put(a);                  /* still one reference */
	assert_int_equal(ha->magic, NS_SHM_MAGIC);
	region_mark_all_dead();
	assert_int_equal(atomic_load(&ha->daemon_alive), 0);
	assert_int_equal(atomic_load(&hb->daemon_alive), 0);
	region_put(a);
	region_put(b);
	region_put(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_seals_and_header),
		cmocka_unit_test(test_create_bad_size),
		cmocka_unit_test(test_client_mapping_shares),
		cmocka_unit_test(test_alloc_contiguous_no_overlap),
		cmocka_unit_test(test_alloc_zeroes),
		cmocka_unit_test(test_full_enobufs),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_large_region),
		cmocka_unit_test(test_refcount_and_mark_dead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
