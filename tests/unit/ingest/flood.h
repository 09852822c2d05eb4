/*
 * Hash-flooding inputs for the ingest parsers' tests: names that all fall into one bucket of a
 * power-of-two table (up to 65536 buckets) under FNV-1a, the unkeyed hash those tables used.
 *
 * The low 16 bits of FNV-1a (32 or 64 bits wide) depend only on the low 16 bits of the state
 * and the next byte, since xor touches the low byte and multiplication modulo 2^16 ignores the
 * high bits. So from any state two 3-character blocks can be found (there are 238,328 of them
 * for 65,536 states) that lead to the same next state, and k such pairs in a row give 2^k names
 * of equal length that agree on the low 16 bits. flood_check recomputes FNV-1a to prove it.
 */
#ifndef STRATA_TEST_FLOOD_H
#define STRATA_TEST_FLOOD_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strata/core.h"

#define FLOOD_STEPS 15 /* 2^15 = 32768 names */
#define FLOOD_LEN   (1 + 3 * FLOOD_STEPS)

static const char flood_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* The two blocks of each step, for FNV-1a whose basis and prime have these low 16 bits. */
struct flood {
	char block[FLOOD_STEPS][2][3];
};

static inline uint16_t
flood_step(uint16_t h, const char *s, size_t n, uint16_t prime)
{
	for (size_t i = 0; i < n; i++)
		h = (uint16_t)((uint16_t)(h ^ (unsigned char)s[i]) * prime);
	return h;
}

static inline void
flood_init(struct flood *f, char prefix, uint16_t basis, uint16_t prime)
{
	uint32_t *seen = calloc(65536, sizeof(*seen));
	uint16_t h = flood_step(basis, &prefix, 1, prime);

	for (int k = 0; k < FLOOD_STEPS; k++) {
		memset(seen, 0, 65536 * sizeof(*seen));
		for (uint32_t b = 0;; b++) {
			char blk[3] = { flood_alphabet[b % 62], flood_alphabet[b / 62 % 62],
					flood_alphabet[b / 3844 % 62] };
			uint16_t next = flood_step(h, blk, 3, prime);

			if (seen[next] != 0) {
				uint32_t a = seen[next] - 1;

				f->block[k][0][0] = flood_alphabet[a % 62];
				f->block[k][0][1] = flood_alphabet[a / 62 % 62];
				f->block[k][0][2] = flood_alphabet[a / 3844 % 62];
				memcpy(f->block[k][1], blk, 3);
				h = next;
				break;
			}
			seen[next] = b + 1;
		}
	}
	free(seen);
}

/* Name number i (< 2^FLOOD_STEPS) into buf (>= FLOOD_LEN + 1 bytes). */
static inline void
flood_name(const struct flood *f, char prefix, unsigned i, char *buf)
{
	buf[0] = prefix;
	for (int k = 0; k < FLOOD_STEPS; k++)
		memcpy(buf + 1 + 3 * k, f->block[k][(i >> k) & 1], 3);
	buf[FLOOD_LEN] = '\0';
}

/* The low 16 bits of the old tables' FNV-1a: readings_parse.c's 32-bit one (basis 2166136261,
 * prime 16777619) and results_parse.c's 64-bit one (prime 1099511628211, its basis written
 * 1469598103934665603, a digit short of the standard one: no safer for it). */
#define FLOOD_FNV32 0x9dc5, 0x0193
#define FLOOD_FNV64 0x0383, 0x01b3

/* The old tables' FNV-1a, in full, to check that the names do collide. */
static inline uint32_t
flood_fnv32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static inline uint64_t
flood_fnv64(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Asserts that the first rows names of f (after prefix) are distinct and share the low 16 bits
 * of the old hash fnv (flood_fnv32_wide or flood_fnv64), sampling every 997th against the
 * first. */
static inline void
flood_assert_collide(const struct flood *f, char prefix, unsigned rows,
		     uint64_t (*fnv)(const char *))
{
	char a[FLOOD_LEN + 1], z[FLOOD_LEN + 1];

	flood_name(f, prefix, 0, a);
	for (unsigned i = 1; i < rows; i += 997) {
		flood_name(f, prefix, i, z);
		ck_assert_str_ne(a, z);
		ck_assert(((fnv(a) ^ fnv(z)) & 0xffff) == 0);
	}
}

static inline uint64_t
flood_fnv32_wide(const char *s)
{
	return flood_fnv32(s);
}

/* The fastest of three runs of parse over body, in microseconds: the run least disturbed by
 * the rest of the machine. parse asserts what it parsed itself. */
static inline int64_t
flood_best_us(void (*parse)(const char *body, size_t len), const char *body, size_t len)
{
	int64_t best = INT64_MAX;

	for (int k = 0; k < 3; k++) {
		int64_t t0 = st_now_mono_us(), t;

		parse(body, len);
		t = st_now_mono_us() - t0;
		best = t < best ? t : best;
	}
	return best;
}

/* Asserts that the crafted input costs at most a small factor more than the ordinary one. */
static inline void
flood_assert_alike(void (*parse)(const char *body, size_t len), const char *crafted, size_t clen,
		   const char *ordinary, size_t olen)
{
	int64_t to = flood_best_us(parse, ordinary, olen);
	int64_t tc = flood_best_us(parse, crafted, clen);

	ck_assert_msg(tc < 5 * to + 20000, "crafted %lld us, ordinary %lld us", (long long)tc,
		      (long long)to);
}

#endif
