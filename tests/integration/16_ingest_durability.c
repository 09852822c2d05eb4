/*
 * Nothing the API acknowledged is lost, whatever fails. Readings are posted through the public
 * API (it_api_url(), to the suite's ingest, which is never killed) while:
 *   (a) a second ingest replica, started here from $STRATA_BIN as a writer in the same group
 *       (INGEST_WRITER_GROUP), is killed with SIGKILL in the middle of the load and started
 *       again: the database ends with exactly the readings answered 202;
 *   (b) PostgreSQL is stopped for a few seconds: the API keeps answering 202 (Kafka holds the
 *       readings; the session cache answers for the sessions it knows) and the writers catch up
 *       to exactly the accepted count once it is back;
 *   (c) Kafka is stopped: POST answers 503 with Retry-After, never 202, and readings flow again
 *       once it is back.
 * Every reading of a run has its own time, so counts are exact. These tests stop the shared
 * PostgreSQL and Kafka for short windows: the suite is meant to run alone (make test).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "strata/core.h"

#define PASSWORD "Readings-It-Pass-2026!"
#define SESSIONS 12 /* spread over the topic's partitions, so that every writer gets some */
#define BATCH    500

struct load {
	char token[4096];
	char auth[4200];
	char user[40];
	char project[40];
	char sessions[SESSIONS][40];
	long accepted;      /* readings answered 202 */
	long posts, non202; /* requests, and those not answered 202 */
	int64_t next_ts;    /* microseconds: every reading its own time */
	bool slow;          /* post with a one-minute client timeout (body: Retry-After) */
};

/* ---- database ---- */

/* Readings stored for the load's sessions; -1 while the database cannot be asked. */
static long
stored(const struct load *l)
{
	const char *params[] = { l->project };

	return it_sql_number("SELECT count(*) FROM ingest.readings WHERE session_id "
			     "IN (SELECT id FROM ingest.sessions WHERE project_id = $1)",
			     1, params);
}

/* ---- the API ---- */

static long
call(const char *method, const char *path, const char *auth, const char *ctype, const char *body,
     struct it_resp *r)
{
	char url[512], ct[96];
	const char *headers[3] = { NULL, NULL, NULL };
	int k = 0;

	snprintf(url, sizeof(url), "%s%s", it_api_url(), path);
	if (auth != NULL)
		headers[k++] = auth;
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
	headers[k++] = ct;
	return it_http(method, url, headers, body, r);
}

static const char *
jstr(const char *body, const char *name, char *out, size_t cap)
{
	cJSON *doc = cJSON_Parse(body);

	ck_assert_ptr_nonnull(doc);
	ck_assert(st_strlcpy(out, cJSON_GetStringValue(cJSON_GetObjectItem(doc, name)), cap));
	cJSON_Delete(doc);
	return out;
}

static void
load_init(struct load *l)
{
	char email[96], body[256], rnd[40];
	struct it_resp r;

	memset(l, 0, sizeof(*l));
	st_uuid_v4(rnd, sizeof(rnd));
	snprintf(email, sizeof(email), "durable-%.8s@example.com", rnd);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"It\"}",
		 email, PASSWORD);
	ck_assert_int_eq(call("POST", "/api/v1/auth/register", NULL, "application/json", body, &r),
			 201);
	jstr(r.body, "id", l->user, sizeof(l->user));
	it_resp_cleanup(&r);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, PASSWORD);
	ck_assert_int_eq(call("POST", "/api/v1/auth/login", NULL, "application/json", body, &r),
			 200);
	jstr(r.body, "access_token", l->token, sizeof(l->token));
	snprintf(l->auth, sizeof(l->auth), "Authorization: Bearer %s", l->token);
	it_resp_cleanup(&r);
	st_uuid_v4(l->project, sizeof(l->project));
	{
		const char *p[] = { l->project, l->user };

		it_sql("INSERT INTO ingest.projects (id, name, created_by) VALUES ($1, 'durable', "
		       "$2)",
		       2, p, NULL, 0);
		it_sql("INSERT INTO ingest.project_members (project_id, user_id, role) "
		       "VALUES ($1, $2, 'owner')",
		       2, p, NULL, 0);
	}
	for (int i = 0; i < SESSIONS; i++) {
		const char *p[] = { l->sessions[i], l->project, l->user };

		st_uuid_v4(l->sessions[i], sizeof(l->sessions[i]));
		it_sql("INSERT INTO ingest.sessions (id, project_id, created_by, status) "
		       "VALUES ($1, $2, $3, 'running')",
		       3, p, NULL, 0);
	}
	l->next_ts = INT64_C(1767225600000000); /* 2026-01-01 */
}

static void
load_drop(const struct load *l)
{
	const char *p[] = { l->project };

	it_sql("DELETE FROM ingest.readings WHERE session_id IN "
	       "(SELECT id FROM ingest.sessions WHERE project_id = $1)",
	       1, p, NULL, 0);
	it_sql("DELETE FROM ingest.projects WHERE id = $1", 1, p, NULL, 0);
}

