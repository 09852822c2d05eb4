/*
 * Integration tests for the Kafka module against a real broker (KAFKA_BROKERS). Each test
 * makes its own topic (strata.test.<random>) and consumer group, so tests never see each
 * other's messages; topics are left behind (the test broker is disposable).
 *
 * What is proved: a produced message reaches a consumer with key, value and request id, and a
 * commit means a later member of the group does not see it again; a member that dies before
 * committing leaves the message to the next one (same offset); a failing handler gets the same
 * batch again after a doubling back-off and nothing is committed until it succeeds; batches
 * keep per-key order; a producer whose broker is not there fails with ST_ERR_UNAVAILABLE
 * within its delivery timeout.
 *
 * "Nothing more arrives" is never a fixed wait: a sentinel is produced after the messages
 * that must not come again, consumed until it is seen, and only then are the counts checked
 * exactly (in one partition, a late duplicate comes before the sentinel).
 */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "strata/core.h"
#include "strata/kafka.h"
#include "strata/log.h"

Suite *kafka_suite(void);

#define SESSION_MS 6000  /* the broker's default group.min.session.timeout.ms */
#define WAIT_MS    30000 /* upper bound for any one wait on the broker */
#define MAX_CALLS  8
#define MAX_RECS   64

static const char *
brokers(void)
{
	const char *b = it_env("KAFKA_BROKERS", NULL);

	ck_assert_msg(b != NULL, "KAFKA_BROKERS is not set (e.g. 127.0.0.1:19092)");
	return b;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
unique(char *buf, size_t cap, const char *prefix)
{
	unsigned char r[6];

	st_random_bytes(r, sizeof(r));
	snprintf(buf, cap, "%s%02x%02x%02x%02x%02x%02x", prefix, r[0], r[1], r[2], r[3], r[4],
		 r[5]);
}

/* A fresh topic with the given partitions, usable when this returns. */
static void
make_topic(char *topic, size_t cap, int partitions)
{
	struct st_kafka_topic_spec spec;
	char err[256] = "";
	enum st_err rc;

	unique(topic, cap, "strata.test.");
	spec.name = topic;
	spec.partitions = partitions;
	rc = st_kafka_ensure_topics(brokers(), &spec, 1, 15000, err, sizeof(err));
	ck_assert_msg(rc == ST_OK, "ensure_topics: %s (%s)", err, st_err_str(rc));
}

static struct st_kafka_producer *
producer(const char *list, int delivery_timeout_ms)
{
	struct st_kafka_conf conf = {
		.brokers = list,
		.client_id = "strata-it",
		.delivery_timeout_ms = delivery_timeout_ms,
		.linger_ms = 5,
	};
	struct st_kafka_producer *p = NULL;

	ck_assert_int_eq(st_kafka_producer_create(&conf, &p), ST_OK);
	return p;
}

static void
produce_one(const char *topic, const char *key, const char *value, const char *rid)
{
	struct st_kafka_producer *p = producer(brokers(), 10000);
	struct st_kafka_msg m = {
		.topic = topic,
		.key = key,
		.key_len = key ? strlen(key) : 0,
		.value = value,
		.value_len = strlen(value),
		.request_id = rid,
	};
	enum st_err rc = st_kafka_produce(p, &m);

	ck_assert_msg(rc == ST_OK, "produce: %s", st_err_str(rc));
	st_kafka_producer_destroy(p);
}

/* The group's committed offset for one partition, asked of the coordinator without joining
 * the group. RD_KAFKA_OFFSET_INVALID (-1001) when nothing was committed. */
static int64_t
committed_offset(const char *group, const char *topic, int32_t partition)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
	char errstr[256];
	rd_kafka_t *rk;
	rd_kafka_resp_err_t err;
	int64_t off;

	ck_assert(rd_kafka_conf_set(conf, "bootstrap.servers", brokers(), errstr, sizeof(errstr)) ==
		  RD_KAFKA_CONF_OK);
	ck_assert(rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) ==
		  RD_KAFKA_CONF_OK);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	ck_assert_msg(rk != NULL, "%s", errstr);
	rd_kafka_topic_partition_list_add(list, topic, partition);
	err = rd_kafka_committed(rk, list, 10000);
	ck_assert_msg(err == RD_KAFKA_RESP_ERR_NO_ERROR, "committed: %s", rd_kafka_err2str(err));
	off = list->elems[0].offset;
	rd_kafka_topic_partition_list_destroy(list);
	rd_kafka_destroy(rk);
	return off;
}

