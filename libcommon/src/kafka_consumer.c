/*
 * The Kafka consumer: a member of a consumer group that hands records to a handler in batches
 * and commits offsets only after the handler returned ST_OK (at-least-once; handlers write
 * idempotently).
 *
 * Records fetched but not yet committed are "held" here, in offset order. A batch is the first
 * batch_max held records. When the handler fails, the assigned partitions are paused and the
 * consumer keeps calling rd_kafka_consumer_poll during the back-off, so that the group session
 * and rebalances are served; the same batch is handed again when the back-off ends. On a
 * revoke (the eager assignor revokes everything at each rebalance) the held records are dropped
 * uncommitted: the next owner of the partitions reads them again from the committed offset.
 *
 * All of this runs on one thread, the consumer's own (st_kafka_consumer_start) or the caller's
 * (st_kafka_consumer_poll_once); librdkafka calls the rebalance callback from inside
 * rd_kafka_consumer_poll on that same thread, so the held records need no lock.
 */
#include "kafka_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "strata/log.h"
#include "strata/request_id.h"

#define POLL_SLICE_MS              100 /* how often the thread looks at its stop flag */
#define BACKOFF_MAX_MS             30000
#define DEFAULT_BACKOFF_MS         1000
#define DEFAULT_SESSION_TIMEOUT_MS 10000

/* A fetched record not yet committed: the librdkafka message and the copies we hand out. */
struct held {
	rd_kafka_message_t *msg;
	char *key; /* NUL-terminated copy of the key, or NULL */
	char request_id[ST_KAFKA_REQUEST_ID_MAX + 1];
};

struct st_kafka_consumer {
	rd_kafka_t *rk;
	st_kafka_handler *handler;
	void *ctx;
	int batch_max;
	int batch_wait_ms;
	int retry_backoff_ms;

	struct held *held; /* in fetch order; the first min(nheld, batch_max) form the batch */
	size_t nheld, held_cap;
	int64_t first_held_ms;     /* when the oldest held record arrived (batch_wait) */
	struct st_kafka_rec *recs; /* batch_max entries, filled for each handler call */
	rd_kafka_topic_partition_list_t *paused; /* what we paused during a back-off, or NULL */
	int64_t retry_at_ms; /* end of the current back-off; 0 when not backing off */
	int backoff_ms;      /* the next back-off */
	int attempts;        /* failed calls for the batch in hand */

	pthread_t thread;
	bool started;
	atomic_bool stop;

	atomic_uint_fast64_t n_records, n_batches, n_failures, n_commits, n_commit_failures,
		n_dropped, n_rebalances;
};

ST_STATIC int kafka_backoff_next(int backoff_ms);
ST_STATIC rd_kafka_topic_partition_list_t *kafka_commit_list(const struct st_kafka_rec *recs,
							     size_t n);

static void
count(atomic_uint_fast64_t *counter, uint64_t v)
{
	atomic_fetch_add_explicit(counter, v, memory_order_relaxed);
}

/* The next back-off after one of backoff_ms: doubled, at most 30 s. */
ST_STATIC int
kafka_backoff_next(int backoff_ms)
{
	if (backoff_ms <= 0)
		return DEFAULT_BACKOFF_MS;
	if (backoff_ms >= BACKOFF_MAX_MS / 2)
		return BACKOFF_MAX_MS;
	return backoff_ms * 2;
}

/*
 * The offsets that commit a handled batch: for each topic and partition in it, the highest
 * offset plus one (the next record to read). The caller destroys the list.
 */
ST_STATIC rd_kafka_topic_partition_list_t *
kafka_commit_list(const struct st_kafka_rec *recs, size_t n)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)n);

	for (size_t i = 0; i < n; i++) {
		rd_kafka_topic_partition_t *tp;

		tp = rd_kafka_topic_partition_list_find(list, recs[i].topic, recs[i].partition);
		if (tp == NULL)
			tp = rd_kafka_topic_partition_list_add(list, recs[i].topic,
							       recs[i].partition);
		if (tp->offset < recs[i].offset + 1)
			tp->offset = recs[i].offset + 1;
	}
	return list;
}

static void
release_held(struct held *h)
{
	rd_kafka_message_destroy(h->msg);
	st_free(h->key);
}

