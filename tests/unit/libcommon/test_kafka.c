/*
 * Unit tests for the pure parts of the Kafka module: the topics-file parser, the mapping of
 * librdkafka errors and log levels, the replication factor for a cluster size, the consumer's
 * back-off steps and the offsets it commits for a batch. No broker.
 */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <string.h>
#include <syslog.h>

#include "strata/core.h"
#include "strata/kafka.h"
#include "strata/log.h"

Suite *kafka_suite(void);

/* Internal to kafka.c and kafka_consumer.c, visible under ST_TESTING. */
enum st_err kafka_err_map(rd_kafka_resp_err_t err);
enum st_log_level kafka_log_level(int syslog_level);
int kafka_replication_for(int brokers);
int kafka_backoff_next(int backoff_ms);
rd_kafka_topic_partition_list_t *kafka_commit_list(const struct st_kafka_rec *recs, size_t n);

/* ---- topics file ---- */

START_TEST(topics_parse_file)
{
	char text[] = "# Strata topics\n"
		      "strata.readings 12\n"
		      "\n"
		      "   strata.sessions\t6   # trailing comment\r\n"
		      "strata.session-commands 6\n"
		      "strata.datasets 1"; /* no final newline */
	struct st_kafka_topic_spec *t = NULL;
	size_t n = 0;
	char err[128] = "";

	ck_assert_int_eq(st_kafka_topics_parse(text, &t, &n, err, sizeof(err)), ST_OK);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(t[0].name, "strata.readings");
	ck_assert_int_eq(t[0].partitions, 12);
	ck_assert_str_eq(t[1].name, "strata.sessions");
	ck_assert_int_eq(t[1].partitions, 6);
	ck_assert_str_eq(t[2].name, "strata.session-commands");
	ck_assert_str_eq(t[3].name, "strata.datasets");
	ck_assert_int_eq(t[3].partitions, 1);
	st_free(t);
}
END_TEST

START_TEST(topics_parse_empty)
{
	char empty[] = "";
	char comments[] = "# nothing\n\n   \n# here\n";
	struct st_kafka_topic_spec *t = (void *)1;
	size_t n = 99;

	ck_assert_int_eq(st_kafka_topics_parse(empty, &t, &n, NULL, 0), ST_OK);
	ck_assert_uint_eq(n, 0);
	st_free(t);
	ck_assert_int_eq(st_kafka_topics_parse(comments, &t, &n, NULL, 0), ST_OK);
	ck_assert_uint_eq(n, 0);
	st_free(t);
}
END_TEST

static const struct {
	const char *text;
	const char *reason; /* the error must contain it */
} bad_files[] = {
	{ "strata.readings\n", "line 1: expected" },
	{ "strata.readings 12 3\n", "line 1: expected" },
	{ "a 1\nb 2\nc\n", "line 3: expected" },
	{ "strata.readings twelve\n", "line 1: partitions" },
	{ "strata.readings 0\n", "partitions" },
	{ "strata.readings -1\n", "partitions" },
	{ "strata.readings +1\n", "partitions" },
	{ "strata.readings 10001\n", "partitions" },
	{ "strata.readings 99999999999999999999\n", "partitions" },
	{ "strata.readings 12x\n", "partitions" },
	{ "strata/readings 12\n", "bad topic name" },
	{ "strata readings 12\n", "expected" },
	{ ". 1\n", "bad topic name" },
	{ ".. 1\n", "bad topic name" },
	{ "t\xc3\xa9st 1\n", "bad topic name" },
	{ "a 1\n# c\nb 2\na 3\n", "line 4: topic a listed twice" },
};

START_TEST(topics_parse_refusals)
{
	char text[256];
	struct st_kafka_topic_spec *t = (void *)1;
	size_t n = 99;
	char err[128] = "";

	st_strlcpy(text, bad_files[_i].text, sizeof(text));
	ck_assert_int_eq(st_kafka_topics_parse(text, &t, &n, err, sizeof(err)), ST_ERR_INVALID);
	ck_assert_ptr_null(t);
	ck_assert_uint_eq(n, 0);
	ck_assert_msg(strstr(err, bad_files[_i].reason) != NULL, "\"%s\" lacks \"%s\"", err,
		      bad_files[_i].reason);
}
END_TEST

