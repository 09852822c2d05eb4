/*
 * strata-auth: users, roles, tokens (JWT, JWKS), refresh rotation, API keys, lockout.
 * So far it serves what libcommon gives every service (/healthz, /readyz checking its
 * dependencies, /metrics); its resources are declared here as they are built.
 */
#include "strata/service.h"

static const struct st_service service = {
	.name = "auth",
	.default_port = 8081,
	.db_schema = "auth",
	.needs = ST_NEED_DB | ST_NEED_REDIS | ST_NEED_KAFKA,
};

int
main(int argc, char **argv)
{
	return st_service_main(&service, argc, argv);
}
