/*
 * Unit tests for metrics.c: counters, gauges and histograms rendered in the Prometheus text
 * format, compared byte for byte; get-or-create handles; quantile estimates on distributions
 * whose answer is known; label escaping; collectors run at each render.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata/metrics.h"

Suite *metrics_suite(void);

static struct st_metrics *m;

static void
setup(void)
{
	m = st_metrics_create();
}

static void
teardown(void)
{
	st_metrics_destroy(m);
	m = NULL;
}

/* Renders the registry and compares it with want, byte for byte. */
static void
render_is(const char *want)
{
	size_t len = 12345;
	char *text = st_metrics_render(m, &len);

	ck_assert_str_eq(text, want);
	ck_assert_uint_eq(len, strlen(want));
	st_free(text);
}

START_TEST(render_empty)
{
	render_is("");
}
END_TEST

START_TEST(render_counters_and_gauges)
{
	struct st_metric *x = st_metrics_counter(m, "strata_requests_total", "Requests served.",
						 "route=\"/x\",method=\"GET\"");
	struct st_metric *y = st_metrics_counter(m, "strata_requests_total", "ignored",
						 "route=\"/y\",method=\"GET\"");
	struct st_metric *g =
		st_metrics_gauge(m, "strata_pool_in_use", "Connections in use.", NULL);
	struct st_metric *neg = st_metrics_gauge(m, "strata_offset", "Offset.", "p=\"0\"");

	st_metric_add(x, 1);
	st_metric_add(x, 2);
	st_metric_add(y, 0.5);
	st_metric_set(g, 3);
	st_metric_set(g, 2.5);
	st_metric_set(neg, -7);
	ck_assert(st_metric_value(x) == 3);
	ck_assert(st_metric_value(g) == 2.5);
	render_is("# HELP strata_requests_total Requests served.\n"
		  "# TYPE strata_requests_total counter\n"
		  "strata_requests_total{route=\"/x\",method=\"GET\"} 3\n"
		  "strata_requests_total{route=\"/y\",method=\"GET\"} 0.5\n"
		  "# HELP strata_pool_in_use Connections in use.\n"
		  "# TYPE strata_pool_in_use gauge\n"
		  "strata_pool_in_use 2.5\n"
		  "# HELP strata_offset Offset.\n"
		  "# TYPE strata_offset gauge\n"
		  "strata_offset{p=\"0\"} -7\n");
}
END_TEST

START_TEST(render_large_counter_exact)
{
	struct st_metric *c = st_metrics_counter(m, "big_total", "Big.", NULL);

	/* integers up to 2^53 print exactly, without an exponent */
	st_metric_add(c, 9007199254740992.0);
	render_is("# HELP big_total Big.\n"
		  "# TYPE big_total counter\n"
		  "big_total 9007199254740992\n");
}
END_TEST

START_TEST(render_histogram)
{
	static const double bounds[] = { 0.125, 0.5, 1 };
	struct st_histogram *h = st_metrics_histogram(m, "strata_latency_seconds", "Latency.",
						      "route=\"/x\"", bounds, 3);
	struct st_histogram *bare =
		st_metrics_histogram(m, "strata_batch_rows", "Rows.", NULL, bounds, 3);

	st_histogram_observe(h, 0.0625);
	st_histogram_observe(h, 0.125); /* on a bound: counted in it (le is inclusive) */
	st_histogram_observe(h, 0.25);
	st_histogram_observe(h, 0.75);
	st_histogram_observe(h, 2);
	ck_assert_uint_eq(st_histogram_count(h), 5);
	ck_assert(st_histogram_sum(h) == 3.1875);
	(void)bare;
	render_is("# HELP strata_latency_seconds Latency.\n"
		  "# TYPE strata_latency_seconds histogram\n"
		  "strata_latency_seconds_bucket{route=\"/x\",le=\"0.125\"} 2\n"
		  "strata_latency_seconds_bucket{route=\"/x\",le=\"0.5\"} 3\n"
		  "strata_latency_seconds_bucket{route=\"/x\",le=\"1\"} 4\n"
		  "strata_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 5\n"
		  "strata_latency_seconds_sum{route=\"/x\"} 3.1875\n"
		  "strata_latency_seconds_count{route=\"/x\"} 5\n"
		  "# HELP strata_batch_rows Rows.\n"
		  "# TYPE strata_batch_rows histogram\n"
		  "strata_batch_rows_bucket{le=\"0.125\"} 0\n"
		  "strata_batch_rows_bucket{le=\"0.5\"} 0\n"
		  "strata_batch_rows_bucket{le=\"1\"} 0\n"
		  "strata_batch_rows_bucket{le=\"+Inf\"} 0\n"
		  "strata_batch_rows_sum 0\n"
		  "strata_batch_rows_count 0\n");
}
END_TEST

