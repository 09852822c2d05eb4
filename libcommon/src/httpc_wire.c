/*
 * The HTTP client's wire format, as pure functions over buffers (no I/O, so that unit tests
 * and fuzz targets can feed them anything): which methods may be sent again, status lines,
 * header lines and whole response heads, how an answer's body is framed (RFC 9112 6.3), a
 * chunked body decoded as its bytes arrive, a URL split into host, port and request target,
 * and a request head written with its framing and request id. Both the libcurl path
 * (httpc.c) and the client's own sockets (httpc_raw.c) use them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpc_int.h"
#include "strata/encode.h"
#include "strata/log.h"
#include "strata/request_id.h"

#define CHUNK_LINE_MAX 4096
/* A size whose next hex digit would pass 2^60 is refused: no body is that long. */
#define CHUNK_SIZE_HIGH (UINT64_C(1) << 56)
/* Content-Length digits: 18 stay below 2^63. */
#define LENGTH_DIGITS_MAX 18

enum {
	CK_SIZE_START, /* the first hex digit of a size line */
	CK_SIZE,       /* more hex digits, or the end of the size */
	CK_EXT,        /* a chunk extension, skipped to the end of its line */
	CK_SIZE_LF,    /* the LF after a size line's CR */
	CK_DATA,       /* the chunk's data */
	CK_DATA_CR,    /* the CRLF after the data */
	CK_DATA_LF,
	CK_TRAILER_START, /* the start of a trailer line, or of the final empty line */
	CK_TRAILER_LINE,  /* a trailer field, skipped */
	CK_TRAILER_LF,    /* the LF after a trailer line's CR */
	CK_END_LF,        /* the LF of the final empty line */
	CK_DONE,
};

bool
st_httpc_idempotent(const char *method)
{
	static const char *const safe[] = { "GET", "HEAD", "PUT", "DELETE", "OPTIONS" };

	for (size_t i = 0; i < ST_ARRAY_LEN(safe); i++)
		if (strcmp(method, safe[i]) == 0)
			return true;
	return false;
}

bool
httpc_is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* ---- the answer's head ---- */

bool
st_httpc_parse_status(const char *line, size_t len, long *status)
{
	size_t i = 5;
	long v = 0;

	if (len < 12 || strncmp(line, "HTTP/", 5) != 0)
		return false;
	while (i < len && line[i] != ' ')
		i++;
	if (i + 4 > len || line[i] != ' ')
		return false;
	i++;
	for (size_t k = 0; k < 3; k++, i++) {
		if (line[i] < '0' || line[i] > '9')
			return false;
		v = v * 10 + (line[i] - '0');
	}
	if (i < len && line[i] != ' ' && line[i] != '\r' && line[i] != '\n')
		return false;
	if (v < 100)
		return false;
	*status = v;
	return true;
}

bool
httpc_header_split(const char *line, size_t len, size_t *name_len, size_t *vstart, size_t *vend)
{
	const char *colon = memchr(line, ':', len);
	size_t nlen, vs, ve;

	if (colon == NULL || colon == line)
		return false;
	nlen = (size_t)(colon - line);
	for (size_t i = 0; i < nlen; i++)
		if (!httpc_is_tchar(line[i]))
			return false;
	vs = nlen + 1;
	ve = len;
	while (ve > vs && (line[ve - 1] == '\r' || line[ve - 1] == '\n' || line[ve - 1] == ' ' ||
			   line[ve - 1] == '\t'))
		ve--;
	while (vs < ve && (line[vs] == ' ' || line[vs] == '\t'))
		vs++;
	for (size_t i = vs; i < ve; i++)
		if (line[i] == '\r' || line[i] == '\n' || line[i] == '\0')
			return false;
	*name_len = nlen;
	*vstart = vs;
	*vend = ve;
	return true;
}

bool
st_httpc_parse_header(const char *line, size_t len, char *buf, size_t cap,
		      struct st_httpc_header *out)
{
	size_t nlen, vstart, vend;

	if (!httpc_header_split(line, len, &nlen, &vstart, &vend) ||
	    nlen + 1 + (vend - vstart) + 1 > cap)
		return false;
	memcpy(buf, line, nlen);
	buf[nlen] = '\0';
	memcpy(buf + nlen + 1, line + vstart, vend - vstart);
	buf[nlen + 1 + (vend - vstart)] = '\0';
	out->name = buf;
	out->value = buf + nlen + 1;
	return true;
}