/* The longest legal name (249 characters) passes; one more does not. */
START_TEST(topics_parse_name_length)
{
	char text[300];
	struct st_kafka_topic_spec *t = NULL;
	size_t n = 0;

	memset(text, 'a', 249);
	memcpy(text + 249, " 1\n", 4);
	ck_assert_int_eq(st_kafka_topics_parse(text, &t, &n, NULL, 0), ST_OK);
	ck_assert_uint_eq(strlen(t[0].name), 249);
	st_free(t);
	memset(text, 'a', 250);
	memcpy(text + 250, " 1\n", 4);
	ck_assert_int_eq(st_kafka_topics_parse(text, &t, &n, NULL, 0), ST_ERR_INVALID);
}
END_TEST

/* ---- error and log level mapping ---- */

static const struct {
	rd_kafka_resp_err_t err;
	enum st_err want;
} errors[] = {
	{ RD_KAFKA_RESP_ERR_NO_ERROR, ST_OK },
	{ RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, ST_ERR_UNAVAILABLE },
	{ RD_KAFKA_RESP_ERR__TRANSPORT, ST_ERR_UNAVAILABLE },
	{ RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, ST_ERR_UNAVAILABLE },
	{ RD_KAFKA_RESP_ERR__TIMED_OUT, ST_ERR_UNAVAILABLE },
	{ RD_KAFKA_RESP_ERR__QUEUE_FULL, ST_ERR_UNAVAILABLE },
	{ RD_KAFKA_RESP_ERR__FATAL, ST_ERR_UNAVAILABLE },
	{ RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, ST_ERR_UNAVAILABLE },
	{ RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, ST_ERR_TOO_LARGE },
	{ RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, ST_ERR_TOO_LARGE },
	{ RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, ST_ERR_INVALID },
	{ RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, ST_ERR_INVALID },
	{ RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, ST_ERR_INVALID },
	{ RD_KAFKA_RESP_ERR_INVALID_PARTITIONS, ST_ERR_INVALID },
	{ RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, ST_ERR_CONFLICT },
	{ RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, ST_ERR_AUTH },
	{ RD_KAFKA_RESP_ERR_INVALID_MSG, ST_ERR_INTERNAL },
};

START_TEST(error_table)
{
	ck_assert_msg(kafka_err_map(errors[_i].err) == errors[_i].want, "%s -> %s",
		      rd_kafka_err2name(errors[_i].err), st_err_str(kafka_err_map(errors[_i].err)));
}
END_TEST

START_TEST(log_levels)
{
	ck_assert_int_eq(kafka_log_level(LOG_EMERG), ST_LOG_ERROR);
	ck_assert_int_eq(kafka_log_level(LOG_CRIT), ST_LOG_ERROR);
	ck_assert_int_eq(kafka_log_level(LOG_ERR), ST_LOG_ERROR);
	ck_assert_int_eq(kafka_log_level(LOG_WARNING), ST_LOG_WARN);
	ck_assert_int_eq(kafka_log_level(LOG_NOTICE), ST_LOG_INFO);
	ck_assert_int_eq(kafka_log_level(LOG_INFO), ST_LOG_INFO);
	ck_assert_int_eq(kafka_log_level(LOG_DEBUG), ST_LOG_DEBUG);
}
END_TEST

START_TEST(replication)
{
	ck_assert_int_eq(kafka_replication_for(0), 1);
	ck_assert_int_eq(kafka_replication_for(1), 1);
	ck_assert_int_eq(kafka_replication_for(2), 2);
	ck_assert_int_eq(kafka_replication_for(3), 3);
	ck_assert_int_eq(kafka_replication_for(9), 3);
}
END_TEST

/* ---- consumer ---- */

START_TEST(backoff_doubles_to_30s)
{
	int b = 200;
	int steps[] = { 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000 };

	for (size_t i = 0; i < ST_ARRAY_LEN(steps); i++) {
		b = kafka_backoff_next(b);
		ck_assert_int_eq(b, steps[i]);
	}
	ck_assert_int_eq(kafka_backoff_next(0), 1000);
	ck_assert_int_eq(kafka_backoff_next(20000), 30000);
}
END_TEST

