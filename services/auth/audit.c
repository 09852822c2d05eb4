/*
 * The audit trail: who did what to which account, from where. auth_audit turns an event into
 * a CloudEvent (type strata.audit.<event>, source /strata/auth, subject the user id or the
 * email's hash) and queues it; a background loop delivers the queue to the strata.audit topic
 * in batches; the consumer audit_write_batch writes the topic into auth.audit_log.
 *
 * Why a queue: a produce waits for the broker's acknowledgement, which is a few milliseconds
 * normally but the whole delivery timeout while Kafka is down, and a login must not wait for
 * its audit record. The queue is bounded (AUDIT_QUEUE_MAX events); past the bound new events
 * are dropped with a warning rather than growing without limit during a long outage. Events
 * produced but unacknowledged are retried, so the table may receive one twice: the event id
 * is its primary key, and the insert ignores the second copy.
 *
 * Never put a password, token, key or email address in an event: data carries ids, hashes,
 * reasons and the request's actor, remote address and request id.
 */
#include <pthread.h>
#include <string.h>

#include "identity.h"
#include "strata/db.h"
#include "strata/kafka.h"
#include "strata/log.h"

#define AUDIT_TOPIC       "strata.audit"
#define AUDIT_TYPE_PREFIX "strata.audit."
#define AUDIT_QUEUE_MAX   10000
#define AUDIT_BATCH_MAX   500

struct audit_event {
	char *key;   /* the subject */
	char *value; /* the CloudEvent */
	char request_id[80];
};

static struct {
	pthread_mutex_t lock;
	struct audit_event *items; /* oldest first */
	size_t n, cap;
	uint64_t dropped;
} queue = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
event_cleanup(struct audit_event *e)
{
	st_free(e->key);
	st_free(e->value);
}

void
auth_audit_init(void)
{
	pthread_mutex_lock(&queue.lock);
	queue.dropped = 0;
	pthread_mutex_unlock(&queue.lock);
}

void
auth_audit(struct st_app *app, struct st_req *req, const char *type, const char *subject,
	   cJSON *data)
{
	const struct st_principal *p = req != NULL ? st_http_principal(req) : NULL;
	char ce_type[128];
	struct audit_event e;
	bool dropped = false;

	(void)app;
	if (data == NULL || !cJSON_IsObject(data)) {
		cJSON_Delete(data);
		data = cJSON_CreateObject();
	}
	cJSON_AddStringToObject(data, "actor", p != NULL ? p->sub : "system");
	cJSON_AddStringToObject(data, "actor_kind", p != NULL ? p->kind : "system");
	cJSON_AddStringToObject(data, "remote", req != NULL ? auth_client_addr(req) : "");
	cJSON_AddStringToObject(data, "request_id", req != NULL ? st_http_request_id(req) : "");
	snprintf(ce_type, sizeof(ce_type), "%s%s", AUDIT_TYPE_PREFIX, type);
	memset(&e, 0, sizeof(e));
	e.value = st_cloudevent_build("/strata/auth", ce_type, subject, data); /* takes data */
	if (e.value == NULL) {
		st_log(ST_LOG_ERROR, "audit", "cannot build the event type=%s", type);
		return;
	}
	e.key = st_strdup(subject != NULL ? subject : "");
	st_strlcpy(e.request_id, req != NULL ? st_http_request_id(req) : st_log_request_id(),
		   sizeof(e.request_id));
	pthread_mutex_lock(&queue.lock);
	if (queue.n >= AUDIT_QUEUE_MAX) {
		queue.dropped++;
		dropped = true;
	} else {
		if (queue.n == queue.cap) {
			queue.cap = queue.cap ? queue.cap * 2 : 64;
			queue.items = st_realloc(queue.items, queue.cap * sizeof(*queue.items));
		}
		queue.items[queue.n++] = e;
	}
	pthread_mutex_unlock(&queue.lock);
	if (dropped) {
		st_log(ST_LOG_WARN, "audit", "audit queue full: event dropped type=%s", type);
		event_cleanup(&e);
	}
}

/* Puts events (taken over) back in front of the queue, keeping at most AUDIT_QUEUE_MAX. */
static void
requeue(struct audit_event *events, size_t n)
{
	size_t drop = 0;

	pthread_mutex_lock(&queue.lock);
	if (queue.n + n > AUDIT_QUEUE_MAX)
		drop = queue.n + n - AUDIT_QUEUE_MAX; /* the oldest go */
	if (drop > n)
		drop = n;
	for (size_t i = 0; i < drop; i++)
		event_cleanup(&events[i]);
	n -= drop;
	queue.dropped += drop;
	if (queue.n + n > queue.cap) {
		queue.cap = queue.n + n;
		queue.items = st_realloc(queue.items, queue.cap * sizeof(*queue.items));
	}
	memmove(queue.items + n, queue.items, queue.n * sizeof(*queue.items));
	memcpy(queue.items, events + drop, n * sizeof(*queue.items));
	queue.n += n;
	pthread_mutex_unlock(&queue.lock);
	if (drop > 0)
		st_log(ST_LOG_WARN, "audit", "audit queue full: dropped=%zu", drop);
}

