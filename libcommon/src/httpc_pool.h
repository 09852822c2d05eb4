/*
 * The HTTP client's own keep-alive sockets (httpc_pool.c), as httpc_raw.c uses them: a
 * connection taken from the pool for one exchange and given back, and the blocking socket
 * calls that exchange makes.
 */
#ifndef STRATA_HTTPC_POOL_H
#define STRATA_HTTPC_POOL_H

#include "httpc_int.h"

/* One connection, on the caller's stack for the length of an exchange. */
struct raw_conn {
	int fd;
	int64_t last_ms; /* when it last finished an exchange */
	int timeout_ms;  /* its SO_RCVTIMEO and SO_SNDTIMEO */
	bool reused;     /* it carried an exchange before this one */
};

/* A host and port, and its connections. Lives as long as the pool. */
struct raw_target;

/* The configuration the pool was made with. Borrowed. */
const struct st_httpc_conf *httpc_pool_conf(const struct httpc_pool *p);

/* The target for host:port, made when new; NULL when the pool keeps as many as it can. */
struct raw_target *httpc_pool_target(struct httpc_pool *p, const char *host, int port);
/* The target's host (without brackets) and port. Borrowed. */
const char *httpc_target_host(const struct raw_target *t);
int httpc_target_port(const struct raw_target *t);

/*
 * Takes a live idle connection of t into *c (ST_OK, c->fd >= 0), or the right to open a new
 * one (ST_OK, c->fd == -1: httpc_conn_open); ST_ERR_UNAVAILABLE when the pool stayed full for
 * pool_wait_ms. With fresh, idle connections are closed rather than used. May block.
 */
enum st_err httpc_pool_take(struct httpc_pool *p, struct raw_target *t, struct raw_conn *c,
			    bool fresh);
/* Gives c back to t: kept for the next call when keep, else closed (or never opened). */
void httpc_pool_give(struct httpc_pool *p, struct raw_target *t, struct raw_conn *c, bool keep);

/* Connects c to t within the connect timeout. ST_ERR_UNAVAILABLE when it cannot. */
enum st_err httpc_conn_open(struct httpc_pool *p, const struct raw_target *t, struct raw_conn *c);
/* Sets c's send and receive timeouts (the idle timeout of its exchange). */
void httpc_conn_timeouts(struct raw_conn *c, int ms);

/* Sends all of buf. ST_ERR_TIMEOUT after the idle timeout, ST_ERR_IO when the peer went. */
enum st_err httpc_send_all(int fd, const char *buf, size_t len);
/* Receives what has come into buf, up to cap; *got 0 at EOF. Errors as httpc_send_all. */
enum st_err httpc_recv_some(int fd, char *buf, size_t cap, size_t *got);
/* True when the peer has something to say (an early answer) or has gone, within ms. */
bool httpc_peer_spoke(int fd, int ms);

#endif