/* What a handler saw, call by call; the handler returns script[call] (ST_OK past the end). */
struct seen_call {
	size_t n;
	int64_t at_ms;
	int64_t committed; /* the group's offset when the call began, if check_commits */
	char log_rid[80];  /* st_log_request_id() inside the handler */
	struct {
		int32_t partition;
		int64_t offset;
		int64_t timestamp_ms;
		char key[32];
		size_t key_len;
		char value[64];
		char rid[80];
	} recs[MAX_RECS];
};

struct seen {
	pthread_mutex_t mu;
	int calls;
	struct seen_call call[MAX_CALLS];
	enum st_err script[MAX_CALLS];
	bool check_commits;
	const char *group, *topic;
};

static enum st_err
record(const struct st_kafka_rec *recs, size_t n, void *ctx)
{
	struct seen *s = ctx;
	struct seen_call *c;
	enum st_err rc;

	pthread_mutex_lock(&s->mu);
	ck_assert_int_lt(s->calls, MAX_CALLS);
	c = &s->call[s->calls];
	pthread_mutex_unlock(&s->mu);
	c->n = n;
	c->at_ms = st_now_mono_ms();
	st_strlcpy(c->log_rid, st_log_request_id(), sizeof(c->log_rid));
	if (s->check_commits)
		c->committed = committed_offset(s->group, s->topic, 0);
	for (size_t i = 0; i < n && i < MAX_RECS; i++) {
		c->recs[i].partition = recs[i].partition;
		c->recs[i].offset = recs[i].offset;
		c->recs[i].timestamp_ms = recs[i].timestamp_ms;
		c->recs[i].key_len = recs[i].key_len;
		st_strlcpy(c->recs[i].key, recs[i].key ? recs[i].key : "(null)",
			   sizeof(c->recs[i].key));
		snprintf(c->recs[i].value, sizeof(c->recs[i].value), "%.*s", (int)recs[i].value_len,
			 (const char *)recs[i].value);
		st_strlcpy(c->recs[i].rid, recs[i].request_id, sizeof(c->recs[i].rid));
	}
	pthread_mutex_lock(&s->mu);
	rc = s->script[s->calls];
	s->calls++;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void
seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
}

static struct st_kafka_consumer *
consumer_as(const char *client_id, const char *group, const char *topic, int batch_max,
	    st_kafka_handler *handler, void *ctx)
{
	struct st_kafka_consumer_conf conf = {
		.brokers = brokers(),
		.group = group,
		.topic = topic,
		.client_id = client_id,
		.batch_max = batch_max,
		.batch_wait_ms = 100,
		.retry_backoff_ms = 200,
		.session_timeout_ms = SESSION_MS,
		.from_beginning = true,
		.handler = handler,
		.ctx = ctx,
	};
	struct st_kafka_consumer *c = NULL;

	ck_assert_int_eq(st_kafka_consumer_create(&conf, &c), ST_OK);
	return c;
}

static struct st_kafka_consumer *
consumer(const char *group, const char *topic, int batch_max, st_kafka_handler *handler, void *ctx)
{
	return consumer_as("strata-it", group, topic, batch_max, handler, ctx);
}

/* poll_once until a batch was handled and committed; returns its size (0 on timeout). */
static int
poll_until_batch(struct st_kafka_consumer *c, int wait_ms)
{
	int64_t deadline = st_now_mono_ms() + wait_ms;

	while (st_now_mono_ms() < deadline) {
		int got = st_kafka_consumer_poll_once(c, 500);

		if (got != 0)
			return got;
	}
	return 0;
}

