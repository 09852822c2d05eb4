/*
 * A small Prometheus registry. Families and series are kept in creation order (a stable
 * /metrics page); creation takes a lock, updates are atomic. Doubles are stored as their bit
 * patterns in atomic 64-bit words and added with a compare-and-swap loop.
 */
#include "strata/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/log.h"

enum kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

struct st_metric {
	_Atomic uint64_t bits;
};

struct st_histogram {
	double *bounds;
	size_t nbounds;
	_Atomic uint64_t *buckets; /* nbounds + 1, not cumulative; the last is +Inf */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_bits;
};

struct series {
	char *labels; /* may be "" */
	union {
		struct st_metric metric;
		struct st_histogram hist;
	} u;
	struct series *next;
};

struct family {
	char *name;
	char *help;
	enum kind kind;
	struct series *first, *last;
	struct family *next;
};

struct collector {
	st_metrics_collector *fn;
	void *ctx;
};

struct st_metrics {
	pthread_mutex_t lock;
	struct family *first, *last;
	struct collector collectors[16];
	size_t ncollectors;
};

const double st_metrics_latency_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					     0.1,    0.25,  0.5,    1,     2.5,  5,     10 };
const size_t st_metrics_latency_nbounds = ST_ARRAY_LEN(st_metrics_latency_bounds);

static double
from_bits(uint64_t bits)
{
	double d;
	memcpy(&d, &bits, sizeof(d));
	return d;
}

static uint64_t
to_bits(double d)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof(bits));
	return bits;
}

