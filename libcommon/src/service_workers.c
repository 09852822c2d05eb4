/*
 * The service's workers besides the HTTP server: one Kafka consumer per entry of the consumer
 * table (each on its own thread, inside librdkafka's consumer group), and one thread per
 * background loop (a ticker, woken early by shutdown).
 */
#include "service_int.h"

#include <stdio.h>
#include <string.h>

#include "strata/log.h"

enum st_err
service_consumers_start(struct service_run *run)
{
	const struct st_service *svc = run->svc;
	const struct st_config *cfg = run->app.config;
	char client_id[64];

	if (svc->nconsumers == 0)
		return ST_OK;
	run->consumers = st_calloc(svc->nconsumers, sizeof(*run->consumers));
	snprintf(client_id, sizeof(client_id), "strata-%s", svc->name);
	for (size_t i = 0; i < svc->nconsumers; i++) {
		const struct st_consumer *c = &svc->consumers[i];
		struct st_kafka_consumer_conf kc = {
			.brokers = st_config_str(cfg, "KAFKA_BROKERS"),
			.group = c->group,
			.topic = c->topic,
			.client_id = client_id,
			.batch_max = c->batch_max > 0 ? c->batch_max
						      : (int)st_config_int(cfg, "KAFKA_BATCH_MAX"),
			.batch_wait_ms = (int)st_config_int(cfg, "KAFKA_BATCH_WAIT_MS"),
			.retry_backoff_ms = 200,
			.from_beginning = true, /* a new group must not skip what was accepted */
			.handler = c->handler,
			.ctx = &run->app,
		};
		enum st_err rc = st_kafka_consumer_create(&kc, &run->consumers[i]);

		if (rc == ST_OK)
			rc = st_kafka_consumer_start(run->consumers[i]);
		if (rc != ST_OK) {
			st_log(ST_LOG_ERROR, "service",
			       "consumer failed to start topic=%s group=%s", c->topic, c->group);
			return rc;
		}
	}
	return ST_OK;
}

void
service_consumers_stop(struct service_run *run)
{
	if (run->consumers == NULL)
		return;
	for (size_t i = 0; i < run->svc->nconsumers; i++)
		st_kafka_consumer_destroy(run->consumers[i]);
	st_free(run->consumers);
	run->consumers = NULL;
}

static int
loop_tick(void *arg)
{
	struct loop_thread *lt = arg;

	lt->loop->fn(&lt->run->app);
	return lt->loop->interval_ms;
}

enum st_err
service_loops_start(struct service_run *run)
{
	const struct st_service *svc = run->svc;

	if (svc->nloops == 0)
		return ST_OK;
	run->loops = st_calloc(svc->nloops, sizeof(*run->loops));
	for (size_t i = 0; i < svc->nloops; i++) {
		struct loop_thread *lt = &run->loops[i];

		lt->loop = &svc->loops[i];
		lt->run = run;
		if (st_ticker_create(loop_tick, lt, &lt->ticker) != ST_OK) {
			st_log(ST_LOG_ERROR, "service", "cannot start loop name=%s",
			       lt->loop->name);
			return ST_ERR_INTERNAL;
		}
		st_log(ST_LOG_INFO, "loop", "started name=%s every_ms=%d", lt->loop->name,
		       lt->loop->interval_ms);
	}
	return ST_OK;
}

void
service_loops_stop(struct service_run *run)
{
	if (run->loops == NULL)
		return;
	for (size_t i = 0; i < run->svc->nloops; i++)
		st_ticker_destroy(run->loops[i].ticker);
	st_free(run->loops);
	run->loops = NULL;
}