/* True when a handled record so far holds value. */
static bool
seen_value_of(struct seen *s, const char *value)
{
	bool found = false;

	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->calls && !found; i++)
		for (size_t k = 0; k < s->call[i].n && k < MAX_RECS && !found; k++)
			found = strcmp(s->call[i].recs[k].value, value) == 0;
	pthread_mutex_unlock(&s->mu);
	return found;
}

/* poll_once (c NULL: the consumer runs its own thread) until a record holding value was
 * handled: the sentinel produced after the messages that must not come again. */
static void
wait_for_value(struct st_kafka_consumer *c, struct seen *s, const char *value)
{
	int64_t deadline = st_now_mono_ms() + WAIT_MS;

	while (!seen_value_of(s, value) && st_now_mono_ms() < deadline) {
		if (c != NULL)
			st_kafka_consumer_poll_once(c, 500);
		else
			sleep_ms(50);
	}
	ck_assert_msg(seen_value_of(s, value), "the sentinel %s never arrived", value);
}

static void
setup(void)
{
	st_log_init("it-kafka", ST_LOG_WARN);
}

/* librdkafka ends its threads asynchronously; wait, so the sanitizers see a clean exit. */
static void
teardown(void)
{
	ck_assert_int_eq(rd_kafka_wait_destroyed(10000), 0);
}

/* (1) Produce with a request id, consume, commit: a later member of the group starts after. */
START_TEST(produce_consume_commit)
{
	char topic[64], group[64];
	struct seen s1, s2;
	struct st_kafka_consumer *c;

	make_topic(topic, sizeof(topic), 1);
	unique(group, sizeof(group), "it-group-");
	produce_one(topic, "k1", "v1", "req-it-1");

	seen_init(&s1);
	c = consumer(group, topic, 10, record, &s1);
	ck_assert_int_eq(poll_until_batch(c, WAIT_MS), 1);
	ck_assert_int_eq(s1.calls, 1);
	ck_assert_uint_eq(s1.call[0].n, 1);
	ck_assert_str_eq(s1.call[0].recs[0].key, "k1");
	ck_assert_uint_eq(s1.call[0].recs[0].key_len, 2);
	ck_assert_str_eq(s1.call[0].recs[0].value, "v1");
	ck_assert_str_eq(s1.call[0].recs[0].rid, "req-it-1");
	ck_assert_str_eq(s1.call[0].log_rid, "req-it-1"); /* the log request id while handling */
	ck_assert_int_eq(s1.call[0].recs[0].partition, 0);
	ck_assert_int_eq(s1.call[0].recs[0].offset, 0);
	ck_assert_int_gt(s1.call[0].recs[0].timestamp_ms, 0);
	ck_assert_str_eq(st_log_request_id(), ""); /* cleared after the handler */
	st_kafka_consumer_destroy(c);
	ck_assert_int_eq(committed_offset(group, topic, 0), 1);

	/* Without an explicit request id the producing thread's log request id travels. */
	st_log_set_request_id("req-it-thread");
	produce_one(topic, NULL, "v2", NULL);
	st_log_set_request_id(NULL);

	/* A new member of the group starts at the commit: it sees v2 (offset 1), never v1. */
	seen_init(&s2);
	c = consumer(group, topic, 10, record, &s2);
	ck_assert_int_eq(poll_until_batch(c, WAIT_MS), 1);
	ck_assert_uint_eq(s2.call[0].n, 1);
	ck_assert_int_eq(s2.call[0].recs[0].offset, 1);
	ck_assert_str_eq(s2.call[0].recs[0].value, "v2");
	ck_assert_str_eq(s2.call[0].recs[0].key, "(null)");
	ck_assert_str_eq(s2.call[0].recs[0].rid, "req-it-thread");
	/* and nothing else: a sentinel produced after v2 comes next, with no v1 or second v2
	 * before it (a fixed wait for "nothing" could not tell a late duplicate from none) */
	produce_one(topic, NULL, "sentinel", NULL);
	wait_for_value(c, &s2, "sentinel");
	ck_assert_int_eq(s2.calls, 2);
	ck_assert_uint_eq(s2.call[1].n, 1);
	ck_assert_int_eq(s2.call[1].recs[0].offset, 2);
	st_kafka_consumer_destroy(c);
	ck_assert_int_eq(committed_offset(group, topic, 0), 3);
}
END_TEST

