/*
 * Kafka on librdkafka, the way every Strata service uses it.
 *
 * The producer is idempotent with acks=all; st_kafka_produce* block until the broker has
 * acknowledged (or refused) every message, so an HTTP answer of 2xx can promise durability.
 * The consumer belongs to a consumer group, hands messages to a handler in batches, and commits
 * offsets only after the handler returned ST_OK; a failing handler gets the same batch again
 * after a back-off, and nothing is committed meanwhile. The request id travels in the message
 * header `x-request-id` and is set as the log request id while a message is handled.
 *
 * Messages are CloudEvents 1.0 JSON documents; st_cloudevent_* build and parse the envelope.
 */
#ifndef STRATA_KAFKA_H
#define STRATA_KAFKA_H

#include <cjson/cJSON.h>

#include "strata/core.h"

#define ST_KAFKA_REQUEST_ID_HEADER "x-request-id"

struct st_kafka_conf {
	const char *brokers;         /* bootstrap list "host:port,..."; required */
	const char *client_id;       /* e.g. "strata-ingest" */
	int delivery_timeout_ms;     /* how long a produce may wait for the broker (message.timeout.ms) */
	int linger_ms;               /* batching delay for the producer, 0..1000 */
};

/* ---- producer ---- */

struct st_kafka_producer;

enum st_err st_kafka_producer_create(const struct st_kafka_conf *conf,
				     struct st_kafka_producer **out);
/* Flushes what is in flight (bounded by the delivery timeout), then frees. Accepts NULL. */
void st_kafka_producer_destroy(struct st_kafka_producer *p);

/* One message to send. key may be NULL; request_id NULL means this thread's log request id. */
struct st_kafka_msg {
	const char *topic;
	const char *key;
	size_t key_len;
	const void *value;
	size_t value_len;
	const char *request_id;
};

/*
 * Sends the messages and waits until every one is acknowledged by the broker. ST_OK only when
 * all were; otherwise the first error (ST_ERR_UNAVAILABLE when the brokers cannot be reached
 * or the delivery timeout ran out, ST_ERR_TOO_LARGE for an oversized message, ST_ERR_INVALID
 * for an unknown topic). Copies what it needs: the caller's buffers may go after it returns.
 */
enum st_err st_kafka_produce_batch(struct st_kafka_producer *p, const struct st_kafka_msg *msgs,
				   size_t n);
enum st_err st_kafka_produce(struct st_kafka_producer *p, const struct st_kafka_msg *msg);

/* ST_OK when the cluster answered a metadata request within timeout_ms: for /readyz. */
enum st_err st_kafka_producer_ping(struct st_kafka_producer *p, int timeout_ms);

/* ---- consumer ---- */

/* One received message; everything is borrowed for the duration of the handler call. */
struct st_kafka_rec {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const char *key; /* NULL when the message has none */
	size_t key_len;
	const void *value;
	size_t value_len;
	const char *request_id; /* "" when the header is absent */
	int64_t timestamp_ms;
};

/*
 * Handles a batch of records (in offset order within each partition). Returning ST_OK commits
 * their offsets; any other value makes the consumer hand the same batch again after a back-off
 * (writes must therefore be idempotent).
 */
typedef enum st_err st_kafka_handler(const struct st_kafka_rec *recs, size_t n, void *ctx);

struct st_kafka_consumer_conf {
	const char *brokers;
	const char *group;       /* consumer group id; required */
	const char *topic;       /* required */
	const char *client_id;
	int batch_max;           /* at most this many records per handler call, >= 1 */
	int batch_wait_ms;       /* wait at most this long to fill a batch */
	int retry_backoff_ms;    /* first back-off after a failed batch; doubles up to 30 s */
	bool from_beginning;     /* auto.offset.reset=earliest when the group has no offset */
	st_kafka_handler *handler;
	void *ctx;
};

struct st_kafka_consumer;

/* Creates the consumer and subscribes; does not start consuming. */
enum st_err st_kafka_consumer_create(const struct st_kafka_consumer_conf *conf,
				     struct st_kafka_consumer **out);
/* Starts the consumer's own thread, which polls, calls the handler and commits. */
enum st_err st_kafka_consumer_start(struct st_kafka_consumer *c);
/*
 * Polls once for up to timeout_ms and handles at most one batch on the caller's thread (for
 * tests and tools). Returns how many records were handled and committed, or -1 on error.
 */
int st_kafka_consumer_poll_once(struct st_kafka_consumer *c, int timeout_ms);
/* Stops the thread if started (finishing the batch in hand), leaves the group, frees. NULL ok. */
void st_kafka_consumer_destroy(struct st_kafka_consumer *c);

/* ---- CloudEvents 1.0 JSON envelope ---- */

/*
 * Builds a CloudEvents 1.0 JSON document: specversion "1.0", a new UUID id, source (e.g.
 * "/strata/ingest"), type (e.g. "strata.session.started"), subject (may be NULL), time now in
 * RFC 3339 UTC, datacontenttype "application/json", and data. Takes ownership of data (may be
 * NULL). The caller owns the returned string (st_free).
 */
char *st_cloudevent_build(const char *source, const char *type, const char *subject,
			  cJSON *data);

/*
 * Parses and validates an envelope: specversion must be "1.0"; id, source and type non-empty
 * strings. Returns the whole document (caller cJSON_Delete's it) with *data pointing into it
 * (NULL when absent), or NULL with a reason in err.
 */
cJSON *st_cloudevent_parse(const void *json, size_t len, const cJSON **data, char *err,
			   size_t errcap);

/* ---- administration ---- */

/* Creates each topic that does not exist yet with the given partition count (replication 1
 * for a single broker, or the cluster's default). Existing topics are left alone. */
struct st_kafka_topic_spec {
	const char *name;
	int partitions;
};
enum st_err st_kafka_ensure_topics(const char *brokers, const struct st_kafka_topic_spec *topics,
				   size_t n, int timeout_ms, char *err, size_t errcap);

#endif
