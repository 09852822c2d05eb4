/*
 * Unit tests for principal.c: a signed X-Strata-Principal survives the round trip; verification
 * refuses every kind of missing, malformed, tampered, stale or over-long header with the right
 * reason; signing refuses fields that could smuggle a separator; scope lists parse, format and
 * allow as documented.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "strata/principal.h"

Suite *principal_suite(void);

#define SECRET  "0123456789abcdef0123456789abcdef"
#define NOW     1767225600000LL /* 2026-01-01T00:00:00Z */
#define MAX_AGE 30000

static struct st_principal
sample(void)
{
	struct st_principal p;

	memset(&p, 0, sizeof(p));
	snprintf(p.sub, sizeof(p.sub), "user:42@example.org");
	snprintf(p.kind, sizeof(p.kind), "user");
	p.scopes = ST_SCOPE_READ | ST_SCOPE_WRITE;
	snprintf(p.request_id, sizeof(p.request_id), "0f8e2a4c-9b1d-4c3e-8f7a-123456789abc");
	p.issued_ms = NOW;
	return p;
}

static void
sign(const struct st_principal *p, char *out, size_t cap)
{
	ck_assert_int_eq(st_principal_sign(p, SECRET, out, cap), ST_OK);
}

/* Verifies header at NOW; returns the result and the reason in why. */
static enum st_err
verify(const char *header, char *why, size_t cap)
{
	struct st_principal out;

	why[0] = '\0';
	return st_principal_verify(header, SECRET, NOW, MAX_AGE, &out, why, cap);
}

static void
refused(const char *header, const char *reason)
{
	char why[64];

	ck_assert_msg(verify(header, why, sizeof(why)) == ST_ERR_AUTH, "accepted: %s", header);
	ck_assert_msg(strcmp(why, reason) == 0, "'%s': '%s', want '%s'", header, why, reason);
}

START_TEST(round_trip)
{
	static const char *const kinds[] = { "user", "apikey", "device", "service" };
	struct st_principal p = sample(), out;
	char header[512], why[64] = "";

	for (size_t i = 0; i < ST_ARRAY_LEN(kinds); i++) {
		snprintf(p.kind, sizeof(p.kind), "%s", kinds[i]);
		p.scopes = (unsigned)i * 7 & ST_SCOPE_ALL;
		sign(&p, header, sizeof(header));
		memset(&out, 0x5a, sizeof(out));
		ck_assert_int_eq(
			st_principal_verify(header, SECRET, NOW, MAX_AGE, &out, why, sizeof(why)),
			ST_OK);
		ck_assert_str_eq(out.sub, p.sub);
		ck_assert_str_eq(out.kind, p.kind);
		ck_assert_uint_eq(out.scopes, p.scopes);
		ck_assert_str_eq(out.request_id, p.request_id);
		ck_assert(out.issued_ms == p.issued_ms);
	}
}
END_TEST

START_TEST(wire_form)
{
	struct st_principal p = sample();
	char header[512];
	const char *sig;

	sign(&p, header, sizeof(header));
	ck_assert_msg(strncmp(header,
			      "v1;sub=user:42@example.org;kind=user;scopes=read,write;"
			      "rid=0f8e2a4c-9b1d-4c3e-8f7a-123456789abc;t=1767225600000;sig=",
			      strlen("v1;sub=user:42@example.org;kind=user;scopes=read,write;"
				     "rid=0f8e2a4c-9b1d-4c3e-8f7a-123456789abc;t=1767225600000;"
				     "sig=")) == 0,
		      "%s", header);
	sig = strstr(header, ";sig=") + 5;
	ck_assert_uint_eq(strlen(sig), 64);
	ck_assert_uint_eq(strspn(sig, "0123456789abcdef"), 64);
}
END_TEST

