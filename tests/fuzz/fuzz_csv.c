/*
 * The streaming CSV reader (libcommon csv.c): st_csv_feed / st_csv_next over the input fed
 * whole, byte by byte and in pieces of 5, under the options the first byte picks. However the
 * bytes arrive, the records, their lines and fields, and the errors must be the same.
 */
#include "fuzz.h"
#include "strata/csv.h"

static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const unsigned char *)p)[i]) * UINT64_C(1099511628211);
	return h;
}

static uint64_t
read_all(const char *in, size_t n, size_t step, unsigned flags)
{
	struct st_csv r;
	struct st_csv_record rec;
	enum st_csv_status s;
	size_t off = 0, calls = 0;
	uint64_t h = UINT64_C(14695981039346656037);
	char err[128];

	st_csv_init(&r, &(struct st_csv_conf){ .field_max = 32, .fields_max = 8, .flags = flags });
	while ((s = st_csv_next(&r, &rec, err, sizeof(err))) != ST_CSV_END) {
		FUZZ_ASSERT(++calls <= 4 * n + 16);
		if (s == ST_CSV_NEED_MORE && off < n) {
			size_t k = n - off < step ? n - off : step;

			st_csv_feed(&r, in + off, k);
			off += k;
		} else if (s == ST_CSV_NEED_MORE) {
			st_csv_finish(&r);
		} else if (s == ST_CSV_ERROR) {
			h = mix(h, err, strlen(err));
		} else {
			FUZZ_ASSERT(rec.n >= 1 && rec.n <= 8);
			h = mix(h, &rec.line, sizeof(rec.line));
			for (size_t i = 0; i < rec.n; i++) {
				FUZZ_ASSERT(rec.f[i].len <= 32 && rec.f[i].s[rec.f[i].len] == '\0');
				h = mix(h, rec.f[i].s, rec.f[i].len + 1);
				h = mix(h, &rec.f[i].quoted, sizeof(rec.f[i].quoted));
			}
		}
	}
	st_csv_cleanup(&r);
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned flags = size > 0 ? data[0] & (ST_CSV_TRIM | ST_CSV_SKIP_BLANK) : 0;
	const char *in = size > 0 ? (const char *)data + 1 : "";
	size_t n = size > 0 ? size - 1 : 0;
	uint64_t whole = read_all(in, n, n + 1, flags);

	FUZZ_ASSERT(read_all(in, n, 1, flags) == whole);
	FUZZ_ASSERT(read_all(in, n, 5, flags) == whole);
	return 0;
}
