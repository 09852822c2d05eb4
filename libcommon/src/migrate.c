/*
 * Forward-only migrations (see migrate.h). The first half is pure: file names, order,
 * duplicates, checksums, and reading a migrations folder. The second half talks to PostgreSQL
 * on one libpq session of its own (not the pool: the advisory lock belongs to a session, and the
 * run needs that one session from the lock to the last file).
 */
#define _GNU_SOURCE
#include "strata/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "strata/log.h"

#define MIGRATION_MAX_BYTES (16 * 1024 * 1024)

/* ---- the set ---- */

void
st_migration_set_init(struct st_migration_set *set)
{
	memset(set, 0, sizeof(*set));
}

void
st_migration_set_cleanup(struct st_migration_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		st_free(set->items[i].sql);
	st_free(set->items);
	memset(set, 0, sizeof(*set));
}

enum st_err
st_migration_set_add(struct st_migration_set *set, const char *service, const char *file,
		     int version, const char *sql, size_t len)
{
	struct st_migration m;
	enum st_err rc = ST_ERR_INVALID;

	memset(&m, 0, sizeof(m));
	if (!st_strlcpy(m.service, service, sizeof(m.service)) ||
	    !st_strlcpy(m.file, file, sizeof(m.file)))
		goto out;
	m.version = version;
	rc = st_migrate_checksum(sql, len, m.checksum);
	if (rc != ST_OK)
		goto out;
	m.sql = st_malloc(len + 1);
	memcpy(m.sql, sql, len);
	m.sql[len] = '\0';
	m.sql_len = len;
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 16;
		set->items = st_realloc(set->items, set->cap * sizeof(*set->items));
	}
	set->items[set->n++] = m;
out:
	return rc;
}

/* ---- names, checksums, order ---- */

enum st_err
st_migrate_parse_name(const char *file, int *version, char *err, size_t errcap)
{
	const char *p = file, *name;
	size_t digits = 0, name_len;
	long long v = 0;
	enum st_err rc = ST_ERR_INVALID;

	if (file == NULL || *file == '\0') {
		st_errf(err, errcap, "empty file name");
		goto out;
	}
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		if (v <= INT_MAX)
			v = v * 10 + (*p - '0');
	if (digits < 4) {
		st_errf(err, errcap,
			"must start with a number of at least 4 digits (0001_what.sql)");
		goto out;
	}
	if (v > INT_MAX || v < 1) {
		st_errf(err, errcap, "the number must be between 1 and %d", INT_MAX);
		goto out;
	}
	if (*p != '_') {
		st_errf(err, errcap, "the number must be followed by '_' (0001_what.sql)");
		goto out;
	}
	name = ++p;
	while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	name_len = (size_t)(p - name);
	if (name_len == 0) {
		st_errf(err, errcap, "needs a name of [a-z0-9_] after the number");
		goto out;
	}
	if (strcmp(p, ".sql") != 0) {
		st_errf(err, errcap,
			"the name may hold only [a-z0-9_] and must end in .sql (0001_what.sql)");
		goto out;
	}
	if (strlen(file) >= ST_MIGRATE_FILE_MAX) {
		st_errf(err, errcap, "name longer than %d bytes", ST_MIGRATE_FILE_MAX - 1);
		goto out;
	}
	*version = (int)v;
	rc = ST_OK;
out:
	return rc;
}

