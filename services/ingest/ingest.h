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
 *   INGEST_POST     member or above  write, or ingest (a device key)
 *   INGEST_MANAGE   owner            write
 */
#ifndef STRATA_INGEST_H
#define STRATA_INGEST_H

#include "strata/fields.h"
#include "strata/http.h"
#include "strata/service.h"

#define INGEST_UUID_LEN 37 /* 36 characters and the NUL */
/* The largest category weight: sums of weights stay finite, and so does the score. */
#define INGEST_WEIGHT_MAX 1e6

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

/*
 * The same for any resource of a project: sql ($1 the resource's id, $2 the caller's id or
 * NULL) returns one row of (project id, the caller's role there) when resource `what` id
 * exists. Fills project (>= INGEST_UUID_LEN bytes; may be NULL) and *role (may be NULL) on 0;
 * the answers name `what` ("no subject <id>").
 */
int ingest_access_check(struct st_req *req, struct st_app *app, const char *sql, const char *what,
			const char *id, enum ingest_need need, char *project,
			enum ingest_role *role);

/* A session as access checks see it. */
struct ingest_session_ref {
	char id[INGEST_UUID_LEN];
	char project_id[INGEST_UUID_LEN];
	char subject_id[INGEST_UUID_LEN]; /* "" when none */
	char status[16];                  /* created, running, stopped, completed, failed */
	char device[128];                 /* "" when none */
	enum ingest_role role;            /* the caller's role in the session's project */
};

/* Reads session id and the role in its project of user sub (any other sub: no role). ST_OK
 * with *found, and out filled when found; the database's error otherwise. */
enum st_err ingest_session_load(struct st_app *app, const char *id, const char *sub,
				struct ingest_session_ref *out, bool *found);

/* The same for session id (its project's membership decides); fills out on 0. */
int ingest_session_access(struct st_req *req, struct st_app *app, const char *id,
			  enum ingest_need need, struct ingest_session_ref *out);

