/*
 * Process metrics every service exposes: resident memory, CPU time, threads, open files, start
 * time, version, and the database pool's figures. Read from /proc at each scrape.
 */
#include "service_int.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "strata/db.h"
#include "strata/metrics.h"

static long
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream's own descriptor */
}

/* Fills CPU seconds and thread count from /proc/self/stat. */
static void
read_stat(double *cpu_s, long *threads)
{
	FILE *f = fopen("/proc/self/stat", "r");
	char line[1024];
	const char *p;
	unsigned long utime = 0, stime = 0;
	long nthreads = 0;

	*cpu_s = 0;
	*threads = 0;
	if (f == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL) {
		/* Fields after the command name, which may hold spaces: start after ')'. */
		p = strrchr(line, ')');
		if (p != NULL &&
		    sscanf(p + 2,
			   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d "
			   "%*d %ld",
			   &utime, &stime, &nthreads) == 3) {
			*cpu_s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
			*threads = nthreads;
		}
	}
	fclose(f);
}

static long
resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

static void
collect(struct st_metrics *m, void *ctx)
{
	struct service_run *run = ctx;
	double cpu;
	long threads;

	read_stat(&cpu, &threads);
	st_metric_set(st_metrics_gauge(m, "process_resident_memory_bytes",
				       "Resident memory size in bytes", NULL),
		      (double)resident_bytes());
	st_metric_set(st_metrics_gauge(m, "process_cpu_seconds_total",
				       "User and system CPU time spent in seconds", NULL),
		      cpu);
	st_metric_set(st_metrics_gauge(m, "process_threads", "Threads in the process", NULL),
		      (double)threads);
	st_metric_set(st_metrics_gauge(m, "process_open_fds", "Open file descriptors", NULL),
		      (double)count_fds());
	st_metric_set(st_metrics_gauge(m, "process_start_time_seconds",
				       "Start time of the process since the Unix epoch", NULL),
		      (double)run->app.started_ms / 1000.0);
	if (run->app.kafka != NULL) {
		struct st_kafka_producer_stats k;

		st_kafka_producer_stats(run->app.kafka, &k);
		st_metric_set(st_metrics_gauge(m, "strata_kafka_produced_total",
					       "Messages the brokers acknowledged", NULL),
			      (double)k.delivered);
		st_metric_set(st_metrics_gauge(m, "strata_kafka_produce_failures_total",
					       "Messages refused, timed out or failed at once",
					       NULL),
			      (double)k.failed);
	}
	if (run->app.db != NULL) {
		struct st_db_stats s;

		st_db_pool_stats(run->app.db, &s);
		st_metric_set(st_metrics_gauge(m, "strata_db_connections_open",
					       "PostgreSQL connections open", NULL),
			      s.open);
		st_metric_set(st_metrics_gauge(m, "strata_db_connections_busy",
					       "PostgreSQL connections checked out", NULL),
			      s.busy);
		st_metric_set(st_metrics_gauge(m, "strata_db_checkout_timeouts_total",
					       "Checkouts that found no free connection in time",
					       NULL),
			      (double)s.checkout_timeouts);
		st_metric_set(st_metrics_gauge(m, "strata_db_reconnects_total",
					       "Connections re-established after a loss", NULL),
			      (double)s.reconnects);
	}
}

void
service_metrics_register(struct service_run *run)
{
	char labels[160];

	snprintf(labels, sizeof(labels), "service=\"%s\",version=\"%s\"", run->svc->name,
		 st_version());
	st_metric_set(st_metrics_gauge(run->app.metrics, "strata_build_info",
				       "The service and version of this process", labels),
		      1);
	st_metrics_add_collector(run->app.metrics, collect, run);
}