bool
st_migrate_valid_service(const char *name)
{
	size_t len = 0;

	for (const char *p = name; *p != '\0'; p++, len++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return len >= 1 && len < ST_MIGRATE_SERVICE_MAX;
}

enum st_err
st_migrate_checksum(const void *data, size_t len, char hex[ST_MIGRATE_CHECKSUM_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	hex[0] = '\0';
	if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
		return ST_ERR_INTERNAL;
	for (unsigned int i = 0; i < md_len; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * md_len] = '\0';
	return ST_OK;
}

static int
compare_migrations(const void *a, const void *b)
{
	const struct st_migration *x = a, *y = b;
	int c = strcmp(x->service, y->service);

	if (c != 0)
		return c;
	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return strcmp(x->file, y->file); /* a stable order even for duplicates */
}

void
st_migrate_sort(struct st_migration_set *set)
{
	if (set->n > 1)
		qsort(set->items, set->n, sizeof(*set->items), compare_migrations);
}

enum st_err
st_migrate_check_duplicates(const struct st_migration_set *set, char *err, size_t errcap)
{
	for (size_t i = 1; i < set->n; i++) {
		const struct st_migration *a = &set->items[i - 1], *b = &set->items[i];

		if (strcmp(a->service, b->service) == 0 && a->version == b->version) {
			st_errf(err, errcap, "%s: %s and %s share number %d", a->service, a->file,
				b->file, a->version);
			return ST_ERR_CONFLICT;
		}
	}
	return ST_OK;
}

/* ---- reading a migrations folder ---- */

/* Reads a whole file into a new buffer (NUL-terminated) the caller frees. */
static enum st_err
read_file(const char *path, char **out, size_t *len, char *err, size_t errcap)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	enum st_err rc = ST_ERR_IO;

	*out = NULL;
	if (f == NULL) {
		st_errf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		size_t got;

		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = st_realloc(buf, cap + 1);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n > MIGRATION_MAX_BYTES) {
			st_errf(err, errcap, "%s: larger than %d bytes", path, MIGRATION_MAX_BYTES);
			rc = ST_ERR_TOO_LARGE;
			goto out;
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		st_errf(err, errcap, "%s: read failed", path);
		goto out;
	}
	buf = st_realloc(buf, n + 1);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rc = ST_OK;
out:
	if (f != NULL)
		fclose(f);
	st_free(buf);
	return rc;
}

/* Adds every file of one service folder. */
static enum st_err
load_service(const char *dir, const char *service, struct st_migration_set *set, char *err,
	     size_t errcap)
{
	char *sdir = st_asprintf("%s/%s", dir, service);
	DIR *d = opendir(sdir);
	struct dirent *e;
	char *path = NULL, *sql = NULL;
	enum st_err rc = ST_OK;

	if (d == NULL) {
		st_errf(err, errcap, "%s: cannot open: %s", sdir, strerror(errno));
		rc = ST_ERR_IO;
		goto out;
	}
	for (e = readdir(d); e != NULL; e = readdir(d)) {
		char why[160];
		struct stat st;
		size_t len = 0;
		int version = 0;

		if (e->d_name[0] == '.')
			continue;
		st_free(path);
		path = st_asprintf("%s/%s", sdir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			st_errf(err, errcap,
				"%s: not a regular file (a service folder holds only "
				"NNNN_what.sql files)",
				path);
			rc = ST_ERR_INVALID;
			goto out;
		}
		if (st_migrate_parse_name(e->d_name, &version, why, sizeof(why)) != ST_OK) {
			st_errf(err, errcap, "%s: bad migration file name: %s", path, why);
			rc = ST_ERR_INVALID;
			goto out;
		}
		rc = read_file(path, &sql, &len, err, errcap);
		if (rc != ST_OK)
			goto out;
		rc = st_migration_set_add(set, service, e->d_name, version, sql, len);
		st_free(sql);
		sql = NULL;
		if (rc != ST_OK) {
			st_errf(err, errcap, "%s: cannot checksum", path);
			goto out;
		}
	}
out:
	if (d != NULL)
		closedir(d);
	st_free(path);
	st_free(sdir);
	return rc;
}

enum st_err
st_migrate_load(const char *dir, struct st_migration_set *set, char *err, size_t errcap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *path = NULL;
	enum st_err rc = ST_OK;

	if (d == NULL) {
		st_errf(err, errcap, "%s: cannot open the migrations folder: %s", dir,
			strerror(errno));
		rc = ST_ERR_IO;
		goto out;
	}
	for (e = readdir(d); e != NULL; e = readdir(d)) {
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		st_free(path);
		path = st_asprintf("%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			continue; /* a README beside the service folders */
		if (!st_migrate_valid_service(e->d_name)) {
			st_errf(err, errcap, "%s: a service folder name must be [a-z0-9_]", path);
			rc = ST_ERR_INVALID;
			goto out;
		}
		rc = load_service(dir, e->d_name, set, err, errcap);
		if (rc != ST_OK)
			goto out;
	}
	st_migrate_sort(set);
	rc = st_migrate_check_duplicates(set, err, errcap);
out:
	if (d != NULL)
		closedir(d);
	st_free(path);
	return rc;
}

/* ---- applying ---- */

/* What the database says about one (service, version). */
struct record {
	char *service;
	int version;
	char *file;
	char *checksum;
	char *applied_at;
	bool matched; /* a file of the set corresponds */
};

struct records {
	struct record *items;
	size_t n;
};

static void
records_cleanup(struct records *r)
{
	for (size_t i = 0; i < r->n; i++) {
		st_free(r->items[i].service);
		st_free(r->items[i].file);
		st_free(r->items[i].checksum);
		st_free(r->items[i].applied_at);
	}
	st_free(r->items);
	memset(r, 0, sizeof(*r));
}

static struct record *
records_find(struct records *r, const char *service, int version)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->items[i].version == version && strcmp(r->items[i].service, service) == 0)
			return &r->items[i];
	return NULL;
}