/* Drops the first k held records (handled, or to be read again by another member). */
static void
drop_held(struct st_kafka_consumer *c, size_t k)
{
	if (k == 0)
		return;
	for (size_t i = 0; i < k; i++)
		release_held(&c->held[i]);
	memmove(c->held, c->held + k, (c->nheld - k) * sizeof(*c->held));
	c->nheld -= k;
	if (c->nheld > 0)
		c->first_held_ms = st_now_mono_ms();
}

/* Takes over a fetched message. */
static void
hold(struct st_kafka_consumer *c, rd_kafka_message_t *m)
{
	struct held *h;
	rd_kafka_headers_t *hdrs = NULL;
	const void *val = NULL;
	size_t len = 0;

	if (c->nheld == c->held_cap) {
		c->held_cap = c->held_cap ? c->held_cap * 2 : (size_t)c->batch_max;
		c->held = st_realloc(c->held, c->held_cap * sizeof(*c->held));
	}
	if (c->nheld == 0)
		c->first_held_ms = st_now_mono_ms();
	h = &c->held[c->nheld++];
	h->msg = m;
	h->key = m->key != NULL ? st_strndup(m->key, m->key_len) : NULL;
	h->request_id[0] = '\0';
	if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
	    rd_kafka_header_get_last(hdrs, ST_KAFKA_REQUEST_ID_HEADER, &val, &len) ==
		    RD_KAFKA_RESP_ERR_NO_ERROR &&
	    val != NULL) {
		/* A producer's bytes: one that is no request id (control characters, too long)
		 * must not reach a log line or a header of a call made for this record. */
		st_request_id_pick(val, len, h->request_id, sizeof(h->request_id));
	}
}

/* Resumes what a back-off paused (before a revoke, too: librdkafka keeps a partition's pause
 * across an unassign and a later assign). */
static void
resume_paused(struct st_kafka_consumer *c)
{
	rd_kafka_resp_err_t err;

	if (c->paused == NULL)
		return;
	err = rd_kafka_resume_partitions(c->rk, c->paused);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		st_log(ST_LOG_WARN, "kafka", "resume failed err=%s", rd_kafka_err2name(err));
	rd_kafka_topic_partition_list_destroy(c->paused);
	c->paused = NULL;
}

static void
pause_assigned(struct st_kafka_consumer *c)
{
	rd_kafka_topic_partition_list_t *list = NULL;
	rd_kafka_resp_err_t err;

	if (c->paused != NULL)
		return;
	err = rd_kafka_assignment(c->rk, &list);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		st_log(ST_LOG_WARN, "kafka", "assignment unknown err=%s", rd_kafka_err2name(err));
		return;
	}
	err = rd_kafka_pause_partitions(c->rk, list);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		st_log(ST_LOG_WARN, "kafka", "pause failed err=%s", rd_kafka_err2name(err));
		rd_kafka_topic_partition_list_destroy(list);
		return;
	}
	c->paused = list;
}

/* Forgets the back-off: after a success, or when the batch was dropped. */
static void
reset_retry(struct st_kafka_consumer *c)
{
	c->retry_at_ms = 0;
	c->backoff_ms = c->retry_backoff_ms;
	c->attempts = 0;
}

/*
 * Assign and revoke, called by librdkafka from inside rd_kafka_consumer_poll (or
 * rd_kafka_consumer_close) on the consuming thread. The held records belong to partitions that
 * are going away on a revoke; they were not committed, so the next owner reads them again.
 */
static void
rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
	     void *opaque)
{
	struct st_kafka_consumer *c = opaque;
	rd_kafka_resp_err_t aerr;
	size_t dropped;

	count(&c->n_rebalances, 1);
	switch (err) {
	case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
		st_log(ST_LOG_INFO, "kafka", "partitions assigned partitions=%d", parts->cnt);
		aerr = rd_kafka_assign(rk, parts);
		break;
	case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
		dropped = c->nheld;
		drop_held(c, c->nheld);
		count(&c->n_dropped, dropped);
		resume_paused(c);
		reset_retry(c);
		st_log(ST_LOG_INFO, "kafka", "partitions revoked partitions=%d dropped=%zu",
		       parts->cnt, dropped);
		aerr = rd_kafka_assign(rk, NULL);
		break;
	default:
		st_log(ST_LOG_ERROR, "kafka", "rebalance failed err=%s", rd_kafka_err2name(err));
		drop_held(c, c->nheld);
		resume_paused(c);
		reset_retry(c);
		aerr = rd_kafka_assign(rk, NULL);
		break;
	}
	if (aerr != RD_KAFKA_RESP_ERR_NO_ERROR)
		st_log(ST_LOG_ERROR, "kafka", "assign failed err=%s", rd_kafka_err2name(aerr));
}

