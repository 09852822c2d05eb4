/*
 * Unit tests for config.c: the .env line parser (good lines, blank and comment lines, each kind
 * of malformed line), and resolution driven through config_resolve with a made-up environment
 * and .env text, so that no test touches the process environment except the two that exercise
 * st_config_load itself (each runs in its own forked child).
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata/config.h"

Suite *config_suite(void);

/* ST_STATIC in config.c: visible under -DST_TESTING. */
int config_parse_env_line(const char *line, char *key, size_t keycap, char *val, size_t valcap);
enum st_err config_resolve(struct st_config *cfg, const char *const *env, const char *dotenv,
			   char *err, size_t errcap);

/* ---- .env lines ---- */

static const struct {
	const char *line;
	int rc; /* 1: a setting, 0: blank or comment, -1: malformed */
	const char *key;
	const char *val;
} lines[] = {
	/* plain */
	{ "KEY=value", 1, "KEY", "value" },
	{ "key_2=value", 1, "key_2", "value" },
	{ "_UNDER=x", 1, "_UNDER", "x" },
	{ "KEY=", 1, "KEY", "" },
	{ "KEY=a=b=c", 1, "KEY", "a=b=c" },
	{ "DATABASE_URL=postgres://u:p@db:5432/strata?sslmode=disable", 1, "DATABASE_URL",
	  "postgres://u:p@db:5432/strata?sslmode=disable" },
	{ "  KEY=indented", 1, "KEY", "indented" },
	{ "\tKEY=tabbed", 1, "KEY", "tabbed" },
	{ "KEY=trailing   ", 1, "KEY", "trailing" },
	{ "KEY=crlf\r\n", 1, "KEY", "crlf" },
	{ "KEY=lf\n", 1, "KEY", "lf" },
	{ "KEY=inner space kept", 1, "KEY", "inner space kept" },
	/* export */
	{ "export KEY=value", 1, "KEY", "value" },
	{ "  export KEY=value", 1, "KEY", "value" },
	{ "exported=1", 1, "exported", "1" },
	/* trailing comments */
	{ "KEY=value # a comment", 1, "KEY", "value" },
	{ "KEY=value\t# a comment", 1, "KEY", "value" },
	{ "KEY=val#ue", 1, "KEY", "val#ue" },
	{ "KEY=#notacomment", 1, "KEY", "#notacomment" },
	{ "KEY= # only a comment", 1, "KEY", "" },
	/* double quotes, with escapes */
	{ "KEY=\"double quoted\"", 1, "KEY", "double quoted" },
	{ "KEY=\"\"", 1, "KEY", "" },
	{ "KEY=\"  padded  \"", 1, "KEY", "  padded  " },
	{ "KEY=\"a\\nb\"", 1, "KEY", "a\nb" },
	{ "KEY=\"say \\\"hi\\\"\"", 1, "KEY", "say \"hi\"" },
	{ "KEY=\"back\\\\slash\"", 1, "KEY", "back\\slash" },
	{ "KEY=\"it's\"", 1, "KEY", "it's" },
	{ "KEY=\"# not a comment\"", 1, "KEY", "# not a comment" },
	{ "KEY=\"v\" # trailing comment", 1, "KEY", "v" },
	{ "KEY=\"v\"# trailing comment", 1, "KEY", "v" },
	{ "KEY=\"v\"   ", 1, "KEY", "v" },
	{ "KEY=\"v\"\r\n", 1, "KEY", "v" },
	{ "export KEY=\"v w\"", 1, "KEY", "v w" },
	/* single quotes: literal, no escapes */
	{ "KEY='single quoted'", 1, "KEY", "single quoted" },
	{ "KEY=''", 1, "KEY", "" },
	{ "KEY='no \\n escape'", 1, "KEY", "no \\n escape" },
	{ "KEY='say \"hi\"'", 1, "KEY", "say \"hi\"" },
	{ "KEY='v' # comment", 1, "KEY", "v" },
	/* blank and comment lines */
	{ "", 0, NULL, NULL },
	{ "   ", 0, NULL, NULL },
	{ "\t \t", 0, NULL, NULL },
	{ "\n", 0, NULL, NULL },
	{ "\r\n", 0, NULL, NULL },
	{ "# a comment", 0, NULL, NULL },
	{ "   # an indented comment", 0, NULL, NULL },
	{ "#KEY=value", 0, NULL, NULL },
	/* malformed: no '=' */
	{ "KEY", -1, NULL, NULL },
	{ "KEY value", -1, NULL, NULL },
	{ "KEY =value", -1, NULL, NULL },
	{ "export", -1, NULL, NULL },
	{ "export KEY", -1, NULL, NULL },
	/* malformed: the key */
	{ "=value", -1, NULL, NULL },
	{ "1KEY=value", -1, NULL, NULL },
	{ "9=x", -1, NULL, NULL },
	{ "export 2KEY=x", -1, NULL, NULL },
	{ "MY-KEY=value", -1, NULL, NULL },
	{ "MY.KEY=value", -1, NULL, NULL },
	{ "K\xc3\xa9Y=value", -1, NULL, NULL },
	/* malformed: unterminated quotes */
	{ "KEY=\"unterminated", -1, NULL, NULL },
	{ "KEY='unterminated", -1, NULL, NULL },
	{ "KEY=\"", -1, NULL, NULL },
	{ "KEY=\"escaped end\\\"", -1, NULL, NULL },
	{ "KEY=\"dangling backslash\\", -1, NULL, NULL },
	{ "KEY='mixed\"", -1, NULL, NULL },
	/* malformed: garbage after the closing quote */
	{ "KEY=\"v\"garbage", -1, NULL, NULL },
	{ "KEY=\"v\" garbage", -1, NULL, NULL },
	{ "KEY='v'x", -1, NULL, NULL },
	{ "KEY=\"a\"\"b\"", -1, NULL, NULL },
	{ "KEY='a' 'b'", -1, NULL, NULL },
};