/* Copies a server or libpq message into one line: newlines become spaces, the end trimmed. */
static void
one_line(char *dst, size_t cap, const char *msg)
{
	size_t len;

	st_strlcpy(dst, msg != NULL ? msg : "", cap);
	for (char *p = dst; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	len = strlen(dst);
	while (len > 0 && dst[len - 1] == ' ')
		dst[--len] = '\0';
}

/* The 1-based line of a 1-based character position in sql (UTF-8), 0 when unknown. */
static int
line_of_position(const char *sql, const char *position)
{
	long pos = position != NULL ? strtol(position, NULL, 10) : 0;
	long chars = 0;
	int line = 1;

	if (pos <= 0)
		return 0;
	for (const char *p = sql; *p != '\0'; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80 && ++chars >= pos)
			break;
		if (*p == '\n')
			line++;
	}
	return line;
}

/* A diagnostic field of a result, "" when the server did not send it. */
static const char *
field(const PGresult *res, int code)
{
	const char *v = PQresultErrorField(res, code);

	return v != NULL ? v : "";
}

/* Describes a failed result in one line: "ERROR 42601: syntax error at ... (line 3)". */
static void
describe_failure(PGconn *pg, const PGresult *res, const char *sql, char *buf, size_t cap)
{
	char msg[512];
	int line = 0;

	if (res == NULL || PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) == NULL) {
		one_line(msg, sizeof(msg), PQerrorMessage(pg));
		snprintf(buf, cap, "%s", msg);
		return;
	}
	one_line(msg, sizeof(msg), field(res, PG_DIAG_MESSAGE_PRIMARY));
	if (sql != NULL)
		line = line_of_position(sql, PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION));
	if (line > 0)
		snprintf(buf, cap, "%s %s: %s (line %d)", field(res, PG_DIAG_SEVERITY_NONLOCALIZED),
			 field(res, PG_DIAG_SQLSTATE), msg, line);
	else
		snprintf(buf, cap, "%s %s: %s", field(res, PG_DIAG_SEVERITY_NONLOCALIZED),
			 field(res, PG_DIAG_SQLSTATE), msg);
}

static bool
result_ok(const PGresult *res)
{
	ExecStatusType s = PQresultStatus(res);

	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
}

/* Runs a fixed statement of this file (parameterized when it takes values). */
static enum st_err
exec_fixed(PGconn *pg, const char *sql, int nparams, const char *const *params, PGresult **out,
	   char *err, size_t errcap)
{
	PGresult *res = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);
	enum st_err rc = ST_OK;
	char why[600];

	if (out != NULL)
		*out = NULL;
	if (!result_ok(res)) {
		describe_failure(pg, res, NULL, why, sizeof(why));
		st_errf(err, errcap, "%s", why);
		rc = PQstatus(pg) != CONNECTION_OK ? ST_ERR_UNAVAILABLE : ST_ERR_INTERNAL;
		goto out;
	}
	if (out != NULL) {
		*out = res;
		res = NULL;
	}
out:
	PQclear(res);
	return rc;
}

static void
notice_to_log(void *arg, const char *message)
{
	char line[512];

	(void)arg;
	one_line(line, sizeof(line), message);
	st_log(ST_LOG_DEBUG, "migrate", "notice: %s", line);
}

static enum st_err
connect_db(const char *url, PGconn **out, char *err, size_t errcap)
{
	static const char *const keys[] = { "dbname", "application_name", "client_encoding", NULL };
	const char *vals[] = { url, "strata-migrate", "UTF8", NULL };
	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	char why[400];
	enum st_err rc = ST_OK;

	*out = NULL;
	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		/* libpq's message names host, port, user and database; never the password. */
		one_line(why, sizeof(why), pg != NULL ? PQerrorMessage(pg) : "out of memory");
		st_errf(err, errcap, "cannot connect to the database: %s", why);
		PQfinish(pg);
		rc = ST_ERR_UNAVAILABLE;
		goto out;
	}
	PQsetNoticeProcessor(pg, notice_to_log, NULL);
	*out = pg;
out:
	return rc;
}

