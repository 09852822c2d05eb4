/*
 * What the Kafka producer, the consumer and the administration share: a librdkafka
 * configuration with Strata's callbacks (librdkafka's log lines through st_log, its error
 * events logged once), the mapping of librdkafka's error codes onto enum st_err, and the
 * administration: creating topics (st_kafka_ensure_topics) and reading the topics file that
 * lists them (st_kafka_topics_parse). The producer is in kafka_producer.c, the consumer in
 * kafka_consumer.c.
 */
#include "kafka_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "strata/log.h"

#define TOPIC_NAME_MAX       249
#define TOPIC_PARTITIONS_MAX 10000

ST_STATIC enum st_log_level kafka_log_level(int syslog_level);
ST_STATIC int kafka_replication_for(int brokers);

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
remaining_ms(int64_t deadline)
{
	int64_t left = deadline - st_now_mono_ms();

	return left > 0 ? (int)left : 0;
}

/* librdkafka logs with syslog levels: 0..3 are errors, 4 a warning, 5 and 6 news, 7 debug. */
ST_STATIC enum st_log_level
kafka_log_level(int syslog_level)
{
	if (syslog_level <= LOG_ERR)
		return ST_LOG_ERROR;
	if (syslog_level == LOG_WARNING)
		return ST_LOG_WARN;
	if (syslog_level <= LOG_INFO)
		return ST_LOG_INFO;
	return ST_LOG_DEBUG;
}

/* Called from librdkafka's own threads: it must not call back into librdkafka, and does not. */
static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	st_log(kafka_log_level(level), "rdkafka", "%s: %s", fac, buf);
}

/*
 * Error events, served by rd_kafka_poll and rd_kafka_consumer_poll. Transport and resolve
 * failures are logged by librdkafka itself already (log_cb), so they are only repeated at debug.
 * librdkafka recovers from all but _FATAL by itself.
 */
static void
error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	char fatal[512];
	rd_kafka_resp_err_t code = (rd_kafka_resp_err_t)err;

	(void)opaque;
	if (code == RD_KAFKA_RESP_ERR__FATAL) {
		code = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		st_log(ST_LOG_ERROR, "kafka", "fatal client error: %s err=%s", fatal,
		       rd_kafka_err2name(code));
		return;
	}
	if (code == RD_KAFKA_RESP_ERR__TRANSPORT || code == RD_KAFKA_RESP_ERR__RESOLVE) {
		st_log(ST_LOG_DEBUG, "kafka", "client error: %s err=%s", reason,
		       rd_kafka_err2name(code));
		return;
	}
	st_log(ST_LOG_WARN, "kafka", "client error: %s err=%s", reason, rd_kafka_err2name(code));
}

enum st_err
kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
	char errstr[512];

	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		st_log(ST_LOG_ERROR, "kafka", "setting refused: %s name=%s", errstr, name);
		return ST_ERR_INVALID;
	}
	return ST_OK;
}

enum st_err
kafka_new(rd_kafka_type_t type, rd_kafka_conf_t **conf, rd_kafka_t **out)
{
	char errstr[512];

	*out = rd_kafka_new(type, *conf, errstr, sizeof(errstr));
	if (*out == NULL) {
		st_log(ST_LOG_ERROR, "kafka", "%s: %s",
		       type == RD_KAFKA_CONSUMER ? "consumer" : "producer", errstr);
		return ST_ERR_INVALID;
	}
	*conf = NULL; /* rd_kafka_new took it */
	return ST_OK;
}

enum st_err
kafka_conf_set_int(rd_kafka_conf_t *conf, const char *name, long value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", value);
	return kafka_conf_set(conf, name, buf);
}

enum st_err
kafka_conf_new(const char *brokers, const char *client_id, rd_kafka_conf_t **out)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	enum st_err rc;

	*out = NULL;
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_conf_set_error_cb(conf, error_cb);
	rc = kafka_conf_set(conf, "bootstrap.servers", brokers);
	if (rc != ST_OK)
		goto out;
	rc = kafka_conf_set(conf, "client.id", client_id != NULL ? client_id : "strata");
	if (rc != ST_OK)
		goto out;
	*out = conf;
	conf = NULL;