/* In the child: exits in the middle of handling, before anything is committed. */
static enum st_err
die_in_handler(const struct st_kafka_rec *recs, size_t n, void *ctx)
{
	(void)ctx;
	if (n == 1 && recs[0].offset == 0 && recs[0].value_len == 5 &&
	    memcmp(recs[0].value, "crash", 5) == 0)
		_exit(0);
	_exit(3);
}

static void
child_consume_and_die(const char *group, const char *topic)
{
	struct st_kafka_consumer_conf conf = {
		.brokers = brokers(),
		.group = group,
		.topic = topic,
		.client_id = "strata-it-child",
		.batch_max = 10,
		.batch_wait_ms = 100,
		.session_timeout_ms = SESSION_MS,
		.from_beginning = true,
		.handler = die_in_handler,
	};
	struct st_kafka_consumer *c = NULL;
	int64_t deadline = st_now_mono_ms() + WAIT_MS;

	if (st_kafka_consumer_create(&conf, &c) != ST_OK)
		_exit(5);
	while (st_now_mono_ms() < deadline)
		st_kafka_consumer_poll_once(c, 500);
	_exit(4); /* never got the message */
}

/* (2) A member that dies before committing leaves the message to the next one. */
START_TEST(redelivery_after_crash)
{
	char topic[64], group[64];
	struct seen s;
	struct st_kafka_consumer *c;
	int64_t deadline;
	int status = -1;
	pid_t pid, done = 0;

	make_topic(topic, sizeof(topic), 1);
	unique(group, sizeof(group), "it-group-");
	produce_one(topic, "k", "crash", "req-it-crash");
	/* No librdkafka thread may be running across fork(). */
	ck_assert_int_eq(rd_kafka_wait_destroyed(10000), 0);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		child_consume_and_die(group, topic);
	deadline = st_now_mono_ms() + WAIT_MS + 5000;
	while (done == 0 && st_now_mono_ms() < deadline) {
		done = waitpid(pid, &status, WNOHANG);
		if (done == 0)
			sleep_ms(50);
	}
	if (done == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ck_abort_msg("the child never received the message");
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	ck_assert_int_eq(committed_offset(group, topic, 0), RD_KAFKA_OFFSET_INVALID);

	/* The dead member's session must expire before the group moves its partition here. */
	seen_init(&s);
	c = consumer(group, topic, 10, record, &s);
	ck_assert_int_eq(poll_until_batch(c, WAIT_MS), 1);
	ck_assert_uint_eq(s.call[0].n, 1);
	ck_assert_int_eq(s.call[0].recs[0].offset, 0);
	ck_assert_str_eq(s.call[0].recs[0].value, "crash");
	ck_assert_str_eq(s.call[0].recs[0].rid, "req-it-crash");
	st_kafka_consumer_destroy(c);
	ck_assert_int_eq(committed_offset(group, topic, 0), 1);
}
END_TEST

/* (3) A failing handler gets the same batch again after a doubling back-off; one commit. */
START_TEST(failing_handler_retries)
{
	char topic[64], group[64];
	struct seen s;
	struct st_kafka_consumer *c;
	struct st_kafka_consumer_stats st;
	int64_t deadline;

	make_topic(topic, sizeof(topic), 1);
	unique(group, sizeof(group), "it-group-");
	produce_one(topic, "k3", "v3", "req-it-retry");

	seen_init(&s);
	s.script[0] = ST_ERR_UNAVAILABLE;
	s.script[1] = ST_ERR_UNAVAILABLE;
	s.script[2] = ST_OK;
	s.check_commits = true;
	s.group = group;
	s.topic = topic;
	c = consumer(group, topic, 10, record, &s);
	ck_assert_int_eq(st_kafka_consumer_start(c), ST_OK);
	deadline = st_now_mono_ms() + WAIT_MS;
	do {
		sleep_ms(50);
		st_kafka_consumer_stats(c, &st);
	} while (st.commits == 0 && st_now_mono_ms() < deadline);
	ck_assert_uint_eq(st.commits, 1);

	/* The partition was resumed after the success: the next message arrives. It is also the
	 * sentinel: a wrong extra call for v3 or a second commit would come before it, so the
	 * exact counts below need no fixed wait. */
	s.check_commits = false;
	produce_one(topic, "k3", "v3-next", "req-it-next");
	deadline = st_now_mono_ms() + WAIT_MS;
	do {
		sleep_ms(50);
		st_kafka_consumer_stats(c, &st);
	} while (st.commits < 2 && st_now_mono_ms() < deadline);
	st_kafka_consumer_destroy(c);
	ck_assert_uint_eq(st.commits, 2);
	ck_assert_int_eq(s.calls, 4);
	ck_assert_int_eq(s.call[3].recs[0].offset, 1);
	ck_assert_str_eq(s.call[3].recs[0].value, "v3-next");

	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(s.call[i].n, 1);
		ck_assert_int_eq(s.call[i].recs[0].offset, 0);
		ck_assert_str_eq(s.call[i].recs[0].value, "v3");
		ck_assert_str_eq(s.call[i].recs[0].rid, "req-it-retry");
		/* Nothing was committed before the successful call. */
		ck_assert_int_eq(s.call[i].committed, RD_KAFKA_OFFSET_INVALID);
	}
	/* Back-offs of 200 ms, then 400 ms (the committed lookups only add to the gaps). */
	ck_assert_int_ge(s.call[1].at_ms - s.call[0].at_ms, 200);
	ck_assert_int_ge(s.call[2].at_ms - s.call[1].at_ms, 400);
	ck_assert_uint_eq(st.failures, 2);
	ck_assert_uint_eq(st.batches, 2);
	ck_assert_uint_eq(st.records, 2);
	ck_assert_uint_eq(st.commit_failures, 0);
	ck_assert_int_eq(committed_offset(group, topic, 0), 2);
}
END_TEST

