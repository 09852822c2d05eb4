/*
 * The client's address, for rate limits, lockouts and audit: the peer's address, unless the
 * peer is a trusted proxy (TRUSTED_PROXIES, CIDRs; loopback by default), in which case the
 * proxy's X-Real-IP or X-Forwarded-For says who the client is. A caller that reaches a
 * service port directly, from an address outside the list, cannot choose its own address:
 * its headers are not read at all.
 *
 * X-Real-IP is used when it names an address outside the list (nginx and the gateway set it
 * to the address they saw). Otherwise X-Forwarded-For is walked from the right, the side the
 * trusted proxies appended to: trusted hops are skipped and the first untrusted address is
 * the client (anything further left was written by that client and is not believed). When
 * every hop is trusted, the leftmost one is the client; an entry that is not an address ends
 * the walk at the last good hop. Addresses come out in inet_ntop's canonical form, IPv4
 * mapped into IPv6 as plain IPv4, so that one client has one spelling and one rate-limit key.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "http_int.h"
#include "strata/http.h"

#define LIST_MAX 64 /* CIDRs in TRUSTED_PROXIES */

/* An address as 16 bytes: IPv4 as ::ffff:a.b.c.d, so one comparison serves both. */
struct addr {
	unsigned char b[16];
	bool v4;
};

struct cidr {
	struct addr net;
	int bits; /* of the 128 */
};

struct st_http_trusted {
	struct cidr cidrs[LIST_MAX];
	size_t n;
};

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Parses an IPv4 or IPv6 address of len bytes (no port, no brackets, no zone). */
static bool
addr_parse(const char *s, size_t len, struct addr *a)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in_addr v4;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &v4) == 1) {
		memcpy(a->b, v4_mapped, sizeof(v4_mapped));
		memcpy(a->b + 12, &v4, 4);
		a->v4 = true;
		return true;
	}
	if (inet_pton(AF_INET6, buf, a->b) == 1) {
		a->v4 = memcmp(a->b, v4_mapped, sizeof(v4_mapped)) == 0;
		return true;
	}
	return false;
}

static void
addr_format(const struct addr *a, char *out, size_t cap)
{
	if (inet_ntop(a->v4 ? AF_INET : AF_INET6, a->v4 ? (const void *)(a->b + 12) : a->b, out,
		      (socklen_t)cap) == NULL &&
	    cap > 0)
		out[0] = '\0';
}

static bool
cidr_has(const struct cidr *c, const struct addr *a)
{
	int full = c->bits / 8, rest = c->bits % 8;

	if (memcmp(c->net.b, a->b, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->net.b[full] ^ a->b[full]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

/* Parses one CIDR (len bytes): an address, optionally "/bits" (0-32 for IPv4, 0-128 for IPv6;
 * none: that address alone). Host bits are cleared. */
static bool
cidr_parse(const char *s, size_t len, struct cidr *c)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash != NULL ? (size_t)(slash - s) : len;
	bool v6 = memchr(s, ':', alen) != NULL; /* the prefix counts IPv6 bits, mapped or not */
	int bits = -1, max = v6 ? 128 : 32;

	if (!addr_parse(s, alen, &c->net))
		return false;
	if (slash != NULL) {
		const char *p = slash + 1, *end = s + len;

		if (p == end || end - p > 3)
			return false;
		bits = 0;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				return false;
			bits = bits * 10 + (*p - '0');
		}
		if (bits > max || (end - slash - 1 > 1 && slash[1] == '0'))
			return false; /* no leading zeros: "/08" is a typo, not 8 */
	} else {
		bits = max;
	}
	c->bits = v6 ? bits : 96 + bits;
	for (int i = c->bits; i < 128; i++)
		c->net.b[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
	return true;
}

enum st_err
st_http_trusted_parse(const char *list, struct st_http_trusted **out, char *err, size_t errcap)
{
	struct st_http_trusted *t = st_calloc(1, sizeof(*t));
	const char *p = list;
	enum st_err rc = ST_ERR_INVALID;

	*out = NULL;
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		size_t tlen = len;

		while (tlen > 0 && (p[tlen - 1] == ' ' || p[tlen - 1] == '\t'))
			tlen--;
		if (t->n == LIST_MAX) {
			st_errf(err, errcap, "at most %d CIDRs", LIST_MAX);
			goto out;
		}
		if (!cidr_parse(p, tlen, &t->cidrs[t->n])) {
			st_errf(err, errcap, "'%.*s' is not a CIDR such as 10.0.0.0/8 or fd00::/8",
				(int)(tlen > 64 ? 64 : tlen), p);
			goto out;
		}
		t->n++;
		if (end == NULL)
			break;
		p = end + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0') {
			st_errf(err, errcap, "an empty entry after the last comma");
			goto out;
		}
	}
	*out = t;
	t = NULL;
	rc = ST_OK;
out:
	st_free(t);
	return rc;
}

