/*
 * Prometheus metrics: counters, gauges and histograms in a registry, rendered in the text
 * exposition format at /metrics. Series are created once (get-or-create under a lock) and then
 * updated lock-free with atomics, so hot paths keep a handle and pay one atomic add.
 */
#ifndef STRATA_METRICS_H
#define STRATA_METRICS_H

#include "strata/core.h"

struct st_metrics;
struct st_metric;    /* a counter or a gauge series */
struct st_histogram; /* a histogram series */

struct st_metrics *st_metrics_create(void);
void st_metrics_destroy(struct st_metrics *m);

/*
 * Get-or-create a series. name follows Prometheus rules; labels is the inside of the braces,
 * already escaped (`route="/api/v1/x",method="GET"`), or NULL. The handle lives as long as the
 * registry. Asking for one name with two types is a bug: it aborts.
 */
struct st_metric *st_metrics_counter(struct st_metrics *m, const char *name, const char *help,
				     const char *labels);
struct st_metric *st_metrics_gauge(struct st_metrics *m, const char *name, const char *help,
				   const char *labels);
/* bounds: ascending upper bounds of the buckets, without +Inf; copied at creation. */
struct st_histogram *st_metrics_histogram(struct st_metrics *m, const char *name, const char *help,
					  const char *labels, const double *bounds, size_t nbounds);

void st_metric_add(struct st_metric *metric, double v); /* counters: v >= 0 */
void st_metric_set(struct st_metric *metric, double v); /* gauges */
double st_metric_value(const struct st_metric *metric);

void st_histogram_observe(struct st_histogram *h, double v);
uint64_t st_histogram_count(const struct st_histogram *h);
double st_histogram_sum(const struct st_histogram *h);
/* An estimate of the q-quantile (0 < q < 1) by linear interpolation inside its bucket; 0 when
 * empty; the largest finite bound when it falls in +Inf. */
double st_histogram_quantile(const struct st_histogram *h, double q);

/* Latency buckets in seconds, 0.5 ms to 10 s, shared by every HTTP histogram. */
extern const double st_metrics_latency_bounds[];
extern const size_t st_metrics_latency_nbounds;

/* Called at each render, before the text is made: refresh gauges from their sources. */
typedef void st_metrics_collector(struct st_metrics *m, void *ctx);
void st_metrics_add_collector(struct st_metrics *m, st_metrics_collector *fn, void *ctx);

/* The whole registry in Prometheus text format. The caller owns the text (st_free). */
char *st_metrics_render(struct st_metrics *m, size_t *len);

/* Visits every histogram series of a family, for summaries (labels borrowed). */
typedef void st_metrics_histogram_visitor(const char *labels, const struct st_histogram *h,
					  void *ctx);
void st_metrics_each_histogram(struct st_metrics *m, const char *name,
			       st_metrics_histogram_visitor *fn, void *ctx);

/* Visits every series of a counter family with its value, for summaries (labels borrowed). */
typedef void st_metrics_counter_visitor(const char *labels, double value, void *ctx);
void st_metrics_each_counter(struct st_metrics *m, const char *name, st_metrics_counter_visitor *fn,
			     void *ctx);

/* Escapes a label value (backslash, quote, newline) into buf; returns false if it was cut. */
bool st_metrics_escape_label(const char *value, char *buf, size_t cap);

#endif
