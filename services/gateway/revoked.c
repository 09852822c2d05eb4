/*
 * The revocations the gateway has learned, in memory, so that a logout holds while Redis is
 * away (the denylist check in ratelimit.c fails open then). Auth writes each revocation twice
 * in one script: the denylist key `auth:deny:<jti>` and an entry {jti, exp} on the Redis stream
 * `auth:revocations` (trimmed to about REVOKED_MAX entries). A thread here reads the stream with
 * XREAD from where it stopped, every POLL_MS: from the start of the stream when the gateway
 * starts, so a replica learns the revocations made before it came up, and each replica reads
 * for itself (no consumer group), so every replica learns every revocation.
 *
 * The set is bounded: an entry lives until its token's exp; at REVOKED_MAX entries the one
 * whose token expires first is forgotten (the shortest window of harm), counted in
 * gateway_revocations_evicted_total. It is a binary min-heap on exp, for expiry and eviction,
 * indexed by an open-addressing table on the keyed hash of the jti (linear probing, deletion by
 * backward shift), for the lookup each Bearer request makes under one mutex.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authn_int.h"
#include "strata/hash.h"
#include "strata/log.h"
#include "strata/metrics.h"
#include "strata/redis.h"
#include "strata/ticker.h"

#define POLL_MS    1000
#define READ_MAX   1000 /* entries an XREAD asks for */
#define READ_COUNT "1000"
#define STREAM_ID  48

struct revoked_entry {
	char jti[GW_JTI_MAX + 1];
	int64_t exp; /* Unix seconds */
	uint64_t hash;
	size_t slot; /* its index in the table */
};

struct gw_revoked {
	pthread_mutex_t mu;         /* guards everything below but the thread's fields */
	struct revoked_entry *heap; /* cap entries, n used, a min-heap on exp */
	size_t n, cap;
	size_t *slots; /* heap index + 1; 0: empty */
	size_t mask;   /* table size - 1 */
	uint64_t evicted;

	struct st_redis *redis; /* NULL: no thread */
	char last_id[STREAM_ID];
	struct st_metric *learned, *evictions;
	struct st_ticker *reader; /* NULL: no Redis */
};

static uint64_t
jti_hash(const char *jti)
{
	return st_hash_keyed(jti, strlen(jti));
}

/* The table slot holding jti, or the empty slot where it would go. */
static size_t
slot_find(const struct gw_revoked *r, const char *jti, uint64_t h)
{
	size_t i = (size_t)h & r->mask;

	while (r->slots[i] != 0 && strcmp(r->heap[r->slots[i] - 1].jti, jti) != 0)
		i = (i + 1) & r->mask;
	return i;
}

/* Empties slot i, shifting back the entries after it that probed past it. */
static void
slot_clear(struct gw_revoked *r, size_t i)
{
	size_t j = i;

	r->slots[i] = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & r->mask;
		if (r->slots[j] == 0)
			return;
		home = (size_t)r->heap[r->slots[j] - 1].hash & r->mask;
		/* j's entry may move to i when its home is not in (i, j], cyclically */
		if ((i < j) ? (home <= i || home > j) : (home <= i && home > j)) {
			r->slots[i] = r->slots[j];
			r->heap[r->slots[i] - 1].slot = i;
			r->slots[j] = 0;
			i = j;
		}
	}
}

static void
heap_swap(struct gw_revoked *r, size_t a, size_t b)
{
	struct revoked_entry t = r->heap[a];

	r->heap[a] = r->heap[b];
	r->heap[b] = t;
	r->slots[r->heap[a].slot] = a + 1;
	r->slots[r->heap[b].slot] = b + 1;
}

