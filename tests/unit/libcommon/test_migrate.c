/*
 * Unit tests for the pure half of migrate.c: file names (good, each kind of bad, edges), the
 * order of a shuffled list, duplicate numbers, checksums, and loading a folder made on the fly
 * in a temporary directory. No database.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata/migrate.h"

Suite *migrate_suite(void);

static const struct {
	const char *file;
	int version;     /* 0: must be refused */
	const char *why; /* a word the refusal must contain */
} names[] = {
	/* good */
	{ "0001_create_schema.sql", 1, NULL },
	{ "0042_add_index_2.sql", 42, NULL },
	{ "9999_x.sql", 9999, NULL },
	{ "00001_five_digits.sql", 1, NULL },
	{ "12345_more_digits.sql", 12345, NULL },
	{ "2147483647_max.sql", INT_MAX, NULL },
	{ "0001__.sql", 1, NULL },
	{ "0001_0.sql", 1, NULL },
	/* too few digits, or none */
	{ "001_short.sql", 0, "4 digits" },
	{ "1_short.sql", 0, "4 digits" },
	{ "create_schema.sql", 0, "4 digits" },
	{ "", 0, "empty" },
	{ "_0001_x.sql", 0, "4 digits" },
	/* the number out of range */
	{ "0000_zero.sql", 0, "between" },
	{ "2147483648_over.sql", 0, "between" },
	{ "99999999999999999999_huge.sql", 0, "between" },
	/* no separator, no name */
	{ "0001.sql", 0, "'_'" },
	{ "0001-dash.sql", 0, "'_'" },
	{ "0001_.sql", 0, "name" },
	{ "0001_", 0, "name" },
	/* characters outside [a-z0-9_] */
	{ "0001_Create.sql", 0, "[a-z0-9_]" },
	{ "0001_with-dash.sql", 0, "[a-z0-9_]" },
	{ "0001_with space.sql", 0, "[a-z0-9_]" },
	{ "0001_caf\xc3\xa9.sql", 0, "[a-z0-9_]" },
	/* the extension */
	{ "0001_x.SQL", 0, ".sql" },
	{ "0001_x.sql.bak", 0, ".sql" },
	{ "0001_x", 0, ".sql" },
	{ "0001_x.sq", 0, ".sql" },
	{ "0001_x.txt", 0, ".sql" },
};

START_TEST(parse_name_table)
{
	char err[200];
	int version = -1;
	enum st_err rc;

	err[0] = '\0';
	rc = st_migrate_parse_name(names[_i].file, &version, err, sizeof(err));
	if (names[_i].version > 0) {
		ck_assert_msg(rc == ST_OK, "%s refused: %s", names[_i].file, err);
		ck_assert_int_eq(version, names[_i].version);
	} else {
		ck_assert_msg(rc == ST_ERR_INVALID, "%s accepted", names[_i].file);
		ck_assert_msg(strstr(err, names[_i].why) != NULL, "%s: '%s' lacks '%s'",
			      names[_i].file, err, names[_i].why);
		ck_assert_int_eq(version, -1); /* untouched on error */
	}
}
END_TEST

/* Builds "0001_aaa...a.sql" of exactly len bytes into buf. */
static void
long_name(char *buf, size_t len)
{
	memset(buf, 'a', len);
	memcpy(buf, "0001_", 5);
	memcpy(buf + len - 4, ".sql", 4);
	buf[len] = '\0';
}

START_TEST(parse_name_length_edges)
{
	char file[ST_MIGRATE_FILE_MAX + 8];
	int version = 0;

	long_name(file, ST_MIGRATE_FILE_MAX - 1); /* the longest that fits the record */
	ck_assert_int_eq(st_migrate_parse_name(file, &version, NULL, 0), ST_OK);
	long_name(file, ST_MIGRATE_FILE_MAX);
	ck_assert_int_eq(st_migrate_parse_name(file, &version, NULL, 0), ST_ERR_INVALID);
	/* err may be NULL, and a tiny err buffer is cut, not overrun */
	ck_assert_int_eq(st_migrate_parse_name("x", &version, NULL, 0), ST_ERR_INVALID);
	ck_assert_int_eq(st_migrate_parse_name("x", &version, file, 4), ST_ERR_INVALID);
	ck_assert_uint_eq(strlen(file), 3);
}
END_TEST