void
auth_audit_flush(struct st_app *app)
{
	struct audit_event *events;
	struct st_kafka_msg msgs[AUDIT_BATCH_MAX];
	size_t n, done = 0;

	pthread_mutex_lock(&queue.lock);
	events = queue.items;
	n = queue.n;
	queue.items = NULL;
	queue.n = queue.cap = 0;
	pthread_mutex_unlock(&queue.lock);
	while (done < n) {
		size_t m = n - done < AUDIT_BATCH_MAX ? n - done : AUDIT_BATCH_MAX;
		enum st_err rc;

		for (size_t i = 0; i < m; i++) {
			const struct audit_event *e = &events[done + i];

			msgs[i] = (struct st_kafka_msg){
				.topic = AUDIT_TOPIC,
				.key = e->key,
				.key_len = strlen(e->key),
				.value = e->value,
				.value_len = strlen(e->value),
				.request_id = e->request_id,
			};
		}
		rc = st_kafka_produce_batch(app->kafka, msgs, m);
		if (rc != ST_OK) {
			st_log(ST_LOG_WARN, "audit", "cannot deliver audit events (%s): kept=%zu",
			       st_err_str(rc), n - done);
			requeue(events + done, n - done);
			done = n;
			break;
		}
		for (size_t i = 0; i < m; i++)
			event_cleanup(&events[done + i]);
		done += m;
	}
	st_free(events);
}

void
auth_audit_fini(struct st_app *app)
{
	if (app->kafka != NULL)
		auth_audit_flush(app); /* one last try; what fails stays queued ... */
	pthread_mutex_lock(&queue.lock);
	if (queue.n > 0) /* ... and is reported lost here */
		st_log(ST_LOG_WARN, "audit", "audit events not delivered at shutdown: n=%zu",
		       queue.n);
	for (size_t i = 0; i < queue.n; i++)
		event_cleanup(&queue.items[i]);
	st_free(queue.items);
	queue.items = NULL;
	queue.n = queue.cap = 0;
	pthread_mutex_unlock(&queue.lock);
}

/* ---- the consumer ---- */

/* A string member of obj, or "" when absent or not a string. Borrowed. */
static const char *
str_of(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(it) ? it->valuestring : "";
}

/*
 * Inserts one record. A record that can never be written (not a CloudEvent, an id that is not
 * a UUID) is logged and skipped: *skipped is set and ST_OK returned. Database errors are
 * returned as they are.
 */
static enum st_err
insert_record(struct st_db_conn *conn, const struct st_kafka_rec *rec, bool *skipped)
{
	static const char sql[] =
		"INSERT INTO audit_log (event_id, at, type, subject, actor, remote, request_id, "
		"data) VALUES ($1::uuid, COALESCE(NULLIF($2, '')::timestamptz, now()), $3, $4, $5, "
		"$6, $7, $8::jsonb) ON CONFLICT (event_id) DO NOTHING";
	const cJSON *data = NULL;
	char err[200];
	cJSON *doc;
	const char *type;
	char *data_text = NULL;
	enum st_err rc = ST_OK;

	*skipped = false;
	doc = st_cloudevent_parse(rec->value, rec->value_len, &data, err, sizeof(err));
	if (doc == NULL || !st_uuid_valid(str_of(doc, "id"))) {
		st_log(ST_LOG_WARN, "audit", "skipping a malformed audit event offset=%lld: %s",
		       (long long)rec->offset, doc == NULL ? err : "id is not a UUID");
		*skipped = true;
		goto out;
	}
	type = str_of(doc, "type");
	if (strncmp(type, AUDIT_TYPE_PREFIX, strlen(AUDIT_TYPE_PREFIX)) == 0)
		type += strlen(AUDIT_TYPE_PREFIX);
	data_text = st_json_print(cJSON_IsObject(data) ? data : NULL, NULL);
	{
		const char *params[] = {
			str_of(doc, "id"),
			str_of(doc, "time"),
			type,
			str_of(doc, "subject"),
			str_of(data, "actor"),
			str_of(data, "remote"),
			str_of(data, "request_id"),
			cJSON_IsObject(data) ? data_text : "{}",
		};

		rc = st_db_query(conn, sql, 8, params, NULL, err, sizeof(err));
	}
	if (rc != ST_OK)
		st_log(ST_LOG_WARN, "audit", "audit insert failed offset=%lld: %s",
		       (long long)rec->offset, err);
out:
	st_free(data_text);
	cJSON_Delete(doc);
	return rc;
}

/*
 * Writes a batch in one transaction. When one record's data is refused by PostgreSQL (say,
 * text that is not valid UTF-8), the transaction is rolled back and the batch written again
 * record by record, skipping the refused ones, so that one bad record cannot block the topic;
 * the inserts ignore the records already written.
 */
enum st_err
audit_write_batch(const struct st_kafka_rec *recs, size_t n, void *ctx)
{
	struct st_app *app = ctx;
	struct st_db_conn *conn = NULL;
	bool skipped, one_by_one = false;
	size_t written = 0;
	enum st_err rc;

	rc = st_db_acquire_begin(app->db, &conn);
	if (rc != ST_OK)
		goto out;
	for (size_t i = 0; i < n && rc == ST_OK; i++) {
		rc = insert_record(conn, &recs[i], &skipped);
		written += rc == ST_OK && !skipped;
	}
	if (rc == ST_OK)
		rc = st_db_commit(conn);
	if (rc == ST_ERR_INVALID) {
		st_db_rollback(conn);
		one_by_one = true;
		written = 0;
		rc = ST_OK;
		for (size_t i = 0; i < n && rc == ST_OK; i++) {
			rc = insert_record(conn, &recs[i], &skipped);
			if (rc == ST_ERR_INVALID) {
				st_log(ST_LOG_ERROR, "audit", "dropping an audit event offset=%lld",
				       (long long)recs[i].offset);
				rc = ST_OK;
			} else {
				written += rc == ST_OK && !skipped;
			}
		}
	}
	if (rc != ST_OK && !one_by_one)
		st_db_rollback(conn);
out:
	st_db_release(app->db, conn);
	if (rc == ST_OK)
		st_log(ST_LOG_DEBUG, "audit", "audit batch written n=%zu rows=%zu", n, written);
	return rc;
}
