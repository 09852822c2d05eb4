/*
 * What the ingest service's files share: who may touch a project or a session (access.c), and
 * the handlers each resource file exposes to main.c's route table.
 *
 * Access follows project membership. Scope admin sees and changes everything. Otherwise a
 * project the caller is not a member of does not exist for them (404, never 403, so that ids
 * reveal nothing); a member whose role or scopes fall short gets 403:
 *
 *   need            role             scopes
 *   INGEST_READ     viewer or above  read
 *   INGEST_WRITE    member or above  write
 *   INGEST_POST     any member       ingest (device keys), or write as member or above
 *   INGEST_MANAGE   owner            write
 */
#ifndef STRATA_INGEST_H
#define STRATA_INGEST_H

#include "strata/http.h"
#include "strata/service.h"

#define INGEST_UUID_LEN 37 /* 36 characters and the NUL */

enum ingest_role {
	INGEST_ROLE_NONE = 0, /* not a member */
	INGEST_ROLE_VIEWER,
	INGEST_ROLE_MEMBER,
	INGEST_ROLE_OWNER,
};

enum ingest_need {
	INGEST_READ,
	INGEST_WRITE,
	INGEST_POST,
	INGEST_MANAGE,
};

/* "owner", "member", "viewer" and back; INGEST_ROLE_NONE for anything else / "" for NONE. */
enum ingest_role ingest_role_parse(const char *s);
const char *ingest_role_name(enum ingest_role role);

/* The decision alone: 0 allowed, 404 not visible to this caller, 403 visible but not
 * allowed. role is the caller's role in the project (INGEST_ROLE_NONE when not a member). */
int ingest_access_decide(const struct st_principal *p, enum ingest_role role,
			 enum ingest_need need);

/* True when the caller holds scope admin: every project is theirs. */
bool ingest_is_admin(const struct st_principal *p);

/*
 * Checks that the caller may act on project id as need says. Returns 0 with *role set (the
 * caller's role; INGEST_ROLE_NONE for an admin who is not a member; role may be NULL), or
 * replies itself (404 unknown or not visible, also for an id that is not a UUID; 403 not
 * allowed; 503 with Retry-After when the database is unreachable) and returns that status.
 */
int ingest_project_access(struct st_req *req, struct st_app *app, const char *id,
			  enum ingest_need need, enum ingest_role *role);

/* A session as access checks see it. */
struct ingest_session_ref {
	char id[INGEST_UUID_LEN];
	char project_id[INGEST_UUID_LEN];
	char subject_id[INGEST_UUID_LEN]; /* "" when none */
	char status[16];                  /* created, running, stopped, completed, failed */
	char device[128];                 /* "" when none */
	enum ingest_role role;            /* the caller's role in the session's project */
};

/* The same for session id (its project's membership decides); fills out on 0. */
int ingest_session_access(struct st_req *req, struct st_app *app, const char *id,
			  enum ingest_need need, struct ingest_session_ref *out);

/* Replies for a database error of a handler: 503 with Retry-After when the database is
 * unreachable or timed out, 409 for a conflict, 400 for data it refused, else 500. */
int ingest_reply_db_error(struct st_req *req, enum st_err rc);

/* ---- diagnosis results (results helper: results_parse.c, results.c) ---- */

/* One line of a results file. The strings are owned by the struct ingest_results. */
struct ingest_result_row {
	char *item;
	char *category;
	char *response; /* "" when empty */
	bool correct;
	double reaction_ms;
	int line; /* the physical line the record starts on (the header is line 1) */
};

/* A parsed results file: rows in file order. Free with ingest_results_cleanup. */
struct ingest_results {
	struct ingest_result_row *rows;
	size_t n, cap;
};

/*
 * Parses and validates a results CSV (results_parse.c explains the format). ST_OK with out
 * filled; ST_ERR_INVALID with line-numbered entries in errs (out is then empty); ST_ERR_TOO_LARGE
 * when the file has more than max_rows data lines (nothing kept, nothing in errs).
 */
enum st_err ingest_results_parse(const char *csv, size_t len, size_t max_rows,
				 struct ingest_results *out, struct st_json_errs *errs);
void ingest_results_cleanup(struct ingest_results *r);

/* Reaction-time statistics of a group of rows, in milliseconds. */
struct ingest_rt_stats {
	double mean, median, p90, sd, min, max;
};

struct ingest_category_score {
	const char *category; /* borrowed from the rows */
	size_t n, correct;
	double accuracy; /* correct / n */
	double weight;   /* the weight the score used */
	struct ingest_rt_stats rt;
};

/* A scored file. Free with ingest_score_cleanup. */
struct ingest_score {
	struct ingest_category_score *cats; /* sorted by category (byte order) */
	size_t ncats;
	size_t n, correct;
	double accuracy;
	struct ingest_rt_stats rt;
	double score;       /* 0..100 */
	bool equal_weights; /* every category present weighed 0: a plain mean was used */
};

/*
 * Scores parsed rows (at least one) with weights, the project's settings.category_weights (an
 * object category -> non-negative number; NULL or JSON null for none; a category without a
 * weight weighs 1). ST_ERR_INVALID with entries in errs when weights is malformed.
 */
enum st_err ingest_results_score(const struct ingest_results *r, const cJSON *weights,
				 struct ingest_score *out, struct st_json_errs *errs);
void ingest_score_cleanup(struct ingest_score *s);

/* The summary document of a score (figures rounded for people); the caller owns it. */
cJSON *ingest_score_json(const struct ingest_score *s);

/* POST and GET /api/v1/sessions/{id}/results (results.c). */
int results_post(struct st_req *req, void *ctx);
int results_get(struct st_req *req, void *ctx);

#endif
