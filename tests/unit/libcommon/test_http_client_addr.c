/*
 * Unit tests for http_client_addr.c: TRUSTED_PROXIES lists (good CIDRs of both families,
 * each kind of bad entry), membership at the edges of a prefix, and the choice of the
 * client's address from the peer, X-Real-IP and X-Forwarded-For: a peer outside the list
 * cannot choose its address, whatever headers it sends.
 */
#include <check.h>
#include <string.h>

#include "strata/http.h"

Suite *http_client_addr_suite(void);

/* Lists and whether they parse. */
static const struct {
	const char *list;
	bool ok;
} lists[] = {
	{ "127.0.0.0/8,::1/128", true },
	{ "127.0.0.0/8, ::1/128", true },
	{ " 10.0.0.0/8 ,\t192.168.0.0/16 ", true },
	{ "", true }, /* nobody trusted */
	{ "10.1.2.3", true },
	{ "fd00::/8", true },
	{ "::/0", true },
	{ "0.0.0.0/0", true },
	{ "10.0.0.1/8", true }, /* host bits cleared */
	{ "::ffff:10.0.0.0/104", true },
	{ "10.0.0.0/33", false },
	{ "::/129", false },
	{ "10.0.0.0/", false },
	{ "10.0.0.0/08", false },
	{ "10.0.0.0/-1", false },
	{ "10.0.0.0/8a", false },
	{ "10.0.0/8", false },
	{ "256.0.0.0/8", false },
	{ "localhost", false },
	{ "10.0.0.0/8,", false },
	{ "10.0.0.0/8,,::1", false },
	{ ",10.0.0.0/8", false },
	{ "10.0.0.0 /8", false },
	{ "[::1]/128", false },
	{ "fe80::1%eth0", false },
	{ "1.2.3.4:80", false },
};

START_TEST(parse_table)
{
	struct st_http_trusted *t = NULL;
	char err[160] = "";
	enum st_err rc = st_http_trusted_parse(lists[_i].list, &t, err, sizeof(err));

	if (lists[_i].ok) {
		ck_assert_msg(rc == ST_OK, "'%s' refused: %s", lists[_i].list, err);
		ck_assert_ptr_nonnull(t);
	} else {
		ck_assert_msg(rc == ST_ERR_INVALID, "'%s' accepted", lists[_i].list);
		ck_assert_ptr_null(t);
		ck_assert_msg(err[0] != '\0', "'%s': no detail", lists[_i].list);
	}
	st_http_trusted_destroy(t);
}
END_TEST

/* list NULL: the built-in default (loopback). */
static const struct {
	const char *list, *addr;
	bool in;
} members[] = {
	{ NULL, "127.0.0.1", true },
	{ NULL, "127.255.255.254", true },
	{ NULL, "::1", true },
	{ NULL, "::ffff:127.0.0.1", true },
	{ NULL, "128.0.0.1", false },
	{ NULL, "::2", false },
	{ NULL, "10.0.0.1", false },
	{ NULL, "not an address", false },
	{ "127.0.0.0/8,::1/128", "127.0.0.1", true },
	{ "127.0.0.0/8,::1/128", "::1", true },
	{ "127.0.0.0/8,::1/128", "126.255.255.255", false },
	{ "10.0.0.0/8", "10.255.255.255", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/8", "9.255.255.255", false },
	{ "10.0.0.0/8", "::ffff:10.1.2.3", true }, /* IPv4 mapped into IPv6 */
	{ "10.0.0.1/8", "10.9.9.9", true },
	{ "192.168.1.128/25", "192.168.1.128", true },
	{ "192.168.1.128/25", "192.168.1.255", true },
	{ "192.168.1.128/25", "192.168.1.127", false },
	{ "10.1.2.3", "10.1.2.3", true },
	{ "10.1.2.3", "10.1.2.4", false },
	{ "fd00::/8", "fd12:3456::1", true },
	{ "fd00::/8", "fe00::1", false },
	{ "2001:db8::/33", "2001:db8:7fff::1", true },
	{ "2001:db8::/33", "2001:db8:8000::1", false },
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "10.0.0.1", true }, /* mapped IPv4 is inside ::/0 */
	{ "0.0.0.0/0", "10.0.0.1", true },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "", "127.0.0.1", false },
	{ "10.0.0.0/8", "", false },
};

START_TEST(member_table)
{
	struct st_http_trusted *t = NULL;
	char err[160];

	if (members[_i].list != NULL)
		ck_assert_int_eq(st_http_trusted_parse(members[_i].list, &t, err, sizeof(err)),
				 ST_OK);
	ck_assert_msg(st_http_trusted_has(t, members[_i].addr) == members[_i].in, "%s in %s",
		      members[_i].addr, members[_i].list ? members[_i].list : "(default)");
	st_http_trusted_destroy(t);
}
END_TEST

