# shellcheck shell=bash
# Strata's local environment: sourced by every script in compose/local/ (and by a developer's
# shell: `. compose/local/env.sh`). It finds the repository, names the data folder and the local
# ports, generates the local secrets once, and exports the shared settings that the services and
# the tests read.
#
# What can be set beforehand: STRATA_DATA, the ports (STRATA_*_PORT) and LOG_LEVEL. Everything
# else (URLs, secrets, commands) is derived from those every time, so that values left in a shell
# by another checkout's env.sh never leak into this one.
#
# It sets no shell options, so that sourcing it into an interactive shell changes nothing else,
# and it never prints a secret.

# The repository is two levels above this file, whatever the caller's working directory. A
# STRATA_DATA inherited from another checkout's env.sh is not ours: it is dropped.
_strata_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
if [[ -n "${STRATA_REPO:-}" && "$STRATA_REPO" != "$_strata_repo" ]]; then
	unset STRATA_DATA
fi
STRATA_REPO="$_strata_repo"
unset _strata_repo
STRATA_DATA="${STRATA_DATA:-$STRATA_REPO/.data}"
export STRATA_REPO STRATA_DATA

# Local ports of the servers this project runs itself.
export STRATA_PG_PORT="${STRATA_PG_PORT:-15432}"
export STRATA_REDIS_PORT="${STRATA_REDIS_PORT:-16379}"
export STRATA_KAFKA_PORT="${STRATA_KAFKA_PORT:-19092}"
export STRATA_KAFKA_CONTROLLER_PORT="${STRATA_KAFKA_CONTROLLER_PORT:-19093}"
export STRATA_NGINX_PORT="${STRATA_NGINX_PORT:-8000}"
export STRATA_NGINX_TLS_PORT="${STRATA_NGINX_TLS_PORT:-8443}"

# The services, in start order, and their ports. The gateway starts last: it is the one that
# depends on the others being there.
STRATA_SERVICES="auth ingest statistics alerting scheduler storage gateway"
export STRATA_GATEWAY_PORT="${STRATA_GATEWAY_PORT:-8080}"
export STRATA_AUTH_PORT="${STRATA_AUTH_PORT:-8081}"
export STRATA_INGEST_PORT="${STRATA_INGEST_PORT:-8082}"
export STRATA_STATISTICS_PORT="${STRATA_STATISTICS_PORT:-8083}"
export STRATA_ALERTING_PORT="${STRATA_ALERTING_PORT:-8084}"
export STRATA_SCHEDULER_PORT="${STRATA_SCHEDULER_PORT:-8085}"
export STRATA_STORAGE_PORT="${STRATA_STORAGE_PORT:-8086}"

# strata_service_port NAME: prints the port of one service (gateway, auth, ...).
strata_service_port() {
	local var="STRATA_${1^^}_PORT"
	printf '%s\n' "${!var}"
}

# strata_secret NAME: prints the secret kept in $STRATA_DATA/secrets/NAME, generating it first
# (32 random bytes, hex) if it does not exist yet. The file is created under a temporary name and
# linked into place, so two scripts sourcing this at once agree on one value.
strata_secret() {
	local dir="$STRATA_DATA/secrets" file="$STRATA_DATA/secrets/$1" tmp
	if [[ ! -s "$file" ]]; then
		(umask 077 && mkdir -p "$dir") || return 1
		chmod 700 "$dir"
		tmp="$(umask 077 && mktemp "$dir/.$1.XXXXXX")" || return 1
		if ! od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$tmp"; then
			rm -f "$tmp"
			return 1
		fi
		ln "$tmp" "$file" 2>/dev/null || true # the first one linked wins
		rm -f "$tmp"
	fi
	chmod 600 "$file"
	tr -d '\n' <"$file"
}

# An absolute path, since the scripts change directory.
mkdir -p "$STRATA_DATA" && STRATA_DATA="$(cd "$STRATA_DATA" && pwd -P)" || return 1

# Shared settings (docs/architecture.md). The PostgreSQL password is generated on first use and
# stays in $STRATA_DATA/secrets/ (mode 600); it stays unexported: DATABASE_URL carries it.
if ! STRATA_PG_PASSWORD="$(strata_secret pg_password)"; then
	echo "env.sh: cannot create the secrets under $STRATA_DATA/secrets (check its permissions)" >&2
	return 1
fi

