/*
 * Unit tests for the pure parts of httpc.c: which methods may be retried, the back-off
 * schedule (doubling per attempt, +-25% jitter supplied by the caller, never above 10 s),
 * when a streamed exchange whose upload failed still counts as answered, the status and
 * header lines of a streamed answer, the chunked decoder (fed whole, byte by byte and split
 * anywhere, with extensions, trailers, and every kind of bad framing: bare LF, too many
 * trailers), whole response heads and how their body is framed (both Transfer-Encoding and
 * Content-Length), the splitting of http:// URLs, and the request head the client's own
 * sockets send (caller's lines with CR or LF dropped, a bad request id replaced). No request
 * is made.
 */
#include <check.h>
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httpc_int.h"
#include "strata/httpc.h"
#include "strata/request_id.h"

Suite *httpc_suite(void);

static const struct {
	const char *method;
	bool idempotent;
} methods[] = {
	{ "GET", true },     { "HEAD", true },  { "PUT", true },    { "DELETE", true },
	{ "OPTIONS", true }, { "POST", false }, { "PATCH", false }, { "CONNECT", false },
	{ "TRACE", false },  { "get", false },  { "Get", false },   { "", false },
	{ "GETX", false },   { "GE", false },   { "GET ", false },  { " GET", false },
};

START_TEST(idempotent_table)
{
	ck_assert_msg(st_httpc_idempotent(methods[_i].method) == methods[_i].idempotent, "'%s'",
		      methods[_i].method);
}
END_TEST

/* jitter 0.5 is the midpoint: no change */
static const struct {
	int base, attempt;
	double jitter;
	int want;
} schedule[] = {
	/* doubling */
	{ 100, 1, 0.5, 100 },
	{ 100, 2, 0.5, 200 },
	{ 100, 3, 0.5, 400 },
	{ 100, 4, 0.5, 800 },
	{ 50, 5, 0.5, 800 },
	/* jitter: -25% at 0, +25% just under 1 (binary fractions, so the products are exact) */
	{ 100, 1, 0.0, 75 },
	{ 100, 1, 0.25, 87 },
	{ 100, 1, 0.75, 112 },
	{ 100, 1, 255 / 256.0, 124 },
	{ 400, 2, 0.0, 600 },
	{ 400, 2, 255 / 256.0, 998 },
	/* the 10 s cap, before and after jitter */
	{ 1000, 4, 0.5, 8000 },
	{ 1000, 4, 255 / 256.0, 9984 },
	{ 1000, 5, 0.5, 10000 },
	{ 1000, 5, 0.0, 10000 },
	{ 10000, 1, 255 / 256.0, 10000 },
	{ 10000, 1, 0.0, 7500 },
	{ 8000, 1, 255 / 256.0, 9984 },
	{ 9000, 1, 255 / 256.0, 10000 },
	{ 50, 30, 0.5, 10000 },
	{ 1, 1000, 255 / 256.0, 10000 },
	{ 2147483647, 1, 0.5, 10000 },
	{ 2147483647, 40, 0.0, 10000 },
	/* edges */
	{ 0, 3, 0.5, 0 },
	{ 100, 0, 0.5, 100 },
	{ 1, 1, 0.0, 0 },
};

START_TEST(backoff_table)
{
	int got = st_httpc_backoff_ms(schedule[_i].base, schedule[_i].attempt, schedule[_i].jitter);

	ck_assert_msg(got == schedule[_i].want, "base %d attempt %d jitter %g: %d, want %d",
		      schedule[_i].base, schedule[_i].attempt, schedule[_i].jitter, got,
		      schedule[_i].want);
}
END_TEST

START_TEST(backoff_bounds)
{
	static const int bases[] = { 1, 10, 50, 100, 250, 1000, 3000, 10000 };

	for (size_t b = 0; b < ST_ARRAY_LEN(bases); b++) {
		for (int attempt = 1; attempt <= 20; attempt++) {
			double nominal = bases[b];
			int prev = -1;

			for (int i = 1; i < attempt; i++)
				nominal *= 2;
			for (int j = 0; j < 256; j++) {
				double jitter = j / 256.0; /* what st_httpc_do passes */
				int got = st_httpc_backoff_ms(bases[b], attempt, jitter);
				double lo = nominal * 0.75, hi = nominal * 1.25;

				ck_assert_int_le(got, 10000);
				ck_assert_int_ge(got, 0);
				/* within +-25% of base * 2^(attempt-1), unless capped */
				if (hi <= 10000) {
					ck_assert_msg(got >= (int)lo && got <= hi,
						      "base %d attempt %d jitter %g: %d", bases[b],
						      attempt, jitter, got);
				}
				/* more jitter never waits less */
				ck_assert_int_ge(got, prev);
				prev = got;
			}
		}
	}
}
END_TEST

START_TEST(backoff_grows_with_attempts)
{
	for (int attempt = 1; attempt < 40; attempt++) {
		int now = st_httpc_backoff_ms(50, attempt, 0.5);
		int next = st_httpc_backoff_ms(50, attempt + 1, 0.5);

		ck_assert_int_ge(next, now);
		if (now * 2 <= 10000)
			ck_assert_int_eq(next, now * 2);
	}
}
END_TEST

