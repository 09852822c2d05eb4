/*
 * Internal services trust a principal only for the request it was signed for, from a signer
 * allowed to sign it. Each of these is refused with 401 problem+json before routing (an
 * unknown path then reveals nothing): no principal, a forged signature, tampered scopes, one
 * signed with another pair's key, a stale or future one, one replayed on another path, with
 * another method or query, or on another service, and, on a spare service that also trusts a
 * second signer, that signer speaking for a user, for another service or outside /internal/.
 * A well-signed one is routed (an unknown path is then a 404). A service given a key it
 * neither signs nor verifies with refuses to start.
 */
#define _GNU_SOURCE
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "strata/principal.h"

static const char *const internal[] = { "auth",     "ingest",    "statistics",
					"alerting", "scheduler", "storage" };
#define NINTERNAL ((int)(sizeof(internal) / sizeof(internal[0])))

/* A path no service routes: a 404 once the principal is accepted. */
#define NOWHERE "/api/v1/no-such-resource"

/*
 * Signs, as the gateway with keys, a user principal issued skew_ms from now for method path
 * (and query, may be NULL) on service into header ("X-Strata-Principal: ...").
 */
static void
sign_with(const struct st_principal_keys *keys, const char *service, const char *method,
	  const char *path, const char *query, int64_t skew_ms, char *header, size_t cap)
{
	const struct st_principal_bind bind = { method, path, query };
	struct st_principal p;
	char value[ST_PRINCIPAL_WIRE_MAX];

	memset(&p, 0, sizeof(p));
	st_strlcpy(p.sub, "it-user-1", sizeof(p.sub));
	st_strlcpy(p.kind, "user", sizeof(p.kind));
	p.scopes = ST_SCOPE_READ | ST_SCOPE_WRITE;
	st_strlcpy(p.request_id, "it-principal", sizeof(p.request_id));
	p.issued_ms = st_now_wall_ms() + skew_ms;
	ck_assert_int_eq(st_principal_sign(&p, keys, service, &bind, value, sizeof(value)), ST_OK);
	snprintf(header, cap, "%s: %s", ST_PRINCIPAL_HEADER, value);
}

/* The same with the suite's own gateway keys. */
static void
sign_for(const char *service, const char *method, const char *path, const char *query,
	 int64_t skew_ms, char *header, size_t cap)
{
	struct st_principal_keys *gw = it_principal_keys_of("gateway");

	sign_with(gw, service, method, path, query, skew_ms, header, cap);
	st_principal_keys_destroy(gw);
}

/* Sends method url with the header line (may be NULL); returns the status, and asserts that a
 * 401 is the principal's problem+json. */
static long
send_with(const char *method, const char *url, const char *header_line)
{
	const char *hdrs[] = { header_line, NULL };
	struct it_resp r;
	char ctype[128];
	long status = it_http(method, url, header_line ? hdrs : NULL, NULL, &r);

	if (status == 401) {
		cJSON *doc = cJSON_Parse(r.body);

		ck_assert(it_resp_header(&r, "Content-Type", ctype, sizeof(ctype)));
		ck_assert_str_eq(ctype, "application/problem+json");
		ck_assert_ptr_nonnull(doc);
		ck_assert_int_eq(cJSON_GetObjectItem(doc, "status")->valueint, 401);
		ck_assert_str_eq(cJSON_GetObjectItem(doc, "type")->valuestring,
				 "/problems/unauthorized");
		ck_assert_ptr_nonnull(strstr(r.body, ST_PRINCIPAL_HEADER));
		cJSON_Delete(doc);
	}
	it_resp_cleanup(&r);
	return status;
}

/* Asserts that method path (with its query) on service with the header line is a 401. */
static void
assert_refused(const char *service, const char *method, const char *path_query,
	       const char *header_line)
{
	char url[400];

	snprintf(url, sizeof(url), "%s%s", it_service_url(service), path_query);
	ck_assert_msg(send_with(method, url, header_line) == 401, "%s %s on %s: not refused",
		      method, path_query, service);
}

/* Asserts that method path on service with the header line is routed: a 404 for NOWHERE. */
static void
assert_routed(const char *service, const char *method, const char *path_query,
	      const char *header_line)
{
	char url[400];

	snprintf(url, sizeof(url), "%s%s", it_service_url(service), path_query);
	ck_assert_int_eq(send_with(method, url, header_line), 404);
}

START_TEST(missing_principal_is_refused_before_routing)
{
	assert_refused(internal[_i], "GET", "/api/v1/anything", NULL);
	assert_refused(internal[_i], "GET", "/not/a/route/at/all", NULL);
}
END_TEST

