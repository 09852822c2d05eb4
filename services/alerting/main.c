/*
 * strata-alerting: threshold rules over readings and metrics, the alert lifecycle, notifications.
 * So far it serves what libcommon gives every service (/healthz, /readyz checking its
 * dependencies, /metrics); its resources are declared here as they are built.
 */
#include "strata/service.h"

static const struct st_service service = {
	.name = "alerting",
	.default_port = 8084,
	.db_schema = "alerting",
	.needs = ST_NEED_DB | ST_NEED_KAFKA,
};

int
main(int argc, char **argv)
{
	return st_service_main(&service, argc, argv);
}