/* Member A fails until it has lost its batch to a revoke; B succeeds at once. */
struct revoke_ctx {
	struct st_kafka_consumer *a;
	atomic_int a_fail, a_ok, b_ok;
	atomic_int sentinels; /* handled by either member */
	int64_t a_offset, b_offset;
};

/* The sentinel produced after the record under test: counted, never failed. */
static bool
is_sentinel(const struct st_kafka_rec *recs, size_t n, struct revoke_ctx *r)
{
	if (n != 1 || recs[0].value_len != 8 || memcmp(recs[0].value, "sentinel", 8) != 0)
		return false;
	atomic_fetch_add(&r->sentinels, 1);
	return true;
}

static enum st_err
a_handler(const struct st_kafka_rec *recs, size_t n, void *ctx)
{
	struct revoke_ctx *r = ctx;
	struct st_kafka_consumer_stats st;

	if (is_sentinel(recs, n, r))
		return ST_OK;
	ck_assert_uint_eq(n, 1);
	st_kafka_consumer_stats(r->a, &st);
	if (st.dropped == 0) {
		atomic_fetch_add(&r->a_fail, 1);
		return ST_ERR_UNAVAILABLE;
	}
	r->a_offset = recs[0].offset;
	atomic_fetch_add(&r->a_ok, 1);
	return ST_OK;
}

static enum st_err
b_handler(const struct st_kafka_rec *recs, size_t n, void *ctx)
{
	struct revoke_ctx *r = ctx;

	if (is_sentinel(recs, n, r))
		return ST_OK;
	ck_assert_uint_eq(n, 1);
	r->b_offset = recs[0].offset;
	atomic_fetch_add(&r->b_ok, 1);
	return ST_OK;
}

