/*
 * Request ids: the one rule for an id that came from outside (a client's X-Request-Id, a
 * Kafka record's header, a caller of the HTTP client), wherever it arrives. An id that
 * passes may go into logs and into the headers of further calls as it is; one that does not
 * is replaced by a new UUID, so that nothing a peer chose can split a header or a log line.
 */
#ifndef STRATA_REQUEST_ID_H
#define STRATA_REQUEST_ID_H

#include "strata/core.h"

/* The longest acceptable request id, in bytes. */
#define ST_REQUEST_ID_MAX 64

/* True for an acceptable request id: 1 to ST_REQUEST_ID_MAX characters of [A-Za-z0-9._:-]
 * (len bytes at id, which need not be NUL-terminated; a NUL among them is refused). */
bool st_request_id_valid(const char *id, size_t len);

/*
 * Writes the request id to use into out (cap >= ST_REQUEST_ID_MAX + 1, NUL-terminated): the
 * given one (len bytes) when st_request_id_valid, else a new random UUID.
 */
void st_request_id_pick(const char *given, size_t len, char *out, size_t cap);

#endif
