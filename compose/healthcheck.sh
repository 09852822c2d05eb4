#!/bin/sh
# The container's health check: GET /healthz on the service's own port (HTTP_PORT, else the
# contract's port for STRATA_SERVICE).
set -eu
case "${STRATA_SERVICE:-}" in
gateway) default=8080 ;;
auth) default=8081 ;;
ingest) default=8082 ;;
statistics) default=8083 ;;
alerting) default=8084 ;;
scheduler) default=8085 ;;
storage) default=8086 ;;
*) default=8080 ;;
esac
exec curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${HTTP_PORT:-$default}/healthz"