/* The choice. list NULL: the default. */
static const struct {
	const char *list, *peer, *x_real_ip, *xff, *want;
} picks[] = {
	/* a direct caller from outside the list: its headers are not read */
	{ NULL, "203.0.113.9", "198.51.100.1", NULL, "203.0.113.9" },
	{ NULL, "203.0.113.9", NULL, "198.51.100.1", "203.0.113.9" },
	{ NULL, "203.0.113.9", "127.0.0.1", "127.0.0.1", "203.0.113.9" },
	{ "10.0.0.0/8", "127.0.0.1", "198.51.100.1", NULL, "127.0.0.1" },
	{ "", "127.0.0.1", "198.51.100.1", "198.51.100.2", "127.0.0.1" },
	/* from a trusted proxy: X-Real-IP */
	{ NULL, "127.0.0.1", "203.0.113.7", NULL, "203.0.113.7" },
	{ NULL, "::1", "2001:db8::1", NULL, "2001:db8::1" },
	{ NULL, "127.0.0.1", "2001:0db8:0000::0001", NULL, "2001:db8::1" }, /* canonical */
	{ NULL, "127.0.0.1", "::ffff:203.0.113.7", NULL, "203.0.113.7" },
	{ NULL, "::ffff:127.0.0.1", "203.0.113.7", NULL, "203.0.113.7" },
	{ NULL, "127.0.0.1", NULL, NULL, "127.0.0.1" },
	{ NULL, "127.0.0.1", "", NULL, "127.0.0.1" },
	{ NULL, "127.0.0.1", "unknown", NULL, "127.0.0.1" },
	{ NULL, "127.0.0.1", "1.2.3.4, 5.6.7.8", NULL, "127.0.0.1" },
	{ NULL, "127.0.0.1", "1.2.3.4\r\nX: y", NULL, "127.0.0.1" },
	{ NULL, "127.0.0.1", "12345", NULL, "127.0.0.1" },
	{ NULL, "127.0.0.1", "1111:2222:3333:4444:5555:6666:7777:8888:9999", NULL, "127.0.0.1" },
	{ NULL, "127.0.0.1", "1.2.3.4:80", NULL, "127.0.0.1" },
	/* X-Forwarded-For from the right: trusted hops skipped, the first untrusted one wins */
	{ NULL, "127.0.0.1", NULL, "203.0.113.7", "203.0.113.7" },
	{ NULL, "127.0.0.1", NULL, "6.6.6.6, 203.0.113.7", "203.0.113.7" },
	{ NULL, "127.0.0.1", NULL, "6.6.6.6, 203.0.113.7, 127.0.0.1", "203.0.113.7" },
	{ "10.0.0.0/8,127.0.0.0/8", "127.0.0.1", NULL, "6.6.6.6,203.0.113.7,10.0.0.2,10.0.0.3",
	  "203.0.113.7" },
	{ NULL, "127.0.0.1", NULL, " 203.0.113.7 ,\t127.0.0.2 ", "203.0.113.7" },
	/* every hop trusted: the leftmost */
	{ NULL, "127.0.0.1", NULL, "127.0.0.3, 127.0.0.2", "127.0.0.3" },
	/* a bad entry ends the walk at the last good hop */
	{ NULL, "127.0.0.1", NULL, "203.0.113.7, garbage, 127.0.0.2", "127.0.0.2" },
	{ NULL, "127.0.0.1", NULL, "garbage", "127.0.0.1" },
	{ NULL, "127.0.0.1", NULL, "", "127.0.0.1" },
	{ NULL, "127.0.0.1", NULL, ",", "127.0.0.1" },
	{ NULL, "127.0.0.1", NULL, "203.0.113.7,", "127.0.0.1" },
	/* X-Real-IP naming a trusted hop (a proxy behind a proxy): the chain decides */
	{ NULL, "127.0.0.1", "127.0.0.5", "203.0.113.7, 127.0.0.5", "203.0.113.7" },
	{ NULL, "127.0.0.1", "127.0.0.5", NULL, "127.0.0.5" },
	/* an untrusted X-Real-IP wins over X-Forwarded-For */
	{ NULL, "127.0.0.1", "203.0.113.7", "198.51.100.1", "203.0.113.7" },
	/* a peer that is not an address is kept as it is */
	{ NULL, "", "203.0.113.7", NULL, "" },
};

START_TEST(pick_table)
{
	struct st_http_trusted *t = NULL;
	char err[160], out[64];

	if (picks[_i].list != NULL)
		ck_assert_int_eq(st_http_trusted_parse(picks[_i].list, &t, err, sizeof(err)),
				 ST_OK);
	memset(out, 'Z', sizeof(out));
	st_http_client_addr_pick(t, picks[_i].peer, picks[_i].x_real_ip, picks[_i].xff, out,
				 sizeof(out));
	ck_assert_msg(strcmp(out, picks[_i].want) == 0,
		      "peer %s, X-Real-IP %s, X-Forwarded-For %s: got %s, want %s", picks[_i].peer,
		      picks[_i].x_real_ip ? picks[_i].x_real_ip : "-",
		      picks[_i].xff ? picks[_i].xff : "-", out, picks[_i].want);
	st_http_trusted_destroy(t);
}
END_TEST

Suite *
http_client_addr_suite(void)
{
	Suite *s = suite_create("http_client_addr");
	TCase *tc = tcase_create("client_addr");

	tcase_add_loop_test(tc, parse_table, 0, (int)ST_ARRAY_LEN(lists));
	tcase_add_loop_test(tc, member_table, 0, (int)ST_ARRAY_LEN(members));
	tcase_add_loop_test(tc, pick_table, 0, (int)ST_ARRAY_LEN(picks));
	suite_add_tcase(s, tc);
	return s;
}
