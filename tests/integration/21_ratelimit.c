/*
 * The rate limiter against the real Redis, and the client address it is keyed by.
 *
 * lua: the rows of tests/unit/gateway/gcra_cases.h, the table the unit test runs against
 * gw_gcra_step, go through the gateway's own Lua script (ratelimit_lua.h, the text the gateway
 * loads), EVALed the way ratelimit.c does with its clock fixed by ARGV[3]: its verdict, what it
 * returns, and what it stores must be the table's. Then the script on Redis's own clock, and
 * the denylist key answering before anything is counted.
 *
 * client address: a spare gateway whose TRUSTED_PROXIES leaves out loopback, so that the test
 * (connecting from 127.0.0.1) is a direct, untrusted caller. Each of its requests names a new
 * X-Real-IP and X-Forwarded-For; the rate limit must still count them all against the real
 * peer, and refuse the one past the limit. Likewise a spare auth: failed logins that each claim
 * a new address still lock the account for the real peer. A bad TRUSTED_PROXIES refuses to
 * start.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../services/gateway/ratelimit_lua.h"
#include "gateway/gcra_cases.h"
#include "harness.h"
#include "strata/core.h"
#include "strata/principal.h"
#include "strata/redis.h"

Suite *ratelimit_suite(void);

static const char script[] = GW_RATELIMIT_LUA;

static struct st_redis *
redis_client(void)
{
	struct st_redis_conf conf = { .url = it_env("REDIS_URL", NULL),
				      .size = 1,
				      .timeout_ms = 2000 };
	struct st_redis *r = NULL;

	ck_assert_msg(conf.url != NULL, "REDIS_URL is not set");
	ck_assert_int_eq(st_redis_create(&conf, &r), ST_OK);
	return r;
}

static void
redis_del(struct st_redis *r, const char *key)
{
	const char *del[] = { "DEL", key };

	ck_assert_int_eq(st_redis_argv(r, 2, del, NULL, NULL), ST_OK);
}

/* EVALs the script as ratelimit.c does (KEYS: key, deny_key when not NULL; ARGV: period,
 * burst), with now_us as its clock unless it is 0. Fills v with its three integers. */
static void
eval_script(struct st_redis *r, const char *key, const char *deny_key, int64_t period_us,
	    int64_t burst, int64_t now_us, long long v[3])
{
	char period[24], bursts[24], now[24];
	const char *argv[8] = { "EVAL", script, deny_key != NULL ? "2" : "1", key };
	struct redisReply *reply = NULL;
	int argc = 4;

	snprintf(period, sizeof(period), "%lld", (long long)period_us);
	snprintf(bursts, sizeof(bursts), "%lld", (long long)burst);
	snprintf(now, sizeof(now), "%lld", (long long)now_us);
	if (deny_key != NULL)
		argv[argc++] = deny_key;
	argv[argc++] = period;
	argv[argc++] = bursts;
	if (now_us != 0)
		argv[argc++] = now;
	ck_assert_int_eq(st_redis_argv(r, argc, argv, NULL, &reply), ST_OK);
	ck_assert_int_eq(reply->type, REDIS_REPLY_ARRAY);
	ck_assert_uint_eq(reply->elements, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(reply->element[i]->type, REDIS_REPLY_INTEGER);
		v[i] = reply->element[i]->integer;
	}
	freeReplyObject(reply);
}

/* The key's value as a number, 0 when there is none. */
static long long
redis_get_number(struct st_redis *r, const char *key)
{
	const char *get[] = { "GET", key };
	struct redisReply *reply = NULL;
	long long v = 0;

	ck_assert_int_eq(st_redis_argv(r, 2, get, NULL, &reply), ST_OK);
	if (reply->type == REDIS_REPLY_STRING)
		v = strtoll(reply->str, NULL, 10);
	else
		ck_assert_int_eq(reply->type, REDIS_REPLY_NIL);
	freeReplyObject(reply);
	return v;
}

