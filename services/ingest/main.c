/*
 * strata-ingest: projects, subjects, sessions, and readings through Kafka into PostgreSQL.
 * So far it serves what libcommon gives every service (/healthz, /readyz checking its
 * dependencies, /metrics); its resources are declared here as they are built.
 */
#include "ingest.h"

static const struct st_config_item config[] = {
	/* diagnosis results (results.c): data lines of one file; the body is bounded by
	 * HTTP_BODY_MAX */
	ST_CONFIG_INT("INGEST_RESULTS_MAX_ROWS", 100000, 1, 10000000),
};

static const struct st_route routes[] = {
	/* diagnosis results (results.c) */
	{ "POST", "/api/v1/sessions/{id}/results", results_post, ST_SCOPE_NONE },
	{ "GET", "/api/v1/sessions/{id}/results", results_get, ST_SCOPE_NONE },
};

static const struct st_service service = {
	.name = "ingest",
	.default_port = 8082,
	.db_schema = "ingest",
	.needs = ST_NEED_DB | ST_NEED_KAFKA,
	.config = config,
	.nconfig = ST_ARRAY_LEN(config),
	.routes = routes,
	.nroutes = ST_ARRAY_LEN(routes),
};

int
main(int argc, char **argv)
{
	return st_service_main(&service, argc, argv);
}