START_TEST(render_latency_bounds)
{
	struct st_histogram *h = st_metrics_histogram(
		m, "lat", "L.", NULL, st_metrics_latency_bounds, st_metrics_latency_nbounds);

	st_histogram_observe(h, 0.00390625); /* 2^-8, so that the sum is exact */
	st_histogram_observe(h, 64);
	render_is("# HELP lat L.\n"
		  "# TYPE lat histogram\n"
		  "lat_bucket{le=\"0.0005\"} 0\n"
		  "lat_bucket{le=\"0.001\"} 0\n"
		  "lat_bucket{le=\"0.0025\"} 0\n"
		  "lat_bucket{le=\"0.005\"} 1\n"
		  "lat_bucket{le=\"0.01\"} 1\n"
		  "lat_bucket{le=\"0.025\"} 1\n"
		  "lat_bucket{le=\"0.05\"} 1\n"
		  "lat_bucket{le=\"0.1\"} 1\n"
		  "lat_bucket{le=\"0.25\"} 1\n"
		  "lat_bucket{le=\"0.5\"} 1\n"
		  "lat_bucket{le=\"1\"} 1\n"
		  "lat_bucket{le=\"2.5\"} 1\n"
		  "lat_bucket{le=\"5\"} 1\n"
		  "lat_bucket{le=\"10\"} 1\n"
		  "lat_bucket{le=\"+Inf\"} 2\n"
		  "lat_sum 64.00390625\n"
		  "lat_count 2\n");
}
END_TEST

START_TEST(render_many_series_grows_buffer)
{
	char labels[64];
	size_t len = 0;
	char *text;

	/* well past the first 4 KiB of the render buffer */
	for (int i = 0; i < 500; i++) {
		snprintf(labels, sizeof(labels), "id=\"%d\"", i);
		st_metric_add(st_metrics_counter(m, "many_total", "Many.", labels), i);
	}
	text = st_metrics_render(m, &len);
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_ptr_nonnull(strstr(text, "\nmany_total{id=\"0\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nmany_total{id=\"499\"} 499\n"));
	ck_assert_uint_gt(len, 8192);
	st_free(text);
}
END_TEST

