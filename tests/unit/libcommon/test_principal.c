/*
 * Unit tests for principal.c: a signed X-Strata-Principal survives the round trip and has the
 * documented wire form and MAC input; verification refuses a principal replayed on another
 * path, method, query or service, one signed with another pair's key, one from a signer other
 * than the gateway that speaks for a user (or for another service, or outside /internal/), an
 * unknown signer, a stale one, and every kind of missing, malformed, tampered or over-long
 * header, each with its reason; signing refuses what verifying would; the pair keys parse as
 * documented; the per-thread MAC contexts never mix keys up. Scope lists parse, format and
 * allow as documented.
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "strata/principal.h"

Suite *principal_suite(void);

#define NOW     1767225600000LL /* 2026-01-01T00:00:00Z */
#define MAX_AGE 5000

/* The pair keys of the tests (32 bytes each, hex). */
#define KEY_GI "1111111111111111111111111111111111111111111111111111111111111111"
#define KEY_GA "2222222222222222222222222222222222222222222222222222222222222222"
#define KEY_SI "3333333333333333333333333333333333333333333333333333333333333333"

/* What each side holds: the gateway signs for ingest and auth; ingest verifies the gateway's
 * and the scheduler's principals; auth the gateway's; the scheduler signs for ingest. */
#define GATEWAY_KEYS   "gateway>ingest:" KEY_GI ",gateway>auth:" KEY_GA
#define INGEST_KEYS    "gateway>ingest:" KEY_GI ",scheduler>ingest:" KEY_SI
#define AUTH_KEYS      "gateway>auth:" KEY_GA
#define SCHEDULER_KEYS "scheduler>ingest:" KEY_SI

static struct st_principal_keys *gateway, *ingest, *auth, *scheduler;

static struct st_principal_keys *
keys(const char *self, const char *spec)
{
	struct st_principal_keys *k = NULL;
	char err[200] = "";

	ck_assert_msg(st_principal_keys_create(self, spec, &k, err, sizeof(err)) == ST_OK, "%s: %s",
		      spec, err);
	ck_assert_ptr_nonnull(k);
	return k;
}

static void
keys_setup(void)
{
	gateway = keys("gateway", GATEWAY_KEYS);
	ingest = keys("ingest", INGEST_KEYS);
	auth = keys("auth", AUTH_KEYS);
	scheduler = keys("scheduler", SCHEDULER_KEYS);
}

static void
keys_teardown(void)
{
	st_principal_keys_destroy(gateway);
	st_principal_keys_destroy(ingest);
	st_principal_keys_destroy(auth);
	st_principal_keys_destroy(scheduler);
}

/* The request most tests sign for. */
static const struct st_principal_bind req = { "GET", "/api/v1/projects/1", "limit=5" };

static struct st_principal
sample(void)
{
	struct st_principal p;

	memset(&p, 0, sizeof(p));
	snprintf(p.sub, sizeof(p.sub), "user:42@example.org");
	snprintf(p.kind, sizeof(p.kind), "user");
	p.scopes = ST_SCOPE_READ | ST_SCOPE_WRITE;
	snprintf(p.request_id, sizeof(p.request_id), "0f8e2a4c-9b1d-4c3e-8f7a-123456789abc");
	p.issued_ms = NOW;
	return p;
}

/* Signs p as the gateway for ingest and req. */
static void
sign(const struct st_principal *p, char *out, size_t cap)
{
	ck_assert_int_eq(st_principal_sign(p, gateway, "ingest", &req, out, cap), ST_OK);
}

/* Verifies header at ingest for bind at NOW; returns the result and the reason in why. */
static enum st_err
verify_at(const struct st_principal_keys *k, const struct st_principal_bind *bind,
	  const char *header, char *why, size_t cap)
{
	struct st_principal out;

	why[0] = '\0';
	return st_principal_verify(header, k, bind, NOW, MAX_AGE, &out, why, cap);
}

static void
refused_at(const struct st_principal_keys *k, const struct st_principal_bind *bind,
	   const char *header, const char *reason)
{
	char why[64];

	ck_assert_msg(verify_at(k, bind, header, why, sizeof(why)) == ST_ERR_AUTH, "accepted: %s",
		      header);
	ck_assert_msg(strcmp(why, reason) == 0, "'%s': '%s', want '%s'", header, why, reason);
}

static void
refused(const char *header, const char *reason)
{
	refused_at(ingest, &req, header, reason);
}

static void
accepted_at(const struct st_principal_keys *k, const struct st_principal_bind *bind,
	    const char *header)
{
	char why[64];

	ck_assert_msg(verify_at(k, bind, header, why, sizeof(why)) == ST_OK, "'%s': %s", header,
		      why);
}

/*
 * Writes "<text>;sig=<HMAC>" with the documented MAC input, computed here apart from
 * principal.c: text, LF, method, LF, query, LF, path, under the 32-byte key in hex. Lets the
 * tests forge what st_principal_sign refuses to write.
 */
static void
forge(const char *text, const char *hexkey, const struct st_principal_bind *bind, char *out,
      size_t cap)
{
	unsigned char key[32], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char input[2048];
	int n;

	for (size_t i = 0; i < 32; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(hexkey + 2 * i, "%2x", &v), 1);
		key[i] = (unsigned char)v;
	}
	n = snprintf(input, sizeof(input), "%s\n%s\n%s\n%s", text, bind->method,
		     bind->query ? bind->query : "", bind->path);
	ck_assert(n > 0 && (size_t)n < sizeof(input));
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)input,
				   (size_t)n, mac, &maclen));
	ck_assert_uint_eq(maclen, 32);
	n = snprintf(out, cap, "%s;sig=", text);
	for (unsigned i = 0; i < 32; i++)
		n += snprintf(out + n, cap - (size_t)n, "%02x", mac[i]);
}

