/*
 * A Strata service in one call. main.c declares its settings, routes, Kafka consumers and
 * background loops as tables and hands them to st_service_main, which reads and validates the
 * configuration, sets up logging, connects what the service needs (PostgreSQL, Redis, the
 * Kafka producer, the HTTP client), starts the consumers, the loops and the HTTP server, waits
 * for SIGTERM or SIGINT, and then shuts down in order: drain, stop serving (in-flight requests
 * finish), stop loops and consumers (each finishes and commits its batch), flush Kafka, close
 * the pools.
 */
#ifndef STRATA_SERVICE_H
#define STRATA_SERVICE_H

#include "strata/config.h"
#include "strata/http.h"
#include "strata/kafka.h"

struct st_db_pool;
struct st_redis;
struct st_kafka_producer;
struct st_httpc;
struct st_metrics;

/* What a service has at hand; handed to every handler, consumer and loop as their ctx. */
struct st_app {
	const char *name; /* "ingest" */
	const struct st_config *config;
	struct st_db_pool *db;           /* NULL unless ST_NEED_DB */
	struct st_redis *redis;          /* NULL unless ST_NEED_REDIS */
	struct st_kafka_producer *kafka; /* NULL unless ST_NEED_KAFKA */
	struct st_httpc *httpc;          /* always */
	struct st_metrics *metrics;      /* always */
	/* PRINCIPAL_KEYS: the pair keys this service signs principals with (for the targets it
	 * calls) and verifies them with (from the signers that call it). */
	const struct st_principal_keys *principal_keys;
	void *state;        /* the service's own, set by its init */
	int64_t started_ms; /* wall clock at start */
};

enum st_need {
	ST_NEED_DB = 1u << 0,
	ST_NEED_REDIS = 1u << 1,
	ST_NEED_KAFKA = 1u << 2,
};

/* A Kafka consumer: the handler gets the struct st_app * as its ctx. */
struct st_consumer {
	const char *topic;
	const char *group;
	st_kafka_handler *handler;
	int batch_max; /* 0: the KAFKA_BATCH_MAX setting */
};

/* A background loop: fn runs every interval_ms on its own thread until shutdown. */
struct st_loop {
	const char *name;
	int interval_ms;
	void (*fn)(struct st_app *app);
};

struct st_service {
	const char *name;      /* "ingest": binary strata-ingest, logs, metrics */
	int default_port;      /* HTTP_PORT when unset */
	const char *db_schema; /* search_path for its connections, or NULL */
	unsigned needs;        /* enum st_need bits */
	bool public_edge;      /* true for the gateway only: no principal required */
	const struct st_config_item *config;
	size_t nconfig;
	const struct st_route *routes;
	size_t nroutes;
	const struct st_consumer *consumers;
	size_t nconsumers;
	const struct st_loop *loops;
	size_t nloops;
	/* Optional: runs after connecting, before serving; sets app->state. */
	enum st_err (*init)(struct st_app *app);
	/* Optional: runs after everything stopped, before the pools close. */
	void (*fini)(struct st_app *app);
	/* Optional readiness checks beyond the declared dependencies. */
	st_http_ready_check *ready;
};

/* Runs the service until SIGTERM/SIGINT. Returns the process exit code: 0 after a clean
 * shutdown, 2 for bad configuration, 1 when it could not start. */
int st_service_main(const struct st_service *svc, int argc, char **argv);

/* The version compiled in (git describe), e.g. "0.1.0-12-gabc1234". */
const char *st_version(void);

#endif
