/*
 * A service's life from the outside: a bad setting stops it at once with one line naming the
 * setting; SIGTERM drains it (/readyz turns 503 while /healthz stays up) and it exits 0 after
 * a clean shutdown. Uses a spare strata-alerting on its own port beside the running suite.
 */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define SPARE_PORT "18184"

/* Starts $STRATA_BIN/strata-alerting with extra "K=V" settings; stderr goes to log_path. */
static pid_t
spawn_service(const char *const *settings, const char *log_path)
{
	char path[512];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/strata-alerting", it_env("STRATA_BIN", "bin"));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		setenv("PRINCIPAL_KEYS", it_principal_keys("alerting"), 1);
		for (size_t i = 0; settings[i] != NULL; i++)
			putenv((char *)settings[i]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Waits up to ms for pid to exit; returns its exit code, or -1 if it is still running. */
static int
wait_exit(pid_t pid, int ms)
{
	for (int waited = 0; waited <= ms; waited += 50) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(50 * 1000);
	}
	return -1;
}

static long
get_status(const char *path)
{
	struct it_resp r;
	char url[128];
	long status;

	snprintf(url, sizeof(url), "http://127.0.0.1:%s%s", SPARE_PORT, path);
	status = it_http("GET", url, NULL, NULL, &r);
	it_resp_cleanup(&r);
	return status;
}

static bool
file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

START_TEST(bad_setting_stops_the_service_with_its_name)
{
	static const char *const settings[] = { "HTTP_PORT=" SPARE_PORT, "DB_POOL_SIZE=lots",
						NULL };
	char log[] = "/tmp/strata-it-badcfg-XXXXXX";
	int fd = mkstemp(log);
	pid_t pid;

	close(fd);
	pid = spawn_service(settings, log);
	ck_assert_int_eq(wait_exit(pid, 5000), 2);
	ck_assert(file_contains(log, "DB_POOL_SIZE=lots: expected an integer from 1 to 512"));
	unlink(log);
}
END_TEST

START_TEST(sigterm_drains_then_exits_cleanly)
{
	static const char *const settings[] = { "HTTP_PORT=" SPARE_PORT, "SHUTDOWN_DRAIN_MS=1500",
						NULL };
	char log[] = "/tmp/strata-it-term-XXXXXX";
	int fd = mkstemp(log), code;
	pid_t pid;
	long ready = 0;

	close(fd);
	pid = spawn_service(settings, log);
	for (int i = 0; i < 100 && ready != 200; i++) {
		usleep(100 * 1000);
		ready = get_status("/readyz");
	}
	ck_assert_int_eq(ready, 200);
	kill(pid, SIGTERM);
	usleep(300 * 1000);
	ck_assert_int_eq(get_status("/readyz"), 503);  /* draining: balancers move away */
	ck_assert_int_eq(get_status("/healthz"), 200); /* but it is alive and still answers */
	code = wait_exit(pid, 15000);
	if (code < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	ck_assert_int_eq(code, 0);
	ck_assert(file_contains(log, "stopped cleanly"));
	unlink(log);
}
END_TEST

Suite *
lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("process");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, bad_setting_stops_the_service_with_its_name);
	tcase_add_test(tc, sigterm_drains_then_exits_cleanly);
	suite_add_tcase(s, tc);
	return s;
}