START_TEST(parse_env_line_table)
{
	char key[64], val[256];
	int rc;

	rc = config_parse_env_line(lines[_i].line, key, sizeof(key), val, sizeof(val));
	ck_assert_msg(rc == lines[_i].rc, "line %d '%s': rc %d, want %d", _i, lines[_i].line, rc,
		      lines[_i].rc);
	if (lines[_i].rc == 1) {
		ck_assert_str_eq(key, lines[_i].key);
		ck_assert_str_eq(val, lines[_i].val);
	}
}
END_TEST

START_TEST(parse_env_line_capacity_edges)
{
	char key[8], val[8];

	/* 7 characters fit a buffer of 8; 8 do not */
	ck_assert_int_eq(
		config_parse_env_line("ABCDEFG=1234567", key, sizeof(key), val, sizeof(val)), 1);
	ck_assert_str_eq(key, "ABCDEFG");
	ck_assert_str_eq(val, "1234567");
	ck_assert_int_eq(config_parse_env_line("ABCDEFGH=1", key, sizeof(key), val, sizeof(val)),
			 -1);
	ck_assert_int_eq(config_parse_env_line("K=12345678", key, sizeof(key), val, sizeof(val)),
			 -1);
	ck_assert_int_eq(config_parse_env_line("K=\"1234567\"", key, sizeof(key), val, sizeof(val)),
			 1);
	ck_assert_str_eq(val, "1234567");
	ck_assert_int_eq(
		config_parse_env_line("K=\"12345678\"", key, sizeof(key), val, sizeof(val)), -1);
	ck_assert_int_eq(config_parse_env_line("K='12345678'", key, sizeof(key), val, sizeof(val)),
			 -1);
}
END_TEST

/* ---- resolution ---- */

/* Runs config_resolve on a fresh configuration of one table; the caller destroys *out. */
static enum st_err
resolve(const struct st_config_item *items, size_t n, const char *const *env, const char *dotenv,
	char *err, size_t errcap, struct st_config **out)
{
	struct st_config *cfg = st_config_create();

	st_config_add(cfg, items, n);
	err[0] = '\0';
	*out = cfg;
	return config_resolve(cfg, env, dotenv, err, errcap);
}

