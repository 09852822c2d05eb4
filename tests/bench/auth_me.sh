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
	BIN=$BIN "$repo/compose/local/service.sh" restart gateway >/dev/null 2>&1 || true
	[[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
	rm -rf "$work"
}
trap restore_gateway EXIT

# A gateway that does not rate-limit the benchmark (and does not log every request).
GATEWAY_RATE_DEFAULT=1000000 HTTP_ACCESS_LOG=false BIN=$BIN \
	"$repo/compose/local/service.sh" restart gateway >/dev/null

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

# The principal the gateway would send, signed now (valid for PRINCIPAL_MAX_AGE_MS, 30 s).
principal() {
	local line sig
	line="v1;sub=$user_id;kind=user;scopes=read,write,dashboard;rid=bench;t=$(date +%s%3N)"
	sig=$(printf '%s' "$line" | openssl dgst -sha256 -hmac "$INTERNAL_SECRET" -r | cut -d' ' -f1)
	printf '%s;sig=%s' "$line" "$sig"
}

declare -A rps p50 p99
run() { # label url [header]; RUN_CONNS overrides CONNS (one wrk thread below two)
	local out c=${RUN_CONNS:-$CONNS} t=2
	((c >= 2)) || t=1
	if [[ -n ${3:-} ]]; then
		out=$(wrk -t$t -c"$c" -d"$DURATION" --latency -H "$3" "$2" 2>&1)
	else
		out=$(wrk -t$t -c"$c" -d"$DURATION" --latency "$2" 2>&1)
	fi
	if grep -q "Non-2xx" <<<"$out"; then
		echo "warning: $1 had non-2xx answers: $(grep Non-2xx <<<"$out")" >&2
	fi
	rps[$1]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p50[$1]=$(awk '$1 == "50%" {print $2}' <<<"$out")
	p99[$1]=$(awk '$1 == "99%" {print $2}' <<<"$out")
	printf '%-34s %10s req/s   p50 %9s   p99 %9s\n' "$1" "${rps[$1]}" "${p50[$1]}" "${p99[$1]}"
}

echo "== front door: wrk -t2 -c$CONNS -d$DURATION"
run "full: nginx > gateway > auth" "$API/api/v1/auth/me" "Authorization: Bearer $token"
run "gateway > auth (no nginx)" "$STRATA_GATEWAY_URL/api/v1/auth/me" \
	"Authorization: Bearer $token"
run "auth direct (signed principal)" "$STRATA_AUTH_URL/api/v1/auth/me" \
	"X-Strata-Principal: $(principal)"
# The references: a throwaway nginx with the ceiling's two server blocks and an nginx stand-in
# for the gateway (nginx-ceiling.conf.template). Its principal is signed once: PRINCIPAL_MAX_AGE_MS
# (30 s) covers the run that follows, of the default length.
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
