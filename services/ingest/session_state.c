/*
 * The session state machine, as a table and nothing else (no I/O), so that it can be read at
 * a glance and tested exhaustively:
 *
 *   action    from                         to         event                     command
 *   start     created                      running    strata.session.started    start
 *   stop      running                      stopped    strata.session.stopped    stop
 *   complete  stopped                      completed  strata.session.completed  -
 *   fail      created                      failed     strata.session.failed     -
 *   fail      running                      failed     strata.session.failed     stop
 *   fail      stopped                      failed     strata.session.failed     -
 *
 * completed and failed are closed: no action leaves them, and PATCH refuses them. Failing a
 * running session also tells its device to stop, or it would keep sending to a dead session.
 * Everything else (start twice, stop before start, complete a running session) is illegal and
 * answers 409 naming the current state.
 */
#include <stdio.h>
#include <string.h>

#include "ingest.h"

static const char *const status_names[INGEST_STATUS_COUNT] = {
	[INGEST_STATUS_CREATED] = "created", [INGEST_STATUS_RUNNING] = "running",
	[INGEST_STATUS_STOPPED] = "stopped", [INGEST_STATUS_COMPLETED] = "completed",
	[INGEST_STATUS_FAILED] = "failed",
};

static const char *const action_names[INGEST_ACTION_COUNT] = {
	[INGEST_ACTION_START] = "start",
	[INGEST_ACTION_STOP] = "stop",
	[INGEST_ACTION_COMPLETE] = "complete",
	[INGEST_ACTION_FAIL] = "fail",
};

#define FROM(s) (1u << (s))

static const struct {
	enum ingest_action action;
	enum ingest_status from;
	struct ingest_move move;
} table[] = {
	{ INGEST_ACTION_START,
	  INGEST_STATUS_CREATED,
	  { INGEST_STATUS_RUNNING, "strata.session.started", "start" } },
	{ INGEST_ACTION_STOP,
	  INGEST_STATUS_RUNNING,
	  { INGEST_STATUS_STOPPED, "strata.session.stopped", "stop" } },
	{ INGEST_ACTION_COMPLETE,
	  INGEST_STATUS_STOPPED,
	  { INGEST_STATUS_COMPLETED, "strata.session.completed", NULL } },
	{ INGEST_ACTION_FAIL,
	  INGEST_STATUS_CREATED,
	  { INGEST_STATUS_FAILED, "strata.session.failed", NULL } },
	{ INGEST_ACTION_FAIL,
	  INGEST_STATUS_RUNNING,
	  { INGEST_STATUS_FAILED, "strata.session.failed", "stop" } },
	{ INGEST_ACTION_FAIL,
	  INGEST_STATUS_STOPPED,
	  { INGEST_STATUS_FAILED, "strata.session.failed", NULL } },
};

bool
ingest_status_parse(const char *s, enum ingest_status *out)
{
	for (int i = 0; s != NULL && i < INGEST_STATUS_COUNT; i++)
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum ingest_status)i;
			return true;
		}
	return false;
}

const char *
ingest_status_name(enum ingest_status st)
{
	return (unsigned)st < INGEST_STATUS_COUNT ? status_names[st] : "";
}

bool
ingest_status_closed(enum ingest_status st)
{
	return st == INGEST_STATUS_COMPLETED || st == INGEST_STATUS_FAILED;
}

const char *
ingest_action_name(enum ingest_action action)
{
	return (unsigned)action < INGEST_ACTION_COUNT ? action_names[action] : "";
}

bool
ingest_action_parse(const char *name, enum ingest_action *out)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(action_names); i++)
		if (strcmp(name, action_names[i]) == 0) {
			*out = (enum ingest_action)i;
			return true;
		}
	return false;
}

bool
ingest_session_move(enum ingest_action action, enum ingest_status from, struct ingest_move *out)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(table); i++)
		if (table[i].action == action && table[i].from == from) {
			*out = table[i].move;
			return true;
		}
	return false;
}

void
ingest_session_from_array(enum ingest_action action, char *buf, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return;
	n += (size_t)snprintf(buf, cap, "{");
	for (size_t i = 0; i < ST_ARRAY_LEN(table) && n < cap; i++)
		if (table[i].action == action)
			n += (size_t)snprintf(buf + n, cap - n, "%s%s", n > 1 ? "," : "",
					      status_names[table[i].from]);
	if (n < cap)
		snprintf(buf + n, cap - n, "}");
}