START_TEST(precedence_env_dotenv_default)
{
	static const struct st_config_item items[] = {
		ST_CONFIG_STR("IN_ALL", "from-default"),
		ST_CONFIG_STR("IN_FILE_AND_DEFAULT", "from-default"),
		ST_CONFIG_STR("DEFAULT_ONLY", "from-default"),
		ST_CONFIG_STR("ENV_ONLY", NULL),
		ST_CONFIG_STR("FILE_ONLY", NULL),
		ST_CONFIG_INT("PORT", 8080, 1, 65535),
		ST_CONFIG_STR("EMPTY_IN_ENV", "from-default"),
	};
	/* a longer name sharing the prefix comes first: it must not be taken for IN_ALL */
	const char *const env[] = { "IN_ALL_PREFIX=wrong",
				    "IN_ALL=from-env",
				    "ENV_ONLY=from-env",
				    "PORT=9090",
				    "EMPTY_IN_ENV=",
				    "UNRELATED=1",
				    NULL };
	const char *dotenv = "# settings\n"
			     "IN_ALL=from-file\n"
			     "IN_FILE_AND_DEFAULT=from-file\n"
			     "export FILE_ONLY=\"from file\"\n"
			     "PORT=7070\n";
	const char *dotenv2 = "IN_ALL=from-file\nENV_ONLY=e\nFILE_ONLY=f\nPORT=7070\n";
	struct st_config *cfg;
	char err[256];

	ck_assert_int_eq(resolve(items, ST_ARRAY_LEN(items), env, dotenv, err, sizeof(err), &cfg),
			 ST_OK);
	ck_assert_str_eq(st_config_str(cfg, "IN_ALL"), "from-env");
	ck_assert_str_eq(st_config_str(cfg, "IN_FILE_AND_DEFAULT"), "from-file");
	ck_assert_str_eq(st_config_str(cfg, "DEFAULT_ONLY"), "from-default");
	ck_assert_str_eq(st_config_str(cfg, "ENV_ONLY"), "from-env");
	ck_assert_str_eq(st_config_str(cfg, "FILE_ONLY"), "from file");
	ck_assert_int_eq(st_config_int(cfg, "PORT"), 9090);
	/* set, even to nothing, in the environment beats the default */
	ck_assert_str_eq(st_config_str(cfg, "EMPTY_IN_ENV"), "");

	/* without the environment the file wins; without either the default */
	ck_assert_int_eq(config_resolve(cfg, NULL, dotenv2, err, sizeof(err)), ST_OK);
	ck_assert_str_eq(st_config_str(cfg, "IN_ALL"), "from-file");
	ck_assert_int_eq(st_config_int(cfg, "PORT"), 7070);
	ck_assert_int_eq(config_resolve(cfg, NULL, "ENV_ONLY=e\nFILE_ONLY=f\n", err, sizeof(err)),
			 ST_OK);
	ck_assert_str_eq(st_config_str(cfg, "IN_ALL"), "from-default");
	ck_assert_int_eq(st_config_int(cfg, "PORT"), 8080);
	st_config_destroy(cfg);
}
END_TEST

START_TEST(dotenv_later_line_wins)
{
	static const struct st_config_item items[] = { ST_CONFIG_STR("A", NULL) };
	struct st_config *cfg;
	char err[256];

	ck_assert_int_eq(resolve(items, 1, NULL, "A=first\nA=second\r\n# A=comment\n", err,
				 sizeof(err), &cfg),
			 ST_OK);
	ck_assert_str_eq(st_config_str(cfg, "A"), "second");
	st_config_destroy(cfg);
}
END_TEST

START_TEST(required_missing_names_setting)
{
	static const struct st_config_item items[] = {
		ST_CONFIG_STR("HTTP_BIND", "127.0.0.1"),
		ST_CONFIG_STR("DATABASE_URL", NULL),
		ST_CONFIG_SECRET("INTERNAL_SECRET", NULL, 32),
	};
	const char *const only_db[] = { "DATABASE_URL=postgres://db/x", NULL };
	struct st_config *cfg;
	char err[256];

	ck_assert_int_eq(resolve(items, ST_ARRAY_LEN(items), NULL, NULL, err, sizeof(err), &cfg),
			 ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "DATABASE_URL") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "required") != NULL, "%s", err);
	/* with the first supplied, the next missing one is named */
	ck_assert_int_eq(config_resolve(cfg, only_db, "", err, sizeof(err)), ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "INTERNAL_SECRET") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "required") != NULL, "%s", err);
	/* a .env file may supply a required setting */
	ck_assert_int_eq(config_resolve(cfg, only_db,
					"INTERNAL_SECRET=0123456789abcdef0123456789abcdef\n", err,
					sizeof(err)),
			 ST_OK);
	ck_assert_str_eq(st_config_str(cfg, "INTERNAL_SECRET"), "0123456789abcdef0123456789abcdef");
	st_config_destroy(cfg);
}
END_TEST

