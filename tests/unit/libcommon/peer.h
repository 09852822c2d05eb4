/*
 * Raw peers for the unit runner: sockets owned by a test that speak bytes, on 127.0.0.1 and a
 * port the system picks (so that tests running at once never meet), with no server of the
 * suite needed.
 *
 * A peer server plays an upstream to the HTTP client: on its own thread it accepts, reads
 * each request head and lets the test's answer function write whatever bytes it likes. A raw
 * client plays a client to libcommon's HTTP server: it sends bytes and reads what comes back
 * until the server closes. And an exchange recorder (struct xfer) runs one st_httpc_stream
 * call and keeps what came of it.
 */
#ifndef STRATA_TEST_PEER_H
#define STRATA_TEST_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/core.h"
#include "strata/httpc.h"

/* ---- a peer server ---- */

struct peer;

/* Answers the nth request (from 0) of a connection on fd; false closes the connection. The
 * head of that request is in peer_last_request. */
typedef bool peer_answer_fn(struct peer *p, int fd, int nth, void *ctx);

/* Starts a peer server; fails the test when it cannot. End it with peer_stop. */
struct peer *peer_start(peer_answer_fn *answer, void *ctx);
/* Stops accepting, ends every connection's thread, frees p. */
void peer_stop(struct peer *p);

int peer_port(const struct peer *p);
/* "http://127.0.0.1:<port><path>" into buf. */
void peer_url(const struct peer *p, const char *path, char *buf, size_t cap);
/* Connections accepted and request heads read so far. */
int peer_accepted(struct peer *p);
int peer_requests(struct peer *p);
/* Copies the last request head read (NUL-terminated, cut to cap) into buf. */
void peer_last_request(struct peer *p, char *buf, size_t cap);

/* Sends all of data (ignoring a peer gone). */
void peer_send(int fd, const void *data, size_t len);
/* Sends a NUL-terminated string. */
void peer_send_str(int fd, const char *s);
/* Reads and drops until the other side closes or the peer stops, so that closing never
 * resets an answer not yet read. */
void peer_drain(struct peer *p, int fd);
/* True when the peer is stopping: an answer function that loops must watch it. */
bool peer_stopping(struct peer *p);

/* A port where nothing listens (bound, then closed). */
int peer_closed_port(void);

/* ---- a raw client ---- */

/* Connects to 127.0.0.1:port; fails the test when it cannot. */
int raw_connect(int port);
/*
 * Sends request, then reads into buf (cap bytes, NUL-terminated) until the server closes or
 * nothing arrives for idle_ms. Returns the bytes read; *closed tells which ended it.
 */
size_t raw_exchange(int fd, const char *request, char *buf, size_t cap, int idle_ms, bool *closed);

/* ---- one st_httpc_stream exchange, recorded ---- */

struct xfer {
	/* the request */
	const char *const *headers;
	const char *request_id;
	int idle_ms;
	bool upload;      /* a body of up_size bytes ('u') from the read callback */
	int64_t body_len; /* as st_httpc_stream.body_len */
	uint64_t up_size, up_sent;
	/* the answer */
	int heads; /* calls of on_head */
	long status;
	size_t nheaders;
	char names[32][64];
	char values[32][256];
	char body[4096]; /* the first bytes, NUL-terminated */
	uint64_t len;    /* every body byte */
};

/* Clears x: no headers, a 2 s idle timeout. */
void xfer_init(struct xfer *x);
/* A header of the answer by name (any case), NULL when absent. Borrowed from x. */
const char *xfer_header(const struct xfer *x, const char *name);
/* Runs one st_httpc_stream call as x describes, recording the answer in x. */
enum st_err xfer_run(struct st_httpc *client, const char *method, const char *url, struct xfer *x);

/* A client for the peers: 1 s to connect, 5 s timeout, no pool. */
struct st_httpc *peer_client(void);

#endif
