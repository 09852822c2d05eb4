/*
 * Redis on hiredis: a small pool of connections that reconnects after the server restarts.
 * A command that fails because the connection was lost is sent once more on a fresh
 * connection, so a Redis restart costs callers nothing but a little latency; while Redis is
 * down calls fail fast with ST_ERR_UNAVAILABLE. A command the server did not answer in time is
 * not resent (it may have run). Thread-safe; SIGPIPE from a dead socket is absorbed in the
 * calling thread, so the process need not ignore it.
 */
#ifndef STRATA_REDIS_H
#define STRATA_REDIS_H

#include "strata/core.h"

struct redisReply;

struct st_redis_conf {
	const char *url; /* redis://[[user]:password@]host[:port][/db]; required. The port
			    defaults to 6379, the db to 0; user and password may be
			    percent-encoded. No TLS (rediss://) */
	int size;        /* maximum connections, >= 1 */
	int timeout_ms;  /* connect and command timeout, and the longest wait for a free
			    connection; >= 1 */
};

struct st_redis;

/* Creates the pool. ST_ERR_INVALID for a bad URL or settings (*out NULL; the URL is not
 * logged); an unreachable server is not an error here: connections are made on first use. */
enum st_err st_redis_create(const struct st_redis_conf *conf, struct st_redis **out);
/* Closes every connection. Accepts NULL. No call may be in progress. */
void st_redis_destroy(struct st_redis *r);

/*
 * Runs one command given as arguments (binary-safe; lens may be NULL for NUL-terminated
 * strings). *out (may be NULL when the reply is not wanted) receives the reply, which the
 * caller frees with freeReplyObject; a Redis error reply is returned as ST_ERR_INVALID with the
 * reply in *out. ST_ERR_UNAVAILABLE when the server cannot be reached even after one reconnect
 * (or refuses AUTH/SELECT; logged); ST_ERR_TIMEOUT when the server did not answer within
 * timeout_ms (not resent) or no pooled connection became free in time. *out is NULL on every
 * error but ST_ERR_INVALID.
 */
enum st_err st_redis_argv(struct st_redis *r, int argc, const char *const *argv, const size_t *lens,
			  struct redisReply **out);

/* The same with a hiredis format string ("SET %s %b"); convenient for fixed commands. */
enum st_err st_redis_cmd(struct st_redis *r, struct redisReply **out, const char *fmt, ...);

/* PING with the configured timeout: for /readyz. */
enum st_err st_redis_ping(struct st_redis *r);

#endif
