/*
 * Rate limiting in Redis with GCRA (the generic cell rate algorithm): one key per caller and
 * class, `rl:<class>:<key>`, holding the theoretical arrival time (TAT) of the next request in
 * microseconds. A class allows `limit` requests a minute with a burst of `limit` (a full
 * minute's worth at once): one request every period = 60 s / limit, and a request is allowed
 * while TAT + period - now <= period * burst. The step runs atomically in one Lua script,
 * loaded with SCRIPT LOAD and called with EVALSHA (reloaded after NOSCRIPT, e.g. after a Redis
 * restart), on Redis's own clock (TIME) so that every gateway replica agrees on "now".
 *
 * The same script first asks the logout denylist about the token's jti (`auth:deny:<jti>`,
 * written by auth), so that a request costs one Redis round trip, not two: at the front door's
 * rates the round trips, not Redis, were the limit (a pool of connections shared by every
 * thread, each held for a round trip). A revoked token is answered before it is counted.
 *
 * gw_gcra_step is the same formula in C: the script decides and writes, and gw_gcra_step
 * recomputes its answer from the script's inputs (the stored TAT and Redis's now) to derive the
 * header values (RateLimit-Remaining, -Reset, Retry-After), so it is not a test-only copy. One
 * table of cases (tests/unit/gateway/gcra_cases.h) runs against both: the unit test against
 * gw_gcra_step, the integration test against the script in the real Redis. Both clamp a TAT
 * further ahead than one full burst (the clock went backwards) so that a clock step cannot
 * lock a caller out for longer than a minute.
 *
 * Redis down: requests go on (fail-open: neither limited nor checked against the Redis
 * denylist; the revocations the gateway holds in memory, revoked.c, still apply) unless
 * GATEWAY_RATE_FAIL_CLOSED, which refuses them with 503, except the health class so
 * that monitors still see the gateway; gw_ratelimit_degraded says so for health.
 */
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "authn_int.h"
#include "ratelimit_lua.h"
#include "strata/encode.h"
#include "strata/log.h"
#include "strata/redis.h"

#define MINUTE_US          60000000LL
#define FAIL_RETRY_AFTER_S 5
#define KEY_MAX            256

/* The script (ratelimit_lua.h, shared with its integration test). */
static const char script[] = GW_RATELIMIT_LUA;

static const char *const class_names[GW_CLASS_COUNT] = { "default", "health" };

struct gw_ratelimit {
	struct st_redis *redis;
	int limits[GW_CLASS_COUNT]; /* requests a minute, also the burst */
	bool fail_closed;
	char sha[41]; /* SHA-1 of the script, hex: what EVALSHA names */
	atomic_bool degraded;
};

ST_STATIC struct gw_gcra
gw_gcra_step(int64_t now_us, int64_t tat_us, int64_t period_us, int64_t burst)
{
	struct gw_gcra g = { 0 };
	int64_t window = period_us * burst;
	int64_t tat = tat_us < now_us ? now_us : tat_us;
	int64_t new_tat, allow_at;

	if (tat > now_us + window)
		tat = now_us + window;
	new_tat = tat + period_us;
	allow_at = new_tat - window;
	if (now_us < allow_at) {
		g.tat_us = tat;
		g.reset_us = tat - now_us;
		g.retry_us = allow_at - now_us;
		return g;
	}
	g.allowed = true;
	g.tat_us = new_tat;
	g.remaining = (now_us - allow_at) / period_us;
	g.reset_us = new_tat - now_us;
	return g;
}

enum st_err
gw_ratelimit_create(struct st_app *app, struct gw_ratelimit **out)
{
	struct gw_ratelimit *r = st_calloc(1, sizeof(*r));
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	const char *load[] = { "SCRIPT", "LOAD", script };

	r->redis = app->redis;
	r->limits[GW_CLASS_DEFAULT] = (int)st_config_int(app->config, "GATEWAY_RATE_DEFAULT");
	r->limits[GW_CLASS_HEALTH] = (int)st_config_int(app->config, "GATEWAY_RATE_HEALTH");
	r->fail_closed = st_config_bool(app->config, "GATEWAY_RATE_FAIL_CLOSED");
	atomic_init(&r->degraded, false);
	if (EVP_Digest(script, strlen(script), digest, &n, EVP_sha1(), NULL) != 1 ||
	    !st_hex_encode(digest, n, r->sha, sizeof(r->sha))) {
		st_log(ST_LOG_ERROR, "ratelimit", "cannot hash the script");
		st_free(r);
		*out = NULL;
		return ST_ERR_INTERNAL;
	}
	/* Loaded now when Redis is up; else on the first NOSCRIPT. */
	if (r->redis != NULL && st_redis_argv(r->redis, 3, load, NULL, NULL) != ST_OK)
		st_log(ST_LOG_WARN, "ratelimit", "script not loaded yet (Redis unreachable)");
	*out = r;
	return ST_OK;
}

void
gw_ratelimit_destroy(struct gw_ratelimit *r)
{
	st_free(r);
}

