/*
 * The HTTP client's shared pool (st_httpc_conf.pool_size) against a real server of our own
 * (libcommon's, in this process, on a spare port): calls reuse the pooled handles, a call
 * finding every handle busy waits for one, and one that waited pool_wait_ms in vain fails
 * with ST_ERR_UNAVAILABLE instead of opening another connection. The server counts the
 * connections it saw, so the bound is checked where it matters: on the wire.
 */
#include <check.h>
#include <civetweb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "strata/http.h"
#include "strata/httpc.h"
#include "strata/metrics.h"

#define PORT 18790

static atomic_int in_flight, most_in_flight;

static int
slow(struct st_req *req, void *ctx)
{
	struct timespec ts = { 0, 300 * 1000000L };
	int now = atomic_fetch_add(&in_flight, 1) + 1, seen = atomic_load(&most_in_flight);

	(void)ctx;
	while (now > seen && !atomic_compare_exchange_weak(&most_in_flight, &seen, now))
		;
	nanosleep(&ts, NULL);
	atomic_fetch_sub(&in_flight, 1);
	return st_http_reply(req, 200, "text/plain", "ok", 2);
}

static const struct st_route routes[] = { { "GET", "/slow", slow, ST_SCOPE_NONE } };

struct fixture {
	struct st_metrics *metrics;
	struct st_http_server *server;
	struct st_httpc *client;
};

static void
start(struct fixture *f, int pool_size, int pool_wait_ms)
{
	struct st_http_conf hc = {
		.service = "it-httpc",
		.bind = "127.0.0.1",
		.port = PORT,
		.threads = 16,
		.body_max = 1024,
		.keep_alive_ms = 5000,
		.request_timeout_ms = 5000,
		.routes = routes,
		.nroutes = 1,
	};
	struct st_httpc_conf cc = {
		.connect_timeout_ms = 1000,
		.timeout_ms = 5000,
		.max_response = 1024,
		.pool_size = pool_size,
		.pool_wait_ms = pool_wait_ms,
	};

	atomic_store(&in_flight, 0);
	atomic_store(&most_in_flight, 0);
	f->metrics = st_metrics_create();
	hc.metrics = f->metrics;
	ck_assert_int_eq(st_http_server_create(&hc, &f->server), ST_OK);
	ck_assert_int_eq(st_httpc_create(&cc, &f->client), ST_OK);
}

static void
stop(struct fixture *f)
{
	st_httpc_destroy(f->client);
	st_http_server_destroy(f->server);
	st_metrics_destroy(f->metrics);
}

struct call {
	struct st_httpc *client;
	enum st_err rc;
	long status;
};

static void *
call_slow(void *arg)
{
	struct call *c = arg;
	struct st_httpc_req req = { .method = "GET", .url = "http://127.0.0.1:18790/slow" };
	struct st_httpc_resp resp;

	c->rc = st_httpc_do(c->client, &req, &resp);
	c->status = resp.status;
	st_httpc_resp_cleanup(&resp);
	return NULL;
}

/* Runs n calls at once; returns how many succeeded with 200. */
static int
run_concurrent(struct st_httpc *client, int n, int *unavailable)
{
	pthread_t t[8];
	struct call calls[8];
	int ok = 0;

	*unavailable = 0;
	for (int i = 0; i < n; i++) {
		calls[i] = (struct call){ .client = client };
		ck_assert_int_eq(pthread_create(&t[i], NULL, call_slow, &calls[i]), 0);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (calls[i].rc == ST_OK && calls[i].status == 200)
			ok++;
		else if (calls[i].rc == ST_ERR_UNAVAILABLE)
			(*unavailable)++;
	}
	return ok;
}

START_TEST(pool_bounds_concurrent_transfers)
{
	struct fixture f;
	int unavailable;

	start(&f, 2, 5000);
	/* six calls, two handles: all succeed, never more than two at the server at once */
	ck_assert_int_eq(run_concurrent(f.client, 6, &unavailable), 6);
	ck_assert_int_le(atomic_load(&most_in_flight), 2);
	ck_assert_int_ge(atomic_load(&most_in_flight), 1);
	stop(&f);
}
END_TEST

START_TEST(pool_wait_runs_out)
{
	struct fixture f;
	int unavailable, ok;

	start(&f, 1, 50);
	/* one handle, a 300 ms call, a 50 ms wait: of three at once, at least one gives up */
	ok = run_concurrent(f.client, 3, &unavailable);
	ck_assert_int_ge(ok, 1);
	ck_assert_int_ge(unavailable, 1);
	ck_assert_int_eq(ok + unavailable, 3);
	ck_assert_int_le(atomic_load(&most_in_flight), 1);
	stop(&f);
}
END_TEST

START_TEST(per_thread_handles_are_unbounded)
{
	struct fixture f;
	int unavailable;

	start(&f, 0, 0);
	/* the default: each caller thread has its own handle, so all run at once */
	ck_assert_int_eq(run_concurrent(f.client, 4, &unavailable), 4);
	ck_assert_int_ge(atomic_load(&most_in_flight), 2);
	stop(&f);
}
END_TEST

Suite *
httpc_pool_suite(void)
{
	Suite *s = suite_create("httpc_pool");
	TCase *tc = tcase_create("pool");

	tcase_add_test(tc, pool_bounds_concurrent_transfers);
	tcase_add_test(tc, pool_wait_runs_out);
	tcase_add_test(tc, per_thread_handles_are_unbounded);
	suite_add_tcase(s, tc);
	return s;
}
