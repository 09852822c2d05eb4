/*
 * Request bodies over a service's limit (HTTP_BODY_MAX, 1 MiB by default) are refused with
 * 413 problem+json, and the client sees that answer every time: never a reset, never a 502.
 * The server answers before it has read the whole body, so it must then read and discard the
 * rest (a lingering close) rather than close a connection with unread bytes in it, which
 * makes the kernel send a reset that can destroy the answer in flight. That loses only
 * sometimes, so each case repeats ROUNDS times on fresh connections and counts every miss.
 *
 * The uploads are UPLOAD bytes: over auth's limit and under nginx's client_max_body_size
 * (16m), so that the service decides. They go straight to auth (with a signed principal) and
 * through the public API (it_api_url(): nginx, or a gateway named by STRATA_API_URL, where
 * the gateway streams the body to auth and auth answers while the upload is in progress);
 * chunked and with Content-Length; from a client that sends without waiting for
 * 100 Continue, and from one that waits. Refusals that come before any of the body is read
 * (401 for an unsigned caller, 404 for an unknown path) must arrive as reliably. After each
 * case a normal request on a fresh connection still gets its answer.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "harness.h"

#define UPLOAD (3 * 1024 * 1024)
#define ROUNDS 20

/* ---- one upload ---- */

struct feed {
	size_t left;
};

/* The body, made as curl asks for it: JSON-looking bytes that never end before the limit. */
static size_t
feed_read(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct feed *f = userdata;
	size_t n = size * nitems;

	if (n > f->left)
		n = f->left;
	memset(buf, 'a', n);
	if (n > 0 && f->left == UPLOAD)
		buf[0] = '{';
	f->left -= n;
	return n;
}

struct answer {
	CURLcode cc;
	long status;
	char ctype[128];
	bool closes; /* the answer carried Connection: close */
	char body[2048];
	size_t len;
	char retry_after[16];
};

static size_t
answer_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct answer *a = userdata;
	size_t n = size * nmemb, room = sizeof(a->body) - 1 - a->len;

	memcpy(a->body + a->len, ptr, n < room ? n : room);
	a->len += n < room ? n : room;
	a->body[a->len] = '\0';
	return n;
}

/* Copies the value of header line "Name: value\r\n" into out when its name is name. */
static void
header_take(const char *line, size_t n, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name), v, end = n;

	if (n <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
		return;
	for (v = nlen + 1; v < n && line[v] == ' '; v++)
		;
	while (end > v && (line[end - 1] == '\r' || line[end - 1] == '\n'))
		end--;
	snprintf(out, cap, "%.*s", (int)(end - v), line + v);
}

static size_t
answer_header(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct answer *a = userdata;
	size_t n = size * nitems;
	char conn[64] = "";

	if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0) { /* a new head (after 100 Continue) */
		a->ctype[0] = '\0';
		a->closes = false;
	}
	header_take(ptr, n, "Content-Type", a->ctype, sizeof(a->ctype));
	header_take(ptr, n, "Retry-After", a->retry_after, sizeof(a->retry_after));
	header_take(ptr, n, "Connection", conn, sizeof(conn));
	if (strcasecmp(conn, "close") == 0)
		a->closes = true;
	return n;
}

/*
 * POSTs UPLOAD bytes to url on a new connection: chunked or with Content-Length, waiting for
 * 100 Continue first or not. headers: NULL-terminated "Name: value" lines.
 */
static void
upload(const char *url, const char *const *headers, bool chunked, bool expect, struct answer *a)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *list = NULL;
	struct feed f = { UPLOAD };

	memset(a, 0, sizeof(*a));
	ck_assert_ptr_nonnull(curl);
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		list = curl_slist_append(list, headers[i]);
	if (chunked)
		list = curl_slist_append(list, "Transfer-Encoding: chunked");
	/* curl waits for 100 Continue on large bodies unless told not to. */
	list = curl_slist_append(list, expect ? "Expect: 100-continue" : "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, feed_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, &f);
	if (!chunked)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)UPLOAD);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, answer_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, answer_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	a->cc = curl_easy_perform(curl);
	if (a->cc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->status);
	curl_slist_free_all(list);
	curl_easy_cleanup(curl);
}

/* True when the answer is a whole problem+json document of that status, whose detail begins
 * with detail (so that it is known who answered: nginx's own 413 and 404 say otherwise). */
