/*
 * The HTTP client: libcurl easy handles kept one per thread (a pthread key), each with its own
 * connection cache, so that concurrent callers reuse keep-alive connections without sharing
 * a lock. Handles are also listed on the client so that st_httpc_destroy frees them all.
 */
#include "strata/httpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "strata/log.h"

struct handle {
	CURL *curl;
	struct st_httpc *owner;
	struct handle *prev, *next;
};

struct st_httpc {
	struct st_httpc_conf conf;
	pthread_key_t key;
	pthread_mutex_t lock;
	struct handle *handles;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
init_curl(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
unlink_handle(struct handle *h)
{
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		h->owner->handles = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
}

/* Runs when a thread that used the client exits. */
static void
thread_gone(void *arg)
{
	struct handle *h = arg;
	struct st_httpc *c = h->owner;

	pthread_mutex_lock(&c->lock);
	unlink_handle(h);
	pthread_mutex_unlock(&c->lock);
	curl_easy_cleanup(h->curl);
	st_free(h);
}

enum st_err
st_httpc_create(const struct st_httpc_conf *conf, struct st_httpc **out)
{
	struct st_httpc *c;

	*out = NULL;
	pthread_once(&curl_once, init_curl);
	c = st_calloc(1, sizeof(*c));
	c->conf = *conf;
	if (c->conf.retries < 0)
		c->conf.retries = 0;
	if (c->conf.retries > 5)
		c->conf.retries = 5;
	if (pthread_key_create(&c->key, thread_gone) != 0) {
		st_free(c);
		return ST_ERR_INTERNAL;
	}
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return ST_OK;
}

void
st_httpc_destroy(struct st_httpc *c)
{
	struct handle *h, *next;

	if (c == NULL)
		return;
	pthread_key_delete(c->key);
	for (h = c->handles; h != NULL; h = next) {
		next = h->next;
		curl_easy_cleanup(h->curl);
		st_free(h);
	}
	pthread_mutex_destroy(&c->lock);
	st_free(c);
}

static CURL *
thread_handle(struct st_httpc *c)
{
	struct handle *h = pthread_getspecific(c->key);

	if (h != NULL) {
		curl_easy_reset(h->curl); /* keeps the connection cache, clears options */
		return h->curl;
	}
	h = st_calloc(1, sizeof(*h));
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		st_free(h);
		return NULL;
	}
	h->owner = c;
	pthread_mutex_lock(&c->lock);
	h->next = c->handles;
	if (c->handles != NULL)
		c->handles->prev = h;
	c->handles = h;
	pthread_mutex_unlock(&c->lock);
	pthread_setspecific(c->key, h);
	return h->curl;
}

bool
st_httpc_idempotent(const char *method)
{
	static const char *const safe[] = { "GET", "HEAD", "PUT", "DELETE", "OPTIONS" };

	for (size_t i = 0; i < ST_ARRAY_LEN(safe); i++)
		if (strcmp(method, safe[i]) == 0)
			return true;
	return false;
}

int
st_httpc_backoff_ms(int base_ms, int attempt, double jitter01)
{
	double ms = base_ms;

	for (int i = 1; i < attempt && ms < 10000; i++)
		ms *= 2;
	ms *= 0.75 + 0.5 * jitter01;
	if (ms > 10000)
		ms = 10000;
	return (int)ms;
}

struct sink {
	struct st_httpc_resp *resp;
	size_t cap, max;
	bool too_large;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;

	if (s->resp->len + n > s->max) {
		s->too_large = true;
		return 0; /* stops the transfer */
	}
	if (s->resp->len + n + 1 > s->cap) {
		s->cap = (s->resp->len + n + 1) * 2;
		s->resp->body = st_realloc(s->resp->body, s->cap);
	}
	memcpy(s->resp->body + s->resp->len, ptr, n);
	s->resp->len += n;
	s->resp->body[s->resp->len] = '\0';
	return n;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;

	if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
		char num[16] = "";
		size_t k = 0;

