/*
 * The HTTP client: libcurl easy handles, each with its own connection cache, kept one per
 * thread (a pthread key) so that concurrent callers reuse keep-alive connections without
 * sharing a lock, or, with conf.pool_size, in a fixed pool checked out per call (slot_pool.c,
 * as the database and Redis pools) so that the connections stay bounded. Per-thread handles are
 * also listed on the client so that st_httpc_destroy frees them all.
 */
#include "strata/httpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "httpc_int.h"
#include "slot_pool.h"
#include "strata/log.h"
#include "strata/request_id.h"

#define POOL_WAIT_DEFAULT_MS 1000

struct handle {
	CURL *curl;
	CURLM *multi; /* for st_httpc_stream, made on first use; keeps its own connections */
	struct st_httpc *owner;
	struct handle *prev, *next;
	int slot; /* index in the pool, -1 for a thread's own handle */
};

struct st_httpc {
	struct st_httpc_conf conf;
	pthread_key_t key;
	pthread_mutex_t lock;
	struct handle *handles; /* the threads' own */
	struct slot_pool pool;  /* with conf.pool_size */
	struct handle **pooled; /* conf.pool_size of them, made on first use */
	struct httpc_pool *raw; /* st_httpc_stream's own sockets for http:// */
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

static void
handle_free(struct handle *h)
{
	curl_easy_cleanup(h->curl);
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	st_free(h);
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
	handle_free(h);
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
	c->raw = httpc_pool_create(&c->conf);
	if (c->conf.pool_size > 0) {
		slot_pool_init(&c->pool, c->conf.pool_size);
		c->pooled = st_calloc((size_t)c->conf.pool_size, sizeof(*c->pooled));
		if (c->conf.pool_wait_ms <= 0)
			c->conf.pool_wait_ms = POOL_WAIT_DEFAULT_MS;
	}
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
	httpc_pool_destroy(c->raw);
	for (h = c->handles; h != NULL; h = next) {
		next = h->next;
		handle_free(h);
	}
	if (c->pooled != NULL) {
		for (int i = 0; i < c->conf.pool_size; i++)
			if (c->pooled[i] != NULL)
				handle_free(c->pooled[i]);
		st_free(c->pooled);
		slot_pool_cleanup(&c->pool);
	}
	pthread_mutex_destroy(&c->lock);
	st_free(c);
}

static struct handle *
thread_handle_get(struct st_httpc *c)
{
	struct handle *h = pthread_getspecific(c->key);

	if (h != NULL) {
		curl_easy_reset(h->curl); /* keeps the connection cache, clears options */
		return h;
	}
	h = st_calloc(1, sizeof(*h));
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		st_free(h);
		return NULL;
	}
	h->owner = c;
	h->slot = -1;
	pthread_mutex_lock(&c->lock);
	h->next = c->handles;
	if (c->handles != NULL)
		c->handles->prev = h;
	c->handles = h;
	pthread_mutex_unlock(&c->lock);
	pthread_setspecific(c->key, h);
	return h;
}

/* For slot_pool_take: prefer a pooled handle that exists (its connections are warm). */
static bool
pooled_made(void *ctx, int i)
{
	struct st_httpc *c = ctx;

	return c->pooled[i] != NULL;
}

/*
 * A handle for one call: the thread's own, or one checked out of the pool (give it back with
 * handle_put). NULL with *rc ST_ERR_UNAVAILABLE when the pool stayed full for pool_wait_ms,
 * ST_ERR_INTERNAL when curl could not make a handle.
 */
static struct handle *
handle_get(struct st_httpc *c, enum st_err *rc)
{
	struct handle *h;
	int i;

	*rc = ST_ERR_INTERNAL;
	if (c->conf.pool_size <= 0)
		return thread_handle_get(c);
	if (slot_pool_take(&c->pool, c->conf.pool_wait_ms, pooled_made, c, &i) != ST_OK) {
		st_log(ST_LOG_WARN, "httpc", "every pooled connection busy for ms=%d size=%d",
		       c->conf.pool_wait_ms, c->conf.pool_size);
		*rc = ST_ERR_UNAVAILABLE;
		return NULL;
	}
	h = c->pooled[i]; /* only this taker touches slot i until it is given back */
	if (h != NULL) {
		curl_easy_reset(h->curl);
		return h;
	}
	h = st_calloc(1, sizeof(*h));
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		st_free(h);
		slot_pool_give(&c->pool, i);
		return NULL;
	}
	h->owner = c;
	h->slot = i;
	c->pooled[i] = h;
	return h;
}

