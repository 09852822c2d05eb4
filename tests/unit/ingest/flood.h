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

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

#endif
