/*
 * The readings writers: consumers of strata.readings (group INGEST_WRITER_GROUP, INGEST_WRITERS
 * of them in this process, each on its own thread) that write every reading of a batch of
 * messages in one transaction and return ST_OK only after COMMIT, so that libcommon commits the
 * offsets only then: a writer that dies loses nothing, its partitions move to another member
 * and the uncommitted messages come again.
 *
 * Fast path: the batch's rows are COPY'd (binary) straight into ingest.readings. Redelivered
 * messages (a crash between COMMIT and the offset commit, a client posting the same batch
 * twice) make that COPY fail on the primary key; the batch is then written again through a
 * temporary table and INSERT ... ON CONFLICT DO NOTHING, so that a reading identified by
 * (session, ts, channel) exists once. Duplicates are rare, so nearly every batch pays COPY's
 * cost only.
 *
 * A malformed message (not a strata.readings.batch event, bad fields) is logged and skipped:
 * it can never succeed and must not block its partition. The database away: the handler fails
 * and libcommon hands the same batch again after a back-off.
 */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "strata/db.h"
#include "strata/log.h"
#include "strata/metrics.h"

#define READINGS_TOPIC "strata.readings"
#define PG_EPOCH_US    INT64_C(946684800000000) /* 2000-01-01 in Unix microseconds */
#define COPY_CHUNK     (1 << 20)

static struct {
	struct st_kafka_consumer **consumers;
	size_t n;
} writers;

/* ---- the COPY buffer ---- */

struct copybuf {
	unsigned char *p;
	size_t len, cap;
	size_t rows;
	/* The months the rows fall in, each once: the list for the partitions, the bits to know
	 * a month fast. Bounded by READINGS_MONTHS, so any batch fits. */
	int *months;
	size_t nmonths, months_cap;
	unsigned char month_seen[(READINGS_MONTHS + 7) / 8];
};

static void
reserve(struct copybuf *b, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = st_realloc(b->p, b->cap);
	}
}

static void
put16(struct copybuf *b, uint16_t v)
{
	uint16_t n = htons(v);

	memcpy(b->p + b->len, &n, 2);
	b->len += 2;
}

static void
put32(struct copybuf *b, uint32_t v)
{
	uint32_t n = htonl(v);

	memcpy(b->p + b->len, &n, 4);
	b->len += 4;
}

static void
put64(struct copybuf *b, uint64_t v)
{
	put32(b, (uint32_t)(v >> 32));
	put32(b, (uint32_t)v);
}

static bool
uuid_bytes(const char *s, unsigned char out[16])
{
	size_t k = 0;

	if (!st_uuid_valid(s))
		return false;
	for (size_t i = 0; s[i] != '\0' && k < 16; i++) {
		unsigned hi, lo;

		if (s[i] == '-')
			continue;
		hi = (unsigned)(s[i] <= '9' ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10);
		lo = (unsigned)(s[i + 1] <= '9' ? s[i + 1] - '0' : (s[i + 1] | 0x20) - 'a' + 10);
		out[k++] = (unsigned char)(hi << 4 | lo);
		i++;
	}
	return k == 16;
}

/* Notes the month of a row (m in 0..READINGS_MONTHS-1, checked by the caller's time range). */
static void
note_month(struct copybuf *b, int m)
{
	if ((b->month_seen[m / 8] >> (m % 8)) & 1)
		return;
	b->month_seen[m / 8] |= (unsigned char)(1u << (m % 8));
	if (b->nmonths == b->months_cap) {
		b->months_cap = b->months_cap == 0 ? 16 : b->months_cap * 2;
		b->months = st_realloc(b->months, b->months_cap * sizeof(*b->months));
	}
	b->months[b->nmonths++] = m;
}

/* Forgets the months noted since mark (a message that turned out malformed). */
static void
unnote_months(struct copybuf *b, size_t mark)
{
	for (size_t i = mark; i < b->nmonths; i++)
		b->month_seen[b->months[i] / 8] &= (unsigned char)~(1u << (b->months[i] % 8));
	b->nmonths = mark;
}

/*
 * Appends one message's rows. false (and nothing appended) when the message is malformed;
 * why says how.
 */
