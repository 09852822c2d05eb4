#!/usr/bin/env bash
# Benchmarks against a running suite (`make up` first). Prints figures; never passes or fails
# on a timing. Traffic goes to 127.0.0.1 only.
#   tests/bench/run.sh            every benchmark below
#   tests/bench/run.sh idle       binary sizes and resident memory at idle
#   tests/bench/run.sh http       wrk on a service's /healthz, directly and through nginx
#   tests/bench/run.sh auth       the authenticated front door against the proxy ceiling
#   tests/bench/run.sh ingest     readings end to end against the COPY ceiling
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=/dev/null
source "$repo/compose/local/env.sh"
what=${1:-all}
BIN=${BIN:-$repo/bin}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-64}

idle() {
	echo "== binaries: size on disk and resident memory at idle"
	printf '%-20s %10s %10s\n' binary size_kib rss_kib
	for name in gateway auth ingest statistics alerting scheduler storage; do
		pidfile="$STRATA_DATA/run/$name.pid"
		rss="-"
		if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
			rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$(cat "$pidfile")/status")
		fi
		size=$(( $(stat -c %s "$BIN/strata-$name") / 1024 ))
		printf '%-20s %10s %10s\n' "strata-$name" "$size" "$rss"
	done
}

wrk_line() { # label url
	local out
	out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$2" 2>&1)
	printf '%-40s %12s req/s  p50 %8s  p99 %8s\n' "$1" \
		"$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
		"$(awk '$1 == "50%" {print $2}' <<<"$out")" \
		"$(awk '$1 == "99%" {print $2}' <<<"$out")"
}

http() {
	command -v wrk >/dev/null || { echo "wrk is missing: make deps"; exit 1; }
	echo "== HTTP: wrk -t2 -c$CONNS -d$DURATION (wrk shares the two cores)"
	wrk_line "gateway /healthz direct" "http://127.0.0.1:$STRATA_GATEWAY_PORT/healthz"
	wrk_line "gateway /healthz through nginx" "http://127.0.0.1:$STRATA_NGINX_PORT/healthz"
	wrk_line "gateway /api/v1/health through nginx" \
		"http://127.0.0.1:$STRATA_NGINX_PORT/api/v1/health"
}

case $what in
idle) idle ;;
http) http ;;
auth) "$here/auth_me.sh" ;;
ingest) "$here/ingest.sh" ;;
all) idle; http; "$here/auth_me.sh"; "$here/ingest.sh" ;;
*) echo "usage: $0 [idle|http|auth|ingest|all]"; exit 2 ;;
esac