bool
gw_ratelimit_degraded(const struct gw_ratelimit *r)
{
	return r != NULL && atomic_load(&r->degraded);
}

static bool
is_noscript(const struct redisReply *reply)
{
	return reply != NULL && reply->type == REDIS_REPLY_ERROR && reply->str != NULL &&
	       strncmp(reply->str, "NOSCRIPT", 8) == 0;
}

/* Runs the script for key (and deny_key, may be NULL); fills v with its three integers. */
static enum st_err
run_script(struct gw_ratelimit *r, const char *key, const char *deny_key, int64_t period_us,
	   int burst, long long v[3])
{
	char period[24], bursts[16];
	const char *eval[7] = { "EVALSHA", r->sha, "1", key };
	const char *load[] = { "SCRIPT", "LOAD", script };
	struct redisReply *reply = NULL;
	int argc = 4;
	enum st_err rc;

	snprintf(period, sizeof(period), "%lld", (long long)period_us);
	snprintf(bursts, sizeof(bursts), "%d", burst);
	if (deny_key != NULL) {
		eval[2] = "2";
		eval[argc++] = deny_key;
	}
	eval[argc++] = period;
	eval[argc++] = bursts;
	rc = st_redis_argv(r->redis, argc, eval, NULL, &reply);
	if (rc == ST_ERR_INVALID && is_noscript(reply)) {
		freeReplyObject(reply);
		reply = NULL;
		rc = st_redis_argv(r->redis, 3, load, NULL, NULL);
		if (rc == ST_OK)
			rc = st_redis_argv(r->redis, argc, eval, NULL, &reply);
	}
	if (rc == ST_ERR_INVALID) {
		st_log(ST_LOG_ERROR, "ratelimit", "script failed: %s",
		       reply != NULL && reply->str != NULL ? reply->str : "?");
		goto out;
	}
	if (rc != ST_OK)
		goto out;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) {
		st_log(ST_LOG_ERROR, "ratelimit", "script answered an unexpected shape");
		rc = ST_ERR_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < 3; i++) {
		if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
			rc = ST_ERR_INTERNAL;
			goto out;
		}
		v[i] = reply->element[i]->integer;
	}
out:
	if (reply != NULL)
		freeReplyObject(reply);
	return rc;
}

static void
add_int_header(struct st_req *req, const char *name, long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", v);
	st_http_add_header(req, name, buf);
}

/* Whole seconds from microseconds, rounded up. */
static long long
ceil_s(int64_t us)
{
	return us <= 0 ? 0 : (long long)((us + 999999) / 1000000);
}

int
gw_ratelimit_check(struct st_req *req, struct gw_ratelimit *r, const char *key, enum gw_class cls,
		   const char *jti, bool *revoked)
{
	char rkey[KEY_MAX + 32], dkey[GW_JTI_MAX + 16];
	long long v[3];
	int limit;
	int64_t period;
	struct gw_gcra g;
	enum st_err rc = ST_ERR_UNAVAILABLE;

	if ((int)cls < 0 || cls >= GW_CLASS_COUNT)
		cls = GW_CLASS_DEFAULT;
	limit = r->limits[cls];
	period = MINUTE_US / limit;
	*revoked = false;
	snprintf(rkey, sizeof(rkey), "rl:%s:%.*s", class_names[cls], KEY_MAX, key);
	if (jti != NULL && *jti != '\0')
		snprintf(dkey, sizeof(dkey), "auth:deny:%.*s", GW_JTI_MAX, jti);
	if (r->redis != NULL)
		rc = run_script(r, rkey, jti != NULL && *jti != '\0' ? dkey : NULL, period, limit,
				v);
	if (rc != ST_OK) {
		if (!atomic_exchange(&r->degraded, true))
			st_log(ST_LOG_WARN, "ratelimit",
			       "Redis unreachable, requests %s, tokens not checked against the "
			       "denylist err=%s",
			       r->fail_closed ? "refused" : "not limited", st_err_str(rc));
		if (r->fail_closed && cls != GW_CLASS_HEALTH)
			return st_http_reply_unavailable(req, FAIL_RETRY_AFTER_S, "rate limiting");
		return 0;
	}
	if (atomic_exchange(&r->degraded, false))
		st_log(ST_LOG_INFO, "ratelimit", "Redis reachable again");
	if (v[0] == -1) {
		*revoked = true;
		return 0;
	}
	g = gw_gcra_step(v[2], v[1], period, limit);
	if (g.allowed != (v[0] == 1)) /* the script decides; the two formulas must agree */
		st_log(ST_LOG_ERROR, "ratelimit", "script and C arithmetic disagree");
	add_int_header(req, "RateLimit-Limit", limit);
	add_int_header(req, "RateLimit-Remaining", v[0] == 1 ? g.remaining : 0);
	add_int_header(req, "RateLimit-Reset", ceil_s(g.reset_us));
	if (v[0] != 1) {
		long long retry = ceil_s(g.retry_us);

		add_int_header(req, "Retry-After", retry < 1 ? 1 : retry);
		return st_http_reply_problem(req, 429, "rate limit exceeded");
	}
	return 0;
}
