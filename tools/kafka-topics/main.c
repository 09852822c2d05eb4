/*
 * strata-kafka-topics [FILE]: creates the Kafka topics that FILE lists (default
 * proto/topics/topics.conf; lines "name partitions", `#` comments) on the cluster named by
 * KAFKA_BROKERS, leaving existing ones alone, and prints one line per topic. `make up` and the
 * container entrypoints run it before the services start; it waits for the brokers for up to
 * 30 seconds, so it may run right after Kafka was started.
 *
 * Exit status: 0 when every topic exists, 1 when the cluster refused or did not answer, 2 for
 * a usage, environment or file error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/kafka.h"
#include "strata/log.h"

#define DEFAULT_FILE   "proto/topics/topics.conf"
#define FILE_MAX_BYTES (1024 * 1024)
#define TIMEOUT_MS     30000

/* Reads a whole (small) file into a NUL-terminated string the caller st_free's; NULL on error. */
static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, got;

	if (f == NULL)
		goto out;
	buf = st_malloc(FILE_MAX_BYTES + 1);
	got = fread(buf, 1, FILE_MAX_BYTES + 1, f);
	len = got;
	if (ferror(f) || len > FILE_MAX_BYTES) {
		st_free(buf);
		buf = NULL;
		goto out;
	}
	buf[len] = '\0';
out:
	if (f != NULL)
		fclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	const char *brokers = getenv("KAFKA_BROKERS");
	const char *path = DEFAULT_FILE;
	const char *level_name = getenv("LOG_LEVEL");
	enum st_log_level level = ST_LOG_WARN;
	struct st_kafka_topic_spec *topics = NULL;
	size_t n = 0;
	char *text = NULL;
	char err[512];
	int status = 2;
	enum st_err rc;

	if (argc > 2 ||
	    (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
		fprintf(stderr,
			"usage: strata-kafka-topics [FILE]   (default %s; needs "
			"KAFKA_BROKERS)\n",
			DEFAULT_FILE);
		goto out;
	}
	if (argc == 2)
		path = argv[1];
	if (level_name != NULL && level_name[0] != '\0' &&
	    !st_log_level_parse(level_name, &level)) {
		fprintf(stderr,
			"strata-kafka-topics: LOG_LEVEL must be debug, info, warn or error\n");
		goto out;
	}
	st_log_init("kafka-topics", level);
	if (brokers == NULL || brokers[0] == '\0') {
		fprintf(stderr, "strata-kafka-topics: KAFKA_BROKERS is not set (e.g. "
				"KAFKA_BROKERS=127.0.0.1:19092)\n");
		goto out;
	}
	text = read_file(path);
	if (text == NULL) {
		fprintf(stderr,
			"strata-kafka-topics: cannot read %s (missing, unreadable, or over "
			"1 MiB)\n",
			path);
		goto out;
	}
	if (st_kafka_topics_parse(text, &topics, &n, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "strata-kafka-topics: %s: %s\n", path, err);
		goto out;
	}
	if (n == 0) {
		fprintf(stderr, "strata-kafka-topics: %s lists no topics\n", path);
		goto out;
	}
	rc = st_kafka_ensure_topics(brokers, topics, n, TIMEOUT_MS, err, sizeof(err));
	if (rc != ST_OK) {
		fprintf(stderr, "strata-kafka-topics: %s (%s)\n", err, st_err_str(rc));
		status = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		printf("%s partitions=%d ok\n", topics[i].name, topics[i].partitions);
	status = 0;
out:
	st_free(topics);
	st_free(text);
	return status;
}