static void
handle_put(struct st_httpc *c, struct handle *h)
{
	if (h != NULL && h->slot >= 0)
		slot_pool_give(&c->pool, h->slot);
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

/*
 * The caller's header lines that may be sent (httpc_header_line_ok: never one that would split
 * the request), as a list for libcurl, and the request id to send into id (cap bytes; "" for
 * none). The caller frees the list.
 */
static struct curl_slist *
header_list(const char *const *headers, const char *given_id, char *id, size_t cap)
{
	struct curl_slist *list = NULL;

	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		if (httpc_header_line_ok(headers[i]))
			list = curl_slist_append(list, headers[i]);
	httpc_request_id(given_id, id, cap);
	return list;
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
	char id[ST_REQUEST_ID_MAX + 1], rid[ST_REQUEST_ID_MAX + 16];
	const char *ctype = NULL;
	CURLcode cc;
	enum st_err rc;

	resp_reset(resp);
	list = header_list(req->headers, req->request_id, id, sizeof(id));
	if (id[0] != '\0') {
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
	struct handle *h;
	CURL *curl;
	enum st_err rc;
	int tries = st_httpc_idempotent(req->method) ? 1 + c->conf.retries : 1;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
	h = handle_get(c, &rc);
	if (h == NULL) {
		resp->body = st_strdup("");
		return rc;
	}
	curl = h->curl;
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
	handle_put(c, h);
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

/* ---- streaming ---- */

ST_STATIC bool httpc_answered_early(int cc, bool uploading, bool head_done, int64_t want,
				    int64_t got);

#define HEAD_MAX    (64 * 1024) /* the most header bytes accepted from a peer */
#define HEADERS_MAX 128
#define EXPECT_MIN  (1024 * 1024) /* bodies above this wait for 100 Continue */

struct stream_run {
	const struct st_httpc_stream *s;
	int64_t last_ms;  /* when bytes last moved */
	enum st_err fail; /* set by a callback that aborted the transfer */
	long status;      /* of the latest status line */
	bool head_done;
	char *head; /* header names and values, NUL-separated pairs */
	size_t head_len;
	size_t nheaders;
	int64_t body_want; /* the answer's body length from its head; -1 unknown (chunked) */
	int64_t body_got;  /* bytes of it handed to on_body */
	int interim;       /* interim (1xx) answers skipped */
	int trailers;      /* trailer lines after the body */
};

static size_t
stream_read(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct stream_run *run = userdata;
	size_t got = 0;
	enum st_err rc = run->s->read(run->s->ctx, buf, size * nitems, &got);

	run->last_ms = st_now_mono_ms();
	if (rc != ST_OK) {
		run->fail = rc;
		return CURL_READFUNC_ABORT;
	}
	return got;
}

/* Hands the collected head to the caller. */
static enum st_err
deliver_head(struct stream_run *run)
{
	struct st_httpc_header list[HEADERS_MAX];
	struct st_httpc_framing fr;
	size_t off = 0, n = run->nheaders;
	enum st_err rc;

	for (size_t i = 0; i < n; i++) {
		list[i].name = run->head + off;
		off += strlen(run->head + off) + 1;
		list[i].value = run->head + off;
		off += strlen(run->head + off) + 1;
	}
	/* the same framing rules as the raw path: with Transfer-Encoding, no Content-Length */
	rc = st_httpc_framing(run->s->method, run->status, false, list, &n, &fr);
	if (rc != ST_OK)
		return rc;
	run->body_want = fr.body == ST_HTTPC_BODY_NONE     ? 0
			 : fr.body == ST_HTTPC_BODY_LENGTH ? fr.length
							   : -1;
	run->head_done = true;
	return run->s->on_head(run->s->ctx, run->status, list, n);
}

static size_t
stream_header(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct stream_run *run = userdata;
	size_t n = size * nitems;
	struct st_httpc_header h;

	run->last_ms = st_now_mono_ms();
	if (run->head_done) {
		if (++run->trailers > ST_CHUNKED_TRAILERS_MAX + 1) { /* and the empty line */
			run->fail = ST_ERR_IO;
			return 0;
		}
		return n; /* trailers: dropped */
	}
	if (st_httpc_parse_status(ptr, n, &run->status)) {
		run->head_len = 0; /* a new head (after 100 Continue, say) */
		run->nheaders = 0;
		return n;
	}
	if (n <= 2 && (n == 0 || ptr[0] == '\r' || ptr[0] == '\n')) {
		enum st_err rc;

		if (run->status >= 100 && run->status < 200) {
			if (++run->interim > HTTPC_INTERIM_MAX) {
				run->fail = ST_ERR_IO;
				return 0;
			}
			return n; /* an interim answer: the final one follows */
		}
		rc = deliver_head(run);
		if (rc != ST_OK) {
			run->fail = rc;
			return 0;
		}
		return n;
	}
	if (run->nheaders == HEADERS_MAX || run->head_len + n + 2 > HEAD_MAX) {
		run->fail = ST_ERR_TOO_LARGE;
		return 0;
	}
	if (run->head == NULL)
		run->head = st_malloc(HEAD_MAX);
	if (st_httpc_parse_header(ptr, n, run->head + run->head_len, HEAD_MAX - run->head_len,
				  &h)) {
		run->head_len += strlen(h.name) + strlen(h.value) + 2;
		run->nheaders++;
	}
	return n; /* a malformed line is dropped, as browsers do */
}

static size_t
stream_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct stream_run *run = userdata;
	size_t n = size * nmemb;
	enum st_err rc;

	if (!run->head_done) {
		run->fail = ST_ERR_IO;
		return 0;
	}
	rc = run->s->on_body(run->s->ctx, ptr, n);
	run->body_got += (int64_t)n;
	run->last_ms = st_now_mono_ms();
	if (rc != ST_OK) {
		run->fail = rc;
		return 0;
	}
	return n;
}

static enum st_err
map_stream_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return ST_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return ST_ERR_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return ST_ERR_UNAVAILABLE;
	default:
		return ST_ERR_IO;
	}
}