/*
 * A rebalance during a back-off drops the batch uncommitted, and the owner of the partition
 * afterwards reads it again from the committed offset. The range assignor gives the single
 * partition to the member with the smallest member id, which starts with the client id: A
 * gets it back, which also shows that the partition A had paused was resumed across the
 * revoke (librdkafka keeps a pause through an unassign and a new assign).
 */
START_TEST(revoke_during_backoff)
{
	char topic[64], group[64];
	struct revoke_ctx r;
	struct st_kafka_consumer *b;
	struct st_kafka_consumer_stats st;
	int64_t deadline;
	int a_ok, b_ok;

	make_topic(topic, sizeof(topic), 1);
	unique(group, sizeof(group), "it-group-");
	produce_one(topic, "k", "v-revoke", NULL);
	memset(&r, 0, sizeof(r));
	r.a_offset = r.b_offset = -1;
	r.a = consumer_as("strata-it-a", group, topic, 10, a_handler, &r);
	ck_assert_int_eq(st_kafka_consumer_start(r.a), ST_OK);
	deadline = st_now_mono_ms() + WAIT_MS;
	while (atomic_load(&r.a_fail) == 0 && st_now_mono_ms() < deadline)
		sleep_ms(20);
	ck_assert_int_gt(atomic_load(&r.a_fail), 0); /* A holds the batch, backing off */

	b = consumer_as("strata-it-b", group, topic, 10, b_handler, &r);
	deadline = st_now_mono_ms() + WAIT_MS;
	while (atomic_load(&r.a_ok) + atomic_load(&r.b_ok) == 0 && st_now_mono_ms() < deadline)
		st_kafka_consumer_poll_once(b, 200);
	/* A sentinel after the record: once a member handled it, a second delivery of the record
	 * (to either member) would have come before it. */
	produce_one(topic, "k", "sentinel", NULL);
	deadline = st_now_mono_ms() + WAIT_MS;
	while (atomic_load(&r.sentinels) == 0 && st_now_mono_ms() < deadline)
		st_kafka_consumer_poll_once(b, 200);
	ck_assert_int_eq(atomic_load(&r.sentinels), 1);
	/* its commit follows the handler */
	deadline = st_now_mono_ms() + WAIT_MS;
	while (committed_offset(group, topic, 0) != 2 && st_now_mono_ms() < deadline)
		st_kafka_consumer_poll_once(b, 200);
	st_kafka_consumer_stats(r.a, &st);
	st_kafka_consumer_destroy(b);
	st_kafka_consumer_destroy(r.a);

	a_ok = atomic_load(&r.a_ok);
	b_ok = atomic_load(&r.b_ok);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_ge(st.rebalances, 3); /* assign, revoke, assign */
	ck_assert_msg(a_ok == 1 && b_ok == 0, "a_ok=%d b_ok=%d: A never got its record back", a_ok,
		      b_ok);
	ck_assert_int_eq(r.a_offset, 0);
	ck_assert_int_eq(committed_offset(group, topic, 0), 2);
}
END_TEST

