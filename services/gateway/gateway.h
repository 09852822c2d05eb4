/*
 * What the gateway's files share: its state (the internal services it fronts) and handlers.
 */
#ifndef STRATA_GATEWAY_H
#define STRATA_GATEWAY_H

#include <pthread.h>

#include "strata/service.h"

/* One internal service behind the gateway. */
struct upstream {
	const char *name; /* "auth" */
	const char *url;  /* base URL, from GATEWAY_<NAME>_URL */
};

#define GATEWAY_UPSTREAMS 6

struct gateway {
	struct upstream upstreams[GATEWAY_UPSTREAMS];
	int health_timeout_ms;
	int health_cache_ms;
	pthread_mutex_t health_lock; /* guards the cached answer below */
	char *health_body;
	int health_status;
	int64_t health_at_ms;
};

/* GET /api/v1/health: the suite's status, public. */
int health_get(struct st_req *req, void *ctx);

#endif