# The principal's keys (docs/architecture.md, "The principal"): one master secret, generated on
# first use in $STRATA_DATA/secrets/principal_master and never exported. Each service is started
# with only its own pairs in PRINCIPAL_KEYS (services.sh), derived from the master by strata-keys.
if ! strata_secret principal_master >/dev/null; then
	echo "env.sh: cannot create the secrets under $STRATA_DATA/secrets (check its permissions)" >&2
	return 1
fi

# strata_principal_keys NAME [BINDIR]: prints the PRINCIPAL_KEYS setting of one service (gateway,
# auth, ...), with BINDIR's strata-keys (default bin/).
strata_principal_keys() {
	"${2:-$STRATA_REPO/bin}/strata-keys" -m "$STRATA_DATA/secrets/principal_master" "$1"
}

# strata_principal TARGET METHOD PATH SUB KIND SCOPES [RID]: prints the X-Strata-Principal value
# that the gateway would send to the service TARGET for METHOD PATH (no query string) on behalf
# of SUB (KIND user, apikey, ...; SCOPES "read,write"), signed now with the gateway's key for
# TARGET: for scripts that call a service directly, as the gateway would (seed-demo.sh, the
# bench). Uses $BIN/strata-keys (default bin/).
strata_principal() {
	local target="$1" method="$2" path="$3" key line
	key="$(strata_principal_keys gateway "${BIN:-$STRATA_REPO/bin}" | tr ',' '\n' |
		sed -n "s/^gateway>$target://p")" || return 1
	[[ -n "$key" ]] || return 1
	line="v2;by=gateway;to=$target;sub=$4;kind=$5;scopes=$6;rid=${7:-script};t=$(date +%s%3N)"
	printf '%s;sig=%s' "$line" "$(printf '%s\n%s\n\n%s' "$line" "$method" "$path" |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -r | cut -d' ' -f1)"
}

# The auth service's key-encryption key, which seals its signing keys in the database, stays in
# its file: auth reads it from there (AUTH_KEK_FILE), so the key itself is in no environment.
if ! strata_secret auth_kek >/dev/null; then
	echo "env.sh: cannot create the auth KEK under $STRATA_DATA/secrets (check its permissions)" >&2
	return 1
fi
export AUTH_KEK_FILE="$STRATA_DATA/secrets/auth_kek"
export DATABASE_URL="postgresql://strata:${STRATA_PG_PASSWORD}@127.0.0.1:${STRATA_PG_PORT}/strata"
export REDIS_URL="redis://127.0.0.1:${STRATA_REDIS_PORT}/0"
export KAFKA_BROKERS="127.0.0.1:${STRATA_KAFKA_PORT}"
export LOG_LEVEL="${LOG_LEVEL:-info}"

# Where each service is: STRATA_<NAME>_URL for the tests, and GATEWAY_<NAME>_URL, the gateway's
# route to each internal service, so that a port moved here moves there too.
for _strata_svc in $STRATA_SERVICES; do
	_strata_var="STRATA_${_strata_svc^^}_URL"
	printf -v "$_strata_var" 'http://127.0.0.1:%s' "$(strata_service_port "$_strata_svc")"
	export "${_strata_var?}"
	if [[ "$_strata_svc" != gateway ]]; then
		_strata_gw="GATEWAY_${_strata_svc^^}_URL"
		printf -v "$_strata_gw" '%s' "${!_strata_var}"
		export "${_strata_gw?}"
	fi
done
unset _strata_svc _strata_var _strata_gw
export STRATA_NGINX_URL="http://127.0.0.1:${STRATA_NGINX_PORT}"
export STRATA_NGINX_TLS_URL="https://127.0.0.1:${STRATA_NGINX_TLS_PORT}"

# Commands that the integration tests run (from the repository root) to take one server away
# and bring it back, without touching the rest of the suite.
_strata_infra="$(printf '%q' "$STRATA_REPO/compose/local/infra.sh")"
export STRATA_PG_RESTART_CMD="$_strata_infra restart postgres"
export STRATA_REDIS_RESTART_CMD="$_strata_infra restart redis"
export STRATA_KAFKA_STOP_CMD="$_strata_infra down kafka"
export STRATA_KAFKA_START_CMD="$_strata_infra up kafka"
unset _strata_infra

# Where the servers keep their state, logs and pid files.
STRATA_LOG="$STRATA_DATA/log"
STRATA_RUN="$STRATA_DATA/run"
export STRATA_LOG STRATA_RUN
