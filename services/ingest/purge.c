/*
 * Deleting the readings of deleted sessions, in the background: a deleted project queues its
 * sessions in ingest.purged_sessions (projects.c, in the same statement as the delete), and
 * this loop, in every replica, deletes their readings PURGE_STEP rows at a time through the
 * primary key, at most PURGE_STEPS steps a session and 16 sessions a tick, so
 * that no statement runs long or locks much. The queue is worked round-robin (checked_at), so
 * emptied sessions waiting out their hour never crowd out new ones. Replicas may work on one
 * session at once: a row deleted by one is simply not found by the other. A queue row goes an
 * hour after its readings did (late readings from Kafka are caught in that hour).
 */
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "strata/db.h"
#include "strata/log.h"

#define PURGE_STEPS 20
#define PURGE_STEP  5000 /* rows a statement; written into step_sql too */

/* 16 sessions a tick, the least recently worked first (never worked: first of all) */
static const char queued_sql[] = "SELECT session_id, queued_at < now() - interval '1 hour' "
				 "FROM purged_sessions ORDER BY checked_at NULLS FIRST, queued_at "
				 "LIMIT 16";

static const char checked_sql[] = "UPDATE purged_sessions SET checked_at = now() "
				  "WHERE session_id = $1::uuid";

static const char step_sql[] = "DELETE FROM readings WHERE session_id = $1::uuid "
			       "AND (ts, channel) IN (SELECT ts, channel FROM readings "
			       "WHERE session_id = $1::uuid LIMIT 5000)";

static const char done_sql[] = "DELETE FROM purged_sessions WHERE session_id = $1::uuid";

/* Deletes up to PURGE_STEPS steps of one session's readings; how many went, -1 on failure. */
static long long
purge_session(struct st_app *app, const char *session)
{
	const char *params[] = { session };
	long long total = 0;

	for (int step = 0; step < PURGE_STEPS; step++) {
		struct st_db_result *res = NULL;
		long long n;

		if (st_db_pool_query(app->db, step_sql, 1, params, &res, NULL, 0) != ST_OK)
			return -1;
		n = st_db_affected(res);
		st_db_result_free(res);
		total += n;
		if (n < PURGE_STEP)
			break;
	}
	return total;
}

void
readings_purge_tick(struct st_app *app)
{
	struct st_db_result *queued = NULL;

	if (st_db_pool_query(app->db, queued_sql, 0, NULL, &queued, NULL, 0) != ST_OK)
		return; /* the database is away: the next tick tries again */
	for (int i = 0; i < st_db_rows(queued); i++) {
		const char *session = st_db_get(queued, i, 0);
		bool old = strcmp(st_db_get(queued, i, 1), "t") == 0;
		long long n = purge_session(app, session);

		if (n > 0)
			st_log(ST_LOG_INFO, "purge", "readings deleted session=%s rows=%lld",
			       session, n);
		if (n < 0)
			break;
		{
			const char *params[] = { session };

			if (st_db_pool_query(app->db, n == 0 && old ? done_sql : checked_sql, 1,
					     params, NULL, NULL, 0) != ST_OK)
				break;
		}
	}
	st_db_result_free(queued);
}