enum st_err
st_kafka_consumer_create(const struct st_kafka_consumer_conf *conf, struct st_kafka_consumer **out)
{
	struct st_kafka_consumer *c = st_calloc(1, sizeof(*c));
	rd_kafka_conf_t *rconf = NULL;
	rd_kafka_topic_partition_list_t *topics = NULL;
	rd_kafka_resp_err_t err;
	int session;
	enum st_err rc;

	*out = NULL;
	atomic_init(&c->stop, false);
	if (conf == NULL || conf->brokers == NULL || conf->brokers[0] == '\0' ||
	    conf->group == NULL || conf->group[0] == '\0' || conf->topic == NULL ||
	    conf->topic[0] == '\0' || conf->handler == NULL || conf->batch_max < 1 ||
	    conf->batch_wait_ms < 0 || conf->retry_backoff_ms < 0 || conf->session_timeout_ms < 0) {
		st_log(ST_LOG_ERROR, "kafka",
		       "consumer: brokers, group, topic and handler required, batch_max >= 1, "
		       "times >= 0");
		rc = ST_ERR_INVALID;
		goto out;
	}
	c->handler = conf->handler;
	c->ctx = conf->ctx;
	c->batch_max = conf->batch_max;
	c->batch_wait_ms = conf->batch_wait_ms;
	c->retry_backoff_ms =
		conf->retry_backoff_ms > 0 ? conf->retry_backoff_ms : DEFAULT_BACKOFF_MS;
	if (c->retry_backoff_ms > BACKOFF_MAX_MS)
		c->retry_backoff_ms = BACKOFF_MAX_MS;
	reset_retry(c);
	c->recs = st_calloc((size_t)c->batch_max, sizeof(*c->recs));
	session = conf->session_timeout_ms > 0 ? conf->session_timeout_ms
					       : DEFAULT_SESSION_TIMEOUT_MS;

	rc = kafka_conf_new(conf->brokers, conf->client_id, &rconf);
	if (rc != ST_OK)
		goto out;
	rd_kafka_conf_set_rebalance_cb(rconf, rebalance_cb);
	rd_kafka_conf_set_opaque(rconf, c);
	rc = kafka_conf_set(rconf, "group.id", conf->group);
	if (rc == ST_OK)
		rc = kafka_conf_set(rconf, "enable.auto.commit", "false");
	if (rc == ST_OK)
		rc = kafka_conf_set(rconf, "enable.auto.offset.store", "false");
	if (rc == ST_OK)
		rc = kafka_conf_set(rconf, "auto.offset.reset",
				    conf->from_beginning ? "earliest" : "latest");
	if (rc == ST_OK)
		rc = kafka_conf_set_int(rconf, "session.timeout.ms", session);
	if (rc == ST_OK)
		rc = kafka_conf_set_int(rconf, "heartbeat.interval.ms",
					session / 3 > 0 ? session / 3 : 1);
	if (rc == ST_OK)
		rc = kafka_new(RD_KAFKA_CONSUMER, &rconf, &c->rk);
	if (rc != ST_OK)
		goto out;
	/* Rebalances, errors and messages all come through rd_kafka_consumer_poll. */
	rd_kafka_poll_set_consumer(c->rk);
	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, conf->topic, RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(c->rk, topics);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		st_log(ST_LOG_ERROR, "kafka", "subscribe failed topic=%s err=%s", conf->topic,
		       rd_kafka_err2name(err));
		rc = kafka_err_map(err);
		goto out;
	}
	st_log(ST_LOG_INFO, "kafka", "consumer subscribed topic=%s group=%s", conf->topic,
	       conf->group);
	*out = c;
	c = NULL;
out:
	if (topics != NULL)
		rd_kafka_topic_partition_list_destroy(topics);
	if (rconf != NULL)
		rd_kafka_conf_destroy(rconf);
	st_kafka_consumer_destroy(c);
	return rc;
}