static bool
append_message(struct copybuf *b, const struct st_kafka_rec *rec, char *why, size_t cap)
{
	char err[128];
	const cJSON *data = NULL, *sid, *chans, *rows, *type;
	cJSON *doc = st_cloudevent_parse(rec->value, rec->value_len, &data, err, sizeof(err));
	const cJSON **chv = NULL;
	unsigned char uuid[16];
	size_t mark = b->len, rows_mark = b->rows, months_mark = b->nmonths, nch;
	bool ok = false;

	if (doc == NULL) {
		st_errf(why, cap, "not a CloudEvent: %s", err);
		return false;
	}
	type = cJSON_GetObjectItemCaseSensitive(doc, "type");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "strata.readings.batch") != 0) {
		st_errf(why, cap, "type is not strata.readings.batch");
		goto out;
	}
	sid = cJSON_GetObjectItemCaseSensitive(data, "session_id");
	chans = cJSON_GetObjectItemCaseSensitive(data, "channels");
	rows = cJSON_GetObjectItemCaseSensitive(data, "readings");
	if (!cJSON_IsString(sid) || !uuid_bytes(sid->valuestring, uuid) || !cJSON_IsArray(chans) ||
	    !cJSON_IsArray(rows)) {
		st_errf(why, cap, "data needs session_id, channels and readings");
		goto out;
	}
	nch = (size_t)cJSON_GetArraySize(chans);
	chv = st_malloc((nch + 1) * sizeof(*chv));
	{
		size_t k = 0;

		for (const cJSON *c = chans->child; c != NULL; c = c->next, k++) {
			if (!cJSON_IsString(c) ||
			    !readings_channel_valid(c->valuestring, strlen(c->valuestring))) {
				st_errf(why, cap, "channels[%zu] is not a channel name", k);
				goto out;
			}
			chv[k] = c;
		}
		for (const cJSON *r = rows->child; r != NULL; r = r->next) {
			const cJSON *ts = cJSON_GetArrayItem(r, 0), *ch = cJSON_GetArrayItem(r, 1),
				    *v = cJSON_GetArrayItem(r, 2);
			int64_t t;
			size_t ci, clen;
			double val;

			if (!cJSON_IsArray(r) || cJSON_GetArraySize(r) != 3 ||
			    !cJSON_IsNumber(ts) || !cJSON_IsNumber(ch) || !cJSON_IsNumber(v) ||
			    !isfinite(v->valuedouble)) {
				st_errf(why, cap, "a reading is not [ts, channel, value]");
				goto out;
			}
			/* range first: casting an out-of-range double is undefined */
			if (!(ts->valuedouble >= (double)READINGS_TS_MIN_US &&
			      ts->valuedouble < (double)READINGS_TS_MAX_US) ||
			    !(ch->valuedouble >= 0 && ch->valuedouble < (double)nch)) {
				st_errf(why, cap, "a reading's time or channel is out of range");
				goto out;
			}
			t = (int64_t)ts->valuedouble;
			ci = (size_t)ch->valuedouble;
			if ((double)t != ts->valuedouble || (double)ci != ch->valuedouble) {
				st_errf(why, cap, "a reading's time or channel is out of range");
				goto out;
			}
			note_month(b, readings_month_of(t));
			val = v->valuedouble;
			clen = strlen(chv[ci]->valuestring);
			reserve(b, 2 + 4 + 16 + 4 + clen + 4 + 8 + 4 + 8);
			put16(b, 4);
			put32(b, 16);
			memcpy(b->p + b->len, uuid, 16);
			b->len += 16;
			put32(b, (uint32_t)clen);
			memcpy(b->p + b->len, chv[ci]->valuestring, clen);
			b->len += clen;
			put32(b, 8);
			put64(b, (uint64_t)(t - PG_EPOCH_US));
			put32(b, 8);
			{
				uint64_t bits;

				memcpy(&bits, &val, 8);
				put64(b, bits);
			}
			b->rows++;
		}
	}
	ok = true;
out:
	if (!ok) {
		b->len = mark;
		b->rows = rows_mark;
		unnote_months(b, months_mark);
	}
	st_free(chv);
	cJSON_Delete(doc);
	return ok;
}

/* ---- the database ---- */

/* The SQLSTATE of a failed result, "" when none. */
static const char *
sqlstate(const PGresult *res)
{
	const char *s = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s != NULL ? s : "";
}

/* libcommon's one SQLSTATE table (st_db_err_of_sqlstate); a lost connection is unavailable. */
static enum st_err
err_of(PGconn *pg, const char *state)
{
	if (PQstatus(pg) != CONNECTION_OK)
		return ST_ERR_UNAVAILABLE;
	return st_db_err_of_sqlstate(state);
}