static const struct {
	const char *raw;
	bool ok;
	long long want;
} ints[] = {
	{ "1", true, 1 },
	{ "65535", true, 65535 },
	{ "8080", true, 8080 },
	{ "+80", true, 80 },
	{ "0", false, 0 },
	{ "65536", false, 0 },
	{ "-1", false, 0 },
	{ "abc", false, 0 },
	{ "", false, 0 },
	{ "12abc", false, 0 },
	{ "80 ", false, 0 },
	{ "1.5", false, 0 },
	{ "1e3", false, 0 },
	{ "0x50", false, 0 },
	{ "99999999999999999999", false, 0 },
	{ "-99999999999999999999", false, 0 },
};

START_TEST(int_table)
{
	static const struct st_config_item items[] = { ST_CONFIG_INT("HTTP_PORT", 8080, 1, 65535) };
	char envline[128], want_value[128];
	const char *env[] = { envline, NULL };
	struct st_config *cfg;
	char err[256];
	enum st_err rc;

	snprintf(envline, sizeof(envline), "HTTP_PORT=%s", ints[_i].raw);
	rc = resolve(items, 1, env, NULL, err, sizeof(err), &cfg);
	if (ints[_i].ok) {
		ck_assert_msg(rc == ST_OK, "'%s' refused: %s", ints[_i].raw, err);
		ck_assert_int_eq(st_config_int(cfg, "HTTP_PORT"), ints[_i].want);
	} else {
		ck_assert_msg(rc == ST_ERR_INVALID, "'%s' accepted", ints[_i].raw);
		/* the setting, the bad value and the accepted range */
		snprintf(want_value, sizeof(want_value), "HTTP_PORT=%s:", ints[_i].raw);
		ck_assert_msg(strstr(err, want_value) != NULL, "'%s' lacks '%s'", err, want_value);
		ck_assert_msg(strstr(err, "from 1 to 65535") != NULL, "%s", err);
		ck_assert_ptr_null(strchr(err, '\n'));
	}
	st_config_destroy(cfg);
}
END_TEST

START_TEST(int_negative_range_and_extremes)
{
	static const struct st_config_item items[] = {
		ST_CONFIG_INT("OFFSET", -5, -10, 10),
		ST_CONFIG_INT("BIG", 0, -9223372036854775807LL, 9223372036854775807LL),
	};
	const char *const big[] = { "BIG=9223372036854775807", NULL };
	const char *const low[] = { "OFFSET=-11", NULL };
	struct st_config *cfg;
	char err[256];

	ck_assert_int_eq(resolve(items, ST_ARRAY_LEN(items), big, NULL, err, sizeof(err), &cfg),
			 ST_OK);
	ck_assert_int_eq(st_config_int(cfg, "OFFSET"), -5);
	ck_assert(st_config_int(cfg, "BIG") == 9223372036854775807LL);
	ck_assert_int_eq(config_resolve(cfg, low, NULL, err, sizeof(err)), ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "OFFSET=-11:") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "from -10 to 10") != NULL, "%s", err);
	st_config_destroy(cfg);
}
END_TEST

START_TEST(int_long_value_is_cut_in_error)
{
	static const struct st_config_item items[] = { ST_CONFIG_INT("N", 1, 0, 9) };
	char envline[1100];
	const char *env[] = { envline, NULL };
	struct st_config *cfg;
	char err[256];

	memcpy(envline, "N=", 2);
	memset(envline + 2, 'x', 1000);
	envline[1002] = '\0';
	ck_assert_int_eq(resolve(items, 1, env, NULL, err, sizeof(err), &cfg), ST_ERR_INVALID);
	/* still one readable line with the name and the range, not a screenful */
	ck_assert_msg(strncmp(err, "N=xxxx", 6) == 0, "%s", err);
	ck_assert_msg(strstr(err, "from 0 to 9") != NULL, "%s", err);
	st_config_destroy(cfg);
}
END_TEST