START_TEST(round_trip_edges)
{
	struct st_principal p = sample(), out;
	char header[512], why[64];

	/* no request id, no scopes, the longest subject, the edges of the window */
	p.request_id[0] = '\0';
	p.scopes = ST_SCOPE_NONE;
	memset(p.sub, 'a', sizeof(p.sub) - 1);
	p.sub[sizeof(p.sub) - 1] = '\0';
	sign(&p, header, sizeof(header));
	ck_assert_int_eq(st_principal_verify(header, SECRET, NOW, MAX_AGE, &out, why, sizeof(why)),
			 ST_OK);
	ck_assert_str_eq(out.request_id, "");
	ck_assert_uint_eq(out.scopes, 0);
	ck_assert_str_eq(out.sub, p.sub);
	ck_assert_int_eq(
		st_principal_verify(header, SECRET, NOW + MAX_AGE, MAX_AGE, &out, why, sizeof(why)),
		ST_OK);
	ck_assert_int_eq(
		st_principal_verify(header, SECRET, NOW - MAX_AGE, MAX_AGE, &out, why, sizeof(why)),
		ST_OK);
	/* every scope */
	p = sample();
	p.scopes = ST_SCOPE_ALL;
	sign(&p, header, sizeof(header));
	ck_assert_msg(strstr(header, ";scopes=read,write,admin,dashboard,ingest;") != NULL, "%s",
		      header);
	ck_assert_int_eq(st_principal_verify(header, SECRET, NOW, MAX_AGE, &out, why, sizeof(why)),
			 ST_OK);
	ck_assert_uint_eq(out.scopes, ST_SCOPE_ALL);
}
END_TEST

START_TEST(missing)
{
	char why[64];
	struct st_principal out;

	ck_assert_int_eq(st_principal_verify(NULL, SECRET, NOW, MAX_AGE, &out, why, sizeof(why)),
			 ST_ERR_AUTH);
	ck_assert_str_eq(why, "missing");
	refused("", "missing");
	/* err may be NULL */
	ck_assert_int_eq(st_principal_verify("", SECRET, NOW, MAX_AGE, &out, NULL, 0), ST_ERR_AUTH);
}
END_TEST

/* Header texts refused as malformed, whatever their signature. */
static const char *const malformed[] = {
	"v1",
	"v1;",
	"v2;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" /* wrong version */
	"0000000000000000000000000000000000000000000000000000000000000000",
	"V1;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig="
	"0000000000000000000000000000000000000000000000000000000000000000",
	"v10;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig="
	"0000000000000000000000000000000000000000000000000000000000000000",
	"sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig="
	"0000000000000000000000000000000000000000000000000000000000000000",
	/* each field missing */
	"v1;kind=user;scopes=read;rid=r;t=1767225600000;sig="
	"0000000000000000000000000000000000000000000000000000000000000000",
	"v1;sub=a;scopes=read;rid=r;t=1767225600000;sig="
	"0000000000000000000000000000000000000000000000000000000000000000",
	"v1;sub=a;kind=user;rid=r;t=1767225600000;sig="
	"0000000000000000000000000000000000000000000000000000000000000000",
	"v1;sub=a;kind=user;scopes=read;t=1767225600000;sig="
	"0000000000000000000000000000000000000000000000000000000000000000",
	"v1;sub=a;kind=user;scopes=read;rid=r;sig="
	"0000000000000000000000000000000000000000000000000000000000000000",
	"v1;sub=a;kind=user;scopes=read;rid=r;t=1767225600000",
	"v1;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;",
	/* out of order */
	"v1;kind=user;sub=a;scopes=read;rid=r;t=1767225600000;sig="
	"0000000000000000000000000000000000000000000000000000000000000000",
	"v1;sub=a;kind=user;rid=r;scopes=read;t=1767225600000;sig="
	"0000000000000000000000000000000000000000000000000000000000000000",
	"v1;sub=a;kind=user;scopes=read;rid=r;sig="
	"0000000000000000000000000000000000000000000000000000000000000000;t=1767225600000",
	/* a field name without '=' or with another name */
	"v1;sub;kind=user;scopes=read;rid=r;t=1767225600000;sig="
	"0000000000000000000000000000000000000000000000000000000000000000",
	"v1;subject=a;kind=user;scopes=read;rid=r;t=1767225600000;sig="
	"0000000000000000000000000000000000000000000000000000000000000000",
	/* the signature: too short, too long, empty, trailing data */
	"v1;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig="
	"000000000000000000000000000000000000000000000000000000000000000",
	"v1;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig="
	"00000000000000000000000000000000000000000000000000000000000000000",
	"v1;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=",
	"v1;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig="
	"0000000000000000000000000000000000000000000000000000000000000000;x=1",
};

