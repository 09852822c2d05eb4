/*
 * The gateway as a proxy, from the outside. Through the public API (it_api_url()): the health
 * answers, the OpenAPI document, /internal/ never routed, a forged X-Strata-Principal never
 * reaching a service, request ids coming back. With spare gateways started by the test, each
 * pointed at an upstream the test controls: both bodies streamed (5 MiB up, 32 MiB down,
 * chunked) with the signed principal, the client's address and the request id; an
 * unreachable service (a closed port) answered 503 with Retry-After; a silent one (a socket
 * that accepts and never answers) answered 504 after GATEWAY_PROXY_TIMEOUT_MS; Redis away:
 * requests still answered and health naming the rate limiter "degraded (fail-open)".
 *
 * Spare gateways share Redis with the suite: each test sends its own X-Real-IP so that its
 * anonymous calls count against a rate-limit key of their own.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "strata/core.h"
#include "strata/principal.h"

#define BIG_UP   (5 * 1024 * 1024)
#define BIG_DOWN (32 * 1024 * 1024)

/* ---- helpers ---- */

/* GET or POST through the API, waiting out a 429 (the suite's other tests share the
 * anonymous rate limit of 127.0.0.1). */
static long
api(const char *method, const char *path, const char *const *headers, const char *body,
    struct it_resp *r)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", it_api_url(), path);
	for (int i = 0;; i++) {
		char wait[16];

		it_http(method, url, headers, body, r);
		if (r->status != 429 || i == 5)
			return r->status;
		if (!it_resp_header(r, "Retry-After", wait, sizeof(wait)))
			snprintf(wait, sizeof(wait), "1");
		it_resp_cleanup(r);
		{
			long secs = strtol(wait, NULL, 10);

			sleep((unsigned)(secs > 0 && secs < 10 ? secs : 1));
		}
	}
}

static bool
is_problem(const struct it_resp *r)
{
	char ctype[128];

	return it_resp_header(r, "Content-Type", ctype, sizeof(ctype)) &&
	       strncmp(ctype, "application/problem+json", 24) == 0;
}

/* A listening socket on a free port of 127.0.0.1; *port receives the port. */
static int
listen_any(int *port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port nothing listens on (free a moment ago). */
static int
closed_port(void)
{
	int port, fd = listen_any(&port);

	close(fd);
	return port;
}

struct spare {
	pid_t pid;
	int port;
	char url[64];
	char log[64];
};

/* Starts $STRATA_BIN/strata-gateway on a free port with GATEWAY_AUTH_URL=auth_url and the
 * extra "K=V" settings, and waits until it answers (/healthz: /readyz stays 503 while
 * Redis is away). */
static void
spare_start2(struct spare *g, const char *auth_url, const char *extra, const char *extra2)
{
	char bin[512], port_s[32], auth_s[256];

	g->port = closed_port();
	snprintf(g->url, sizeof(g->url), "http://127.0.0.1:%d", g->port);
	snprintf(g->log, sizeof(g->log), "/tmp/strata-it-gwproxy-XXXXXX");
	close(mkstemp(g->log));
	snprintf(bin, sizeof(bin), "%s/strata-gateway", it_env("STRATA_BIN", "bin"));
	snprintf(port_s, sizeof(port_s), "HTTP_PORT=%d", g->port);
	snprintf(auth_s, sizeof(auth_s), "GATEWAY_AUTH_URL=%s", auth_url);
	g->pid = fork();
	ck_assert_int_ge(g->pid, 0);
	if (g->pid == 0) {
		int fd = open(g->log, O_WRONLY | O_TRUNC);

		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		setenv("PRINCIPAL_KEYS", it_principal_keys("gateway"), 1);
		putenv(port_s);
		putenv(auth_s);
		putenv("HTTP_THREADS=16");
		putenv("GATEWAY_HEALTH_TIMEOUT_MS=200");
		putenv("GATEWAY_AUTH_TIMEOUT_MS=300"); /* its JWKS fetches: a quick stop */
		if (extra != NULL)
			putenv((char *)extra);
		if (extra2 != NULL)
			putenv((char *)extra2);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		struct it_resp r;
		char url[128];
		long st;

		snprintf(url, sizeof(url), "%s/healthz", g->url);
		st = it_http("GET", url, NULL, NULL, &r);
		it_resp_cleanup(&r);
		if (st == 200)
			return;
		usleep(100 * 1000);
	}
	ck_abort_msg("the spare gateway did not start (log: %s)", g->log);
}

static void
spare_start(struct spare *g, const char *auth_url, const char *extra)
{
	spare_start2(g, auth_url, extra, NULL);
}

/* Stops a spare gateway; it must exit 0 (a sanitizer report would make it fail). */
static void
spare_stop(struct spare *g)
{
	int status = -1;

	kill(g->pid, SIGTERM);
	for (int i = 0; i < 200 && status == -1; i++) {
		int st;

		if (waitpid(g->pid, &st, WNOHANG) == g->pid)
			status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		else
			usleep(50 * 1000);
	}
	if (status == -1) {
		kill(g->pid, SIGKILL);
		waitpid(g->pid, NULL, 0);
	}
	ck_assert_msg(status == 0, "the spare gateway exited %d (log: %s)", status, g->log);
	unlink(g->log);
}

static size_t
count_bytes(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	*(size_t *)userdata += size * nmemb;
	return size * nmemb;
}

/* GETs url counting the body's bytes without keeping them; returns the status (0: failed). */
static long
get_counting(const char *url, const char *header, size_t *bytes)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *list = curl_slist_append(NULL, header);
	long status = 0;

	*bytes = 0;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, count_bytes);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, bytes);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(list);
	curl_easy_cleanup(curl);
	return status;
}