START_TEST(round_trip)
{
	static const char *const kinds[] = { "user", "apikey", "device", "service", "anonymous" };
	struct st_principal p = sample(), out;
	char header[ST_PRINCIPAL_WIRE_MAX], why[64] = "";

	for (size_t i = 0; i < ST_ARRAY_LEN(kinds); i++) {
		snprintf(p.kind, sizeof(p.kind), "%s", kinds[i]);
		p.scopes = (unsigned)i * 7 & ST_SCOPE_ALL;
		sign(&p, header, sizeof(header));
		memset(&out, 0x5a, sizeof(out));
		ck_assert_int_eq(st_principal_verify(header, ingest, &req, NOW, MAX_AGE, &out, why,
						     sizeof(why)),
				 ST_OK);
		ck_assert_str_eq(out.sub, p.sub);
		ck_assert_str_eq(out.kind, p.kind);
		ck_assert_uint_eq(out.scopes, p.scopes);
		ck_assert_str_eq(out.request_id, p.request_id);
		ck_assert(out.issued_ms == p.issued_ms);
		ck_assert_str_eq(out.signer, "gateway");
		ck_assert_str_eq(out.target, "ingest");
	}
}
END_TEST

START_TEST(wire_form_and_mac_input)
{
	static const char text[] = "v2;by=gateway;to=ingest;sub=user:42@example.org;kind=user;"
				   "scopes=read,write;rid=0f8e2a4c-9b1d-4c3e-8f7a-123456789abc;"
				   "t=1767225600000";
	struct st_principal p = sample();
	char header[ST_PRINCIPAL_WIRE_MAX], want[ST_PRINCIPAL_WIRE_MAX];

	sign(&p, header, sizeof(header));
	forge(text, KEY_GI, &req, want, sizeof(want));
	ck_assert_str_eq(header, want);
	/* no query and an empty one are the same request */
	{
		const struct st_principal_bind none = { "GET", "/api/v1/projects/1", NULL };
		const struct st_principal_bind empty = { "GET", "/api/v1/projects/1", "" };

		ck_assert_int_eq(
			st_principal_sign(&p, gateway, "ingest", &none, header, sizeof(header)),
			ST_OK);
		accepted_at(ingest, &empty, header);
	}
}
END_TEST

START_TEST(round_trip_edges)
{
	struct st_principal p = sample(), out;
	char header[ST_PRINCIPAL_WIRE_MAX], why[64];

	/* no request id, no scopes, the longest subject, the edges of the window */
	p.request_id[0] = '\0';
	p.scopes = ST_SCOPE_NONE;
	memset(p.sub, 'a', sizeof(p.sub) - 1);
	p.sub[sizeof(p.sub) - 1] = '\0';
	sign(&p, header, sizeof(header));
	ck_assert_int_eq(
		st_principal_verify(header, ingest, &req, NOW, MAX_AGE, &out, why, sizeof(why)),
		ST_OK);
	ck_assert_str_eq(out.request_id, "");
	ck_assert_uint_eq(out.scopes, 0);
	ck_assert_str_eq(out.sub, p.sub);
	ck_assert_int_eq(st_principal_verify(header, ingest, &req, NOW + MAX_AGE, MAX_AGE, &out,
					     why, sizeof(why)),
			 ST_OK);
	ck_assert_int_eq(st_principal_verify(header, ingest, &req, NOW - MAX_AGE, MAX_AGE, &out,
					     why, sizeof(why)),
			 ST_OK);
	/* every scope */
	p = sample();
	p.scopes = ST_SCOPE_ALL;
	sign(&p, header, sizeof(header));
	ck_assert_msg(strstr(header, ";scopes=read,write,admin,dashboard,ingest;") != NULL, "%s",
		      header);
	ck_assert_int_eq(
		st_principal_verify(header, ingest, &req, NOW, MAX_AGE, &out, why, sizeof(why)),
		ST_OK);
	ck_assert_uint_eq(out.scopes, ST_SCOPE_ALL);
}
END_TEST

/* ---- the binding: one method, path, query and service ---- */

/* Requests that must not accept a principal signed for req. */
static const struct st_principal_bind others[] = {
	{ "GET", "/api/v1/projects/2", "limit=5" },    /* another path */
	{ "GET", "/api/v1/projects/1/", "limit=5" },   /* a slash more */
	{ "GET", "/api/v1/projects", "limit=5" },      /* a prefix */
	{ "GET", "/API/v1/projects/1", "limit=5" },    /* case */
	{ "DELETE", "/api/v1/projects/1", "limit=5" }, /* another method */
	{ "POST", "/api/v1/projects/1", "limit=5" },
	{ "HEAD", "/api/v1/projects/1", "limit=5" },
	{ "get", "/api/v1/projects/1", "limit=5" },
	{ "GET", "/api/v1/projects/1", "limit=6" }, /* another query */
	{ "GET", "/api/v1/projects/1", "limit=5&x=1" },
	{ "GET", "/api/v1/projects/1", NULL },         /* the query dropped */
	{ "GET", "/api/v1/projects/1?limit=5", NULL }, /* the query moved into the path */
	{ "GET", "/api/v1/projects/1", "limit=5\n" },  /* a line feed: malformed */
};

START_TEST(replay_on_another_request_is_refused)
{
	struct st_principal p = sample();
	char header[ST_PRINCIPAL_WIRE_MAX];

	sign(&p, header, sizeof(header));
	accepted_at(ingest, &req, header);
	refused_at(ingest, &others[_i], header,
		   strchr(others[_i].query ? others[_i].query : "", '\n') ? "malformed"
									  : "bad signature");
}
END_TEST

START_TEST(replay_on_another_service_is_refused)
{
	struct st_principal p = sample();
	char header[ST_PRINCIPAL_WIRE_MAX], copy[ST_PRINCIPAL_WIRE_MAX];
	char *to;

	sign(&p, header, sizeof(header));
	/* as it is: it names ingest */
	refused_at(auth, &req, header, "wrong target");
	/* edited to name auth: auth's key for the gateway is another one */
	snprintf(copy, sizeof(copy), "%s", header);
	to = strstr(copy, ";to=ingest;");
	ck_assert_ptr_nonnull(to);
	memmove(to + 8, to + 10, strlen(to + 10) + 1);
	memcpy(to, ";to=auth", 8);
	refused_at(auth, &req, copy, "bad signature");
	/* signed for auth, sent to ingest */
	ck_assert_int_eq(st_principal_sign(&p, gateway, "auth", &req, header, sizeof(header)),
			 ST_OK);
	accepted_at(auth, &req, header);
	refused_at(ingest, &req, header, "wrong target");
}
END_TEST