static void
atomic_add_double(_Atomic uint64_t *word, double v)
{
	uint64_t old = atomic_load_explicit(word, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(word, &old, to_bits(from_bits(old) + v),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

struct st_metrics *
st_metrics_create(void)
{
	struct st_metrics *m = st_calloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void
st_metrics_destroy(struct st_metrics *m)
{
	struct family *f, *fnext;

	if (m == NULL)
		return;
	for (f = m->first; f != NULL; f = fnext) {
		struct series *s, *snext;

		fnext = f->next;
		for (s = f->first; s != NULL; s = snext) {
			snext = s->next;
			if (f->kind == KIND_HISTOGRAM) {
				st_free(s->u.hist.bounds);
				st_free((void *)s->u.hist.buckets);
			}
			st_free(s->labels);
			st_free(s);
		}
		st_free(f->name);
		st_free(f->help);
		st_free(f);
	}
	pthread_mutex_destroy(&m->lock);
	st_free(m);
}

/* Finds or makes the family and the series; called with the lock held. */
static struct series *
get_series(struct st_metrics *m, const char *name, const char *help, enum kind kind,
	   const char *labels, bool *created)
{
	struct family *f;
	struct series *s;

	*created = false;
	if (labels == NULL)
		labels = "";
	for (f = m->first; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			break;
	if (f == NULL) {
		f = st_calloc(1, sizeof(*f));
		f->name = st_strdup(name);
		f->help = st_strdup(help ? help : "");
		f->kind = kind;
		if (m->last != NULL)
			m->last->next = f;
		else
			m->first = f;
		m->last = f;
	} else if (f->kind != kind) {
		st_log(ST_LOG_ERROR, "metrics", "metric %s registered with two types", name);
		abort();
	}
	for (s = f->first; s != NULL; s = s->next)
		if (strcmp(s->labels, labels) == 0)
			return s;
	s = st_calloc(1, sizeof(*s));
	s->labels = st_strdup(labels);
	if (f->last != NULL)
		f->last->next = s;
	else
		f->first = s;
	f->last = s;
	*created = true;
	return s;
}

static struct st_metric *
get_metric(struct st_metrics *m, const char *name, const char *help, enum kind kind,
	   const char *labels)
{
	struct series *s;
	bool created;

	pthread_mutex_lock(&m->lock);
	s = get_series(m, name, help, kind, labels, &created);
	pthread_mutex_unlock(&m->lock);
	return &s->u.metric;
}

struct st_metric *
st_metrics_counter(struct st_metrics *m, const char *name, const char *help, const char *labels)
{
	return get_metric(m, name, help, KIND_COUNTER, labels);
}

struct st_metric *
st_metrics_gauge(struct st_metrics *m, const char *name, const char *help, const char *labels)
{
	return get_metric(m, name, help, KIND_GAUGE, labels);
}

struct st_histogram *
st_metrics_histogram(struct st_metrics *m, const char *name, const char *help, const char *labels,
		     const double *bounds, size_t nbounds)
{
	struct series *s;
	bool created;

	pthread_mutex_lock(&m->lock);
	s = get_series(m, name, help, KIND_HISTOGRAM, labels, &created);
	if (created) {
		s->u.hist.bounds = st_malloc(nbounds * sizeof(double));
		memcpy(s->u.hist.bounds, bounds, nbounds * sizeof(double));
		s->u.hist.nbounds = nbounds;
		s->u.hist.buckets = st_calloc(nbounds + 1, sizeof(_Atomic uint64_t));
	}
	pthread_mutex_unlock(&m->lock);
	return &s->u.hist;
}

void
st_metric_add(struct st_metric *metric, double v)
{
	atomic_add_double(&metric->bits, v);
}

void
st_metric_set(struct st_metric *metric, double v)
{
	atomic_store_explicit(&metric->bits, to_bits(v), memory_order_relaxed);
}

double
st_metric_value(const struct st_metric *metric)
{
	return from_bits(atomic_load_explicit(&metric->bits, memory_order_relaxed));
}

void
st_histogram_observe(struct st_histogram *h, double v)
{
	size_t i = 0;

	while (i < h->nbounds && v > h->bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_add_double(&h->sum_bits, v);
}

uint64_t
st_histogram_count(const struct st_histogram *h)
{
	return atomic_load_explicit(&h->count, memory_order_relaxed);
}

double
st_histogram_sum(const struct st_histogram *h)
{
	return from_bits(atomic_load_explicit(&h->sum_bits, memory_order_relaxed));
}

double
st_histogram_quantile(const struct st_histogram *h, double q)
{
	uint64_t total = 0, seen = 0;
	double rank;

	for (size_t i = 0; i <= h->nbounds; i++)
		total += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
	if (total == 0)
		return 0;
	rank = q * (double)total;
	for (size_t i = 0; i <= h->nbounds; i++) {
		uint64_t in = atomic_load_explicit(&h->buckets[i], memory_order_relaxed);

		if (in > 0 && (double)(seen + in) >= rank) {
			double lo = i == 0 ? 0 : h->bounds[i - 1];
			double hi;

			if (i == h->nbounds)
				return h->nbounds ? h->bounds[h->nbounds - 1] : 0;
			hi = h->bounds[i];
			return lo + (hi - lo) * ((rank - (double)seen) / (double)in);
		}
		seen += in;
	}
	return h->nbounds ? h->bounds[h->nbounds - 1] : 0;
}

void
st_metrics_add_collector(struct st_metrics *m, st_metrics_collector *fn, void *ctx)
{
	pthread_mutex_lock(&m->lock);
	if (m->ncollectors == ST_ARRAY_LEN(m->collectors))
		abort(); /* a programming error: raise the table */
	m->collectors[m->ncollectors].fn = fn;
	m->collectors[m->ncollectors].ctx = ctx;
	m->ncollectors++;
	pthread_mutex_unlock(&m->lock);
}

/* A growing text buffer for rendering. */
struct text {
	char *buf;
	size_t len, cap;
};

static void text_printf(struct text *t, const char *fmt, ...) ST_PRINTF(2, 3);

static void
text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap * 2 + (n > 0 ? (size_t)n : 0);
		t->buf = st_realloc(t->buf, t->cap);
	}
}

static void
print_value(struct text *t, const char *name, const char *suffix, const char *labels,
	    const char *extra, double v)
{
	const char *sep = (labels[0] != '\0' && extra[0] != '\0') ? "," : "";

	if (labels[0] == '\0' && extra[0] == '\0')
		text_printf(t, "%s%s %.17g\n", name, suffix, v);
	else
		text_printf(t, "%s%s{%s%s%s} %.17g\n", name, suffix, labels, sep, extra, v);
}

static void
render_histogram(struct text *t, const char *name, const struct series *s)
{
	const struct st_histogram *h = &s->u.hist;
	uint64_t cumulative = 0;
	char le[64];

	for (size_t i = 0; i <= h->nbounds; i++) {
		cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
		if (i < h->nbounds)
			snprintf(le, sizeof(le), "le=\"%g\"", h->bounds[i]);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		print_value(t, name, "_bucket", s->labels, le, (double)cumulative);
	}
	print_value(t, name, "_sum", s->labels, "", st_histogram_sum(h));
	/* _count equals the +Inf bucket, as the format requires, even while observers race. */
	print_value(t, name, "_count", s->labels, "", (double)cumulative);
}

char *
st_metrics_render(struct st_metrics *m, size_t *len)
{
	static const char *const kinds[] = { "counter", "gauge", "histogram" };
	struct text t = { st_malloc(4096), 0, 4096 };
	size_t ncollectors;

	pthread_mutex_lock(&m->lock);
	ncollectors = m->ncollectors;
	pthread_mutex_unlock(&m->lock);
	/* Collectors create series, which takes the lock: call them without it. */
	for (size_t i = 0; i < ncollectors; i++)
		m->collectors[i].fn(m, m->collectors[i].ctx);

	pthread_mutex_lock(&m->lock);
	for (const struct family *f = m->first; f != NULL; f = f->next) {
		text_printf(&t, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
			    kinds[f->kind]);
		for (const struct series *s = f->first; s != NULL; s = s->next) {
			if (f->kind == KIND_HISTOGRAM)
				render_histogram(&t, f->name, s);
			else
				print_value(&t, f->name, "", s->labels, "",
					    st_metric_value(&s->u.metric));
		}
	}
	pthread_mutex_unlock(&m->lock);
	t.buf[t.len] = '\0';
	if (len != NULL)
		*len = t.len;
	return t.buf;
}

void
st_metrics_each_histogram(struct st_metrics *m, const char *name, st_metrics_histogram_visitor *fn,
			  void *ctx)
{
	pthread_mutex_lock(&m->lock);
	for (const struct family *f = m->first; f != NULL; f = f->next) {
		if (f->kind != KIND_HISTOGRAM || strcmp(f->name, name) != 0)
			continue;
		for (const struct series *s = f->first; s != NULL; s = s->next)
			fn(s->labels, &s->u.hist, ctx);
	}
	pthread_mutex_unlock(&m->lock);
}

bool
st_metrics_escape_label(const char *value, char *buf, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return false;
	for (const char *p = value; *p != '\0'; p++) {
		const char *rep = NULL;
		char one[2] = { *p, '\0' };
		size_t rlen;

		if (*p == '\\')
			rep = "\\\\";
		else if (*p == '"')
			rep = "\\\"";
		else if (*p == '\n')
			rep = "\\n";
		else
			rep = one;
		rlen = strlen(rep);
		if (n + rlen + 1 > cap) {
			buf[n] = '\0';
			return false;
		}
		memcpy(buf + n, rep, rlen);
		n += rlen;
	}
	buf[n] = '\0';
	return true;
}

void
st_metrics_each_counter(struct st_metrics *m, const char *name, st_metrics_counter_visitor *fn,
			void *ctx)
{
	pthread_mutex_lock(&m->lock);
	for (const struct family *f = m->first; f != NULL; f = f->next) {
		if (f->kind != KIND_COUNTER || strcmp(f->name, name) != 0)
			continue;
		for (const struct series *s = f->first; s != NULL; s = s->next)
			fn(s->labels, st_metric_value(&s->u.metric), ctx);
	}
	pthread_mutex_unlock(&m->lock);
}