/* Runs a COPY ... FROM STDIN (FORMAT binary) of the buffer. */
static enum st_err
copy_in(PGconn *pg, const char *sql, const struct copybuf *b)
{
	static const unsigned char header[19] = { 'P',  'G',  'C',  'O', 'P', 'Y', '\n',
						  0xff, '\r', '\n', 0,   0,   0,   0,
						  0,    0,    0,    0,   0 };
	static const unsigned char trailer[2] = { 0xff, 0xff };
	PGresult *res = PQexec(pg, sql);
	enum st_err rc = ST_OK;
	char state[6] = "";

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		rc = err_of(pg, sqlstate(res));
		st_log(ST_LOG_WARN, "readings", "COPY refused: %s", PQresultErrorMessage(res));
		PQclear(res);
		return rc;
	}
	PQclear(res);
	if (PQputCopyData(pg, (const char *)header, sizeof(header)) != 1)
		rc = ST_ERR_UNAVAILABLE;
	for (size_t off = 0; rc == ST_OK && off < b->len; off += COPY_CHUNK) {
		size_t n = b->len - off < COPY_CHUNK ? b->len - off : COPY_CHUNK;

		if (PQputCopyData(pg, (const char *)b->p + off, (int)n) != 1)
			rc = ST_ERR_UNAVAILABLE;
	}
	if (rc == ST_OK && PQputCopyData(pg, (const char *)trailer, 2) != 1)
		rc = ST_ERR_UNAVAILABLE;
	if (PQputCopyEnd(pg, rc == ST_OK ? NULL : "aborted") != 1)
		rc = ST_ERR_UNAVAILABLE;
	while ((res = PQgetResult(pg)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == ST_OK) {
			st_strlcpy(state, sqlstate(res), sizeof(state));
			rc = err_of(pg, state);
			if (rc != ST_ERR_CONFLICT)
				st_log(ST_LOG_WARN, "readings", "COPY failed: %s",
				       PQresultErrorMessage(res));
		}
		PQclear(res);
		if (PQstatus(pg) != CONNECTION_OK)
			break;
	}
	return rc;
}

static const char copy_direct[] =
	"COPY ingest.readings (session_id, channel, ts, value) FROM STDIN (FORMAT binary)";
static const char temp_create[] = "CREATE TEMP TABLE IF NOT EXISTS readings_in "
				  "(session_id uuid, channel text, ts timestamptz, "
				  "value double precision) ON COMMIT DELETE ROWS";
static const char copy_temp[] =
	"COPY readings_in (session_id, channel, ts, value) FROM STDIN (FORMAT binary)";
static const char merge_sql[] = "INSERT INTO ingest.readings (session_id, channel, ts, value) "
				"SELECT session_id, channel, ts, value FROM readings_in "
				"ON CONFLICT (session_id, ts, channel) DO NOTHING";

/* One transaction: BEGIN, COPY, COMMIT. */
static enum st_err
write_direct(struct st_db_conn *conn, const struct copybuf *b)
{
	enum st_err rc = st_db_begin(conn);

	if (rc == ST_OK)
		rc = copy_in(st_db_conn_pg(conn), copy_direct, b);
	if (rc == ST_OK)
		return st_db_commit(conn);
	if (PQstatus(st_db_conn_pg(conn)) == CONNECTION_OK)
		st_db_rollback(conn);
	return rc;
}

/* One transaction through the temporary table, skipping readings already stored. */
static enum st_err
write_merge(struct st_db_conn *conn, const struct copybuf *b, long long *inserted)
{
	struct st_db_result *res = NULL;
	char err[160] = "";
	enum st_err rc = st_db_begin(conn);

	if (rc == ST_OK)
		rc = st_db_query(conn, temp_create, 0, NULL, NULL, err, sizeof(err));
	if (rc == ST_OK)
		rc = copy_in(st_db_conn_pg(conn), copy_temp, b);
	if (rc == ST_OK)
		rc = st_db_query(conn, merge_sql, 0, NULL, &res, err, sizeof(err));
	if (rc == ST_OK) {
		*inserted = st_db_affected(res);
		rc = st_db_commit(conn);
	}
	st_db_result_free(res);
	if (rc != ST_OK) {
		st_log(ST_LOG_WARN, "readings", "merge failed err=%s %s", st_err_str(rc), err);
		if (PQstatus(st_db_conn_pg(conn)) == CONNECTION_OK)
			st_db_rollback(conn);
	}
	return rc;
}