START_TEST(another_pairs_key_is_refused)
{
	struct st_principal p = sample();
	struct st_principal_keys *wrong;
	char header[ST_PRINCIPAL_WIRE_MAX];

	/* a gateway>ingest principal under the key of gateway>auth */
	wrong = keys("gateway", "gateway>ingest:" KEY_GA);
	ck_assert_int_eq(st_principal_sign(&p, wrong, "ingest", &req, header, sizeof(header)),
			 ST_OK);
	refused(header, "bad signature");
	st_principal_keys_destroy(wrong);
	/* the scheduler's own key, with the gateway named as signer */
	wrong = keys("gateway", "gateway>ingest:" KEY_SI);
	ck_assert_int_eq(st_principal_sign(&p, wrong, "ingest", &req, header, sizeof(header)),
			 ST_OK);
	refused(header, "bad signature");
	st_principal_keys_destroy(wrong);
}
END_TEST

START_TEST(unknown_signer_is_refused)
{
	char header[ST_PRINCIPAL_WIRE_MAX];

	/* auth holds no key for the scheduler, ingest none for storage */
	forge("v2;by=scheduler;to=auth;sub=scheduler;kind=service;scopes=;rid=r;t=1767225600000",
	      KEY_SI, &req, header, sizeof(header));
	refused_at(auth, &req, header, "unknown signer");
	forge("v2;by=storage;to=ingest;sub=storage;kind=service;scopes=;rid=r;t=1767225600000",
	      KEY_SI, &req, header, sizeof(header));
	refused(header, "unknown signer");
}
END_TEST

/* ---- what a signer other than the gateway may sign ---- */

static const struct st_principal_bind internal_req = { "POST", "/internal/v1/jobs/run", NULL };

/* Principals that the scheduler, with its own valid key, may not send to ingest. */
static const struct {
	const char *text;
	const struct st_principal_bind *bind;
} overreach[] = {
	/* a user, an API key, a device, an anonymous caller */
	{ "v2;by=scheduler;to=ingest;sub=it-user-1;kind=user;scopes=admin;rid=r;t=1767225600000",
	  &internal_req },
	{ "v2;by=scheduler;to=ingest;sub=key-1;kind=apikey;scopes=read;rid=r;t=1767225600000",
	  &internal_req },
	{ "v2;by=scheduler;to=ingest;sub=dev-1;kind=device;scopes=ingest;rid=r;t=1767225600000",
	  &internal_req },
	{ "v2;by=scheduler;to=ingest;sub=anonymous;kind=anonymous;scopes=;rid=r;t=1767225600000",
	  &internal_req },
	/* another service, the gateway included */
	{ "v2;by=scheduler;to=ingest;sub=gateway;kind=service;scopes=;rid=r;t=1767225600000",
	  &internal_req },
	{ "v2;by=scheduler;to=ingest;sub=auth;kind=service;scopes=admin;rid=r;t=1767225600000",
	  &internal_req },
	/* itself, on a public path */
	{ "v2;by=scheduler;to=ingest;sub=scheduler;kind=service;scopes=admin;rid=r;t=1767225600000",
	  &req },
	{ "v2;by=scheduler;to=ingest;sub=scheduler;kind=service;scopes=;rid=r;t=1767225600000",
	  &(const struct st_principal_bind){ "GET", "/internal", NULL } },
	{ "v2;by=scheduler;to=ingest;sub=scheduler;kind=service;scopes=;rid=r;t=1767225600000",
	  &(const struct st_principal_bind){ "GET", "/internalx/v1", NULL } },
};

START_TEST(non_gateway_signer_overreach_is_refused)
{
	char header[ST_PRINCIPAL_WIRE_MAX];

	forge(overreach[_i].text, KEY_SI, overreach[_i].bind, header, sizeof(header));
	refused_at(ingest, overreach[_i].bind, header, "signer not allowed");
}
END_TEST

START_TEST(non_gateway_signer_signs_only_itself)
{
	struct st_principal p = sample(), out;
	char header[ST_PRINCIPAL_WIRE_MAX], why[64];

	/* st_principal_sign refuses to write what ingest would refuse */
	ck_assert_int_eq(
		st_principal_sign(&p, scheduler, "ingest", &internal_req, header, sizeof(header)),
		ST_ERR_INVALID);
	snprintf(p.kind, sizeof(p.kind), "service");
	ck_assert_int_eq(
		st_principal_sign(&p, scheduler, "ingest", &internal_req, header, sizeof(header)),
		ST_ERR_INVALID); /* its sub is not "scheduler" */
	snprintf(p.sub, sizeof(p.sub), "scheduler");
	ck_assert_int_eq(st_principal_sign(&p, scheduler, "ingest", &req, header, sizeof(header)),
			 ST_ERR_INVALID); /* not an internal path */
	/* its own principal on an internal route goes through */
	ck_assert_int_eq(
		st_principal_sign(&p, scheduler, "ingest", &internal_req, header, sizeof(header)),
		ST_OK);
	ck_assert_int_eq(st_principal_verify(header, ingest, &internal_req, NOW, MAX_AGE, &out, why,
					     sizeof(why)),
			 ST_OK);
	ck_assert_str_eq(out.signer, "scheduler");
	ck_assert_str_eq(out.sub, "scheduler");
	/* and the scheduler holds no key for auth */
	ck_assert_int_eq(
		st_principal_sign(&p, scheduler, "auth", &internal_req, header, sizeof(header)),
		ST_ERR_NOT_FOUND);
	ck_assert(st_principal_keys_can_sign(scheduler, "ingest"));
	ck_assert(!st_principal_keys_can_sign(scheduler, "auth"));
	ck_assert(!st_principal_keys_can_sign(ingest, "scheduler")); /* a verifier's key */
}
END_TEST

/* ---- freshness ---- */