size_t
st_httpc_head_end(const char *buf, size_t len, size_t from)
{
	for (size_t i = from > 3 ? from - 3 : 0; i < len; i++)
		if (buf[i] == '\n') {
			if (i + 1 < len && buf[i + 1] == '\n')
				return i + 2;
			if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
				return i + 3;
		}
	return 0;
}

enum st_err
st_httpc_parse_head(char *buf, size_t len, long *status, bool *http10, struct st_httpc_header *list,
		    size_t max, size_t *n)
{
	char *line = buf, *end = buf + len;

	*n = 0;
	for (bool first = true; line < end; first = false) {
		char *eol = memchr(line, '\n', (size_t)(end - line));
		size_t nlen, vs, ve;

		if (eol == NULL)
			return ST_ERR_IO;
		if (first) {
			if (!st_httpc_parse_status(line, (size_t)(eol + 1 - line), status))
				return ST_ERR_IO;
			*http10 = strncmp(line, "HTTP/1.0", 8) == 0;
		} else if (line == eol || (line + 1 == eol && *line == '\r')) {
			return ST_OK; /* the empty line */
		} else if (httpc_header_split(line, (size_t)(eol + 1 - line), &nlen, &vs, &ve)) {
			if (*n == max)
				return ST_ERR_TOO_LARGE; /* the framing may be among the rest */
			line[nlen] = '\0';
			line[ve] = '\0'; /* at the latest the line's LF */
			list[*n].name = line;
			list[*n].value = line + vs;
			(*n)++;
		}
		line = eol + 1;
	}
	return ST_ERR_IO;
}

/* True when chunked is the last transfer coding of the list (RFC 9112 6.3). */
static bool
last_coding_chunked(const char *te)
{
	const char *last = strrchr(te, ',');
	size_t n;

	last = last != NULL ? last + 1 : te;
	while (*last == ' ' || *last == '\t')
		last++;
	n = strlen(last);
	while (n > 0 && (last[n - 1] == ' ' || last[n - 1] == '\t'))
		n--;
	return n == 7 && strncasecmp(last, "chunked", 7) == 0;
}

/* A Content-Length value: 1 to 18 digits, nothing else. */
static bool
parse_length(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t i = 0;

	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == LENGTH_DIGITS_MAX)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0 || s[i] != '\0')
		return false;
	*out = v;
	return true;
}

enum st_err
st_httpc_framing(const char *method, long status, bool http10, struct st_httpc_header *list,
		 size_t *n, struct st_httpc_framing *out)
{
	const char *te = NULL, *cl = NULL;
	size_t kept = 0;

	out->body = ST_HTTPC_BODY_TO_CLOSE;
	out->length = 0;
	out->keep = !http10;
	for (size_t i = 0; i < *n; i++) {
		if (strcasecmp(list[i].name, "Transfer-Encoding") == 0) {
			te = list[i].value;
		} else if (strcasecmp(list[i].name, "Content-Length") == 0) {
			if (cl != NULL && strcmp(cl, list[i].value) != 0)
				return ST_ERR_IO; /* two lengths: not to be trusted */
			cl = list[i].value;
		} else if (strcasecmp(list[i].name, "Connection") == 0 &&
			   st_httpc_token_listed(list[i].value, "close")) {
			out->keep = false;
		}
	}
	if (te != NULL && cl != NULL) {
		/* Both framings: Transfer-Encoding wins and the length goes (RFC 9112 6.3), so that
		 * a relay frames the body again; a smuggling shape, never reused. */
		for (size_t i = 0; i < *n; i++)
			if (strcasecmp(list[i].name, "Content-Length") != 0)
				list[kept++] = list[i];
		*n = kept;
		cl = NULL;
		out->keep = false;
	}
	if (strcmp(method, "HEAD") == 0 || status == 204 || status == 304) {
		out->body = ST_HTTPC_BODY_NONE;
	} else if (te != NULL) {
		out->body =
			last_coding_chunked(te) ? ST_HTTPC_BODY_CHUNKED : ST_HTTPC_BODY_TO_CLOSE;
	} else if (cl != NULL) {
		if (!parse_length(cl, &out->length))
			return ST_ERR_IO;
		out->body = ST_HTTPC_BODY_LENGTH;
	}
	if (out->body == ST_HTTPC_BODY_TO_CLOSE)
		out->keep = false;
	return ST_OK;
}

