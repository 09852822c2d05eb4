/*
 * What 19_httpc_stream.c uses: libcommon's own server in this process
 * on a spare port with the routes the streaming tests call, a client made to match, and one
 * st_httpc_stream exchange recorded in a struct xfer (the head, the headers, the first bytes
 * of the body, its length and checksum, and an upload from a read callback).
 */
#ifndef STRATA_TEST_STREAM_FIXTURE_H
#define STRATA_TEST_STREAM_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/core.h"
#include "strata/httpc.h"

/* The tests run one after another (CK_FORK): they share the port. The misbehaving raw peers
 * are the unit runner's (tests/unit/libcommon/test_httpc_peers.c), on ports of their own. */
#define PORT 18795 /* libcommon's server */
#define BASE "http://127.0.0.1:18795"

#define BIG (5 * 1024 * 1024 + 12345) /* the length of /stream/{mode}'s answer */

struct st_http_server;
struct st_metrics;

/* ---- the server side: libcommon's server ---- */

/*
 * Routes: GET and HEAD /hello ("hello world", X-Custom: custom value); GET /empty and
 * /empty-streamed (204); GET and HEAD /stream/chunked and /stream/length (BIG bytes of the
 * pattern, chunked or with a Content-Length); POST /upload (reads the body, answers
 * "len=N sum=<8 hex digits> te=... cl=..."); POST /refuse and /refuse-late (413, before reading the
 * body or after 256 KiB of it); GET /port and /port/chunked, POST /port (the client's port);
 * GET /headers (the X-Empty, X-Some and request id it got); GET /slow (300 ms, counted).
 */

/* Starts the server on PORT, retrying for up to 5 s while the port is still busy; fails the
 * test when it cannot. The caller owns it: st_http_server_destroy(). */
struct st_http_server *fixture_server_start(struct st_metrics *metrics);

struct fixture {
	struct st_metrics *metrics;
	struct st_http_server *server; /* NULL when the test starts none */
	struct st_httpc *client;
};

/* Makes the metrics, the server (when server is true) and a client with the given pool_size
 * (0: no pool), and forgets the connections and calls counted before. */
void fixture_start(struct fixture *f, bool server, int pool_size);

/* Ends what fixture_start made (and a server the test put in f->server). */
void fixture_stop(struct fixture *f);

/* How many connections (client ports) the server saw since fixture_start. */
int fixture_connections_seen(void);

/* The most /slow calls the server ran at once since fixture_start. */
int fixture_most_in_flight(void);

/* The checksum (FNV-1a) of the first len bytes of the pattern that large bodies follow: what
 * xfer.sum and xfer.up_sum hold after a whole body of that length. */
uint32_t fixture_pattern_sum(uint64_t len);

/* ---- the client side: one exchange and what came of it ---- */

struct xfer {
	/* the request */
	const char *const *headers;
	const char *request_id;
	int idle_ms;
	bool upload;       /* a body from the read callback */
	int64_t body_len;  /* as st_httpc_stream.body_len; up_size bytes either way */
	uint64_t up_size;  /* bytes the upload has */
	uint64_t up_fail;  /* read fails once this many were given (0: never) */
	uint64_t up_sent;  /* given so far */
	uint32_t up_sum;   /* of those */
	enum st_err up_rc; /* what a failing read returns */
	/* the answer */
	enum st_err head_rc;  /* what on_head returns */
	uint64_t body_fail;   /* on_body fails once this many arrived (0: never) */
	bool check_pattern;   /* the body must follow the pattern */
	int heads;            /* calls of on_head */
	long status;          /* from on_head */
	size_t nheaders;      /* all that arrived; the first ST_ARRAY_LEN(names) kept */
	char names[32][64];   /* cut to fit */
	char values[32][256]; /* cut to fit */
	bool body_before_head;
	char body[4096];     /* the first bytes, NUL-terminated */
	uint64_t len;        /* every body byte */
	uint32_t sum;        /* of every body byte */
	int64_t off_pattern; /* the first byte off the pattern, -1 none */
};

/* Clears x for a new exchange: no headers, no upload, callbacks that succeed. */
void xfer_init(struct xfer *x);

/* A header of the answer by name (any case), NULL when absent. Borrowed from x. */
const char *xfer_header(const struct xfer *x, const char *name);

/* Runs one st_httpc_stream call as x describes, recording the answer in x; returns its
 * result. With x->upload the body is the pattern, given in small uneven pieces. */
enum st_err xfer_run(struct st_httpc *client, const char *method, const char *url, struct xfer *x);

#endif