static enum st_err
load_records(PGconn *pg, bool table_known, struct records *recs, char *err, size_t errcap)
{
	PGresult *res = NULL;
	enum st_err rc;

	if (!table_known) {
		rc = exec_fixed(pg, "SELECT to_regclass('public.strata_migrations') IS NOT NULL", 0,
				NULL, &res, err, errcap);
		if (rc != ST_OK)
			goto out;
		if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
			goto out; /* never migrated: no records */
		PQclear(res);
		res = NULL;
	}
	rc = exec_fixed(pg,
			"SELECT service, version, name, checksum, "
			"to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
			"FROM public.strata_migrations ORDER BY service, version",
			0, NULL, &res, err, errcap);
	if (rc != ST_OK)
		goto out;
	recs->n = (size_t)PQntuples(res);
	recs->items = st_calloc(recs->n, sizeof(*recs->items));
	for (size_t i = 0; i < recs->n; i++) {
		struct record *r = &recs->items[i];

		r->service = st_strdup(PQgetvalue(res, (int)i, 0));
		r->version = (int)strtol(PQgetvalue(res, (int)i, 1), NULL, 10);
		r->file = st_strdup(PQgetvalue(res, (int)i, 2));
		r->checksum = st_strdup(PQgetvalue(res, (int)i, 3));
		r->applied_at = st_strdup(PQgetvalue(res, (int)i, 4));
	}
out:
	PQclear(res);
	return rc;
}

/* Applies one file and its record in one transaction; rolls it back on any failure. */
static enum st_err
apply_one(PGconn *pg, const struct st_migration *m, char *err, size_t errcap)
{
	char version[16], why[600];
	const char *params[4] = { m->service, version, m->file, m->checksum };
	PGresult *res = NULL;
	enum st_err rc;

	snprintf(version, sizeof(version), "%d", m->version);
	rc = exec_fixed(pg, "BEGIN", 0, NULL, NULL, err, errcap);
	if (rc != ST_OK)
		goto out;
	/*
	 * The one place where SQL text runs unparameterized: a migration file is trusted SQL from
	 * the repository, never input, and the simple query protocol is what lets a file hold
	 * several statements.
	 */
	res = PQexec(pg, m->sql);
	if (!result_ok(res)) {
		describe_failure(pg, res, m->sql, why, sizeof(why));
		st_errf(err, errcap, "migration %s/%s failed: %s", m->service, m->file, why);
		rc = PQstatus(pg) != CONNECTION_OK ? ST_ERR_UNAVAILABLE : ST_ERR_INVALID;
		goto out;
	}
	if (PQtransactionStatus(pg) != PQTRANS_INTRANS) {
		st_errf(err, errcap,
			"migration %s/%s ended the transaction itself: a migration file must not "
			"contain BEGIN, COMMIT or ROLLBACK (check the database by hand)",
			m->service, m->file);
		rc = ST_ERR_INVALID;
		goto out;
	}
	rc = exec_fixed(pg,
			"INSERT INTO public.strata_migrations (service, version, name, checksum) "
			"VALUES ($1, $2::int, $3, $4)",
			4, params, NULL, why, sizeof(why));
	if (rc == ST_OK)
		rc = exec_fixed(pg, "COMMIT", 0, NULL, NULL, why, sizeof(why));
	if (rc != ST_OK)
		st_errf(err, errcap, "migration %s/%s could not be recorded: %s", m->service,
			m->file, why);
out:
	PQclear(res);
	if (rc != ST_OK && PQstatus(pg) == CONNECTION_OK && PQtransactionStatus(pg) != PQTRANS_IDLE)
		PQclear(PQexec(pg, "ROLLBACK"));
	if (rc == ST_OK) /* a file's SET must not leak into the next file */
		PQclear(PQexec(pg, "RESET ALL"));
	return rc;
}

/*
 * Compares the set with the records: marks records that have a file, refuses a changed file
 * and a pending file numbered below an applied one (unless only reporting), and counts what is
 * pending. In status mode it prints each state instead of failing.
 */
