/*
 * Unit tests for redis.c: the URL parser, table-driven (good URLs, each kind of bad one,
 * edges), and the retry rules against a scripted fake server on a loopback socket (a lost
 * connection is reconnected and the command resent exactly once; a timeout is not resent).
 * No Redis needed.
 */
#include <arpa/inet.h>
#include <check.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "strata/redis.h"

Suite *redis_suite(void);

/* Internal to redis.c, visible under ST_TESTING. */
enum st_err redis_url_parse(const char *url, char *host, size_t host_cap, int *port, char *user,
			    size_t user_cap, char *password, size_t password_cap, int *db);

static const struct {
	const char *url;
	bool ok;
	const char *host, *user, *password;
	int port, db;
} urls[] = {
	/* good */
	{ "redis://127.0.0.1:6379", true, "127.0.0.1", "", "", 6379, 0 },
	{ "redis://localhost:16379/", true, "localhost", "", "", 16379, 0 },
	{ "redis://redis", true, "redis", "", "", 6379, 0 },
	{ "redis://redis/3", true, "redis", "", "", 6379, 3 },
	{ "redis://:s3cret@10.0.0.5:6380/2", true, "10.0.0.5", "", "s3cret", 6380, 2 },
	{ "redis://app:s3cret@cache:6379/0", true, "cache", "app", "s3cret", 6379, 0 },
	{ "redis://:p%40ss%3Aw%2Fd@h:1", true, "h", "", "p@ss:w/d", 1, 0 },
	{ "redis://:a:b@h:1", true, "h", "", "a:b", 1, 0 }, /* first colon splits user */
	{ "redis://:a@b@h:1", true, "h", "", "a@b", 1, 0 }, /* the last @ ends credentials */
	{ "redis://[::1]:6379/1", true, "::1", "", "", 6379, 1 },
	{ "redis://[::1]", true, "::1", "", "", 6379, 0 },
	{ "redis://h:65535/2147483647", true, "h", "", "", 65535, INT_MAX },
	/* scheme */
	{ "rediss://h:6379", false, NULL, NULL, NULL, 0, 0 },
	{ "http://h:6379", false, NULL, NULL, NULL, 0, 0 },
	{ "h:6379", false, NULL, NULL, NULL, 0, 0 },
	{ "", false, NULL, NULL, NULL, 0, 0 },
	{ "REDIS://h", false, NULL, NULL, NULL, 0, 0 },
	/* host */
	{ "redis://", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://:6379", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://:pw@:6379", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://[::1", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://[]:1", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://h x:1", false, NULL, NULL, NULL, 0, 0 },
	/* port */
	{ "redis://h:", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://h:0", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://h:65536", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://h:-1", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://h:63a", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://h:99999999999", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://[::1]x", false, NULL, NULL, NULL, 0, 0 },
	/* database */
	{ "redis://h:1/x", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://h:1/-1", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://h:1/1/2", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://h:1/2147483648", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://h:1/0?timeout=1", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://h:1?db=1", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://h:1#frag", false, NULL, NULL, NULL, 0, 0 },
	/* credentials */
	{ "redis://secret@h:1", false, NULL, NULL, NULL, 0, 0 }, /* no colon: ambiguous */
	{ "redis://:@h:1", false, NULL, NULL, NULL, 0, 0 },      /* empty password */
	{ "redis://user:@h:1", false, NULL, NULL, NULL, 0, 0 },
	{ "redis://:%zz@h:1", false, NULL, NULL, NULL, 0, 0 },   /* bad escape */
	{ "redis://:%4@h:1", false, NULL, NULL, NULL, 0, 0 },    /* cut escape */
	{ "redis://:a%00b@h:1", false, NULL, NULL, NULL, 0, 0 }, /* NUL inside */
};

START_TEST(url_table)
{
	char host[64] = "", user[32] = "", password[32] = "";
	int port = -1, db = -1;
	enum st_err rc = redis_url_parse(urls[_i].url, host, sizeof(host), &port, user,
					 sizeof(user), password, sizeof(password), &db);

	if (!urls[_i].ok) {
		ck_assert_msg(rc == ST_ERR_INVALID, "accepted: %s", urls[_i].url);
		return;
	}
	ck_assert_msg(rc == ST_OK, "refused: %s", urls[_i].url);
	ck_assert_str_eq(host, urls[_i].host);
	ck_assert_str_eq(user, urls[_i].user);
	ck_assert_str_eq(password, urls[_i].password);
	ck_assert_int_eq(port, urls[_i].port);
	ck_assert_int_eq(db, urls[_i].db);
}
END_TEST

START_TEST(url_null_and_small_buffers)
{
	char host[8], user[8], password[4];
	int port, db;

	ck_assert_int_eq(redis_url_parse(NULL, host, sizeof(host), &port, user, sizeof(user),
					 password, sizeof(password), &db),
			 ST_ERR_INVALID);
	/* a host that does not fit is refused, not cut */
	ck_assert_int_eq(redis_url_parse("redis://a-long-host:1", host, sizeof(host), &port, user,
					 sizeof(user), password, sizeof(password), &db),
			 ST_ERR_INVALID);
	ck_assert_int_eq(redis_url_parse("redis://1234567:1", host, sizeof(host), &port, user,
					 sizeof(user), password, sizeof(password), &db),
			 ST_OK);
	ck_assert_str_eq(host, "1234567");
	/* likewise a password */
	ck_assert_int_eq(redis_url_parse("redis://:abcd@h:1", host, sizeof(host), &port, user,
					 sizeof(user), password, sizeof(password), &db),
			 ST_ERR_INVALID);
	ck_assert_int_eq(redis_url_parse("redis://:abc@h:1", host, sizeof(host), &port, user,
					 sizeof(user), password, sizeof(password), &db),
			 ST_OK);
	ck_assert_str_eq(password, "abc");
}
END_TEST

/* ---- a scripted fake server ---- */

enum fake_act {
	FAKE_CLOSE,  /* read one command, then close without a reply */
	FAKE_PONG,   /* answer every command with +PONG until the client leaves */
	FAKE_SILENT, /* read one command, never answer; close when the test ends */
};

struct fake {
	int lfd;
	int port;
	enum fake_act script[4];
	int nscript;
	int accepted; /* connections taken */
	int commands; /* commands read */
	int held_fd;
	pthread_t tid;
};

/* Reads once; a RESP command from hiredis arrives in one segment on loopback. */
static bool
fake_read(int fd, struct fake *f)
{
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0)
		return false;
	__atomic_add_fetch(&f->commands, 1, __ATOMIC_SEQ_CST);
	return true;
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;

	for (int i = 0; i < f->nscript; i++) {
		int fd = accept(f->lfd, NULL, NULL);

		if (fd < 0)
			break;
		__atomic_add_fetch(&f->accepted, 1, __ATOMIC_SEQ_CST);
		switch (f->script[i]) {
		case FAKE_CLOSE:
			fake_read(fd, f);
			close(fd);
			break;
		case FAKE_PONG:
			while (fake_read(fd, f))
				if (write(fd, "+PONG\r\n", 7) != 7)
					break;
			close(fd);
			break;
		case FAKE_SILENT:
			fake_read(fd, f);
			f->held_fd = fd;
			break;
		}
	}
	return NULL;
}

static void
fake_start(struct fake *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->held_fd = -1;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(f->lfd, 0);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(f->lfd, 8), 0);
	ck_assert_int_eq(getsockname(f->lfd, (struct sockaddr *)&sa, &len), 0);
	f->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pthread_create(&f->tid, NULL, fake_main, f), 0);
}