START_TEST(stale_is_refused)
{
	struct st_principal p = sample(), out;
	char header[ST_PRINCIPAL_WIRE_MAX], why[64];

	sign(&p, header, sizeof(header));
	/* older than the window */
	ck_assert_int_eq(st_principal_verify(header, ingest, &req, NOW + MAX_AGE + 1, MAX_AGE, &out,
					     why, sizeof(why)),
			 ST_ERR_AUTH);
	ck_assert_str_eq(why, "stale");
	/* the old default window of 30 s is long gone */
	ck_assert_int_eq(st_principal_verify(header, ingest, &req, NOW + 29000, MAX_AGE, &out, why,
					     sizeof(why)),
			 ST_ERR_AUTH);
	ck_assert_str_eq(why, "stale");
	/* too far in the future */
	ck_assert_int_eq(st_principal_verify(header, ingest, &req, NOW - MAX_AGE - 1, MAX_AGE, &out,
					     why, sizeof(why)),
			 ST_ERR_AUTH);
	ck_assert_str_eq(why, "stale");
	/* a signed time far out, either way */
	p.issued_ms = 0;
	sign(&p, header, sizeof(header));
	refused(header, "stale");
	p.issued_ms = 9223372036854775807LL;
	sign(&p, header, sizeof(header));
	refused(header, "stale");
	p.issued_ms = -NOW;
	sign(&p, header, sizeof(header));
	refused(header, "stale");
}
END_TEST

/* ---- the format ---- */

START_TEST(missing)
{
	char why[64];
	struct st_principal out;

	ck_assert_int_eq(
		st_principal_verify(NULL, ingest, &req, NOW, MAX_AGE, &out, why, sizeof(why)),
		ST_ERR_AUTH);
	ck_assert_str_eq(why, "missing");
	refused("", "missing");
	/* err may be NULL */
	ck_assert_int_eq(st_principal_verify("", ingest, &req, NOW, MAX_AGE, &out, NULL, 0),
			 ST_ERR_AUTH);
}
END_TEST

#define Z64 "0000000000000000000000000000000000000000000000000000000000000000"
#define BT  "v2;by=gateway;to=ingest"

/* Header texts refused as malformed, whatever their signature. */
static const char *const malformed[] = {
	"v2",
	"v2;",
	/* the old version, another version */
	"v1;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	"v1;by=gateway;to=ingest;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	"V2;by=gateway;to=ingest;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	"v20;by=gateway;to=ingest;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	"by=gateway;to=ingest;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	/* each field missing */
	"v2;to=ingest;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	"v2;by=gateway;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	BT ";kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	BT ";sub=a;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	BT ";sub=a;kind=user;rid=r;t=1767225600000;sig=" Z64,
	BT ";sub=a;kind=user;scopes=read;t=1767225600000;sig=" Z64,
	BT ";sub=a;kind=user;scopes=read;rid=r;sig=" Z64,
	BT ";sub=a;kind=user;scopes=read;rid=r;t=1767225600000",
	BT ";sub=a;kind=user;scopes=read;rid=r;t=1767225600000;",
	/* out of order */
	"v2;to=ingest;by=gateway;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	BT ";kind=user;sub=a;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	BT ";sub=a;kind=user;rid=r;scopes=read;t=1767225600000;sig=" Z64,
	BT ";sub=a;kind=user;scopes=read;rid=r;sig=" Z64 ";t=1767225600000",
	/* a field name without '=' or with another name */
	BT ";sub;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	BT ";subject=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	/* names that are no service names */
	"v2;by=;to=ingest;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	"v2;by=Gateway;to=ingest;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	"v2;by=gateway;to=in_gest;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	"v2;by=gateway;to=1ngest;sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	"v2;by=gatewaygatewaygatewaygatewaygate;to=ingest;sub=a;kind=user;scopes=read;rid=r;"
	"t=1767225600000;sig=" Z64,
	/* fields that would not sign */
	BT ";sub=a b;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	BT ";sub=a;kind=admin;scopes=read;rid=r;t=1767225600000;sig=" Z64,
	BT ";sub=a;kind=user;scopes=root;rid=r;t=1767225600000;sig=" Z64,
	BT ";sub=a;kind=user;scopes=read;rid=r r;t=1767225600000;sig=" Z64,
	BT ";sub=a;kind=user;scopes=read;rid=r;t=12x;sig=" Z64,
	BT ";sub=a;kind=user;scopes=read;rid=r;t=;sig=" Z64,
	BT ";sub=a;kind=user;scopes=read;rid=r;t=99999999999999999999;sig=" Z64,
	/* the signature: too short, too long, empty, not lower-case hex, trailing data */
	BT ";sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig="
	   "000000000000000000000000000000000000000000000000000000000000000",
	BT ";sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64 "0",
	BT ";sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=",
	BT ";sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig="
	   "000000000000000000000000000000000000000000000000000000000000000A",
	BT ";sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig="
	   "000000000000000000000000000000000000000000000000000000000000000g",
	BT ";sub=a;kind=user;scopes=read;rid=r;t=1767225600000;sig=" Z64 ";x=1",
};

START_TEST(malformed_table)
{
	refused(malformed[_i], "malformed");
}
END_TEST

/* st_principal_parse is pure: the same answers without a key. */
START_TEST(parse_alone)
{
	struct st_principal p = sample(), out;
	char header[ST_PRINCIPAL_WIRE_MAX], why[64];
	size_t signed_len = 0;

	sign(&p, header, sizeof(header));
	ck_assert_int_eq(st_principal_parse(header, &out, &signed_len, why, sizeof(why)), ST_OK);
	ck_assert_str_eq(out.signer, "gateway");
	ck_assert_str_eq(out.target, "ingest");
	ck_assert_str_eq(out.sub, p.sub);
	ck_assert_uint_eq(signed_len, strlen(header) - 5 - 64);
	ck_assert(strncmp(header + signed_len, ";sig=", 5) == 0);
	for (size_t i = 0; i < ST_ARRAY_LEN(malformed); i++) {
		memset(&out, 0x5a, sizeof(out));
		ck_assert_int_eq(
			st_principal_parse(malformed[i], &out, &signed_len, why, sizeof(why)),
			ST_ERR_AUTH);
		ck_assert_str_eq(why, "malformed");
		ck_assert_uint_eq((unsigned char)out.sub[0], 0x5a); /* untouched */
	}
	ck_assert_int_eq(st_principal_parse(NULL, &out, &signed_len, why, sizeof(why)),
			 ST_ERR_AUTH);
	ck_assert_str_eq(why, "missing");
}
END_TEST