START_TEST(malformed_table)
{
	refused(malformed[_i], "malformed");
}
END_TEST

START_TEST(overlong_header)
{
	struct st_principal p = sample();
	char header[1024], padded[1024];

	/* 513 characters of anything is refused before it is looked at */
	memset(padded, 'a', 513);
	memcpy(padded, "v1;sub=", 7);
	padded[513] = '\0';
	refused(padded, "malformed");
	/* a valid header with a long tail */
	sign(&p, header, sizeof(header));
	memset(padded, '0', 700);
	memcpy(padded, header, strlen(header));
	padded[700] = '\0';
	refused(padded, "malformed");
}
END_TEST

/* Replaces the first occurrence of from in header by to (same length). */
static void
replace(char *header, const char *from, const char *to)
{
	char *at = strstr(header, from);

	ck_assert_ptr_nonnull(at);
	ck_assert_uint_eq(strlen(from), strlen(to));
	memcpy(at, to, strlen(to));
}

START_TEST(tampered)
{
	struct st_principal p = sample();
	char header[512], copy[512];
	size_t siglen;

	sign(&p, header, sizeof(header));
	/* the subject, the kind, the scopes, the request id, the time */
	snprintf(copy, sizeof(copy), "%s", header);
	replace(copy, "sub=user:42", "sub=user:43");
	refused(copy, "bad signature");
	snprintf(copy, sizeof(copy), "%s", header);
	replace(copy, "kind=user", "kind=xser");
	refused(copy, "bad signature");
	snprintf(copy, sizeof(copy), "%s", header);
	replace(copy, "scopes=read,write", "scopes=read,admin");
	refused(copy, "bad signature");
	snprintf(copy, sizeof(copy), "%s", header);
	replace(copy, "rid=0f8e", "rid=1f8e");
	refused(copy, "bad signature");
	snprintf(copy, sizeof(copy), "%s", header);
	replace(copy, "t=1767225600000", "t=1767225600001");
	refused(copy, "bad signature");
	/* each character of the signature, flipped */
	siglen = strlen(header);
	for (size_t i = siglen - 64; i < siglen; i++) {
		snprintf(copy, sizeof(copy), "%s", header);
		copy[i] = copy[i] == '0' ? '1' : '0';
		refused(copy, "bad signature");
	}
	/* upper-case hex is another signature */
	snprintf(copy, sizeof(copy), "%s", header);
	for (size_t i = siglen - 64; i < siglen; i++)
		if (copy[i] >= 'a' && copy[i] <= 'f')
			copy[i] = (char)(copy[i] - 'a' + 'A');
	if (strcmp(copy, header) != 0)
		refused(copy, "bad signature");
	/* a field removed: the signature no longer matches the text */
	snprintf(copy, sizeof(copy), "%s", header);
	replace(copy, "scopes=read,write", "scopes=read;rid=x");
	refused(copy, "malformed");
}
END_TEST

START_TEST(wrong_secret)
{
	struct st_principal p = sample(), out;
	char header[512], why[64];

	sign(&p, header, sizeof(header));
	ck_assert_int_eq(
		st_principal_verify(header, SECRET "x", NOW, MAX_AGE, &out, why, sizeof(why)),
		ST_ERR_AUTH);
	ck_assert_str_eq(why, "bad signature");
	ck_assert_int_eq(st_principal_verify(header, "", NOW, MAX_AGE, &out, why, sizeof(why)),
			 ST_ERR_AUTH);
	ck_assert_str_eq(why, "bad signature");
	ck_assert_int_eq(
		st_principal_sign(&p, "another secret of enough length!!", header, sizeof(header)),
		ST_OK);
	refused(header, "bad signature");
}
END_TEST

