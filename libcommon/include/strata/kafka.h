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
 * librdkafka's own log lines go through st_log (component "rdkafka").
 */
#ifndef STRATA_KAFKA_H
#define STRATA_KAFKA_H

#include <cjson/cJSON.h>

#include "strata/core.h"

#define ST_KAFKA_REQUEST_ID_HEADER "x-request-id"
/* Longest request id carried through a consumer; longer header values are cut. */
#define ST_KAFKA_REQUEST_ID_MAX 79

struct st_kafka_conf {
	const char *brokers;     /* bootstrap list "host:port,..."; required */
	const char *client_id;   /* e.g. "strata-ingest"; NULL for "strata" */
	int delivery_timeout_ms; /* how long a produce may wait for the broker (message.timeout.ms);
				    0 for 30000; must exceed linger_ms */
	int linger_ms;           /* batching delay for the producer, 0..1000 */
};

/* ---- producer ---- */

/* Thread-safe: any number of threads may produce through one producer at once. */
struct st_kafka_producer;

/* ST_ERR_INVALID for bad settings. Does not contact the brokers: a service may start first. */
enum st_err st_kafka_producer_create(const struct st_kafka_conf *conf,
				     struct st_kafka_producer **out);
/* Flushes what is in flight (bounded by the delivery timeout), then frees. Accepts NULL. No
 * produce call may be in progress. */
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
 * for an unknown topic). Blocks for at most about the delivery timeout. On failure some of the
 * messages may still have been written: consumers must be idempotent. A topic the cluster does
 * not know is reported as ST_ERR_INVALID only once librdkafka gives up waiting for it to appear
 * (topic.metadata.propagation.max.ms, 30 s); a shorter delivery timeout yields
 * ST_ERR_UNAVAILABLE. Copies what it needs: the caller's buffers may go after it returns.
 */
enum st_err st_kafka_produce_batch(struct st_kafka_producer *p, const struct st_kafka_msg *msgs,
				   size_t n);
enum st_err st_kafka_produce(struct st_kafka_producer *p, const struct st_kafka_msg *msg);

/* ST_OK when the cluster answered a metadata request within timeout_ms: for /readyz.
 * ST_ERR_UNAVAILABLE otherwise, or after a fatal producer error (restart the service). */
enum st_err st_kafka_producer_ping(struct st_kafka_producer *p, int timeout_ms);

/* Producer figures for /metrics. */
struct st_kafka_producer_stats {
	uint64_t delivered; /* messages acknowledged by the broker */
	uint64_t failed;    /* messages refused or timed out */
};
void st_kafka_producer_stats(struct st_kafka_producer *p, struct st_kafka_producer_stats *out);

/* ---- consumer ---- */

/* One received message; everything is borrowed for the duration of the handler call. */
struct st_kafka_rec {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const char *key; /* NULL when the message has none; NUL-terminated after key_len bytes */
	size_t key_len;
	const void *value; /* not NUL-terminated */
	size_t value_len;
	const char *request_id; /* "" when the header is absent; one that fails st_request_id_valid
				   is replaced by a new UUID */
	int64_t timestamp_ms;   /* -1 when the broker gave none */
};

/*
 * Handles a batch of records (in offset order within each partition). Returning ST_OK commits
 * their offsets; any other value makes the consumer hand the same batch again after a back-off
 * (writes must therefore be idempotent). A record that can never succeed (malformed) must be
 * logged and skipped by the handler, or it blocks its partition. While the handler runs, the
 * log request id is the batch's request id when all records share one, else "" (set it per
 * record from rec->request_id where that matters).
 */
typedef enum st_err st_kafka_handler(const struct st_kafka_rec *recs, size_t n, void *ctx);

struct st_kafka_consumer_conf {
	const char *brokers;
	const char *group; /* consumer group id; required */
	const char *topic; /* required */
	const char *client_id;
	int batch_max;          /* at most this many records per handler call, >= 1 */
	int batch_wait_ms;      /* after the first record, wait at most this long to fill a batch */
	int retry_backoff_ms;   /* first back-off after a failure (0: 1000); doubles up to 30 s */
	int session_timeout_ms; /* group session: how soon a dead member's partitions move (0:
				   10000; the broker's minimum is usually 6000) */
	bool from_beginning;    /* auto.offset.reset=earliest when the group has no offset */
	st_kafka_handler *handler;
	void *ctx;
};

/* Used by one thread at a time: its own (after _start) or the caller's (_poll_once). */
struct st_kafka_consumer;

/* Creates the consumer and subscribes; does not start consuming. ST_ERR_INVALID for bad
 * settings. Does not wait for the brokers. */
enum st_err st_kafka_consumer_create(const struct st_kafka_consumer_conf *conf,
				     struct st_kafka_consumer **out);