/* (4) No broker: ST_ERR_UNAVAILABLE within the delivery timeout, never ST_OK. */
START_TEST(producer_without_broker)
{
	struct st_kafka_producer *p;
	struct st_kafka_producer_stats st;
	struct st_kafka_msg m = { .topic = "strata.test.nowhere",
				  .key = "k",
				  .key_len = 1,
				  .value = "v",
				  .value_len = 1 };
	int64_t t0, ms;
	enum st_err rc;

	st_log_set_level(ST_LOG_ERROR + 1); /* the refused connections are expected */
	p = producer("127.0.0.1:1", 1500);
	t0 = st_now_mono_ms();
	rc = st_kafka_produce(p, &m);
	ms = st_now_mono_ms() - t0;
	ck_assert_msg(rc == ST_ERR_UNAVAILABLE, "got %s", st_err_str(rc));
	ck_assert_msg(ms >= 1000 && ms <= 1500 + 2500, "took %lld ms", (long long)ms);
	ck_assert_int_eq(st_kafka_producer_ping(p, 300), ST_ERR_UNAVAILABLE);
	st_kafka_producer_stats(p, &st);
	ck_assert_uint_eq(st.delivered, 0);
	ck_assert_uint_eq(st.failed, 1);
	/* The breaker: right after, a call fails at once instead of waiting the timeout... */
	t0 = st_now_mono_ms();
	ck_assert_int_eq(st_kafka_produce(p, &m), ST_ERR_UNAVAILABLE);
	ms = st_now_mono_ms() - t0;
	ck_assert_msg(ms < 500, "a call during the cool-down took %lld ms", (long long)ms);
	/* ...and after the cool-down one call tries again, for the whole timeout. */
	usleep(1100 * 1000);
	t0 = st_now_mono_ms();
	ck_assert_int_eq(st_kafka_produce(p, &m), ST_ERR_UNAVAILABLE);
	ms = st_now_mono_ms() - t0;
	ck_assert_msg(ms >= 1000, "the probe took only %lld ms", (long long)ms);
	st_kafka_producer_stats(p, &st);
	ck_assert_uint_eq(st.failed, 3);
	t0 = st_now_mono_ms();
	st_kafka_producer_destroy(p);
	ck_assert_int_lt(st_now_mono_ms() - t0, 2000);
}
END_TEST

/* A message over the size limit is refused as ST_ERR_TOO_LARGE; the producer stays usable. */
START_TEST(producer_limits_and_ping)
{
	char topic[64];
	struct st_kafka_producer *p;
	struct st_kafka_producer_stats st;
	size_t big_len = 2 * 1024 * 1024;
	char *big = st_calloc(1, big_len);
	struct st_kafka_msg msgs[2];

	make_topic(topic, sizeof(topic), 1);
	p = producer(brokers(), 10000);
	ck_assert_int_eq(st_kafka_producer_ping(p, 5000), ST_OK);
	memset(msgs, 0, sizeof(msgs));
	msgs[0].topic = topic;
	msgs[0].value = "ok";
	msgs[0].value_len = 2;
	msgs[1].topic = topic;
	msgs[1].value = big;
	msgs[1].value_len = big_len;
	ck_assert_int_eq(st_kafka_produce_batch(p, msgs, 2), ST_ERR_TOO_LARGE);
	ck_assert_int_eq(st_kafka_produce_batch(p, msgs, 1), ST_OK);
	ck_assert_int_eq(st_kafka_produce_batch(p, msgs, 0), ST_OK);
	st_kafka_producer_stats(p, &st);
	ck_assert_uint_eq(st.delivered, 2); /* the first message of the refused batch went too */
	ck_assert_uint_eq(st.failed, 1);
	st_kafka_producer_destroy(p);
	st_free(big);
}
END_TEST

/* Many messages over several partitions: batches of at most batch_max, per-key order kept,
 * each message handled once, and the commits add up to every message. */