static enum st_err
reconcile(const struct st_migration_set *set, struct records *recs, enum st_migrate_mode mode,
	  FILE *out, size_t *pending, char *err, size_t errcap)
{
	enum st_err rc = ST_OK;

	*pending = 0;
	for (size_t i = 0; i < set->n; i++) {
		const struct st_migration *m = &set->items[i];
		struct record *r = records_find(recs, m->service, m->version);
		int highest = 0;

		if (r != NULL) {
			r->matched = true;
			if (strcmp(r->checksum, m->checksum) == 0) {
				if (mode == ST_MIGRATE_STATUS)
					fprintf(out, "applied %s/%s %s\n", m->service, m->file,
						r->applied_at);
				continue;
			}
			if (mode == ST_MIGRATE_STATUS)
				fprintf(out, "changed %s/%s\n", m->service, m->file);
			if (rc == ST_OK)
				st_errf(err, errcap,
					"%s/%s changed after it was applied (checksum %.12s..., "
					"recorded %.12s...): migrations are forward-only, add a "
					"new "
					"file instead",
					m->service, m->file, m->checksum, r->checksum);
			rc = ST_ERR_CONFLICT;
			continue;
		}
		for (size_t j = 0; j < recs->n; j++)
			if (strcmp(recs->items[j].service, m->service) == 0 &&
			    recs->items[j].version > highest)
				highest = recs->items[j].version;
		(*pending)++;
		if (mode == ST_MIGRATE_STATUS)
			fprintf(out, "pending %s/%s\n", m->service, m->file);
		if (highest > m->version) {
			if (rc == ST_OK)
				st_errf(err, errcap,
					"%s/%s is pending but %s version %d is already applied: "
					"renumber it above %d",
					m->service, m->file, m->service, highest, highest);
			rc = ST_ERR_CONFLICT;
		}
	}
	for (size_t j = 0; j < recs->n; j++) {
		if (recs->items[j].matched)
			continue;
		if (mode == ST_MIGRATE_STATUS)
			fprintf(out, "missing %s/%s (recorded, no file)\n", recs->items[j].service,
				recs->items[j].file);
		else
			fprintf(out, "warning: %s/%s is recorded as applied but has no file\n",
				recs->items[j].service, recs->items[j].file);
	}
	return rc;
}

enum st_err
st_migrate_run(const char *url, const struct st_migration_set *set, enum st_migrate_mode mode,
	       FILE *out, size_t *pending, char *err, size_t errcap)
{
	static const char *const lock_params[] = { ST_MIGRATE_LOCK_KEY };
	struct records recs = { NULL, 0 };
	PGconn *pg = NULL;
	size_t todo = 0, done = 0;
	enum st_err rc;

	if (pending != NULL)
		*pending = 0;
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	rc = connect_db(url, &pg, err, errcap);
	if (rc != ST_OK)
		goto out;
	if (mode == ST_MIGRATE_APPLY) {
		/* Held until this session ends: a concurrent run waits here, then finds its work
		 * done. */
		rc = exec_fixed(pg, "SELECT pg_advisory_lock($1::bigint)", 1, lock_params, NULL,
				err, errcap);
		if (rc == ST_OK)
			rc = exec_fixed(pg,
					"CREATE TABLE IF NOT EXISTS public.strata_migrations ("
					"service text NOT NULL, version int NOT NULL, "
					"name text NOT NULL, checksum text NOT NULL, "
					"applied_at timestamptz NOT NULL DEFAULT now(), "
					"PRIMARY KEY (service, version))",
					0, NULL, NULL, err, errcap);
		if (rc != ST_OK)
			goto out;
	}
	rc = load_records(pg, mode == ST_MIGRATE_APPLY, &recs, err, errcap);
	if (rc != ST_OK)
		goto out;
	rc = reconcile(set, &recs, mode, out, &todo, err, errcap);
	if (pending != NULL)
		*pending = todo;
	if (rc != ST_OK || mode == ST_MIGRATE_STATUS)
		goto out;
	for (size_t i = 0; i < set->n; i++) {
		const struct st_migration *m = &set->items[i];
		int64_t started;

		if (records_find(&recs, m->service, m->version) != NULL)
			continue;
		if (mode == ST_MIGRATE_DRY_RUN) {
			fprintf(out, "would apply %s/%s\n", m->service, m->file);
			continue;
		}
		started = st_now_mono_ms();
		rc = apply_one(pg, m, err, errcap);
		if (rc != ST_OK)
			goto out;
		done++;
		fprintf(out, "applied %s/%s (%lld ms)\n", m->service, m->file,
			(long long)(st_now_mono_ms() - started));
		fflush(out);
	}
	if (mode == ST_MIGRATE_APPLY && done == 0)
		fprintf(out, "nothing to apply: up to date (%zu migrations)\n", set->n);
	else if (mode == ST_MIGRATE_APPLY)
		fprintf(out, "up to date: %zu applied now, %zu in total\n", done, set->n);
out:
	records_cleanup(&recs);
	PQfinish(pg); /* ends the session, and with it the advisory lock */
	return rc;
}