static const struct {
	const char *raw;
	int want; /* 1 true, 0 false, -1 refused */
} bools[] = {
	{ "true", 1 },  { "TRUE", 1 },   { "True", 1 },   { "1", 1 },        { "yes", 1 },
	{ "YES", 1 },   { "on", 1 },     { "On", 1 },     { "false", 0 },    { "FALSE", 0 },
	{ "False", 0 }, { "0", 0 },      { "no", 0 },     { "NO", 0 },       { "off", 0 },
	{ "OFF", 0 },   { "", -1 },      { "2", -1 },     { "y", -1 },       { "n", -1 },
	{ "t", -1 },    { "truee", -1 }, { " true", -1 }, { "enabled", -1 }, { "-1", -1 },
};

START_TEST(bool_table)
{
	static const struct st_config_item items[] = { ST_CONFIG_BOOL("ACCESS_LOG", false) };
	char envline[128], want_value[128];
	const char *env[] = { envline, NULL };
	struct st_config *cfg;
	char err[256];
	enum st_err rc;

	snprintf(envline, sizeof(envline), "ACCESS_LOG=%s", bools[_i].raw);
	rc = resolve(items, 1, env, NULL, err, sizeof(err), &cfg);
	if (bools[_i].want >= 0) {
		ck_assert_msg(rc == ST_OK, "'%s' refused: %s", bools[_i].raw, err);
		ck_assert_int_eq(st_config_bool(cfg, "ACCESS_LOG"), bools[_i].want == 1);
	} else {
		ck_assert_msg(rc == ST_ERR_INVALID, "'%s' accepted", bools[_i].raw);
		snprintf(want_value, sizeof(want_value), "ACCESS_LOG=%s:", bools[_i].raw);
		ck_assert_msg(strstr(err, want_value) != NULL, "'%s' lacks '%s'", err, want_value);
		ck_assert_msg(strstr(err, "true or false") != NULL, "%s", err);
	}
	st_config_destroy(cfg);
}
END_TEST

START_TEST(bool_defaults)
{
	static const struct st_config_item items[] = {
		ST_CONFIG_BOOL("ON_BY_DEFAULT", true),
		ST_CONFIG_BOOL("OFF_BY_DEFAULT", false),
	};
	struct st_config *cfg;
	char err[256];

	ck_assert_int_eq(resolve(items, 2, NULL, NULL, err, sizeof(err), &cfg), ST_OK);
	ck_assert(st_config_bool(cfg, "ON_BY_DEFAULT"));
	ck_assert(!st_config_bool(cfg, "OFF_BY_DEFAULT"));
	st_config_destroy(cfg);
}
END_TEST

START_TEST(secret_too_short_is_not_echoed)
{
	static const struct st_config_item items[] = {
		ST_CONFIG_SECRET("INTERNAL_SECRET", NULL, 32),
	};
	/* 31 characters: one short */
	const char *const env[] = { "INTERNAL_SECRET=hunter2-hunter2-hunter2-hunter2", NULL };
	struct st_config *cfg;
	char err[256];

	ck_assert_uint_eq(strlen(env[0]) - strlen("INTERNAL_SECRET="), 31);
	ck_assert_int_eq(resolve(items, 1, env, NULL, err, sizeof(err), &cfg), ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "INTERNAL_SECRET") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "32") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "hunter2") == NULL, "secret leaked: %s", err);
	ck_assert_msg(strchr(err, '=') == NULL, "looks like NAME=value: %s", err);

	/* the same from a .env file */
	ck_assert_int_eq(config_resolve(cfg, NULL, "INTERNAL_SECRET='hunter2'\n", err, sizeof(err)),
			 ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "hunter2") == NULL, "secret leaked: %s", err);
	st_config_destroy(cfg);
}
END_TEST

START_TEST(secret_length_edge)
{
	static const struct st_config_item items[] = { ST_CONFIG_SECRET("KEY", NULL, 8) };
	const char *const exact[] = { "KEY=12345678", NULL };
	const char *const short1[] = { "KEY=1234567", NULL };
	struct st_config *cfg;
	char err[256];

	ck_assert_int_eq(resolve(items, 1, exact, NULL, err, sizeof(err), &cfg), ST_OK);
	/* a secret reads as a string */
	ck_assert_str_eq(st_config_str(cfg, "KEY"), "12345678");
	ck_assert_int_eq(config_resolve(cfg, short1, NULL, err, sizeof(err)), ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "1234567") == NULL, "secret leaked: %s", err);
	st_config_destroy(cfg);
}
END_TEST