/* Sets the options of one streamed transfer; returns the header list to free after it. */
static struct curl_slist *
stream_setup(struct st_httpc *c, CURL *curl, const struct st_httpc_stream *s,
	     struct stream_run *run)
{
	struct curl_slist *list;
	char id[ST_REQUEST_ID_MAX + 1], rid[ST_REQUEST_ID_MAX + 16];

	list = header_list(s->headers, s->request_id, id, sizeof(id));
	if (id[0] != '\0') {
		snprintf(rid, sizeof(rid), "X-Request-Id: %s", id);
		list = curl_slist_append(list, rid);
	}
	/* Large and chunked bodies go with Expect: 100-continue (curl adds it past 1 MiB), so
	 * that a peer refusing the request first never gets, and never resets, a body it will
	 * not read; libcommon's server invites the body at once. Small ones go straight. */
	if (s->read == NULL || (s->body_len >= 0 && s->body_len <= EXPECT_MIN))
		list = curl_slist_append(list, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, s->url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, s->method);
	if (strcmp(s->method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	if (s->read != NULL && s->body_len == 0) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	} else if (s->read != NULL) {
		curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, stream_read);
		curl_easy_setopt(curl, CURLOPT_READDATA, run);
		if (s->body_len > 0)
			curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->body_len);
		else
			list = curl_slist_append(list, "Transfer-Encoding: chunked");
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXAGE_CONN, 4L); /* as attempt() above */
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)c->conf.connect_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_HTTP_CONTENT_DECODING, 0L); /* bytes pass as they are */
	curl_easy_setopt(curl, CURLOPT_HTTP_TRANSFER_DECODING, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, stream_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, run);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, stream_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, run);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	return list;
}