/* Status lines as curl hands them to the streaming header callback. */
static const struct {
	const char *line;
	long want; /* 0: refused */
} status_lines[] = {
	{ "HTTP/1.1 200 OK\r\n", 200 },
	{ "HTTP/1.0 404 Not Found\r\n", 404 },
	{ "HTTP/1.1 100 Continue\r\n", 100 },
	{ "HTTP/2 503 \r\n", 503 },
	{ "HTTP/1.1 204\r\n", 204 },
	{ "HTTP/1.1 999 Custom\r\n", 999 },
	{ "HTTP/1.1 2000 OK\r\n", 0 },
	{ "HTTP/1.1 20 OK\r\n", 0 },
	{ "HTTP/1.1 099 OK\r\n", 0 },
	{ "HTTP/1.1 2x0 OK\r\n", 0 },
	{ "HTTP/1.1\r\n", 0 },
	{ "Content-Type: text/plain\r\n", 0 },
	{ "HTTPS/1.1 200 OK\r\n", 0 },
	{ "\r\n", 0 },
	{ "", 0 },
};

START_TEST(status_line_table)
{
	long got = 0;
	bool ok = st_httpc_parse_status(status_lines[_i].line, strlen(status_lines[_i].line), &got);

	ck_assert_msg(ok == (status_lines[_i].want != 0), "'%s'", status_lines[_i].line);
	if (ok)
		ck_assert_int_eq(got, status_lines[_i].want);
}
END_TEST

static const struct {
	const char *line, *name, *value; /* name NULL: refused */
} header_lines[] = {
	{ "Content-Type: application/json\r\n", "Content-Type", "application/json" },
	{ "X-Empty:\r\n", "X-Empty", "" },
	{ "X-Spaces:   a b  \t\r\n", "X-Spaces", "a b" },
	{ "x:y\n", "x", "y" },
	{ "Set-Cookie: a=b; Path=/; HttpOnly\r\n", "Set-Cookie", "a=b; Path=/; HttpOnly" },
	{ "Location: http://h/p?q=1:2\r\n", "Location", "http://h/p?q=1:2" },
	{ "No colon here\r\n", NULL, NULL },
	{ ": no name\r\n", NULL, NULL },
	{ "Bad Name: v\r\n", NULL, NULL },
	{ "Bad\"Name: v\r\n", NULL, NULL },
	{ " Folded: v\r\n", NULL, NULL },
	{ "Split: a\rb\r\n", NULL, NULL },
};

START_TEST(header_line_table)
{
	char buf[128];
	struct st_httpc_header h;
	bool ok = st_httpc_parse_header(header_lines[_i].line, strlen(header_lines[_i].line), buf,
					sizeof(buf), &h);

	ck_assert_msg(ok == (header_lines[_i].name != NULL), "'%s'", header_lines[_i].line);
	if (!ok)
		return;
	ck_assert_str_eq(h.name, header_lines[_i].name);
	ck_assert_str_eq(h.value, header_lines[_i].value);
}
END_TEST

START_TEST(header_line_room)
{
	static const char line[] = "Name: value\r\n";
	char buf[16];
	struct st_httpc_header h;

	/* "Name\0value\0" takes 11 bytes */
	ck_assert(st_httpc_parse_header(line, strlen(line), buf, 11, &h));
	ck_assert_str_eq(h.value, "value");
	ck_assert(!st_httpc_parse_header(line, strlen(line), buf, 10, &h));
	ck_assert(!st_httpc_parse_header(line, strlen(line), buf, 0, &h));
}
END_TEST

/* ---- an answer before the end of the upload ---- */

bool httpc_answered_early(int cc, bool uploading, bool head_done, int64_t want, int64_t got);

static const struct {
	int cc;
	bool uploading, head_done;
	int64_t want, got;
	bool answered;
} early[] = {
	{ CURLE_SEND_ERROR, true, true, 180, 180, true },   /* a whole 413, then the reset */
	{ CURLE_SEND_ERROR, true, true, 0, 0, true },       /* a whole answer without a body */
	{ CURLE_SEND_ERROR, true, true, 180, 179, false },  /* cut short */
	{ CURLE_SEND_ERROR, true, true, -1, 180, false },   /* chunked: its end unseen */
	{ CURLE_SEND_ERROR, true, false, 180, 0, false },   /* no head yet */
	{ CURLE_SEND_ERROR, false, true, 180, 180, false }, /* nothing was being sent */
	{ CURLE_RECV_ERROR, true, true, 180, 180, false },  /* the answer itself broke */
	{ CURLE_OPERATION_TIMEDOUT, true, true, 180, 180, false },
	{ CURLE_OK, true, true, 180, 180, false }, /* no failure to forgive */
};

START_TEST(answered_early_table)
{
	ck_assert_msg(httpc_answered_early(early[_i].cc, early[_i].uploading, early[_i].head_done,
					   early[_i].want, early[_i].got) == early[_i].answered,
		      "case %d", _i);
}
END_TEST

/* ---- the chunked decoder ---- */

#define CK_DATA_MAX 8192

/* What one decoding of a body gave. */
struct decoded {
	enum st_chunked_rc rc; /* DONE, BAD, or MORE when the input ran out first */
	char data[CK_DATA_MAX];
	size_t len;
	size_t consumed; /* at DONE: the bytes that belonged to the body */
};

/*
 * Decodes in (n bytes) handed over in pieces of step bytes (0: all at once), as a reader
 * would from successive receives, checking the contract of every call on the way.
 */
