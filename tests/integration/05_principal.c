/*
 * Internal services trust nobody but the gateway: a request without a principal, with a
 * forged signature, signed under another secret, stale or from the future is refused with 401
 * problem+json before routing (an unknown path then reveals nothing); a well-signed one is
 * routed (an unknown path is then a 404).
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "strata/principal.h"

static const char *const internal[] = { "auth",     "ingest",    "statistics",
					"alerting", "scheduler", "storage" };

static const char *
secret(void)
{
	const char *s = it_env("INTERNAL_SECRET", NULL);

	ck_assert_msg(s != NULL, "INTERNAL_SECRET must be exported to the tests");
	return s;
}

/* Signs a principal issued skew_ms from now under key into header ("X-Strata-Principal: ..."). */
static void
make_header(const char *key, int64_t skew_ms, char *header, size_t cap)
{
	struct st_principal p;
	char value[512];

	memset(&p, 0, sizeof(p));
	st_strlcpy(p.sub, "it-user-1", sizeof(p.sub));
	st_strlcpy(p.kind, "user", sizeof(p.kind));
	p.scopes = ST_SCOPE_READ | ST_SCOPE_WRITE;
	st_strlcpy(p.request_id, "it-principal", sizeof(p.request_id));
	p.issued_ms = st_now_wall_ms() + skew_ms;
	ck_assert_int_eq(st_principal_sign(&p, key, value, sizeof(value)), ST_OK);
	snprintf(header, cap, "%s: %s", ST_PRINCIPAL_HEADER, value);
}

/* Asserts that GET path on service with the given header line is a 401 problem. */
static void
assert_refused(const char *service, const char *path, const char *header_line)
{
	const char *hdrs[] = { header_line, NULL };
	struct it_resp r;
	char url[400], ctype[128];
	cJSON *doc;

	snprintf(url, sizeof(url), "%s%s", it_service_url(service), path);
	ck_assert_int_eq(it_http("GET", url, header_line ? hdrs : NULL, NULL, &r), 401);
	ck_assert(it_resp_header(&r, "Content-Type", ctype, sizeof(ctype)));
	ck_assert_str_eq(ctype, "application/problem+json");
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(cJSON_GetObjectItem(doc, "status")->valueint, 401);
	ck_assert_str_eq(cJSON_GetObjectItem(doc, "type")->valuestring, "/problems/unauthorized");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}

START_TEST(missing_principal_is_refused_before_routing)
{
	assert_refused(internal[_i], "/api/v1/anything", NULL);
	assert_refused(internal[_i], "/not/a/route/at/all", NULL);
}
END_TEST

START_TEST(forged_signature_is_refused)
{
	char header[700];
	size_t n;

	make_header(secret(), 0, header, sizeof(header));
	n = strlen(header);
	header[n - 1] = header[n - 1] == '0' ? '1' : '0'; /* one hex digit of the MAC */
	assert_refused(internal[_i], "/api/v1/anything", header);
}
END_TEST

START_TEST(tampered_scopes_are_refused)
{
	char header[700], forged[800];
	char *scopes;

	make_header(secret(), 0, header, sizeof(header));
	scopes = strstr(header, "scopes=read,write");
	ck_assert_ptr_nonnull(scopes);
	snprintf(forged, sizeof(forged), "%.*sscopes=read,write,admin%s", (int)(scopes - header),
		 header, scopes + strlen("scopes=read,write"));
	assert_refused(internal[_i], "/api/v1/anything", forged);
}
END_TEST

START_TEST(other_secret_is_refused)
{
	char header[700];

	make_header("not-the-suite-secret-not-the-suite-secret", 0, header, sizeof(header));
	assert_refused(internal[_i], "/api/v1/anything", header);
}
END_TEST

START_TEST(stale_and_future_principals_are_refused)
{
	char header[700];

	make_header(secret(), -10 * 60 * 1000, header, sizeof(header));
	assert_refused(internal[_i], "/api/v1/anything", header);
	make_header(secret(), +10 * 60 * 1000, header, sizeof(header));
	assert_refused(internal[_i], "/api/v1/anything", header);
}
END_TEST

START_TEST(signed_principal_is_routed)
{
	char header[700], url[400];
	const char *hdrs[2];
	struct it_resp r;

	make_header(secret(), 0, header, sizeof(header));
	hdrs[0] = header;
	hdrs[1] = NULL;
	snprintf(url, sizeof(url), "%s/api/v1/no-such-resource", it_service_url(internal[_i]));
	ck_assert_int_eq(it_http("GET", url, hdrs, NULL, &r), 404);
	ck_assert_ptr_nonnull(strstr(r.body, "/problems/not-found"));
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(probes_need_no_principal)
{
	static const char *const probes[] = { "/healthz", "/readyz", "/metrics" };

	for (size_t i = 0; i < 3; i++) {
		struct it_resp r;
		char url[400];

		snprintf(url, sizeof(url), "%s%s", it_service_url(internal[_i]), probes[i]);
		ck_assert_int_eq(it_http("GET", url, NULL, NULL, &r), 200);
		it_resp_cleanup(&r);
	}
}
END_TEST

Suite *
principal_suite(void)
{
	Suite *s = suite_create("principal");
	TCase *tc = tcase_create("internal-services");
	int n = (int)(sizeof(internal) / sizeof(internal[0]));

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, missing_principal_is_refused_before_routing, 0, n);
	tcase_add_loop_test(tc, forged_signature_is_refused, 0, n);
	tcase_add_loop_test(tc, tampered_scopes_are_refused, 0, n);
	tcase_add_loop_test(tc, other_secret_is_refused, 0, n);
	tcase_add_loop_test(tc, stale_and_future_principals_are_refused, 0, n);
	tcase_add_loop_test(tc, signed_principal_is_routed, 0, n);
	tcase_add_loop_test(tc, probes_need_no_principal, 0, n);
	suite_add_tcase(s, tc);
	return s;
}
