/*
 * What every libFuzzer target in tests/fuzz/ shares: the entry points libFuzzer calls, and a
 * NUL-terminated copy of the input for parsers that take C strings. Each target is one
 * fuzz_<name>.c calling one parser (see `make fuzz` and docs/operations.md, "Fuzzing").
 * A broken invariant aborts (FUZZ_ASSERT), which libFuzzer reports as a crash with the input.
 */
#ifndef STRATA_FUZZ_H
#define STRATA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Aborts with the condition's text when it does not hold. */
#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The input as a C string (malloc'd: the caller frees it), cut at its first NUL: parsers that
 * take a string see what a header or a query parameter could hold. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
