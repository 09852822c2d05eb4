/*
 * The unit test runner: every suite in one table (generated from the test_<name>.c files),
 * run in forked children so that a crash fails one test, not the run. `unit-tests NAME` runs
 * one suite.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_SUITE(name) Suite *name##_suite(void);
#include "suites.gen.h"
#undef ST_SUITE

struct suite_entry {
	const char *name;
	Suite *(*make)(void);
};

#define ST_SUITE(name) { #name, name##_suite },
static const struct suite_entry suites[] = {
#include "suites.gen.h"
};
#undef ST_SUITE

int
main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	SRunner *runner = NULL;
	int failed;

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (only != NULL && strcmp(only, suites[i].name) != 0)
			continue;
		if (runner == NULL)
			runner = srunner_create(suites[i].make());
		else
			srunner_add_suite(runner, suites[i].make());
	}
	if (runner == NULL) {
		fprintf(stderr, "no suite named %s\n", only ? only : "(none)");
		return 2;
	}
	srunner_set_fork_status(runner, CK_FORK);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