		for (size_t i = 12; i < n && k + 1 < sizeof(num); i++)
			if (ptr[i] >= '0' && ptr[i] <= '9')
				num[k++] = ptr[i];
			else if (k > 0)
				break;
		num[k] = '\0';
		if (k > 0 && k < 7)
			s->resp->retry_after_s = (int)strtol(num, NULL, 10);
	}
	return n;
}

static enum st_err
map_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return ST_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return ST_ERR_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		return ST_ERR_UNAVAILABLE;
	case CURLE_WRITE_ERROR:
		return ST_ERR_TOO_LARGE;
	default:
		return ST_ERR_IO;
	}
}

static void
resp_reset(struct st_httpc_resp *resp)
{
	st_free(resp->body);
	resp->body = NULL;
	resp->len = 0;
	resp->status = 0;
	resp->content_type[0] = '\0';
	resp->retry_after_s = -1;
}

/* One attempt. */
static enum st_err
attempt(struct st_httpc *c, CURL *curl, const struct st_httpc_req *req, struct st_httpc_resp *resp)
{
	struct curl_slist *list = NULL;
	struct sink sink = { resp, 0, c->conf.max_response, false };
	char rid[128];
	const char *id = req->request_id ? req->request_id : st_log_request_id();
	const char *ctype = NULL;
	CURLcode cc;
	enum st_err rc;

	resp_reset(resp);
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
		list = curl_slist_append(list, req->headers[i]);
	if (id != NULL && id[0] != '\0') {
		snprintf(rid, sizeof(rid), "X-Request-Id: %s", id);
		list = curl_slist_append(list, rid);
	}
	list = curl_slist_append(list, "Expect:"); /* no 100-continue round trip */
	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	if (req->body != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
	/* Services close idle keep-alive connections after HTTP_KEEP_ALIVE_MS (5 s by default):
	 * never reuse one older than that. */
	curl_easy_setopt(curl, CURLOPT_MAXAGE_CONN, 4L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)c->conf.connect_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
			 (long)(req->timeout_ms > 0 ? req->timeout_ms : c->conf.timeout_ms));
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	cc = curl_easy_perform(curl);
	curl_slist_free_all(list);
	rc = sink.too_large ? ST_ERR_TOO_LARGE : map_curl(cc);
	if (rc == ST_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
		if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK &&
		    ctype != NULL)
			st_strlcpy(resp->content_type, ctype, sizeof(resp->content_type));
	}
	if (resp->body == NULL)
		resp->body = st_strdup("");
	return rc;
}

static bool
worth_retrying(enum st_err rc, long status)
{
	return rc == ST_ERR_UNAVAILABLE ||
	       (rc == ST_OK && (status == 502 || status == 503 || status == 504));
}

enum st_err
st_httpc_do(struct st_httpc *c, const struct st_httpc_req *req, struct st_httpc_resp *resp)
{
	CURL *curl;
	enum st_err rc;
	int tries = st_httpc_idempotent(req->method) ? 1 + c->conf.retries : 1;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
	curl = thread_handle(c);
	if (curl == NULL) {
		resp->body = st_strdup("");
		return ST_ERR_INTERNAL;
	}
	for (int i = 1;; i++) {
		resp->attempts = i;
		rc = attempt(c, curl, req, resp);
		if (i >= tries || !worth_retrying(rc, resp->status))
			break;
		{
			unsigned char r;
			int ms;
			struct timespec ts;

			st_random_bytes(&r, 1);
			ms = st_httpc_backoff_ms(c->conf.backoff_ms, i, (double)r / 256.0);
			st_log(ST_LOG_DEBUG, "httpc", "retrying %s %s attempt=%d in ms=%d",
			       req->method, req->url, i + 1, ms);
			ts.tv_sec = ms / 1000;
			ts.tv_nsec = (long)(ms % 1000) * 1000000L;
			nanosleep(&ts, NULL);
		}
	}
	return rc;
}

char *
st_httpc_take_body(struct st_httpc_resp *resp, size_t *len)
{
	char *body = resp->body ? resp->body : st_strdup("");

	if (len != NULL)
		*len = resp->len;
	resp->body = NULL;
	resp->len = 0;
	return body;
}

void
st_httpc_resp_cleanup(struct st_httpc_resp *resp)
{
	st_free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}
