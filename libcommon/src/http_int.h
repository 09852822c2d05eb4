/*
 * What http_server.c (the CivetWeb glue and dispatch) and http_req.c (request accessors and
 * replies) share: the server and the per-request state.
 */
#ifndef STRATA_HTTP_INT_H
#define STRATA_HTTP_INT_H

#include <stdatomic.h>

#include "strata/http.h"
#include "strata/metrics.h"

struct mg_context;
struct mg_connection;
struct mg_request_info;

/* Per-route metric handles: the latency histogram, and request counters by status, created
 * on first use and then read without a lock. */
struct route_stats {
	struct st_histogram *latency;
	_Atomic(struct st_metric *) by_status[600];
	char labels[256];
};

struct st_http_server {
	struct st_http_conf conf;
	struct mg_context *mg;
	struct route_stats *stats; /* nroutes + ROUTE_EXTRA */
	atomic_bool draining;
};

/* Pseudo-routes after the real ones, for metrics. */
enum { ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS, ROUTE_UNMATCHED, ROUTE_EXTRA };

struct st_req {
	struct st_http_server *srv;
	struct mg_connection *conn;
	const struct mg_request_info *ri;
	const char *path;
	struct st_http_params params;
	char request_id[80];
	char client_addr[48]; /* st_http_client_addr's answer, "" until asked */
	struct st_principal principal;
	bool has_principal;
	char *body;
	size_t body_len;
	bool body_read; /* st_http_body has it whole in body */
	/* The body on the wire, as st_http_body_read has taken it so far: what an answer may
	 * leave unread, and what the server does with that rest afterwards. */
	int64_t body_declared; /* Content-Length; -1 chunked; 0 when none was sent */
	int64_t body_seen;     /* bytes read */
	bool body_end;         /* read to its end, or none was sent */
	bool body_broken;      /* the client went away or framed it badly: nothing more to read */
	bool body_invited;     /* 100 Continue sent, or the client never asked to wait for it */
	bool closing;          /* the answer said Connection: close */
	bool aborted;          /* a streamed answer was cut (st_http_stream_abort) */
	char headers[2048];    /* extra response headers, "Name: value\r\n" each */
	size_t headers_len;
	bool headers_cut;
	int status;
	size_t bytes_out;
	bool replied;
	bool streaming;
	bool stream_raw;     /* streaming with Content-Length: writes go out as they are */
	bool stream_no_body; /* streaming a head only (HEAD, 204, 304): writes are dropped */
	bool stream_over;    /* a raw stream was given more than its Content-Length */
	bool head_failed;    /* the head could not go out: a problem went instead (fail_head) */
	/* A Content-Length answer's head, held until its first body bytes so that a small answer
	 * leaves in one write (two writes cost a second send and wake-up on every hop). */
	char *held;
	size_t held_len;
	int64_t stream_length; /* a raw stream's Content-Length (0 for no body) */
};

/* Notes how the request's body is framed (none, Content-Length, chunked) before anything
 * reads it or answers. */
void http_req_begin(struct st_req *req);

/*
 * After the answer: reads and drops what is left of the request body (a lingering close), for
 * at most 16 MiB and 2 s (http_req.c), so that the client reads the answer rather than a
 * reset, which closing on unread bytes would make the kernel send. The connection is
 * kept only when the body ended and the answer did not say close. A client still waiting for
 * 100 Continue is not read: it may never send. May block for the bounds above (and each read
 * for up to the server's request timeout, if the client stalls).
 */
void http_req_linger(struct st_req *req);

/* Releases what a request holds (params, body). */
void http_req_cleanup(struct st_req *req);

#endif
