/*
 * The Kafka producer: idempotent (which implies acks=all), so that a message acknowledged once
 * is written once even when librdkafka retries it. st_kafka_produce_batch enqueues every
 * message with a per-call waiter as its opaque and blocks on the waiter's condition variable
 * until librdkafka has reported the delivery of each of them; a background thread calls
 * rd_kafka_poll so that those delivery reports are served whatever the callers do.
 *
 * A breaker keeps an outage from holding every caller for the whole delivery timeout: after a
 * call failed as unavailable, calls fail at once for BREAKER_COOLDOWN_MS, then one call at a
 * time goes through as a probe (the others still fail at once) until one succeeds. A 503 with
 * Retry-After at once is what a client of a service whose Kafka is away should get.
 */
#include "kafka_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "strata/log.h"

#define DEFAULT_DELIVERY_TIMEOUT_MS 30000
#define POLL_SLICE_MS               100
#define QUEUE_FULL_WAIT_MS          10
#define BREAKER_COOLDOWN_MS         1000

struct st_kafka_producer {
	rd_kafka_t *rk;
	int delivery_timeout_ms;
	pthread_t poller;
	bool poller_started;
	atomic_bool stop;
	atomic_uint_fast64_t delivered;
	atomic_uint_fast64_t failed;
	atomic_bool broken;          /* the last call failed as unavailable */
	atomic_int_fast64_t calm_ms; /* monotonic: while broken, fail at once until then */
	atomic_bool probing;         /* a call is trying while broken */
	atomic_int_fast64_t ok_ms;   /* monotonic: when a call last succeeded */
};

/* One st_kafka_produce_batch call: how many reports are still due and the first failure. */
struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t pending;
	rd_kafka_resp_err_t first_err;
};

/*
 * Delivery report, on the poller thread (or a thread inside rd_kafka_flush). Every message we
 * enqueue carries a waiter, and its caller waits for this report before the waiter goes.
 */
static void
dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct st_kafka_producer *p = opaque;
	struct waiter *w = m->_private;

	(void)rk;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
		atomic_fetch_add_explicit(&p->delivered, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&p->failed, 1, memory_order_relaxed);
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && w->first_err == RD_KAFKA_RESP_ERR_NO_ERROR)
		w->first_err = m->err;
	w->pending--;
	if (w->pending == 0)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void *
poller_main(void *arg)
{
	struct st_kafka_producer *p = arg;

	while (!atomic_load(&p->stop))
		rd_kafka_poll(p->rk, POLL_SLICE_MS);
	return NULL;
}

enum st_err
st_kafka_producer_create(const struct st_kafka_conf *conf, struct st_kafka_producer **out)
{
	struct st_kafka_producer *p = st_calloc(1, sizeof(*p));
	rd_kafka_conf_t *rconf = NULL;
	enum st_err rc;

	*out = NULL;
	atomic_init(&p->stop, false);
	atomic_init(&p->delivered, 0);
	atomic_init(&p->failed, 0);
	atomic_init(&p->broken, false);
	atomic_init(&p->calm_ms, 0);
	atomic_init(&p->probing, false);
	atomic_init(&p->ok_ms, 0);
	if (conf == NULL || conf->brokers == NULL || conf->brokers[0] == '\0' ||
	    conf->delivery_timeout_ms < 0 || conf->linger_ms < 0 || conf->linger_ms > 1000) {
		st_log(ST_LOG_ERROR, "kafka",
		       "producer: brokers required, delivery_timeout_ms >= 0, linger_ms 0..1000");
		rc = ST_ERR_INVALID;
		goto out;
	}
	p->delivery_timeout_ms = conf->delivery_timeout_ms > 0 ? conf->delivery_timeout_ms
							       : DEFAULT_DELIVERY_TIMEOUT_MS;
	if (p->delivery_timeout_ms <= conf->linger_ms) {
		st_log(ST_LOG_ERROR, "kafka",
		       "producer: delivery_timeout_ms must exceed linger_ms");
		rc = ST_ERR_INVALID;
		goto out;
	}
	rc = kafka_conf_new(conf->brokers, conf->client_id, &rconf);
	if (rc != ST_OK)
		goto out;
	rd_kafka_conf_set_dr_msg_cb(rconf, dr_msg_cb);
	rd_kafka_conf_set_opaque(rconf, p);
	/* Idempotence implies acks=all, retries and at most 5 requests in flight: no duplicates,
	 * no reordering within a partition. */
	rc = kafka_conf_set(rconf, "enable.idempotence", "true");
	if (rc == ST_OK)
		rc = kafka_conf_set(rconf, "acks", "all");
	if (rc == ST_OK)
		rc = kafka_conf_set_int(rconf, "message.timeout.ms", p->delivery_timeout_ms);
	if (rc == ST_OK)
		rc = kafka_conf_set_int(rconf, "linger.ms", conf->linger_ms);
	/* The Java client's partitioner, so that a key lands on the same partition whichever
	 * client (a service, kafka-console-producer) wrote it. */
	if (rc == ST_OK)
		rc = kafka_conf_set(rconf, "partitioner", "murmur2_random");
	if (rc == ST_OK)
		rc = kafka_conf_set(rconf, "compression.codec", "lz4");
	if (rc == ST_OK)
		rc = kafka_new(RD_KAFKA_PRODUCER, &rconf, &p->rk);
	if (rc != ST_OK)
		goto out;
	if (pthread_create(&p->poller, NULL, poller_main, p) != 0) {
		st_log(ST_LOG_ERROR, "kafka", "producer: cannot start the poll thread");
		rc = ST_ERR_INTERNAL;
		goto out;
	}
	p->poller_started = true;
	*out = p;
	p = NULL;
out:
	if (rconf != NULL)
		rd_kafka_conf_destroy(rconf);
	st_kafka_producer_destroy(p);
	return rc;
}