START_TEST(declared_twice_keeps_first)
{
	static const struct st_config_item shared[] = {
		ST_CONFIG_INT("HTTP_PORT", 8080, 1, 65535),
		ST_CONFIG_STR("NAME", "first"),
		ST_CONFIG_STR("NAME", "same-table-second"),
	};
	static const struct st_config_item service[] = {
		ST_CONFIG_STR("HTTP_PORT", "not-a-number"),
		ST_CONFIG_STR("NAME", "other-table"),
		ST_CONFIG_BOOL("OWN", true),
	};
	const char *const env_bad[] = { "HTTP_PORT=abc", NULL };
	struct st_config *cfg = st_config_create();
	char err[256] = "";

	st_config_add(cfg, shared, ST_ARRAY_LEN(shared));
	st_config_add(cfg, service, ST_ARRAY_LEN(service));
	ck_assert_int_eq(config_resolve(cfg, NULL, NULL, err, sizeof(err)), ST_OK);
	/* the first declaration decides the type, the default and the range */
	ck_assert_int_eq(st_config_int(cfg, "HTTP_PORT"), 8080);
	ck_assert_str_eq(st_config_str(cfg, "NAME"), "first");
	ck_assert(st_config_bool(cfg, "OWN"));
	ck_assert_int_eq(config_resolve(cfg, env_bad, NULL, err, sizeof(err)), ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "from 1 to 65535") != NULL, "%s", err);
	st_config_destroy(cfg);
}
END_TEST

START_TEST(getters_typed_values)
{
	static const struct st_config_item items[] = {
		ST_CONFIG_STR("S", "text"),
		ST_CONFIG_INT("I", 42, -100, 100),
		ST_CONFIG_INT("NEG", -7, -100, 100),
		ST_CONFIG_BOOL("B", true),
		ST_CONFIG_SECRET("SEC", "0123456789", 4),
	};
	struct st_config *cfg;
	char err[256];

	ck_assert_int_eq(resolve(items, ST_ARRAY_LEN(items), NULL, NULL, err, sizeof(err), &cfg),
			 ST_OK);
	ck_assert_str_eq(st_config_str(cfg, "S"), "text");
	ck_assert_int_eq(st_config_int(cfg, "I"), 42);
	ck_assert_int_eq(st_config_int(cfg, "NEG"), -7);
	ck_assert(st_config_bool(cfg, "B"));
	ck_assert_str_eq(st_config_str(cfg, "SEC"), "0123456789");
	st_config_destroy(cfg);
	st_config_destroy(NULL);
}
END_TEST

/* Reading with the wrong type or an undeclared name is a bug: the getter aborts. */
static struct st_config *
abort_fixture(void)
{
	static const struct st_config_item items[] = {
		ST_CONFIG_STR("S", "text"),
		ST_CONFIG_INT("I", 1, 0, 9),
		ST_CONFIG_BOOL("B", true),
	};
	struct st_config *cfg;
	char err[256];

	ck_assert_int_eq(resolve(items, ST_ARRAY_LEN(items), NULL, NULL, err, sizeof(err), &cfg),
			 ST_OK);
	close(STDERR_FILENO); /* the abort logs a line: keep the test output clean */
	return cfg;
}

START_TEST(getter_wrong_type_aborts)
{
	struct st_config *cfg = abort_fixture();

	(void)st_config_int(cfg, "S");
}
END_TEST

START_TEST(getter_str_of_int_aborts)
{
	struct st_config *cfg = abort_fixture();

	(void)st_config_str(cfg, "I");
}
END_TEST

START_TEST(getter_undeclared_aborts)
{
	struct st_config *cfg = abort_fixture();

	(void)st_config_bool(cfg, "NOPE");
}
END_TEST

