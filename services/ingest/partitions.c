/*
 * Monthly partitions of ingest.readings, created ahead as the writers need them.
 *
 * Why monthly: a month of readings is a comfortable partition size for this platform (the
 * weather series, a year hourly, makes 12; a session of tens of millions of readings at 1 Hz
 * spans a few months), and every query and export of a session touches all partitions its time
 * range covers, so daily partitions (365 a year) would multiply planning and index probes by
 * thirty for no gain in load speed (COPY routes rows by range either way).
 *
 * No default partition: rows outside every partition would land there and then block creating
 * the partition for their month. Instead the writer creates the partition of every month it is
 * about to write, before its transaction, under an advisory lock (so two writers never race on
 * the DDL), and remembers which exist so that this costs nothing per batch afterwards.
 *
 * The DDL names and bounds are formatted from integers computed here (DDL takes no parameters);
 * no client text reaches it.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "strata/db.h"
#include "strata/log.h"

#define MONTHS READINGS_MONTHS
/* An arbitrary constant naming the partition-creation lock among advisory locks. */
#define PARTITION_LOCK_KEY "7301042001"

static struct {
	pthread_mutex_t lock;
	unsigned char known[(MONTHS + 7) / 8];
} parts = { PTHREAD_MUTEX_INITIALIZER, { 0 } };

int
readings_month_of(int64_t us)
{
	int64_t days = us / 1000000 / 86400, z, era, doe, yoe, doy, mp;
	int m, y;

	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	m = (int)(mp < 10 ? mp + 3 : mp - 9);
	y = (int)(yoe + era * 400 + (m <= 2));
	return (y - 1970) * 12 + (m - 1);
}

static bool
is_known(int m)
{
	bool k;

	pthread_mutex_lock(&parts.lock);
	k = (parts.known[m / 8] >> (m % 8)) & 1;
	pthread_mutex_unlock(&parts.lock);
	return k;
}

static void
set_known(int m)
{
	pthread_mutex_lock(&parts.lock);
	parts.known[m / 8] |= (unsigned char)(1u << (m % 8));
	pthread_mutex_unlock(&parts.lock);
}

void
readings_partitions_forget(void)
{
	pthread_mutex_lock(&parts.lock);
	memset(parts.known, 0, sizeof(parts.known));
	pthread_mutex_unlock(&parts.lock);
}

/*
 * Creates the month's partition as a plain table and then attaches it: ATTACH PARTITION takes
 * only a SHARE UPDATE EXCLUSIVE lock on ingest.readings, which readers, exports and the
 * writers' COPY do not conflict with, where CREATE TABLE ... PARTITION OF would wait for every
 * open transaction on the table (a long export) and queue everything behind it. A lock_timeout
 * bounds the rest: the batch then fails and comes again.
 */
static enum st_err
create_month(struct st_db_conn *conn, int m)
{
	int y = 1970 + m / 12, mo = m % 12 + 1;
	int ny = mo == 12 ? y + 1 : y, nmo = mo == 12 ? 1 : mo + 1;
	char name[32], create[160], attach[256], err[160] = "";
	const char *params[] = { name };
	struct st_db_result *res = NULL;
	enum st_err rc;

	snprintf(name, sizeof(name), "readings_p%04d%02d", y, mo);
	snprintf(create, sizeof(create),
		 "CREATE TABLE ingest.%s (LIKE ingest.readings INCLUDING DEFAULTS "
		 "INCLUDING CONSTRAINTS)",
		 name);
	snprintf(attach, sizeof(attach),
		 "ALTER TABLE ingest.readings ATTACH PARTITION ingest.%s "
		 "FOR VALUES FROM ('%04d-%02d-01 00:00:00+00') TO ('%04d-%02d-01 00:00:00+00')",
		 name, y, mo, ny, nmo);
	rc = st_db_begin(conn);
	if (rc != ST_OK)
		return rc;
	rc = st_db_query(conn, "SET LOCAL lock_timeout = '2s'", 0, NULL, NULL, err, sizeof(err));
	if (rc == ST_OK)
		rc = st_db_query(conn, "SELECT pg_advisory_xact_lock(" PARTITION_LOCK_KEY ")", 0,
				 NULL, NULL, err, sizeof(err));
	if (rc == ST_OK)
		rc = st_db_query(conn,
				 "SELECT c.relispartition FROM pg_class c "
				 "JOIN pg_namespace n ON n.oid = c.relnamespace "
				 "WHERE n.nspname = 'ingest' AND c.relname = $1",
				 1, params, &res, err, sizeof(err));
	if (rc == ST_OK && st_db_rows(res) == 0)
		rc = st_db_query(conn, create, 0, NULL, NULL, err, sizeof(err));
	if (rc == ST_OK && (st_db_rows(res) == 0 || strcmp(st_db_get(res, 0, 0), "t") != 0))
		rc = st_db_query(conn, attach, 0, NULL, NULL, err, sizeof(err));
	if (rc == ST_OK)
		rc = st_db_commit(conn);
	st_db_result_free(res);
	if (rc != ST_OK) {
		st_log(ST_LOG_WARN, "readings", "partition %04d-%02d not created err=%s: %s", y, mo,
		       st_err_str(rc), err);
		st_db_rollback(conn);
		return rc;
	}
	st_log(ST_LOG_INFO, "readings", "partition ready month=%04d-%02d", y, mo);
	return ST_OK;
}

enum st_err
readings_partitions_ensure(struct st_db_conn *conn, const int *months, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		enum st_err rc;

		if (months[i] < 0 || months[i] >= MONTHS || is_known(months[i]))
			continue;
		rc = create_month(conn, months[i]);
		if (rc != ST_OK)
			return rc;
		set_known(months[i]);
	}
	return ST_OK;
}
