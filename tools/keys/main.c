/*
 * strata-keys: derives the principal's pair keys from one master secret, outside the services,
 * so that no service ever holds the master (docs/architecture.md, "The principal").
 *
 *   strata-keys [-m FILE] SERVICE   prints SERVICE's PRINCIPAL_KEYS setting: the key of every
 *                                   pair it signs or verifies with, and no other
 *   strata-keys [-m FILE] --env     prints <SERVICE>_PRINCIPAL_KEYS=... for every service, the
 *                                   lines compose/.env needs
 *   strata-keys --pairs             lists the pairs, "signer>target" a line
 *
 * The master is read from FILE, or from standard input without -m (never from the command
 * line, which other users can read): at least 64 hex digits (32 bytes), surrounding white
 * space ignored. The key of a pair is HMAC-SHA256(master, "strata principal key v2:" signer
 * ">" target), in hex; the same master always gives the same keys, so a pair's key changes
 * only with the master (rotation: docs/operations.md).
 *
 * The pairs are the table below: the gateway signs for every internal service. A service that
 * calls another's internal routes for itself gets a pair here (and both ends their new keys).
 *
 * Exit status: 0 on success, 2 for a usage error or a bad master.
 */
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/encode.h"
#include "strata/principal.h"

#define MASTER_MAX 1024 /* hex digits */
#define LABEL      "strata principal key v2:"

static const char *const services[] = { "gateway",  "auth",      "ingest", "statistics",
					"alerting", "scheduler", "storage" };

static const struct {
	const char *signer, *target;
} pairs[] = {
	{ "gateway", "auth" },     { "gateway", "ingest" },    { "gateway", "statistics" },
	{ "gateway", "alerting" }, { "gateway", "scheduler" }, { "gateway", "storage" },
};

static int
usage(void)
{
	fputs("usage: strata-keys [-m MASTER_FILE] SERVICE | --env\n"
	      "       strata-keys --pairs\n"
	      "The master (64+ hex digits) is read from MASTER_FILE, or from standard input.\n",
	      stderr);
	return 2;
}

/* Reads the master from path (NULL: standard input) into key; returns its length, 0 when it is
 * not 32 to MASTER_MAX / 2 bytes of hex (the reason is printed). */
static size_t
read_master(const char *path, unsigned char *key, size_t cap)
{
	FILE *f = path != NULL ? fopen(path, "r") : stdin;
	char text[MASTER_MAX + 2];
	size_t n = 0, start = 0, len = 0;

	if (f == NULL) {
		fprintf(stderr, "strata-keys: cannot read %s\n", path);
		return 0;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	if (path != NULL)
		fclose(f);
	text[n] = '\0';
	while (start < n && strchr(" \t\r\n", text[start]) != NULL)
		start++;
	while (n > start && strchr(" \t\r\n", text[n - 1]) != NULL)
		n--;
	len = n - start;
	if (len < 64 || len > MASTER_MAX || len % 2 != 0 || len / 2 > cap) {
		fprintf(stderr, "strata-keys: the master must be 64 to %d hex digits\n",
			MASTER_MAX);
		len = 0;
		goto out;
	}
	for (size_t i = 0; i < len / 2; i++) {
		int hi = st_hex_digit(text[start + 2 * i]),
		    lo = st_hex_digit(text[start + 2 * i + 1]);

		if (hi < 0 || lo < 0) {
			fprintf(stderr, "strata-keys: the master must be hex digits only\n");
			len = 0;
			goto out;
		}
		key[i] = (unsigned char)(hi << 4 | lo);
	}
out:
	OPENSSL_cleanse(text, sizeof(text));
	return len / 2;
}

/* Appends "signer>target:<hex key>" for pair i to out (at *n, cap bytes). */
static void
append_pair(const unsigned char *master, size_t mlen, size_t i, char *out, size_t cap, size_t *n)
{
	static const char hex[] = "0123456789abcdef";
	char label[128];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int len =
		snprintf(label, sizeof(label), "%s%s>%s", LABEL, pairs[i].signer, pairs[i].target);

	if (HMAC(EVP_sha256(), master, (int)mlen, (const unsigned char *)label, (size_t)len, mac,
		 &maclen) == NULL ||
	    maclen != 32)
		abort();
	*n += (size_t)snprintf(out + *n, cap - *n, "%s%s>%s:", *n > 0 ? "," : "", pairs[i].signer,
			       pairs[i].target);
	for (unsigned int b = 0; b < 32 && *n + 2 < cap; b++) {
		out[(*n)++] = hex[mac[b] >> 4];
		out[(*n)++] = hex[mac[b] & 15];
	}
	out[*n] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
}

/* Writes service's PRINCIPAL_KEYS value into out, checked by the parser the services use.
 * false when the service holds no pair. */
static bool
service_keys(const unsigned char *master, size_t mlen, const char *service, char *out, size_t cap)
{
	struct st_principal_keys *keys = NULL;
	char err[200];
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ST_ARRAY_LEN(pairs); i++)
		if (strcmp(pairs[i].signer, service) == 0 || strcmp(pairs[i].target, service) == 0)
			append_pair(master, mlen, i, out, cap, &n);
	if (st_principal_keys_create(service, out, &keys, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "strata-keys: %s: %s\n", service, err);
		return false;
	}
	st_principal_keys_destroy(keys);
	return true;
}

static bool
known(const char *service)
{
	for (size_t i = 0; i < ST_ARRAY_LEN(services); i++)
		if (strcmp(services[i], service) == 0)
			return true;
	return false;
}

int
main(int argc, char **argv)
{
	unsigned char master[MASTER_MAX / 2];
	char out[ST_PRINCIPAL_PAIRS_MAX * 100];
	const char *file = NULL, *what;
	size_t mlen;
	int code = 2;

	if (argc == 2 && strcmp(argv[1], "--pairs") == 0) {
		for (size_t i = 0; i < ST_ARRAY_LEN(pairs); i++)
			printf("%s>%s\n", pairs[i].signer, pairs[i].target);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "-m") == 0)
		file = argv[2];
	else if (argc != 2)
		return usage();
	what = argv[argc - 1];
	if (strcmp(what, "--env") != 0 && !known(what)) {
		fprintf(stderr, "strata-keys: unknown service '%s'\n", what);
		return usage();
	}
	mlen = read_master(file, master, sizeof(master));
	if (mlen == 0)
		goto out;
	if (strcmp(what, "--env") != 0) {
		if (!service_keys(master, mlen, what, out, sizeof(out)))
			goto out;
		printf("%s\n", out);
	} else {
		for (size_t i = 0; i < ST_ARRAY_LEN(services); i++) {
			char name[ST_PRINCIPAL_NAME_MAX] = "";

			if (!service_keys(master, mlen, services[i], out, sizeof(out)))
				goto out;
			for (size_t c = 0; c + 1 < sizeof(name) && services[i][c] != '\0'; c++)
				name[c] = (char)toupper((unsigned char)services[i][c]);
			printf("%s_PRINCIPAL_KEYS=%s\n", name, out);
		}
	}
	code = 0;
out:
	OPENSSL_cleanse(master, sizeof(master));
	OPENSSL_cleanse(out, sizeof(out));
	return code;
}
