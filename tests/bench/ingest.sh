#!/usr/bin/env bash
# Readings end to end (needs a running suite: make up): two million readings posted as CSV
# batches over several keep-alive connections through the API (nginx and the gateway unless
# INGEST_BENCH_API points elsewhere), then, in the same run, the same rows COPY'd straight into
# ingest.readings for a fresh session: the ceiling. Prints accepted readings/s (until the last
# 202), persisted readings/s (until the last one is queryable), p50/p99 request latency, the COPY
# rate and the ratio persisted/COPY. Never passes or fails on a timing.
#   TOTAL (2000000)  BATCH (5000 readings a request)  CONNS (8)
#   INGEST_BENCH_API     base URL of the API (default nginx's, with the suite's gateway restarted
#                        with a rate limit that does not throttle the benchmark)
#   INGEST_BENCH_DB      the database ingest writes to (default env.sh's DATABASE_URL)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
bench_api=${INGEST_BENCH_API:-}
bench_db=${INGEST_BENCH_DB:-}
# shellcheck source=/dev/null
source "$repo/compose/local/env.sh"
TOTAL=${TOTAL:-2000000}
BATCH=${BATCH:-5000}
CONNS=${CONNS:-8}
BIN=${BIN:-$repo/bin}
API=${bench_api:-$STRATA_NGINX_URL}
DB=${bench_db:-$DATABASE_URL}

project=""
cleanup() {
	if [[ -n $project ]]; then
		psql "$DB" -qAt -c "DELETE FROM ingest.projects WHERE id = '$project'" >/dev/null 2>&1 || true
	fi
	if [[ -z $bench_api ]]; then
		BIN=$BIN "$repo/compose/local/service.sh" restart gateway >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT
if [[ -z $bench_api ]]; then
	# The suite's gateway, without a rate limit in the way, put back as it was at the end.
	GATEWAY_RATE_DEFAULT=1000000 HTTP_ACCESS_LOG=false BIN=$BIN \
		"$repo/compose/local/service.sh" restart gateway >/dev/null
fi

email="bench-ingest-$(date +%s)-$RANDOM@strata.local"
password="bench-$(openssl rand -hex 12)"
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
	-d "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Bench\"}" \
	"$API/api/v1/auth/register"
login=$(curl -fsS -H 'Content-Type: application/json' \
	-d "{\"email\":\"$email\",\"password\":\"$password\"}" "$API/api/v1/auth/login")
token=$(sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' <<<"$login")
user_id=$(curl -fsS -H "Authorization: Bearer $token" "$API/api/v1/auth/me" |
	sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
[[ -n $token && -n $user_id ]] || { echo "could not log in the bench user" >&2; exit 1; }

# A project, its owner and a session (SQL: the benchmark measures readings, not resources).
project=$(cat /proc/sys/kernel/random/uuid)
session=$(cat /proc/sys/kernel/random/uuid)
copy_session=$(cat /proc/sys/kernel/random/uuid)
psql "$DB" -qAt -v ON_ERROR_STOP=1 \
	-c "INSERT INTO ingest.projects (id, name, created_by) VALUES ('$project', 'bench', '$user_id')" \
	-c "INSERT INTO ingest.project_members VALUES ('$project', '$user_id', 'owner')" \
	-c "INSERT INTO ingest.sessions (id, project_id, created_by, status) VALUES
	    ('$session', '$project', '$user_id', 'running'),
	    ('$copy_session', '$project', '$user_id', 'running')"

echo "== readings: $TOTAL through $API, then COPY straight into ingest.readings"
python3 "$here/ingest_load.py" "$API" "$token" "$session" "$copy_session" "$TOTAL" "$BATCH" \
	"$CONNS" "$DB"
