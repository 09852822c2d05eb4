#!/usr/bin/env bash
# Renders nginx/strata.conf.template into a real nginx configuration: `render.sh OUT`.
# Used by compose/local/infra.sh (local run) and compose/nginx-entrypoint.sh (container), so
# both run the same configuration. Its inputs are environment variables:
#
#   NGINX_UPSTREAMS             gateway replicas, comma separated host:port (required)
#   NGINX_BIND                  listen address (127.0.0.1)
#   NGINX_HTTP_PORT / NGINX_HTTPS_PORT           (8000 / 8443)
#   NGINX_CLIENT_MAX_BODY_SIZE  largest request body, nginx size syntax (16m)
#   NGINX_WORKERS               worker processes (auto)
#   NGINX_USER                  user the workers run as; empty: no `user` line (non-root master)
#   NGINX_PID_FILE, NGINX_ERROR_LOG, NGINX_ACCESS_LOG, NGINX_TEMP_DIR   (required)
#   TLS_CERT, TLS_KEY           PEM certificate chain and key (required)
#   NGINX_WEB_ROOT              static files for / (required; need not exist)
#   NGINX_DOCS_ROOT             /docs/: nginx/docs of the repository ($NGINX_WEB_ROOT/docs)
#   NGINX_SWAGGER_UI_ROOT       /docs/swagger-ui/: swagger-ui-dist's files
#                               ($NGINX_WEB_ROOT/swagger-ui)
#   NGINX_MIME_TYPES            (/etc/nginx/mime.types)
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true # bash 5.2: "&" in a value stays "&"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
template="${NGINX_TEMPLATE:-$here/strata.conf.template}"

die() {
	echo "render.sh: $*" >&2
	exit 1
}

[[ $# -eq 1 ]] || die "usage: render.sh OUTPUT_FILE"
out="$1"

# A value that goes between double quotes in the configuration.
path_value() {
	local name="$1" value="${!1:-}"
	[[ -n "$value" ]] || die "$name is not set"
	[[ "$value" != *[\"\$\;\\]* && "$value" != *$'\n'* ]] ||
		die "$name contains a character nginx would misread: $value"
	printf '%s' "$value"
}

body_size="${NGINX_CLIENT_MAX_BODY_SIZE:-16m}"
[[ "$body_size" =~ ^[0-9]+[kKmMgG]?$ ]] ||
	die "NGINX_CLIENT_MAX_BODY_SIZE must be a number with an optional k, m or g: $body_size"
workers="${NGINX_WORKERS:-auto}"
[[ "$workers" =~ ^([0-9]+|auto)$ ]] || die "NGINX_WORKERS must be a number or auto: $workers"
bind="${NGINX_BIND:-127.0.0.1}"
bind_re='^([0-9A-Za-z.-]+|\[[0-9A-Fa-f:]+\]|\*)$'
[[ "$bind" =~ $bind_re ]] || die "NGINX_BIND is not an address: $bind"
http_port="${NGINX_HTTP_PORT:-8000}"
https_port="${NGINX_HTTPS_PORT:-8443}"
[[ "$http_port" =~ ^[0-9]+$ && "$https_port" =~ ^[0-9]+$ ]] || die "the nginx ports must be numbers"

user_line=""
if [[ -n "${NGINX_USER:-}" ]]; then
	[[ "$NGINX_USER" =~ ^[a-z_][a-z0-9_-]*( [a-z_][a-z0-9_-]*)?$ ]] ||
		die "NGINX_USER is not a user name: $NGINX_USER"
	user_line="user $NGINX_USER;"
fi

# One `server` line per replica; max_fails lets nginx skip a dead replica for a few seconds.
servers=""
IFS=',' read -r -a upstreams <<<"${NGINX_UPSTREAMS:-}"
for u in "${upstreams[@]}"; do
	u="${u//[[:space:]]/}"
	[[ -n "$u" ]] || continue
	[[ "$u" =~ ^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:]+\]):[0-9]+$ ]] ||
		die "NGINX_UPSTREAMS: '$u' is not host:port"
	servers+="        server $u max_fails=2 fail_timeout=5s;"$'\n'
done
[[ -n "$servers" ]] || die "NGINX_UPSTREAMS names no gateway (host:port, comma separated)"

conf="$(<"$template")"
conf="${conf//@USER_DIRECTIVE@/$user_line}"
conf="${conf//@WORKERS@/$workers}"
conf="${conf//@PID_FILE@/$(path_value NGINX_PID_FILE)}"
conf="${conf//@ERROR_LOG@/$(path_value NGINX_ERROR_LOG)}"
conf="${conf//@ACCESS_LOG@/$(path_value NGINX_ACCESS_LOG)}"
conf="${conf//@TEMP_DIR@/$(path_value NGINX_TEMP_DIR)}"
conf="${conf//@MIME_TYPES@/${NGINX_MIME_TYPES:-/etc/nginx/mime.types}}"
conf="${conf//@CLIENT_MAX_BODY_SIZE@/$body_size}"
conf="${conf//@GATEWAY_SERVERS@/${servers%$'\n'}}"
conf="${conf//@BIND@/$bind}"
conf="${conf//@HTTP_PORT@/$http_port}"
conf="${conf//@HTTPS_PORT@/$https_port}"
conf="${conf//@TLS_CERT@/$(path_value TLS_CERT)}"
conf="${conf//@TLS_KEY@/$(path_value TLS_KEY)}"
conf="${conf//@WEB_ROOT@/$(path_value NGINX_WEB_ROOT)}"
NGINX_DOCS_ROOT="${NGINX_DOCS_ROOT:-${NGINX_WEB_ROOT:-}/docs}"
NGINX_SWAGGER_UI_ROOT="${NGINX_SWAGGER_UI_ROOT:-${NGINX_WEB_ROOT:-}/swagger-ui}"
conf="${conf//@DOCS_ROOT@/$(path_value NGINX_DOCS_ROOT)}"
conf="${conf//@SWAGGER_UI_ROOT@/$(path_value NGINX_SWAGGER_UI_ROOT)}"
if [[ "$conf" =~ @[A-Z_]+@ ]]; then
	die "the template has a placeholder this script does not fill: ${BASH_REMATCH[0]}"
fi

tmp="$(mktemp "$out.XXXXXX")"
printf '# Rendered from %s by nginx/render.sh: edit the template, not this file.\n%s\n' \
	"${template##*/}" "$conf" >"$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$out"