START_TEST(get_or_create_same_handle)
{
	struct st_metric *a = st_metrics_counter(m, "c_total", "C.", "k=\"1\"");
	struct st_metric *b = st_metrics_counter(m, "c_total", "C.", "k=\"1\"");
	struct st_metric *other = st_metrics_counter(m, "c_total", "C.", "k=\"2\"");
	struct st_metric *none1 = st_metrics_counter(m, "c_total", "C.", NULL);
	struct st_metric *none2 = st_metrics_counter(m, "c_total", "C.", "");
	struct st_metric *g1 = st_metrics_gauge(m, "g", "G.", NULL);
	struct st_metric *g2 = st_metrics_gauge(m, "g", "G.", NULL);
	static const double b1[] = { 1, 2 }, b2[] = { 5 };
	struct st_histogram *h1 = st_metrics_histogram(m, "h", "H.", "x=\"y\"", b1, 2);
	struct st_histogram *h2 = st_metrics_histogram(m, "h", "H.", "x=\"y\"", b2, 1);
	struct st_histogram *h3 = st_metrics_histogram(m, "h", "H.", "x=\"z\"", b1, 2);

	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_ne(a, other);
	ck_assert_ptr_eq(none1, none2); /* NULL labels and "" are the same series */
	ck_assert_ptr_ne(none1, a);
	ck_assert_ptr_eq(g1, g2);
	ck_assert_ptr_eq(h1, h2); /* the bounds of the first creation stay */
	ck_assert_ptr_ne(h1, h3);
	st_metric_add(a, 1);
	st_metric_add(b, 1);
	ck_assert(st_metric_value(a) == 2);
	ck_assert(st_metric_value(other) == 0);
	st_histogram_observe(h2, 1.5);
	render_is("# HELP c_total C.\n"
		  "# TYPE c_total counter\n"
		  "c_total{k=\"1\"} 2\n"
		  "c_total{k=\"2\"} 0\n"
		  "c_total 0\n"
		  "# HELP g G.\n"
		  "# TYPE g gauge\n"
		  "g 0\n"
		  "# HELP h H.\n"
		  "# TYPE h histogram\n"
		  "h_bucket{x=\"y\",le=\"1\"} 0\n"
		  "h_bucket{x=\"y\",le=\"2\"} 1\n"
		  "h_bucket{x=\"y\",le=\"+Inf\"} 1\n"
		  "h_sum{x=\"y\"} 1.5\n"
		  "h_count{x=\"y\"} 1\n"
		  "h_bucket{x=\"z\",le=\"1\"} 0\n"
		  "h_bucket{x=\"z\",le=\"2\"} 0\n"
		  "h_bucket{x=\"z\",le=\"+Inf\"} 0\n"
		  "h_sum{x=\"z\"} 0\n"
		  "h_count{x=\"z\"} 0\n");
}
END_TEST

START_TEST(two_types_one_name_aborts)
{
	st_metrics_counter(m, "same", "S.", NULL);
	close(STDERR_FILENO); /* the abort logs a line: keep the test output clean */
	st_metrics_gauge(m, "same", "S.", "other=\"labels\"");
}
END_TEST

/* ---- quantiles ---- */

static struct st_histogram *
hist(const double *bounds, size_t n)
{
	return st_metrics_histogram(m, "q", "Q.", NULL, bounds, n);
}

static void
near(double got, double want)
{
	ck_assert_msg(fabs(got - want) < 1e-9, "got %.17g, want %.17g", got, want);
}

START_TEST(quantile_uniform)
{
	static const double bounds[] = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 100 };
	struct st_histogram *h = hist(bounds, ST_ARRAY_LEN(bounds));

	/* ten observations in each bucket: linear interpolation recovers the quantile */
	for (int i = 0; i < 100; i++)
		st_histogram_observe(h, i + 0.5);
	near(st_histogram_quantile(h, 0.5), 50);
	near(st_histogram_quantile(h, 0.9), 90);
	near(st_histogram_quantile(h, 0.95), 95);
	near(st_histogram_quantile(h, 0.99), 99);
	near(st_histogram_quantile(h, 0.01), 1);
	near(st_histogram_quantile(h, 0.25), 25);
}
END_TEST

START_TEST(quantile_one_per_bucket)
{
	static const double bounds[] = { 1, 2, 3, 4 };
	struct st_histogram *h = hist(bounds, ST_ARRAY_LEN(bounds));

	st_histogram_observe(h, 0.5);
	st_histogram_observe(h, 1.5);
	st_histogram_observe(h, 2.5);
	st_histogram_observe(h, 3.5);
	near(st_histogram_quantile(h, 0.125), 0.5); /* the first bucket starts at 0 */
	near(st_histogram_quantile(h, 0.25), 1);
	near(st_histogram_quantile(h, 0.5), 2);
	near(st_histogram_quantile(h, 0.75), 3);
	near(st_histogram_quantile(h, 0.875), 3.5);
}
END_TEST

START_TEST(quantile_skips_empty_buckets)
{
	static const double bounds[] = { 1, 2, 3, 4 };
	struct st_histogram *h = hist(bounds, ST_ARRAY_LEN(bounds));

	for (int i = 0; i < 4; i++)
		st_histogram_observe(h, 2.5); /* all in (2, 3] */
	near(st_histogram_quantile(h, 0.5), 2.5);
	near(st_histogram_quantile(h, 0.25), 2.25);
	near(st_histogram_quantile(h, 0.99), 2.99);
}
END_TEST