/* A consumer error that came in place of a message: librdkafka retries by itself. */
static void
consumer_error(const rd_kafka_message_t *m)
{
	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
		return;
	st_log(ST_LOG_WARN, "kafka", "consume error: %s err=%s topic=%s",
	       rd_kafka_message_errstr(m), rd_kafka_err2name(m->err),
	       m->rkt != NULL ? rd_kafka_topic_name(m->rkt) : "-");
}

/* One rd_kafka_consumer_poll: holds a record if one came. */
static void
poll_one(struct st_kafka_consumer *c, int timeout_ms)
{
	rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);

	if (m == NULL)
		return;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		consumer_error(m);
		rd_kafka_message_destroy(m);
		return;
	}
	hold(c, m);
}

/*
 * Fills the held records up to batch_max: waits up to first_wait_ms for a first record, then
 * up to batch_wait_ms from that record's arrival for more, taking what is already fetched
 * without waiting in any case.
 */
static void
collect(struct st_kafka_consumer *c, int first_wait_ms)
{
	int64_t first_deadline = st_now_mono_ms() + first_wait_ms;

	while (c->nheld < (size_t)c->batch_max && !atomic_load(&c->stop)) {
		size_t before = c->nheld;
		int64_t end = c->nheld == 0 ? first_deadline : c->first_held_ms + c->batch_wait_ms;
		int64_t left = end - st_now_mono_ms();
		int wait = left <= 0 ? 0 : (left < POLL_SLICE_MS ? (int)left : POLL_SLICE_MS);

		poll_one(c, wait);
		if (wait == 0 && c->nheld <= before)
			break; /* time is up and nothing more is waiting */
	}
}

/*
 * Waits for the back-off to end, at most max_wait_ms, serving the group meanwhile. Records
 * that still arrive (fetched before the pause took effect) are held behind the batch.
 */
static void
wait_backoff(struct st_kafka_consumer *c, int max_wait_ms)
{
	int64_t until = st_now_mono_ms() + max_wait_ms;

	if (until > c->retry_at_ms)
		until = c->retry_at_ms;
	while (c->retry_at_ms != 0 && !atomic_load(&c->stop)) {
		int64_t left = until - st_now_mono_ms();

		if (left <= 0)
			break;
		poll_one(c, left < POLL_SLICE_MS ? (int)left : POLL_SLICE_MS);
	}
}

/* Commits the handled batch synchronously. */
static enum st_err
commit(struct st_kafka_consumer *c, size_t n)
{
	rd_kafka_topic_partition_list_t *list = kafka_commit_list(c->recs, n);
	rd_kafka_resp_err_t err;
	enum st_err rc = ST_OK;

	err = rd_kafka_commit(c->rk, list, 0);
	for (int i = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; i++)
		err = list->elems[i].err;
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		count(&c->n_commit_failures, 1);
		st_log(ST_LOG_WARN, "kafka",
		       "commit failed err=%s records=%zu (they will be handled again)",
		       rd_kafka_err2name(err), n);
		rc = kafka_err_map(err);
		goto out;
	}
	count(&c->n_commits, 1);
out:
	rd_kafka_topic_partition_list_destroy(list);
	return rc;
}

/* The request id shared by the first n held records, or "" when they differ. */
static const char *
batch_request_id(const struct st_kafka_consumer *c, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(c->held[i].request_id, c->held[0].request_id) != 0)
			return "";
	return c->held[0].request_id;
}

