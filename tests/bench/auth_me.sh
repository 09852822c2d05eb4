#!/usr/bin/env bash
# The front door's cost, measured in one run (needs a running suite: make up):
#   1. authenticated GET /api/v1/auth/me through nginx, gateway and auth;
#   2. the same through the gateway without nginx;
#   3. the same request straight to the auth service, with a principal signed here;
#   4. the machine's proxy ceiling: nginx proxying one hop to nginx answering a fixed body.
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

# The ceiling: a throwaway nginx with two server blocks.
mkdir -p "$work/tmp"
sed -e "s#@DIR@#$work#g" -e "s#@FRONT_PORT@#18190#g" -e "s#@BACK_PORT@#18191#g" \
	"$here/nginx-ceiling.conf.template" >"$work/nginx.conf"
nginx -p "$work" -c "$work/nginx.conf" -e "$work/error.log"

declare -A rps p50 p99
run() { # label url [header]
	local out
	if [[ -n ${3:-} ]]; then
		out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency -H "$3" "$2" 2>&1)
	else
		out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$2" 2>&1)
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
run "ceiling: nginx > nginx fixed" "http://127.0.0.1:18190/"

to_ms() { # wrk's "1.23ms" / "456.00us" / "1.02s" in ms
	awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0;
		else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}
full="full: nginx > gateway > auth"
direct="auth direct (signed principal)"
ceiling="ceiling: nginx > nginx fixed"
awk -v f="${rps[$full]}" -v c="${rps[$ceiling]}" -v d="${rps[$direct]}" 'BEGIN {
	printf "full / ceiling: %.2f (goal >= 0.25)   full / direct: %.2f\n", f / c, f / d }'
gw="gateway > auth (no nginx)"
awk -v g="$(to_ms "${p50[$gw]}")" -v d="$(to_ms "${p50[$direct]}")" 'BEGIN {
	printf "p50 added by the gateway over auth direct: %.3f ms (goal < 0.5)\n", g - d }'
awk -v f="$(to_ms "${p50[$full]}")" -v d="$(to_ms "${p50[$direct]}")" 'BEGIN {
	printf "p50 added by nginx + gateway over auth direct: %.3f ms\n", f - d }'