out:
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	return rc;
}

enum st_err
kafka_err_map(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
		return ST_OK;
	case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
	case RD_KAFKA_RESP_ERR__TRANSPORT:
	case RD_KAFKA_RESP_ERR__RESOLVE:
	case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
	case RD_KAFKA_RESP_ERR__QUEUE_FULL:
	case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
	case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
	case RD_KAFKA_RESP_ERR__DESTROY:
	case RD_KAFKA_RESP_ERR__FATAL:
	case RD_KAFKA_RESP_ERR__UNKNOWN_BROKER:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
	case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
	case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
	case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
	case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
	case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
	case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
	case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
	case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
	case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
		return ST_ERR_UNAVAILABLE;
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
		return ST_ERR_TOO_LARGE;
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
	case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
	case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
	case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
	case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
	case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
		return ST_ERR_INVALID;
	case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
		return ST_ERR_CONFLICT;
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR__AUTHENTICATION:
	case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
		return ST_ERR_AUTH;
	default:
		return ST_ERR_INTERNAL;
	}
}

/* ---- administration ---- */

/* Replication 1 on a single broker (the development setup), else up to three copies. */
ST_STATIC int
kafka_replication_for(int brokers)
{
	if (brokers <= 1)
		return 1;
	return brokers < 3 ? brokers : 3;
}

/* True when the topic is in the metadata with every partition led; *partitions is its count. */
static bool
topic_usable(const struct rd_kafka_metadata *md, const char *name, int *partitions)
{
	*partitions = 0;
	for (int i = 0; i < md->topic_cnt; i++) {
		const struct rd_kafka_metadata_topic *t = &md->topics[i];

		if (strcmp(t->topic, name) != 0)
			continue;
		if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR || t->partition_cnt <= 0)
			return false;
		*partitions = t->partition_cnt;
		for (int j = 0; j < t->partition_cnt; j++)
			if (t->partitions[j].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
			    t->partitions[j].leader < 0)
				return false;
		return true;
	}
	return false;
}

/*
 * Waits until the cluster's metadata shows every topic with a leader for each partition: a
 * topic just created is not usable at once. Warns about existing topics with fewer partitions.
 */
static enum st_err
wait_usable(rd_kafka_t *rk, const struct st_kafka_topic_spec *topics, size_t n, const bool *existed,
	    int64_t deadline, char *err, size_t errcap)
{
	const struct rd_kafka_metadata *md = NULL;
	const char *missing = NULL;
	enum st_err rc = ST_ERR_UNAVAILABLE;

	for (;;) {
		rd_kafka_resp_err_t rerr;
		int wait = remaining_ms(deadline);

		rerr = rd_kafka_metadata(rk, 1, NULL, &md, wait > 0 ? wait : 1);
		if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
			rc = kafka_err_map(rerr);
			st_errf(err, errcap, "metadata: %s", rd_kafka_err2str(rerr));
			goto out;
		}
		missing = NULL;
		for (size_t i = 0; i < n && missing == NULL; i++) {
			int have;

			if (!topic_usable(md, topics[i].name, &have))
				missing = topics[i].name;
		}
		if (missing == NULL) {
			for (size_t i = 0; i < n; i++) {
				int have;

				topic_usable(md, topics[i].name, &have);
				if (existed[i] && have < topics[i].partitions)
					st_log(ST_LOG_WARN, "kafka",
					       "topic exists with fewer partitions topic=%s "
					       "partitions=%d wanted=%d",
					       topics[i].name, have, topics[i].partitions);
			}
			rc = ST_OK;
			goto out;
		}
		rd_kafka_metadata_destroy(md);
		md = NULL;
		if (remaining_ms(deadline) <= 0) {
			rc = ST_ERR_UNAVAILABLE;
			st_errf(err, errcap, "topic %s has no leader for every partition yet",
				missing);
			goto out;
		}
		sleep_ms(100);
	}
out:
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	return rc;
}