START_TEST(malformed_dotenv_line_number)
{
	static const struct st_config_item items[] = { ST_CONFIG_STR("A", "a") };
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "BAD\n", ".env line 1:" },
		{ "# comment\n\nA=1\nNOT A SETTING\nB=2\n", ".env line 4:" },
		{ "A=1\r\nB=\"open\r\nC=3\r\n", ".env line 2:" },
		{ "A=1\n1X=2\nY Z\n", ".env line 2:" }, /* the first bad line */
		{ "A=1\nB=2\nC='x'y", ".env line 3:" }, /* no final newline */
	};
	struct st_config *cfg = st_config_create();
	char err[256];

	st_config_add(cfg, items, 1);
	for (size_t i = 0; i < ST_ARRAY_LEN(cases); i++) {
		err[0] = '\0';
		ck_assert_int_eq(config_resolve(cfg, NULL, cases[i].text, err, sizeof(err)),
				 ST_ERR_INVALID);
		ck_assert_msg(strncmp(err, cases[i].want, strlen(cases[i].want)) == 0,
			      "case %zu: '%s' lacks '%s'", i, err, cases[i].want);
	}
	/* the line's content is not echoed: it may hold a secret */
	ck_assert_int_eq(config_resolve(cfg, NULL, "TOKEN=\"s3cr3t-value\n", err, sizeof(err)),
			 ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "s3cr3t") == NULL, "%s", err);
	/* an empty file and a file of comments are fine */
	ck_assert_int_eq(config_resolve(cfg, NULL, "", err, sizeof(err)), ST_OK);
	ck_assert_int_eq(config_resolve(cfg, NULL, "# only\n\n   \n", err, sizeof(err)), ST_OK);
	ck_assert_str_eq(st_config_str(cfg, "A"), "a");
	st_config_destroy(cfg);
}
END_TEST

START_TEST(dotenv_overlong_line_refused)
{
	static const struct st_config_item items[] = { ST_CONFIG_STR("A", "a") };
	struct st_config *cfg = st_config_create();
	size_t n = 10000;
	char *text = malloc(n + 16);
	char err[256];

	ck_assert_ptr_nonnull(text);
	memcpy(text, "A=1\nB=", 6);
	memset(text + 6, 'x', n);
	memcpy(text + 6 + n, "\n", 2);
	st_config_add(cfg, items, 1);
	ck_assert_int_eq(config_resolve(cfg, NULL, text, err, sizeof(err)), ST_ERR_INVALID);
	ck_assert_msg(strncmp(err, ".env line 2:", 12) == 0, "%s", err);
	st_config_destroy(cfg);
	free(text);
}
END_TEST

START_TEST(resolve_twice_replaces)
{
	static const struct st_config_item items[] = {
		ST_CONFIG_STR("A", "default"),
		ST_CONFIG_INT("N", 1, 0, 9),
	};
	const char *const env1[] = { "A=one", "N=3", NULL };
	const char *const env2[] = { "N=x", NULL };
	struct st_config *cfg;
	char err[256];

	ck_assert_int_eq(resolve(items, 2, env1, NULL, err, sizeof(err), &cfg), ST_OK);
	ck_assert_str_eq(st_config_str(cfg, "A"), "one");
	/* a failed resolution in the middle leaks nothing (the sanitizer build checks) */
	ck_assert_int_eq(config_resolve(cfg, env2, NULL, err, sizeof(err)), ST_ERR_INVALID);
	ck_assert_int_eq(config_resolve(cfg, NULL, NULL, err, sizeof(err)), ST_OK);
	ck_assert_str_eq(st_config_str(cfg, "A"), "default");
	ck_assert_int_eq(st_config_int(cfg, "N"), 1);
	st_config_destroy(cfg);
}
END_TEST

/* ---- st_config_load and st_config_log, in a forked child ---- */

START_TEST(load_file_and_environment)
{
	static const struct st_config_item items[] = {
		ST_CONFIG_STR("STRATA_UT_FROM_FILE", NULL),
		ST_CONFIG_STR("STRATA_UT_BOTH", NULL),
		ST_CONFIG_INT("STRATA_UT_N", 5, 0, 9),
	};
	char path[] = "/tmp/strata-config-XXXXXX";
	const char *text = "STRATA_UT_FROM_FILE=file\nSTRATA_UT_BOTH=file\n";
	struct st_config *cfg = st_config_create();
	char err[256] = "";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(setenv("STRATA_UT_BOTH", "env", 1), 0);
	st_config_add(cfg, items, ST_ARRAY_LEN(items));
	ck_assert_int_eq(st_config_load(cfg, path, err, sizeof(err)), ST_OK);
	ck_assert_str_eq(st_config_str(cfg, "STRATA_UT_FROM_FILE"), "file");
	ck_assert_str_eq(st_config_str(cfg, "STRATA_UT_BOTH"), "env");
	ck_assert_int_eq(st_config_int(cfg, "STRATA_UT_N"), 5);
	unlink(path);

	/* a missing file is not an error: the required one is then missing */
	ck_assert_int_eq(st_config_load(cfg, path, err, sizeof(err)), ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "STRATA_UT_FROM_FILE") != NULL, "%s", err);
	ck_assert_int_eq(setenv("STRATA_UT_FROM_FILE", "env", 1), 0);
	ck_assert_int_eq(st_config_load(cfg, path, err, sizeof(err)), ST_OK);
	ck_assert_int_eq(st_config_load(cfg, NULL, err, sizeof(err)), ST_OK);
	/* a file that cannot be read is */
	ck_assert_int_eq(st_config_load(cfg, "/tmp", err, sizeof(err)), ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "/tmp") != NULL, "%s", err);
	st_config_destroy(cfg);
}
END_TEST

