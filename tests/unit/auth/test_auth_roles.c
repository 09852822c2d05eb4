/*
 * Unit tests for roles.c, the one reader of role and scope lists in auth: the stored
 * comma-separated role list, a client's JSON array of roles, a client's JSON array of scope
 * names, and the scopes as a JSON array. Table-driven: good lists, each kind of bad one, edges.
 */
#include <check.h>
#include <string.h>

#include "auth/identity.h"

/* The names as one comma-separated string, for comparisons. */
static void
joined(const char *const *names, size_t n, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", i > 0 ? "," : "", names[i]);
}

START_TEST(role_lists_parse_as_documented)
{
	static const struct {
		const char *list;
		enum st_err rc;
		const char *want; /* the names kept, joined */
	} cases[] = {
		{ "", ST_OK, "" },
		{ "admin", ST_OK, "admin" },
		{ "viewer,device", ST_OK, "viewer,device" },
		{ "admin,researcher,viewer,device", ST_OK, "admin,researcher,viewer,device" },
		{ "device,admin", ST_OK, "device,admin" }, /* the order given */
		{ "root", ST_ERR_INVALID, "" },
		{ "Admin", ST_ERR_INVALID, "" }, /* names are exact */
		{ "admi", ST_ERR_INVALID, "" },  /* a prefix is not a name */
		{ "adminx", ST_ERR_INVALID, "" },
		{ "viewer,root", ST_ERR_INVALID, "viewer" },
		{ "root,viewer", ST_ERR_INVALID, "viewer" }, /* good names after a bad one stay */
		{ "viewer,", ST_ERR_INVALID, "viewer" },     /* an empty name */
		{ ",viewer", ST_ERR_INVALID, "viewer" },
		{ "viewer,,device", ST_ERR_INVALID, "viewer,device" },
		{ ",", ST_ERR_INVALID, "" },
		{ " viewer", ST_ERR_INVALID, "" }, /* no trimming */
		{ "viewer viewer", ST_ERR_INVALID, "" },
		{ "viewer,viewer", ST_ERR_CONFLICT, "viewer" },
		{ "admin,viewer,admin,device", ST_ERR_CONFLICT, "admin,viewer,device" },
		{ "admin,admin,admin,admin,admin", ST_ERR_CONFLICT, "admin" }, /* never overflows */
		{ "root,viewer,viewer", ST_ERR_INVALID, "viewer" },            /* the first error */
	};

	for (size_t i = 0; i < ST_ARRAY_LEN(cases); i++) {
		const char *names[AUTH_ROLES_MAX];
		char got[128];
		size_t n = 99;
		enum st_err rc = auth_roles_parse(cases[i].list, names, &n);

		joined(names, n, got, sizeof(got));
		ck_assert_msg(rc == cases[i].rc, "\"%s\": rc %s", cases[i].list, st_err_str(rc));
		ck_assert_msg(strcmp(got, cases[i].want) == 0, "\"%s\": kept \"%s\"", cases[i].list,
			      got);
	}
}
END_TEST

START_TEST(parsed_roles_outlive_the_list)
{
	const char *names[AUTH_ROLES_MAX];
	char list[] = "viewer,device";
	size_t n = 0;

	ck_assert_int_eq(auth_roles_parse(list, names, &n), ST_OK);
	memset(list, 'x', sizeof(list) - 1);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(names[0], "viewer");
	ck_assert_str_eq(names[1], "device");
	ck_assert_uint_eq(auth_scopes_of_roles(names, n),
			  ST_SCOPE_READ | ST_SCOPE_DASHBOARD | ST_SCOPE_INGEST);
}
END_TEST

START_TEST(role_arrays_parse_as_documented)
{
	static const struct {
		const char *json;
		bool ok;
		const char *want;  /* the names kept, joined */
		const char *error; /* part of the message recorded under "roles", or NULL */
	} cases[] = {
		{ "[]", true, "", NULL },
		{ "[\"viewer\"]", true, "viewer", NULL },
		{ "[\"admin\",\"device\"]", true, "admin,device", NULL },
		{ "[\"root\"]", false, "", "must hold only admin, researcher, viewer, device" },
		{ "[\"viewer\",\"root\"]", false, "viewer", "must hold only" },
		{ "[\"viewer,device\"]", false, "", "must hold only" }, /* one item, one name */
		{ "[\"\"]", false, "", "must hold only" },
		{ "[1]", false, "", "must hold only" },
		{ "[null]", false, "", "must hold only" },
		{ "[[\"viewer\"]]", false, "", "must hold only" },
		{ "[\"viewer\",\"viewer\"]", false, "viewer", "must not name a role twice" },
	};

	for (size_t i = 0; i < ST_ARRAY_LEN(cases); i++) {
		cJSON *arr = cJSON_Parse(cases[i].json);
		const char *names[AUTH_ROLES_MAX];
		struct st_json_errs errs;
		char got[128];
		size_t n = 99;
		bool ok;

		st_json_errs_init(&errs);
		ok = auth_roles_parse_json(arr, "roles", names, &n, &errs);
		joined(names, n, got, sizeof(got));
		ck_assert_msg(ok == cases[i].ok, "%s", cases[i].json);
		ck_assert_msg(strcmp(got, cases[i].want) == 0, "%s: kept \"%s\"", cases[i].json,
			      got);
		ck_assert_uint_eq(errs.total, cases[i].error != NULL ? 1 : 0);
		if (cases[i].error != NULL) {
			ck_assert_str_eq(errs.items[0].field, "roles");
			ck_assert_msg(strstr(errs.items[0].detail, cases[i].error) != NULL,
				      "%s: %s", cases[i].json, errs.items[0].detail);
		}
		cJSON_Delete(arr);
	}
}
END_TEST