START_TEST(freshness)
{
	struct st_principal p = sample(), out;
	char header[512], why[64];

	sign(&p, header, sizeof(header));
	/* older than the window */
	ck_assert_int_eq(st_principal_verify(header, SECRET, NOW + MAX_AGE + 1, MAX_AGE, &out, why,
					     sizeof(why)),
			 ST_ERR_AUTH);
	ck_assert_str_eq(why, "stale");
	ck_assert_int_eq(
		st_principal_verify(header, SECRET, NOW + 3600000, MAX_AGE, &out, why, sizeof(why)),
		ST_ERR_AUTH);
	ck_assert_str_eq(why, "stale");
	/* too far in the future */
	ck_assert_int_eq(st_principal_verify(header, SECRET, NOW - MAX_AGE - 1, MAX_AGE, &out, why,
					     sizeof(why)),
			 ST_ERR_AUTH);
	ck_assert_str_eq(why, "stale");
	/* a signed time far out, either way */
	p.issued_ms = 0;
	sign(&p, header, sizeof(header));
	refused(header, "stale");
	p.issued_ms = 9223372036854775807LL;
	sign(&p, header, sizeof(header));
	refused(header, "stale");
	p.issued_ms = -NOW;
	sign(&p, header, sizeof(header));
	refused(header, "stale");
}
END_TEST

/* Sign one principal with a changed field; INVALID expected. */
static const struct {
	const char *sub;
	const char *kind;
	const char *rid;
} bad_fields[] = {
	{ "a;b", "user", "r" },         { "a=b", "user", "r" },
	{ "a b", "user", "r" },         { "a,b", "user", "r" },
	{ "a\nb", "user", "r" },        { "a/b", "user", "r" },
	{ "caf\xc3\xa9", "user", "r" }, { "", "user", "r" },
	{ "a", "admin", "r" },          { "a", "", "r" },
	{ "a", "User", "r" },           { "a", "user", "r;sig=x" },
	{ "a", "user", "r r" },         { "a", "user", "r=1" },
};

START_TEST(sign_refuses_bad_fields)
{
	struct st_principal p = sample();
	char header[512];

	snprintf(p.sub, sizeof(p.sub), "%s", bad_fields[_i].sub);
	snprintf(p.kind, sizeof(p.kind), "%s", bad_fields[_i].kind);
	snprintf(p.request_id, sizeof(p.request_id), "%s", bad_fields[_i].rid);
	ck_assert_int_eq(st_principal_sign(&p, SECRET, header, sizeof(header)), ST_ERR_INVALID);
}
END_TEST

START_TEST(sign_buffer_too_small)
{
	struct st_principal p = sample();
	char header[512], small[512];
	size_t len;

	sign(&p, header, sizeof(header));
	len = strlen(header);
	ck_assert_int_eq(st_principal_sign(&p, SECRET, small, len + 1), ST_OK);
	ck_assert_str_eq(small, header);
	ck_assert_int_eq(st_principal_sign(&p, SECRET, small, len), ST_ERR_TOO_LARGE);
	ck_assert_int_eq(st_principal_sign(&p, SECRET, small, 10), ST_ERR_TOO_LARGE);
}
END_TEST