/* "X-Real-IP: 198.51.100.N", different for each test process. */
static void
own_address(char *buf, size_t cap)
{
	snprintf(buf, cap, "X-Real-IP: 198.51.100.%d", (int)(getpid() % 250) + 1);
}

/* ---- an upstream the test controls: one connection, two exchanges ---- */

struct upstream {
	int fd;
	/* what the first request carried */
	long long body_bytes;
	char principal[512];
	char real_ip[64];
	char request_id[96];
	char host[128];
	bool saw_hop; /* a hop-by-hop header of the client's arrived */
};

/* Reads until the end of a request head into buf; returns its length (0 on failure). */
static size_t
read_head(int c, char *buf, size_t cap, size_t *have)
{
	for (;;) {
		char *end;
		ssize_t n;

		buf[*have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL)
			return (size_t)(end - buf) + 4;
		if (*have + 1 >= cap)
			return 0;
		n = read(c, buf + *have, cap - 1 - *have);
		if (n <= 0)
			return 0;
		*have += (size_t)n;
	}
}

static void
header_value(const char *head, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);

	out[0] = '\0';
	for (const char *l = strstr(head, "\r\n"); l != NULL; l = strstr(l + 2, "\r\n")) {
		const char *v = l + 2, *end;

		if (strncasecmp(v, name, nlen) != 0 || v[nlen] != ':')
			continue;
		v += nlen + 1;
		while (*v == ' ')
			v++;
		end = strstr(v, "\r\n");
		snprintf(out, cap, "%.*s", (int)(end ? end - v : (long)strlen(v)), v);
		return;
	}
}

static bool
write_all(int c, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(c, p, len);

		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* The first exchange: a POST whose body is counted, answered with what its head carried. */
static bool
serve_upload(struct upstream *u, int c, char *buf, size_t cap, size_t have, size_t head)
{
	char cl[32], expect[32], hop[16];
	char resp[256];
	int n;

	buf[head - 2] = '\0';
	header_value(buf, "Content-Length", cl, sizeof(cl));
	header_value(buf, ST_PRINCIPAL_HEADER, u->principal, sizeof(u->principal));
	header_value(buf, "X-Real-IP", u->real_ip, sizeof(u->real_ip));
	header_value(buf, "X-Request-Id", u->request_id, sizeof(u->request_id));
	header_value(buf, "Host", u->host, sizeof(u->host));
	header_value(buf, "Expect", expect, sizeof(expect));
	header_value(buf, "X-Hop", hop, sizeof(hop));
	u->saw_hop = hop[0] != '\0';
	if (strcasecmp(expect, "100-continue") == 0 &&
	    !write_all(c, "HTTP/1.1 100 Continue\r\n\r\n", 25))
		return false;
	u->body_bytes = (long long)(have - head);
	while (u->body_bytes < strtoll(cl, NULL, 10)) {
		ssize_t got = read(c, buf, cap);

		if (got <= 0)
			return false;
		u->body_bytes += got;
	}
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
		     "Location: /api/v1/auth/thing\r\nX-Upstream: yes\r\n"
		     "Connection: close, X-Secret-Hop\r\nX-Secret-Hop: 1\r\n"
		     "Content-Length: 11\r\n\r\n{\"ok\":true}");
	return write_all(c, resp, (size_t)n);
}

