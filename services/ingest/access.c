/*
 * Who may touch a project or a session: one query joins the resource with the caller's
 * membership, and ingest_access_decide applies the table in ingest.h. Unknown, malformed and
 * foreign ids all answer the same 404, so that an id tells an outsider nothing.
 */
#include <string.h>

#include "ingest.h"
#include "strata/db.h"

static const char project_sql[] = "SELECT p.id, m.role FROM projects p "
				  "LEFT JOIN project_members m "
				  "ON m.project_id = p.id AND m.user_id = $2::uuid "
				  "WHERE p.id = $1::uuid";

static const char session_sql[] = "SELECT s.project_id, coalesce(s.subject_id::text, ''), "
				  "s.status, coalesce(s.device, ''), m.role "
				  "FROM sessions s "
				  "LEFT JOIN project_members m "
				  "ON m.project_id = s.project_id AND m.user_id = $2::uuid "
				  "WHERE s.id = $1::uuid";

enum ingest_role
ingest_role_parse(const char *s)
{
	if (s == NULL)
		return INGEST_ROLE_NONE;
	if (strcmp(s, "owner") == 0)
		return INGEST_ROLE_OWNER;
	if (strcmp(s, "member") == 0)
		return INGEST_ROLE_MEMBER;
	if (strcmp(s, "viewer") == 0)
		return INGEST_ROLE_VIEWER;
	return INGEST_ROLE_NONE;
}

const char *
ingest_role_name(enum ingest_role role)
{
	switch (role) {
	case INGEST_ROLE_OWNER:
		return "owner";
	case INGEST_ROLE_MEMBER:
		return "member";
	case INGEST_ROLE_VIEWER:
		return "viewer";
	case INGEST_ROLE_NONE:
		break;
	}
	return "";
}

bool
ingest_is_admin(const struct st_principal *p)
{
	return p != NULL && st_scopes_allow(p->scopes, ST_SCOPE_ADMIN);
}

int
ingest_access_decide(const struct st_principal *p, enum ingest_role role, enum ingest_need need)
{
	bool write = p != NULL && st_scopes_allow(p->scopes, ST_SCOPE_WRITE);

	if (ingest_is_admin(p))
		return 0;
	if (p == NULL || role == INGEST_ROLE_NONE)
		return 404;
	switch (need) {
	case INGEST_READ:
		return st_scopes_allow(p->scopes, ST_SCOPE_READ) ? 0 : 403;
	case INGEST_WRITE:
		return write && role >= INGEST_ROLE_MEMBER ? 0 : 403;
	case INGEST_POST: /* a viewer never writes, whatever scopes its token holds */
		if (role < INGEST_ROLE_MEMBER)
			return 403;
		return write || st_scopes_allow(p->scopes, ST_SCOPE_INGEST) ? 0 : 403;
	case INGEST_MANAGE:
		return write && role == INGEST_ROLE_OWNER ? 0 : 403;
	}
	return 403;
}

static const char *
need_phrase(enum ingest_need need)
{
	switch (need) {
	case INGEST_READ:
		return "read";
	case INGEST_WRITE:
		return "change";
	case INGEST_POST:
		return "send data to";
	case INGEST_MANAGE:
		return "manage";
	}
	return "use";
}

/* Replies for a decision that is not 0. */
static int
refuse(struct st_req *req, int decision, const char *what, const char *id, enum ingest_need need)
{
	if (decision == 404)
		return st_http_reply_problem(req, 404, "no %s %s", what, id);
	return st_http_reply_problem(req, 403, "your role or scopes do not allow you to %s this %s",
				     need_phrase(need), what);
}

int
ingest_access_check(struct st_req *req, struct st_app *app, const char *sql, const char *what,
		    const char *id, enum ingest_need need, char *project, enum ingest_role *role)
{
	struct st_db_result *res = NULL;
	enum ingest_role r = INGEST_ROLE_NONE;
	enum st_err rc;
	int decision;

	if (!st_uuid_valid(id))
		return st_http_reply_problem(req, 404, "no %s %.64s", what, id != NULL ? id : "");
	{
		const char *params[] = { id, ingest_caller_id(req) };

		rc = st_db_pool_query(app->db, sql, 2, params, &res, NULL, 0);
	}
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	if (st_db_rows(res) == 0) {
		st_db_result_free(res);
		return st_http_reply_problem(req, 404, "no %s %s", what, id);
	}
	if (project != NULL)
		st_strlcpy(project, st_db_get(res, 0, 0), INGEST_UUID_LEN);
	r = ingest_role_parse(st_db_get(res, 0, 1));
	st_db_result_free(res);
	decision = ingest_access_decide(st_http_principal(req), r, need);
	if (decision != 0)
		return refuse(req, decision, what, id, need);
	if (role != NULL)
		*role = r;
	return 0;
}

int
ingest_project_access(struct st_req *req, struct st_app *app, const char *id, enum ingest_need need,
		      enum ingest_role *role)
{
	return ingest_access_check(req, app, project_sql, "project", id, need, NULL, role);
}

enum st_err
ingest_session_load(struct st_app *app, const char *id, const char *sub,
		    struct ingest_session_ref *out, bool *found)
{
	const char *params[] = { id, st_uuid_valid(sub) ? sub : NULL };
	struct st_db_result *res = NULL;
	enum st_err rc = st_db_pool_query(app->db, session_sql, 2, params, &res, NULL, 0);

	memset(out, 0, sizeof(*out));
	*found = false;
	if (rc != ST_OK)
		return rc;
	if (st_db_rows(res) > 0) {
		*found = true;
		st_strlcpy(out->id, id, sizeof(out->id));
		st_strlcpy(out->project_id, st_db_get(res, 0, 0), sizeof(out->project_id));
		st_strlcpy(out->subject_id, st_db_get(res, 0, 1), sizeof(out->subject_id));
		st_strlcpy(out->status, st_db_get(res, 0, 2), sizeof(out->status));
		st_strlcpy(out->device, st_db_get(res, 0, 3), sizeof(out->device));
		out->role = ingest_role_parse(st_db_get(res, 0, 4));
	}
	st_db_result_free(res);
	return ST_OK;
}

int
ingest_session_access(struct st_req *req, struct st_app *app, const char *id, enum ingest_need need,
		      struct ingest_session_ref *out)
{
	const struct st_principal *p = st_http_principal(req);
	enum st_err rc;
	bool found;
	int decision;

	memset(out, 0, sizeof(*out));
	if (!st_uuid_valid(id))
		return st_http_reply_problem(req, 404, "no session %.64s", id != NULL ? id : "");
	rc = ingest_session_load(app, id, p != NULL ? p->sub : "", out, &found);
	if (rc != ST_OK)
		return st_http_reply_db_error(req, rc, "ingest");
	if (!found)
		return st_http_reply_problem(req, 404, "no session %s", id);
	decision = ingest_access_decide(p, out->role, need);
	if (decision != 0)
		return refuse(req, decision, "session", id, need);
	return 0;
}
