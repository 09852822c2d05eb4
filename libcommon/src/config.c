/*
 * Settings from the environment and a .env file, validated once at start-up. The resolution
 * works on plain arrays ("KEY=VALUE" strings and the text of a .env file) so that the unit tests
 * can drive it without touching the process environment.
 */
#define _GNU_SOURCE
#include "strata/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strata/log.h"

#define MAX_TABLES       8
#define DOTENV_MAX_BYTES (256 * 1024)

extern char **environ;

/* Internal, exposed to the unit tests under ST_TESTING. */
ST_STATIC int config_parse_env_line(const char *line, char *key, size_t keycap, char *val,
				    size_t valcap);
ST_STATIC enum st_err config_resolve(struct st_config *cfg, const char *const *env,
				     const char *dotenv, char *err, size_t errcap);

struct value {
	const struct st_config_item *item;
	char *text; /* owned */
	long long i;
	bool b;
};

struct st_config {
	const struct st_config_item *tables[MAX_TABLES];
	size_t sizes[MAX_TABLES];
	size_t ntables;
	struct value *values;
	size_t nvalues;
};

struct st_config *
st_config_create(void)
{
	return st_calloc(1, sizeof(struct st_config));
}

static void
free_values(struct st_config *cfg)
{
	for (size_t i = 0; i < cfg->nvalues; i++)
		st_free(cfg->values[i].text);
	st_free(cfg->values);
	cfg->values = NULL;
	cfg->nvalues = 0;
}

void
st_config_destroy(struct st_config *cfg)
{
	if (cfg == NULL)
		return;
	free_values(cfg);
	st_free(cfg);
}

void
st_config_add(struct st_config *cfg, const struct st_config_item *items, size_t n)
{
	if (cfg->ntables == MAX_TABLES)
		abort(); /* a programming error: raise MAX_TABLES */
	cfg->tables[cfg->ntables] = items;
	cfg->sizes[cfg->ntables] = n;
	cfg->ntables++;
}

/*
 * Parses one line of a .env file. Returns 1 with key and value filled, 0 for a blank or comment
 * line, -1 for a malformed one. Accepts `KEY=value`, `export KEY=value`, and values in single
 * or double quotes (double quotes understand \n, \" and \\).
 */
ST_STATIC int
config_parse_env_line(const char *line, char *key, size_t keycap, char *val, size_t valcap)
{
	const char *p = line, *k, *eq;
	size_t klen, vlen = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#' || *p == '\n' || *p == '\r')
		return 0;
	if (strncmp(p, "export ", 7) == 0)
		p += 7;
	k = p;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
	       *p == '_')
		p++;
	klen = (size_t)(p - k);
	eq = p;
	if (klen == 0 || klen >= keycap || *eq != '=' || (*k >= '0' && *k <= '9'))
		return -1;
	memcpy(key, k, klen);
	key[klen] = '\0';
	p = eq + 1;
	if (*p == '"' || *p == '\'') {
		char quote = *p++;

		while (*p != '\0' && *p != quote) {
			char c = *p++;

			if (quote == '"' && c == '\\' && *p != '\0') {
				c = *p++;
				if (c == 'n')
					c = '\n';
			}
			if (vlen + 1 >= valcap)
				return -1;
			val[vlen++] = c;
		}
		if (*p != quote)
			return -1;
		p++;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '\0' && *p != '#')
			return -1;
	} else {
		const char *end = p + strcspn(p, "\r\n");

		/* An unquoted value ends at a comment that follows white space. */
		for (const char *c = p; c < end; c++)
			if (*c == '#' && c > p && (c[-1] == ' ' || c[-1] == '\t')) {
				end = c;
				break;
			}
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		vlen = (size_t)(end - p);
		if (vlen >= valcap)
			return -1;
		memcpy(val, p, vlen);
	}
	val[vlen] = '\0';
	return 1;
}