bool
st_httpc_token_listed(const char *list, const char *token)
{
	size_t n = strlen(token);

	while (list != NULL && *list != '\0') {
		const char *end;
		size_t len;

		while (*list == ' ' || *list == '\t' || *list == ',')
			list++;
		end = list;
		while (*end != '\0' && *end != ',')
			end++;
		len = (size_t)(end - list);
		while (len > 0 && (list[len - 1] == ' ' || list[len - 1] == '\t'))
			len--;
		if (len == n && n > 0 && strncasecmp(list, token, n) == 0)
			return true;
		list = end;
	}
	return false;
}

/* ---- a chunked body ---- */

/* The size line ended: data follows, or, after the last chunk, the trailers. */
static void
size_line_done(struct st_chunked *ck)
{
	ck->line = 0;
	ck->state = ck->left > 0 ? CK_DATA : CK_TRAILER_START;
}

enum st_chunked_rc
st_chunked_feed(struct st_chunked *ck, const char *in, size_t n, size_t *used, const char **data,
		size_t *data_len)
{
	size_t i = 0;

	*data = NULL;
	*data_len = 0;
	while (i < n && ck->state != CK_DONE) {
		char ch = in[i];
		int v;

		if (ck->state == CK_DATA) {
			size_t take = n - i;

			if ((uint64_t)take > ck->left)
				take = (size_t)ck->left;
			*data = in + i;
			*data_len = take;
			ck->left -= take;
			if (ck->left == 0)
				ck->state = CK_DATA_CR;
			*used = i + take;
			return ST_CHUNKED_MORE;
		}
		i++;
		if (ck->state == CK_SIZE_START || ck->state == CK_SIZE || ck->state == CK_EXT ||
		    ck->state == CK_TRAILER_LINE) {
			if (++ck->line > CHUNK_LINE_MAX)
				goto bad;
		}
		/* Every line ends in CRLF: a bare LF is refused (a peer and a relay reading it
		 * differently is how a body is smuggled), and so is a CR without its LF. */
		switch (ck->state) {
		case CK_SIZE_START:
		case CK_SIZE:
			v = st_hex_digit(ch);
			if (v >= 0) {
				if (ck->left >= CHUNK_SIZE_HIGH)
					goto bad;
				ck->left = ck->left * 16 + (uint64_t)v;
				ck->state = CK_SIZE;
			} else if (ck->state == CK_SIZE_START) {
				goto bad;
			} else if (ch == ';' || ch == ' ' || ch == '\t') {
				ck->state = CK_EXT;
			} else if (ch == '\r') {
				ck->state = CK_SIZE_LF;
			} else {
				goto bad;
			}
			break;
		case CK_EXT:
			if (ch == '\r')
				ck->state = CK_SIZE_LF;
			else if (ch == '\n')
				goto bad;
			break;
		case CK_SIZE_LF:
			if (ch != '\n')
				goto bad;
			size_line_done(ck);
			break;
		case CK_DATA_CR:
			if (ch != '\r')
				goto bad;
			ck->state = CK_DATA_LF;
			break;
		case CK_DATA_LF:
			if (ch != '\n')
				goto bad;
			ck->state = CK_SIZE_START;
			break;
		case CK_TRAILER_START:
			ck->line = 0;
			if (ch == '\r') {
				ck->state = CK_END_LF;
			} else if (ch == '\n' || ++ck->trailers > ST_CHUNKED_TRAILERS_MAX) {
				goto bad;
			} else {
				ck->line = 1;
				ck->state = CK_TRAILER_LINE;
			}
			break;
		case CK_TRAILER_LINE:
			if (ch == '\r')
				ck->state = CK_TRAILER_LF;
			else if (ch == '\n')
				goto bad;
			break;
		case CK_TRAILER_LF:
			if (ch != '\n')
				goto bad;
			ck->state = CK_TRAILER_START;
			break;
		case CK_END_LF:
			if (ch != '\n')
				goto bad;
			ck->state = CK_DONE;
			break;
		default:
			goto bad;
		}
		if (ck->state == CK_SIZE_START)
			ck->line = 0;
	}
	*used = i;
	return ck->state == CK_DONE ? ST_CHUNKED_DONE : ST_CHUNKED_MORE;
bad:
	*used = i;
	return ST_CHUNKED_BAD;
}