/* Sends one CreateTopics request for all topics and reads the per-topic results. */
static enum st_err
create_topics(rd_kafka_t *rk, const struct st_kafka_topic_spec *topics, size_t n, int replication,
	      bool *existed, int64_t deadline, char *err, size_t errcap)
{
	rd_kafka_NewTopic_t **nt = st_calloc(n, sizeof(*nt));
	rd_kafka_AdminOptions_t *opts = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **results;
	size_t nres = 0;
	char errstr[512];
	enum st_err rc = ST_OK;
	int wait = remaining_ms(deadline);

	for (size_t i = 0; i < n; i++) {
		nt[i] = rd_kafka_NewTopic_new(topics[i].name, topics[i].partitions, replication,
					      errstr, sizeof(errstr));
		if (nt[i] == NULL) {
			rc = ST_ERR_INVALID;
			st_errf(err, errcap, "topic %s: %s", topics[i].name, errstr);
			goto out;
		}
	}
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	if (opts == NULL ||
	    rd_kafka_AdminOptions_set_request_timeout(opts, wait > 0 ? wait : 1, errstr,
						      sizeof(errstr)) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_AdminOptions_set_operation_timeout(opts, wait > 0 ? wait : 1, errstr,
							sizeof(errstr)) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR) {
		rc = ST_ERR_INTERNAL;
		st_errf(err, errcap, "admin options refused");
		goto out;
	}
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, nt, n, opts, q);
	/* The request carries its own timeout; the margin only guards against a lost answer. */
	ev = rd_kafka_queue_poll(q, remaining_ms(deadline) + 2000);
	if (ev == NULL) {
		rc = ST_ERR_UNAVAILABLE;
		st_errf(err, errcap, "no answer to CreateTopics");
		goto out;
	}
	if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rc = kafka_err_map(rd_kafka_event_error(ev));
		st_errf(err, errcap, "CreateTopics: %s", rd_kafka_event_error_string(ev));
		goto out;
	}
	res = rd_kafka_event_CreateTopics_result(ev);
	if (res == NULL) {
		rc = ST_ERR_INTERNAL;
		st_errf(err, errcap, "unexpected event %s", rd_kafka_event_name(ev));
		goto out;
	}
	results = rd_kafka_CreateTopics_result_topics(res, &nres);
	for (size_t i = 0; i < nres; i++) {
		const char *name = rd_kafka_topic_result_name(results[i]);
		rd_kafka_resp_err_t terr = rd_kafka_topic_result_error(results[i]);
		size_t k = 0;

		while (k < n && strcmp(topics[k].name, name) != 0)
			k++;
		if (terr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
			if (k < n)
				existed[k] = true;
			st_log(ST_LOG_INFO, "kafka", "topic exists topic=%s", name);
		} else if (terr != RD_KAFKA_RESP_ERR_NO_ERROR) {
			if (rc == ST_OK) {
				rc = kafka_err_map(terr);
				st_errf(err, errcap, "topic %s: %s", name,
					rd_kafka_topic_result_error_string(results[i]));
			}
		} else {
			st_log(ST_LOG_INFO, "kafka",
			       "topic created topic=%s partitions=%d replication=%d", name,
			       k < n ? topics[k].partitions : 0, replication);
		}
	}
out:
	if (ev != NULL)
		rd_kafka_event_destroy(ev);
	if (q != NULL)
		rd_kafka_queue_destroy(q);
	if (opts != NULL)
		rd_kafka_AdminOptions_destroy(opts);
	for (size_t i = 0; i < n; i++)
		if (nt[i] != NULL)
			rd_kafka_NewTopic_destroy(nt[i]);
	st_free(nt);
	return rc;
}