/* Runs fn with stderr sent to a temporary file and returns what was written (free it). */
static char *
capture_stderr(void (*fn)(const void *), const void *arg)
{
	char path[] = "/tmp/strata-stderr-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	char *text = calloc(1, 65536);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(text);
	unlink(path);
	dup2(fd, STDERR_FILENO);
	fn(arg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, text, 65535, 0);
	ck_assert_int_ge(n, 0);
	close(fd);
	return text;
}

static void
log_config(const void *cfg)
{
	st_config_log(cfg);
}

START_TEST(log_hides_secrets_and_url_passwords)
{
	static const struct st_config_item items[] = {
		ST_CONFIG_SECRET("INTERNAL_SECRET", NULL, 8),
		ST_CONFIG_STR("DATABASE_URL", NULL),
		ST_CONFIG_INT("PORT", 8080, 1, 65535),
	};
	const char *const env[] = { "INTERNAL_SECRET=topsecretvalue",
				    "DATABASE_URL=postgres://strata:pa55word@db:5432/strata",
				    NULL };
	struct st_config *cfg;
	char err[256];
	char *out;

	ck_assert_int_eq(resolve(items, ST_ARRAY_LEN(items), env, NULL, err, sizeof(err), &cfg),
			 ST_OK);
	out = capture_stderr(log_config, cfg);
	ck_assert_msg(strstr(out, "topsecretvalue") == NULL, "%s", out);
	ck_assert_msg(strstr(out, "pa55word") == NULL, "%s", out);
	ck_assert_msg(strstr(out, "INTERNAL_SECRET=(set)") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "db:5432/strata") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "PORT=8080") != NULL, "%s", out);
	free(out);
	st_config_destroy(cfg);
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *parse = tcase_create("parse");
	TCase *res = tcase_create("resolve");
	TCase *load = tcase_create("load");

	tcase_add_loop_test(parse, parse_env_line_table, 0, (int)ST_ARRAY_LEN(lines));
	tcase_add_test(parse, parse_env_line_capacity_edges);
	suite_add_tcase(s, parse);

	tcase_add_test(res, precedence_env_dotenv_default);
	tcase_add_test(res, dotenv_later_line_wins);
	tcase_add_test(res, required_missing_names_setting);
	tcase_add_loop_test(res, int_table, 0, (int)ST_ARRAY_LEN(ints));
	tcase_add_test(res, int_negative_range_and_extremes);
	tcase_add_test(res, int_long_value_is_cut_in_error);
	tcase_add_loop_test(res, bool_table, 0, (int)ST_ARRAY_LEN(bools));
	tcase_add_test(res, bool_defaults);
	tcase_add_test(res, secret_too_short_is_not_echoed);
	tcase_add_test(res, secret_length_edge);
	tcase_add_test(res, declared_twice_keeps_first);
	tcase_add_test(res, getters_typed_values);
	tcase_add_test_raise_signal(res, getter_wrong_type_aborts, SIGABRT);
	tcase_add_test_raise_signal(res, getter_str_of_int_aborts, SIGABRT);
	tcase_add_test_raise_signal(res, getter_undeclared_aborts, SIGABRT);
	tcase_add_test(res, malformed_dotenv_line_number);
	tcase_add_test(res, dotenv_overlong_line_refused);
	tcase_add_test(res, resolve_twice_replaces);
	suite_add_tcase(s, res);

	tcase_add_test(load, load_file_and_environment);
	tcase_add_test(load, log_hides_secrets_and_url_passwords);
	suite_add_tcase(s, load);
	return s;
}
