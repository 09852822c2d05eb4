/*
 * bin/strata-migrate against a scratch database (strata_it_migrate_<pid>, created through
 * DATABASE_URL, which needs CREATEDB, and dropped at the end): two runs at once apply each
 * migration exactly once (the advisory lock makes the second wait, then find nothing to do),
 * a rerun applies nothing, a changed file is refused, a failing file is rolled back and stops
 * the run, an out-of-order file is refused, and --dry-run changes nothing. The binary comes from
 * $STRATA_BIN (default bin), the migrations from $STRATA_REPO/migrations (default .).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "strata/migrate.h"

Suite *migrate_suite(void);

static char scratch_name[64];
static char *scratch_conninfo; /* DATABASE_URL with the scratch database */
static char setup_error[512];
static char repo_dir[1024];
static char bin_path[1024];

/* Appends key='value' to a conninfo string, quoted as libpq wants. */
static char *
conninfo_add(char *ci, const char *key, const char *val)
{
	size_t len = strlen(ci), vlen = strlen(val);
	char *out = st_realloc(ci, len + strlen(key) + 2 * vlen + 6);
	char *p = out + len;

	p += snprintf(p, strlen(key) + 4, "%s='", key);
	for (const char *v = val; *v != '\0'; v++) {
		if (*v == '\'' || *v == '\\')
			*p++ = '\\';
		*p++ = *v;
	}
	*p++ = '\'';
	*p++ = ' ';
	*p = '\0';
	return out;
}

/* Runs one statement on the maintenance connection; false (with setup_error) on failure. */
static bool
admin_exec(const char *sql)
{
	PGconn *pg = PQconnectdb(it_env("DATABASE_URL", ""));
	PGresult *res = NULL;
	bool ok = false;

	if (PQstatus(pg) != CONNECTION_OK) {
		snprintf(setup_error, sizeof(setup_error), "cannot connect: %s",
			 PQerrorMessage(pg));
		goto out;
	}
	res = PQexec(pg, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		snprintf(setup_error, sizeof(setup_error), "%s: %s", sql,
			 PQresultErrorMessage(res));
out:
	PQclear(res);
	PQfinish(pg);
	return ok;
}

/* Unchecked fixture (runs once, in the runner's process): the scratch database. */
static void
scratch_setup(void)
{
	PQconninfoOption *opts = NULL;
	char *sql;

	snprintf(repo_dir, sizeof(repo_dir), "%s/migrations", it_env("STRATA_REPO", "."));
	snprintf(bin_path, sizeof(bin_path), "%s/strata-migrate", it_env("STRATA_BIN", "bin"));
	snprintf(scratch_name, sizeof(scratch_name), "strata_it_migrate_%d", (int)getpid());
	if (it_env("DATABASE_URL", NULL) == NULL) {
		snprintf(setup_error, sizeof(setup_error), "DATABASE_URL is not set");
		return;
	}
	/* An identifier cannot be a parameter; this one is built from a number only. */
	sql = st_asprintf("CREATE DATABASE %s", scratch_name);
	if (!admin_exec(sql)) {
		size_t len = strlen(setup_error);

		st_free(sql);
		snprintf(setup_error + len, sizeof(setup_error) - len,
			 " (the role needs CREATEDB for this test)");
		return;
	}
	st_free(sql);
	opts = PQconninfoParse(it_env("DATABASE_URL", ""), NULL);
	scratch_conninfo = st_strdup("");
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "dbname") == 0)
			scratch_conninfo = conninfo_add(scratch_conninfo, "dbname", scratch_name);
		else if (o->val != NULL && o->val[0] != '\0')
			scratch_conninfo = conninfo_add(scratch_conninfo, o->keyword, o->val);
	}
	PQconninfoFree(opts);
}

static void
scratch_teardown(void)
{
	char *sql;

	if (scratch_conninfo == NULL)
		return;
	sql = st_asprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", scratch_name);
	if (!admin_exec(sql))
		fprintf(stderr, "migrate teardown: %s\n", setup_error);
	st_free(sql);
	st_free(scratch_conninfo);
	scratch_conninfo = NULL;
}

static PGconn *
scratch_connect(void)
{
	PGconn *pg;

	ck_assert_msg(setup_error[0] == '\0', "%s", setup_error);
	pg = PQconnectdb(scratch_conninfo);
	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
	return pg;
}