/*
 * True when the peer answered before taking the whole request body (a 413, say) and the
 * upload then failed (cc): the answer arrived whole (want bytes of body announced, got
 * received), so the exchange is complete. curl, told to close by the answer, keeps sending
 * until it has read all of it, and a peer that stopped reading by then resets the connection
 * under the last send.
 */
ST_STATIC bool
httpc_answered_early(int cc, bool uploading, bool head_done, int64_t want, int64_t got)
{
	return cc == CURLE_SEND_ERROR && uploading && head_done && want >= 0 && got == want;
}

/*
 * The transfer runs on this thread's multi handle rather than curl_easy_perform so that the
 * idle timeout is checked between polls of our own length: curl's own timeouts bound the
 * whole transfer, which would cut long streamed answers.
 */
static enum st_err stream_curl(struct st_httpc *c, const struct st_httpc_stream *s);

enum st_err
st_httpc_stream(struct st_httpc *c, const struct st_httpc_stream *s)
{
	bool handled = false;
	enum st_err rc = httpc_raw_stream(c->raw, s, &handled);

	return handled ? rc : stream_curl(c, s);
}

static enum st_err
stream_curl(struct st_httpc *c, const struct st_httpc_stream *s)
{
	struct handle *h;
	struct stream_run run = { .s = s, .fail = ST_OK };
	struct curl_slist *list = NULL;
	int idle_ms = s->idle_timeout_ms > 0 ? s->idle_timeout_ms : c->conf.timeout_ms;
	CURLcode cc = CURLE_OK;
	bool added = false, timed_out = false;
	enum st_err rc = ST_OK;

	h = handle_get(c, &rc);
	if (h == NULL)
		return rc;
	if (h->multi == NULL)
		h->multi = curl_multi_init();
	if (h->multi == NULL) {
		handle_put(c, h);
		return ST_ERR_INTERNAL;
	}
	list = stream_setup(c, h->curl, s, &run);
	run.last_ms = st_now_mono_ms();
	if (curl_multi_add_handle(h->multi, h->curl) != CURLM_OK) {
		rc = ST_ERR_INTERNAL;
		goto out;
	}
	added = true;
	for (;;) {
		int running = 0, left = 0;
		int64_t idle;
		CURLMsg *msg;

		if (curl_multi_perform(h->multi, &running) != CURLM_OK) {
			rc = ST_ERR_INTERNAL;
			goto out;
		}
		if (running == 0) {
			msg = curl_multi_info_read(h->multi, &left);
			cc = (msg != NULL && msg->msg == CURLMSG_DONE) ? msg->data.result
								       : CURLE_RECV_ERROR;
			break;
		}
		idle = st_now_mono_ms() - run.last_ms;
		if (idle >= idle_ms) {
			timed_out = true;
			break;
		}
		if (curl_multi_poll(h->multi, NULL, 0,
				    (int)(idle_ms - idle > 1000 ? 1000 : idle_ms - idle),
				    NULL) != CURLM_OK) {
			rc = ST_ERR_INTERNAL;
			goto out;
		}
	}
	if (run.fail != ST_OK)
		rc = run.fail;
	else if (timed_out)
		rc = ST_ERR_TIMEOUT;
	else if (httpc_answered_early((int)cc, s->read != NULL, run.head_done, run.body_want,
				      run.body_got))
		rc = ST_OK;
	else
		rc = map_stream_curl(cc);
	if (rc == ST_OK && !run.head_done)
		rc = ST_ERR_IO; /* an answer without an end of its head */
	if (rc != ST_OK && rc != run.fail)
		st_log(ST_LOG_DEBUG, "httpc", "stream %s %s failed: %s", s->method, s->url,
		       timed_out ? "idle timeout" : curl_easy_strerror(cc));
out:
	if (added)
		curl_multi_remove_handle(h->multi, h->curl); /* a cut transfer closes its
								connection */
	curl_slist_free_all(list);
	st_free(run.head);
	handle_put(c, h);
	return rc;
}