void
st_http_trusted_destroy(struct st_http_trusted *t)
{
	st_free(t);
}

/* The default when no list was configured: 127.0.0.0/8 and ::1. */
static bool
trusted_default(const struct addr *a)
{
	static const unsigned char one[16] = { [15] = 1 };

	if (a->v4)
		return a->b[12] == 127;
	return memcmp(a->b, one, sizeof(one)) == 0;
}

static bool
trusted(const struct st_http_trusted *t, const struct addr *a)
{
	if (t == NULL)
		return trusted_default(a);
	for (size_t i = 0; i < t->n; i++)
		if (cidr_has(&t->cidrs[i], a))
			return true;
	return false;
}

bool
st_http_trusted_has(const struct st_http_trusted *t, const char *addr)
{
	struct addr a;

	return addr_parse(addr, strlen(addr), &a) && trusted(t, &a);
}

void
st_http_client_addr_pick(const struct st_http_trusted *t, const char *peer, const char *x_real_ip,
			 const char *xff, char *out, size_t cap)
{
	struct addr a, hop;
	bool have_hop = false;

	if (!addr_parse(peer, strlen(peer), &a)) {
		st_strlcpy(out, peer, cap);
		return;
	}
	if (!trusted(t, &a))
		goto out; /* a direct caller: its headers say nothing */
	if (x_real_ip != NULL) {
		struct addr r;

		if (addr_parse(x_real_ip, strlen(x_real_ip), &r) && !trusted(t, &r)) {
			a = r;
			goto out;
		}
	}
	if (xff != NULL) {
		size_t end = strlen(xff);

		/* from the right: [start, end) is one entry */
		for (;;) {
			size_t start = end, s, e;

			while (start > 0 && xff[start - 1] != ',')
				start--;
			s = start;
			e = end;
			while (s < e && (xff[s] == ' ' || xff[s] == '\t'))
				s++;
			while (e > s && (xff[e - 1] == ' ' || xff[e - 1] == '\t'))
				e--;
			if (!addr_parse(xff + s, e - s, &hop))
				break;
			a = hop;
			have_hop = true;
			if (!trusted(t, &hop))
				goto out;
			if (start == 0)
				break;
			end = start - 1;
		}
		if (have_hop)
			goto out; /* every hop trusted (or the walk stopped): the leftmost good one
				   */
	}
	if (x_real_ip != NULL) {
		struct addr r;

		if (addr_parse(x_real_ip, strlen(x_real_ip), &r))
			a = r; /* a trusted address, but the proxy says so */
	}
out:
	addr_format(&a, out, cap);
}

const char *
st_http_client_addr(struct st_req *req)
{
	if (req->client_addr[0] == '\0')
		st_http_client_addr_pick(req->srv->conf.trusted_proxies, st_http_remote_addr(req),
					 st_http_header(req, "X-Real-IP"),
					 st_http_header(req, "X-Forwarded-For"), req->client_addr,
					 sizeof(req->client_addr));
	return req->client_addr;
}