START_TEST(batches_keep_key_order)
{
	enum { N = 40, KEYS = 5, BATCH = 8 };
	char topic[64], group[64], keys[N][16], values[N][16];
	struct st_kafka_msg msgs[N];
	struct st_kafka_producer *p;
	struct st_kafka_consumer *c;
	struct seen s;
	int last[KEYS], total = 0, sentinels = 0;
	int64_t deadline, sum = 0;
	bool seen_value[N] = { false };
	char skeys[KEYS][16];
	struct st_kafka_msg smsgs[KEYS];

	make_topic(topic, sizeof(topic), 3);
	unique(group, sizeof(group), "it-group-");
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key%d", i % KEYS);
		snprintf(values[i], sizeof(values[i]), "%d", i);
		msgs[i] = (struct st_kafka_msg){ .topic = topic,
						 .key = keys[i],
						 .key_len = strlen(keys[i]),
						 .value = values[i],
						 .value_len = strlen(values[i]),
						 .request_id = "req-it-batch" };
	}
	/* then a sentinel for each key: behind every message in its partition */
	for (int k = 0; k < KEYS; k++) {
		snprintf(skeys[k], sizeof(skeys[k]), "key%d", k);
		smsgs[k] = (struct st_kafka_msg){ .topic = topic,
						  .key = skeys[k],
						  .key_len = strlen(skeys[k]),
						  .value = "sentinel",
						  .value_len = 8,
						  .request_id = "req-it-batch" };
	}
	p = producer(brokers(), 10000);
	ck_assert_int_eq(st_kafka_produce_batch(p, msgs, N), ST_OK);
	ck_assert_int_eq(st_kafka_produce_batch(p, smsgs, KEYS), ST_OK);
	st_kafka_producer_destroy(p);

	for (int k = 0; k < KEYS; k++)
		last[k] = -1;
	seen_init(&s);
	c = consumer(group, topic, BATCH, record, &s);
	deadline = st_now_mono_ms() + WAIT_MS;
	/* until every sentinel is in: a message handed twice, however late, comes before */
	while (sentinels < KEYS && st_now_mono_ms() < deadline) {
		int before = s.calls, got = st_kafka_consumer_poll_once(c, 500);

		ck_assert_int_ge(got, 0);
		if (got == 0)
			continue;
		ck_assert_int_le(got, BATCH);
		for (int i = 0; i < got; i++) {
			const char *v = s.call[0].recs[i].value;
			int idx = 0;

			if (strcmp(v, "sentinel") == 0) {
				sentinels++;
				continue;
			}
			for (const char *q = v; *q; q++)
				idx = idx * 10 + (*q - '0');
			ck_assert_int_lt(idx, N);
			ck_assert_msg(!seen_value[idx], "value %d handed twice", idx);
			seen_value[idx] = true;
			ck_assert_int_gt(idx, last[idx % KEYS]); /* per-key order */
			last[idx % KEYS] = idx;
			ck_assert_str_eq(s.call[0].recs[i].rid, "req-it-batch");
			total++;
		}
		/* Reuse slot 0: the script stays ST_OK. */
		pthread_mutex_lock(&s.mu);
		s.calls = before;
		pthread_mutex_unlock(&s.mu);
	}
	ck_assert_int_eq(sentinels, KEYS);
	ck_assert_int_eq(total, N);
	st_kafka_consumer_destroy(c);
	for (int part = 0; part < 3; part++) {
		int64_t off = committed_offset(group, topic, part);

		if (off >= 0)
			sum += off;
	}
	ck_assert_int_eq(sum, N + KEYS);
}
END_TEST

/* Creating topics twice is fine; a bad name is refused with the reason. */
START_TEST(ensure_topics_idempotent)
{
	char topic[64], err[256];
	struct st_kafka_topic_spec spec;

	make_topic(topic, sizeof(topic), 2);
	spec.name = topic;
	spec.partitions = 2;
	ck_assert_int_eq(st_kafka_ensure_topics(brokers(), &spec, 1, 15000, err, sizeof(err)),
			 ST_OK);
	spec.name = "strata.test.bad/name";
	ck_assert_int_eq(st_kafka_ensure_topics(brokers(), &spec, 1, 15000, err, sizeof(err)),
			 ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "strata.test.bad/name") != NULL, "%s", err);
}
END_TEST

Suite *
kafka_suite(void)
{
	Suite *s = suite_create("kafka");
	TCase *tc = tcase_create("broker");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, produce_consume_commit);
	tcase_add_test(tc, redelivery_after_crash);
	tcase_add_test(tc, failing_handler_retries);
	tcase_add_test(tc, revoke_during_backoff);
	tcase_add_test(tc, producer_without_broker);
	tcase_add_test(tc, producer_limits_and_ping);
	tcase_add_test(tc, batches_keep_key_order);
	tcase_add_test(tc, ensure_topics_idempotent);
	suite_add_tcase(s, tc);
	return s;
}
