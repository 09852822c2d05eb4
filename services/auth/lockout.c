/*
 * Brute-force lockout: failed logins counted in Redis, and blocks with a growing back-off.
 *
 * The design, and why:
 *  - Two counters per failed attempt, each over a sliding window of AUTH_LOCKOUT_WINDOW_S (the
 *    window restarts at every failure, so a slow, steady guesser keeps its count):
 *      auth:fail:acct:<sha256 of the lower-cased email>:<address>   the (account, address) pair
 *      auth:fail:ip:<address>                                        the address, any account
 *  - At AUTH_LOCKOUT_MAX failures of a pair, that pair is blocked; at AUTH_LOCKOUT_ADDR_MAX
 *    failures of an address, the address is blocked for every account. A block is a key with a
 *    TTL (auth:lock:acct:<hash>:<address>, auth:lock:ip:<address>); while it lives, login
 *    answers 429 with Retry-After without looking at the password, and the attempt is not
 *    counted. Each failure past the threshold (so, each attempt after a block ran out) doubles
 *    the block: 60 s, 120 s, 240 s, ... capped at one hour.
 *  - The account is locked per address, never globally: an attacker elsewhere who guesses at
 *    someone's email blocks only himself, and the owner, from their own address, still gets
 *    in. Guessing at one account from many addresses is slowed by each address's own limit
 *    and by the cost of Argon2id; guessing at many accounts from one address by the address
 *    limit, which is set higher than the pair limit so that one office behind one NAT does
 *    not lock itself out over a few typos.
 *  - A success clears its pair's counter and block, not the address's count: a valid password
 *    for one account must not wipe the evidence of guessing at others.
 *  - Counting is atomic (INCR and EXPIRE of both counters in one Lua script). Setting the
 *    block after it is a second command: two concurrent failures may both set it, to the same
 *    or a neighbouring length, which is harmless.
 *  - Redis down: logins are allowed (fail open) with a warning; Argon2id still makes each
 *    guess slow, and the alternative would lock everybody out.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "identity.h"
#include "strata/encode.h"
#include "strata/log.h"
#include "strata/redis.h"

#define LOCKOUT_BASE_S 60   /* the first block */
#define LOCKOUT_CAP_S  3600 /* the longest block */

ST_STATIC int lockout_backoff_s(long long failures, long long max);

/* INCR and EXPIRE both counters; returns {pair count, address count}. */
static const char fail_script[] = "local p = redis.call('INCR', KEYS[1]) "
				  "redis.call('EXPIRE', KEYS[1], ARGV[1]) "
				  "local a = redis.call('INCR', KEYS[2]) "
				  "redis.call('EXPIRE', KEYS[2], ARGV[1]) "
				  "return {p, a}";

/* The remaining seconds of both blocks (-2 when absent). */
static const char check_script[] = "return {redis.call('TTL', KEYS[1]), "
				   "redis.call('TTL', KEYS[2])}";

/*
 * How long to block after `failures` failures when the threshold is max: 0 below it, then
 * LOCKOUT_BASE_S doubled for every failure past it, at most LOCKOUT_CAP_S.
 */
ST_STATIC int
lockout_backoff_s(long long failures, long long max)
{
	long long excess = failures - max;

	if (max < 1 || failures < max)
		return 0;
	if (excess >= 30)
		return LOCKOUT_CAP_S;
	excess = (long long)LOCKOUT_BASE_S << excess;
	return excess > LOCKOUT_CAP_S ? LOCKOUT_CAP_S : (int)excess;
}

void
auth_attempt_init(struct auth_attempt *a, const char *email, const char *addr)
{
	char lower[256];
	size_t n = 0;

	for (; email[n] != '\0' && n < sizeof(lower) - 1; n++)
		lower[n] = (email[n] >= 'A' && email[n] <= 'Z') ? (char)(email[n] - 'A' + 'a')
								: email[n];
	lower[n] = '\0';
	st_sha256_hex(lower, n, a->account);
	st_strlcpy(a->addr, addr, sizeof(a->addr));
}

/* The four keys of an attempt. */
struct keys {
	char pair_fail[160], pair_lock[160], addr_fail[80], addr_lock[80];
};