START_TEST(forged_signature_is_refused)
{
	char header[700];
	size_t n;

	sign_for(internal[_i], "GET", NOWHERE, NULL, 0, header, sizeof(header));
	n = strlen(header);
	header[n - 1] = header[n - 1] == '0' ? '1' : '0'; /* one hex digit of the MAC */
	assert_refused(internal[_i], "GET", NOWHERE, header);
}
END_TEST

START_TEST(tampered_scopes_are_refused)
{
	char header[700], forged[800];
	char *scopes;

	sign_for(internal[_i], "GET", NOWHERE, NULL, 0, header, sizeof(header));
	scopes = strstr(header, "scopes=read,write");
	ck_assert_ptr_nonnull(scopes);
	snprintf(forged, sizeof(forged), "%.*sscopes=read,write,admin%s", (int)(scopes - header),
		 header, scopes + strlen("scopes=read,write"));
	assert_refused(internal[_i], "GET", NOWHERE, forged);
}
END_TEST

/* The hex key of gateway>target in the gateway's PRINCIPAL_KEYS, into key (65 bytes). */
static void
gateway_key_for(const char *target, char *key)
{
	char want[64];
	const char *spec = it_principal_keys("gateway"), *at;

	snprintf(want, sizeof(want), "gateway>%s:", target);
	at = strstr(spec, want);
	ck_assert_msg(at != NULL, "the gateway holds no key for %s", target);
	snprintf(key, 65, "%s", at + strlen(want));
}

START_TEST(another_pairs_key_is_refused)
{
	const char *other = internal[(_i + 1) % NINTERNAL];
	struct st_principal_keys *wrong = NULL;
	char key[65], spec[200], header[700], err[128];

	/* a principal that names this service, under the gateway's key for the next one */
	gateway_key_for(other, key);
	snprintf(spec, sizeof(spec), "gateway>%s:%s", internal[_i], key);
	ck_assert_int_eq(st_principal_keys_create("gateway", spec, &wrong, err, sizeof(err)),
			 ST_OK);
	sign_with(wrong, internal[_i], "GET", NOWHERE, NULL, 0, header, sizeof(header));
	st_principal_keys_destroy(wrong);
	assert_refused(internal[_i], "GET", NOWHERE, header);
}
END_TEST

START_TEST(stale_and_future_principals_are_refused)
{
	char header[700];

	/* past the window (PRINCIPAL_MAX_AGE_MS, 10 s by default), within the old one of 30 s */
	sign_for(internal[_i], "GET", NOWHERE, NULL, -12 * 1000, header, sizeof(header));
	assert_refused(internal[_i], "GET", NOWHERE, header);
	sign_for(internal[_i], "GET", NOWHERE, NULL, +12 * 1000, header, sizeof(header));
	assert_refused(internal[_i], "GET", NOWHERE, header);
	sign_for(internal[_i], "GET", NOWHERE, NULL, -10 * 60 * 1000, header, sizeof(header));
	assert_refused(internal[_i], "GET", NOWHERE, header);
}
END_TEST

START_TEST(replay_on_another_path_method_or_query_is_refused)
{
	char header[700];

	sign_for(internal[_i], "GET", NOWHERE, "limit=5", 0, header, sizeof(header));
	assert_routed(internal[_i], "GET", NOWHERE "?limit=5", header); /* its own request */
	assert_refused(internal[_i], "GET", "/api/v1/no-such-resource-either?limit=5", header);
	assert_refused(internal[_i], "GET", NOWHERE "/1?limit=5", header);
	assert_refused(internal[_i], "DELETE", NOWHERE "?limit=5", header);
	assert_refused(internal[_i], "POST", NOWHERE "?limit=5", header);
	assert_refused(internal[_i], "GET", NOWHERE "?limit=500", header);
	assert_refused(internal[_i], "GET", NOWHERE, header);
}
END_TEST

START_TEST(replay_on_another_service_is_refused)
{
	const char *other = internal[(_i + 1) % NINTERNAL];
	char header[700];

	sign_for(internal[_i], "GET", NOWHERE, NULL, 0, header, sizeof(header));
	assert_routed(internal[_i], "GET", NOWHERE, header);
	assert_refused(other, "GET", NOWHERE, header);
}
END_TEST

