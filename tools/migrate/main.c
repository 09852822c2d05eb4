/*
 * strata-migrate: applies migrations/<service>/NNNN_what.sql to the database in DATABASE_URL,
 * each file once, in number order within its service (see strata/migrate.h). Safe to run from
 * several places at once: runs are serialized by an advisory lock.
 *
 *   strata-migrate [--dir migrations] [--dry-run] [--status]
 *
 * Exit status: 0 done (or, with --status, up to date); 1 failed; 2 bad usage or settings;
 * 3 with --status: something is pending.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/log.h"
#include "strata/migrate.h"

#define EXIT_USAGE   2
#define EXIT_PENDING 3

static void
usage(FILE *f)
{
	fprintf(f, "usage: strata-migrate [--dir migrations] [--dry-run] [--status]\n"
		   "  applies migrations/<service>/NNNN_what.sql to DATABASE_URL in order\n"
		   "  --dir DIR   the migrations folder (default: migrations)\n"
		   "  --dry-run   list what would be applied; change nothing\n"
		   "  --status    list every migration as applied, pending, changed or missing;\n"
		   "              exit 3 when something is pending\n");
}

int
main(int argc, char **argv)
{
	struct st_migration_set set;
	enum st_migrate_mode mode = ST_MIGRATE_APPLY;
	const char *dir = "migrations", *url = getenv("DATABASE_URL");
	char err[1024] = "";
	size_t pending = 0;
	int status = EXIT_FAILURE;

	st_log_init("strata-migrate", ST_LOG_WARN);
	st_migration_set_init(&set);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			mode = ST_MIGRATE_DRY_RUN;
		} else if (strcmp(argv[i], "--status") == 0) {
			mode = ST_MIGRATE_STATUS;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			status = EXIT_SUCCESS;
			goto out;
		} else {
			fprintf(stderr, "strata-migrate: unknown argument %s\n", argv[i]);
			usage(stderr);
			status = EXIT_USAGE;
			goto out;
		}
	}
	if (url == NULL || url[0] == '\0') {
		fprintf(stderr, "strata-migrate: DATABASE_URL is not set "
				"(postgresql://user:password@host:port/database)\n");
		status = EXIT_USAGE;
		goto out;
	}
	if (st_migrate_load(dir, &set, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "strata-migrate: %s\n", err);
		goto out;
	}
	if (st_migrate_run(url, &set, mode, stdout, &pending, err, sizeof(err)) != ST_OK) {
		fflush(stdout);
		fprintf(stderr, "strata-migrate: %s\n", err);
		goto out;
	}
	status = (mode == ST_MIGRATE_STATUS && pending > 0) ? EXIT_PENDING : EXIT_SUCCESS;
out:
	st_migration_set_cleanup(&set);
	return status;
}
