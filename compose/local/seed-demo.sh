#!/usr/bin/env bash
# Demo data for a fresh suite, run by seed.sh after the first admin exists (idempotent): a
# project owned by the admin, "Demo: Seattle hourly weather", with one session holding the
# hourly weather normals of Seattle from the npm package vega-datasets (pressure, temperature
# and wind, 8,759 hours, 26,277 readings), sent through the real ingest path (Kafka, writers).
#
# It talks to the ingest service directly with principals signed with the gateway's key for
# ingest, as the gateway would (the admin's password is not known here; env.sh's
# strata_principal), and finds the admin and an
# earlier demo in PostgreSQL. Skipped, with a note, when the data set is not installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=compose/local/env.sh
. "$here/env.sh"
# shellcheck source=compose/local/lib.sh
. "$here/lib.sh"

email="${STRATA_ADMIN_EMAIL:-admin@strata.local}"
name="Demo: Seattle hourly weather"
csv="$STRATA_DATA/web/vega-datasets/node_modules/vega-datasets/data/seattle-weather-hourly-normals.csv"
ingest="$STRATA_INGEST_URL"
batch_lines=1000 # hours a POST: 3,000 readings

[[ -f "$csv" ]] || { say "demo data skipped: $csv is missing (compose/local/deps.sh)"; exit 0; }

sql() { psql "$DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
admin="$(sql -v email="$email" <<<"SELECT id FROM auth.users WHERE lower(email) = lower(:'email')")"
[[ -n "$admin" ]] || die "demo data: no user $email"
existing="$(sql -v admin="$admin" -v name="$name" \
	<<<"SELECT id FROM ingest.projects WHERE created_by = :'admin' AND name = :'name' LIMIT 1")"
if [[ -n "$existing" ]]; then
	say "demo data: project $existing is there already"
	exit 0
fi

# principal METHOD PATH: the header the gateway would send for the admin on that request,
# signed now (good for that request only, for PRINCIPAL_MAX_AGE_MS).
principal() {
	local value
	value="$(strata_principal ingest "$1" "$2" "$admin" user read,write,admin,dashboard \
		seed-demo)" || die "demo data: cannot sign a principal (make build: bin/strata-keys)"
	printf 'X-Strata-Principal: %s' "$value"
}
# call METHOD PATH [CONTENT-TYPE BODY-FILE]: the answer's body; fails on a non-2xx status.
call() {
	local args=(-fsS -X "$1" -H "$(principal "$1" "$2")")
	[[ $# -gt 2 ]] && args+=(-H "Content-Type: $3" --data-binary "@$4")
	curl "${args[@]}" "$ingest$2"
}
id_of() { sed -n 's/^{"id":"\([0-9a-f-]*\)".*/\1/p'; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '{"name":"%s","description":"Hourly weather normals of Seattle (vega-datasets)"}' \
	"$name" >"$work/project.json"
project="$(call POST /api/v1/projects application/json "$work/project.json" | id_of)"
[[ -n "$project" ]] || die "demo data: the project was not created"
printf '{"device":"seattle-station","metadata":{"source":"vega-datasets"}}' >"$work/session.json"
session="$(call POST "/api/v1/projects/$project/sessions" application/json "$work/session.json" |
	id_of)"
[[ -n "$session" ]] || die "demo data: the session was not created"
call POST "/api/v1/sessions/$session/start" >/dev/null

# date,pressure,temperature,wind (local times written without a zone: taken as UTC) to
# ts,channel,value, split into batches.
tail -n +2 "$csv" | split -l "$batch_lines" - "$work/hours."
total=0
for part in "$work"/hours.*; do
	awk -F, 'BEGIN { print "ts,channel,value" }
		{ print $1 "Z,pressure," $2; print $1 "Z,temperature," $3; print $1 "Z,wind," $4 }' \
		"$part" >"$part.csv"
	call POST "/api/v1/sessions/$session/data" text/csv "$part.csv" >/dev/null
	total=$((total + $(wc -l <"$part") * 3))
done
call POST "/api/v1/sessions/$session/stop" >/dev/null
say "demo data: project $project, session $session, $total readings of Seattle's weather"