START_TEST(signed_principal_is_routed)
{
	char header[700];

	sign_for(internal[_i], "GET", NOWHERE, NULL, 0, header, sizeof(header));
	assert_routed(internal[_i], "GET", NOWHERE, header);
	/* a path that needs decoding is bound as the service routes it, decoded */
	sign_for(internal[_i], "GET", "/api/v1/no such", NULL, 0, header, sizeof(header));
	assert_routed(internal[_i], "GET", "/api/v1/no%20such", header);
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

/* ---- a spare service that trusts a second signer ---- */

/* The second signer's pair key (tests only), and the spare alerting that holds it. */
#define IT_SIGNER     "it-signer"
#define IT_SIGNER_KEY "5a17e0f1c2b3a4958677685940a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3"

struct spare {
	pid_t pid;
	char url[64];
	char log[64];
};

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Starts $STRATA_BIN/strata-alerting on a free port with keys as its PRINCIPAL_KEYS. With
 * wait, waits until it answers /healthz. */
static void
spare_start(struct spare *s, const char *keys, bool wait)
{
	char bin[512], port[32];
	int p = free_port();

	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", p);
	snprintf(port, sizeof(port), "%d", p);
	snprintf(s->log, sizeof(s->log), "/tmp/strata-it-principal-XXXXXX");
	close(mkstemp(s->log));
	snprintf(bin, sizeof(bin), "%s/strata-alerting", it_env("STRATA_BIN", "bin"));
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		int fd = open(s->log, O_WRONLY | O_TRUNC);

		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		setenv("HTTP_PORT", port, 1);
		setenv("HTTP_THREADS", "8", 1);
		setenv("PRINCIPAL_KEYS", keys, 1);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; wait && i < 100; i++) {
		struct it_resp r;
		char url[128];
		long st;

		snprintf(url, sizeof(url), "%s/healthz", s->url);
		st = it_http("GET", url, NULL, NULL, &r);
		it_resp_cleanup(&r);
		if (st == 200)
			return;
		usleep(100 * 1000);
	}
	ck_assert_msg(!wait, "the spare alerting did not start (log: %s)", s->log);
}

/* Waits up to ms for the spare to exit; its exit code, or -1 while it runs. */
static int
spare_wait(struct spare *s, int ms)
{
	for (int waited = 0; waited <= ms; waited += 50) {
		int st;

		if (waitpid(s->pid, &st, WNOHANG) == s->pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(50 * 1000);
	}
	return -1;
}

static void
spare_stop(struct spare *s)
{
	int code;

	kill(s->pid, SIGTERM);
	code = spare_wait(s, 15000);
	if (code == -1) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	ck_assert_msg(code == 0, "the spare alerting exited %d (log: %s)", code, s->log);
	unlink(s->log);
}

/*
 * Writes "X-Strata-Principal: <text>;sig=<MAC>" with the MAC computed here under IT_SIGNER's
 * key (as principal.h documents it), for what st_principal_sign would refuse to sign.
 */
static void
forge(const char *text, const char *method, const char *path, char *out, size_t cap)
{
	unsigned char key[32], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char input[1024];
	int n;

	for (size_t i = 0; i < 32; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(IT_SIGNER_KEY + 2 * i, "%2x", &v), 1);
		key[i] = (unsigned char)v;
	}
	n = snprintf(input, sizeof(input), "%s\n%s\n\n%s", text, method, path);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)input,
				   (size_t)n, mac, &maclen));
	n = snprintf(out, cap, "%s: %s;sig=", ST_PRINCIPAL_HEADER, text);
	for (unsigned i = 0; i < maclen; i++)
		n += snprintf(out + n, cap - (size_t)n, "%02x", mac[i]);
}

/* Sends method path to the spare with the header line; returns the status. */
static long
to_spare(const struct spare *s, const char *method, const char *path, const char *header)
{
	char url[256];

	snprintf(url, sizeof(url), "%s%s", s->url, path);
	return send_with(method, url, header);
}