/* The value of name among "K=V" strings, or NULL. */
static const char *
env_lookup(const char *const *env, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

/* The value of name in the text of a .env file, copied into buf, or NULL. Later lines win,
 * as in a shell. */
static const char *
dotenv_lookup(const char *text, const char *name, char *buf, size_t cap)
{
	const char *line = text;
	const char *found = NULL;
	char key[128], val[4096], one[4096];

	while (line != NULL && *line != '\0') {
		const char *next = strchr(line, '\n');
		size_t len = next ? (size_t)(next - line) : strlen(line);

		if (len < sizeof(one)) {
			memcpy(one, line, len);
			one[len] = '\0';
			if (config_parse_env_line(one, key, sizeof(key), val, sizeof(val)) == 1 &&
			    strcmp(key, name) == 0) {
				st_strlcpy(buf, val, cap);
				found = buf;
			}
		}
		line = next ? next + 1 : NULL;
	}
	return found;
}

/* Checks that every line of a .env text parses; names the first bad line. */
static enum st_err
dotenv_validate(const char *text, char *err, size_t errcap)
{
	const char *line = text;
	int lineno = 1;
	char key[128], val[4096];

	while (line != NULL && *line != '\0') {
		const char *next = strchr(line, '\n');
		size_t len = next ? (size_t)(next - line) : strlen(line);
		char one[4096];

		if (len >= sizeof(one) ||
		    (memcpy(one, line, len), one[len] = '\0',
		     config_parse_env_line(one, key, sizeof(key), val, sizeof(val)) < 0)) {
			st_errf(err, errcap, ".env line %d: expected KEY=value", lineno);
			return ST_ERR_INVALID;
		}
		line = next ? next + 1 : NULL;
		lineno++;
	}
	return ST_OK;
}

static bool
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on" };
	static const char *const no[] = { "false", "0", "no", "off" };

	for (size_t i = 0; i < ST_ARRAY_LEN(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool
parse_int(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && end != s && *end == '\0';
}

/* Validates one raw value against its item; fills v or writes the reason into err. */
static enum st_err
check_value(const struct st_config_item *it, const char *raw, struct value *v, char *err,
	    size_t errcap)
{
	switch (it->type) {
	case ST_CONFIG_T_STR:
		break;
	case ST_CONFIG_T_SECRET:
		if ((long long)strlen(raw) < it->min) {
			/* Never echo a secret, not even a wrong one. */
			st_errf(err, errcap, "%s: expected a secret of at least %lld characters",
				it->name, it->min);
			return ST_ERR_INVALID;
		}
		break;
	case ST_CONFIG_T_INT:
		if (!parse_int(raw, &v->i) || v->i < it->min || v->i > it->max) {
			st_errf(err, errcap, "%s=%.64s: expected an integer from %lld to %lld",
				it->name, raw, it->min, it->max);
			return ST_ERR_INVALID;
		}
		break;
	case ST_CONFIG_T_BOOL:
		if (!parse_bool(raw, &v->b)) {
			st_errf(err, errcap, "%s=%.64s: expected true or false", it->name, raw);
			return ST_ERR_INVALID;
		}
		break;
	}
	v->text = st_strdup(raw);
	return ST_OK;
}

static bool
declared_before(const struct st_config *cfg, size_t table, size_t idx)
{
	const char *name = cfg->tables[table][idx].name;

	for (size_t t = 0; t <= table; t++)
		for (size_t i = 0; i < cfg->sizes[t] && (t < table || i < idx); i++)
			if (strcmp(cfg->tables[t][i].name, name) == 0)
				return true;
	return false;
}

/*
 * Resolves every declared setting from env ("K=V" strings, NULL-terminated; these win) and
 * the text of a .env file (may be NULL). Replaces any earlier values.
 */
ST_STATIC enum st_err
config_resolve(struct st_config *cfg, const char *const *env, const char *dotenv, char *err,
	       size_t errcap)
{
	enum st_err rc = ST_OK;
	size_t total = 0;
	char buf[4096];

	free_values(cfg);
	if (dotenv != NULL) {
		rc = dotenv_validate(dotenv, err, errcap);
		if (rc != ST_OK)
			goto out;
	}
	for (size_t t = 0; t < cfg->ntables; t++)
		total += cfg->sizes[t];
	cfg->values = st_calloc(total, sizeof(struct value));
	for (size_t t = 0; t < cfg->ntables && rc == ST_OK; t++) {
		for (size_t i = 0; i < cfg->sizes[t]; i++) {
			const struct st_config_item *it = &cfg->tables[t][i];
			const char *raw;

			if (declared_before(cfg, t, i))
				continue;
			raw = env_lookup(env, it->name);
			if (raw == NULL && dotenv != NULL)
				raw = dotenv_lookup(dotenv, it->name, buf, sizeof(buf));
			if (raw == NULL)
				raw = it->def;
			if (raw == NULL) {
				st_errf(err, errcap, "%s: required but not set", it->name);
				rc = ST_ERR_INVALID;
				break;
			}
			cfg->values[cfg->nvalues].item = it;
			rc = check_value(it, raw, &cfg->values[cfg->nvalues], err, errcap);
			if (rc != ST_OK)
				break;
			cfg->nvalues++;
		}
	}
out:
	return rc;
}

static char *
read_file(const char *path, enum st_err *rc, char *err, size_t errcap)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t n;

	*rc = ST_OK;
	if (f == NULL) {
		if (errno != ENOENT) {
			st_errf(err, errcap, "%s: cannot be read: %s", path, strerror(errno));
			*rc = ST_ERR_INVALID;
		}
		return NULL;
	}
	text = st_malloc(DOTENV_MAX_BYTES + 1);
	n = fread(text, 1, DOTENV_MAX_BYTES + 1, f);
	if (ferror(f) || n > DOTENV_MAX_BYTES) {
		st_errf(err, errcap, "%s: unreadable or larger than %d bytes", path,
			DOTENV_MAX_BYTES);
		*rc = ST_ERR_INVALID;
		st_free(text);
		text = NULL;
	} else {
		text[n] = '\0';
	}
	fclose(f);
	return text;
}

enum st_err
st_config_load(struct st_config *cfg, const char *env_file, char *err, size_t errcap)
{
	enum st_err rc = ST_OK;
	char *dotenv = NULL;

	if (env_file != NULL) {
		dotenv = read_file(env_file, &rc, err, errcap);
		if (rc != ST_OK)
			goto out;
	}
	rc = config_resolve(cfg, (const char *const *)environ, dotenv, err, errcap);
out:
	st_free(dotenv);
	return rc;
}

static const struct value *
find(const struct st_config *cfg, const char *name, enum st_config_type type)
{
	for (size_t i = 0; i < cfg->nvalues; i++) {
		const struct value *v = &cfg->values[i];

		if (strcmp(v->item->name, name) != 0)
			continue;
		if (v->item->type != type &&
		    !(type == ST_CONFIG_T_STR && v->item->type == ST_CONFIG_T_SECRET)) {
			st_log(ST_LOG_ERROR, "config", "setting %s read with the wrong type", name);
			abort();
		}
		return v;
	}
	st_log(ST_LOG_ERROR, "config", "setting %s read but never declared", name);
	abort();
}

const char *
st_config_str(const struct st_config *cfg, const char *name)
{
	return find(cfg, name, ST_CONFIG_T_STR)->text;
}

long long
st_config_int(const struct st_config *cfg, const char *name)
{
	return find(cfg, name, ST_CONFIG_T_INT)->i;
}

bool
st_config_bool(const struct st_config *cfg, const char *name)
{
	return find(cfg, name, ST_CONFIG_T_BOOL)->b;
}

/* True for a URL with credentials ("scheme://user:password@host"): show it without them. */
static void
redact_url(const char *text, char *buf, size_t cap)
{
	const char *scheme = strstr(text, "://");
	const char *at = scheme ? strchr(scheme + 3, '@') : NULL;

	if (at == NULL) {
		st_strlcpy(buf, text, cap);
		return;
	}
	snprintf(buf, cap, "%.*s://***@%s", (int)(scheme - text), text, at + 1);
}

void
st_config_log(const struct st_config *cfg)
{
	for (size_t i = 0; i < cfg->nvalues; i++) {
		const struct value *v = &cfg->values[i];
		char shown[512];

		if (v->item->type == ST_CONFIG_T_SECRET)
			st_strlcpy(shown, "(set)", sizeof(shown));
		else
			redact_url(v->text, shown, sizeof(shown));
		st_log(ST_LOG_INFO, "config", "setting %s=%s", v->item->name, shown);
	}
}
