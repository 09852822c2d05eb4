/*
 * POST /api/v1/sessions/{id}/data: a batch of readings, parsed and validated whole (all or
 * nothing), checked against the session cache (so that it keeps working while PostgreSQL is
 * away), then sent to strata.readings keyed by session id, and answered 202 {"accepted": n}
 * only once Kafka acknowledged every message of it (acks=all). A batch whose encoding exceeds
 * INGEST_MESSAGE_MAX bytes goes out as several messages in one produce call. Kafka away: 503
 * with Retry-After, never 202.
 */
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "strata/kafka.h"
#include "strata/log.h"

#define KAFKA_RETRY_AFTER_S 5
#define READINGS_TOPIC      "strata.readings"

/* Sends the batch as one or more events; ST_OK once Kafka acknowledged all of them. */
static enum st_err
send_batch(struct st_app *app, const struct readings_batch *b, const struct ingest_session_ref *s,
	   const char *request_id)
{
	size_t max = (size_t)st_config_int(app->config, "INGEST_MESSAGE_MAX");
	size_t from = 0, n = 0, cap = 4;
	struct st_kafka_msg *msgs = st_calloc(cap, sizeof(*msgs));
	enum st_err rc;

	while (from < b->n) {
		size_t len;
		char *ev = readings_encode_event(b, &from, s->id, s->project_id, max, &len);

		if (n == cap) {
			cap *= 2;
			msgs = st_realloc(msgs, cap * sizeof(*msgs));
		}
		msgs[n].topic = READINGS_TOPIC;
		msgs[n].key = s->id;
		msgs[n].key_len = strlen(s->id);
		msgs[n].value = ev;
		msgs[n].value_len = len;
		msgs[n].request_id = request_id;
		n++;
	}
	rc = st_kafka_produce_batch(app->kafka, msgs, n);
	for (size_t i = 0; i < n; i++)
		st_free((void *)msgs[i].value);
	st_free(msgs);
	return rc;
}

int
readings_post(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	struct ingest_session_ref s;
	struct readings_batch b;
	enum readings_format fmt;
	const char *body = NULL;
	size_t len = 0, max = (size_t)st_config_int(app->config, "INGEST_BATCH_MAX");
	enum st_err rc;
	int status;

	fmt = readings_format_of(st_http_header(req, "Content-Type"));
	if (fmt == READINGS_UNSUPPORTED)
		return st_http_reply_problem(
			req, 415,
			"send application/json, application/x-ndjson or text/csv readings");
	status = session_cache_access(req, app, st_http_param(req, "id"), INGEST_POST, &s);
	if (status != 0)
		return status;
	if (strcmp(s.status, "completed") == 0 || strcmp(s.status, "failed") == 0)
		return st_http_reply_problem(req, 409, "session %s is %s: it takes no more data",
					     s.id, s.status);
	rc = st_http_body(req, &body, &len);
	if (rc == ST_ERR_TOO_LARGE)
		return st_http_reply_problem(req, 413, "the body is larger than %lld bytes",
					     st_config_int(app->config, "HTTP_BODY_MAX"));
	if (rc != ST_OK)
		return st_http_reply_problem(req, 400, "the body could not be read");
	readings_batch_init(&b);
	rc = readings_parse(fmt, body, len, max, &b);
	if (rc == ST_ERR_TOO_LARGE) {
		status = st_http_reply_problem(req, 413, "a batch holds at most %zu readings", max);
	} else if (rc != ST_OK) {
		char detail[96];

		snprintf(detail, sizeof(detail),
			 "%zu problem(s) in the batch; nothing was accepted", b.errs.total);
		status = st_http_reply_invalid(req, 400, detail, &b.errs);
	} else {
		rc = send_batch(app, &b, &s, st_http_request_id(req));
		if (rc == ST_OK) {
			char out[64];
			int n = snprintf(out, sizeof(out), "{\"accepted\":%zu}", b.n);

			status = st_http_reply(req, 202, "application/json", out, (size_t)n);
		} else {
			st_log(ST_LOG_WARN, "readings", "kafka refused a batch err=%s readings=%zu",
			       st_err_str(rc), b.n);
			/* Away or slow is worth a retry; a refusal (a message over the broker's
			 * limit: INGEST_MESSAGE_MAX is set too high) would fail the same way again.
			 */
			if (rc == ST_ERR_UNAVAILABLE || rc == ST_ERR_TIMEOUT)
				status = st_http_reply_unavailable(req, KAFKA_RETRY_AFTER_S,
								   "Kafka");
			else
				status = st_http_reply_problem(
					req, 500,
					"the event stream refused the batch; nothing was kept");
		}
	}
	readings_batch_cleanup(&b);
	return status;
}
