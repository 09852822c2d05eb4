/*
 * strata-ingest: projects, subjects, sessions, and readings through Kafka into PostgreSQL.
 * Besides what libcommon gives every service (/healthz, /readyz checking its dependencies,
 * /metrics), its resources are declared here, grouped by the file that serves them.
 */
#include "ingest.h"
#include "strata/service.h"

static const struct st_route routes[] = {
	/* readings: readings_post.c, readings_query.c, readings_export.c */
	{ "POST", "/api/v1/sessions/{id}/data", readings_post, ST_SCOPE_NONE },
	{ "GET", "/api/v1/sessions/{id}/data", readings_get, ST_SCOPE_READ },
	{ "GET", "/api/v1/sessions/{id}/data/export", readings_export, ST_SCOPE_READ },
};

static const struct st_config_item config[] = {
	/* readings */
	ST_CONFIG_INT("INGEST_BATCH_MAX", 10000, 1, 1000000),         /* readings in one POST */
	ST_CONFIG_INT("INGEST_MESSAGE_MAX", 900000, 4096, 100000000), /* bytes of one Kafka msg */
	ST_CONFIG_INT("INGEST_SESSION_CACHE_MS", 5000, 0, 600000),
	ST_CONFIG_INT("INGEST_SESSION_STALE_MS", 600000, 0, 86400000),
	ST_CONFIG_STR("INGEST_WRITER_GROUP", "ingest-writers"),
	ST_CONFIG_INT("INGEST_WRITERS", 1, 0, 64),          /* 0: this replica only accepts */
	ST_CONFIG_INT("INGEST_WRITER_BATCH", 64, 1, 10000), /* messages per transaction */
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
	.init = ingest_init,
	.fini = ingest_fini,
};

int
main(int argc, char **argv)
{
	return st_service_main(&service, argc, argv);
}
