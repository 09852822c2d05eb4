/*
 * Redis against a real server (REDIS_URL): binary-safe round trips, error replies, the format
 * entry point, an unreachable server failing fast, and commands that keep working across a
 * Redis restart (STRATA_REDIS_RESTART_CMD) with no reconnecting by the caller.
 */
#include <check.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "strata/redis.h"

Suite *redis_suite(void);

static struct st_redis *
make_client(int size)
{
	struct st_redis_conf conf = { .url = it_env("REDIS_URL", NULL),
				      .size = size,
				      .timeout_ms = 2000 };
	struct st_redis *r = NULL;

	ck_assert_msg(conf.url != NULL, "REDIS_URL is not set");
	ck_assert_int_eq(st_redis_create(&conf, &r), ST_OK);
	ck_assert_ptr_nonnull(r);
	return r;
}

static void
key_name(char *buf, size_t cap, const char *what)
{
	snprintf(buf, cap, "strata:it:%d:%s", (int)getpid(), what);
}

START_TEST(binary_round_trip)
{
	static const char value[] = "a\0b\r\n$3\r\nSET\xff\x00end";
	struct st_redis *r = make_client(2);
	struct redisReply *reply = NULL;
	char key[64];
	const char *set[] = { "SET", key, value };
	size_t set_lens[] = { 3, 0, sizeof(value) };
	const char *get[] = { "GET", key };
	const char *del[] = { "DEL", key };

	key_name(key, sizeof(key), "bin");
	set_lens[1] = strlen(key);
	ck_assert_int_eq(st_redis_argv(r, 3, set, set_lens, &reply), ST_OK);
	ck_assert_int_eq(reply->type, REDIS_REPLY_STATUS);
	ck_assert_str_eq(reply->str, "OK");
	freeReplyObject(reply);

	ck_assert_int_eq(st_redis_argv(r, 2, get, NULL, &reply), ST_OK);
	ck_assert_int_eq(reply->type, REDIS_REPLY_STRING);
	ck_assert_uint_eq(reply->len, sizeof(value));
	ck_assert_mem_eq(reply->str, value, sizeof(value));
	freeReplyObject(reply);

	/* the format entry point, %b binary-safe as well */
	ck_assert_int_eq(st_redis_cmd(r, &reply, "SET %s %b", key, value, sizeof(value) - 3),
			 ST_OK);
	freeReplyObject(reply);
	ck_assert_int_eq(st_redis_cmd(r, &reply, "STRLEN %s", key), ST_OK);
	ck_assert_int_eq(reply->type, REDIS_REPLY_INTEGER);
	ck_assert_int_eq(reply->integer, (long long)sizeof(value) - 3);
	freeReplyObject(reply);

	/* out may be NULL when the reply is not wanted */
	ck_assert_int_eq(st_redis_argv(r, 2, del, NULL, NULL), ST_OK);
	ck_assert_int_eq(st_redis_argv(r, 2, get, NULL, &reply), ST_OK);
	ck_assert_int_eq(reply->type, REDIS_REPLY_NIL);
	freeReplyObject(reply);
	ck_assert_int_eq(st_redis_ping(r), ST_OK);
	st_redis_destroy(r);
	st_redis_destroy(NULL);
}
END_TEST

START_TEST(error_reply)
{
	struct st_redis *r = make_client(1);
	struct redisReply *reply = NULL;
	char key[64];
	const char *set[] = { "SET", key, "not a number" };
	const char *incr[] = { "INCR", key };
	const char *bogus[] = { "NOSUCHCOMMAND", "x" };

	key_name(key, sizeof(key), "err");
	ck_assert_int_eq(st_redis_argv(r, 3, set, NULL, NULL), ST_OK);
	ck_assert_int_eq(st_redis_argv(r, 2, incr, NULL, &reply), ST_ERR_INVALID);
	ck_assert_ptr_nonnull(reply); /* the error reply is handed over */
	ck_assert_int_eq(reply->type, REDIS_REPLY_ERROR);
	ck_assert_msg(strstr(reply->str, "not an integer") != NULL, "%s", reply->str);
	freeReplyObject(reply);
	ck_assert_int_eq(st_redis_argv(r, 2, bogus, NULL, &reply), ST_ERR_INVALID);
	ck_assert_int_eq(reply->type, REDIS_REPLY_ERROR);
	freeReplyObject(reply);
	/* the connection is still good after error replies */
	ck_assert_int_eq(st_redis_cmd(r, NULL, "DEL %s", key), ST_OK);
	ck_assert_int_eq(st_redis_ping(r), ST_OK);
	st_redis_destroy(r);
}
END_TEST