void
st_kafka_producer_destroy(struct st_kafka_producer *p)
{
	if (p == NULL)
		return;
	if (p->poller_started) {
		atomic_store(&p->stop, true);
		pthread_join(p->poller, NULL);
	}
	if (p->rk != NULL) {
		/* Every produce call waits for its reports, so this normally finds nothing. */
		if (rd_kafka_flush(p->rk, p->delivery_timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			st_log(ST_LOG_WARN, "kafka", "producer flush timed out dropped=%d",
			       rd_kafka_outq_len(p->rk));
			if (rd_kafka_purge(p->rk,
					   RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT) !=
			    RD_KAFKA_RESP_ERR_NO_ERROR)
				st_log(ST_LOG_WARN, "kafka", "producer purge failed");
			rd_kafka_poll(p->rk, 0);
		}
		rd_kafka_destroy(p->rk);
	}
	st_free(p);
}

static rd_kafka_resp_err_t
enqueue(struct st_kafka_producer *p, const struct st_kafka_msg *m, const char *rid,
	struct waiter *w)
{
	/* The casts drop const only for librdkafka's signature: RD_KAFKA_MSG_F_COPY copies. */
	if (rid[0] == '\0')
		return rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(m->topic),
					 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					 RD_KAFKA_V_KEY((void *)m->key, m->key_len),
					 RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
					 RD_KAFKA_V_OPAQUE(w), RD_KAFKA_V_END);
	return rd_kafka_producev(
		p->rk, RD_KAFKA_V_TOPIC(m->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_KEY((void *)m->key, m->key_len),
		RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
		RD_KAFKA_V_HEADER(ST_KAFKA_REQUEST_ID_HEADER, rid, (ssize_t)strlen(rid)),
		RD_KAFKA_V_OPAQUE(w), RD_KAFKA_V_END);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Enqueues one message, waiting while librdkafka's queue is full (the poller drains it as
 * reports come in) but not past the deadline.
 */
static rd_kafka_resp_err_t
enqueue_until(struct st_kafka_producer *p, const struct st_kafka_msg *m, struct waiter *w,
	      int64_t deadline)
{
	const char *rid = m->request_id != NULL ? m->request_id : st_log_request_id();
	rd_kafka_resp_err_t err;

	for (;;) {
		err = enqueue(p, m, rid, w);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || st_now_mono_ms() >= deadline)
			return err;
		sleep_ms(QUEUE_FULL_WAIT_MS);
	}
}

/* While the breaker is open: true when this call may go through (as the one probe). */
static bool
breaker_admits(struct st_kafka_producer *p, bool *probe)
{
	bool idle = false;

	*probe = false;
	if (!atomic_load(&p->broken))
		return true;
	if (st_now_mono_ms() < atomic_load(&p->calm_ms) ||
	    !atomic_compare_exchange_strong(&p->probing, &idle, true))
		return false;
	*probe = true;
	return true;
}