START_TEST(overlong_header)
{
	struct st_principal p = sample();
	char header[1024], padded[1024];

	/* 512 characters of anything is refused before it is looked at */
	memset(padded, 'a', ST_PRINCIPAL_WIRE_MAX);
	memcpy(padded, "v2;by=", 6);
	padded[ST_PRINCIPAL_WIRE_MAX] = '\0';
	refused(padded, "malformed");
	/* a valid header with a long tail */
	sign(&p, header, sizeof(header));
	memset(padded, '0', 700);
	memcpy(padded, header, strlen(header));
	padded[700] = '\0';
	refused(padded, "malformed");
}
END_TEST

/* Replaces the first occurrence of from in header by to (same length). */
static void
replace(char *header, const char *from, const char *to)
{
	char *at = strstr(header, from);

	ck_assert_ptr_nonnull(at);
	ck_assert_uint_eq(strlen(from), strlen(to));
	memcpy(at, to, strlen(to));
}

START_TEST(tampered)
{
	struct st_principal p = sample();
	char header[ST_PRINCIPAL_WIRE_MAX], copy[ST_PRINCIPAL_WIRE_MAX];
	size_t siglen;

	sign(&p, header, sizeof(header));
	/* the subject, the kind, the scopes, the request id, the time */
	snprintf(copy, sizeof(copy), "%s", header);
	replace(copy, "sub=user:42", "sub=user:43");
	refused(copy, "bad signature");
	snprintf(copy, sizeof(copy), "%s", header);
	replace(copy, "kind=user", "kind=uses");
	refused(copy, "malformed");
	snprintf(copy, sizeof(copy), "%s", header);
	replace(copy, "scopes=read,write", "scopes=read,admin");
	refused(copy, "bad signature");
	snprintf(copy, sizeof(copy), "%s", header);
	replace(copy, "rid=0f8e", "rid=1f8e");
	refused(copy, "bad signature");
	snprintf(copy, sizeof(copy), "%s", header);
	replace(copy, "t=1767225600000", "t=1767225600001");
	refused(copy, "bad signature");
	/* each character of the signature, flipped */
	siglen = strlen(header);
	for (size_t i = siglen - 64; i < siglen; i++) {
		snprintf(copy, sizeof(copy), "%s", header);
		copy[i] = copy[i] == '0' ? '1' : '0';
		refused(copy, "bad signature");
	}
	/* a field removed: the signature no longer matches the text */
	snprintf(copy, sizeof(copy), "%s", header);
	replace(copy, "scopes=read,write", "scopes=read;rid=x");
	refused(copy, "malformed");
}
END_TEST

/* ---- signing ---- */

/* Sign one principal with a changed field; INVALID expected. */
static const struct {
	const char *sub;
	const char *kind;
	const char *rid;
} bad_fields[] = {
	{ "a;b", "user", "r" },         { "a=b", "user", "r" },
	{ "a b", "user", "r" },         { "a,b", "user", "r" },
	{ "a\nb", "user", "r" },        { "a/b", "user", "r" },
	{ "caf\xc3\xa9", "user", "r" }, { "", "user", "r" },
	{ "a", "admin", "r" },          { "a", "", "r" },
	{ "a", "User", "r" },           { "a", "user", "r;sig=x" },
	{ "a", "user", "r r" },         { "a", "user", "r=1" },
};

START_TEST(sign_refuses_bad_fields)
{
	struct st_principal p = sample();
	char header[ST_PRINCIPAL_WIRE_MAX];

	snprintf(p.sub, sizeof(p.sub), "%s", bad_fields[_i].sub);
	snprintf(p.kind, sizeof(p.kind), "%s", bad_fields[_i].kind);
	snprintf(p.request_id, sizeof(p.request_id), "%s", bad_fields[_i].rid);
	ck_assert_int_eq(st_principal_sign(&p, gateway, "ingest", &req, header, sizeof(header)),
			 ST_ERR_INVALID);
}
END_TEST

START_TEST(sign_refuses_bad_binding)
{
	static const struct st_principal_bind bad[] = {
		{ "GE\nT", "/a", NULL }, { "", "/a", NULL },          { NULL, "/a", NULL },
		{ "GET", NULL, NULL },   { "GET", "/a", "x=1\ny=2" },
	};
	struct st_principal p = sample();
	char header[ST_PRINCIPAL_WIRE_MAX];

	for (size_t i = 0; i < ST_ARRAY_LEN(bad); i++)
		ck_assert_int_eq(
			st_principal_sign(&p, gateway, "ingest", &bad[i], header, sizeof(header)),
			ST_ERR_INVALID);
	ck_assert_int_eq(st_principal_sign(&p, gateway, "Ingest", &req, header, sizeof(header)),
			 ST_ERR_INVALID);
	ck_assert_int_eq(st_principal_sign(&p, gateway, "storage", &req, header, sizeof(header)),
			 ST_ERR_NOT_FOUND);
	ck_assert_int_eq(st_principal_sign(&p, gateway, "gateway", &req, header, sizeof(header)),
			 ST_ERR_NOT_FOUND);
	/* a path with a line feed is the last part of the input: it signs and verifies */
	{
		const struct st_principal_bind lf = { "GET", "/a\nb", NULL };

		ck_assert_int_eq(
			st_principal_sign(&p, gateway, "ingest", &lf, header, sizeof(header)),
			ST_OK);
		accepted_at(ingest, &lf, header);
	}
}
END_TEST

