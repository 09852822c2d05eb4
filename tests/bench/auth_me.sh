#!/usr/bin/env bash
# The front door's cost, measured in one run (needs a running suite: make up):
#   1. authenticated GET /api/v1/auth/me through nginx, gateway and auth;
#   2. the same through the gateway without nginx;
#   3. the same request straight to the auth service, with a principal signed here;
#   4. a reference: nginx standing in for the gateway, between the front nginx and auth;
#   5. the machine's proxy ceiling: nginx proxying one hop to nginx answering a fixed body;
#   6. paths 2 and 3 again on one connection, for latency without queueing.
# wrk -t2 -c64 -d10s each; wrk shares the two cores. Prints requests/s, p50, p99 and ratios;
# never passes or fails on a timing. The gateway is restarted with a rate limit high enough not
# to throttle the benchmark, then put back as it was.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=/dev/null
source "$repo/compose/local/env.sh"
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
API=$STRATA_NGINX_URL
BIN=${BIN:-$repo/bin}
command -v wrk >/dev/null || { echo "wrk is missing: make deps" >&2; exit 1; }

work=$(mktemp -d)
restore_gateway() {
	BIN=$BIN "$repo/compose/local/service.sh" restart gateway auth >/dev/null 2>&1 || true
	[[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
	rm -rf "$work"
}
trap restore_gateway EXIT

# A gateway that does not rate-limit the benchmark (and does not log every request).
GATEWAY_RATE_DEFAULT=1000000 HTTP_ACCESS_LOG=false BIN=$BIN \
	"$repo/compose/local/service.sh" restart gateway >/dev/null
# An auth that accepts one signed principal for a whole run (wrk sends the same header for
# DURATION, which must stay under a minute): PRINCIPAL_MAX_AGE_MS is 10 s by default.
PRINCIPAL_MAX_AGE_MS=60000 BIN=$BIN "$repo/compose/local/service.sh" restart auth >/dev/null

# A user of our own, and its access token.
email="bench-$(date +%s)-$RANDOM@strata.local"
password="bench-$(openssl rand -hex 12)"
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
	-d "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Bench\"}" \
	"$API/api/v1/auth/register"
token=$(curl -fsS -H 'Content-Type: application/json' \
	-d "{\"email\":\"$email\",\"password\":\"$password\"}" "$API/api/v1/auth/login" |
	sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
user_id=$(curl -fsS -H "Authorization: Bearer $token" "$API/api/v1/auth/me" |
	sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
[[ -n $token && -n $user_id ]] || { echo "could not log in the bench user" >&2; exit 1; }

# The principal the gateway would send for GET /api/v1/auth/me, signed now with the gateway's
# key for auth (env.sh's strata_principal; good for PRINCIPAL_MAX_AGE_MS, 60 s here).
principal() {
	strata_principal auth GET /api/v1/auth/me "$user_id" user read,write,dashboard bench
}

# CPU time per process group, in clock ticks, from /proc (utime + stime of every thread).
# The groups are the suite's own processes; "rest" is everything else the machine ran (wrk,
# the idle services, Kafka), from the machine's total.
tick=$(getconf CLK_TCK)
run_dir=$STRATA_DATA/run
pg_pid=$(head -n1 "$STRATA_DATA/pg/data/postmaster.pid" 2>/dev/null || true)
group_pids() { # group
	case $1 in
	nginx) # the suite's, and the references' own while it runs
		pgrep -P "$(cat "$run_dir/nginx.pid")"
		[[ -f $work/nginx.pid ]] && pgrep -P "$(cat "$work/nginx.pid")"
		;;
	gateway | auth) cat "$run_dir/$1.pid" ;;
	redis) cat "$run_dir/redis.pid" ;;
	postgres) [[ -n $pg_pid ]] && { echo "$pg_pid"; pgrep -P "$pg_pid"; } ;;
	esac
}
groups=(nginx gateway auth redis postgres)
proc_ticks() { # pid...: their CPU ticks summed (a process gone meanwhile counts 0)
	local p t=0 v
	for p in "$@"; do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; } # user..softirq
