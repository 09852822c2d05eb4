/*
 * strata-storage: an S3-compatible object store over a filesystem backend.
 * So far it serves what libcommon gives every service (/healthz, /readyz checking its
 * dependencies, /metrics); its resources are declared here as they are built.
 */
#include "strata/service.h"

static const struct st_service service = {
	.name = "storage",
	.default_port = 8086,
	.db_schema = "storage",
	.needs = ST_NEED_DB | ST_NEED_KAFKA,
};

int
main(int argc, char **argv)
{
	return st_service_main(&service, argc, argv);
}