static void
keys_make(const struct auth_attempt *a, struct keys *k)
{
	snprintf(k->pair_fail, sizeof(k->pair_fail), "auth:fail:acct:%s:%s", a->account, a->addr);
	snprintf(k->pair_lock, sizeof(k->pair_lock), "auth:lock:acct:%s:%s", a->account, a->addr);
	snprintf(k->addr_fail, sizeof(k->addr_fail), "auth:fail:ip:%s", a->addr);
	snprintf(k->addr_lock, sizeof(k->addr_lock), "auth:lock:ip:%s", a->addr);
}

/* Runs script over two keys with optional argument arg; *out gets an array of two integers. */
static enum st_err
eval2(struct st_app *app, const char *script, const char *k1, const char *k2, const char *arg,
      long long out[2])
{
	const char *argv[] = { "EVAL", script, "2", k1, k2, arg };
	redisReply *reply = NULL;
	enum st_err rc;

	rc = st_redis_argv(app->redis, arg != NULL ? 6 : 5, argv, NULL, &reply);
	if (rc != ST_OK)
		goto out;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_INTEGER) {
		rc = ST_ERR_INTERNAL;
		goto out;
	}
	out[0] = reply->element[0]->integer;
	out[1] = reply->element[1]->integer;
out:
	if (reply != NULL)
		freeReplyObject(reply);
	return rc;
}

bool
auth_lockout_blocked(struct st_app *app, const struct auth_attempt *a, int *retry_after_s)
{
	struct keys k;
	long long ttl[2];
	enum st_err rc;

	*retry_after_s = 0;
	keys_make(a, &k);
	rc = eval2(app, check_script, k.pair_lock, k.addr_lock, NULL, ttl);
	if (rc != ST_OK) {
		st_log(ST_LOG_WARN, "lockout",
		       "cannot check the lockout (%s): allowing the attempt", st_err_str(rc));
		return false;
	}
	for (int i = 0; i < 2; i++) {
		/* -1: a block without expiry, which this code never makes; treat as the cap. */
		long long s = ttl[i] == -1 ? LOCKOUT_CAP_S : ttl[i];

		if (s > *retry_after_s)
			*retry_after_s = (int)s;
	}
	/* TTL rounds down: a block with 0.4 s left reads 0 and still stands. */
	if (ttl[0] >= 0 || ttl[1] >= 0 || ttl[0] == -1 || ttl[1] == -1) {
		if (*retry_after_s < 1)
			*retry_after_s = 1;
		return true;
	}
	return false;
}

/* Sets key to block for secs seconds. */
static void
block(struct st_app *app, const char *key, int secs)
{
	char value[16];
	enum st_err rc;

	snprintf(value, sizeof(value), "%d", secs);
	rc = st_redis_cmd(app->redis, NULL, "SET %s %s EX %d", key, value, secs);
	if (rc != ST_OK)
		st_log(ST_LOG_WARN, "lockout", "cannot set a block (%s)", st_err_str(rc));
}

void
auth_lockout_failed(struct st_app *app, const struct auth_attempt *a, struct auth_lock *lock)
{
	const struct auth *auth = app->state;
	struct keys k;
	char window[16];
	long long counts[2];
	enum st_err rc;

	memset(lock, 0, sizeof(*lock));
	keys_make(a, &k);
	snprintf(window, sizeof(window), "%d", auth->lockout_window_s);
	rc = eval2(app, fail_script, k.pair_fail, k.addr_fail, window, counts);
	if (rc != ST_OK) {
		st_log(ST_LOG_WARN, "lockout", "cannot count a failed login (%s)", st_err_str(rc));
		return;
	}
	lock->account_s = lockout_backoff_s(counts[0], auth->lockout_max);
	lock->addr_s = lockout_backoff_s(counts[1], auth->lockout_addr_max);
	if (lock->account_s > 0)
		block(app, k.pair_lock, lock->account_s);
	if (lock->addr_s > 0)
		block(app, k.addr_lock, lock->addr_s);
}

void
auth_lockout_succeeded(struct st_app *app, const struct auth_attempt *a)
{
	struct keys k;
	enum st_err rc;

	keys_make(a, &k);
	rc = st_redis_cmd(app->redis, NULL, "DEL %s %s", k.pair_fail, k.pair_lock);
	if (rc != ST_OK)
		st_log(ST_LOG_WARN, "lockout", "cannot clear the failure count (%s)",
		       st_err_str(rc));
}