/* One value from a query on the scratch database (the test's own fixed SQL). */
static char *
scratch_value(const char *sql)
{
	PGconn *pg = scratch_connect();
	PGresult *res = PQexec(pg, sql);
	char *v;

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQresultErrorMessage(res));
	v = st_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(pg);
	return v;
}

static void
assert_value(const char *sql, const char *want)
{
	char *v = scratch_value(sql);

	ck_assert_msg(strcmp(v, want) == 0, "%s gave %s, want %s", sql, v, want);
	st_free(v);
}

/* Starts strata-migrate on the scratch database; stdout and stderr go to out_path. */
static pid_t
spawn_migrate(const char *dir, const char *flag, const char *out_path)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(120);
		setenv("DATABASE_URL", scratch_conninfo, 1);
		if (flag != NULL)
			execl(bin_path, "strata-migrate", "--dir", dir, flag, (char *)NULL);
		else
			execl(bin_path, "strata-migrate", "--dir", dir, (char *)NULL);
		_exit(121);
	}
	return pid;
}

static int
wait_exit(pid_t pid)
{
	int status = 0;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "strata-migrate died by a signal");
	ck_assert_msg(WEXITSTATUS(status) != 121, "cannot run %s", bin_path);
	return WEXITSTATUS(status);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = st_calloc(1, 65536);
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Runs strata-migrate to the end; returns its exit status and its output (caller frees). */
static int
run_migrate(const char *dir, const char *flag, char **output)
{
	char path[64];
	int rc;

	snprintf(path, sizeof(path), "/tmp/strata-it-migrate-%d.out", (int)getpid());
	rc = wait_exit(spawn_migrate(dir, flag, path));
	*output = slurp(path);
	unlink(path);
	return rc;
}

static int
count_lines_starting(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *nl = strchr(line, '\n');

		if (strncmp(line, prefix, strlen(prefix)) == 0)
			n++;
		line = nl != NULL ? nl + 1 : NULL;
	}
	return n;
}

static size_t
repo_migration_count(void)
{
	struct st_migration_set set;
	char err[512];
	size_t n;

	st_migration_set_init(&set);
	ck_assert_msg(st_migrate_load(repo_dir, &set, err, sizeof(err)) == ST_OK, "%s", err);
	n = set.n;
	st_migration_set_cleanup(&set);
	ck_assert_uint_ge(n, 6);
	return n;
}

