/*
 * The pure wire-format parts of the HTTP client's own sockets (httpc_raw.c): a URL split into
 * host, port and request target, and a chunked body decoded as its bytes arrive. No I/O, so
 * that unit tests can feed them anything.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpc_int.h"

#define CHUNK_LINE_MAX 4096
/* A size whose next hex digit would pass 2^60 is refused: no body is that long. */
#define CHUNK_SIZE_HIGH (UINT64_C(1) << 56)

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
	CK_END_LF,        /* the LF of the final empty line */
	CK_DONE,
};

bool
httpc_is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
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

static int
hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

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
		switch (ck->state) {
		case CK_SIZE_START:
		case CK_SIZE:
			v = hex_value(ch);
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
			} else if (ch == '\n') {
				size_line_done(ck);
			} else {
				goto bad;
			}
			break;
		case CK_EXT:
			if (ch == '\r')
				ck->state = CK_SIZE_LF;
			else if (ch == '\n')
				size_line_done(ck);
			break;
		case CK_SIZE_LF:
			if (ch != '\n')
				goto bad;
			size_line_done(ck);
			break;
		case CK_DATA_CR:
			if (ch == '\r')
				ck->state = CK_DATA_LF;
			else if (ch == '\n')
				ck->state = CK_SIZE_START;
			else
				goto bad;
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
			} else if (ch == '\n') {
				ck->state = CK_DONE;
			} else {
				ck->line = 1;
				ck->state = CK_TRAILER_LINE;
			}
			break;
		case CK_TRAILER_LINE:
			if (ch == '\n')
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