START_TEST(quantile_empty_and_inf)
{
	static const double bounds[] = { 1, 2 };
	struct st_histogram *h = hist(bounds, ST_ARRAY_LEN(bounds));
	struct st_histogram *none = st_metrics_histogram(m, "none", "N.", NULL, bounds, 0);

	near(st_histogram_quantile(h, 0.5), 0); /* empty */
	st_histogram_observe(h, 100);
	st_histogram_observe(h, 1000);
	near(st_histogram_quantile(h, 0.5), 2); /* in +Inf: the largest finite bound */
	near(st_histogram_quantile(h, 0.99), 2);
	st_histogram_observe(h, 0.5);
	st_histogram_observe(h, 0.5);
	near(st_histogram_quantile(h, 0.25), 0.5);
	near(st_histogram_quantile(h, 0.9), 2);
	/* no bounds at all */
	st_histogram_observe(none, 5);
	near(st_histogram_quantile(none, 0.5), 0);
}
END_TEST

/* ---- labels, collectors, visitors ---- */

static const struct {
	const char *in;
	const char *out;
} escapes[] = {
	{ "plain", "plain" },
	{ "", "" },
	{ "/api/v1/projects/{id}", "/api/v1/projects/{id}" },
	{ "say \"hi\"", "say \\\"hi\\\"" },
	{ "back\\slash", "back\\\\slash" },
	{ "two\nlines", "two\\nlines" },
	{ "\"\\\n", "\\\"\\\\\\n" },
	{ "tab\tstays", "tab\tstays" },
	{ "caf\xc3\xa9", "caf\xc3\xa9" },
};

START_TEST(escape_label_table)
{
	char buf[64];

	ck_assert(st_metrics_escape_label(escapes[_i].in, buf, sizeof(buf)));
	ck_assert_str_eq(buf, escapes[_i].out);
	/* exactly enough room, then one byte less */
	ck_assert(st_metrics_escape_label(escapes[_i].in, buf, strlen(escapes[_i].out) + 1));
	ck_assert_str_eq(buf, escapes[_i].out);
	if (escapes[_i].out[0] != '\0') {
		ck_assert(!st_metrics_escape_label(escapes[_i].in, buf, strlen(escapes[_i].out)));
		ck_assert_uint_lt(strlen(buf), strlen(escapes[_i].out));
		ck_assert(strncmp(buf, escapes[_i].out, strlen(buf)) == 0);
	}
}
END_TEST

START_TEST(escape_label_no_half_escape)
{
	char buf[8];

	/* `a\"` needs 4 bytes with the NUL: with 3, the escape is left out whole */
	ck_assert(!st_metrics_escape_label("a\"", buf, 3));
	ck_assert_str_eq(buf, "a");
	ck_assert(!st_metrics_escape_label("abc", buf, 1));
	ck_assert_str_eq(buf, "");
	/* no room at all: nothing is written */
	buf[0] = 'X';
	ck_assert(!st_metrics_escape_label("abc", buf, 0));
	ck_assert(!st_metrics_escape_label("", buf, 0));
	ck_assert_int_eq(buf[0], 'X');
}
END_TEST

START_TEST(escaped_label_renders)
{
	char esc[64], labels[96];

	ck_assert(st_metrics_escape_label("/a\"b\\c\nd", esc, sizeof(esc)));
	snprintf(labels, sizeof(labels), "route=\"%s\"", esc);
	st_metric_add(st_metrics_counter(m, "r_total", "R.", labels), 1);
	render_is("# HELP r_total R.\n"
		  "# TYPE r_total counter\n"
		  "r_total{route=\"/a\\\"b\\\\c\\nd\"} 1\n");
}
END_TEST

struct collect_ctx {
	int calls;
};

static void
collect(struct st_metrics *reg, void *arg)
{
	struct collect_ctx *ctx = arg;

	ctx->calls++;
	/* a collector may create series: it runs without the registry's lock */
	st_metric_set(st_metrics_gauge(reg, "strata_calls", "Collector calls.", NULL), ctx->calls);
}

