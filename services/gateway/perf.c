/*
 * GET /api/v1/performance/summary (scope dashboard): the gateway's own view of how it answers,
 * read from its metrics registry, so it costs nothing on the request path. Per route of the
 * gateway (strata_http_request_duration_seconds and strata_http_requests_total): count, the
 * share of 5xx and of 4xx answers, and p50/p95/p99 in milliseconds, estimated from the
 * histogram buckets. Proxied calls all share the catch-all route, so the same figures follow
 * per upstream and route prefix (strata_gateway_upstream_duration_seconds and
 * strata_gateway_upstream_responses_total, recorded by gw_forward). Counted since the process
 * started ("since").
 */
#include <stdio.h>
#include <string.h>

#include "gw_int.h"
#include "strata/json.h"
#include "strata/metrics.h"

/* One series being summed up. */
struct row {
	char labels[320];
	uint64_t count;
	double p50, p95, p99; /* seconds */
	double errors;        /* 5xx */
	double client_errors; /* 4xx */
};

struct rows {
	struct row *v;
	size_t n, cap;
};

bool
gw_label_value(const char *labels, const char *name, char *out, size_t cap)
{
	const char *p = labels;

	if (cap == 0)
		return false;
	while (*p != '\0') {
		const char *eq = strchr(p, '=');
		bool wanted;
		size_t k = 0;

		if (eq == NULL || eq[1] != '"')
			return false;
		wanted = (size_t)(eq - p) == strlen(name) && strncmp(p, name, strlen(name)) == 0;
		p = eq + 2;
		while (*p != '\0' && *p != '"') {
			char ch = *p++;

			if (ch == '\\' && *p != '\0') {
				ch = *p == 'n' ? '\n' : *p;
				p++;
			}
			if (wanted) {
				if (k + 1 >= cap)
					return false;
				out[k++] = ch;
			}
		}
		if (*p != '"')
			return false;
		if (wanted) {
			out[k] = '\0';
			return true;
		}
		p++;
		if (*p == ',')
			p++;
	}
	return false;
}

static void
visit_histogram(const char *labels, const struct st_histogram *h, void *ctx)
{
	struct rows *rows = ctx;
	struct row *r;
	uint64_t count = st_histogram_count(h);

	if (count == 0)
		return;
	if (rows->n == rows->cap) {
		rows->cap = rows->cap ? rows->cap * 2 : 32;
		rows->v = st_realloc(rows->v, rows->cap * sizeof(*rows->v));
	}
	r = &rows->v[rows->n++];
	memset(r, 0, sizeof(*r));
	st_strlcpy(r->labels, labels, sizeof(r->labels));
	r->count = count;
	r->p50 = st_histogram_quantile(h, 0.50);
	r->p95 = st_histogram_quantile(h, 0.95);
	r->p99 = st_histogram_quantile(h, 0.99);
}

/* Adds a counter series to the row whose labels it extends with its last label (the status
 * or its class). */
static void
visit_counter(const char *labels, double value, void *ctx)
{
	struct rows *rows = ctx;
	const char *last = strrchr(labels, ',');
	char v[16];

	if (last == NULL || value <= 0)
		return;
	for (size_t i = 0; i < rows->n; i++) {
		struct row *r = &rows->v[i];
		size_t n = strlen(r->labels);

		if ((size_t)(last - labels) != n || strncmp(labels, r->labels, n) != 0)
			continue;
		if (gw_label_value(last + 1, "status", v, sizeof(v)) ||
		    gw_label_value(last + 1, "class", v, sizeof(v))) {
			if (v[0] == '5')
				r->errors += value;
			else if (v[0] == '4')
				r->client_errors += value;
		}
		return;
	}
}

static double
ms(double seconds)
{
	return (double)(long long)(seconds * 1000.0 * 100.0 + 0.5) / 100.0;
}

static double
ratio(double part, uint64_t whole)
{
	return whole ? (double)(long long)(part / (double)whole * 10000.0 + 0.5) / 10000.0 : 0;
}

/* The summary of one family pair as a JSON array, with names for its labels. */
static cJSON *
summarize(struct st_app *app, const char *histogram, const char *counter, const char *label_a,
	  const char *label_b)
{
	struct rows rows = { NULL, 0, 0 };
	cJSON *out = cJSON_CreateArray();

	st_metrics_each_histogram(app->metrics, histogram, visit_histogram, &rows);
	st_metrics_each_counter(app->metrics, counter, visit_counter, &rows);
	for (size_t i = 0; i < rows.n; i++) {
		const struct row *r = &rows.v[i];
		cJSON *one = cJSON_CreateObject();
		char a[256] = "", b[256] = "";

		gw_label_value(r->labels, label_a, a, sizeof(a));
		gw_label_value(r->labels, label_b, b, sizeof(b));
		cJSON_AddStringToObject(one, label_a, a);
		cJSON_AddStringToObject(one, label_b, b);
		cJSON_AddNumberToObject(one, "count", (double)r->count);
		cJSON_AddNumberToObject(one, "error_rate", ratio(r->errors, r->count));
		cJSON_AddNumberToObject(one, "client_error_rate",
					ratio(r->client_errors, r->count));
		cJSON_AddNumberToObject(one, "p50_ms", ms(r->p50));
		cJSON_AddNumberToObject(one, "p95_ms", ms(r->p95));
		cJSON_AddNumberToObject(one, "p99_ms", ms(r->p99));
		cJSON_AddItemToArray(out, one);
	}
	st_free(rows.v);
	return out;
}

int
perf_summary(struct st_req *req, void *ctx)
{
	struct st_app *app = ctx;
	cJSON *doc = cJSON_CreateObject();
	char since[32], now[32];
	int status;

	st_time_format_rfc3339(app->started_ms, since, sizeof(since));
	st_time_format_rfc3339(st_now_wall_ms(), now, sizeof(now));
	cJSON_AddStringToObject(doc, "since", since);
	cJSON_AddStringToObject(doc, "time", now);
	cJSON_AddItemToObject(doc, "routes",
			      summarize(app, "strata_http_request_duration_seconds",
					"strata_http_requests_total", "route", "method"));
	cJSON_AddItemToObject(doc, "upstreams",
			      summarize(app, "strata_gateway_upstream_duration_seconds",
					"strata_gateway_upstream_responses_total", "upstream",
					"prefix"));
	st_http_add_header(req, "Cache-Control", "no-store");
	status = st_http_reply_json(req, 200, doc);
	cJSON_Delete(doc);
	return status;
}
