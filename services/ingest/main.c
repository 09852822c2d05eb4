/*
 * strata-ingest: projects, subjects, sessions, and readings through Kafka into PostgreSQL.
 * Besides what libcommon gives every service (/healthz, /readyz checking its dependencies,
 * /metrics), its resources are declared here, grouped by the file that serves them.
 */
#include "ingest.h"

static const struct st_config_item config[] = {
	/* diagnosis results (results.c): data lines of one file; the body is bounded by
	 * HTTP_BODY_MAX */
	ST_CONFIG_INT("INGEST_RESULTS_MAX_ROWS", 100000, 1, 10000000),
};

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
	{ "POST", "/api/v1/sessions/{id}/start", sessions_start, ST_SCOPE_WRITE },
	{ "POST", "/api/v1/sessions/{id}/stop", sessions_stop, ST_SCOPE_WRITE },
	{ "POST", "/api/v1/sessions/{id}/complete", sessions_complete, ST_SCOPE_WRITE },
	{ "POST", "/api/v1/sessions/{id}/fail", sessions_fail, ST_SCOPE_WRITE },
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