START_TEST(lua_case_table)
{
	const struct gcra_case *c = &gcra_cases[_i];
	struct st_redis *r = redis_client();
	char key[96], stored[24];
	long long v[3];

	snprintf(key, sizeof(key), "rl:it-gcra:%d:%d", (int)getpid(), _i);
	redis_del(r, key);
	if (c->stored_us != 0) {
		const char *set[] = { "SET", key, stored, "PX", "120000" };

		snprintf(stored, sizeof(stored), "%lld", (long long)c->stored_us);
		ck_assert_int_eq(st_redis_argv(r, 5, set, NULL, NULL), ST_OK);
	}
	eval_script(r, key, NULL, c->period_us, c->burst, c->now_us, v);
	ck_assert_msg((v[0] == 1) == c->allowed, "%s: the script answered %lld", c->name, v[0]);
	ck_assert_msg(v[0] == 0 || v[0] == 1, "%s: %lld", c->name, v[0]);
	/* what gw_gcra_step is then given: the stored TAT and the script's now */
	ck_assert_msg(v[1] == c->stored_us, "%s: stored %lld", c->name, v[1]);
	ck_assert_msg(v[2] == c->now_us, "%s: now %lld", c->name, v[2]);
	/* allowed: the new TAT is stored; refused: nothing changes */
	ck_assert_msg(redis_get_number(r, key) == (c->allowed ? c->tat_us : c->stored_us),
		      "%s: stored afterwards %lld", c->name, redis_get_number(r, key));
	redis_del(r, key);
	st_redis_destroy(r);
}
END_TEST

/* Without ARGV[3] (as the gateway calls it): Redis's clock, a first request allowed and its
 * TAT one period ahead of that clock; a second key that exists refuses before counting. */
START_TEST(lua_on_redis_clock_and_denylist)
{
	struct st_redis *r = redis_client();
	char key[96], deny[96];
	const char *set[] = { "SET", deny, "1", "PX", "60000" };
	long long v[3], wall = st_now_wall_ms() * 1000LL;

	snprintf(key, sizeof(key), "rl:it-gcra:%d:clock", (int)getpid());
	snprintf(deny, sizeof(deny), "auth:deny:it-gcra-%d", (int)getpid());
	redis_del(r, key);
	eval_script(r, key, NULL, GCRA_P100, 100, 0, v);
	ck_assert_int_eq(v[0], 1);
	ck_assert_int_eq(v[1], 0);
	/* Redis runs on this machine: its clock and ours agree within seconds */
	ck_assert_msg(llabs(v[2] - wall) < 5000000LL, "Redis's now %lld, ours %lld", v[2], wall);
	ck_assert_int_eq(redis_get_number(r, key), v[2] + GCRA_P100);

	ck_assert_int_eq(st_redis_argv(r, 5, set, NULL, NULL), ST_OK);
	eval_script(r, key, deny, GCRA_P100, 100, 0, v);
	ck_assert_int_eq(v[0], -1);
	/* not counted */
	ck_assert_int_eq(redis_get_number(r, key) > 0, 1);
	redis_del(r, deny);
	redis_del(r, key);
	st_redis_destroy(r);
}
END_TEST

/* ---- a spare gateway for which loopback is not a trusted proxy ---- */

struct spare {
	pid_t pid;
	char url[64];
	char log[64];
};

/* A port nothing listens on (free a moment ago). */
static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Starts $STRATA_BIN/strata-<service> on a free port with the extra "K=V" settings and waits
 * until it answers /healthz. */
