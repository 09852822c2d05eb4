/*
 * Forward-only schema migrations: the logic behind bin/strata-migrate.
 *
 * migrations/<service>/NNNN_what.sql holds each service's SQL, numbered from 0001 (four or more
 * digits, then a lowercase name of [a-z0-9_]). Within a service files apply in number order;
 * across services order does not matter, since each touches its own schema. Every file applies
 * in its own transaction together with its row in public.strata_migrations (service, version,
 * name, SHA-256 checksum, time), so a file is either fully applied and recorded or not at all.
 * A session-level advisory lock serializes concurrent runs: a second run waits, then finds
 * nothing to do. A recorded file whose content changed is refused, and so is a pending file
 * numbered below one already applied in its service: history is never rewritten.
 *
 * The pure parts (names, order, duplicates, checksums, loading a folder) are separate from the
 * part that talks to PostgreSQL, so that they have unit tests.
 */
#ifndef STRATA_MIGRATE_H
#define STRATA_MIGRATE_H

#include <stdio.h>

#include "strata/core.h"

/* The pg_advisory_lock key that serializes runs: the bytes "STRATAMG" as a bigint. */
#define ST_MIGRATE_LOCK_KEY "6004514643731631431"

#define ST_MIGRATE_SERVICE_MAX  64  /* with the NUL */
#define ST_MIGRATE_FILE_MAX     128 /* with the NUL */
#define ST_MIGRATE_CHECKSUM_LEN 64  /* hex SHA-256, without the NUL */

struct st_migration {
	char service[ST_MIGRATE_SERVICE_MAX]; /* the folder under migrations/, "statistics" */
	char file[ST_MIGRATE_FILE_MAX];       /* the file name, "0001_create_schema.sql" */
	int version;                          /* 1 for 0001 */
	char checksum[ST_MIGRATE_CHECKSUM_LEN + 1];
	char *sql; /* the file's content, NUL-terminated; owned by the set */
	size_t sql_len;
};

/* A list of migrations in the caller's storage: st_migration_set_init / _cleanup. */
struct st_migration_set {
	struct st_migration *items;
	size_t n;
	size_t cap;
};

void st_migration_set_init(struct st_migration_set *set);
/* Frees every item's SQL and the array; the set is empty (and reusable) afterwards. */
void st_migration_set_cleanup(struct st_migration_set *set);
/* Appends a migration with a copy of sql (len bytes) and its checksum. The names are copied;
 * ST_ERR_INVALID when one is too long for the fixed fields. */
enum st_err st_migration_set_add(struct st_migration_set *set, const char *service,
				 const char *file, int version, const char *sql, size_t len);

/*
 * Parses a migration file name: NNNN_what.sql with four or more digits (a number from 1 to
 * INT_MAX) and a name of one or more of [a-z0-9_]. *version receives the number. On
 * ST_ERR_INVALID, err (may be NULL) says what is wrong, without the file name.
 */
enum st_err st_migrate_parse_name(const char *file, int *version, char *err, size_t errcap);

/* Whether a service folder name is acceptable: 1 to 63 of [a-z0-9_]. */
bool st_migrate_valid_service(const char *name);

/* Writes the lowercase hex SHA-256 of data into hex (NUL-terminated). ST_ERR_INTERNAL if
 * OpenSSL fails. */
enum st_err st_migrate_checksum(const void *data, size_t len,
				char hex[ST_MIGRATE_CHECKSUM_LEN + 1]);

/* Sorts by service name, then by version. */
void st_migrate_sort(struct st_migration_set *set);

/* On a sorted set: ST_ERR_CONFLICT when two files of one service share a number, with both
 * named in err ("auth: 0002_a.sql and 0002_b.sql share number 2"). */
enum st_err st_migrate_check_duplicates(const struct st_migration_set *set, char *err,
					size_t errcap);

/*
 * Reads dir/<service>/<file> for every service folder of dir into set (which must be empty),
 * sorted and checked for duplicates. Entries whose names start with '.' are skipped, and so are
 * plain files directly in dir (a README); anything else in a service folder must be a regular
 * file with a valid migration name. On error err names the file and the problem; set may then
 * hold part of the files and still needs st_migration_set_cleanup.
 */
enum st_err st_migrate_load(const char *dir, struct st_migration_set *set, char *err,
			    size_t errcap);

enum st_migrate_mode {
	ST_MIGRATE_APPLY,   /* apply what is pending */
	ST_MIGRATE_DRY_RUN, /* say what would be applied; change nothing, take no lock */
	ST_MIGRATE_STATUS,  /* one line per migration: applied, pending, changed, or missing */
};

/*
 * Connects to url (a libpq URI or key=value string) and brings the database up to date with
 * set (as st_migrate_load made it), printing one line per file applied (or that would be, or
 * its state) to out. *pending (may be NULL) receives how many files were pending when the run
 * started. May block on the advisory lock for as long as another run holds it. Errors, with a
 * one-line reason in err: ST_ERR_UNAVAILABLE when the server cannot be reached, ST_ERR_CONFLICT
 * for a changed checksum or an out-of-order pending file, ST_ERR_INVALID when a migration's
 * SQL failed (err names the file and gives the server's message; that file was rolled back
 * and later ones were not tried), ST_ERR_INTERNAL for other failures.
 */
enum st_err st_migrate_run(const char *url, const struct st_migration_set *set,
			   enum st_migrate_mode mode, FILE *out, size_t *pending, char *err,
			   size_t errcap);

#endif