START_TEST(sign_largest_fits_512)
{
	struct st_principal p, out;
	char header[512], why[64];

	memset(&p, 0, sizeof(p));
	memset(p.sub, 'S', sizeof(p.sub) - 1);
	snprintf(p.kind, sizeof(p.kind), "service");
	p.scopes = ST_SCOPE_ALL;
	memset(p.request_id, 'R', sizeof(p.request_id) - 1);
	p.issued_ms = -9223372036854775807LL - 1;
	ck_assert_int_eq(st_principal_sign(&p, SECRET, header, sizeof(header)), ST_OK);
	ck_assert_uint_le(strlen(header), 511);
	/* now at the far edge of the window, so that now - max_age stays in range */
	ck_assert_int_eq(st_principal_verify(header, SECRET, p.issued_ms + MAX_AGE, MAX_AGE, &out,
					     why, sizeof(why)),
			 ST_OK);
	ck_assert_str_eq(out.request_id, p.request_id);
}
END_TEST

/* ---- scopes ---- */

static const struct {
	const char *list;
	bool ok;
	unsigned want;
} scope_lists[] = {
	{ "", true, ST_SCOPE_NONE },
	{ "read", true, ST_SCOPE_READ },
	{ "read,write", true, ST_SCOPE_READ | ST_SCOPE_WRITE },
	{ "write,read", true, ST_SCOPE_READ | ST_SCOPE_WRITE },
	{ "read write", true, ST_SCOPE_READ | ST_SCOPE_WRITE },
	{ "read, write", true, ST_SCOPE_READ | ST_SCOPE_WRITE },
	{ " read ,, write ", true, ST_SCOPE_READ | ST_SCOPE_WRITE },
	{ "read,read,read", true, ST_SCOPE_READ },
	{ ",", true, ST_SCOPE_NONE },
	{ "read,write,admin,dashboard,ingest", true, ST_SCOPE_ALL },
	{ "ingest,dashboard,admin,write,read", true, ST_SCOPE_ALL },
	{ "admin", true, ST_SCOPE_ADMIN },
	{ "dashboard", true, ST_SCOPE_DASHBOARD },
	{ "ingest", true, ST_SCOPE_INGEST },
	{ "unknown", false, 0 },
	{ "read,unknown", false, 0 },
	{ "READ", false, 0 },
	{ "rea", false, 0 },
	{ "reads", false, 0 },
	{ "read;write", false, 0 },
	{ "read\twrite", false, 0 },
};

START_TEST(scopes_parse_table)
{
	unsigned got = 0xdead;
	bool ok = st_scopes_parse(scope_lists[_i].list, &got);

	ck_assert_msg(ok == scope_lists[_i].ok, "'%s'", scope_lists[_i].list);
	if (ok)
		ck_assert_uint_eq(got, scope_lists[_i].want);
	else
		ck_assert_uint_eq(got, 0xdead); /* untouched */
}
END_TEST

static const struct {
	unsigned scopes;
	const char *text;
} scope_texts[] = {
	{ ST_SCOPE_NONE, "" },
	{ ST_SCOPE_READ, "read" },
	{ ST_SCOPE_WRITE | ST_SCOPE_READ, "read,write" },
	{ ST_SCOPE_INGEST | ST_SCOPE_READ, "read,ingest" },
	{ ST_SCOPE_ALL, "read,write,admin,dashboard,ingest" },
	{ ST_SCOPE_ALL | (1u << 7), "read,write,admin,dashboard,ingest" }, /* unknown bits */
};

START_TEST(scopes_format_table)
{
	char buf[64];
	unsigned back = 0;

	ck_assert(st_scopes_format(scope_texts[_i].scopes, buf, sizeof(buf)));
	ck_assert_str_eq(buf, scope_texts[_i].text);
	/* and back again */
	ck_assert(st_scopes_parse(buf, &back));
	ck_assert_uint_eq(back, scope_texts[_i].scopes & ST_SCOPE_ALL);
}
END_TEST

START_TEST(scopes_format_cut)
{
	char buf[16];

	ck_assert(st_scopes_format(ST_SCOPE_READ | ST_SCOPE_WRITE, buf, 11)); /* exactly */
	ck_assert_str_eq(buf, "read,write");
	ck_assert(!st_scopes_format(ST_SCOPE_READ | ST_SCOPE_WRITE, buf, 10));
	ck_assert_str_eq(buf, "read"); /* what fitted, still terminated */
	ck_assert(!st_scopes_format(ST_SCOPE_READ, buf, 4));
	ck_assert_str_eq(buf, "");
	ck_assert(!st_scopes_format(ST_SCOPE_READ, buf, 0));
	ck_assert(st_scopes_format(ST_SCOPE_NONE, buf, 1));
}
END_TEST