START_TEST(scope_arrays_parse_as_documented)
{
	static const struct {
		const char *json;
		unsigned want;
		const char *fields; /* the fields with errors, joined by spaces */
	} cases[] = {
		{ "[\"read\"]", ST_SCOPE_READ, "" },
		{ "[\"read\",\"write\"]", ST_SCOPE_READ | ST_SCOPE_WRITE, "" },
		{ "[\"ingest\",\"dashboard\",\"admin\"]",
		  ST_SCOPE_INGEST | ST_SCOPE_DASHBOARD | ST_SCOPE_ADMIN, "" },
		{ "[\"read\",\"read\"]", ST_SCOPE_READ, "" }, /* a set: repeats are harmless */
		{ "[]", ST_SCOPE_NONE, "permissions" },
		{ "[\"root\"]", ST_SCOPE_NONE, "permissions[0]" },
		{ "[\"read\",\"Write\"]", ST_SCOPE_READ, "permissions[1]" },
		{ "[\"read,write\"]", ST_SCOPE_NONE, "permissions[0]" }, /* one name per item */
		{ "[\"read write\"]", ST_SCOPE_NONE, "permissions[0]" },
		{ "[\"\"]", ST_SCOPE_NONE, "permissions[0]" },
		{ "[\" read\"]", ST_SCOPE_NONE, "permissions[0]" },
		{ "[7,\"write\",null]", ST_SCOPE_WRITE, "permissions[0] permissions[2]" },
	};

	for (size_t i = 0; i < ST_ARRAY_LEN(cases); i++) {
		cJSON *arr = cJSON_Parse(cases[i].json);
		struct st_json_errs errs;
		unsigned scopes = 99;
		char fields[256];
		size_t len = 0;
		bool ok;

		st_json_errs_init(&errs);
		ok = auth_scopes_parse_json(arr, "permissions", &scopes, &errs);
		fields[0] = '\0';
		for (size_t e = 0; e < errs.n; e++)
			len += (size_t)snprintf(fields + len, sizeof(fields) - len, "%s%s",
						e > 0 ? " " : "", errs.items[e].field);
		ck_assert_msg(ok == (cases[i].fields[0] == '\0'), "%s", cases[i].json);
		ck_assert_msg(scopes == cases[i].want, "%s: scopes %u", cases[i].json, scopes);
		ck_assert_msg(strcmp(fields, cases[i].fields) == 0, "%s: errors at \"%s\"",
			      cases[i].json, fields);
		if (strcmp(cases[i].fields, "permissions[0]") == 0)
			ck_assert_str_eq(errs.items[0].detail,
					 "must be one of read, write, admin, dashboard, ingest");
		cJSON_Delete(arr);
	}
}
END_TEST

START_TEST(scopes_become_a_json_array_of_names)
{
	static const struct {
		unsigned scopes;
		const char *want;
	} cases[] = {
		{ ST_SCOPE_NONE, "[]" },
		{ ST_SCOPE_READ, "[\"read\"]" },
		{ ST_SCOPE_INGEST | ST_SCOPE_READ, "[\"read\",\"ingest\"]" },
		{ ST_SCOPE_ALL, "[\"read\",\"write\",\"admin\",\"dashboard\",\"ingest\"]" },
	};

	for (size_t i = 0; i < ST_ARRAY_LEN(cases); i++) {
		cJSON *arr = auth_scopes_json(cases[i].scopes);
		char *text = cJSON_PrintUnformatted(arr);
		struct st_json_errs errs;
		unsigned back = 0;

		ck_assert_str_eq(text, cases[i].want);
		/* what auth_scopes_json writes, auth_scopes_parse_json reads back */
		st_json_errs_init(&errs);
		if (cases[i].scopes != ST_SCOPE_NONE) {
			ck_assert(auth_scopes_parse_json(arr, "p", &back, &errs));
			ck_assert_uint_eq(back, cases[i].scopes);
		}
		cJSON_free(text);
		cJSON_Delete(arr);
	}
}
END_TEST

Suite *
auth_roles_suite(void)
{
	Suite *s = suite_create("auth_roles");
	TCase *tc = tcase_create("lists");

	tcase_add_test(tc, role_lists_parse_as_documented);
	tcase_add_test(tc, parsed_roles_outlive_the_list);
	tcase_add_test(tc, role_arrays_parse_as_documented);
	tcase_add_test(tc, scope_arrays_parse_as_documented);
	tcase_add_test(tc, scopes_become_a_json_array_of_names);
	suite_add_tcase(s, tc);
	return s;
}