declare -A cpu_before
cpu_snapshot() {
	local g
	for g in "${groups[@]}"; do
		# shellcheck disable=SC2046 # one pid a word
		cpu_before[$g]=$(proc_ticks $(group_pids "$g"))
	done
	cpu_before[machine]=$(machine_ticks)
}
declare -A cpu_us # "label/group" -> microseconds of CPU a request
per_request() { # ticks requests: microseconds a request
	awk -v d="$1" -v n="$2" -v t="$tick" 'BEGIN { printf "%.0f", d * 1e6 / t / n }'
}
cpu_report() { # label requests: prints and keeps the microseconds of CPU a request, per group
	local g line="" rest
	cpu_us[$1/all]=$(per_request $(($(machine_ticks) - cpu_before[machine])) "$2")
	rest=${cpu_us[$1/all]}
	for g in "${groups[@]}"; do
		# shellcheck disable=SC2046 # one pid a word
		cpu_us[$1/$g]=$(per_request $(($(proc_ticks $(group_pids "$g")) - cpu_before[$g])) "$2")
		line+="$g ${cpu_us[$1/$g]}  "
		rest=$((rest - cpu_us[$1/$g]))
	done
	cpu_us[$1/rest]=$rest
	printf '  cpu us/request: %srest %s  all %s\n' "$line" "$rest" "${cpu_us[$1/all]}"
}

declare -A rps p50 p99
run() { # label url [header]; RUN_CONNS overrides CONNS (one wrk thread below two)
	local out c=${RUN_CONNS:-$CONNS} t=2 requests args
	((c >= 2)) || t=1
	cpu_snapshot
	args=(-t"$t" -c"$c" -d"$DURATION" --latency)
	[[ -n ${WRK_SCRIPT:-} ]] && args+=(-s "$WRK_SCRIPT")
	[[ -n ${3:-} ]] && args+=(-H "$3")
	out=$(wrk "${args[@]}" "$2" 2>&1)
	requests=$(awk '/requests in/ {print $1}' <<<"$out")
	if grep -q "Non-2xx" <<<"$out"; then
		echo "warning: $1 had non-2xx answers: $(grep Non-2xx <<<"$out")" >&2
	fi
	rps[$1]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p50[$1]=$(awk '$1 == "50%" {print $2}' <<<"$out")
	p99[$1]=$(awk '$1 == "99%" {print $2}' <<<"$out")
	printf '%-34s %10s req/s   p50 %9s   p99 %9s\n' "$1" "${rps[$1]}" "${p50[$1]}" "${p99[$1]}"
	((${requests:-0} > 0)) && cpu_report "$1" "$requests"
	return 0
}

echo "== front door: wrk -t2 -c$CONNS -d$DURATION"
run "full: nginx > gateway > auth" "$API/api/v1/auth/me" "Authorization: Bearer $token"
run "gateway > auth (no nginx)" "$STRATA_GATEWAY_URL/api/v1/auth/me" \
	"Authorization: Bearer $token"
run "auth direct (signed principal)" "$STRATA_AUTH_URL/api/v1/auth/me" \
	"X-Strata-Principal: $(principal)"
# The references: a throwaway nginx with the ceiling's two server blocks and an nginx stand-in
# for the gateway (nginx-ceiling.conf.template). Its principal is signed once: PRINCIPAL_MAX_AGE_MS
# (60 s here) covers the run that follows, of the default length.
mkdir -p "$work/tmp"
sed -e "s#@DIR@#$work#g" -e "s#@FRONT_PORT@#18190#g" -e "s#@BACK_PORT@#18191#g" \
	-e "s#@EDGE_PORT@#18192#g" -e "s#@HOP_PORT@#18193#g" \
	-e "s#@AUTH_HOSTPORT@#${STRATA_AUTH_URL#http://}#g" -e "s#@PRINCIPAL@#$(principal)#g" \
	"$here/nginx-ceiling.conf.template" >"$work/nginx.conf"
nginx -p "$work" -c "$work/nginx.conf" -e "$work/error.log"

run "reference: nginx > nginx-as-gw > auth" "http://127.0.0.1:18192/api/v1/auth/me"
run "ceiling: nginx > nginx fixed" "http://127.0.0.1:18190/"

to_ms() { # wrk's "1.23ms" / "456.00us" / "1.02s" in ms
	awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0;
		else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}