static void
spare_start(struct spare *g, const char *service, char *const *settings)
{
	char bin[512], port_s[32], auth_s[256];
	int port = free_port();

	snprintf(g->url, sizeof(g->url), "http://127.0.0.1:%d", port);
	snprintf(g->log, sizeof(g->log), "/tmp/strata-it-ratelimit-XXXXXX");
	close(mkstemp(g->log));
	snprintf(bin, sizeof(bin), "%s/strata-%s", it_env("STRATA_BIN", "bin"), service);
	snprintf(port_s, sizeof(port_s), "HTTP_PORT=%d", port);
	snprintf(auth_s, sizeof(auth_s), "GATEWAY_AUTH_URL=%s", it_service_url("auth"));
	g->pid = fork();
	ck_assert_int_ge(g->pid, 0);
	if (g->pid == 0) {
		int fd = open(g->log, O_WRONLY | O_TRUNC);

		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		putenv(port_s);
		putenv(auth_s);
		putenv("HTTP_THREADS=8");
		setenv("PRINCIPAL_KEYS", it_principal_keys(service), 1);
		for (size_t i = 0; settings[i] != NULL; i++)
			putenv(settings[i]);
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
	ck_abort_msg("the spare %s did not start (log: %s)", service, g->log);
}

/* Stops the spare by its pid; it must exit 0. */
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
	ck_assert_msg(status == 0, "the spare exited %d (log: %s)", status, g->log);
	unlink(g->log);
}

START_TEST(direct_caller_cannot_choose_its_address)
{
	static char trusted[] = "TRUSTED_PROXIES=192.0.2.0/24,2001:db8::/32";
	static char rate[] = "GATEWAY_RATE_DEFAULT=3";
	char *settings[] = { trusted, rate, NULL };
	struct st_redis *redis = redis_client();
	struct spare g;
	char url[160];
	long got[5];

	/* the key of anonymous calls from 127.0.0.1: empty, so that exactly 3 pass */
	redis_del(redis, "rl:default:ip:127.0.0.1");
	spare_start(&g, "gateway", settings);
	snprintf(url, sizeof(url), "%s/api/v1/projects", g.url);
	for (int i = 0; i < 5; i++) {
		char real[64], fwd[64];
		const char *headers[] = { real, fwd, NULL };
		struct it_resp r;

		snprintf(real, sizeof(real), "X-Real-IP: 198.51.100.%d", 10 + i);
		snprintf(fwd, sizeof(fwd), "X-Forwarded-For: 203.0.113.%d", 10 + i);
		got[i] = it_http("GET", url, headers, NULL, &r);
		it_resp_cleanup(&r);
	}
	spare_stop(&g);
	redis_del(redis, "rl:default:ip:127.0.0.1");
	/* the rate limit counted the real peer: three answers (401, no credentials), then 429 */
	for (int i = 0; i < 3; i++)
		ck_assert_msg(got[i] != 429 && got[i] != 0, "request %d: %ld", i + 1, got[i]);
	ck_assert_msg(got[3] == 429 && got[4] == 429,
		      "a direct caller chose its own address: %ld %ld %ld %ld %ld", got[0], got[1],
		      got[2], got[3], got[4]);
	st_redis_destroy(redis);
}
END_TEST

/* One login to the spare auth at url, as the gateway would send it (an anonymous principal)
 * but with a client address of the caller's choosing. */
static long
spare_login(const char *url, const char *email, const char *password, int i)
{
	char principal[700], real[64], fwd[64], full[256], body[256];
	const char *headers[] = { principal, real, fwd, "Content-Type: application/json", NULL };
	struct it_resp r;
	long st;

	it_principal_header_at("auth", "POST", "/api/v1/auth/login", "anonymous", "anonymous", 0,
			       principal, sizeof(principal));
	snprintf(real, sizeof(real), "X-Real-IP: 198.51.100.%d", 10 + i);
	snprintf(fwd, sizeof(fwd), "X-Forwarded-For: 203.0.113.%d", 10 + i);
	snprintf(full, sizeof(full), "%s/api/v1/auth/login", url);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
	st = it_http("POST", full, headers, body, &r);
	it_resp_cleanup(&r);
	return st;
}

/* The same for auth's lockout: failed logins from one untrusted peer, each naming a new
 * address, lock the (account, peer) pair all the same. */