/* A private copy of the repository's migrations in a new temporary folder. */
static void
copy_migrations(char *dir, size_t cap)
{
	snprintf(dir, cap, "/tmp/strata-it-migrations-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(it_sh("cp -R '%s'/. '%s'/", repo_dir, dir), 0);
}

static void
write_text(const char *dir, const char *rel, const char *mode, const char *text)
{
	char path[1200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, mode);
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static void
ensure_migrated(void)
{
	char *out = NULL;
	int rc = run_migrate(repo_dir, NULL, &out);

	ck_assert_msg(rc == 0, "migrate failed (%d): %s", rc, out);
	st_free(out);
}

START_TEST(concurrent_runs_apply_once)
{
	static const char *const lock[] = { ST_MIGRATE_LOCK_KEY };
	PGconn *holder = scratch_connect();
	PGresult *res;
	size_t nfiles = repo_migration_count();
	char out1[64], out2[64], *o1, *o2, *o3 = NULL, want[32];
	pid_t p1, p2;
	int waiting = 0, s1, s2;

	/* Hold the migration lock so that both runs must queue behind it. */
	res = PQexecParams(holder, "SELECT pg_advisory_lock($1::bigint)", 1, NULL, lock, NULL, NULL,
			   0);
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);

	snprintf(out1, sizeof(out1), "/tmp/strata-it-migrate-%d.1", (int)getpid());
	snprintf(out2, sizeof(out2), "/tmp/strata-it-migrate-%d.2", (int)getpid());
	p1 = spawn_migrate(repo_dir, NULL, out1);
	p2 = spawn_migrate(repo_dir, NULL, out2);
	for (int i = 0; i < 100 && waiting < 2; i++) {
		char *v;

		usleep(50 * 1000);
		v = scratch_value("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
				  "AND NOT granted");
		waiting = (int)strtol(v, NULL, 10);
		st_free(v);
	}
	ck_assert_msg(waiting == 2, "both runs should be waiting for the lock (%d are)", waiting);
	assert_value("SELECT to_regclass('public.strata_migrations') IS NULL", "t");

	res = PQexecParams(holder, "SELECT pg_advisory_unlock($1::bigint)", 1, NULL, lock, NULL,
			   NULL, 0);
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);
	s1 = wait_exit(p1);
	s2 = wait_exit(p2);
	o1 = slurp(out1);
	o2 = slurp(out2);
	unlink(out1);
	unlink(out2);
	ck_assert_msg(s1 == 0 && s2 == 0, "exit %d, %d:\n%s\n%s", s1, s2, o1, o2);
	/* One run applied everything, the other found nothing left. */
	ck_assert_msg((size_t)(count_lines_starting(o1, "applied ") +
			       count_lines_starting(o2, "applied ")) == nfiles,
		      "%s\n%s", o1, o2);
	ck_assert_msg(count_lines_starting(o1, "applied ") == 0 ||
			      count_lines_starting(o2, "applied ") == 0,
		      "%s\n%s", o1, o2);
	snprintf(want, sizeof(want), "%zu", nfiles);
	assert_value("SELECT count(*) FROM public.strata_migrations", want);
	assert_value("SELECT count(DISTINCT (service, version)) FROM public.strata_migrations",
		     want);
	assert_value("SELECT count(*) FROM public.strata_migrations WHERE service = 'statistics' "
		     "AND version = 1 AND name = '0001_create_schema.sql' "
		     "AND length(checksum) = 64",
		     "1");
	assert_value("SELECT count(*) FROM pg_namespace WHERE nspname IN "
		     "('auth', 'ingest', 'stats', 'alerting', 'scheduler', 'storage')",
		     "6");

	/* A third run: nothing to do, and --status agrees. */
	ck_assert_int_eq(run_migrate(repo_dir, NULL, &o3), 0);
	ck_assert_int_eq(count_lines_starting(o3, "applied "), 0);
	st_free(o3);
	ck_assert_int_eq(run_migrate(repo_dir, "--status", &o3), 0);
	ck_assert_int_eq((size_t)count_lines_starting(o3, "applied "), nfiles);
	st_free(o3);
	assert_value("SELECT count(*) FROM public.strata_migrations", want);
	st_free(o1);
	st_free(o2);
	PQfinish(holder);
}
END_TEST

START_TEST(changed_checksum_refused)
{
	char dir[64], *out = NULL, *before, *after;

	ensure_migrated();
	before = scratch_value("SELECT checksum FROM public.strata_migrations "
			       "WHERE service = 'auth' AND version = 1");
	copy_migrations(dir, sizeof(dir));
	write_text(dir, "auth/0001_create_schema.sql", "a", "-- edited after it was applied\n");

	ck_assert_int_eq(run_migrate(dir, NULL, &out), 1);
	ck_assert_msg(strstr(out, "auth/0001_create_schema.sql changed") != NULL, "%s", out);
	st_free(out);
	ck_assert_int_eq(run_migrate(dir, "--status", &out), 1);
	ck_assert_msg(strstr(out, "changed auth/0001_create_schema.sql") != NULL, "%s", out);
	st_free(out);
	ck_assert_int_eq(run_migrate(dir, "--dry-run", &out), 1);
	st_free(out);

	after = scratch_value("SELECT checksum FROM public.strata_migrations "
			      "WHERE service = 'auth' AND version = 1");
	ck_assert_str_eq(before, after);
	st_free(before);
	st_free(after);
	ck_assert_int_eq(it_sh("rm -rf '%s'", dir), 0);
}
END_TEST

/* Fixture migrations are numbered from 9001, far above the real ones, so that the services'
 * own migrations never collide with them. */