/* The second: a GET answered with BIG_DOWN bytes, chunked. */
static bool
serve_export(int c)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	char piece[8192], size[16];
	int n = snprintf(size, sizeof(size), "%zx\r\n", sizeof(piece));

	memset(piece, 'r', sizeof(piece));
	if (!write_all(c, head, sizeof(head) - 1))
		return false;
	for (size_t sent = 0; sent < BIG_DOWN; sent += sizeof(piece))
		if (!write_all(c, size, (size_t)n) || !write_all(c, piece, sizeof(piece)) ||
		    !write_all(c, "\r\n", 2))
			return false;
	return write_all(c, "0\r\n\r\n", 5);
}

/* Serves connections until both exchanges are done (or 20 s pass). Anything else (the
 * gateway's JWKS fetcher) gets 404 and a closed connection. */
static void *
upstream_main(void *arg)
{
	struct upstream *u = arg;
	static char buf[1 << 16];
	struct timeval tv = { 20, 0 };
	bool uploaded = false, exported = false;

	setsockopt(u->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!uploaded || !exported) {
		int c = accept(u->fd, NULL, NULL);

		if (c < 0)
			return NULL;
		for (;;) {
			size_t have = 0, head = read_head(c, buf, sizeof(buf), &have);
			bool ok;

			if (head == 0)
				break;
			if (strncmp(buf, "POST /api/v1/auth/upload ", 25) == 0) {
				/* answered with Connection: close: the upstream serves one
				 * connection at a time, and the gateway's next request may
				 * come from another of its threads */
				uploaded = serve_upload(u, c, buf, sizeof(buf), have, head);
				ok = false;
			} else if (strncmp(buf, "GET /api/v1/auth/export ", 24) == 0) {
				exported = serve_export(c);
				ok = false;
			} else {
				write_all(c,
					  "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
					  "Connection: close\r\n\r\n",
					  strlen("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
						 "Connection: close\r\n\r\n"));
				ok = false;
			}
			if (!ok)
				break;
		}
		close(c);
	}
	return NULL;
}

/* ---- through the public API ---- */

START_TEST(health_answers)
{
	struct it_resp r;
	cJSON *doc, *services;
	const char *status;
	long st = api("GET", "/api/v1/health", NULL, NULL, &r);

	ck_assert_msg(st == 200 || st == 503, "health: %ld", st);
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	status = cJSON_GetStringValue(cJSON_GetObjectItem(doc, "status"));
	ck_assert_ptr_nonnull(status);
	ck_assert(strcmp(status, "ok") == 0 || strcmp(status, "degraded") == 0);
	ck_assert_ptr_nonnull(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "rate_limiter")));
	services = cJSON_GetObjectItem(doc, "services");
	ck_assert(cJSON_IsObject(cJSON_GetObjectItem(services, "auth")));
	ck_assert(cJSON_IsObject(cJSON_GetObjectItem(doc, "dependencies")));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);

	/* the dashboard's views need credentials */
	ck_assert_int_eq(api("GET", "/api/v1/health/detailed", NULL, NULL, &r), 401);
	ck_assert(is_problem(&r));
	it_resp_cleanup(&r);
	ck_assert_int_eq(api("GET", "/api/v1/performance/summary", NULL, NULL, &r), 401);
	ck_assert(is_problem(&r));
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(openapi_lists_the_auth_paths)
{
	static const char *const paths[] = {
		"/api/v1/health",
		"/api/v1/health/detailed",
		"/api/v1/auth/register",
		"/api/v1/auth/login",
		"/api/v1/auth/refresh",
		"/api/v1/auth/logout",
		"/api/v1/auth/me",
		"/api/v1/auth/jwks",
		"/.well-known/openid-configuration",
		"/api/v1/users",
		"/api/v1/users/{id}",
		"/api/v1/api-keys",
		"/api/v1/api-keys/{id}",
		"/api/v1/performance/summary",
		"/api/v1/openapi.json",
	};
	struct it_resp r;
	char ctype[128];
	cJSON *doc, *p, *comp;

	ck_assert_int_eq(api("GET", "/api/v1/openapi.json", NULL, NULL, &r), 200);
	ck_assert(it_resp_header(&r, "Content-Type", ctype, sizeof(ctype)));
	ck_assert_str_eq(ctype, "application/json");
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	ck_assert(strncmp(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "openapi")), "3.1", 3) ==
		  0);
	p = cJSON_GetObjectItem(doc, "paths");
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		ck_assert_msg(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(p, paths[i])),
			      "%s missing", paths[i]);
	ck_assert(cJSON_GetObjectItem(p, "/internal/v1/api-keys/verify") == NULL);
	comp = cJSON_GetObjectItem(doc, "components");
	ck_assert(cJSON_IsObject(
		cJSON_GetObjectItem(cJSON_GetObjectItem(comp, "schemas"), "Problem")));
	ck_assert(cJSON_IsObject(
		cJSON_GetObjectItem(cJSON_GetObjectItem(comp, "securitySchemes"), "bearerAuth")));
	ck_assert(cJSON_IsObject(
		cJSON_GetObjectItem(cJSON_GetObjectItem(comp, "securitySchemes"), "apiKeyAuth")));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(internal_paths_are_not_routed)
{
	struct it_resp r;

	ck_assert_int_eq(api("POST", "/internal/v1/api-keys/verify", NULL, "{\"key\":\"x\"}", &r),
			 404);
	ck_assert(is_problem(&r));
	it_resp_cleanup(&r);
	ck_assert_int_eq(api("GET", "/internal/v1/anything", NULL, NULL, &r), 404);
	it_resp_cleanup(&r);
	ck_assert_int_eq(api("GET", "/api/v1/no-such-resource", NULL, NULL, &r), 404);
	ck_assert(is_problem(&r));
	it_resp_cleanup(&r);
}
END_TEST

