/*
 * strata-scheduler: cron jobs that call HTTP APIs, with run history, retries and timeouts.
 * So far it serves what libcommon gives every service (/healthz, /readyz checking its
 * dependencies, /metrics); its resources are declared here as they are built.
 */
#include "strata/service.h"

static const struct st_service service = {
	.name = "scheduler",
	.default_port = 8085,
	.db_schema = "scheduler",
	.needs = ST_NEED_DB | ST_NEED_KAFKA,
};

int
main(int argc, char **argv)
{
	return st_service_main(&service, argc, argv);
}
