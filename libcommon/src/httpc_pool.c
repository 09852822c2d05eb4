/*
 * The HTTP client's own keep-alive connections for streamed http:// calls (httpc_raw.c makes
 * the exchanges over them), and the blocking socket calls an exchange makes.
 *
 * Connections are kept per host and port, the most recently used first. One idle for more
 * than RAW_IDLE_MAX_MS is closed (services close theirs after HTTP_KEEP_ALIVE_MS, 5 s by
 * default), and one the peer closed meanwhile is noticed before use by a non-blocking peek.
 * With conf.pool_size, at most pool_size connections are open to one host and port; a call
 * finding all busy waits up to pool_wait_ms, then fails with ST_ERR_UNAVAILABLE. Sockets are
 * blocking, with SO_RCVTIMEO and SO_SNDTIMEO as the idle timeout, so that no poll is made on
 * the common path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "httpc_pool.h"
#include "slot_pool.h"
#include "strata/log.h"

#define RAW_TARGETS      16
#define RAW_IDLE_MAX_MS  4000
#define RAW_IDLE_KEEP    256 /* idle connections kept per target without pool_size */
#define RAW_POOL_WAIT_MS 1000

struct raw_target {
	char host[256];
	int port;
	struct raw_conn *idle; /* a stack: the most recently used last */
	int nidle, idle_cap;
	int open;             /* idle or in use */
	pthread_cond_t freed; /* one of its connections was given back or closed */
};

struct httpc_pool {
	struct st_httpc_conf conf;
	pthread_mutex_t mu;
	pthread_condattr_t monotonic; /* for the targets' condition variables */
	struct raw_target targets[RAW_TARGETS];
	int ntargets;
};

struct httpc_pool *
httpc_pool_create(const struct st_httpc_conf *conf)
{
	struct httpc_pool *r = st_calloc(1, sizeof(*r));

	r->conf = *conf;
	if (r->conf.pool_wait_ms <= 0)
		r->conf.pool_wait_ms = RAW_POOL_WAIT_MS;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&r->monotonic);
	pthread_condattr_setclock(&r->monotonic, CLOCK_MONOTONIC);
	return r;
}

void
httpc_pool_destroy(struct httpc_pool *r)
{
	if (r == NULL)
		return;
	for (int t = 0; t < r->ntargets; t++) {
		for (int i = 0; i < r->targets[t].nidle; i++)
			close(r->targets[t].idle[i].fd);
		st_free(r->targets[t].idle);
		pthread_cond_destroy(&r->targets[t].freed);
	}
	pthread_condattr_destroy(&r->monotonic);
	pthread_mutex_destroy(&r->mu);
	st_free(r);
}

/* ---- the pool ---- */

struct raw_target *
httpc_pool_target(struct httpc_pool *r, const char *host, int port)
{
	struct raw_target *t = NULL;

	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < r->ntargets && t == NULL; i++)
		if (r->targets[i].port == port && strcmp(r->targets[i].host, host) == 0)
			t = &r->targets[i];
	if (t == NULL && r->ntargets < RAW_TARGETS && strlen(host) < sizeof(t->host)) {
		t = &r->targets[r->ntargets++];
		st_strlcpy(t->host, host, sizeof(t->host));
		t->port = port;
		pthread_cond_init(&t->freed, &r->monotonic);
	}
	pthread_mutex_unlock(&r->mu);
	return t;
}

const char *
httpc_target_host(const struct raw_target *t)
{
	return t->host;
}

int
httpc_target_port(const struct raw_target *t)
{
	return t->port;
}

const struct st_httpc_conf *
httpc_pool_conf(const struct httpc_pool *r)
{
	return &r->conf;
}