/* auth refuses an unsigned or forged principal with 401: that a public auth route answers 200
 * while the client sends a forged one shows the gateway replaced it. */
START_TEST(forged_principal_is_not_passed_on)
{
	static const char *const forged[] = {
		"X-Strata-Principal: v1;sub=root;kind=user;scopes=read,write,admin;rid=x;t=1;"
		"sig=0000000000000000000000000000000000000000000000000000000000000000",
		NULL
	};
	struct it_resp r;
	cJSON *doc;

	ck_assert_int_eq(api("GET", "/api/v1/auth/jwks", forged, NULL, &r), 200);
	doc = cJSON_Parse(r.body);
	ck_assert(cJSON_IsArray(cJSON_GetObjectItem(doc, "keys")));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	ck_assert_int_eq(api("GET", "/.well-known/openid-configuration", forged, NULL, &r), 200);
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(request_ids_come_back)
{
	static const char *const paths[] = { "/api/v1/auth/jwks", "/api/v1/health",
					     "/api/v1/no-such-resource" };
	char line[96], id[64], got[96];
	const char *headers[] = { line, NULL };
	struct it_resp r;

	snprintf(id, sizeof(id), "it-gwproxy-%d-%ld", (int)getpid(), (long)time(NULL));
	snprintf(line, sizeof(line), "X-Request-Id: %s", id);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		api("GET", paths[i], headers, NULL, &r);
		ck_assert_msg(r.status != 0, "%s", paths[i]);
		ck_assert(it_resp_header(&r, "X-Request-Id", got, sizeof(got)));
		ck_assert_str_eq(got, id);
		it_resp_cleanup(&r);
	}
}
END_TEST

/* ---- spare gateways ---- */