/* Calls the handler with the first n held records; commits them after ST_OK. */
static int
handle_batch(struct st_kafka_consumer *c, size_t n)
{
	enum st_err rc;
	int result;

	for (size_t i = 0; i < n; i++) {
		const struct held *h = &c->held[i];
		const rd_kafka_message_t *m = h->msg;
		struct st_kafka_rec *r = &c->recs[i];

		r->topic = rd_kafka_topic_name(m->rkt);
		r->partition = m->partition;
		r->offset = m->offset;
		r->key = h->key;
		r->key_len = h->key != NULL ? m->key_len : 0;
		r->value = m->payload != NULL ? m->payload : "";
		r->value_len = m->len;
		r->request_id = h->request_id;
		r->timestamp_ms = rd_kafka_message_timestamp(m, NULL);
	}
	st_log_set_request_id(batch_request_id(c, n));
	rc = c->handler(c->recs, n, c->ctx);
	st_log_set_request_id(NULL);
	if (rc != ST_OK) {
		int backoff = c->backoff_ms;

		c->attempts++;
		count(&c->n_failures, 1);
		st_log(ST_LOG_WARN, "kafka",
		       "batch failed err=%s records=%zu attempt=%d retry_in_ms=%d", st_err_str(rc),
		       n, c->attempts, backoff);
		pause_assigned(c);
		c->retry_at_ms = st_now_mono_ms() + backoff;
		c->backoff_ms = kafka_backoff_next(backoff);
		return -1;
	}
	count(&c->n_batches, 1);
	count(&c->n_records, n);
	if (c->attempts > 0)
		st_log(ST_LOG_INFO, "kafka",
		       "batch succeeded after retries records=%zu attempts=%d", n, c->attempts + 1);
	result = commit(c, n) == ST_OK ? (int)n : -1;
	/* Handled either way: on a failed commit the group hands the records out again. */
	drop_held(c, n);
	resume_paused(c);
	reset_retry(c);
	return result;
}

/* One step: fill or wait out the back-off, then hand at most one batch. */
static int
step(struct st_kafka_consumer *c, int wait_ms)
{
	size_t n;

	if (c->retry_at_ms != 0) {
		wait_backoff(c, wait_ms);
		/* A revoke inside the wait drops the batch and ends the back-off. */
		if (c->retry_at_ms != 0 && st_now_mono_ms() < c->retry_at_ms)
			return 0;
	} else {
		collect(c, wait_ms);
	}
	if (c->nheld == 0 || atomic_load(&c->stop))
		return 0;
	n = c->nheld < (size_t)c->batch_max ? c->nheld : (size_t)c->batch_max;
	return handle_batch(c, n);
}

static void *
consumer_main(void *arg)
{
	struct st_kafka_consumer *c = arg;

	while (!atomic_load(&c->stop))
		step(c, POLL_SLICE_MS);
	return NULL;
}

enum st_err
st_kafka_consumer_start(struct st_kafka_consumer *c)
{
	if (c->started)
		return ST_ERR_CONFLICT;
	if (pthread_create(&c->thread, NULL, consumer_main, c) != 0) {
		st_log(ST_LOG_ERROR, "kafka", "consumer: cannot start its thread");
		return ST_ERR_INTERNAL;
	}
	c->started = true;
	return ST_OK;
}

int
st_kafka_consumer_poll_once(struct st_kafka_consumer *c, int timeout_ms)
{
	if (c->started) {
		st_log(ST_LOG_ERROR, "kafka", "poll_once on a started consumer");
		return -1;
	}
	return step(c, timeout_ms > 0 ? timeout_ms : 0);
}

void
st_kafka_consumer_destroy(struct st_kafka_consumer *c)
{
	rd_kafka_resp_err_t err;

	if (c == NULL)
		return;
	if (c->started) {
		atomic_store(&c->stop, true);
		pthread_join(c->thread, NULL);
	}
	if (c->rk != NULL) {
		/* Leaves the group at once (the revoke drops what is held) rather than making the
		 * others wait for the session timeout. */
		err = rd_kafka_consumer_close(c->rk);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
			st_log(ST_LOG_WARN, "kafka", "consumer close err=%s",
			       rd_kafka_err2name(err));
	}
	drop_held(c, c->nheld);
	if (c->paused != NULL)
		rd_kafka_topic_partition_list_destroy(c->paused);
	if (c->rk != NULL)
		rd_kafka_destroy(c->rk);
	st_free(c->held);
	st_free(c->recs);
	st_free(c);
}

void
st_kafka_consumer_stats(struct st_kafka_consumer *c, struct st_kafka_consumer_stats *out)
{
	out->records = atomic_load_explicit(&c->n_records, memory_order_relaxed);
	out->batches = atomic_load_explicit(&c->n_batches, memory_order_relaxed);
	out->failures = atomic_load_explicit(&c->n_failures, memory_order_relaxed);
	out->commits = atomic_load_explicit(&c->n_commits, memory_order_relaxed);
	out->commit_failures = atomic_load_explicit(&c->n_commit_failures, memory_order_relaxed);
	out->dropped = atomic_load_explicit(&c->n_dropped, memory_order_relaxed);
	out->rebalances = atomic_load_explicit(&c->n_rebalances, memory_order_relaxed);
}