static void
sift_up(struct gw_revoked *r, size_t i)
{
	while (i > 0 && r->heap[(i - 1) / 2].exp > r->heap[i].exp) {
		heap_swap(r, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
sift_down(struct gw_revoked *r, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < r->n && r->heap[l].exp < r->heap[m].exp)
			m = l;
		if (l + 1 < r->n && r->heap[l + 1].exp < r->heap[m].exp)
			m = l + 1;
		if (m == i)
			return;
		heap_swap(r, i, m);
		i = m;
	}
}

/* Drops the entry that expires first. */
static void
pop_first(struct gw_revoked *r)
{
	slot_clear(r, r->heap[0].slot);
	r->n--;
	if (r->n > 0) {
		r->heap[0] = r->heap[r->n];
		r->slots[r->heap[0].slot] = 1;
		sift_down(r, 0);
	}
}

ST_STATIC struct gw_revoked *
gw_revoked_new(size_t cap)
{
	struct gw_revoked *r = st_calloc(1, sizeof(*r));
	size_t size = 16;

	while (size < 2 * cap)
		size <<= 1;
	r->cap = cap;
	r->heap = st_calloc(cap, sizeof(*r->heap));
	r->slots = st_calloc(size, sizeof(*r->slots));
	r->mask = size - 1;
	pthread_mutex_init(&r->mu, NULL);
	st_strlcpy(r->last_id, "0", sizeof(r->last_id));
	return r;
}

ST_STATIC bool
gw_revoked_add(struct gw_revoked *r, const char *jti, int64_t exp, int64_t now_s)
{
	uint64_t h;
	size_t i;
	bool evicted = false;

	if (!st_principal_field_ok(jti, GW_JTI_MAX + 1) || exp <= now_s || r->cap == 0)
		return false;
	h = jti_hash(jti);
	pthread_mutex_lock(&r->mu);
	while (r->n > 0 && r->heap[0].exp <= now_s)
		pop_first(r);
	i = slot_find(r, jti, h);
	if (r->slots[i] != 0) {
		struct revoked_entry *e = &r->heap[r->slots[i] - 1];

		if (exp > e->exp) {
			e->exp = exp;
			sift_down(r, r->slots[i] - 1);
		}
		pthread_mutex_unlock(&r->mu);
		return true;
	}
	if (r->n == r->cap) {
		pop_first(r);
		r->evicted++;
		evicted = true;
		i = slot_find(r, jti, h); /* the shift may have moved the empty slot */
	}
	st_strlcpy(r->heap[r->n].jti, jti, sizeof(r->heap[r->n].jti));
	r->heap[r->n].exp = exp;
	r->heap[r->n].hash = h;
	r->heap[r->n].slot = i;
	r->slots[i] = r->n + 1;
	r->n++;
	sift_up(r, r->n - 1);
	pthread_mutex_unlock(&r->mu);
	if (evicted && r->evictions != NULL)
		st_metric_add(r->evictions, 1);
	return true;
}

bool
gw_revoked_has(struct gw_revoked *r, const char *jti, int64_t now_s)
{
	uint64_t h;
	size_t i;
	bool found;

	if (r == NULL || jti == NULL || jti[0] == '\0')
		return false;
	h = jti_hash(jti);
	pthread_mutex_lock(&r->mu);
	i = slot_find(r, jti, h);
	found = r->slots[i] != 0 && r->heap[r->slots[i] - 1].exp > now_s;
	pthread_mutex_unlock(&r->mu);
	return found;
}

ST_STATIC size_t
gw_revoked_count(struct gw_revoked *r)
{
	size_t n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* ---- the stream reader ---- */

static const struct redisReply *
field(const struct redisReply *kv, const char *name)
{
	for (size_t i = 0; i + 1 < kv->elements; i += 2)
		if (kv->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(kv->element[i]->str, name) == 0 &&
		    kv->element[i + 1]->type == REDIS_REPLY_STRING)
			return kv->element[i + 1];
	return NULL;
}

/* Takes in the entries of one XREAD answer; returns how many it held. */
static size_t
take_entries(struct gw_revoked *r, const struct redisReply *reply)
{
	const struct redisReply *entries;
	int64_t now_s = st_now_wall_ms() / 1000;
	size_t n;

	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 ||
	    reply->element[0]->type != REDIS_REPLY_ARRAY || reply->element[0]->elements != 2)
		return 0;
	entries = reply->element[0]->element[1];
	if (entries->type != REDIS_REPLY_ARRAY)
		return 0;
	n = entries->elements;
	for (size_t i = 0; i < n; i++) {
		const struct redisReply *e = entries->element[i], *jti, *exp;
		char *end = NULL;
		long long v;

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		st_strlcpy(r->last_id, e->element[0]->str, sizeof(r->last_id));
		jti = field(e->element[1], "jti");
		exp = field(e->element[1], "exp");
		if (jti == NULL || exp == NULL)
			continue;
		errno = 0;
		v = strtoll(exp->str, &end, 10);
		if (errno != 0 || end == exp->str || *end != '\0')
			continue;
		if (gw_revoked_add(r, jti->str, (int64_t)v, now_s) && r->learned != NULL)
			st_metric_add(r->learned, 1);
	}
	return n;
}

/* Reads the stream from last_id until it is drained. Quiet while Redis is down. */
static void
poll_stream(struct gw_revoked *r)
{
	for (;;) {
		const char *argv[] = {
			"XREAD", "COUNT", READ_COUNT, "STREAMS", GW_REVOCATIONS_STREAM, r->last_id
		};
		struct redisReply *reply = NULL;
		size_t got;

		if (st_redis_argv(r->redis, 6, argv, NULL, &reply) != ST_OK) {
			if (reply != NULL)
				freeReplyObject(reply);
			return;
		}
		got = reply->type == REDIS_REPLY_NIL ? 0 : take_entries(r, reply);
		freeReplyObject(reply);
		if (got > 0)
			st_log(ST_LOG_INFO, "revoked", "revocations read=%zu known=%zu", got,
			       gw_revoked_count(r));
		if (got < READ_MAX)
			return;
	}
}

static int
reader_tick(void *arg)
{
	poll_stream(arg);
	return POLL_MS;
}

enum st_err
gw_revoked_create(struct st_app *app, size_t cap, struct gw_revoked **out)
{
	struct gw_revoked *r = gw_revoked_new(cap);

	*out = NULL;
	r->redis = app != NULL ? app->redis : NULL;
	if (app != NULL && app->metrics != NULL) {
		r->learned =
			st_metrics_counter(app->metrics, "gateway_revocations_learned_total",
					   "Token revocations read from auth:revocations", NULL);
		r->evictions = st_metrics_counter(
			app->metrics, "gateway_revocations_evicted_total",
			"Revocations forgotten before their token expired (the set was full)",
			NULL);
	}
	if (r->redis != NULL && st_ticker_create(reader_tick, r, &r->reader) != ST_OK) {
		st_log(ST_LOG_ERROR, "revoked", "cannot start the revocation reader");
		gw_revoked_destroy(r);
		return ST_ERR_INTERNAL;
	}
	*out = r;
	return ST_OK;
}

void
gw_revoked_destroy(struct gw_revoked *r)
{
	if (r == NULL)
		return;
	st_ticker_destroy(r->reader);
	pthread_mutex_destroy(&r->mu);
	st_free(r->heap);
	st_free(r->slots);
	st_free(r);
}