START_TEST(non_gateway_signer_may_sign_only_for_itself_on_internal_routes)
{
	struct spare s;
	char keys[400], text[300], header[700];
	const char *route = "/internal/v1/nothing";
	struct st_principal_keys *signer = NULL;
	struct st_principal p;
	const struct st_principal_bind bind = { "GET", route, NULL };
	char value[ST_PRINCIPAL_WIRE_MAX], err[128];
	long long now = (long long)st_now_wall_ms();

	snprintf(keys, sizeof(keys), "%s,%s>alerting:%s", it_principal_keys("alerting"), IT_SIGNER,
		 IT_SIGNER_KEY);
	spare_start(&s, keys, true);

	/* its own service principal on an internal route: routed (a 404 there) */
	snprintf(keys, sizeof(keys), "%s>alerting:%s", IT_SIGNER, IT_SIGNER_KEY);
	ck_assert_int_eq(st_principal_keys_create(IT_SIGNER, keys, &signer, err, sizeof(err)),
			 ST_OK);
	memset(&p, 0, sizeof(p));
	st_strlcpy(p.sub, IT_SIGNER, sizeof(p.sub));
	st_strlcpy(p.kind, "service", sizeof(p.kind));
	p.issued_ms = st_now_wall_ms();
	ck_assert_int_eq(st_principal_sign(&p, signer, "alerting", &bind, value, sizeof(value)),
			 ST_OK);
	st_principal_keys_destroy(signer);
	snprintf(header, sizeof(header), "%s: %s", ST_PRINCIPAL_HEADER, value);
	ck_assert_int_eq(to_spare(&s, "GET", route, header), 404);

	/* a user, with its valid key: refused */
	snprintf(
		text, sizeof(text),
		"v2;by=%s;to=alerting;sub=it-user-1;kind=user;scopes=read,write,admin;rid=r;t=%lld",
		IT_SIGNER, now);
	forge(text, "GET", route, header, sizeof(header));
	ck_assert_int_eq(to_spare(&s, "GET", route, header), 401);
	/* an API key */
	snprintf(text, sizeof(text),
		 "v2;by=%s;to=alerting;sub=it-key-1;kind=apikey;scopes=read;rid=r;t=%lld",
		 IT_SIGNER, now);
	forge(text, "GET", route, header, sizeof(header));
	ck_assert_int_eq(to_spare(&s, "GET", route, header), 401);
	/* the gateway's service principal */
	snprintf(text, sizeof(text),
		 "v2;by=%s;to=alerting;sub=gateway;kind=service;scopes=;rid=r;t=%lld", IT_SIGNER,
		 now);
	forge(text, "GET", route, header, sizeof(header));
	ck_assert_int_eq(to_spare(&s, "GET", route, header), 401);
	/* itself, on a public path */
	snprintf(text, sizeof(text),
		 "v2;by=%s;to=alerting;sub=%s;kind=service;scopes=admin;rid=r;t=%lld", IT_SIGNER,
		 IT_SIGNER, now);
	forge(text, "GET", NOWHERE, header, sizeof(header));
	ck_assert_int_eq(to_spare(&s, "GET", NOWHERE, header), 401);
	/* and the suite's gateway still gets through */
	sign_for("alerting", "GET", NOWHERE, NULL, 0, header, sizeof(header));
	ck_assert_int_eq(to_spare(&s, "GET", NOWHERE, header), 404);
	spare_stop(&s);
}
END_TEST

START_TEST(a_key_the_service_does_not_need_stops_it)
{
	struct spare s;
	char keys[400], line[512];
	FILE *f;
	bool named = false;

	/* alerting given the gateway's key for auth besides its own */
	snprintf(keys, sizeof(keys), "%s,%s", it_principal_keys("alerting"),
		 it_principal_keys("auth"));
	spare_start(&s, keys, false);
	ck_assert_int_eq(spare_wait(&s, 10000), 2);
	f = fopen(s.log, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		named = named || (strstr(line, "PRINCIPAL_KEYS") != NULL &&
				  strstr(line, "gateway>auth") != NULL);
	fclose(f);
	ck_assert_msg(named, "no line naming PRINCIPAL_KEYS and the pair (log: %s)", s.log);
	unlink(s.log);
}
END_TEST

Suite *
principal_suite(void)
{
	Suite *s = suite_create("principal");
	TCase *tc = tcase_create("internal-services");
	TCase *signers = tcase_create("signers");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, missing_principal_is_refused_before_routing, 0, NINTERNAL);
	tcase_add_loop_test(tc, forged_signature_is_refused, 0, NINTERNAL);
	tcase_add_loop_test(tc, tampered_scopes_are_refused, 0, NINTERNAL);
	tcase_add_loop_test(tc, another_pairs_key_is_refused, 0, NINTERNAL);
	tcase_add_loop_test(tc, stale_and_future_principals_are_refused, 0, NINTERNAL);
	tcase_add_loop_test(tc, replay_on_another_path_method_or_query_is_refused, 0, NINTERNAL);
	tcase_add_loop_test(tc, replay_on_another_service_is_refused, 0, NINTERNAL);
	tcase_add_loop_test(tc, signed_principal_is_routed, 0, NINTERNAL);
	tcase_add_loop_test(tc, probes_need_no_principal, 0, NINTERNAL);
	suite_add_tcase(s, tc);

	tcase_set_timeout(signers, 60);
	tcase_add_test(signers, non_gateway_signer_may_sign_only_for_itself_on_internal_routes);
	tcase_add_test(signers, a_key_the_service_does_not_need_stops_it);
	suite_add_tcase(s, signers);
	return s;
}