START_TEST(bodies_stream_both_ways)
{
	struct upstream u;
	struct spare g;
	pthread_t t;
	char auth_url[64], addr[64], url[160], rid_line[96], rid[64];
	const char *up_headers[] = {
		"Content-Type: application/octet-stream",
		addr,
		rid_line,
		"Connection: X-Hop",
		"X-Hop: 1",
		"X-Strata-Principal: v1;sub=root;kind=user;scopes=admin;rid=x;t=1;sig=00",
		NULL
	};
	static const struct st_principal_bind upload_req = { "POST", "/api/v1/auth/upload", NULL };
	static const struct st_principal_bind export_req = { "GET", "/api/v1/auth/export", NULL };
	struct st_principal_keys *auth_keys;
	struct st_principal p;
	char *big = malloc(BIG_UP + 1), why[64], value[64];
	struct it_resp r;
	size_t down;
	int port;

	memset(&u, 0, sizeof(u));
	u.fd = listen_any(&port);
	snprintf(auth_url, sizeof(auth_url), "http://127.0.0.1:%d", port);
	spare_start(&g, auth_url, NULL);
	ck_assert_int_eq(pthread_create(&t, NULL, upstream_main, &u), 0);
	own_address(addr, sizeof(addr));
	snprintf(rid, sizeof(rid), "it-gwstream-%d", (int)getpid());
	snprintf(rid_line, sizeof(rid_line), "X-Request-Id: %s", rid);
	memset(big, 'u', BIG_UP);
	big[BIG_UP] = '\0';

	snprintf(url, sizeof(url), "%s/api/v1/auth/upload", g.url);
	ck_assert_int_eq(it_http("POST", url, up_headers, big, &r), 201);
	ck_assert_str_eq(r.body, "{\"ok\":true}");
	ck_assert(it_resp_header(&r, "Content-Type", value, sizeof(value)));
	ck_assert_str_eq(value, "application/json");
	ck_assert(it_resp_header(&r, "Location", value, sizeof(value)));
	ck_assert_str_eq(value, "/api/v1/auth/thing");
	ck_assert(it_resp_header(&r, "X-Upstream", value, sizeof(value)));
	ck_assert(!it_resp_header(&r, "X-Secret-Hop", value, sizeof(value)));
	ck_assert(it_resp_header(&r, "X-Request-Id", value, sizeof(value)));
	ck_assert_str_eq(value, rid);
	it_resp_cleanup(&r);
	snprintf(url, sizeof(url), "%s/api/v1/auth/export", g.url);
	ck_assert_int_eq(get_counting(url, addr, &down), 200);
	ck_assert_uint_eq(down, BIG_DOWN);

	pthread_join(t, NULL);
	/* what the service got: the whole body, the gateway's own signed principal for an
	 * anonymous caller (not the forged one), the client's address, the request id */
	ck_assert_int_eq(u.body_bytes, BIG_UP);
	auth_keys = it_principal_keys_of("auth");
	ck_assert_msg(st_principal_verify(u.principal, auth_keys, &upload_req, st_now_wall_ms(),
					  30000, &p, why, sizeof(why)) == ST_OK,
		      "principal '%s': %s", u.principal, why);
	/* signed by the gateway for auth and this request only */
	ck_assert_str_eq(p.signer, "gateway");
	ck_assert_str_eq(p.target, "auth");
	ck_assert_int_eq(st_principal_verify(u.principal, auth_keys, &export_req, st_now_wall_ms(),
					     30000, &p, why, sizeof(why)),
			 ST_ERR_AUTH);
	st_principal_keys_destroy(auth_keys);
	ck_assert_str_eq(p.kind, "anonymous");
	ck_assert_str_eq(p.request_id, rid);
	ck_assert_str_eq(u.real_ip, addr + strlen("X-Real-IP: "));
	ck_assert_str_eq(u.request_id, rid);
	ck_assert(strstr(u.host, "127.0.0.1:") == u.host);
	ck_assert(!u.saw_hop);

	close(u.fd);
	free(big);
	spare_stop(&g);
}
END_TEST

START_TEST(unreachable_service_is_503)
{
	struct spare g;
	char auth_url[64], addr[64], url[160], retry[16];
	const char *headers[] = { addr, "Content-Type: application/json", NULL };
	struct it_resp r;

	snprintf(auth_url, sizeof(auth_url), "http://127.0.0.1:%d", closed_port());
	spare_start(&g, auth_url, NULL);
	own_address(addr, sizeof(addr));
	snprintf(url, sizeof(url), "%s/api/v1/auth/login", g.url);
	ck_assert_int_eq(
		it_http("POST", url, headers, "{\"email\":\"a@b.c\",\"password\":\"x\"}", &r), 503);
	ck_assert(is_problem(&r));
	ck_assert(it_resp_header(&r, "Retry-After", retry, sizeof(retry)));
	ck_assert_int_gt(strtol(retry, NULL, 10), 0);
	it_resp_cleanup(&r);
	spare_stop(&g);
}
END_TEST