/* True when an idle connection is still usable: nothing to read, no EOF, no error. */
static bool
idle_alive(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/*
 * Takes a live idle connection of t into *c (ST_OK, c->fd >= 0), or the right to open a new
 * one (ST_OK, c->fd == -1, counted in t->open); ST_ERR_UNAVAILABLE when the pool stayed full.
 * With fresh, idle connections are closed rather than used: the caller wants a new one.
 */
enum st_err
httpc_pool_take(struct httpc_pool *r, struct raw_target *t, struct raw_conn *c, bool fresh)
{
	struct timespec until;
	bool waited = false;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		if (t->nidle > 0) {
			*c = t->idle[--t->nidle];
			pthread_mutex_unlock(&r->mu);
			if (!fresh && st_now_mono_ms() - c->last_ms <= RAW_IDLE_MAX_MS &&
			    idle_alive(c->fd)) {
				c->reused = true;
				return ST_OK;
			}
			close(c->fd);
			pthread_mutex_lock(&r->mu);
			t->open--;
			continue;
		}
		if (r->conf.pool_size <= 0 || t->open < r->conf.pool_size) {
			t->open++;
			pthread_mutex_unlock(&r->mu);
			c->fd = -1;
			return ST_OK;
		}
		if (!waited) {
			slot_pool_deadline(&until, r->conf.pool_wait_ms);
			waited = true;
		}
		if (pthread_cond_timedwait(&t->freed, &r->mu, &until) == ETIMEDOUT) {
			pthread_mutex_unlock(&r->mu);
			st_log(ST_LOG_WARN, "httpc",
			       "every pooled connection to %s:%d busy for ms=%d size=%d", t->host,
			       t->port, r->conf.pool_wait_ms, r->conf.pool_size);
			return ST_ERR_UNAVAILABLE;
		}
	}
}

/* Gives c back to t: kept for the next call when keep, else closed (or never opened). */
void
httpc_pool_give(struct httpc_pool *r, struct raw_target *t, struct raw_conn *c, bool keep)
{
	int cap = r->conf.pool_size > 0 ? r->conf.pool_size : RAW_IDLE_KEEP;
	int64_t now = st_now_mono_ms();
	int expired = 0;

	pthread_mutex_lock(&r->mu);
	/* the bottom of the stack waited longest: close what a service has closed by now */
	while (expired < t->nidle && now - t->idle[expired].last_ms > RAW_IDLE_MAX_MS)
		close(t->idle[expired++].fd);
	if (expired > 0) {
		t->nidle -= expired;
		t->open -= expired;
		memmove(t->idle, t->idle + expired, (size_t)t->nidle * sizeof(*t->idle));
	}
	if (keep && c->fd >= 0 && t->nidle < cap) {
		if (t->nidle == t->idle_cap) {
			t->idle_cap = t->idle_cap > 0 ? t->idle_cap * 2 : 8;
			t->idle = st_realloc(t->idle, (size_t)t->idle_cap * sizeof(*t->idle));
		}
		c->last_ms = now;
		t->idle[t->nidle++] = *c;
	} else {
		if (c->fd >= 0)
			close(c->fd);
		t->open--;
	}
	c->fd = -1;
	pthread_cond_broadcast(&t->freed); /* expired ones may have made room for more than one */
	pthread_mutex_unlock(&r->mu);
}

/* ---- sockets ---- */

void
httpc_conn_timeouts(struct raw_conn *c, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (c->timeout_ms == ms)
		return;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->timeout_ms = ms;
}

/* Connects one address within ms; the socket comes back blocking. */
static int
connect_addr(const struct addrinfo *ai, int ms)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			ai->ai_protocol);
	int one = 1, err = 0;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		int n = -1;

		if (errno == EINPROGRESS)
			while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR)
				;
		if (n != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			close(fd);
			return -1;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

enum st_err
httpc_conn_open(struct httpc_pool *r, const struct raw_target *t, struct raw_conn *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *list = NULL;
	char port[8];
	int ms = r->conf.connect_timeout_ms > 0 ? r->conf.connect_timeout_ms : 1000;

	snprintf(port, sizeof(port), "%d", t->port);
	if (getaddrinfo(t->host, port, &hints, &list) != 0)
		return ST_ERR_UNAVAILABLE;
	c->fd = -1;
	for (struct addrinfo *ai = list; ai != NULL && c->fd < 0; ai = ai->ai_next)
		c->fd = connect_addr(ai, ms);
	freeaddrinfo(list);
	c->timeout_ms = -1;
	c->reused = false;
	return c->fd >= 0 ? ST_OK : ST_ERR_UNAVAILABLE;
}

/* How a failed send or receive reads: the idle timeout, or the peer gone. */
static enum st_err
io_error(void)
{
	return (errno == EAGAIN || errno == EWOULDBLOCK) ? ST_ERR_TIMEOUT : ST_ERR_IO;
}

enum st_err
httpc_send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return io_error();
		buf += n;
		len -= (size_t)n;
	}
	return ST_OK;
}

/* Receives into buf; 0 at EOF. */
enum st_err
httpc_recv_some(int fd, char *buf, size_t cap, size_t *got)
{
	for (;;) {
		ssize_t n = recv(fd, buf, cap, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_error();
		*got = (size_t)n;
		return ST_OK;
	}
}

/* True when the peer has something to say (an early answer) or has gone. */
bool
httpc_peer_spoke(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR)
		;
	return n == 1;
}