static bool
is_problem_of(const struct answer *a, long status, const char *detail)
{
	cJSON *doc, *st;
	const char *d;
	bool ok;

	if (strncmp(a->ctype, "application/problem+json", 24) != 0)
		return false;
	doc = cJSON_Parse(a->body);
	st = cJSON_GetObjectItem(doc, "status");
	d = cJSON_GetStringValue(cJSON_GetObjectItem(doc, "detail"));
	ok = cJSON_IsNumber(st) && (long)st->valuedouble == status &&
	     cJSON_IsString(cJSON_GetObjectItem(doc, "type")) && d != NULL &&
	     strncmp(d, detail, strlen(detail)) == 0;
	cJSON_Delete(doc);
	return ok;
}

/* ---- a case: ROUNDS uploads, every one answered `want` ---- */

enum target { TO_SERVICE, TO_API };

struct round_case {
	enum target target;
	const char *path;
	bool chunked;
	bool expect;
	bool sign; /* send a signed principal (straight to the service only) */
	long want;
	const char *detail; /* how the answer's detail begins */
};

/* The details of the refusals expected: auth's 413 and 401, the gateway's 404. */
#define TOO_LARGE "the body is larger than "
#define UNSIGNED  "a valid X-Strata-Principal header is required"
#define NOT_FOUND "no resource at"

/* The URL and headers of one round (a fresh principal each time: they go stale). */
static void
round_request(const struct round_case *c, char *url, size_t cap, char *principal, size_t pcap,
	      const char **headers)
{
	size_t n = 0;

	snprintf(url, cap, "%s%s", c->target == TO_SERVICE ? it_service_url("auth") : it_api_url(),
		 c->path);
	headers[n++] = "Content-Type: application/json";
	if (c->sign) {
		it_principal_header("POST", url, "anonymous", "anonymous", 0, principal, pcap);
		headers[n++] = principal;
	}
	headers[n] = NULL;
}

/* Runs the case's rounds; returns how many missed, with a note on each miss in why. 429s
 * (the API's rate limit, shared by the suite) are waited out and not counted. */
static int
run_rounds(const struct round_case *c, char *why, size_t cap)
{
	int missed = 0, waits = 0;
	size_t wl = 0;

	why[0] = '\0';
	for (int i = 0; i < ROUNDS; i++) {
		char url[512], principal[700];
		const char *headers[4];
		struct answer a;
		bool ok;

		round_request(c, url, sizeof(url), principal, sizeof(principal), headers);
		upload(url, headers, c->chunked, c->expect, &a);
		if (a.cc == CURLE_OK && a.status == 429 && waits++ < 10) {
			long secs = strtol(a.retry_after, NULL, 10);

			sleep((unsigned)(secs > 0 && secs < 10 ? secs : 1));
			i--;
			continue;
		}
		ok = a.cc == CURLE_OK && a.status == c->want &&
		     is_problem_of(&a, c->want, c->detail);
		/* The service says it will close: it has not read the whole body. */
		if (ok && c->target == TO_SERVICE && !a.closes)
			ok = false;
		if (ok)
			continue;
		missed++;
		if (wl + 1 < cap) {
			int n = snprintf(why + wl, cap - wl, " [round %d: %s, status %ld%s]", i + 1,
					 curl_easy_strerror(a.cc), a.status,
					 a.cc == CURLE_OK && !a.closes && c->target == TO_SERVICE
						 ? ", no Connection: close"
						 : "");

			wl = n < 0 ? wl : wl + (size_t)n;
		}
	}
	return missed;
}

/* A normal request on a new connection: a small JSON body that auth reads and refuses
 * field by field (400 naming the missing password), so the body was read and parsed. */
static void
normal_request_works(enum target target)
{
	char url[512], principal[700];
	const char *headers[3] = { "Content-Type: application/json", NULL, NULL };
	struct it_resp r;
	cJSON *doc;

	snprintf(url, sizeof(url), "%s/api/v1/auth/login",
		 target == TO_SERVICE ? it_service_url("auth") : it_api_url());
	if (target == TO_SERVICE) {
		it_principal_header("POST", url, "anonymous", "anonymous", 0, principal,
				    sizeof(principal));
		headers[1] = principal;
	}
	for (int i = 0; i < 10; i++) {
		it_http("POST", url, headers, "{\"email\":\"it-limits@example.com\"}", &r);
		if (r.status != 429)
			break;
		it_resp_cleanup(&r);
		sleep(1);
	}
	ck_assert_int_eq(r.status, 400);
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	ck_assert_msg(strstr(r.body, "password") != NULL, "no password error: %s", r.body);
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}