static void
decode(const char *in, size_t n, size_t step, struct decoded *d)
{
	struct st_chunked ck = { 0 };
	size_t off = 0;

	memset(d, 0, sizeof(*d));
	d->rc = ST_CHUNKED_MORE;
	while (off < n) {
		size_t piece = step == 0 || step > n - off ? n - off : step, p = 0;

		while (p < piece) {
			size_t used = SIZE_MAX, dlen = SIZE_MAX;
			const char *data = NULL;
			enum st_chunked_rc rc =
				st_chunked_feed(&ck, in + off + p, piece - p, &used, &data, &dlen);

			if (rc == ST_CHUNKED_BAD) {
				d->rc = rc;
				return;
			}
			ck_assert_msg(rc == ST_CHUNKED_MORE || rc == ST_CHUNKED_DONE, "rc %d", rc);
			ck_assert_msg(used <= piece - p, "used %zu of %zu", used, piece - p);
			ck_assert_msg(dlen != SIZE_MAX, "data_len not set");
			if (dlen > 0) {
				/* inside the bytes this call consumed */
				ck_assert_ptr_nonnull(data);
				ck_assert(data >= in + off + p &&
					  data + dlen <= in + off + p + used);
				ck_assert_uint_le(d->len + dlen, sizeof(d->data));
				memcpy(d->data + d->len, data, dlen);
				d->len += dlen;
			}
			if (rc == ST_CHUNKED_DONE) {
				d->rc = rc;
				d->consumed = off + p + used;
				return;
			}
			ck_assert_msg(used >= 1, "MORE without consuming at %zu", off + p);
			p += used;
		}
		off += piece;
	}
}

