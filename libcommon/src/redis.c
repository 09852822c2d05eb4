/*
 * Redis on hiredis 0.14 (see redis.h): a small pool of blocking contexts, one per thread at a
 * time. At checkout an idle context whose socket is readable is dropped (Redis never speaks
 * first, so that is EOF after a restart, or garbage). A command that fails with an I/O error
 * frees its context, reconnects once and is sent once more; a second failure, or a server that
 * refuses the connection, is ST_ERR_UNAVAILABLE at once, so callers fail fast while Redis is
 * down. A command timeout is ST_ERR_TIMEOUT and is not resent: it may have run. The checkout
 * of a context (the mutex, the wait, the in-use flags) is slot_pool.c's, shared with db.c.
 *
 * The health look at checkout (a poll) is skipped for a context used within the last
 * REDIS_FRESH_MS: one that died since is caught by the resend.
 *
 * hiredis writes with write(2), which raises SIGPIPE on a socket the server has closed. In a
 * process that has not ignored the signal when the pool is created, each call blocks SIGPIPE in
 * the calling thread and consumes one it raised, as libpq does; services ignore it
 * (st_service_main), which spares four system calls a command.
 */
#define _GNU_SOURCE
#include "strata/redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "slot_pool.h"
#include "strata/encode.h"
#include "strata/log.h"

#define REDIS_HOST_MAX     256
#define REDIS_SECRET_MAX   256
#define REDIS_DEFAULT_PORT 6379
#define REDIS_FRESH_MS     1000

struct redis_slot {
	redisContext *c; /* NULL when closed; only the slot's taker touches it */
	bool was_open;
	int64_t used_ms; /* monotonic, when a command last succeeded on c */
};

struct st_redis {
	char host[REDIS_HOST_MAX];
	int port;
	char user[REDIS_SECRET_MAX];
	char password[REDIS_SECRET_MAX];
	int db;
	int timeout_ms;
	bool guard_sigpipe; /* SIGPIPE was not ignored at creation: block it around calls */

	struct slot_pool pool;
	struct redis_slot *slots; /* pool.size of them */
	bool down;                /* under pool.mu: the last connect failed; log an outage once */
};

/* One command: an argument vector, or a hiredis format with its arguments. */
struct redis_cmd {
	int argc;
	const char *const *argv;
	const size_t *lens;
	const char *fmt;
	va_list *ap;
};

ST_STATIC enum st_err redis_url_parse(const char *url, char *host, size_t host_cap, int *port,
				      char *user, size_t user_cap, char *password,
				      size_t password_cap, int *db);

/* Copies [s, end) into dst, decoding %XX; false when it does not fit, is badly encoded, or
 * decodes to a NUL byte. */
