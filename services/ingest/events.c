/*
 * Session events and device commands on Kafka. Every change of a session is a CloudEvent on
 * strata.sessions keyed by the session id (so that a consumer sees one session's changes in
 * order); start and stop also put a "strata.session.command" on strata.session-commands, keyed
 * the same way, for the gateway to hand to the session's device.
 *
 * Durability order (the callers in sessions.c keep it): the change is made inside a database
 * transaction that holds the session's row lock, the messages are produced and acknowledged
 * (acks=all) while the lock is held, and only then is the transaction committed. A produce
 * failure rolls the change back and answers 503 with Retry-After, so an answered change always
 * has its event. The reverse can happen: an event whose commit then failed (the database lost
 * between produce and COMMIT). Consumers must therefore treat events as "this change was made
 * or attempted" and read the session when they need the truth; the event id lets them drop
 * duplicates. A transactional outbox would close that gap at the cost of a relay process.
 */
#include <string.h>

#include "ingest.h"
#include "strata/kafka.h"
#include "strata/log.h"

#define COMMAND_TYPE "strata.session.command"

enum st_err
ingest_session_publish(struct st_app *app, const char *session_id, const char *type, cJSON *data,
		       const char *device, const char *command)
{
	static const char *const topics[] = { INGEST_TOPIC_SESSIONS, INGEST_TOPIC_COMMANDS };
	struct st_kafka_msg msgs[2];
	char *docs[2] = { NULL, NULL }; /* the event, then the command (if any) to topics[i] */
	size_t n = 0;
	enum st_err rc = ST_OK;

	if (session_id == NULL || session_id[0] == '\0' || type == NULL || type[0] == '\0') {
		cJSON_Delete(data);
		return ST_ERR_INVALID;
	}
	if (app->kafka == NULL) {
		cJSON_Delete(data);
		return ST_ERR_UNAVAILABLE;
	}
	docs[0] = st_cloudevent_build(INGEST_EVENT_SOURCE, type, session_id, data);
	if (command != NULL) {
		cJSON *cmd = cJSON_CreateObject();

		cJSON_AddStringToObject(cmd, "session_id", session_id);
		if (device != NULL && device[0] != '\0')
			cJSON_AddStringToObject(cmd, "device", device);
		else
			cJSON_AddNullToObject(cmd, "device");
		cJSON_AddStringToObject(cmd, "command", command);
		docs[1] = st_cloudevent_build(INGEST_EVENT_SOURCE, COMMAND_TYPE, session_id, cmd);
	}
	if (docs[0] == NULL || (command != NULL && docs[1] == NULL)) {
		rc = ST_ERR_INTERNAL;
		goto out;
	}
	memset(msgs, 0, sizeof(msgs));
	for (size_t i = 0; i < ST_ARRAY_LEN(docs) && docs[i] != NULL; i++) {
		msgs[n].topic = topics[i];
		msgs[n].key = session_id;
		msgs[n].key_len = strlen(session_id);
		msgs[n].value = docs[i];
		msgs[n].value_len = strlen(docs[i]);
		n++;
	}
	rc = st_kafka_produce_batch(app->kafka, msgs, n);
	if (rc != ST_OK)
		st_log(ST_LOG_ERROR, "events", "publishing %s of session %s failed: %s", type,
		       session_id, st_err_str(rc));
out:
	st_free(docs[0]);
	st_free(docs[1]);
	return rc;
}

enum st_err
ingest_session_event(struct st_app *app, const char *session_id, const char *type, cJSON *data)
{
	return ingest_session_publish(app, session_id, type, data, NULL, NULL);
}