START_TEST(direct_caller_cannot_dodge_the_lockout)
{
	static char trusted[] = "TRUSTED_PROXIES=192.0.2.0/24";
	static char max[] = "AUTH_LOCKOUT_MAX=3";
	char *settings[] = { trusted, max, NULL };
	struct st_redis *redis = redis_client();
	char email[96], rnd[40], body[256], principal[700], url[160], id[40];
	const char *headers[] = { principal, "Content-Type: application/json", NULL };
	struct spare g;
	struct it_resp r;
	long got[4], right;

	st_uuid_v4(rnd, sizeof(rnd));
	snprintf(email, sizeof(email), "it-trusted-%.8s@example.test", rnd);
	spare_start(&g, "auth", settings);
	it_principal_header_at("auth", "POST", "/api/v1/auth/register", "anonymous", "anonymous", 0,
			       principal, sizeof(principal));
	snprintf(url, sizeof(url), "%s/api/v1/auth/register", g.url);
	snprintf(body, sizeof(body),
		 "{\"email\":\"%s\",\"password\":\"Correct-horse-9\",\"name\":\"It\"}", email);
	ck_assert_int_eq(it_http("POST", url, headers, body, &r), 201);
	{
		cJSON *doc = cJSON_Parse(r.body);

		ck_assert_ptr_nonnull(doc);
		ck_assert(st_strlcpy(id, cJSON_GetStringValue(cJSON_GetObjectItem(doc, "id")),
				     sizeof(id)));
		cJSON_Delete(doc);
	}
	it_resp_cleanup(&r);
	for (int i = 0; i < 3; i++)
		got[i] = spare_login(g.url, email, "Wrong-password-1", i);
	/* the right password, from yet another claimed address: the pair is locked */
	right = spare_login(g.url, email, "Correct-horse-9", 3);
	got[3] = right;
	/* the user goes, as an administrator would delete it */
	snprintf(url, sizeof(url), "/api/v1/users/%s", id);
	it_principal_header_at("auth", "DELETE", url, "user", "it-admin", ST_SCOPE_ALL, principal,
			       sizeof(principal));
	snprintf(url, sizeof(url), "%s/api/v1/users/%s", g.url, id);
	it_http("DELETE", url, headers, NULL, &r);
	it_resp_cleanup(&r);
	spare_stop(&g);
	/* what this test counted against 127.0.0.1 for every account */
	redis_del(redis, "auth:fail:ip:127.0.0.1");
	redis_del(redis, "auth:lock:ip:127.0.0.1");
	st_redis_destroy(redis);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(got[i] == 401, "failed login %d: %ld", i + 1, got[i]);
	ck_assert_msg(right == 429, "a direct caller dodged the lockout: %ld %ld %ld %ld", got[0],
		      got[1], got[2], got[3]);
}
END_TEST

/* A bad TRUSTED_PROXIES refuses to start, with one line naming the setting. */
START_TEST(bad_trusted_proxies_refuses_to_start)
{
	char bin[512], log[64], line[512] = "";
	pid_t pid;
	int st = 0;
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/strata-gateway", it_env("STRATA_BIN", "bin"));
	snprintf(log, sizeof(log), "/tmp/strata-it-ratelimit-XXXXXX");
	close(mkstemp(log));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_TRUNC);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		putenv("TRUSTED_PROXIES=127.0.0.0/8,10.0.0.0/33");
		putenv("HTTP_PORT=1");
		setenv("PRINCIPAL_KEYS", it_principal_keys("gateway"), 1);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 2);
	f = fopen(log, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(log);
	ck_assert_msg(strstr(line, "TRUSTED_PROXIES") != NULL && strstr(line, "10.0.0.0/33"), "%s",
		      line);
}
END_TEST

Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *lua = tcase_create("lua");
	TCase *addr = tcase_create("client_addr");

	tcase_add_loop_test(lua, lua_case_table, 0, (int)ST_ARRAY_LEN(gcra_cases));
	tcase_add_test(lua, lua_on_redis_clock_and_denylist);
	suite_add_tcase(s, lua);
	tcase_set_timeout(addr, 60);
	tcase_add_test(addr, direct_caller_cannot_choose_its_address);
	tcase_add_test(addr, direct_caller_cannot_dodge_the_lockout);
	tcase_add_test(addr, bad_trusted_proxies_refuses_to_start);
	suite_add_tcase(s, addr);
	return s;
}
