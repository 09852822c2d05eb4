/*
 * Redis on hiredis: a small pool of connections that reconnects after the server restarts.
 * A command that fails because the connection was lost is sent once more on a fresh
 * connection, so a Redis restart costs callers nothing but a little latency; while Redis is
 * down calls fail fast with ST_ERR_UNAVAILABLE. Thread-safe.
 */
#ifndef STRATA_REDIS_H
#define STRATA_REDIS_H

#include "strata/core.h"

struct redisReply;

struct st_redis_conf {
	const char *url;    /* redis://[:password@]host:port[/db]; required */
	int size;           /* maximum connections, >= 1 */
	int timeout_ms;     /* connect and command timeout */
};

struct st_redis;

/* Creates the pool. ST_ERR_INVALID for a bad URL (*out NULL); an unreachable server is not an
 * error here: connections are made on first use. */
enum st_err st_redis_create(const struct st_redis_conf *conf, struct st_redis **out);
void st_redis_destroy(struct st_redis *r);

/*
 * Runs one command given as arguments (binary-safe; lens may be NULL for NUL-terminated
 * strings). *out receives the reply, which the caller frees with freeReplyObject; a Redis
 * error reply is returned as ST_ERR_INVALID with the reply in *out. ST_ERR_UNAVAILABLE when
 * the server cannot be reached even after one reconnect.
 */
enum st_err st_redis_argv(struct st_redis *r, int argc, const char *const *argv,
			  const size_t *lens, struct redisReply **out);

/* The same with a hiredis format string ("SET %s %b"); convenient for fixed commands. */
enum st_err st_redis_cmd(struct st_redis *r, struct redisReply **out, const char *fmt, ...);

/* PING with the configured timeout: for /readyz. */
enum st_err st_redis_ping(struct st_redis *r);

#endif
