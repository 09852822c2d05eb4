/*
 * What the service runner's files share: service.c (configuration, connections, lifecycle),
 * service_workers.c (Kafka consumers and background loops) and service_metrics.c (process
 * metrics).
 */
#ifndef STRATA_SERVICE_INT_H
#define STRATA_SERVICE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "strata/service.h"
#include "strata/ticker.h"

struct loop_thread {
	const struct st_loop *loop;
	struct service_run *run;
	struct st_ticker *ticker; /* NULL until started */
};

struct service_run {
	const struct st_service *svc;
	struct st_app app;
	struct st_config_item port_item;
	char port_default[16];
	struct st_http_server *http;
	struct st_kafka_consumer **consumers; /* svc->nconsumers */
	struct loop_thread *loops;            /* svc->nloops */
	/* TRUSTED_PROXIES, for the server */
	struct st_http_trusted *trusted_proxies;
	bool initialized;
};

enum st_err service_consumers_start(struct service_run *run);
void service_consumers_stop(struct service_run *run);
enum st_err service_loops_start(struct service_run *run);
void service_loops_stop(struct service_run *run);
/* Registers the process collector (memory, CPU, threads, pools) on run->app.metrics. */
void service_metrics_register(struct service_run *run);

#endif