/* ---- diagnosis results (results helper: results_parse.c reads a file, results_score.c
 * scores it, results.c answers the routes) ---- */

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
 * Parses and validates a results CSV of len bytes (need not be NUL-terminated; results_parse.c
 * explains the format; pure: a fuzz target's entry point). ST_OK with out filled; ST_ERR_INVALID
 * with line-numbered entries in errs (out is then empty); ST_ERR_TOO_LARGE when the file has more
 * than max_rows data lines (nothing kept, nothing in errs).
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
 * Scores parsed rows (results_score.c; at least one) with weights, the project's
 * settings.category_weights (an object category -> non-negative number; NULL or JSON null for none;
 * a category without a weight weighs 1). ST_ERR_INVALID with entries in errs when weights is
 * malformed.
 */
enum st_err ingest_results_score(const struct ingest_results *r, const cJSON *weights,
				 struct ingest_score *out, struct st_json_errs *errs);
void ingest_score_cleanup(struct ingest_score *s);

/* The summary document of a score (figures rounded for people); the caller owns it. */
cJSON *ingest_score_json(const struct ingest_score *s);

/* POST and GET /api/v1/sessions/{id}/results (results.c). */
int results_post(struct st_req *req, void *ctx);
int results_get(struct st_req *req, void *ctx);

/* ---- resources helper: projects, members, subjects, sessions, their events ---- */

/* Route handlers (projects.c, members.c, subjects.c, sessions.c). */
int projects_create(struct st_req *req, void *ctx);
int projects_list(struct st_req *req, void *ctx);
int projects_get(struct st_req *req, void *ctx);
int projects_patch(struct st_req *req, void *ctx);
int projects_delete(struct st_req *req, void *ctx);
int members_list(struct st_req *req, void *ctx);
int members_add(struct st_req *req, void *ctx);
int members_patch(struct st_req *req, void *ctx);
int members_delete(struct st_req *req, void *ctx);
int subjects_create(struct st_req *req, void *ctx);
int subjects_list(struct st_req *req, void *ctx);
int subjects_get(struct st_req *req, void *ctx);
int subjects_patch(struct st_req *req, void *ctx);
int subjects_delete(struct st_req *req, void *ctx);
int sessions_create(struct st_req *req, void *ctx);
int sessions_list(struct st_req *req, void *ctx);
int sessions_get(struct st_req *req, void *ctx);
int sessions_patch(struct st_req *req, void *ctx);
/* POST /api/v1/sessions/{id}/<action>: the action is the route's last segment (start, stop,
 * complete, fail), one handler for the four. */
int sessions_act(struct st_req *req, void *ctx);

#define INGEST_TOPIC_SESSIONS "strata.sessions"
#define INGEST_TOPIC_COMMANDS "strata.session-commands"
#define INGEST_EVENT_SOURCE   "/strata/ingest"

/*
 * Publishes one CloudEvent of type (e.g. "strata.session.started", "strata.session.scored")
 * on strata.sessions, keyed by session_id, and waits for the broker's acknowledgement. Takes
 * ownership of data (always, also on failure). ST_ERR_UNAVAILABLE when Kafka cannot take it
 * (answer 503 with Retry-After), ST_ERR_INVALID for a missing id or type.
 */
enum st_err ingest_session_event(struct st_app *app, const char *session_id, const char *type,
				 cJSON *data);

/*
 * The same, and in the same produce call a "strata.session.command" on strata.session-commands
 * (data {"session_id", "device", "command"}) when command is non-NULL: both are acknowledged
 * or the call fails. device may be NULL or "" (JSON null). Takes ownership of data.
 */
enum st_err ingest_session_publish(struct st_app *app, const char *session_id, const char *type,
				   cJSON *data, const char *device, const char *command);

/* The session state machine (session_state.c, pure). */
enum ingest_status {
	INGEST_STATUS_CREATED = 0,
	INGEST_STATUS_RUNNING,
	INGEST_STATUS_STOPPED,
	INGEST_STATUS_COMPLETED,
	INGEST_STATUS_FAILED,
	INGEST_STATUS_COUNT,
};

enum ingest_action {
	INGEST_ACTION_START = 0,
	INGEST_ACTION_STOP,
	INGEST_ACTION_COMPLETE,
	INGEST_ACTION_FAIL,
	INGEST_ACTION_COUNT,
};

/* "created" ... "failed" and back; false / "" for anything else. */
bool ingest_status_parse(const char *s, enum ingest_status *out);
const char *ingest_status_name(enum ingest_status st);
/* True for completed and failed: nothing changes a closed session any more. */
bool ingest_status_closed(enum ingest_status st);

/* What an action does from a state. */
struct ingest_move {
	enum ingest_status to;
	const char *event;   /* the CloudEvent type, e.g. "strata.session.started" */
	const char *command; /* "start", "stop" or NULL: the device command it sends */
};

/* True and *out filled when action is allowed from `from`; false for an illegal move. */
bool ingest_session_move(enum ingest_action action, enum ingest_status from,
			 struct ingest_move *out);
/* The states action is allowed from, as a PostgreSQL text[] literal ("{created,running}"),
 * for the guard of the atomic UPDATE. cap >= 64. */
void ingest_session_from_array(enum ingest_action action, char *buf, size_t cap);
/* "start", "stop", "complete", "fail". */
const char *ingest_action_name(enum ingest_action action);
/* The action named name ("start", ...): false for any other name. */
bool ingest_action_parse(const char *name, enum ingest_action *out);

/* Validation helpers shared by the resource files' field tables (resources_validate.c). */

/* True for a device name: 1 to 128 characters of [A-Za-z0-9._:-]. */
bool ingest_device_valid(const char *s);
/* Validates a project's settings object: category_weights, when present, must be an object
 * of category name (1..100 characters) -> finite non-negative number. Records errors under
 * field ("settings"). */
void ingest_settings_check(const cJSON *settings, const char *field, struct st_json_errs *errs);
/* The same as a field table's check (st_field_check): true when settings is good. */
bool ingest_settings_ok(const cJSON *settings, const char *field, struct st_json_errs *errs);
/* A field table's check for a device name (ingest_device_valid). */
bool ingest_device_ok(const cJSON *device, const char *field, struct st_json_errs *errs);

#define INGEST_LIST_DEFAULT 50
#define INGEST_LIST_MAX     1000

/* A bounded JSON object (metadata, settings): its printed size in bytes must not exceed max. */
bool ingest_json_fits(const cJSON *obj, size_t max);

/* The largest metadata / settings object accepted, in bytes of compact JSON. */
#define INGEST_METADATA_MAX 16384

/* A list's sort key (time column col, then id) as the hidden columns that st_http_reply_page
 * makes the next cursor of. */
#define INGEST_CURSOR(col, id)                                                                     \
	"(extract(epoch FROM " col ") * 1000000)::bigint AS _cursor_micros, " id " AS _cursor_id"

/*
 * Answers a list of the project named by the route's {id} (its members, its subjects) to a
 * caller who may read it: sql takes $1 the project, $2/$3 the cursor's key (NULL on the first
 * page), $4 the LIMIT, and selects INGEST_CURSOR's columns. Returns the status sent.
 */
int ingest_project_list(struct st_req *req, struct st_app *app, const char *sql);

/* The caller's user id when the principal's subject is a UUID, else NULL (matches no member). */
const char *ingest_caller_id(struct st_req *req);

/* Answers 503 with Retry-After for a Kafka failure (ST_ERR_UNAVAILABLE and others). */
int ingest_reply_kafka_error(struct st_req *req, enum st_err rc);

/* ---- end of the resources helper's block ---- */

/* ---- readings (readings helper): readings_parse.c (decoding bodies), readings_codec.c (the
 * event and value encoding), session_cache.c, readings_post.c, writer.c, partitions.c,
 * readings_query.c, readings_export.c ---- */

#define READINGS_CHANNEL_MAX 64 /* bytes of a channel name */
#define READINGS_ERRS_MAX    20 /* bad readings named in one answer (errs keeps 16) */
/* Accepted times: from 1970-01-01 to 2200-01-01 (exclusive), so that a stray timestamp cannot
 * make the writers create partitions for centuries. */
#define READINGS_TS_MIN_US INT64_C(0)
#define READINGS_TS_MAX_US INT64_C(7258118400000000)
#define READINGS_MONTHS    ((2200 - 1970) * 12) /* months in that range */
/* Bytes of one CSV value (a time, channel or number is far shorter): a longer one is refused
 * with its line and field, never cut. */
#define READINGS_CSV_FIELD_MAX 128

/* One reading; its channel is an index into the batch's channel table. */
struct reading {
	int64_t ts_us; /* microseconds since the Unix epoch, UTC */
	double value;  /* finite */
	uint32_t ch;   /* index into readings_batch.chans */
};

struct readings_chan {
	uint32_t off; /* into readings_batch.names */
	uint32_t len;
};

/* A parsed batch: readings and the distinct channels they name. Caller's storage:
 * readings_batch_init / readings_batch_cleanup. */
struct readings_batch {
	struct reading *items;
	size_t n, cap;
	struct readings_chan *chans;
	size_t nchans, chans_cap;
	char *names; /* channel names back to back, not NUL-terminated */
	size_t names_len, names_cap;
	uint32_t *hash; /* open addressing over chans: index + 1, 0 empty */
	size_t hash_cap;
	struct st_json_errs errs; /* what was wrong, by reading index */
};

enum readings_format {
	READINGS_UNSUPPORTED = 0,
	READINGS_JSON,   /* application/json: {"readings": [{"ts", "channel", "value"}, ...]} */
	READINGS_NDJSON, /* application/x-ndjson: one {"ts", "channel", "value"} a line */
	READINGS_CSV,    /* text/csv: header ts,channel,value then one reading a record */
};

/* The format a Content-Type names (parameters such as charset ignored), or UNSUPPORTED. */
enum readings_format readings_format_of(const char *content_type);

void readings_batch_init(struct readings_batch *b);
void readings_batch_cleanup(struct readings_batch *b);

/*
 * Parses and validates a whole batch of body (len bytes, need not be NUL-terminated) into b
 * (readings_parse.c, pure: a fuzz target's entry point). ST_OK when every reading is good and
 * there is at least one; ST_ERR_INVALID with b->errs naming the bad readings ("readings[3].ts")
 * or the body's problem; ST_ERR_TOO_LARGE when it holds more than max readings. All or
 * nothing: on error b holds no usable readings.
 */
enum st_err readings_parse(enum readings_format fmt, const char *body, size_t len, size_t max,
			   struct readings_batch *b);

/* A reading's time: libcommon's RFC 3339 reader to microseconds (st_time_parse_rfc3339_us, at
 * most 40 bytes), within READINGS_TS_MIN_US..READINGS_TS_MAX_US. False for anything else. Times
 * are written back with st_time_format_rfc3339_us. */
bool readings_parse_time(const char *s, size_t len, int64_t *us);
/* 1..64 bytes of [A-Za-z0-9_.:/-]. */
bool readings_channel_valid(const char *s, size_t len);

/* The shortest decimal text that reads back as exactly v (readings_codec.c). buf >= 32.
 * Returns the length. */
size_t readings_format_value(double v, char *buf, size_t cap);

/*
 * Encodes readings [*from, n) of b as strata.readings CloudEvents (readings_codec.c; see
 * proto/topics/strata.readings.schema.json), as many as fit in one message of at most
 * max_bytes; advances *from. Returns the message (caller st_free's it) and its length.
 */
char *readings_encode_event(const struct readings_batch *b, size_t *from, const char *session_id,
			    const char *project_id, size_t max_bytes, size_t *len);

/* The session cache (session_cache.c): who may post to a session, fresh for
 * INGEST_SESSION_CACHE_MS and, while the database is unreachable, served stale for up to
 * INGEST_SESSION_STALE_MS. */
enum st_err session_cache_init(struct st_app *app);
void session_cache_fini(void);
#ifdef ST_TESTING
/* The table alone, for unit tests: sizes, the bucket of a key, and entries made by hand. */
void session_cache_open(int64_t fresh_ms, int64_t stale_ms);
size_t session_bucket(const char *session, const char *sub);
void session_cache_remember(const char *session, const char *sub);
bool session_cache_holds(const char *session, const char *sub);
#endif
/* As ingest_session_access (replies itself unless it returns 0), through the cache. */
int session_cache_access(struct st_req *req, struct st_app *app, const char *id,
			 enum ingest_need need, struct ingest_session_ref *out);

/* The writers (writer.c): INGEST_WRITERS consumers of strata.readings in group
 * INGEST_WRITER_GROUP, started by the service's init and stopped by its fini. */
enum st_err readings_writers_start(struct st_app *app);
void readings_writers_stop(void);
/* Writes a batch of strata.readings records in one transaction (the consumer's handler). */
enum st_err readings_write_batch(const struct st_kafka_rec *recs, size_t n, void *ctx);

/* Partitions (partitions.c): makes sure the monthly partitions of ingest.readings for the
 * given months exist, on conn, outside any transaction. Months already known cost nothing. */
struct st_db_conn;
enum st_err readings_partitions_ensure(struct st_db_conn *conn, const int *months, size_t n);
/* Forgets what partitions are known to exist (after a failure that may be a dropped one). */
void readings_partitions_forget(void);
/* The UTC month of a time: (year - 1970) * 12 + month - 1. */
int readings_month_of(int64_t us);

/* The filters of GET .../data and .../data/export (readings_query.c). */
struct readings_filter {
	char from[24]; /* Unix microseconds as text, inclusive; "" for none */
	char to[24];   /* exclusive; "" for none */
	char channel[READINGS_CHANNEL_MAX + 1]; /* "" for all */
};
/* clang-format off */
/* Microseconds since the epoch ($n, int8) as a timestamptz, exactly. */
#define READINGS_TS_OF(n) "('epoch'::timestamptz + $" #n "::int8 * interval '1 microsecond')"
/* The WHERE clause of a filtered read, on the parameters readings_filter_params fills. */
#define READINGS_FILTER_SQL \
	"session_id = $1::uuid " \
	"AND ($2::int8 IS NULL OR ts >= " READINGS_TS_OF(2) ") " \
	"AND ($3::int8 IS NULL OR ts < " READINGS_TS_OF(3) ") " \
	"AND ($4::text IS NULL OR channel = $4) "
/* clang-format on */
/* Checks that the caller may read the session of the path's {id} (INGEST_READ, into *s),
 * then reads from, to and channel into *f. Replies itself (and returns the status) on a
 * refusal or a bad parameter, else 0. */
int readings_filter_parse(struct st_req *req, struct st_app *app, struct ingest_session_ref *s,
			  struct readings_filter *f);
/* $1..$4 of READINGS_FILTER_SQL: the session, then from, to and channel (NULL for none).
 * Borrowed from s and f. */
void readings_filter_params(const struct ingest_session_ref *s, const struct readings_filter *f,
			    const char *params[4]);
/* Replies 400 "bad query parameters" with detail for the one query parameter param. */
int readings_reply_bad_query(struct st_req *req, const char *param, const char *detail);

/* Handlers (readings_post.c, readings_query.c, readings_export.c). */
int readings_post(struct st_req *req, void *ctx);
int readings_get(struct st_req *req, void *ctx);
int readings_export(struct st_req *req, void *ctx);

/* ---- end of readings ---- */

/* The background deletion of deleted sessions' readings (purge.c): one step of the loop. */
void readings_purge_tick(struct st_app *app);

#endif