static int64_t
committed(const rd_kafka_topic_partition_list_t *list, const char *topic, int32_t partition)
{
	for (int i = 0; i < list->cnt; i++)
		if (strcmp(list->elems[i].topic, topic) == 0 &&
		    list->elems[i].partition == partition)
			return list->elems[i].offset;
	return -12345;
}

/* The commit for a batch is, per partition, the offset after the highest one handled. */
START_TEST(commit_offsets)
{
	const struct st_kafka_rec recs[] = {
		{ .topic = "strata.readings", .partition = 3, .offset = 10 },
		{ .topic = "strata.readings", .partition = 0, .offset = 7 },
		{ .topic = "strata.readings", .partition = 3, .offset = 11 },
		{ .topic = "strata.readings", .partition = 3, .offset = 12 },
		{ .topic = "strata.sessions", .partition = 3, .offset = 2 },
		{ .topic = "strata.readings", .partition = 0, .offset = 8 },
	};
	rd_kafka_topic_partition_list_t *list = kafka_commit_list(recs, ST_ARRAY_LEN(recs));

	ck_assert_int_eq(list->cnt, 3);
	ck_assert_int_eq(committed(list, "strata.readings", 3), 13);
	ck_assert_int_eq(committed(list, "strata.readings", 0), 9);
	ck_assert_int_eq(committed(list, "strata.sessions", 3), 3);
	rd_kafka_topic_partition_list_destroy(list);

	list = kafka_commit_list(recs + 4, 1);
	ck_assert_int_eq(list->cnt, 1);
	ck_assert_int_eq(committed(list, "strata.sessions", 3), 3);
	rd_kafka_topic_partition_list_destroy(list);
}
END_TEST

/* Bad settings are refused before anything is started. */
START_TEST(create_refuses_bad_settings)
{
	struct st_kafka_producer *p = (void *)1;
	struct st_kafka_consumer *c = (void *)1;
	struct st_kafka_conf pc = { .brokers = "127.0.0.1:1", .linger_ms = 5000 };
	struct st_kafka_consumer_conf cc = { .brokers = "127.0.0.1:1", .group = "g", .topic = "t" };

	st_log_set_level(ST_LOG_ERROR + 1); /* quiet: the refusals are logged */
	ck_assert_int_eq(st_kafka_producer_create(&pc, &p), ST_ERR_INVALID);
	ck_assert_ptr_null(p);
	pc.linger_ms = 100;
	pc.delivery_timeout_ms = 50; /* must exceed linger */
	ck_assert_int_eq(st_kafka_producer_create(&pc, &p), ST_ERR_INVALID);
	pc.brokers = NULL;
	pc.delivery_timeout_ms = 0;
	ck_assert_int_eq(st_kafka_producer_create(&pc, &p), ST_ERR_INVALID);
	ck_assert_int_eq(st_kafka_consumer_create(&cc, &c), ST_ERR_INVALID); /* no handler */
	ck_assert_ptr_null(c);
	st_kafka_producer_destroy(NULL);
	st_kafka_consumer_destroy(NULL);
}
END_TEST

Suite *
kafka_suite(void)
{
	Suite *s = suite_create("kafka");
	TCase *tc = tcase_create("pure");

	tcase_add_test(tc, topics_parse_file);
	tcase_add_test(tc, topics_parse_empty);
	tcase_add_loop_test(tc, topics_parse_refusals, 0, (int)ST_ARRAY_LEN(bad_files));
	tcase_add_test(tc, topics_parse_name_length);
	tcase_add_loop_test(tc, error_table, 0, (int)ST_ARRAY_LEN(errors));
	tcase_add_test(tc, log_levels);
	tcase_add_test(tc, replication);
	tcase_add_test(tc, backoff_doubles_to_30s);
	tcase_add_test(tc, commit_offsets);
	tcase_add_test(tc, create_refuses_bad_settings);
	suite_add_tcase(s, tc);
	return s;
}