START_TEST(collectors_called_at_render)
{
	struct collect_ctx a = { 0 }, b = { 100 };

	st_metrics_add_collector(m, collect, &a);
	ck_assert_int_eq(a.calls, 0); /* not at registration */
	render_is("# HELP strata_calls Collector calls.\n"
		  "# TYPE strata_calls gauge\n"
		  "strata_calls 1\n");
	render_is("# HELP strata_calls Collector calls.\n"
		  "# TYPE strata_calls gauge\n"
		  "strata_calls 2\n");
	ck_assert_int_eq(a.calls, 2);
	/* collectors run in the order they were added: the last one sets the gauge */
	st_metrics_add_collector(m, collect, &b);
	render_is("# HELP strata_calls Collector calls.\n"
		  "# TYPE strata_calls gauge\n"
		  "strata_calls 101\n");
	ck_assert_int_eq(a.calls, 3);
	ck_assert_int_eq(b.calls, 101);
}
END_TEST

struct visit_ctx {
	int n;
	char labels[4][32];
	uint64_t counts[4];
};

static void
visit(const char *labels, const struct st_histogram *h, void *arg)
{
	struct visit_ctx *ctx = arg;

	ck_assert_int_lt(ctx->n, 4);
	snprintf(ctx->labels[ctx->n], sizeof(ctx->labels[ctx->n]), "%s", labels);
	ctx->counts[ctx->n] = st_histogram_count(h);
	ctx->n++;
}

START_TEST(each_histogram_visits_one_family)
{
	static const double bounds[] = { 1 };
	struct visit_ctx ctx = { 0 };

	st_histogram_observe(st_metrics_histogram(m, "a", "A.", "r=\"1\"", bounds, 1), 0.5);
	st_metrics_histogram(m, "a", "A.", "r=\"2\"", bounds, 1);
	st_histogram_observe(st_metrics_histogram(m, "b", "B.", NULL, bounds, 1), 0.5);
	st_metrics_counter(m, "c", "C.", NULL);
	st_metrics_each_histogram(m, "a", visit, &ctx);
	ck_assert_int_eq(ctx.n, 2);
	ck_assert_str_eq(ctx.labels[0], "r=\"1\"");
	ck_assert_uint_eq(ctx.counts[0], 1);
	ck_assert_str_eq(ctx.labels[1], "r=\"2\"");
	ck_assert_uint_eq(ctx.counts[1], 0);
	ctx.n = 0;
	st_metrics_each_histogram(m, "c", visit, &ctx); /* not a histogram */
	st_metrics_each_histogram(m, "nope", visit, &ctx);
	ck_assert_int_eq(ctx.n, 0);
}
END_TEST

START_TEST(destroy_null)
{
	st_metrics_destroy(NULL);
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *render = tcase_create("render");
	TCase *quant = tcase_create("quantile");
	TCase *misc = tcase_create("labels");

	tcase_add_checked_fixture(render, setup, teardown);
	tcase_add_test(render, render_empty);
	tcase_add_test(render, render_counters_and_gauges);
	tcase_add_test(render, render_large_counter_exact);
	tcase_add_test(render, render_histogram);
	tcase_add_test(render, render_latency_bounds);
	tcase_add_test(render, render_many_series_grows_buffer);
	tcase_add_test(render, get_or_create_same_handle);
	tcase_add_test_raise_signal(render, two_types_one_name_aborts, SIGABRT);
	suite_add_tcase(s, render);

	tcase_add_checked_fixture(quant, setup, teardown);
	tcase_add_test(quant, quantile_uniform);
	tcase_add_test(quant, quantile_one_per_bucket);
	tcase_add_test(quant, quantile_skips_empty_buckets);
	tcase_add_test(quant, quantile_empty_and_inf);
	suite_add_tcase(s, quant);

	tcase_add_checked_fixture(misc, setup, teardown);
	tcase_add_loop_test(misc, escape_label_table, 0, (int)ST_ARRAY_LEN(escapes));
	tcase_add_test(misc, escape_label_no_half_escape);
	tcase_add_test(misc, escaped_label_renders);
	tcase_add_test(misc, collectors_called_at_render);
	tcase_add_test(misc, each_histogram_visits_one_family);
	tcase_add_test(misc, destroy_null);
	suite_add_tcase(s, misc);
	return s;
}