START_TEST(silent_service_is_504)
{
	struct spare g;
	char auth_url[64], addr[64], url[160];
	const char *headers[] = { addr, NULL };
	struct it_resp r;
	int port, fd = listen_any(&port); /* accepts (the kernel does), never answers */
	int64_t start;

	snprintf(auth_url, sizeof(auth_url), "http://127.0.0.1:%d", port);
	spare_start(&g, auth_url, "GATEWAY_PROXY_TIMEOUT_MS=200");
	own_address(addr, sizeof(addr));
	snprintf(url, sizeof(url), "%s/api/v1/auth/jwks", g.url);
	start = st_now_mono_ms();
	ck_assert_int_eq(it_http("GET", url, headers, NULL, &r), 504);
	ck_assert_int_lt(st_now_mono_ms() - start, 3000);
	ck_assert(is_problem(&r));
	it_resp_cleanup(&r);
	close(fd);
	spare_stop(&g);
}
END_TEST

/* A gateway whose Redis is away keeps answering (the rate limiter fails open) and both health
 * answers say so. */
START_TEST(redis_away_fails_open_and_health_says_so)
{
	struct spare g;
	char auth_url[64], addr[64], url[160], redis[64];
	const char *headers[] = { addr, NULL };
	struct it_resp r;
	cJSON *doc;

	snprintf(auth_url, sizeof(auth_url), "http://127.0.0.1:%d", closed_port());
	snprintf(redis, sizeof(redis), "REDIS_URL=redis://127.0.0.1:%d/0", closed_port());
	spare_start(&g, auth_url, redis);
	own_address(addr, sizeof(addr));
	snprintf(url, sizeof(url), "%s/api/v1/openapi.json", g.url);
	ck_assert_int_eq(it_http("GET", url, headers, NULL, &r), 200);
	it_resp_cleanup(&r);
	snprintf(url, sizeof(url), "%s/api/v1/health", g.url);
	ck_assert_int_eq(it_http("GET", url, headers, NULL, &r), 503);
	doc = cJSON_Parse(r.body);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "rate_limiter")),
			 "degraded (fail-open)");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	spare_stop(&g);
}
END_TEST

/* Fail-closed: with Redis away the API is refused with 503, but health still answers (the
 * health class is never refused), and says why. */
START_TEST(redis_away_fail_closed_spares_health)
{
	struct spare g;
	char auth_url[64], addr[64], url[160], redis[64], retry[16];
	const char *headers[] = { addr, "Content-Type: application/json", NULL };
	struct it_resp r;
	cJSON *doc;

	snprintf(auth_url, sizeof(auth_url), "http://127.0.0.1:%d", closed_port());
	snprintf(redis, sizeof(redis), "REDIS_URL=redis://127.0.0.1:%d/0", closed_port());
	spare_start2(&g, auth_url, redis, "GATEWAY_RATE_FAIL_CLOSED=true");
	own_address(addr, sizeof(addr));
	snprintf(url, sizeof(url), "%s/api/v1/auth/login", g.url);
	ck_assert_int_eq(it_http("POST", url, headers, "{}", &r), 503);
	ck_assert(is_problem(&r));
	ck_assert_ptr_nonnull(strstr(r.body, "rate limiting"));
	ck_assert(it_resp_header(&r, "Retry-After", retry, sizeof(retry)));
	it_resp_cleanup(&r);
	snprintf(url, sizeof(url), "%s/api/v1/health", g.url);
	ck_assert_int_eq(it_http("GET", url, headers, NULL, &r), 503);
	ck_assert(!is_problem(&r)); /* the health document, not a refusal */
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "rate_limiter")),
			 "degraded (fail-closed)");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
	spare_stop(&g);
}
END_TEST

Suite *
gateway_proxy_suite(void)
{
	Suite *s = suite_create("gateway_proxy");
	TCase *api_tc = tcase_create("api");
	TCase *spare_tc = tcase_create("spare");

	tcase_set_timeout(api_tc, 60);
	tcase_add_test(api_tc, health_answers);
	tcase_add_test(api_tc, openapi_lists_the_auth_paths);
	tcase_add_test(api_tc, internal_paths_are_not_routed);
	tcase_add_test(api_tc, forged_principal_is_not_passed_on);
	tcase_add_test(api_tc, request_ids_come_back);
	tcase_set_timeout(spare_tc, 60);
	tcase_add_test(spare_tc, bodies_stream_both_ways);
	tcase_add_test(spare_tc, unreachable_service_is_503);
	tcase_add_test(spare_tc, redis_away_fail_closed_spares_health);
	tcase_add_test(spare_tc, silent_service_is_504);
	tcase_add_test(spare_tc, redis_away_fails_open_and_health_says_so);
	suite_add_tcase(s, api_tc);
	suite_add_tcase(s, spare_tc);
	return s;
}