START_TEST(failing_file_rolls_back_and_stops)
{
	char dir[64], *out = NULL;

	ensure_migrated();
	copy_migrations(dir, sizeof(dir));
	write_text(dir, "auth/9001_it_broken.sql", "w",
		   "CREATE TABLE auth.it_ok (n int);\n"
		   "CREATE TABLE auth.it_broken (n no_such_type);\n");
	write_text(dir, "storage/9001_it_later.sql", "w",
		   "CREATE TABLE storage.it_later (n int);\n");

	ck_assert_int_eq(run_migrate(dir, NULL, &out), 1);
	ck_assert_msg(strstr(out, "auth/9001_it_broken.sql failed") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "no_such_type") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "(line 2)") != NULL, "%s", out);
	ck_assert_int_eq(count_lines_starting(out, "applied "), 0);
	st_free(out);
	/* the whole file rolled back, nothing recorded, and the run stopped there */
	assert_value("SELECT to_regclass('auth.it_ok') IS NULL", "t");
	assert_value("SELECT count(*) FROM public.strata_migrations WHERE version = 9001", "0");
	assert_value("SELECT to_regclass('storage.it_later') IS NULL", "t");

	/* fixed, the same files apply */
	write_text(dir, "auth/9001_it_broken.sql", "w", "CREATE TABLE auth.it_ok (n int);\n");
	ck_assert_int_eq(run_migrate(dir, NULL, &out), 0);
	ck_assert_int_eq(count_lines_starting(out, "applied "), 2);
	ck_assert_msg(strstr(out, "applied auth/9001_it_broken.sql") != NULL, "%s", out);
	st_free(out);
	assert_value("SELECT to_regclass('auth.it_ok') IS NOT NULL", "t");
	assert_value("SELECT to_regclass('storage.it_later') IS NOT NULL", "t");
	ck_assert_int_eq(it_sh("rm -rf '%s'", dir), 0);
}
END_TEST

START_TEST(dry_run_and_out_of_order)
{
	char dir[64], *out = NULL;

	ensure_migrated();
	copy_migrations(dir, sizeof(dir));
	write_text(dir, "scheduler/9003_it_third.sql", "w",
		   "CREATE TABLE scheduler.it_third (n int);\n");

	ck_assert_int_eq(run_migrate(dir, "--status", &out), 3); /* something pending */
	ck_assert_msg(strstr(out, "pending scheduler/9003_it_third.sql") != NULL, "%s", out);
	st_free(out);
	ck_assert_int_eq(run_migrate(dir, "--dry-run", &out), 0);
	ck_assert_msg(strstr(out, "would apply scheduler/9003_it_third.sql") != NULL, "%s", out);
	ck_assert_int_eq(count_lines_starting(out, "would apply "), 1);
	st_free(out);
	assert_value("SELECT to_regclass('scheduler.it_third') IS NULL", "t");

	ck_assert_int_eq(run_migrate(dir, NULL, &out), 0);
	st_free(out);
	/* a file numbered below one applied is refused, not slipped in */
	write_text(dir, "scheduler/9002_it_second.sql", "w", "SELECT 1;\n");
	ck_assert_int_eq(run_migrate(dir, NULL, &out), 1);
	ck_assert_msg(strstr(out, "scheduler/9002_it_second.sql is pending") != NULL, "%s", out);
	st_free(out);
	assert_value("SELECT count(*) FROM public.strata_migrations WHERE service = 'scheduler' "
		     "AND version = 9002",
		     "0");
	ck_assert_int_eq(it_sh("rm -rf '%s'", dir), 0);
}
END_TEST

START_TEST(missing_database_url)
{
	char path[64], *out;
	pid_t pid;
	int status = 0;

	snprintf(path, sizeof(path), "/tmp/strata-it-migrate-%d.env", (int)getpid());
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(120);
		unsetenv("DATABASE_URL");
		execl(bin_path, "strata-migrate", "--dir", repo_dir, (char *)NULL);
		_exit(121);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 2);
	out = slurp(path);
	unlink(path);
	/* one clear line, nothing else */
	ck_assert_msg(strncmp(out, "strata-migrate: DATABASE_URL is not set", 39) == 0, "%s", out);
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
	st_free(out);
}
END_TEST

Suite *
migrate_suite(void)
{
	Suite *s = suite_create("migrate");
	TCase *tc = tcase_create("strata-migrate");

	tcase_add_unchecked_fixture(tc, scratch_setup, scratch_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, concurrent_runs_apply_once);
	tcase_add_test(tc, changed_checksum_refused);
	tcase_add_test(tc, failing_file_rolls_back_and_stops);
	tcase_add_test(tc, dry_run_and_out_of_order);
	tcase_add_test(tc, missing_database_url);
	suite_add_tcase(s, tc);
	return s;
}