START_TEST(sign_buffer_too_small)
{
	struct st_principal p = sample();
	char header[ST_PRINCIPAL_WIRE_MAX], small[ST_PRINCIPAL_WIRE_MAX];
	size_t len;

	sign(&p, header, sizeof(header));
	len = strlen(header);
	ck_assert_int_eq(st_principal_sign(&p, gateway, "ingest", &req, small, len + 1), ST_OK);
	ck_assert_str_eq(small, header);
	ck_assert_int_eq(st_principal_sign(&p, gateway, "ingest", &req, small, len),
			 ST_ERR_TOO_LARGE);
	ck_assert_int_eq(st_principal_sign(&p, gateway, "ingest", &req, small, 10),
			 ST_ERR_TOO_LARGE);
}
END_TEST

START_TEST(sign_largest_fits)
{
	/* the longest target name, subject and request id, every scope, the widest time */
	static const char target[] = "abcdefghijklmnopqrstuvwxyz01234";
	struct st_principal_keys *g, *t;
	struct st_principal p, out;
	char header[ST_PRINCIPAL_WIRE_MAX], why[64], spec[200];

	ck_assert_uint_eq(strlen(target), ST_PRINCIPAL_NAME_MAX - 1);
	snprintf(spec, sizeof(spec), "gateway>%s:%s", target, KEY_GI);
	g = keys("gateway", spec);
	t = keys(target, spec);
	memset(&p, 0, sizeof(p));
	memset(p.sub, 'S', sizeof(p.sub) - 1);
	snprintf(p.kind, sizeof(p.kind), "anonymous");
	p.scopes = ST_SCOPE_ALL;
	memset(p.request_id, 'R', sizeof(p.request_id) - 1);
	p.issued_ms = -9223372036854775807LL - 1;
	ck_assert_int_eq(st_principal_sign(&p, g, target, &req, header, sizeof(header)), ST_OK);
	ck_assert_uint_lt(strlen(header), ST_PRINCIPAL_WIRE_MAX);
	/* now at the far edge of the window, so that now - max_age stays in range */
	ck_assert_int_eq(st_principal_verify(header, t, &req, p.issued_ms + MAX_AGE, MAX_AGE, &out,
					     why, sizeof(why)),
			 ST_OK);
	ck_assert_str_eq(out.request_id, p.request_id);
	ck_assert_str_eq(out.target, target);
	st_principal_keys_destroy(g);
	st_principal_keys_destroy(t);
}
END_TEST

/* ---- the keys ---- */

static const struct {
	const char *self;
	const char *spec;
	const char *err; /* NULL: accepted */
} key_specs[] = {
	{ "gateway", GATEWAY_KEYS, NULL },
	{ "ingest", " gateway>ingest:" KEY_GI " , scheduler>ingest:" KEY_SI ",", NULL },
	{ "ingest", "gateway>ingest:" KEY_GI ",ingest>auth:" KEY_GA, NULL }, /* signs, verifies */
	{ "auth", "gateway>auth:ABCDEFabcdef0123456789abcdef0123456789abcdef0123456789abcdef0123",
	  NULL },
	{ "ingest", "", "no key" },
	{ "ingest", NULL, "no key" },
	{ "ingest", " , ", "no key" },
	{ "Ingest", "gateway>ingest:" KEY_GI, "not a service name" },
	{ "", "gateway>ingest:" KEY_GI, "not a service name" },
	{ "ingest", "gateway>auth:" KEY_GA, "neither signs nor verifies" },
	{ "ingest", "gateway>ingest:" KEY_GI ",gateway>auth:" KEY_GA,
	  "neither signs nor verifies" },
	{ "ingest", "gateway>ingest:" KEY_GI ",gateway>ingest:" KEY_GA, "given twice" },
	{ "ingest", "ingest>ingest:" KEY_GI, "both sides" },
	{ "ingest", "gateway>ingest:" KEY_GI "0", "not 64 hex digits" },
	{ "ingest", "gateway>ingest:1111", "not 64 hex digits" },
	{ "ingest", "gateway>ingest:", "not 64 hex digits" },
	{ "ingest",
	  "gateway>ingest:111111111111111111111111111111111111111111111111111111111111111x",
	  "not 64 hex digits" },
	{ "ingest", "gateway-ingest:" KEY_GI, "not <signer>><target>" },
	{ "ingest", "gateway>ingest=" KEY_GI, "not <signer>><target>" },
	{ "ingest", "gateway:" KEY_GI, "not <signer>><target>" },
	{ "ingest", ">ingest:" KEY_GI, "outside [a-z0-9-]" },
	{ "ingest", "Gateway>ingest:" KEY_GI, "outside [a-z0-9-]" },
	{ "ingest", "gate_way>ingest:" KEY_GI, "outside [a-z0-9-]" },
};

START_TEST(keys_table)
{
	struct st_principal_keys *k = (void *)1;
	char err[200] = "";
	enum st_err rc = st_principal_keys_create(key_specs[_i].self, key_specs[_i].spec, &k, err,
						  sizeof(err));

	if (key_specs[_i].err == NULL) {
		ck_assert_msg(rc == ST_OK, "%s: %s", key_specs[_i].spec, err);
		ck_assert_str_eq(st_principal_keys_self(k), key_specs[_i].self);
		st_principal_keys_destroy(k);
	} else {
		ck_assert_msg(rc == ST_ERR_INVALID, "accepted: %s", key_specs[_i].spec);
		ck_assert_ptr_null(k);
		ck_assert_msg(strstr(err, key_specs[_i].err) != NULL, "'%s': '%s', want '%s'",
			      key_specs[_i].spec ? key_specs[_i].spec : "(null)", err,
			      key_specs[_i].err);
		ck_assert_msg(strstr(err, "1111") == NULL && strstr(err, "2222") == NULL,
			      "a key in the message: %s", err);
	}
}
END_TEST

START_TEST(keys_limit)
{
	char spec[ST_PRINCIPAL_PAIRS_MAX * 90 + 200], err[200];
	struct st_principal_keys *k = NULL;
	size_t n = 0;

	for (int i = 0; i <= ST_PRINCIPAL_PAIRS_MAX; i++)
		n += (size_t)snprintf(spec + n, sizeof(spec) - n, "%sgateway>s%d:%s", i ? "," : "",
				      i, KEY_GI);
	ck_assert_int_eq(st_principal_keys_create("gateway", spec, &k, err, sizeof(err)),
			 ST_ERR_INVALID);
	ck_assert_msg(strstr(err, "more than") != NULL, "%s", err);
	*strrchr(spec, ',') = '\0'; /* exactly the most */
	ck_assert_int_eq(st_principal_keys_create("gateway", spec, &k, err, sizeof(err)), ST_OK);
	st_principal_keys_destroy(k);
}
END_TEST