START_TEST(valid_service_names)
{
	char longname[ST_MIGRATE_SERVICE_MAX + 1];

	ck_assert(st_migrate_valid_service("auth"));
	ck_assert(st_migrate_valid_service("statistics"));
	ck_assert(st_migrate_valid_service("svc_2"));
	ck_assert(!st_migrate_valid_service(""));
	ck_assert(!st_migrate_valid_service("Auth"));
	ck_assert(!st_migrate_valid_service("a-b"));
	ck_assert(!st_migrate_valid_service("a b"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert(!st_migrate_valid_service(longname));
	longname[ST_MIGRATE_SERVICE_MAX - 1] = '\0'; /* 63 characters */
	ck_assert(st_migrate_valid_service(longname));
}
END_TEST

static void
add(struct st_migration_set *set, const char *service, const char *file)
{
	int version = 0;

	ck_assert_int_eq(st_migrate_parse_name(file, &version, NULL, 0), ST_OK);
	ck_assert_int_eq(st_migration_set_add(set, service, file, version, file, strlen(file)),
			 ST_OK);
}

START_TEST(sort_shuffled)
{
	static const char *const want[][2] = {
		{ "alerting", "0001_create_schema.sql" },
		{ "auth", "0001_create_schema.sql" },
		{ "auth", "0002_users.sql" },
		{ "auth", "0010_tokens.sql" },
		{ "auth", "0100_keys.sql" },
		{ "statistics", "0001_create_schema.sql" },
		{ "statistics", "10000_big.sql" },
	};
	static const int shuffle[] = { 5, 3, 0, 6, 2, 4, 1 };
	struct st_migration_set set;

	st_migration_set_init(&set);
	for (size_t i = 0; i < ST_ARRAY_LEN(shuffle); i++)
		add(&set, want[shuffle[i]][0], want[shuffle[i]][1]);
	st_migrate_sort(&set);
	ck_assert_uint_eq(set.n, ST_ARRAY_LEN(want));
	for (size_t i = 0; i < set.n; i++) {
		ck_assert_str_eq(set.items[i].service, want[i][0]);
		ck_assert_str_eq(set.items[i].file, want[i][1]);
	}
	/* numbers, not text: 0010 after 0002, 10000 after 0001 */
	ck_assert_int_eq(set.items[3].version, 10);
	ck_assert_int_eq(set.items[6].version, 10000);
	ck_assert_int_eq(st_migrate_check_duplicates(&set, NULL, 0), ST_OK);
	st_migration_set_cleanup(&set);
	ck_assert_uint_eq(set.n, 0);
}
END_TEST

START_TEST(duplicates_refused)
{
	struct st_migration_set set;
	char err[256];

	st_migration_set_init(&set);
	add(&set, "auth", "0002_roles.sql");
	add(&set, "auth", "0001_create_schema.sql");
	add(&set, "ingest", "0002_roles.sql"); /* same number, another service: fine */
	add(&set, "auth", "00002_users.sql");  /* the same number written longer */
	st_migrate_sort(&set);
	ck_assert_int_eq(st_migrate_check_duplicates(&set, err, sizeof(err)), ST_ERR_CONFLICT);
	ck_assert_msg(strstr(err, "00002_users.sql") != NULL && strstr(err, "0002_roles.sql"), "%s",
		      err);
	ck_assert_msg(strncmp(err, "auth:", 5) == 0, "%s", err);
	st_migration_set_cleanup(&set);
}
END_TEST

START_TEST(checksum_known_and_stable)
{
	char a[ST_MIGRATE_CHECKSUM_LEN + 1], b[ST_MIGRATE_CHECKSUM_LEN + 1];

	ck_assert_int_eq(st_migrate_checksum("", 0, a), ST_OK);
	ck_assert_str_eq(a, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ck_assert_int_eq(st_migrate_checksum("abc", 3, a), ST_OK);
	ck_assert_str_eq(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(st_migrate_checksum("CREATE SCHEMA x;\n", 17, a), ST_OK);
	ck_assert_int_eq(st_migrate_checksum("CREATE SCHEMA x;\n", 17, b), ST_OK);
	ck_assert_str_eq(a, b);
	/* one byte more (a trailing space) is another checksum */
	ck_assert_int_eq(st_migrate_checksum("CREATE SCHEMA x; \n", 18, b), ST_OK);
	ck_assert_str_ne(a, b);
	ck_assert_uint_eq(strlen(a), ST_MIGRATE_CHECKSUM_LEN);
}
END_TEST

/* ---- loading a folder ---- */

static char tmpdir[64];

static void
write_file(const char *rel, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

static void
make_dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	ck_assert_int_eq(mkdir(path, 0700), 0);
}

static void
tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/strata-unit-migrate-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	make_dir("auth");
	make_dir("statistics");
	write_file("README.md", "ignored: not a folder\n");
	write_file("auth/0002_users.sql", "CREATE TABLE auth.users (id uuid);\n");
	write_file("auth/0001_create_schema.sql", "CREATE SCHEMA IF NOT EXISTS auth;\n");
	write_file("auth/.0003_draft.sql.swp", "ignored: hidden\n");
	write_file("statistics/0001_create_schema.sql", "CREATE SCHEMA IF NOT EXISTS stats;\n");
}

static void
tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(load_folder)
{
	struct st_migration_set set;
	char err[512] = "";
	char want[ST_MIGRATE_CHECKSUM_LEN + 1];

	st_migration_set_init(&set);
	ck_assert_msg(st_migrate_load(tmpdir, &set, err, sizeof(err)) == ST_OK, "%s", err);
	ck_assert_uint_eq(set.n, 3);
	ck_assert_str_eq(set.items[0].service, "auth");
	ck_assert_str_eq(set.items[0].file, "0001_create_schema.sql");
	ck_assert_str_eq(set.items[1].file, "0002_users.sql");
	ck_assert_int_eq(set.items[1].version, 2);
	ck_assert_str_eq(set.items[2].service, "statistics");
	ck_assert_str_eq(set.items[2].sql, "CREATE SCHEMA IF NOT EXISTS stats;\n");
	st_migrate_checksum(set.items[2].sql, strlen(set.items[2].sql), want);
	ck_assert_str_eq(set.items[2].checksum, want);
	st_migration_set_cleanup(&set);
}
END_TEST

START_TEST(load_refuses_bad_name)
{
	struct st_migration_set set;
	char err[512] = "";

	write_file("auth/0003-oops.sql", "SELECT 1;\n");
	st_migration_set_init(&set);
	ck_assert_int_eq(st_migrate_load(tmpdir, &set, err, sizeof(err)), ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "auth/0003-oops.sql") != NULL, "%s", err);
	st_migration_set_cleanup(&set);
}
END_TEST

START_TEST(load_refuses_duplicate)
{
	struct st_migration_set set;
	char err[512] = "";

	write_file("auth/0002_roles.sql", "SELECT 1;\n");
	st_migration_set_init(&set);
	ck_assert_int_eq(st_migrate_load(tmpdir, &set, err, sizeof(err)), ST_ERR_CONFLICT);
	ck_assert_msg(strstr(err, "0002_roles.sql") && strstr(err, "0002_users.sql"), "%s", err);
	st_migration_set_cleanup(&set);
}
END_TEST

START_TEST(load_refuses_subfolder_and_bad_service)
{
	struct st_migration_set set;
	char err[512] = "", path[256];

	make_dir("auth/nested");
	st_migration_set_init(&set);
	ck_assert_int_eq(st_migrate_load(tmpdir, &set, err, sizeof(err)), ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "auth/nested") != NULL, "%s", err);
	st_migration_set_cleanup(&set);
	snprintf(path, sizeof(path), "%s/auth/nested", tmpdir);
	ck_assert_int_eq(rmdir(path), 0);

	make_dir("Bad-Service");
	st_migration_set_init(&set);
	ck_assert_int_eq(st_migrate_load(tmpdir, &set, err, sizeof(err)), ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "Bad-Service") != NULL, "%s", err);
	st_migration_set_cleanup(&set);
}
END_TEST

