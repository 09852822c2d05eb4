/*
 * Inside the HTTP client. Three files share this: httpc.c (the libcurl path and the public
 * entry points), httpc_raw.c (streamed http:// calls over the client's own sockets, whose
 * pool is httpc_pool.c), and httpc_wire.c (the wire format as pure functions, used by both
 * paths). httpc.c and httpc_raw.c each depend on httpc_wire.c, never on each other's
 * internals; httpc.c only makes the pool and hands it streamed calls.
 */
#ifndef STRATA_HTTPC_INT_H
#define STRATA_HTTPC_INT_H

#include "strata/httpc.h"

/* The most interim (1xx) answers skipped before a final one; past it the answer is refused. */
#define HTTPC_INTERIM_MAX 8

/* ---- the wire format (httpc_wire.c) ---- */

/* True for RFC 9110 token characters, which a header field name is made of. */
bool httpc_is_tchar(char ch);

/*
 * Splits a header line ("Name: value\r\n", len bytes): the name is line[0, *name_len), the
 * value line[*vstart, *vend), trimmed. False for a line without a colon, an empty or invalid
 * name, or a value holding CR, LF or NUL.
 */
bool httpc_header_split(const char *line, size_t len, size_t *name_len, size_t *vstart,
			size_t *vend);

/* True for a caller's request header line that may be sent: "Name: value" or "Name;" (an
 * empty value), a token for its name, and no CR or LF anywhere. */
bool httpc_header_line_ok(const char *line);

/* True when the method is a token and the target has no space or control character. */
bool httpc_request_line_ok(const char *method, const char *target);

/*
 * The request id a call sends, into out (cap >= ST_REQUEST_ID_MAX + 1): given, or this
 * thread's log request id when given is NULL; "" (none sent) when that is empty; one that
 * fails st_request_id_valid is replaced by a new UUID.
 */
void httpc_request_id(const char *given, char *out, size_t cap);

/*
 * The head of a streamed request to host:port (brackets added for IPv6): the request line,
 * Host, the caller's valid header lines, X-Request-Id when request_id is not "", the body's
 * framing, and Expect: 100-continue when expect. The caller owns it: st_free(). *len bytes.
 */
char *httpc_request_head(const struct st_httpc_stream *s, const char *host, int port,
			 const char *target, const char *request_id, bool expect, size_t *len);

/* ---- streamed calls over the client's own sockets (httpc_raw.c, httpc_pool.c) ---- */

struct httpc_pool;

/* The keep-alive connections of one client, per host and port. Copies conf. */
struct httpc_pool *httpc_pool_create(const struct st_httpc_conf *conf);
/* Closes every idle connection. No call may be in progress. Accepts NULL. */
void httpc_pool_destroy(struct httpc_pool *p);

/*
 * st_httpc_stream over the pool's sockets. *handled is false, and nothing was done, when the
 * URL is not one it takes (not plain http://, or more distinct hosts than it keeps): the
 * caller then goes through libcurl.
 */
enum st_err httpc_raw_stream(struct httpc_pool *p, const struct st_httpc_stream *s, bool *handled);

#endif