static const struct {
	const char *name;
	bool ok;
} names[] = {
	{ "gateway", true },
	{ "a", true },
	{ "a-1", true },
	{ "", false },
	{ "1a", false },
	{ "-a", false },
	{ "A", false },
	{ "a_b", false },
	{ "a.b", false },
	{ "a>b", false },
	{ "a:b", false },
	{ "abcdefghijklmnopqrstuvwxyz01234", true },
	{ "abcdefghijklmnopqrstuvwxyz012345", false },
};

START_TEST(name_ok_table)
{
	ck_assert_msg(st_principal_name_ok(names[_i].name) == names[_i].ok, "'%s'", names[_i].name);
}
END_TEST

/*
 * The per-thread MAC contexts: more pairs than a thread has slots, used in turn, and a key set
 * freed and made again (perhaps at the same address) with other keys, never sign under a key
 * that is not the pair's own.
 */
START_TEST(mac_contexts_never_mix_keys)
{
	enum { PAIRS = 40 };
	char spec[PAIRS * 90], header[ST_PRINCIPAL_WIRE_MAX], target[16], key[65];
	struct st_principal p = sample();
	struct st_principal_keys *g, *t, *again;
	size_t n = 0;

	for (int i = 0; i < PAIRS; i++) {
		for (int j = 0; j < 64; j++)
			key[j] = "0123456789abcdef"[(i + j) % 16];
		key[64] = '\0';
		n += (size_t)snprintf(spec + n, sizeof(spec) - n, "%sgateway>s%d:%s", i ? "," : "",
				      i, key);
	}
	g = keys("gateway", spec);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < PAIRS; i++) {
			char one[120];
			char *at;

			snprintf(target, sizeof(target), "s%d", i);
			ck_assert_int_eq(
				st_principal_sign(&p, g, target, &req, header, sizeof(header)),
				ST_OK);
			/* the target's own view: only its pair, cut out of spec */
			snprintf(one, sizeof(one), "gateway>%s:", target);
			at = strstr(spec, one);
			while (at != NULL && at != spec && at[-1] != ',')
				at = strstr(at + 1, one);
			ck_assert_ptr_nonnull(at);
			snprintf(one, sizeof(one), "%.*s", (int)(strlen(target) + 9 + 64), at);
			t = keys(target, one);
			accepted_at(t, &req, header);
			st_principal_keys_destroy(t);
		}
	}
	st_principal_keys_destroy(g);
	/* freed and made again with another key (malloc may well hand out the same address):
	 * the context keyed for the old set must not serve the new one */
	g = keys("gateway", "gateway>ingest:" KEY_GI);
	ck_assert_int_eq(st_principal_sign(&p, g, "ingest", &req, header, sizeof(header)), ST_OK);
	accepted_at(ingest, &req, header);
	st_principal_keys_destroy(g);
	again = keys("gateway", "gateway>ingest:" KEY_GA);
	ck_assert_int_eq(st_principal_sign(&p, again, "ingest", &req, header, sizeof(header)),
			 ST_OK);
	refused(header, "bad signature");
	st_principal_keys_destroy(again);
}
END_TEST

/* ---- scopes ---- */

static const struct {
	const char *list;
	bool ok;
	unsigned want;
} scope_lists[] = {
	{ "", true, ST_SCOPE_NONE },
	{ "read", true, ST_SCOPE_READ },
	{ "read,write", true, ST_SCOPE_READ | ST_SCOPE_WRITE },
	{ "write,read", true, ST_SCOPE_READ | ST_SCOPE_WRITE },
	{ "read write", true, ST_SCOPE_READ | ST_SCOPE_WRITE },
	{ "read, write", true, ST_SCOPE_READ | ST_SCOPE_WRITE },
	{ " read ,, write ", true, ST_SCOPE_READ | ST_SCOPE_WRITE },
	{ "read,read,read", true, ST_SCOPE_READ },
	{ ",", true, ST_SCOPE_NONE },
	{ "read,write,admin,dashboard,ingest", true, ST_SCOPE_ALL },
	{ "ingest,dashboard,admin,write,read", true, ST_SCOPE_ALL },
	{ "admin", true, ST_SCOPE_ADMIN },
	{ "dashboard", true, ST_SCOPE_DASHBOARD },
	{ "ingest", true, ST_SCOPE_INGEST },
	{ "unknown", false, 0 },
	{ "read,unknown", false, 0 },
	{ "READ", false, 0 },
	{ "rea", false, 0 },
	{ "reads", false, 0 },
	{ "read;write", false, 0 },
	{ "read\twrite", false, 0 },
};

START_TEST(scopes_parse_table)
{
	unsigned got = 0xdead;
	bool ok = st_scopes_parse(scope_lists[_i].list, &got);

	ck_assert_msg(ok == scope_lists[_i].ok, "'%s'", scope_lists[_i].list);
	if (ok)
		ck_assert_uint_eq(got, scope_lists[_i].want);
	else
		ck_assert_uint_eq(got, 0xdead); /* untouched */
}
END_TEST

static const struct {
	unsigned scopes;
	const char *text;
} scope_texts[] = {
	{ ST_SCOPE_NONE, "" },
	{ ST_SCOPE_READ, "read" },
	{ ST_SCOPE_WRITE | ST_SCOPE_READ, "read,write" },
	{ ST_SCOPE_INGEST | ST_SCOPE_READ, "read,ingest" },
	{ ST_SCOPE_ALL, "read,write,admin,dashboard,ingest" },
	{ ST_SCOPE_ALL | (1u << 7), "read,write,admin,dashboard,ingest" }, /* unknown bits */
};