/* ---- the request ---- */

bool
st_httpc_split_url(const char *url, char *host, size_t cap, int *port, const char **target)
{
	const char *h, *end, *p;
	size_t hlen;
	long v = 80;

	if (strncmp(url, "http://", 7) != 0)
		return false;
	h = url + 7;
	end = h + strcspn(h, "/?#");
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (close == NULL)
			return false;
		hlen = (size_t)(close - h - 1);
		p = close + 1;
		h++;
	} else {
		p = memchr(h, ':', (size_t)(end - h));
		if (p == NULL)
			p = end;
		hlen = (size_t)(p - h);
	}
	if (hlen == 0 || hlen + 1 > cap || (*end != '\0' && *end != '/'))
		return false; /* a query or fragment right after the authority: left to libcurl */
	if (p < end) {
		char *stop;

		if (*p != ':' || p + 1 == end)
			return false;
		v = strtol(p + 1, &stop, 10);
		if (p[1] < '0' || p[1] > '9' || stop != end || v < 1 || v > 65535)
			return false;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (int)v;
	*target = *end == '/' ? end : "/";
	return true;
}

bool
httpc_request_line_ok(const char *method, const char *target)
{
	if (*method == '\0')
		return false;
	for (const char *p = method; *p != '\0'; p++)
		if (!httpc_is_tchar(*p))
			return false;
	for (const unsigned char *p = (const unsigned char *)target; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

bool
httpc_header_line_ok(const char *line)
{
	size_t name = strcspn(line, ":;");

	if (name == 0 || line[name] == '\0')
		return false;
	for (size_t k = 0; k < name; k++)
		if (!httpc_is_tchar(line[k]))
			return false;
	if (line[name] == ';' && line[name + 1] != '\0')
		return false;
	return strpbrk(line, "\r\n") == NULL;
}

void
httpc_request_id(const char *given, char *out, size_t cap)
{
	const char *id = given != NULL ? given : st_log_request_id();

	if (id == NULL || id[0] == '\0') {
		if (cap > 0)
			out[0] = '\0';
		return;
	}
	st_request_id_pick(id, strlen(id), out, cap);
}

char *
httpc_request_head(const struct st_httpc_stream *s, const char *host, int port, const char *target,
		   const char *request_id, bool expect, size_t *len)
{
	bool v6 = strchr(host, ':') != NULL;
	size_t cap = strlen(s->method) + strlen(target) + strlen(host) + strlen(request_id) + 256;
	size_t n;
	char *buf;

	for (size_t i = 0; s->headers != NULL && s->headers[i] != NULL; i++)
		cap += strlen(s->headers[i]) + 3;
	buf = st_malloc(cap);
	n = (size_t)snprintf(buf, cap, "%s %s HTTP/1.1\r\nHost: %s%s%s:%d\r\n", s->method, target,
			     v6 ? "[" : "", host, v6 ? "]" : "", port);
	for (size_t i = 0; s->headers != NULL && s->headers[i] != NULL; i++) {
		const char *h = s->headers[i];
		size_t name = strcspn(h, ":;");

		/* never lets a caller's line split the head or pass without a name, as libcurl */
		if (!httpc_header_line_ok(h))
			continue;
		if (h[name] == ';')
			n += (size_t)snprintf(buf + n, cap - n, "%.*s:\r\n", (int)name, h);
		else
			n += (size_t)snprintf(buf + n, cap - n, "%s\r\n", h);
	}
	if (request_id[0] != '\0')
		n += (size_t)snprintf(buf + n, cap - n, "X-Request-Id: %s\r\n", request_id);
	if (s->read != NULL && s->body_len >= 0)
		n += (size_t)snprintf(buf + n, cap - n, "Content-Length: %lld\r\n",
				      (long long)s->body_len);
	else if (s->read != NULL)
		n += (size_t)snprintf(buf + n, cap - n, "Transfer-Encoding: chunked\r\n");
	if (expect)
		n += (size_t)snprintf(buf + n, cap - n, "Expect: 100-continue\r\n");
	n += (size_t)snprintf(buf + n, cap - n, "\r\n");
	*len = n;
	return buf;
}
