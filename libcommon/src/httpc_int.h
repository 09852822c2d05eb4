/* Inside the HTTP client: its own keep-alive sockets for streamed http:// calls (httpc_raw.c). */
#ifndef STRATA_HTTPC_INT_H
#define STRATA_HTTPC_INT_H

#include "strata/httpc.h"

struct httpc_raw;

/* True for RFC 9110 token characters, which a header field name is made of. */
bool httpc_is_tchar(char ch);

/*
 * Splits a header line ("Name: value\r\n", len bytes): the name is line[0, *name_len), the
 * value line[*vstart, *vend), trimmed. False for a line without a colon, an empty or invalid
 * name, or a value holding CR, LF or NUL.
 */
bool httpc_header_split(const char *line, size_t len, size_t *name_len, size_t *vstart,
			size_t *vend);

struct httpc_raw *httpc_raw_create(const struct st_httpc_conf *conf);
/* Closes every idle connection. No call may be in progress. Accepts NULL. */
void httpc_raw_destroy(struct httpc_raw *r);

/*
 * st_httpc_stream over the client's own sockets. *handled is false, and nothing was done, when
 * the URL is not one it takes (not plain http://, or more distinct hosts than it keeps): the
 * caller then goes through libcurl.
 */
enum st_err httpc_raw_stream(struct httpc_raw *r, const struct st_httpc_stream *s, bool *handled);

#endif