START_TEST(scopes_format_table)
{
	char buf[64];
	unsigned back = 0;

	ck_assert(st_scopes_format(scope_texts[_i].scopes, buf, sizeof(buf)));
	ck_assert_str_eq(buf, scope_texts[_i].text);
	/* and back again */
	ck_assert(st_scopes_parse(buf, &back));
	ck_assert_uint_eq(back, scope_texts[_i].scopes & ST_SCOPE_ALL);
}
END_TEST

START_TEST(scopes_format_cut)
{
	char buf[16];

	ck_assert(st_scopes_format(ST_SCOPE_READ | ST_SCOPE_WRITE, buf, 11)); /* exactly */
	ck_assert_str_eq(buf, "read,write");
	ck_assert(!st_scopes_format(ST_SCOPE_READ | ST_SCOPE_WRITE, buf, 10));
	ck_assert_str_eq(buf, "read"); /* what fitted, still terminated */
	ck_assert(!st_scopes_format(ST_SCOPE_READ, buf, 4));
	ck_assert_str_eq(buf, "");
	ck_assert(!st_scopes_format(ST_SCOPE_READ, buf, 0));
	ck_assert(st_scopes_format(ST_SCOPE_NONE, buf, 1));
}
END_TEST

static const struct {
	unsigned have, need;
	bool ok;
} allows[] = {
	{ ST_SCOPE_READ, ST_SCOPE_READ, true },
	{ ST_SCOPE_READ | ST_SCOPE_WRITE, ST_SCOPE_READ, true },
	{ ST_SCOPE_READ | ST_SCOPE_WRITE, ST_SCOPE_READ | ST_SCOPE_WRITE, true },
	{ ST_SCOPE_READ, ST_SCOPE_READ | ST_SCOPE_WRITE, false },
	{ ST_SCOPE_WRITE, ST_SCOPE_READ, false },
	{ ST_SCOPE_NONE, ST_SCOPE_READ, false },
	{ ST_SCOPE_NONE, ST_SCOPE_NONE, true },
	{ ST_SCOPE_READ, ST_SCOPE_NONE, true },
	{ ST_SCOPE_ADMIN, ST_SCOPE_READ, false }, /* admin does not imply read */
	{ ST_SCOPE_ALL, ST_SCOPE_ADMIN | ST_SCOPE_INGEST, true },
};

START_TEST(scopes_allow_table)
{
	ck_assert_msg(st_scopes_allow(allows[_i].have, allows[_i].need) == allows[_i].ok,
		      "have %x need %x", allows[_i].have, allows[_i].need);
}
END_TEST

static const struct {
	const char *s;
	size_t cap;
	bool ok;
} field_values[] = {
	{ "abc", 16, true },  { "A-Z_a.z:0@9", 16, true }, { "", 16, false },
	{ "abc", 4, true },   { "abcd", 4, false },        { "a;b", 16, false },
	{ "a=b", 16, false }, { "a,b", 16, false },        { "a b", 16, false },
};

START_TEST(field_ok_table)
{
	ck_assert_msg(st_principal_field_ok(field_values[_i].s, field_values[_i].cap) ==
			      field_values[_i].ok,
		      "'%s' cap %zu", field_values[_i].s, field_values[_i].cap);
}
END_TEST

Suite *
principal_suite(void)
{
	Suite *s = suite_create("principal");
	TCase *sig = tcase_create("signature");
	TCase *bind = tcase_create("binding");
	TCase *keyset = tcase_create("keys");
	TCase *scopes = tcase_create("scopes");

	tcase_add_checked_fixture(sig, keys_setup, keys_teardown);
	tcase_add_test(sig, round_trip);
	tcase_add_test(sig, wire_form_and_mac_input);
	tcase_add_test(sig, round_trip_edges);
	tcase_add_test(sig, missing);
	tcase_add_loop_test(sig, malformed_table, 0, (int)ST_ARRAY_LEN(malformed));
	tcase_add_test(sig, parse_alone);
	tcase_add_test(sig, overlong_header);
	tcase_add_test(sig, tampered);
	tcase_add_test(sig, stale_is_refused);
	tcase_add_loop_test(sig, sign_refuses_bad_fields, 0, (int)ST_ARRAY_LEN(bad_fields));
	tcase_add_test(sig, sign_refuses_bad_binding);
	tcase_add_test(sig, sign_buffer_too_small);
	tcase_add_test(sig, sign_largest_fits);
	suite_add_tcase(s, sig);

	tcase_add_checked_fixture(bind, keys_setup, keys_teardown);
	tcase_add_loop_test(bind, replay_on_another_request_is_refused, 0,
			    (int)ST_ARRAY_LEN(others));
	tcase_add_test(bind, replay_on_another_service_is_refused);
	tcase_add_test(bind, another_pairs_key_is_refused);
	tcase_add_test(bind, unknown_signer_is_refused);
	tcase_add_loop_test(bind, non_gateway_signer_overreach_is_refused, 0,
			    (int)ST_ARRAY_LEN(overreach));
	tcase_add_test(bind, non_gateway_signer_signs_only_itself);
	suite_add_tcase(s, bind);

	tcase_add_checked_fixture(keyset, keys_setup, keys_teardown);
	tcase_add_loop_test(keyset, keys_table, 0, (int)ST_ARRAY_LEN(key_specs));
	tcase_add_test(keyset, keys_limit);
	tcase_add_loop_test(keyset, name_ok_table, 0, (int)ST_ARRAY_LEN(names));
	tcase_add_test(keyset, mac_contexts_never_mix_keys);
	suite_add_tcase(s, keyset);

	tcase_add_loop_test(scopes, scopes_parse_table, 0, (int)ST_ARRAY_LEN(scope_lists));
	tcase_add_loop_test(scopes, scopes_format_table, 0, (int)ST_ARRAY_LEN(scope_texts));
	tcase_add_test(scopes, scopes_format_cut);
	tcase_add_loop_test(scopes, scopes_allow_table, 0, (int)ST_ARRAY_LEN(allows));
	tcase_add_loop_test(scopes, field_ok_table, 0, (int)ST_ARRAY_LEN(field_values));
	suite_add_tcase(s, scopes);
	return s;
}