static const struct {
	const char *body;
	const char *want; /* the data; NULL: ST_CHUNKED_BAD */
	size_t rest;      /* bytes after the end, left unconsumed */
} chunked_bodies[] = {
	{ "5\r\nhello\r\n0\r\n\r\n", "hello", 0 },
	{ "0\r\n\r\n", "", 0 },
	{ "3\r\nabc\r\n4\r\ndefg\r\n1\r\nh\r\n0\r\n\r\n", "abcdefgh", 0 },
	/* extensions */
	{ "5;a=b\r\nhello\r\n0\r\n\r\n", "hello", 0 },
	{ "5;a=b;c\r\nhello\r\n3;x=\"q;r\"\r\n!!!\r\n0;last=1\r\n\r\n", "hello!!!", 0 },
	/* trailers */
	{ "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", "hello", 0 },
	{ "5\r\nhello\r\n0\r\nA: 1\r\nB: two words\r\nC:\r\n\r\n", "hello", 0 },
	/* hex in either case, leading zeros */
	{ "a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij", 0 },
	{ "1f\r\n0123456789012345678901234567890\r\n0\r\n\r\n", "0123456789012345678901234567890",
	  0 },
	{ "1F\r\n0123456789012345678901234567890\r\n0\r\n\r\n", "0123456789012345678901234567890",
	  0 },
	{ "0005\r\nhello\r\n000\r\n\r\n", "hello", 0 },
	/* data that looks like framing */
	{ "7\r\n0\r\n\r\n\n\n\r\n0\r\n\r\n", "0\r\n\r\n\n\n", 0 },
	/* what follows the body is not the body's */
	{ "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "hello", 16 },
	{ "5\r\nhello\r\n0\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "hello", 15 },
	{ "0\r\nT: 1\r\n\r\nX", "", 1 },
	/* bad: a line ended by a bare LF, or by a CR without its LF (a relay that reads CRLF
	 * only would frame the body differently) */
	{ "5\nhello\r\n0\r\n\r\n", NULL, 0 },
	{ "5;e\nhello\r\n0\r\n\r\n", NULL, 0 },
	{ "5\r\nhello\n0\r\n\r\n", NULL, 0 },
	{ "5\r\nhello\r\n0\n\r\n", NULL, 0 },
	{ "5\r\nhello\r\n0\r\n\n", NULL, 0 },
	{ "5\r\nhello\r\n0\r\nT: x\n\r\n", NULL, 0 },
	{ "5\r\nhello\r\n0\r\nT: x\rY\r\n\r\n", NULL, 0 },
	{ "5\r\nhello\r\n0\r\n\rX", NULL, 0 },
	{ "5\rX\nhello\r\n0\r\n\r\n", NULL, 0 },
	{ "5\nhello\n0\n\n", NULL, 0 },
	{ "2\nhi\n0\n\n\n", NULL, 0 },
	/* bad: no hex digits */
	{ "\r\nhello\r\n0\r\n\r\n", NULL, 0 },
	{ ";a=b\r\nhello\r\n0\r\n\r\n", NULL, 0 },
	{ "\n", NULL, 0 },
	/* bad: a non-hex character in the size */
	{ "x\r\nhello\r\n0\r\n\r\n", NULL, 0 },
	{ "5x\r\nhello\r\n0\r\n\r\n", NULL, 0 },
	{ "g\r\n", NULL, 0 },
	{ "0x5\r\nhello\r\n0\r\n\r\n", NULL, 0 },
	{ "-5\r\nhello\r\n0\r\n\r\n", NULL, 0 },
	{ " 5\r\nhello\r\n0\r\n\r\n", NULL, 0 },
	{ "5\r\nhello\r\nz\r\n\r\n", NULL, 0 },
	/* bad: sizes of 2^60 and over, and ones that would wrap a 64-bit counter to 0 */
	{ "1000000000000000\r\n", NULL, 0 },
	{ "FFFFFFFFFFFFFFFF\r\n", NULL, 0 },
	{ "FFFFFFFFFFFFFFFFF\r\n", NULL, 0 },
	{ "10000000000000000\r\n\r\n", NULL, 0 },
	{ "100000000000000000000000000000000\r\n\r\n", NULL, 0 },
	/* bad: data not followed by CRLF */
	{ "3\r\nabcX", NULL, 0 },
	{ "3\r\nabcX\r\n0\r\n\r\n", NULL, 0 },
	{ "3\r\nabc\rX\n0\r\n\r\n", NULL, 0 },
	{ "3\r\nabcd\r\n0\r\n\r\n", NULL, 0 },
};

START_TEST(chunked_table)
{
	static const size_t steps[] = { 0, 1, 2, 3, 7 };
	const char *body = chunked_bodies[_i].body, *want = chunked_bodies[_i].want;
	size_t n = strlen(body);

	/* fed whole, byte by byte, and in other piece sizes: the same result each time */
	for (size_t s = 0; s < ST_ARRAY_LEN(steps); s++) {
		struct decoded d;

		decode(body, n, steps[s], &d);
		if (want == NULL) {
			ck_assert_msg(d.rc == ST_CHUNKED_BAD, "case %d step %zu: rc %d, want BAD",
				      _i, steps[s], d.rc);
			continue;
		}
		ck_assert_msg(d.rc == ST_CHUNKED_DONE, "case %d step %zu: rc %d, want DONE", _i,
			      steps[s], d.rc);
		ck_assert_msg(d.len == strlen(want) && memcmp(d.data, want, d.len) == 0,
			      "case %d step %zu: data '%.*s', want '%s'", _i, steps[s], (int)d.len,
			      d.data, want);
		ck_assert_msg(d.consumed == n - chunked_bodies[_i].rest,
			      "case %d step %zu: used %zu of %zu, want %zu", _i, steps[s],
			      d.consumed, n, n - chunked_bodies[_i].rest);
	}
}
END_TEST

/* Every split of a body in two pieces decodes as the whole does. */
START_TEST(chunked_every_split)
{
	static const char body[] = "4;x=y\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
				   "0\r\nExpires: never\r\n\r\n";
	static const char want[] = "Wikipedia in\r\n\r\nchunks.";
	size_t n = strlen(body);

	for (size_t k = 0; k <= n; k++) {
		struct st_chunked ck = { 0 };
		char out[64];
		size_t len = 0, off = 0;
		enum st_chunked_rc rc = ST_CHUNKED_MORE;

		while (rc == ST_CHUNKED_MORE && off < n) {
			size_t end = off < k ? k : n, used = 0, dlen = 0;
			const char *data = NULL;

			rc = st_chunked_feed(&ck, body + off, end - off, &used, &data, &dlen);
			ck_assert_msg(rc != ST_CHUNKED_BAD, "split at %zu: BAD at %zu", k, off);
			ck_assert_msg(rc != ST_CHUNKED_MORE || used > 0,
				      "split at %zu: stuck at %zu", k, off);
			ck_assert_uint_le(len + dlen, sizeof(out));
			if (dlen > 0)
				memcpy(out + len, data, dlen);
			len += dlen;
			off += used;
		}
		ck_assert_msg(rc == ST_CHUNKED_DONE, "split at %zu: rc %d", k, rc);
		ck_assert_uint_eq(off, n);
		ck_assert_uint_eq(len, strlen(want));
		ck_assert(memcmp(out, want, len) == 0);
	}
}
END_TEST

/* Fed whole, each chunk's data comes back as one piece, pointing into the input. */
START_TEST(chunked_whole_chunks_one_piece)
{
	static const char body[] = "3\r\nabc\r\n4\r\ndefg\r\n1\r\nh\r\n0\r\n\r\n";
	static const char *const want[] = { "abc", "defg", "h" };
	struct st_chunked ck = { 0 };
	size_t n = strlen(body), off = 0, piece = 0;
	enum st_chunked_rc rc = ST_CHUNKED_MORE;

	while (rc == ST_CHUNKED_MORE) {
		size_t used = 0, dlen = 0;
		const char *data = NULL;

		ck_assert_uint_lt(off, n);
		rc = st_chunked_feed(&ck, body + off, n - off, &used, &data, &dlen);
		ck_assert(rc != ST_CHUNKED_BAD);
		if (dlen > 0) {
			ck_assert_uint_lt(piece, ST_ARRAY_LEN(want));
			ck_assert_uint_eq(dlen, strlen(want[piece]));
			ck_assert(memcmp(data, want[piece], dlen) == 0);
			ck_assert_ptr_eq(data, strstr(body + off, want[piece]));
			piece++;
		}
		off += used;
	}
	ck_assert_int_eq(rc, ST_CHUNKED_DONE);
	ck_assert_uint_eq(piece, ST_ARRAY_LEN(want));
	ck_assert_uint_eq(off, n);
}
END_TEST

/* A chunk larger than what has arrived: the data that is there, then the rest later. */
START_TEST(chunked_partial_chunk)
{
	static const char head[] = "10\r\n0123456789"; /* 16 announced, 10 here */
	static const char tail[] = "abcdef\r\n0\r\n\r\n";
	struct st_chunked ck = { 0 };
	size_t used = 0, dlen = 0;
	const char *data = NULL;

	ck_assert_int_eq(st_chunked_feed(&ck, head, strlen(head), &used, &data, &dlen),
			 ST_CHUNKED_MORE);
	ck_assert_uint_eq(used, strlen(head));
	ck_assert_uint_eq(dlen, 10);
	ck_assert_ptr_eq(data, head + 4);
	ck_assert_uint_eq(ck.left, 6);

	ck_assert_int_eq(st_chunked_feed(&ck, tail, strlen(tail), &used, &data, &dlen),
			 ST_CHUNKED_MORE);
	ck_assert_uint_eq(dlen, 6);
	ck_assert_ptr_eq(data, tail);
	ck_assert_uint_ge(used, 6); /* the CRLF after the data may go with it */
	ck_assert_uint_le(used, 8);
	ck_assert_uint_eq(ck.left, 0);
}
END_TEST

/* The largest size below 2^60 is a size; it is only too large at 2^60. */
START_TEST(chunked_size_limit)
{
	static const char big[] = "FFFFFFFFFFFFFFF\r\nab"; /* 2^60 - 1 */
	struct decoded d;
	struct st_chunked ck = { 0 };
	size_t used = 0, dlen = 0, off = 0;
	const char *data = NULL;
	enum st_chunked_rc rc = ST_CHUNKED_MORE;

	while (off < strlen(big) && rc == ST_CHUNKED_MORE) {
		rc = st_chunked_feed(&ck, big + off, strlen(big) - off, &used, &data, &dlen);
		ck_assert_uint_gt(used, 0);
		off += used;
	}
	ck_assert_int_eq(rc, ST_CHUNKED_MORE);
	ck_assert_uint_eq(off, strlen(big));
	ck_assert_uint_eq(dlen, 2);
	ck_assert_uint_eq(ck.left, ((uint64_t)1 << 60) - 1 - 2);

	decode("1000000000000000\r\n", 18, 0, &d);
	ck_assert_int_eq(d.rc, ST_CHUNKED_BAD);
}
END_TEST

/* Builds "<size><ext>\r\n" with a line of about len bytes (padded in the extension), then a
 * 5-byte chunk and the end; or, with trailer, a trailer line of about len bytes. */
static char *
long_line_body(size_t len, bool trailer, bool zeros)
{
	char *b = st_malloc(len + 64), *p = b;

	if (trailer) {
		p += snprintf(p, 64, "5\r\nhello\r\n0\r\nX-Long: ");
		memset(p, 'v', len - 8);
		p += len - 8;
		snprintf(p, 64, "\r\n\r\n");
	} else if (zeros) {
		memset(p, '0', len - 1);
		p += len - 1;
		snprintf(p, 64, "5\r\nhello\r\n0\r\n\r\n");
	} else {
		p += snprintf(p, 64, "5;x=");
		memset(p, 'e', len - 4);
		p += len - 4;
		snprintf(p, 64, "\r\nhello\r\n0\r\n\r\n");
	}
	return b;
}

/* Size, extension and trailer lines: under 4 KiB they pass, over it the body is BAD. */
START_TEST(chunked_line_limit)
{
	static const struct {
		size_t len;
		bool trailer, zeros, ok;
	} lines[] = {
		{ 4000, false, false, true },   { 4200, false, false, false },
		{ 4000, true, false, true },    { 4200, true, false, false },
		{ 4000, false, true, true },    { 4200, false, true, false },
		{ 65536, false, false, false }, { 65536, true, false, false },
	};

	for (size_t i = 0; i < ST_ARRAY_LEN(lines); i++) {
		char *body = long_line_body(lines[i].len, lines[i].trailer, lines[i].zeros);
		size_t n = strlen(body);

		for (size_t step = 0; step <= 1; step++) {
			struct decoded d;

			decode(body, n, step, &d);
			if (lines[i].ok) {
				ck_assert_msg(d.rc == ST_CHUNKED_DONE, "line %zu step %zu: rc %d",
					      i, step, d.rc);
				ck_assert_uint_eq(d.len, 5);
				ck_assert_uint_eq(d.consumed, n);
			} else {
				ck_assert_msg(d.rc == ST_CHUNKED_BAD, "line %zu step %zu: rc %d", i,
					      step, d.rc);
			}
		}
		st_free(body);
	}
}
END_TEST

/* Nothing to read consumes nothing; a finished body stays finished and takes nothing more. */
START_TEST(chunked_empty_and_done)
{
	static const char body[] = "1\r\nx\r\n0\r\n\r\n";
	struct st_chunked ck = { 0 };
	size_t used = 99, dlen = 99, off = 0;
	const char *data = NULL;
	enum st_chunked_rc rc;

	ck_assert_int_eq(st_chunked_feed(&ck, body, 0, &used, &data, &dlen), ST_CHUNKED_MORE);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(dlen, 0);
	do {
		rc = st_chunked_feed(&ck, body + off, strlen(body) - off, &used, &data, &dlen);
		ck_assert(rc == ST_CHUNKED_DONE || used > 0);
		off += used;
	} while (rc == ST_CHUNKED_MORE);
	ck_assert_int_eq(rc, ST_CHUNKED_DONE);
	ck_assert_uint_eq(off, strlen(body));
	used = 99;
	dlen = 99;
	ck_assert_int_eq(st_chunked_feed(&ck, "5\r\nhello", 8, &used, &data, &dlen),
			 ST_CHUNKED_DONE);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(dlen, 0);
}
END_TEST

/* A large body of many chunks of varied sizes, byte by byte and whole. */
START_TEST(chunked_many_chunks)
{
	char *body = st_malloc(64 * 1024), *want = st_malloc(CK_DATA_MAX);
	size_t n = 0, wlen = 0;
	struct decoded *d = st_malloc(sizeof(*d));

	for (size_t c = 1; wlen + c <= CK_DATA_MAX - 200; c += 13) {
		n += (size_t)snprintf(body + n, 32, c % 2 ? "%zx\r\n" : "%zX\r\n", c);
		for (size_t i = 0; i < c; i++) {
			char ch = (char)('a' + (wlen + i * 7) % 26);

			body[n + i] = ch;
			want[wlen + i] = ch;
		}
		n += c;
		wlen += c;
		memcpy(body + n, "\r\n", 2);
		n += 2;
	}
	memcpy(body + n, "0\r\n\r\n", 5);
	n += 5;
	for (size_t step = 0; step <= 1; step++) {
		decode(body, n, step, d);
		ck_assert_int_eq(d->rc, ST_CHUNKED_DONE);
		ck_assert_uint_eq(d->len, wlen);
		ck_assert(memcmp(d->data, want, wlen) == 0);
		ck_assert_uint_eq(d->consumed, n);
	}
	st_free(d);
	st_free(want);
	st_free(body);
}
END_TEST

/* Trailer lines: up to ST_CHUNKED_TRAILERS_MAX pass, one more is BAD. */
START_TEST(chunked_trailer_limit)
{
	for (int extra = 0; extra <= 1; extra++) {
		char *body = st_malloc(16 * 1024);
		size_t n = (size_t)snprintf(body, 64, "2\r\nhi\r\n0\r\n");
		struct decoded d;

		for (int i = 0; i < ST_CHUNKED_TRAILERS_MAX + extra; i++)
			n += (size_t)snprintf(body + n, 64, "T%d: v\r\n", i);
		n += (size_t)snprintf(body + n, 64, "\r\n");
		for (size_t step = 0; step <= 1; step++) {
			decode(body, n, step, &d);
			if (extra == 0) {
				ck_assert_int_eq(d.rc, ST_CHUNKED_DONE);
				ck_assert_uint_eq(d.consumed, n);
			} else {
				ck_assert_int_eq(d.rc, ST_CHUNKED_BAD);
			}
		}
		st_free(body);
	}
}
END_TEST

/* ---- response heads and their framing ---- */

static const struct {
	const char *method;
	const char *head;
	enum st_err rc;
	enum st_httpc_body body;
	int64_t length;
	bool keep;
	bool has_length; /* a Content-Length header is left in the list */
} heads[] = {
	{ "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", ST_OK, ST_HTTPC_BODY_LENGTH, 5,
	  true, true },
	{ "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ST_OK,
	  ST_HTTPC_BODY_CHUNKED, 0, true, false },
	/* both: the length goes, the body is chunked, the connection is not kept */
	{ "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	  ST_OK, ST_HTTPC_BODY_CHUNKED, 0, false, false },
	{ "GET",
	  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	  ST_OK, ST_HTTPC_BODY_CHUNKED, 0, false, false },
	{ "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", ST_OK,
	  ST_HTTPC_BODY_TO_CLOSE, 0, false, false },
	{ "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ST_OK,
	  ST_HTTPC_BODY_TO_CLOSE, 0, false, false },
	{ "GET", "HTTP/1.1 200 OK\r\n\r\n", ST_OK, ST_HTTPC_BODY_TO_CLOSE, 0, false, false },
	{ "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n", ST_OK,
	  ST_HTTPC_BODY_LENGTH, 2, false, true },
	{ "GET", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", ST_OK, ST_HTTPC_BODY_LENGTH, 2,
	  false, true },
	{ "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", ST_OK, ST_HTTPC_BODY_NONE, 0,
	  true, true },
	{ "GET", "HTTP/1.1 204 No Content\r\n\r\n", ST_OK, ST_HTTPC_BODY_NONE, 0, true, false },
	{ "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", ST_OK,
	  ST_HTTPC_BODY_NONE, 0, true, true },
	{ "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", ST_OK,
	  ST_HTTPC_BODY_LENGTH, 2, true, true },
	/* lengths that disagree or are not digits */
	{ "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", ST_ERR_IO,
	  ST_HTTPC_BODY_NONE, 0, false, false },
	{ "GET", "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n", ST_ERR_IO, ST_HTTPC_BODY_NONE, 0,
	  false, false },
	{ "GET", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", ST_ERR_IO, ST_HTTPC_BODY_NONE, 0,
	  false, false },
	{ "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n", ST_ERR_IO, ST_HTTPC_BODY_NONE,
	  0, false, false },
	{ "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n", ST_ERR_IO,
	  ST_HTTPC_BODY_NONE, 0, false, false },
	{ "GET", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", ST_ERR_IO, ST_HTTPC_BODY_NONE, 0,
	  false, false },
	/* not a head */
	{ "GET", "HTTX/1.1 200 OK\r\n\r\n", ST_ERR_IO, ST_HTTPC_BODY_NONE, 0, false, false },
	{ "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", ST_ERR_IO, ST_HTTPC_BODY_NONE, 0,
	  false, false },
};

START_TEST(head_framing_table)
{
	struct st_httpc_header list[8];
	struct st_httpc_framing fr;
	char *buf = st_strdup(heads[_i].head);
	size_t n = 0;
	long status = 0;
	bool http10 = false, has_length = false;
	enum st_err rc;

	rc = st_httpc_parse_head(buf, strlen(buf), &status, &http10, list, ST_ARRAY_LEN(list), &n);
	if (rc == ST_OK)
		rc = st_httpc_framing(heads[_i].method, status, http10, list, &n, &fr);
	ck_assert_msg(rc == heads[_i].rc, "case %d: rc %s", _i, st_err_str(rc));
	if (rc == ST_OK) {
		ck_assert_msg(fr.body == heads[_i].body, "case %d: body %d", _i, fr.body);
		ck_assert_int_eq(fr.length, heads[_i].length);
		ck_assert_msg(fr.keep == heads[_i].keep, "case %d: keep %d", _i, fr.keep);
		for (size_t i = 0; i < n; i++)
			has_length = has_length || strcasecmp(list[i].name, "Content-Length") == 0;
		ck_assert_msg(has_length == heads[_i].has_length, "case %d: Content-Length %s", _i,
			      has_length ? "kept" : "dropped");
	}
	st_free(buf);
}
END_TEST

/* More header lines than the list holds: too large, never a head framed without them. */
START_TEST(head_too_many_headers)
{
	char buf[512] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	struct st_httpc_header list[2];
	size_t n = 0;
	long status = 0;
	bool http10 = false;

	ck_assert_uint_eq(st_httpc_head_end(buf, strlen(buf), 0), strlen(buf));
	ck_assert_uint_eq(st_httpc_head_end(buf, strlen(buf) - 1, 0), 0);
	ck_assert_int_eq(st_httpc_parse_head(buf, strlen(buf), &status, &http10, list, 2, &n),
			 ST_ERR_TOO_LARGE);
}
END_TEST

/* ---- the request the client's own sockets send ---- */

static const struct {
	const char *line;
	bool ok;
} request_lines[] = {
	{ "X-A: b", true },    { "X-A:b", true },
	{ "X-Empty;", true },  { "X-A: b\r\nX-B: c", false },
	{ "X-A: b\n", false }, { "X-A: b\rc", false },
	{ ": b", false },      { "X A: b", false },
	{ "X-A", false },      { "X-A; b", false },
	{ "", false },         { "X-A:\r\n\r\nGET / HTTP/1.1", false },
};

START_TEST(request_header_line_table)
{
	ck_assert_msg(httpc_header_line_ok(request_lines[_i].line) == request_lines[_i].ok, "'%s'",
		      request_lines[_i].line);
}
END_TEST

/* A caller's line with CR or LF never reaches the head; a request id that is not one is
 * replaced by a new UUID, a good one passes, none sends none. */
START_TEST(request_head_checked)
{
	static const char *const lines[] = { "X-Good: 1", "X-Bad: a\r\nX-Injected: 1", "X-Empty;",
					     NULL };
	struct st_httpc_stream s = { .method = "GET", .headers = lines };
	char id[ST_REQUEST_ID_MAX + 1];
	size_t len = 0;
	char *head;

	httpc_request_id("abc-123", id, sizeof(id));
	ck_assert_str_eq(id, "abc-123");
	httpc_request_id("a\r\nX-Injected: 1", id, sizeof(id));
	ck_assert(st_uuid_valid(id));
	httpc_request_id("", id, sizeof(id));
	ck_assert_str_eq(id, "");
	head = httpc_request_head(&s, "::1", 8080, "/p", "rid-1", false, &len);
	ck_assert_uint_eq(len, strlen(head));
	ck_assert_str_eq(head, "GET /p HTTP/1.1\r\nHost: [::1]:8080\r\nX-Good: 1\r\nX-Empty:\r\n"
			       "X-Request-Id: rid-1\r\n\r\n");
	st_free(head);
	ck_assert(httpc_request_line_ok("GET", "/a?b=c"));
	ck_assert(!httpc_request_line_ok("GET", "/a b"));
	ck_assert(!httpc_request_line_ok("GET", "/a\r\nX: 1"));
	ck_assert(!httpc_request_line_ok("G T", "/"));
	ck_assert(!httpc_request_line_ok("", "/"));
}
END_TEST

/* ---- URLs ---- */

static const struct {
	const char *url;
	size_t cap;
	const char *host; /* NULL: refused */
	int port;
	const char *target;
} urls[] = {
	{ "http://127.0.0.1:8081/a/b?x=1", 64, "127.0.0.1", 8081, "/a/b?x=1" },
	{ "http://auth", 64, "auth", 80, "/" },
	{ "http://auth/", 64, "auth", 80, "/" },
	{ "http://auth:8082", 64, "auth", 8082, "/" },
	{ "http://[::1]:9000/p", 64, "::1", 9000, "/p" },
	{ "http://[::1]/", 64, "::1", 80, "/" },
	{ "http://[fe80::1:2]", 64, "fe80::1:2", 80, "/" },
	{ "http://h:1/", 64, "h", 1, "/" },
	{ "http://h:65535/x/y/", 64, "h", 65535, "/x/y/" },
	{ "http://h:080/", 64, "h", 80, "/" },
	{ "http://storage.internal:8086/api/v1/objects/a%20b", 64, "storage.internal", 8086,
	  "/api/v1/objects/a%20b" },
	/* the host just fits: 7 bytes and the NUL in 8 */
	{ "http://abcdefg:81/", 8, "abcdefg", 81, "/" },
	{ "http://[::1]:81/", 4, "::1", 81, "/" },
	/* refused */
	{ "https://h/", 64, NULL, 0, NULL },
	{ "ftp://h", 64, NULL, 0, NULL },
	{ "http:/h/", 64, NULL, 0, NULL },
	{ "h:80/", 64, NULL, 0, NULL },
	{ "", 64, NULL, 0, NULL },
	{ "http://", 64, NULL, 0, NULL },
	{ "http:///p", 64, NULL, 0, NULL },
	{ "http://:80/", 64, NULL, 0, NULL },
	{ "http://[]:80/", 64, NULL, 0, NULL },
	{ "http://[::1:80/", 64, NULL, 0, NULL },
	{ "http://h:0/", 64, NULL, 0, NULL },
	{ "http://h:65536/", 64, NULL, 0, NULL },
	{ "http://h:99999999999999999999/", 64, NULL, 0, NULL },
	{ "http://h:-1/", 64, NULL, 0, NULL },
	{ "http://h:8x/", 64, NULL, 0, NULL },
	{ "http://h:x8/", 64, NULL, 0, NULL },
	{ "http://h: 80/", 64, NULL, 0, NULL },
	{ "http://h:+80/", 64, NULL, 0, NULL },
	{ "http://h:8 0/", 64, NULL, 0, NULL },
	/* too long for cap */
	{ "http://abcdefgh:81/", 8, NULL, 0, NULL },
	{ "http://abcdefgh/", 8, NULL, 0, NULL },
	{ "http://[::1:2]:81/", 4, NULL, 0, NULL },
};

START_TEST(split_url_table)
{
	char host[64];
	int port = -1;
	const char *target = NULL;
	const char *url = urls[_i].url, *after;
	bool ok;

	memset(host, 'Z', sizeof(host));
	ck_assert_uint_le(urls[_i].cap, sizeof(host));
	ok = st_httpc_split_url(url, host, urls[_i].cap, &port, &target);
	ck_assert_msg(ok == (urls[_i].host != NULL), "'%s': %s", url, ok ? "accepted" : "refused");
	if (!ok)
		return;
	ck_assert_msg(strcmp(host, urls[_i].host) == 0, "'%s': host '%s'", url, host);
	ck_assert_msg(port == urls[_i].port, "'%s': port %d", url, port);
	ck_assert_ptr_nonnull(target);
	ck_assert_msg(strcmp(target, urls[_i].target) == 0, "'%s': target '%s'", url, target);
	/* a path given is pointed to where it is in the URL */
	after = strchr(url, ']') != NULL ? strchr(url, ']') : url + 7;
	if (strchr(after, '/') != NULL)
		ck_assert_ptr_eq(target, strchr(after, '/'));
}
END_TEST

Suite *
httpc_suite(void)
{
	Suite *s = suite_create("httpc");
	TCase *pure = tcase_create("pure"), *chunked, *url;

	tcase_add_loop_test(pure, idempotent_table, 0, (int)ST_ARRAY_LEN(methods));
	tcase_add_loop_test(pure, backoff_table, 0, (int)ST_ARRAY_LEN(schedule));
	tcase_add_test(pure, backoff_bounds);
	tcase_add_test(pure, backoff_grows_with_attempts);
	tcase_add_loop_test(pure, status_line_table, 0, (int)ST_ARRAY_LEN(status_lines));
	tcase_add_loop_test(pure, header_line_table, 0, (int)ST_ARRAY_LEN(header_lines));
	tcase_add_test(pure, header_line_room);
	tcase_add_loop_test(pure, answered_early_table, 0, (int)ST_ARRAY_LEN(early));
	suite_add_tcase(s, pure);

	chunked = tcase_create("chunked");
	tcase_add_loop_test(chunked, chunked_table, 0, (int)ST_ARRAY_LEN(chunked_bodies));
	tcase_add_test(chunked, chunked_every_split);
	tcase_add_test(chunked, chunked_whole_chunks_one_piece);
	tcase_add_test(chunked, chunked_partial_chunk);
	tcase_add_test(chunked, chunked_size_limit);
	tcase_add_test(chunked, chunked_line_limit);
	tcase_add_test(chunked, chunked_empty_and_done);
	tcase_add_test(chunked, chunked_many_chunks);
	tcase_add_test(chunked, chunked_trailer_limit);
	tcase_add_loop_test(chunked, head_framing_table, 0, (int)ST_ARRAY_LEN(heads));
	tcase_add_test(chunked, head_too_many_headers);
	suite_add_tcase(s, chunked);

	url = tcase_create("url");
	tcase_add_loop_test(url, split_url_table, 0, (int)ST_ARRAY_LEN(urls));
	tcase_add_loop_test(url, request_header_line_table, 0, (int)ST_ARRAY_LEN(request_lines));
	tcase_add_test(url, request_head_checked);
	suite_add_tcase(s, url);
	return s;
}