full="full: nginx > gateway > auth"
direct="auth direct (signed principal)"
ceiling="ceiling: nginx > nginx fixed"
reference="reference: nginx > nginx-as-gw > auth"
awk -v f="${rps[$full]}" -v c="${rps[$ceiling]}" -v d="${rps[$direct]}" 'BEGIN {
	printf "full / ceiling: %.2f (goal >= 0.25)   full / direct: %.2f\n", f / c, f / d }'
awk -v f="${rps[$full]}" -v c="${rps[$ceiling]}" -v r="${rps[$reference]}" 'BEGIN {
	printf "reference / ceiling: %.2f (nginx in the gateway'"'"'s place)   full / reference: %.2f\n",
		r / c, f / r }'
# The budget: at a quarter of the ceiling's rate the two cores allow this much CPU a request,
# for every process on the path. Beside it, what the full path spends outside the gateway, and
# outside Strata's own services altogether (nginx, Redis, PostgreSQL, wrk): no gateway, and no
# gateway and auth together, can bring the path under the budget by more than their own share.
awk -v c="${rps[$ceiling]}" -v a="${cpu_us[$full/all]}" -v g="${cpu_us[$full/gateway]}" \
	-v s="${cpu_us[$full/auth]}" -v n="$(nproc)" 'BEGIN {
	printf "cpu budget a request at a quarter of the ceiling: %.0f us; the full path spends " \
		"%.0f: %.0f outside the gateway, %.0f outside gateway and auth\n",
		n * 1e6 / (c / 4), a, a - g, a - g - s }'
gw="gateway > auth (no nginx)"
awk -v g="$(to_ms "${p50[$gw]}")" -v d="$(to_ms "${p50[$direct]}")" 'BEGIN {
	printf "p50 added by the gateway over auth direct: %.3f ms (goal < 0.5)\n", g - d }'
awk -v f="$(to_ms "${p50[$full]}")" -v d="$(to_ms "${p50[$direct]}")" 'BEGIN {
	printf "p50 added by nginx + gateway over auth direct: %.3f ms\n", f - d }'

# Without queueing: one connection, so that p50 is a request's own time on each path rather
# than the wait behind 63 others, which at saturation follows from throughput alone.
echo "== one connection: wrk -t1 -c1 -d$DURATION"
RUN_CONNS=1 run "1 conn: gateway > auth" "$STRATA_GATEWAY_URL/api/v1/auth/me" \
	"Authorization: Bearer $token"
RUN_CONNS=1 run "1 conn: auth direct" "$STRATA_AUTH_URL/api/v1/auth/me" \
	"X-Strata-Principal: $(principal)"
awk -v g="$(to_ms "${p50["1 conn: gateway > auth"]}")" \
	-v d="$(to_ms "${p50["1 conn: auth direct"]}")" 'BEGIN {
	printf "p50 added by the gateway over auth direct, one connection: %.3f ms\n", g - d }'

# At one steady load for both paths, below saturation: the gateway's added latency as a client
# sees it in normal operation (the closed-loop p50 above is 64 / throughput at saturation).
PACE_MS=${PACE_MS:-32}
export PACE_MS
echo "== paced: wrk -t2 -c$CONNS -d$DURATION, each connection waiting $PACE_MS ms" \
	"between requests (about $((CONNS * 1000 / PACE_MS)) requests/s offered)"
WRK_SCRIPT=$here/paced.lua run "paced: gateway > auth" "$STRATA_GATEWAY_URL/api/v1/auth/me" \
	"Authorization: Bearer $token"
WRK_SCRIPT=$here/paced.lua run "paced: auth direct" "$STRATA_AUTH_URL/api/v1/auth/me" \
	"X-Strata-Principal: $(principal)"
WRK_SCRIPT=$here/paced.lua run "paced: full: nginx > gateway > auth" "$API/api/v1/auth/me" \
	"Authorization: Bearer $token"
awk -v g="$(to_ms "${p50["paced: gateway > auth"]}")" \
	-v d="$(to_ms "${p50["paced: auth direct"]}")" 'BEGIN {
	printf "p50 added by the gateway over auth direct, paced: %.3f ms (goal < 0.5)\n", g - d }'