/* started_ms: when the call began. A failure of a call older than the last success (it waited
 * out the outage) says nothing about now and leaves the breaker closed. */
static void
breaker_record(struct st_kafka_producer *p, enum st_err rc, bool probe, int64_t started_ms)
{
	if (rc == ST_ERR_UNAVAILABLE && started_ms >= atomic_load(&p->ok_ms)) {
		atomic_store(&p->calm_ms, st_now_mono_ms() + BREAKER_COOLDOWN_MS);
		if (!atomic_exchange(&p->broken, true))
			st_log(ST_LOG_WARN, "kafka",
			       "brokers unreachable: produce calls fail at once, one probe a "
			       "second");
	} else if (rc == ST_OK) {
		atomic_store(&p->ok_ms, st_now_mono_ms());
		if (atomic_exchange(&p->broken, false))
			st_log(ST_LOG_INFO, "kafka", "brokers reachable again");
	}
	if (probe)
		atomic_store(&p->probing, false);
}

enum st_err
st_kafka_produce_batch(struct st_kafka_producer *p, const struct st_kafka_msg *msgs, size_t n)
{
	struct waiter w;
	rd_kafka_resp_err_t first = RD_KAFKA_RESP_ERR_NO_ERROR;
	int64_t started_ms = st_now_mono_ms(), deadline = started_ms + p->delivery_timeout_ms;
	enum st_err rc;
	bool probe;

	if (n == 0)
		return ST_OK;
	if (!breaker_admits(p, &probe)) {
		atomic_fetch_add_explicit(&p->failed, n, memory_order_relaxed);
		return ST_ERR_UNAVAILABLE;
	}
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	w.pending = 0;
	w.first_err = RD_KAFKA_RESP_ERR_NO_ERROR;
	for (size_t i = 0; i < n; i++) {
		rd_kafka_resp_err_t err;

		if (msgs[i].topic == NULL || (msgs[i].value == NULL && msgs[i].value_len > 0) ||
		    (msgs[i].key == NULL && msgs[i].key_len > 0)) {
			first = RD_KAFKA_RESP_ERR__INVALID_ARG;
			break;
		}
		/* Count first: the report may arrive before producev returns. */
		pthread_mutex_lock(&w.mu);
		w.pending++;
		pthread_mutex_unlock(&w.mu);
		err = enqueue_until(p, &msgs[i], &w, deadline);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			pthread_mutex_lock(&w.mu);
			w.pending--;
			pthread_mutex_unlock(&w.mu);
			atomic_fetch_add_explicit(&p->failed, n - i, memory_order_relaxed);
			first = err;
			break;
		}
	}
	/* librdkafka reports every enqueued message within message.timeout.ms, so this ends. */
	pthread_mutex_lock(&w.mu);
	while (w.pending > 0)
		pthread_cond_wait(&w.cv, &w.mu);
	if (first == RD_KAFKA_RESP_ERR_NO_ERROR)
		first = w.first_err;
	pthread_mutex_unlock(&w.mu);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	rc = kafka_err_map(first);
	if (rc != ST_OK)
		st_log(ST_LOG_WARN, "kafka", "produce failed: %s err=%s messages=%zu",
		       rd_kafka_err2str(first), rd_kafka_err2name(first), n);
	breaker_record(p, rc, probe, started_ms);
	return rc;
}

enum st_err
st_kafka_produce(struct st_kafka_producer *p, const struct st_kafka_msg *msg)
{
	return st_kafka_produce_batch(p, msg, 1);
}

enum st_err
st_kafka_producer_ping(struct st_kafka_producer *p, int timeout_ms)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err;
	char reason[256];
	enum st_err rc = ST_OK;

	if (rd_kafka_fatal_error(p->rk, reason, sizeof(reason)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rc = ST_ERR_UNAVAILABLE;
		goto out;
	}
	err = rd_kafka_metadata(p->rk, 0, NULL, &md, timeout_ms > 0 ? timeout_ms : 1);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR || md->broker_cnt <= 0)
		rc = ST_ERR_UNAVAILABLE;
out:
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	return rc;
}

void
st_kafka_producer_stats(struct st_kafka_producer *p, struct st_kafka_producer_stats *out)
{
	out->delivered = atomic_load_explicit(&p->delivered, memory_order_relaxed);
	out->failed = atomic_load_explicit(&p->failed, memory_order_relaxed);
}