/* it_http's 15 s is shorter than a produce may take while Kafka goes away (the delivery
 * timeout plus requests in flight to a broker shutting down): this POST waits a minute. Only
 * the status and Retry-After are kept. */
static size_t
sink(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

static size_t
retry_after_of(char *ptr, size_t size, size_t nmemb, void *ud)
{
	size_t n = size * nmemb;

	if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0)
		*(long *)ud = strtol(ptr + 12, NULL, 10);
	return n;
}

static long
post_slow(const char *url, const char *auth, const char *body, long *retry_after)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, auth);
	long status = 0;

	h = curl_slist_append(h, "Content-Type: text/csv");
	*retry_after = -1;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, retry_after_of);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, retry_after);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60000L);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	return status;
}

/* Posts one batch of BATCH new readings to session i % SESSIONS; returns the status. */
static long
post_one(struct load *l, int i, struct it_resp *keep)
{
	size_t cap = BATCH * 64 + 32, len = 0;
	char *body = malloc(cap), path[128];
	struct it_resp r;
	long status;

	len += (size_t)snprintf(body, cap, "ts,channel,value\n");
	for (int k = 0; k < BATCH; k++) {
		int64_t t = l->next_ts++;
		time_t secs = (time_t)(t / 1000000);
		struct tm tm;
		char ts[40];

		gmtime_r(&secs, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		len += (size_t)snprintf(body + len, cap - len, "%s.%06dZ,c%d,%d\n", ts,
					(int)(t % 1000000), k % 4, k);
	}
	snprintf(path, sizeof(path), "/api/v1/sessions/%s/data", l->sessions[i % SESSIONS]);
	if (l->slow) {
		char url[512];
		long ra;

		snprintf(url, sizeof(url), "%s%s", it_api_url(), path);
		status = post_slow(url, l->auth, body, &ra);
		memset(&r, 0, sizeof(r));
		r.status = status;
		r.body = st_asprintf("%ld", ra); /* the Retry-After seconds, -1 when absent */
		r.headers = st_strdup("");
	} else {
		status = call("POST", path, l->auth, "text/csv", body, &r);
	}
	l->posts++;
	if (status == 202)
		l->accepted += BATCH;
	else
		l->non202++;
	if (keep != NULL)
		*keep = r;
	else
		it_resp_cleanup(&r);
	free(body);
	return status;
}

/*
 * Posts one reading on the channel "sentinel" (a time of its own) to every session, after
 * everything that must be stored exactly once, waits until all of them are stored, and
 * returns the other readings stored then (-1 when a sentinel never came). A session's
 * readings travel in one Kafka partition (keyed by the session) and a writer stores them in
 * order, so once each session's sentinel is in, every batch before it has been written, a
 * late redelivery included: the count is final, without a fixed wait.
 */
static long
stored_after_sentinels(struct load *l, int timeout_s)
{
	const char *params[] = { l->project };

	for (int i = 0; i < SESSIONS; i++) {
		int64_t t = l->next_ts++;
		time_t secs = (time_t)(t / 1000000);
		char ts[40], body[128], path[128];
		struct tm tm;
		struct it_resp r;

		gmtime_r(&secs, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(body, sizeof(body), "ts,channel,value\n%s.%06dZ,sentinel,1\n", ts,
			 (int)(t % 1000000));
		snprintf(path, sizeof(path), "/api/v1/sessions/%s/data", l->sessions[i]);
		ck_assert_int_eq(call("POST", path, l->auth, "text/csv", body, &r), 202);
		it_resp_cleanup(&r);
	}
	for (int i = 0; i < timeout_s * 5; i++) {
		if (it_sql_number("SELECT count(*) FROM ingest.readings WHERE channel = 'sentinel' "
				  "AND session_id IN (SELECT id FROM ingest.sessions WHERE "
				  "project_id = $1)",
				  1, params) == SESSIONS)
			return it_sql_number(
				"SELECT count(*) FROM ingest.readings WHERE channel <> "
				"'sentinel' AND session_id IN (SELECT id FROM "
				"ingest.sessions WHERE project_id = $1)",
				1, params);
		usleep(200000);
	}
	return -1;
}

/* ---- a spare replica ---- */

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Starts $STRATA_BIN/strata-ingest as one more writer of the suite's group; log to log_path. */
static pid_t
spawn_writer(int port, const char *log_path)
{
	char path[512], portv[32];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/strata-ingest", it_env("STRATA_BIN", "bin"));
	snprintf(portv, sizeof(portv), "%d", port);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		setenv("HTTP_PORT", portv, 1);
		setenv("PRINCIPAL_KEYS", it_principal_keys("ingest"), 1);
		setenv("INGEST_WRITERS", "1", 1);
		setenv("INGEST_WRITER_GROUP", it_env("INGEST_WRITER_GROUP", "ingest-writers"), 1);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Counts the lines of a file that contain needle. */
static int
log_count(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void
wait_assigned(const char *log_path, int times, int timeout_s)
{
	for (int i = 0; i < timeout_s * 10; i++) {
		if (log_count(log_path, "partitions assigned") >= times)
			return;
		usleep(100000);
	}
	ck_abort_msg("the spare writer got no partitions within %d s (log %s)", timeout_s,
		     log_path);
}

START_TEST(writer_killed_mid_load_loses_nothing)
{
	struct load l;
	char log_path[512];
	int port = free_port();
	pid_t pid;
	int status;

	snprintf(log_path, sizeof(log_path), "%s/log/ingest-spare-writer-%d.log",
		 it_env("STRATA_DATA", "/tmp"), (int)getpid());
	unlink(log_path);
	load_init(&l);
	pid = spawn_writer(port, log_path);
	wait_assigned(log_path, 1, 40);
	for (int i = 0; i < 60; i++) {
		ck_assert_int_eq(post_one(&l, i, NULL), 202);
		if (i == 30) {
			/* some of what was accepted is in the spare's hands right now */
			ck_assert_int_eq(kill(pid, SIGKILL), 0);
			ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		}
	}
	pid = spawn_writer(port, log_path);
	/* exactly that, once every partition's sentinel is in */
	ck_assert_int_eq(stored_after_sentinels(&l, 90), l.accepted);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	load_drop(&l);
	unlink(log_path);
}
END_TEST

START_TEST(postgres_away_api_accepts_writers_catch_up)
{
	struct load l;
	int64_t t0;
	long during = 0;

	load_init(&l);
	/* the session cache learns every session while the database is there */
	for (int i = 0; i < SESSIONS; i++)
		ck_assert_int_eq(post_one(&l, i, NULL), 202);
	ck_assert_int_eq(it_sh("compose/local/infra.sh down postgres >/dev/null 2>&1"), 0);
	t0 = st_now_mono_ms();
	for (int i = 0; st_now_mono_ms() - t0 < 8000; i++) {
		long s = post_one(&l, i, NULL);

		if (s != 202) {
			it_sh("compose/local/infra.sh up postgres >/dev/null 2>&1");
			ck_abort_msg("POST answered %ld while PostgreSQL was away", s);
		}
		during++;
		usleep(40000); /* a steady load, well under the tests' rate limit (1000 a minute) */
	}
	ck_assert_int_eq(it_sh("compose/local/infra.sh up postgres >/dev/null 2>&1"), 0);
	ck_assert_int_gt(during, 5);
	for (int i = 0; i < SESSIONS; i++)
		ck_assert_int_eq(post_one(&l, i, NULL), 202);
	ck_assert_int_eq(stored_after_sentinels(&l, 90), l.accepted);
	load_drop(&l);
}
END_TEST

START_TEST(kafka_away_503_never_202)
{
	struct load l;
	const char *stop = it_env("STRATA_KAFKA_STOP_CMD", NULL);
	const char *start = it_env("STRATA_KAFKA_START_CMD", NULL);
	long before;
	bool back = false;

	ck_assert_msg(stop != NULL && start != NULL, "STRATA_KAFKA_STOP_CMD/START_CMD unset");
	load_init(&l);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(post_one(&l, i, NULL), 202);
	before = l.accepted;
	ck_assert_int_eq(it_sh("%s >/dev/null 2>&1", stop), 0);
	l.slow = true;
	for (int i = 0; i < 1; i++) { /* one: each waits out the delivery timeout */
		struct it_resp r;
		long s = post_one(&l, i, &r);

		if (s != 503)
			it_sh("%s >/dev/null 2>&1", start);
		ck_assert_msg(s == 503, "POST answered %ld with Kafka away", s);
		ck_assert_msg(strtol(r.body, NULL, 10) > 0, "Retry-After: %s", r.body);
		it_resp_cleanup(&r);
	}
	ck_assert_int_eq(l.accepted, before);
	ck_assert_int_eq(it_sh("%s >/dev/null 2>&1", start), 0);
	/* back: the API accepts again within a minute, and what it accepted is stored */
	for (int i = 0; i < 60 && !back; i++) {
		back = post_one(&l, i, NULL) == 202;
		if (!back)
			sleep(1);
	}
	ck_assert_msg(back, "POST still refused a minute after Kafka came back");
	{
		long n = -1;

		for (int i = 0; i < 300 && n < l.accepted; i++) {
			n = stored(&l);
			usleep(200000);
		}
		/* at least every accepted reading (a batch refused with 503 may still have been
		 * written: the client was told to retry, and a retry stores it once) */
		ck_assert_int_ge(n, l.accepted);
	}
	load_drop(&l);
}
END_TEST

Suite *
ingest_durability_suite(void)
{
	Suite *s = suite_create("ingest_durability");
	TCase *writer = tcase_create("writer");
	TCase *postgres = tcase_create("postgres");
	TCase *kafka = tcase_create("kafka");

	tcase_set_timeout(writer, 180);
	tcase_add_test(writer, writer_killed_mid_load_loses_nothing);
	suite_add_tcase(s, writer);
	tcase_set_timeout(postgres, 180);
	tcase_add_test(postgres, postgres_away_api_accepts_writers_catch_up);
	suite_add_tcase(s, postgres);
	tcase_set_timeout(kafka, 240);
	tcase_add_test(kafka, kafka_away_503_never_202);
	suite_add_tcase(s, kafka);
	return s;
}
