/*
 * The session cache of the readings hot path: (session id, caller) -> the session's project,
 * status and the caller's role in it. POST /api/v1/sessions/{id}/data is the busiest route of
 * the suite, and it must keep accepting while PostgreSQL is away (Kafka holds the data): an
 * entry is fresh for INGEST_SESSION_CACHE_MS, and when the database cannot be reached an entry
 * up to INGEST_SESSION_STALE_MS old is used instead of answering 503.
 *
 * The decision itself (ingest_access_decide) is taken per request from the cached role and the
 * request's own scopes, so a cached entry never grants a scope the caller does not hold.
 * A set-associative table under one mutex: a key hashes to a bucket of CACHE_WAYS entries and
 * a new key replaces the bucket's oldest entry, so that two busy sessions that hash alike do
 * not push each other out (which, with the database away, would turn into a 503).
 */
#include <pthread.h>
#include <string.h>

#include "ingest.h"
#include "strata/db.h"
#include "strata/hash.h"
#include "strata/log.h"

#define CACHE_BUCKETS 1024 /* power of two */
#define CACHE_WAYS    8

struct entry {
	char session[INGEST_UUID_LEN];
	char sub[128]; /* as struct st_principal */
	bool exists;
	struct ingest_session_ref ref;
	int64_t fetched_ms; /* monotonic; 0 = empty */
};

static struct {
	pthread_mutex_t lock;
	struct entry *slots;
	int64_t fresh_ms, stale_ms;
} cache = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 };

ST_STATIC void
session_cache_open(int64_t fresh_ms, int64_t stale_ms)
{
	cache.fresh_ms = fresh_ms;
	cache.stale_ms = stale_ms;
	cache.slots = st_calloc((size_t)CACHE_BUCKETS * CACHE_WAYS, sizeof(*cache.slots));
}

enum st_err
session_cache_init(struct st_app *app)
{
	session_cache_open(st_config_int(app->config, "INGEST_SESSION_CACHE_MS"),
			   st_config_int(app->config, "INGEST_SESSION_STALE_MS"));
	return ST_OK;
}

void
session_cache_fini(void)
{
	st_free(cache.slots);
	cache.slots = NULL;
}

/* The first entry of the key's bucket. Keyed hashing: the session id in a path is the
 * client's choice, and an unkeyed hash would let one pick ids that all share a bucket. */
ST_STATIC size_t
session_bucket(const char *session, const char *sub)
{
	char key[INGEST_UUID_LEN + 128];
	size_t a = strnlen(session, INGEST_UUID_LEN - 1), b = strnlen(sub, 127);

	memcpy(key, session, a);
	key[a] = '\n'; /* neither a UUID nor a subject holds one */
	memcpy(key + a + 1, sub, b);
	return (size_t)(st_hash_keyed(key, a + 1 + b) & (CACHE_BUCKETS - 1)) * CACHE_WAYS;
}

static bool
same_key(const struct entry *e, const char *session, const char *sub)
{
	return e->fetched_ms != 0 && strcmp(e->session, session) == 0 && strcmp(e->sub, sub) == 0;
}

/* Copies the entry for the key into *out when one younger than max_age_ms exists. */
static bool
lookup(const char *session, const char *sub, int64_t max_age_ms, struct entry *out)
{
	bool hit = false;
	struct entry *e;

	pthread_mutex_lock(&cache.lock);
	e = &cache.slots[session_bucket(session, sub)];
	for (int w = 0; w < CACHE_WAYS; w++, e++) {
		if (same_key(e, session, sub)) {
			if (st_now_mono_ms() - e->fetched_ms <= max_age_ms) {
				*out = *e;
				hit = true;
			}
			break;
		}
	}
	pthread_mutex_unlock(&cache.lock);
	return hit;
}

static void
store(const struct entry *in)
{
	struct entry *bucket, *victim;

	pthread_mutex_lock(&cache.lock);
	bucket = &cache.slots[session_bucket(in->session, in->sub)];
	victim = bucket;
	for (int w = 0; w < CACHE_WAYS; w++) {
		if (same_key(&bucket[w], in->session, in->sub)) {
			victim = &bucket[w];
			break;
		}
		if (bucket[w].fetched_ms < victim->fetched_ms) /* empty (0) or older */
			victim = &bucket[w];
	}
	*victim = *in;
	pthread_mutex_unlock(&cache.lock);
}

#ifdef ST_TESTING
/* For the unit tests: remembers that sub may use an existing session, fetched now. */
void
session_cache_remember(const char *session, const char *sub)
{
	struct entry e;

	memset(&e, 0, sizeof(e));
	st_strlcpy(e.session, session, sizeof(e.session));
	st_strlcpy(e.sub, sub, sizeof(e.sub));
	e.exists = true;
	e.fetched_ms = st_now_mono_ms();
	store(&e);
}

/* For the unit tests: whether the cache holds the key, at any age. */
bool
session_cache_holds(const char *session, const char *sub)
{
	struct entry e;

	return lookup(session, sub, INT64_MAX / 2, &e);
}
#endif

/* Reads the session and the caller's membership from the database into e. */
static enum st_err
fetch(struct st_app *app, const char *session, const char *sub, struct entry *e)
{
	struct entry fresh;
	enum st_err rc;

	memset(&fresh, 0, sizeof(fresh));
	rc = ingest_session_load(app, session, sub, &fresh.ref, &fresh.exists);
	if (rc != ST_OK)
		return rc;
	st_strlcpy(fresh.session, session, sizeof(fresh.session));
	st_strlcpy(fresh.sub, sub, sizeof(fresh.sub));
	fresh.fetched_ms = st_now_mono_ms();
	*e = fresh;
	return ST_OK;
}

int
session_cache_access(struct st_req *req, struct st_app *app, const char *id, enum ingest_need need,
		     struct ingest_session_ref *out)
{
	const struct st_principal *p = st_http_principal(req);
	const char *sub = p != NULL ? p->sub : "";
	struct entry e;
	int decision;

	memset(out, 0, sizeof(*out));
	if (!st_uuid_valid(id))
		return st_http_reply_problem(req, 404, "no session %.64s", id != NULL ? id : "");
	if (!lookup(id, sub, cache.fresh_ms, &e)) {
		/* With the database away this fails at once (the pool stays quiet a second after a
		 * failed connect), and the stale entry answers. */
		enum st_err rc = fetch(app, id, sub, &e);

		if (rc == ST_OK) {
			store(&e);
		} else if ((rc == ST_ERR_UNAVAILABLE || rc == ST_ERR_TIMEOUT) &&
			   lookup(id, sub, cache.stale_ms, &e) && e.exists) {
			st_log(ST_LOG_DEBUG, "readings", "database away: stale session entry used");
		} else {
			return st_http_reply_db_error(req, rc, "ingest");
		}
	}
	if (!e.exists)
		return st_http_reply_problem(req, 404, "no session %s", id);
	decision = ingest_access_decide(p, e.ref.role, need);
	if (decision == 404)
		return st_http_reply_problem(req, 404, "no session %s", id);
	if (decision != 0)
		return st_http_reply_problem(
			req, 403,
			"your role or scopes do not allow you to send data to this session");
	*out = e.ref;
	return 0;
}
