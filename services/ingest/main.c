/*
 * strata-ingest: projects, subjects, sessions, and readings through Kafka into PostgreSQL.
 * Besides what libcommon gives every service (/healthz, /readyz checking its dependencies,
 * /metrics), its resources are declared here, grouped by the file that serves them.
 */
#include "ingest.h"

static const struct st_route routes[] = {
	/* diagnosis results (results.c): scopes are ingest_session_access's to check */
	{ "POST", "/api/v1/sessions/{id}/results", results_post, ST_SCOPE_NONE },
	{ "GET", "/api/v1/sessions/{id}/results", results_get, ST_SCOPE_NONE },
	/* resources: projects and members (projects.c, members.c) */
	{ "POST", "/api/v1/projects", projects_create, ST_SCOPE_WRITE },
	{ "GET", "/api/v1/projects", projects_list, ST_SCOPE_READ },
	{ "GET", "/api/v1/projects/{id}", projects_get, ST_SCOPE_READ },
	{ "PATCH", "/api/v1/projects/{id}", projects_patch, ST_SCOPE_WRITE },
	{ "DELETE", "/api/v1/projects/{id}", projects_delete, ST_SCOPE_WRITE },
	{ "GET", "/api/v1/projects/{id}/members", members_list, ST_SCOPE_READ },
	{ "POST", "/api/v1/projects/{id}/members", members_add, ST_SCOPE_WRITE },
	{ "PATCH", "/api/v1/projects/{id}/members/{user_id}", members_patch, ST_SCOPE_WRITE },
	{ "DELETE", "/api/v1/projects/{id}/members/{user_id}", members_delete, ST_SCOPE_WRITE },
	/* resources: subjects (subjects.c) */
	{ "POST", "/api/v1/projects/{id}/subjects", subjects_create, ST_SCOPE_WRITE },
	{ "GET", "/api/v1/projects/{id}/subjects", subjects_list, ST_SCOPE_READ },
	{ "GET", "/api/v1/subjects/{id}", subjects_get, ST_SCOPE_READ },
	{ "PATCH", "/api/v1/subjects/{id}", subjects_patch, ST_SCOPE_WRITE },
	{ "DELETE", "/api/v1/subjects/{id}", subjects_delete, ST_SCOPE_WRITE },
	/* resources: sessions and their state machine (sessions.c, session_state.c) */
	{ "POST", "/api/v1/projects/{id}/sessions", sessions_create, ST_SCOPE_WRITE },
	{ "GET", "/api/v1/sessions", sessions_list, ST_SCOPE_READ },
	{ "GET", "/api/v1/sessions/{id}", sessions_get, ST_SCOPE_READ },
	{ "PATCH", "/api/v1/sessions/{id}", sessions_patch, ST_SCOPE_WRITE },
	{ "POST", "/api/v1/sessions/{id}/start", sessions_act, ST_SCOPE_WRITE },
	{ "POST", "/api/v1/sessions/{id}/stop", sessions_act, ST_SCOPE_WRITE },
	{ "POST", "/api/v1/sessions/{id}/complete", sessions_act, ST_SCOPE_WRITE },
	{ "POST", "/api/v1/sessions/{id}/fail", sessions_act, ST_SCOPE_WRITE },
	/* readings: readings_post.c, readings_query.c, readings_export.c */
	{ "POST", "/api/v1/sessions/{id}/data", readings_post, ST_SCOPE_NONE },
	{ "GET", "/api/v1/sessions/{id}/data", readings_get, ST_SCOPE_READ },
	{ "GET", "/api/v1/sessions/{id}/data/export", readings_export, ST_SCOPE_READ },
};

static const struct st_config_item config[] = {
	/* diagnosis results (results.c): data lines of one file; the body is bounded by
	 * HTTP_BODY_MAX */
	ST_CONFIG_INT("INGEST_RESULTS_MAX_ROWS", 100000, 1, 10000000),
	/* readings */
	ST_CONFIG_INT("INGEST_BATCH_MAX", 10000, 1, 1000000),         /* readings in one POST */
	ST_CONFIG_INT("INGEST_MESSAGE_MAX", 900000, 4096, 100000000), /* bytes of one Kafka msg */
	ST_CONFIG_INT("INGEST_SESSION_CACHE_MS", 5000, 0, 600000),
	ST_CONFIG_INT("INGEST_EXPORTS_MAX", 4, 1, 256), /* exports at once: each holds a DB
							   connection while it streams */
	ST_CONFIG_INT("INGEST_SESSION_STALE_MS", 600000, 0, 86400000),
	ST_CONFIG_STR("INGEST_WRITER_GROUP", "ingest-writers"),
	ST_CONFIG_INT("INGEST_WRITERS", 1, 0, 64),          /* 0: this replica only accepts */
	ST_CONFIG_INT("INGEST_WRITER_BATCH", 64, 1, 10000), /* messages per transaction */
};

static const struct st_loop loops[] = {
	/* the readings of deleted projects' sessions (purge.c) */
	{ "purge", 5000, readings_purge_tick },
};

static enum st_err
ingest_init(struct st_app *app)
{
	enum st_err rc = session_cache_init(app); /* readings */

	if (rc == ST_OK)
		rc = readings_writers_start(app); /* readings */
	return rc;
}

static void
ingest_fini(struct st_app *app)
{
	(void)app;
	readings_writers_stop(); /* readings */
	session_cache_fini();    /* readings */
}

static const struct st_service service = {
	.name = "ingest",
	.default_port = 8082,
	.db_schema = "ingest",
	.needs = ST_NEED_DB | ST_NEED_KAFKA,
	.config = config,
	.nconfig = ST_ARRAY_LEN(config),
	.routes = routes,
	.nroutes = ST_ARRAY_LEN(routes),
	.loops = loops,
	.nloops = ST_ARRAY_LEN(loops),
	.init = ingest_init,
	.fini = ingest_fini,
};

int
main(int argc, char **argv)
{
	return st_service_main(&service, argc, argv);
}