START_TEST(load_missing_folder)
{
	struct st_migration_set set;
	char err[512] = "";

	st_migration_set_init(&set);
	ck_assert_int_eq(st_migrate_load("/nonexistent/strata-migrations", &set, err, sizeof(err)),
			 ST_ERR_IO);
	ck_assert_msg(strstr(err, "/nonexistent/strata-migrations") != NULL, "%s", err);
	st_migration_set_cleanup(&set);
}
END_TEST

Suite *
migrate_suite(void)
{
	Suite *s = suite_create("migrate");
	TCase *pure = tcase_create("pure");
	TCase *folder = tcase_create("folder");

	tcase_add_loop_test(pure, parse_name_table, 0, (int)ST_ARRAY_LEN(names));
	tcase_add_test(pure, parse_name_length_edges);
	tcase_add_test(pure, valid_service_names);
	tcase_add_test(pure, sort_shuffled);
	tcase_add_test(pure, duplicates_refused);
	tcase_add_test(pure, checksum_known_and_stable);
	suite_add_tcase(s, pure);

	tcase_add_checked_fixture(folder, tmp_setup, tmp_teardown);
	tcase_add_test(folder, load_folder);
	tcase_add_test(folder, load_refuses_bad_name);
	tcase_add_test(folder, load_refuses_duplicate);
	tcase_add_test(folder, load_refuses_subfolder_and_bad_service);
	tcase_add_test(folder, load_missing_folder);
	suite_add_tcase(s, folder);
	return s;
}