START_TEST(bad_url_and_unreachable)
{
	struct st_redis_conf conf = { .url = "redis://:pw@127.0.0.1:notaport",
				      .size = 1,
				      .timeout_ms = 500 };
	struct st_redis *r = (struct st_redis *)&conf; /* must be reset to NULL */
	struct redisReply *reply = (struct redisReply *)&conf;
	int64_t t0;

	ck_assert_int_eq(st_redis_create(&conf, &r), ST_ERR_INVALID);
	ck_assert_ptr_null(r);
	/* nothing listens on port 1: created fine, then every call fails fast */
	conf.url = "redis://127.0.0.1:1";
	ck_assert_int_eq(st_redis_create(&conf, &r), ST_OK);
	t0 = st_now_mono_ms();
	ck_assert_int_eq(st_redis_cmd(r, &reply, "PING"), ST_ERR_UNAVAILABLE);
	ck_assert_ptr_null(reply);
	ck_assert_int_eq(st_redis_ping(r), ST_ERR_UNAVAILABLE);
	ck_assert_int_lt(st_now_mono_ms() - t0, 1000);
	st_redis_destroy(r);
}
END_TEST

START_TEST(wrong_password_is_unavailable)
{
	const char *url = it_env("REDIS_URL", NULL);
	char bad[512];
	const char *at, *slash;
	struct st_redis_conf conf = { .url = bad, .size = 1, .timeout_ms = 1000 };
	struct st_redis *r = NULL;

	ck_assert_ptr_nonnull(url);
	at = strrchr(url, '@');
	if (at == NULL)
		return; /* a server without a password accepts any: nothing to test */
	slash = at + 1;
	snprintf(bad, sizeof(bad), "redis://:definitely-wrong@%s", slash);
	ck_assert_int_eq(st_redis_create(&conf, &r), ST_OK);
	ck_assert_int_eq(st_redis_ping(r), ST_ERR_UNAVAILABLE);
	st_redis_destroy(r);
}
END_TEST

/* Waits (up to 30 s) until Redis answers, with a client of its own: the one under test is not
 * touched until then, should a restart command return before the server listens. */
static void
wait_until_up(void)
{
	struct st_redis *probe = make_client(1);

	for (int i = 0; i < 300 && st_redis_ping(probe) != ST_OK; i++)
		usleep(100 * 1000);
	st_redis_destroy(probe);
}

START_TEST(survives_server_restart)
{
	const char *restart = it_env("STRATA_REDIS_RESTART_CMD", NULL);
	struct st_redis *r;
	struct redisReply *reply = NULL;
	char key[64];

	ck_assert_msg(restart != NULL, "STRATA_REDIS_RESTART_CMD is not set");
	r = make_client(2);
	key_name(key, sizeof(key), "restart");
	ck_assert_int_eq(st_redis_cmd(r, NULL, "SET %s before", key), ST_OK);

	ck_assert_int_eq(it_sh("%s", restart), 0);
	wait_until_up();

	/* The pooled connection died with the server: the next command must still succeed. */
	ck_assert_int_eq(st_redis_cmd(r, &reply, "SET %s after", key), ST_OK);
	ck_assert_str_eq(reply->str, "OK");
	freeReplyObject(reply);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(st_redis_cmd(r, &reply, "GET %s", key), ST_OK);
		ck_assert_int_eq(reply->type, REDIS_REPLY_STRING);
		ck_assert_str_eq(reply->str, "after");
		freeReplyObject(reply);
	}
	ck_assert_int_eq(st_redis_cmd(r, NULL, "DEL %s", key), ST_OK);
	st_redis_destroy(r);
}
END_TEST

Suite *
redis_suite(void)
{
	Suite *s = suite_create("redis");
	TCase *tc = tcase_create("client");
	TCase *restart = tcase_create("restart");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, binary_round_trip);
	tcase_add_test(tc, error_reply);
	tcase_add_test(tc, bad_url_and_unreachable);
	tcase_add_test(tc, wrong_password_is_unavailable);
	suite_add_tcase(s, tc);

	tcase_set_timeout(restart, 60);
	tcase_add_test(restart, survives_server_restart);
	suite_add_tcase(s, restart);
	return s;
}
