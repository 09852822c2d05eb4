#!/bin/bash
# The nginx container's entry point: makes a self-signed certificate when none is mounted
# (TLS_CERT/TLS_KEY), renders nginx/strata.conf.template for containers (listen on all
# addresses, the gateway by its Docker DNS name, logs to stdout/stderr), then runs nginx in the
# foreground.
#
# GATEWAY_UPSTREAMS (default gateway:8080) names the replicas. Docker's DNS answers all the
# replicas of a scaled service, and nginx resolves them when it starts: after
# `docker compose up --scale gateway=N`, restart nginx so that it sees the new ones.
set -euo pipefail

state="${STRATA_NGINX_STATE:-/var/lib/strata-nginx}"
render="${STRATA_NGINX_RENDER:-/etc/strata-nginx/render.sh}"
if [[ -z "${TLS_CERT:-}" || -z "${TLS_KEY:-}" ]]; then
	TLS_CERT="$state/tls/cert.pem"
	TLS_KEY="$state/tls/key.pem"
	if [[ ! -s "$TLS_CERT" ]]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
			-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
			-keyout "$TLS_KEY" -out "$TLS_CERT" 2>/dev/null
		chmod 600 "$TLS_KEY"
		echo "strata-nginx: no TLS_CERT/TLS_KEY given: using a self-signed certificate" >&2
	fi
fi

NGINX_UPSTREAMS="${GATEWAY_UPSTREAMS:-gateway:8080}" \
	NGINX_BIND=0.0.0.0 NGINX_HTTP_PORT=8000 NGINX_HTTPS_PORT=8443 \
	NGINX_CLIENT_MAX_BODY_SIZE="${STRATA_MAX_BODY_SIZE:-16m}" \
	NGINX_WORKERS="${STRATA_NGINX_WORKERS:-auto}" NGINX_USER="" \
	NGINX_PID_FILE="$state/nginx.pid" NGINX_ERROR_LOG=/dev/stderr NGINX_ACCESS_LOG=/dev/stdout \
	NGINX_TEMP_DIR="$state/tmp" TLS_CERT="$TLS_CERT" TLS_KEY="$TLS_KEY" \
	NGINX_WEB_ROOT=/srv/strata/web \
	"$render" "$state/strata.conf"

exec nginx -p "$state/" -c "$state/strata.conf" -e /dev/stderr -g 'daemon off;'