enum st_err
st_kafka_ensure_topics(const char *brokers, const struct st_kafka_topic_spec *topics, size_t n,
		       int timeout_ms, char *err, size_t errcap)
{
	int64_t deadline = st_now_mono_ms() + timeout_ms;
	rd_kafka_conf_t *conf = NULL;
	rd_kafka_t *rk = NULL;
	const struct rd_kafka_metadata *md = NULL;
	bool *existed = NULL;
	rd_kafka_resp_err_t rerr;
	char errstr[512];
	enum st_err rc = ST_OK;
	int replication;

	st_errf(err, errcap, "%s", "");
	if (brokers == NULL || brokers[0] == '\0' || (topics == NULL && n > 0) || timeout_ms <= 0) {
		rc = ST_ERR_INVALID;
		st_errf(err, errcap, "brokers, topics and a positive timeout are required");
		goto out;
	}
	if (n == 0)
		goto out;
	rc = kafka_conf_new(brokers, "strata-admin", &conf);
	if (rc != ST_OK) {
		st_errf(err, errcap, "bad broker list");
		goto out;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		rc = ST_ERR_INVALID;
		st_errf(err, errcap, "client: %s", errstr);
		goto out;
	}
	conf = NULL; /* rd_kafka_new took it */
	rerr = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
	if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rc = ST_ERR_UNAVAILABLE;
		st_errf(err, errcap, "no broker answered within %d ms (%s)", timeout_ms,
			rd_kafka_err2str(rerr));
		goto out;
	}
	replication = kafka_replication_for(md->broker_cnt);
	existed = st_calloc(n, sizeof(*existed));
	rc = create_topics(rk, topics, n, replication, existed, deadline, err, errcap);
	if (rc != ST_OK)
		goto out;
	rc = wait_usable(rk, topics, n, existed, deadline, err, errcap);
out:
	st_free(existed);
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	if (rk != NULL)
		rd_kafka_destroy(rk);
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	return rc;
}

/* ---- the topics file ---- */

static bool
topic_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > TOPIC_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Cuts the next blank-separated word out of *p (NUL-terminating it); NULL when none is left. */
static char *
next_word(char **p)
{
	char *s = *p, *word;

	while (is_blank(*s))
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	word = s;
	while (*s != '\0' && !is_blank(*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return word;
}

static bool
parse_partitions(const char *s, int *out)
{
	char *end;
	long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > TOPIC_PARTITIONS_MAX)
		return false;
	*out = (int)v;
	return true;
}

enum st_err
st_kafka_topics_parse(char *text, struct st_kafka_topic_spec **out, size_t *n, char *err,
		      size_t errcap)
{
	struct st_kafka_topic_spec *specs = NULL;
	size_t count = 0, cap = 0;
	char *line = text;
	int lineno = 0;
	enum st_err rc = ST_OK;

	*out = NULL;
	*n = 0;
	while (line != NULL && *line != '\0') {
		char *next = strchr(line, '\n'), *hash, *p, *name, *parts, *extra;
		int partitions;

		lineno++;
		if (next != NULL)
			*next++ = '\0';
		hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		p = line;
		line = next;
		name = next_word(&p);
		if (name == NULL)
			continue;
		parts = next_word(&p);
		extra = next_word(&p);
		if (parts == NULL || extra != NULL) {
			rc = ST_ERR_INVALID;
			st_errf(err, errcap, "line %d: expected \"name partitions\"", lineno);
			goto out;
		}
		if (!topic_name_valid(name)) {
			rc = ST_ERR_INVALID;
			st_errf(err, errcap,
				"line %d: bad topic name (1..%d of a-z A-Z 0-9 . _ -, not . or ..)",
				lineno, TOPIC_NAME_MAX);
			goto out;
		}
		if (!parse_partitions(parts, &partitions)) {
			rc = ST_ERR_INVALID;
			st_errf(err, errcap, "line %d: partitions must be an integer 1..%d", lineno,
				TOPIC_PARTITIONS_MAX);
			goto out;
		}
		for (size_t i = 0; i < count; i++) {
			if (strcmp(specs[i].name, name) == 0) {
				rc = ST_ERR_INVALID;
				st_errf(err, errcap, "line %d: topic %s listed twice", lineno,
					name);
				goto out;
			}
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			specs = st_realloc(specs, cap * sizeof(*specs));
		}
		specs[count].name = name;
		specs[count].partitions = partitions;
		count++;
	}
	*out = specs;
	*n = count;
	specs = NULL;
out:
	st_free(specs);
	return rc;
}
