/*
 * Configuration: a table of typed settings, read once at start-up from the environment and an
 * optional `.env` file (the environment wins), validated all at once, then read-only. A bad or
 * missing setting stops the service with one line that names the setting and what it accepts.
 */
#ifndef STRATA_CONFIG_H
#define STRATA_CONFIG_H

#include "strata/core.h"

enum st_config_type {
	ST_CONFIG_T_STR,
	ST_CONFIG_T_INT,
	ST_CONFIG_T_BOOL,
	ST_CONFIG_T_SECRET, /* a string never printed; min is its minimum length */
};

struct st_config_item {
	const char *name;
	enum st_config_type type;
	const char *def; /* the default as text; NULL means the setting is required */
	long long min, max;
};

/* A string; NULL default: required. */
#define ST_CONFIG_STR(name, def)                                                                   \
	{                                                                                          \
		(name), ST_CONFIG_T_STR, (def), 0, 0                                               \
	}
/* An integer in [min, max]. */
#define ST_CONFIG_INT(name, def, min, max)                                                         \
	{                                                                                          \
		(name), ST_CONFIG_T_INT, #def, (min), (max)                                        \
	}
/* true/false, 1/0, yes/no, on/off. */
#define ST_CONFIG_BOOL(name, def)                                                                  \
	{                                                                                          \
		(name), ST_CONFIG_T_BOOL, (def) ? "true" : "false", 0, 0                           \
	}
/* A secret of at least minlen characters; NULL default: required. Never logged. */
#define ST_CONFIG_SECRET(name, def, minlen)                                                        \
	{                                                                                          \
		(name), ST_CONFIG_T_SECRET, (def), (minlen), 0                                     \
	}

struct st_config;

/* An empty configuration; add item tables, then load. */
struct st_config *st_config_create(void);
void st_config_destroy(struct st_config *cfg);

/* Declares settings. The table must outlive cfg. A name declared twice keeps its first entry,
 * so a service may declare a shared setting again with the same meaning. */
void st_config_add(struct st_config *cfg, const struct st_config_item *items, size_t n);

/*
 * Resolves every declared setting from the process environment and the file env_file (may be
 * NULL; a missing file is not an error, an unreadable or malformed one is). On failure returns
 * ST_ERR_INVALID with one line in err naming the first bad setting, e.g.
 * "HTTP_PORT=abc: expected an integer from 1 to 65535".
 */
enum st_err st_config_load(struct st_config *cfg, const char *env_file, char *err, size_t errcap);

/* Getters. Asking for an undeclared name, or with the wrong type, is a bug: they abort. */
const char *st_config_str(const struct st_config *cfg, const char *name); /* borrowed */
long long st_config_int(const struct st_config *cfg, const char *name);
bool st_config_bool(const struct st_config *cfg, const char *name);

/* Logs every setting at info, secrets shown as "(set)". */
void st_config_log(const struct st_config *cfg);

#endif