enum st_err
readings_write_batch(const struct st_kafka_rec *recs, size_t n, void *ctx)
{
	struct st_app *app = ctx;
	struct copybuf b;
	struct st_db_conn *conn = NULL;
	enum st_err rc = ST_OK;
	int64_t t0 = st_now_mono_us();
	long long inserted = -1;
	size_t skipped = 0;

	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i < n; i++) {
		char why[160];

		if (!append_message(&b, &recs[i], why, sizeof(why))) {
			st_log(ST_LOG_ERROR, "readings",
			       "malformed message skipped partition=%d offset=%lld: %s",
			       (int)recs[i].partition, (long long)recs[i].offset, why);
			skipped++;
		}
	}
	if (b.rows == 0)
		goto out;
	rc = st_db_acquire(app->db, &conn);
	if (rc == ST_OK)
		rc = readings_partitions_ensure(conn, b.months, b.nmonths);
	if (rc == ST_OK) {
		rc = write_direct(conn, &b);
		if (rc == ST_ERR_CONFLICT)
			rc = write_merge(conn, &b, &inserted);
		else if (rc == ST_OK)
			inserted = (long long)b.rows;
	}
	if (rc != ST_OK) {
		/* A dropped partition looks like any failure: look again next time. */
		readings_partitions_forget();
		st_log(ST_LOG_WARN, "readings", "batch not written err=%s rows=%zu; will retry",
		       st_err_str(rc), b.rows);
	} else {
		st_log(ST_LOG_DEBUG, "readings",
		       "batch written messages=%zu rows=%zu inserted=%lld skipped=%zu ms=%.1f", n,
		       b.rows, inserted, skipped, (double)(st_now_mono_us() - t0) / 1000.0);
	}
	st_db_release(app->db, conn);
out:
	st_free(b.p);
	st_free(b.months);
	return rc;
}

/* ---- the consumers ---- */

/* /metrics: the writers' consumer figures, summed over this replica's writers. */
static void
writers_collect(struct st_metrics *m, void *ctx)
{
	struct st_kafka_consumer_stats sum = { 0 };

	(void)ctx;
	for (size_t i = 0; i < writers.n; i++) {
		struct st_kafka_consumer_stats st;

		if (writers.consumers[i] == NULL)
			continue;
		st_kafka_consumer_stats(writers.consumers[i], &st);
		sum.records += st.records;
		sum.batches += st.batches;
		sum.failures += st.failures;
		sum.commits += st.commits;
		sum.rebalances += st.rebalances;
	}
	st_metric_set(st_metrics_gauge(m, "strata_ingest_writer_messages_total",
				       "strata.readings messages written and committed", NULL),
		      (double)sum.records);
	st_metric_set(st_metrics_gauge(m, "strata_ingest_writer_batches_total",
				       "Writer transactions committed", NULL),
		      (double)sum.batches);
	st_metric_set(st_metrics_gauge(m, "strata_ingest_writer_failures_total",
				       "Writer batches that failed and will come again", NULL),
		      (double)sum.failures);
	st_metric_set(st_metrics_gauge(m, "strata_ingest_writer_rebalances_total",
				       "Partition assignments and revocations", NULL),
		      (double)sum.rebalances);
}

enum st_err
readings_writers_start(struct st_app *app)
{
	const struct st_config *cfg = app->config;
	size_t n = (size_t)st_config_int(cfg, "INGEST_WRITERS");

	writers.consumers = st_calloc(n + 1, sizeof(*writers.consumers));
	for (size_t i = 0; i < n; i++) {
		struct st_kafka_consumer_conf kc = {
			.brokers = st_config_str(cfg, "KAFKA_BROKERS"),
			.group = st_config_str(cfg, "INGEST_WRITER_GROUP"),
			.topic = READINGS_TOPIC,
			.client_id = "strata-ingest-writer",
			.batch_max = (int)st_config_int(cfg, "INGEST_WRITER_BATCH"),
			.batch_wait_ms = (int)st_config_int(cfg, "KAFKA_BATCH_WAIT_MS"),
			.retry_backoff_ms = 500,
			.from_beginning = true, /* a new group must not skip what was accepted */
			.handler = readings_write_batch,
			.ctx = app,
		};
		enum st_err rc = st_kafka_consumer_create(&kc, &writers.consumers[i]);

		if (rc == ST_OK)
			rc = st_kafka_consumer_start(writers.consumers[i]);
		if (rc != ST_OK) {
			st_log(ST_LOG_ERROR, "readings", "writer %zu failed to start", i);
			writers.n = i + 1;
			return rc;
		}
		writers.n = i + 1;
	}
	st_metrics_add_collector(app->metrics, writers_collect, NULL);
	st_log(ST_LOG_INFO, "readings", "writers started count=%zu group=%s", n,
	       st_config_str(cfg, "INGEST_WRITER_GROUP"));
	return ST_OK;
}

void
readings_writers_stop(void)
{
	for (size_t i = 0; i < writers.n; i++)
		st_kafka_consumer_destroy(writers.consumers[i]);
	st_free(writers.consumers);
	writers.consumers = NULL;
	writers.n = 0;
}