/* Starts the consumer's own thread, which polls, calls the handler and commits. */
enum st_err st_kafka_consumer_start(struct st_kafka_consumer *c);
/*
 * One step on the caller's thread (for tests and tools; not after _start): waits up to
 * timeout_ms for a first record (then up to batch_wait_ms to fill the batch) and handles at
 * most one batch. Returns how many records were handled and committed; 0 when there was
 * nothing (or a back-off after a failure has not ended yet); -1 when the handler failed (the
 * same batch comes again from a later call once the back-off ended) or the commit failed.
 */
int st_kafka_consumer_poll_once(struct st_kafka_consumer *c, int timeout_ms);
/* Stops the thread if started (finishing the handler call in hand; a batch waiting for a retry
 * is dropped uncommitted), leaves the group, frees. Accepts NULL. */
void st_kafka_consumer_destroy(struct st_kafka_consumer *c);

/* Consumer figures for /metrics; safe to read from any thread. */
struct st_kafka_consumer_stats {
	uint64_t records;         /* records handled with ST_OK */
	uint64_t batches;         /* handler calls that returned ST_OK */
	uint64_t failures;        /* handler calls that failed */
	uint64_t commits;         /* offset commits that succeeded */
	uint64_t commit_failures; /* commits that failed (the records come again to some member) */
	uint64_t dropped;         /* held records dropped on a revoke, re-read by the next owner */
	uint64_t rebalances;      /* assignments and revocations */
};
void st_kafka_consumer_stats(struct st_kafka_consumer *c, struct st_kafka_consumer_stats *out);

/* ---- CloudEvents 1.0 JSON envelope ---- */

/*
 * Builds a CloudEvents 1.0 JSON document: specversion "1.0", a new UUID id, source (e.g.
 * "/strata/ingest"), type (e.g. "strata.session.started"), subject (may be NULL), time now in
 * RFC 3339 UTC, datacontenttype "application/json", and data. Takes ownership of data (may be
 * NULL). The caller owns the returned string (st_free). NULL when source or type is NULL or "".
 */
char *st_cloudevent_build(const char *source, const char *type, const char *subject, cJSON *data);

/* Room for an envelope's head with short attributes (a UUID subject, source and type of a few
 * dozen bytes); attributes needing escapes take up to six bytes a byte. */
#define ST_CLOUDEVENT_HEAD_MAX 320

/*
 * The same envelope for a caller that writes the data's JSON text itself (the readings path,
 * which must not build a tree of ten thousand readings): writes into buf, NUL-terminated,
 * {"specversion":"1.0","id":...,"datacontenttype":"application/json","data": when data is true
 * (the caller appends its JSON text and one closing brace), else the whole envelope without
 * data. Attributes are JSON-escaped. Returns the length, 0 when source or type is NULL or ""
 * or when it does not fit in cap (nothing usable is left in buf then).
 */
size_t st_cloudevent_head(const char *source, const char *type, const char *subject, bool data,
			  char *buf, size_t cap);

/*
 * Parses and validates an envelope: a JSON object and nothing after it; specversion must be
 * "1.0"; id, source and type non-empty strings; subject, datacontenttype and dataschema strings
 * when present; time an RFC 3339 timestamp when present; data_base64 is refused (Strata's
 * events carry JSON data). Returns the whole document (caller cJSON_Delete's it) with *data
 * pointing into it (NULL when absent), or NULL with a reason in err (may be NULL).
 */
cJSON *st_cloudevent_parse(const void *json, size_t len, const cJSON **data, char *err,
			   size_t errcap);

/* ---- administration ---- */

struct st_kafka_topic_spec {
	const char *name;
	int partitions;
};

/*
 * Creates each topic that does not exist yet with the given partition count (replication 1
 * for a single broker, otherwise min(3, brokers)), then waits until every topic has a leader
 * for each partition, so that producers and consumers can use them at once. Existing topics
 * are left alone (a warning is logged when one has fewer partitions than asked). The whole
 * call is bounded by timeout_ms. ST_ERR_UNAVAILABLE when no broker answered, ST_ERR_INVALID
 * for a refused name or count; the reason goes into err (may be NULL).
 */
enum st_err st_kafka_ensure_topics(const char *brokers, const struct st_kafka_topic_spec *topics,
				   size_t n, int timeout_ms, char *err, size_t errcap);

/*
 * Parses a topics file (proto/topics/topics.conf) in place: one "name partitions" per line,
 * blank lines and `#` comments ignored. Names must be valid Kafka topic names, counts
 * 1..10000, no name twice. On success *out is an array of *n specs the caller st_free's; the
 * names point into text, which must outlive them. ST_ERR_INVALID with "line N: ..." in err.
 */
enum st_err st_kafka_topics_parse(char *text, struct st_kafka_topic_spec **out, size_t *n,
				  char *err, size_t errcap);

#endif