/* Stops accepting, waits for the thread, and returns how many connections it took. */
static int
fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->tid, NULL);
	close(f->lfd);
	if (f->held_fd >= 0)
		close(f->held_fd);
	return f->accepted;
}

static struct st_redis *
fake_client(struct fake *f, int timeout_ms)
{
	char url[64];
	struct st_redis_conf conf = { .url = url, .size = 1, .timeout_ms = timeout_ms };
	struct st_redis *r = NULL;

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", f->port);
	ck_assert_int_eq(st_redis_create(&conf, &r), ST_OK);
	return r;
}

START_TEST(lost_connection_resent_once)
{
	struct fake f = { .script = { FAKE_CLOSE, FAKE_PONG }, .nscript = 2 };
	struct st_redis *r;

	fake_start(&f);
	r = fake_client(&f, 2000);
	ck_assert_int_eq(st_redis_ping(r), ST_OK); /* the first connection died mid-command */
	st_redis_destroy(r);
	ck_assert_int_eq(fake_stop(&f), 2);
	ck_assert_int_eq(f.commands, 2);
}
END_TEST

START_TEST(lost_twice_is_unavailable)
{
	struct fake f = { .script = { FAKE_CLOSE, FAKE_CLOSE, FAKE_PONG }, .nscript = 3 };
	struct st_redis *r;
	struct redisReply *reply = (struct redisReply *)&f;

	fake_start(&f);
	r = fake_client(&f, 2000);
	ck_assert_int_eq(st_redis_cmd(r, &reply, "PING"), ST_ERR_UNAVAILABLE);
	ck_assert_ptr_null(reply);
	ck_assert_int_eq(__atomic_load_n(&f.accepted, __ATOMIC_SEQ_CST), 2); /* not a third */
	/* the next call starts afresh and reaches the third, healthy connection */
	ck_assert_int_eq(st_redis_ping(r), ST_OK);
	st_redis_destroy(r);
	ck_assert_int_eq(fake_stop(&f), 3);
}
END_TEST

START_TEST(timeout_not_resent)
{
	struct fake f = { .script = { FAKE_SILENT, FAKE_PONG }, .nscript = 2 };
	struct st_redis *r;
	int64_t t0;

	fake_start(&f);
	r = fake_client(&f, 300);
	t0 = st_now_mono_ms();
	ck_assert_int_eq(st_redis_ping(r), ST_ERR_TIMEOUT);
	ck_assert_int_ge(st_now_mono_ms() - t0, 250);
	ck_assert_int_eq(__atomic_load_n(&f.accepted, __ATOMIC_SEQ_CST), 1);
	ck_assert_int_eq(__atomic_load_n(&f.commands, __ATOMIC_SEQ_CST), 1);
	/* the timed-out connection was dropped (its reply would come out of step) */
	ck_assert_int_eq(st_redis_ping(r), ST_OK);
	st_redis_destroy(r);
	ck_assert_int_eq(fake_stop(&f), 2);
}
END_TEST

Suite *
redis_suite(void)
{
	Suite *s = suite_create("redis");
	TCase *tc = tcase_create("url");
	TCase *fake = tcase_create("fake-server");

	tcase_add_loop_test(tc, url_table, 0, (int)ST_ARRAY_LEN(urls));
	tcase_add_test(tc, url_null_and_small_buffers);
	suite_add_tcase(s, tc);

	tcase_set_timeout(fake, 20);
	tcase_add_test(fake, lost_connection_resent_once);
	tcase_add_test(fake, lost_twice_is_unavailable);
	tcase_add_test(fake, timeout_not_resent);
	suite_add_tcase(s, fake);
	return s;
}
