/*
 * Every service of the running suite answers /healthz, /readyz and /metrics on its own port,
 * and the suite answers through nginx: /api/v1/health (all services and dependencies named),
 * /healthz, the security headers, TLS on 8443, problem+json from nginx itself, and a request
 * id that is honoured end to end.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *const services[] = { "gateway",  "auth",      "ingest", "statistics",
					"alerting", "scheduler", "storage" };

START_TEST(each_service_answers_healthz)
{
	struct it_resp r;
	char url[300];

	snprintf(url, sizeof(url), "%s/healthz", it_service_url(services[_i]));
	ck_assert_int_eq(it_http("GET", url, NULL, NULL, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"ok\""));
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(each_service_is_ready_with_its_dependencies)
{
	struct it_resp r;
	char url[300];
	cJSON *doc, *checks, *c;

	snprintf(url, sizeof(url), "%s/readyz", it_service_url(services[_i]));
	ck_assert_int_eq(it_http("GET", url, NULL, NULL, &r), 200);
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(cJSON_GetObjectItem(doc, "status")->valuestring, "ready");
	ck_assert_str_eq(cJSON_GetObjectItem(doc, "service")->valuestring, services[_i]);
	checks = cJSON_GetObjectItem(doc, "checks");
	ck_assert(cJSON_GetArraySize(checks) >= 1); /* every service depends on something */
	cJSON_ArrayForEach(c, checks)
	{
		ck_assert_str_eq(c->valuestring, "ok");
	}
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(each_service_exposes_prometheus_metrics)
{
	struct it_resp r;
	char url[300], ctype[128];

	/* One request first, so that the request counter has a series. */
	snprintf(url, sizeof(url), "%s/healthz", it_service_url(services[_i]));
	it_http("GET", url, NULL, NULL, &r);
	it_resp_cleanup(&r);
	snprintf(url, sizeof(url), "%s/metrics", it_service_url(services[_i]));
	ck_assert_int_eq(it_http("GET", url, NULL, NULL, &r), 200);
	ck_assert(it_resp_header(&r, "Content-Type", ctype, sizeof(ctype)));
	ck_assert_ptr_nonnull(strstr(ctype, "text/plain"));
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE strata_http_requests_total counter"));
	ck_assert_ptr_nonnull(strstr(r.body,
				     "strata_http_requests_total{route=\"/healthz\",method=\"GET\","
				     "status=\"200\"}"));
	ck_assert_ptr_nonnull(
		strstr(r.body, "# TYPE strata_http_request_duration_seconds histogram"));
	ck_assert_ptr_nonnull(strstr(r.body, "process_resident_memory_bytes "));
	ck_assert_ptr_nonnull(strstr(r.body, "strata_build_info{service=\""));
	if (strcmp(services[_i], "ingest") == 0) { /* it produces, and it writes readings */
		ck_assert_ptr_nonnull(strstr(r.body, "strata_kafka_produced_total "));
		ck_assert_ptr_nonnull(strstr(r.body, "strata_ingest_writer_batches_total "));
	}
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(health_through_nginx_names_every_service_and_dependency)
{
	struct it_resp r;
	char url[300];
	cJSON *doc, *svcs, *deps;

	snprintf(url, sizeof(url), "%s/api/v1/health", it_nginx_url());
	ck_assert_int_eq(it_http("GET", url, NULL, NULL, &r), 200);
	doc = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(cJSON_GetObjectItem(doc, "status")->valuestring, "ok");
	svcs = cJSON_GetObjectItem(doc, "services");
	for (size_t i = 1; i < sizeof(services) / sizeof(services[0]); i++) {
		cJSON *one = cJSON_GetObjectItem(svcs, services[i]);

		ck_assert_msg(one != NULL, "health does not name %s", services[i]);
		ck_assert_str_eq(cJSON_GetObjectItem(one, "status")->valuestring, "ok");
	}
	deps = cJSON_GetObjectItem(doc, "dependencies");
	ck_assert_str_eq(cJSON_GetObjectItem(deps, "postgres")->valuestring, "ok");
	ck_assert_str_eq(cJSON_GetObjectItem(deps, "redis")->valuestring, "ok");
	ck_assert_str_eq(cJSON_GetObjectItem(deps, "kafka")->valuestring, "ok");
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(nginx_sets_security_headers_and_passes_request_ids)
{
	static const char *const hdrs[] = { "X-Request-Id: it-request-0001", NULL };
	struct it_resp r;
	char url[300], v[512];

	snprintf(url, sizeof(url), "%s/api/v1/health", it_nginx_url());
	ck_assert_int_eq(it_http("GET", url, hdrs, NULL, &r), 200);
	ck_assert(it_resp_header(&r, "X-Content-Type-Options", v, sizeof(v)));
	ck_assert_str_eq(v, "nosniff");
	ck_assert(it_resp_header(&r, "X-Frame-Options", v, sizeof(v)));
	ck_assert_str_eq(v, "DENY");
	ck_assert(it_resp_header(&r, "Content-Security-Policy", v, sizeof(v)));
	ck_assert(it_resp_header(&r, "Referrer-Policy", v, sizeof(v)));
	ck_assert(!it_resp_header(&r, "Strict-Transport-Security", v, sizeof(v)));
	ck_assert(it_resp_header(&r, "X-Request-Id", v, sizeof(v)));
	ck_assert_str_eq(v, "it-request-0001");
	it_resp_cleanup(&r);

	/* Without one, the suite makes one up and says which. */
	ck_assert_int_eq(it_http("GET", url, NULL, NULL, &r), 200);
	ck_assert(it_resp_header(&r, "X-Request-Id", v, sizeof(v)));
	ck_assert(strlen(v) >= 16);
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(nginx_serves_tls_with_hsts)
{
	struct it_resp r;
	char url[300], v[256];

	snprintf(url, sizeof(url), "%s/api/v1/health",
		 it_env("STRATA_NGINX_TLS_URL", "https://127.0.0.1:8443"));
	ck_assert_int_eq(it_http("GET", url, NULL, NULL, &r), 200);
	ck_assert(it_resp_header(&r, "Strict-Transport-Security", v, sizeof(v)));
	ck_assert_ptr_nonnull(strstr(v, "max-age="));
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(nginx_routes_healthz_and_hides_metrics)
{
	struct it_resp r;
	char url[300];

	snprintf(url, sizeof(url), "%s/healthz", it_nginx_url());
	ck_assert_int_eq(it_http("GET", url, NULL, NULL, &r), 200);
	it_resp_cleanup(&r);
	snprintf(url, sizeof(url), "%s/metrics", it_nginx_url());
	ck_assert_int_ne(it_http("GET", url, NULL, NULL, &r), 200);
	ck_assert_ptr_null(strstr(r.body, "strata_http_requests_total"));
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(unknown_api_path_is_problem_json_through_nginx)
{
	struct it_resp r;
	char url[300], ctype[128];
	cJSON *doc;

	snprintf(url, sizeof(url), "%s/api/v1/no-such-thing", it_nginx_url());
	ck_assert_int_eq(it_http("GET", url, NULL, NULL, &r), 404);
	ck_assert(it_resp_header(&r, "Content-Type", ctype, sizeof(ctype)));
	ck_assert_str_eq(ctype, "application/problem+json");
	doc = cJSON_Parse(r.body);
	ck_assert_int_eq(cJSON_GetObjectItem(doc, "status")->valueint, 404);
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(doc, "request_id"));
	cJSON_Delete(doc);
	it_resp_cleanup(&r);
}
END_TEST

START_TEST(nginx_refuses_oversized_bodies_with_problem_json)
{
	size_t n = 17u * 1024 * 1024; /* above the 16 MiB default */
	char *big = malloc(n + 1);
	struct it_resp r;
	char url[300], ctype[128];

	memset(big, 'a', n);
	big[n] = '\0';
	snprintf(url, sizeof(url), "%s/api/v1/health", it_nginx_url());
	ck_assert_int_eq(it_http("POST", url, NULL, big, &r), 413);
	ck_assert(it_resp_header(&r, "Content-Type", ctype, sizeof(ctype)));
	ck_assert_str_eq(ctype, "application/problem+json");
	free(big);
	it_resp_cleanup(&r);
}
END_TEST

Suite *
services_suite(void)
{
	Suite *s = suite_create("services");
	TCase *direct = tcase_create("direct");
	TCase *edge = tcase_create("through-nginx");
	int n = (int)(sizeof(services) / sizeof(services[0]));

	tcase_set_timeout(direct, 30);
	tcase_add_loop_test(direct, each_service_answers_healthz, 0, n);
	tcase_add_loop_test(direct, each_service_is_ready_with_its_dependencies, 0, n);
	tcase_add_loop_test(direct, each_service_exposes_prometheus_metrics, 0, n);
	suite_add_tcase(s, direct);
	tcase_set_timeout(edge, 30);
	tcase_add_test(edge, health_through_nginx_names_every_service_and_dependency);
	tcase_add_test(edge, nginx_sets_security_headers_and_passes_request_ids);
	tcase_add_test(edge, nginx_serves_tls_with_hsts);
	tcase_add_test(edge, nginx_routes_healthz_and_hides_metrics);
	tcase_add_test(edge, unknown_api_path_is_problem_json_through_nginx);
	tcase_add_test(edge, nginx_refuses_oversized_bodies_with_problem_json);
	suite_add_tcase(s, edge);
	return s;
}
