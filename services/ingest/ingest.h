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

#endif