static void
check_case(const struct round_case *c, const char *name)
{
	char why[2048];
	int missed = run_rounds(c, why, sizeof(why));

	ck_assert_msg(missed == 0, "%s: %d of %d uploads not answered %ld problem+json:%s", name,
		      missed, ROUNDS, c->want, why);
	normal_request_works(c->target);
}

/* ---- straight to the service ---- */

START_TEST(service_chunked_over_limit)
{
	const struct round_case c = { TO_SERVICE, "/api/v1/auth/login", true, false, true, 413,
				      TOO_LARGE };

	check_case(&c, "chunked to auth");
}
END_TEST

START_TEST(service_content_length_over_limit)
{
	const struct round_case c = { TO_SERVICE, "/api/v1/auth/login", false, false, true, 413,
				      TOO_LARGE };

	check_case(&c, "Content-Length to auth");
}
END_TEST

/* Waiting for 100 Continue: refused before the body is invited (Content-Length), or after
 * reading past the limit (chunked). */
START_TEST(service_expect_over_limit)
{
	const struct round_case cl = { TO_SERVICE, "/api/v1/auth/login", false, true, true, 413,
				       TOO_LARGE };
	const struct round_case ch = { TO_SERVICE, "/api/v1/auth/login", true, true, true, 413,
				       TOO_LARGE };

	check_case(&cl, "Content-Length with Expect to auth");
	check_case(&ch, "chunked with Expect to auth");
}
END_TEST

/* An unsigned caller is refused before the handler, with the whole body unread. */
START_TEST(service_refused_before_reading)
{
	const struct round_case c = { TO_SERVICE, "/api/v1/auth/login", true, false, false, 401,
				      UNSIGNED };

	check_case(&c, "unsigned chunked to auth");
}
END_TEST

/* ---- through the public API ---- */

START_TEST(api_chunked_over_limit)
{
	const struct round_case c = { TO_API,   "/api/v1/auth/login", true, false, false, 413,
				      TOO_LARGE };

	check_case(&c, "chunked through the API");
}
END_TEST

START_TEST(api_content_length_over_limit)
{
	const struct round_case c = { TO_API,   "/api/v1/auth/register", false, false, false, 413,
				      TOO_LARGE };

	check_case(&c, "Content-Length through the API");
}
END_TEST

START_TEST(api_expect_over_limit)
{
	const struct round_case cl = { TO_API,   "/api/v1/auth/login", false, true, false, 413,
				       TOO_LARGE };
	const struct round_case ch = { TO_API,   "/api/v1/auth/register", true, true, false, 413,
				       TOO_LARGE };

	check_case(&cl, "Content-Length with Expect through the API");
	check_case(&ch, "chunked with Expect through the API");
}
END_TEST

/* The gateway refuses an unknown path itself, before reading any of the body. */
START_TEST(api_refused_before_reading)
{
	const struct round_case c = { TO_API,   "/api/v1/no-such-resource", true, false, false, 404,
				      NOT_FOUND };

	check_case(&c, "chunked to an unknown path through the API");
}
END_TEST

Suite *body_limits_suite(void);

Suite *
body_limits_suite(void)
{
	Suite *s = suite_create("body_limits");
	TCase *service = tcase_create("service");
	TCase *api = tcase_create("api");

	tcase_set_timeout(service, 60);
	tcase_add_test(service, service_chunked_over_limit);
	tcase_add_test(service, service_content_length_over_limit);
	tcase_add_test(service, service_expect_over_limit);
	tcase_add_test(service, service_refused_before_reading);
	suite_add_tcase(s, service);
	tcase_set_timeout(api, 90);
	tcase_add_test(api, api_chunked_over_limit);
	tcase_add_test(api, api_content_length_over_limit);
	tcase_add_test(api, api_expect_over_limit);
	tcase_add_test(api, api_refused_before_reading);
	suite_add_tcase(s, api);
	return s;
}