static const struct {
	unsigned have, need;
	bool ok;
} allows[] = {
	{ ST_SCOPE_READ, ST_SCOPE_READ, true },
	{ ST_SCOPE_READ | ST_SCOPE_WRITE, ST_SCOPE_READ, true },
	{ ST_SCOPE_READ | ST_SCOPE_WRITE, ST_SCOPE_READ | ST_SCOPE_WRITE, true },
	{ ST_SCOPE_READ, ST_SCOPE_READ | ST_SCOPE_WRITE, false },
	{ ST_SCOPE_WRITE, ST_SCOPE_READ, false },
	{ ST_SCOPE_NONE, ST_SCOPE_READ, false },
	{ ST_SCOPE_NONE, ST_SCOPE_NONE, true },
	{ ST_SCOPE_READ, ST_SCOPE_NONE, true },
	{ ST_SCOPE_ADMIN, ST_SCOPE_READ, false }, /* admin does not imply read */
	{ ST_SCOPE_ALL, ST_SCOPE_ADMIN | ST_SCOPE_INGEST, true },
};

START_TEST(scopes_allow_table)
{
	ck_assert_msg(st_scopes_allow(allows[_i].have, allows[_i].need) == allows[_i].ok,
		      "have %x need %x", allows[_i].have, allows[_i].need);
}
END_TEST

static const struct {
	const char *s;
	size_t cap;
	bool ok;
} field_values[] = {
	{ "abc", 16, true },  { "A-Z_a.z:0@9", 16, true }, { "", 16, false },
	{ "abc", 4, true },   { "abcd", 4, false },        { "a;b", 16, false },
	{ "a=b", 16, false }, { "a,b", 16, false },        { "a b", 16, false },
};

START_TEST(field_ok_table)
{
	ck_assert_msg(st_principal_field_ok(field_values[_i].s, field_values[_i].cap) ==
			      field_values[_i].ok,
		      "'%s' cap %zu", field_values[_i].s, field_values[_i].cap);
}
END_TEST

Suite *
principal_suite(void)
{
	Suite *s = suite_create("principal");
	TCase *sig = tcase_create("signature");
	TCase *scopes = tcase_create("scopes");

	tcase_add_test(sig, round_trip);
	tcase_add_test(sig, wire_form);
	tcase_add_test(sig, round_trip_edges);
	tcase_add_test(sig, missing);
	tcase_add_loop_test(sig, malformed_table, 0, (int)ST_ARRAY_LEN(malformed));
	tcase_add_test(sig, overlong_header);
	tcase_add_test(sig, tampered);
	tcase_add_test(sig, wrong_secret);
	tcase_add_test(sig, freshness);
	tcase_add_loop_test(sig, sign_refuses_bad_fields, 0, (int)ST_ARRAY_LEN(bad_fields));
	tcase_add_test(sig, sign_buffer_too_small);
	tcase_add_test(sig, sign_largest_fits_512);
	suite_add_tcase(s, sig);

	tcase_add_loop_test(scopes, scopes_parse_table, 0, (int)ST_ARRAY_LEN(scope_lists));
	tcase_add_loop_test(scopes, scopes_format_table, 0, (int)ST_ARRAY_LEN(scope_texts));
	tcase_add_test(scopes, scopes_format_cut);
	tcase_add_loop_test(scopes, scopes_allow_table, 0, (int)ST_ARRAY_LEN(allows));
	tcase_add_loop_test(scopes, field_ok_table, 0, (int)ST_ARRAY_LEN(field_values));
	suite_add_tcase(s, scopes);
	return s;
}