static bool
copy_decoded(char *dst, size_t cap, const char *s, const char *end)
{
	size_t n = 0;

	while (s < end) {
		char c = *s++;

		if (c == '%') {
			int hi = end - s >= 2 ? st_hex_digit(s[0]) : -1;
			int lo = end - s >= 2 ? st_hex_digit(s[1]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			c = (char)(hi * 16 + lo);
			s += 2;
		}
		if (n + 1 >= cap)
			return false;
		dst[n++] = c;
	}
	dst[n] = '\0';
	return true;
}

/* Parses a decimal number in [s, end) within [min, max]; false for anything else. */
static bool
parse_int(const char *s, const char *end, int min, int max, int *out)
{
	long v = 0;

	if (s == end || end - s > 10)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	if (v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

/*
 * Parses redis://[[user]:password@]host[:port][/db]. The host may be a name, an IPv4 address
 * or a bracketed IPv6 address; the port defaults to 6379 and the database to 0; user and
 * password may be percent-encoded. Writes "" for an absent user or password. ST_ERR_INVALID for
 * anything else (another scheme, rediss:// included, a query string, an empty host, a port out
 * of range, a database that is not a number); the outputs are unspecified then.
 */
ST_STATIC enum st_err
redis_url_parse(const char *url, char *host, size_t host_cap, int *port, char *user,
		size_t user_cap, char *password, size_t password_cap, int *db)
{
	static const char scheme[] = "redis://";
	const char *p, *end, *at, *hs, *he, *colon;
	enum st_err rc = ST_ERR_INVALID;

	if (host_cap == 0 || user_cap == 0 || password_cap == 0)
		return ST_ERR_INVALID;
	host[0] = user[0] = password[0] = '\0';
	*port = REDIS_DEFAULT_PORT;
	*db = 0;
	if (url == NULL || strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		goto out;
	p = url + sizeof(scheme) - 1;
	end = p + strcspn(p, "/?#");
	if (*end == '?' || *end == '#')
		goto out;

	/* Credentials: everything up to the last '@' of the authority. */
	at = NULL;
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			at = q;
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL)
			goto out; /* "secret@host" is ambiguous: a password needs its colon */
		if (!copy_decoded(user, user_cap, p, colon) ||
		    !copy_decoded(password, password_cap, colon + 1, at) || password[0] == '\0')
			goto out;
		p = at + 1;
	}

	/* Host, then an optional port. */
	if (*p == '[') {
		hs = p + 1;
		he = memchr(hs, ']', (size_t)(end - hs));
		if (he == NULL)
			goto out;
		p = he + 1;
	} else {
		hs = p;
		he = memchr(hs, ':', (size_t)(end - hs));
		if (he == NULL)
			he = end;
		p = he;
	}
	if (he == hs || (size_t)(he - hs) >= host_cap)
		goto out;
	for (const char *q = hs; q < he; q++)
		if (*q == '%' || *q == '@' || *q == ' ' || *q == '[' || *q == ']')
			goto out;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (*p == ':') {
		if (!parse_int(p + 1, end, 1, 65535, port))
			goto out;
	} else if (p != end) {
		goto out;
	}

	/* An optional database number after the slash; "/" alone is database 0. */
	if (*end == '/' && end[1] != '\0') {
		const char *ds = end + 1;

		if (!parse_int(ds, ds + strlen(ds), 0, INT_MAX, db))
			goto out;
	}
	rc = ST_OK;
out:
	return rc;
}

/* Blocks SIGPIPE in this thread for the duration of a call; see the file comment. */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
	bool active;
};

static void
sigpipe_block(struct sigpipe_guard *g, bool needed)
{
	sigset_t set, pending;

	g->active = needed;
	if (!needed)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void
sigpipe_restore(struct sigpipe_guard *g)
{
	sigset_t set, pending;
	struct timespec zero = { 0, 0 };

	if (!g->active)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	/* Consume a SIGPIPE this call raised, unless one was pending before (not ours). */
	if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1)
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static struct timeval
timeval_of_ms(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	return tv;
}

/* Sends one setup command on a fresh context; false when it failed or was refused. */
static bool
setup_command(redisContext *c, int argc, const char **argv)
{
	redisReply *reply = redisCommandArgv(c, argc, argv, NULL);
	bool ok = reply != NULL && reply->type != REDIS_REPLY_ERROR;

	if (reply != NULL && !ok) /* a refusal names no secret: "WRONGPASS invalid ..." */
		st_log(ST_LOG_WARN, "redis", "%s refused: %.*s", argv[0],
		       (int)(reply->len > 200 ? 200 : reply->len), reply->str);
	freeReplyObject(reply);
	return ok;
}

/* Opens a context for the slot (which the caller owns): connect, AUTH, SELECT. */
static enum st_err
slot_connect(struct st_redis *r, struct redis_slot *s)
{
	struct timeval tv = timeval_of_ms(r->timeout_ms);
	redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
	char why[160] = "out of memory";
	enum st_err rc = ST_ERR_UNAVAILABLE;
	bool was_down;
	char dbs[16];

	if (c == NULL)
		goto out;
	if (c->err != 0) {
		st_strlcpy(why, c->errstr, sizeof(why));
		goto out;
	}
	st_strlcpy(why, "setup failed", sizeof(why));
	if (redisSetTimeout(c, tv) != REDIS_OK)
		goto out;
	if (r->password[0] != '\0') {
		const char *auth_user[] = { "AUTH", r->user, r->password };
		const char *auth[] = { "AUTH", r->password };
		bool ok = r->user[0] != '\0' ? setup_command(c, 3, auth_user)
					     : setup_command(c, 2, auth);
		if (!ok)
			goto out;
	}
	if (r->db != 0) {
		const char *sel[] = { "SELECT", dbs };

		snprintf(dbs, sizeof(dbs), "%d", r->db);
		if (!setup_command(c, 2, sel))
			goto out;
	}
	rc = ST_OK;
out:
	pthread_mutex_lock(&r->pool.mu);
	was_down = r->down;
	r->down = (rc != ST_OK);
	pthread_mutex_unlock(&r->pool.mu);
	if (rc != ST_OK) {
		redisFree(c);
		if (!was_down)
			st_log(ST_LOG_WARN, "redis", "connect failed host=%s port=%d detail=%s",
			       r->host, r->port, why);
	} else {
		if (was_down)
			st_log(ST_LOG_INFO, "redis", "connected again after an outage");
		s->c = c;
		s->was_open = true;
	}
	return rc;
}

static void
slot_close(struct redis_slot *s)
{
	redisFree(s->c);
	s->c = NULL;
}

/* An idle context must have nothing to read: Redis never speaks first. */
static bool
slot_healthy(struct redis_slot *s)
{
	struct pollfd p;

	if (s->c == NULL || s->c->err != 0)
		return false;
	p.fd = s->c->fd;
	p.events = POLLIN;
	p.revents = 0;
	return poll(&p, 1, 0) == 0;
}

/* For slot_pool_take, under pool.mu: whether free slot i holds an open context. */
static bool
slot_is_open(void *ctx, int i)
{
	struct st_redis *r = ctx;

	return r->slots[i].c != NULL;
}

/* Takes a free slot, preferring an open one, waiting up to the timeout. */
static enum st_err
slot_take(struct st_redis *r, struct redis_slot **out)
{
	enum st_err rc;
	int i;

	rc = slot_pool_take(&r->pool, r->timeout_ms, slot_is_open, r, &i);
	*out = rc == ST_OK ? &r->slots[i] : NULL;
	return rc;
}

static void
slot_give(struct st_redis *r, struct redis_slot *s)
{
	slot_pool_give(&r->pool, (int)(s - r->slots));
}

static redisReply *
send_cmd(redisContext *c, const struct redis_cmd *cmd)
{
	va_list ap;
	void *reply;

	if (cmd->fmt == NULL)
		return redisCommandArgv(c, cmd->argc, (const char **)cmd->argv, cmd->lens);
	va_copy(ap, *cmd->ap);
	reply = redisvCommand(c, cmd->fmt, ap);
	va_end(ap);
	return reply;
}

/*
 * Runs one command on a pooled context: at most two sends, the second on a fresh connection
 * after an I/O error on the first. See the file comment for the errors.
 */
static enum st_err
run(struct st_redis *r, const struct redis_cmd *cmd, redisReply **out)
{
	struct sigpipe_guard guard;
	struct redis_slot *s = NULL;
	redisReply *reply = NULL;
	enum st_err rc;

	if (out != NULL)
		*out = NULL;
	rc = slot_take(r, &s);
	if (rc != ST_OK) {
		st_log(ST_LOG_WARN, "redis", "no connection free in time timeout_ms=%d",
		       r->timeout_ms);
		goto out;
	}
	sigpipe_block(&guard, r->guard_sigpipe);
	if (s->c != NULL && st_now_mono_ms() - s->used_ms > REDIS_FRESH_MS && !slot_healthy(s)) {
		st_log(ST_LOG_INFO, "redis", "pooled connection lost, reconnecting");
		slot_close(s);
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		int saved_errno;

		if (s->c == NULL) {
			rc = slot_connect(r, s);
			if (rc != ST_OK)
				break;
		}
		errno = 0;
		reply = send_cmd(s->c, cmd);
		saved_errno = errno;
		if (reply != NULL) {
			rc = ST_OK;
			s->used_ms = st_now_mono_ms();
			break;
		}
		/* The stream is out of step or gone either way: this context is done. */
		if (s->c->err == REDIS_ERR_IO &&
		    (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)) {
			st_log(ST_LOG_WARN, "redis", "command timed out timeout_ms=%d",
			       r->timeout_ms);
			slot_close(s);
			rc = ST_ERR_TIMEOUT;
			break;
		}
		if (attempt == 0)
			st_log(ST_LOG_INFO, "redis", "connection lost, resending detail=%s",
			       s->c->errstr);
		else
			st_log(ST_LOG_WARN, "redis", "command failed after a reconnect detail=%s",
			       s->c->errstr);
		slot_close(s);
		rc = ST_ERR_UNAVAILABLE;
	}
	sigpipe_restore(&guard);
	slot_give(r, s);
	if (rc != ST_OK)
		goto out;
	if (reply->type == REDIS_REPLY_ERROR)
		rc = ST_ERR_INVALID;
	if (out != NULL) {
		*out = reply;
		reply = NULL; /* the caller owns it */
	}
out:
	freeReplyObject(reply);
	return rc;
}

enum st_err
st_redis_create(const struct st_redis_conf *conf, struct st_redis **out)
{
	struct st_redis *r = NULL;
	enum st_err rc = ST_ERR_INVALID;

	*out = NULL;
	if (conf == NULL || conf->size < 1 || conf->timeout_ms < 1) {
		st_log(ST_LOG_ERROR, "redis", "invalid settings: size >= 1 and timeout_ms >= 1");
		goto out;
	}
	r = st_calloc(1, sizeof(*r));
	if (redis_url_parse(conf->url, r->host, sizeof(r->host), &r->port, r->user, sizeof(r->user),
			    r->password, sizeof(r->password), &r->db) != ST_OK) {
		/* The URL may carry the password: say what is expected, not what was given. */
		st_log(ST_LOG_ERROR, "redis",
		       "invalid redis url: expected redis://[[user]:password@]host[:port][/db]");
		st_free(r);
		r = NULL;
		goto out;
	}
	r->timeout_ms = conf->timeout_ms;
	{
		struct sigaction sa;

		r->guard_sigpipe = sigaction(SIGPIPE, NULL, &sa) != 0 || sa.sa_handler != SIG_IGN;
	}
	r->slots = st_calloc((size_t)conf->size, sizeof(*r->slots));
	slot_pool_init(&r->pool, conf->size);
	*out = r;
	rc = ST_OK;
out:
	return rc;
}

void
st_redis_destroy(struct st_redis *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < r->pool.size; i++)
		redisFree(r->slots[i].c);
	slot_pool_cleanup(&r->pool);
	/* Do not leave the password in freed memory. */
	memset(r->password, 0, sizeof(r->password));
	st_free(r->slots);
	st_free(r);
}

enum st_err
st_redis_argv(struct st_redis *r, int argc, const char *const *argv, const size_t *lens,
	      struct redisReply **out)
{
	struct redis_cmd cmd = { argc, argv, lens, NULL, NULL };

	if (out != NULL)
		*out = NULL;
	if (r == NULL || argc < 1 || argv == NULL)
		return ST_ERR_INVALID;
	return run(r, &cmd, out);
}

enum st_err
st_redis_cmd(struct st_redis *r, struct redisReply **out, const char *fmt, ...)
{
	struct redis_cmd cmd = { 0, NULL, NULL, fmt, NULL };
	va_list ap;
	enum st_err rc;

	if (out != NULL)
		*out = NULL;
	if (r == NULL || fmt == NULL)
		return ST_ERR_INVALID;
	va_start(ap, fmt);
	cmd.ap = &ap;
	rc = run(r, &cmd, out);
	va_end(ap);
	return rc;
}

enum st_err
st_redis_ping(struct st_redis *r)
{
	static const char *const argv[] = { "PING" };
	redisReply *reply = NULL;
	enum st_err rc = st_redis_argv(r, 1, argv, NULL, &reply);

	if (rc == ST_OK && (reply->type != REDIS_REPLY_STATUS || strcmp(reply->str, "PONG") != 0))
		rc = ST_ERR_INTERNAL;
	freeReplyObject(reply);
	return rc;
}
