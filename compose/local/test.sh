#!/usr/bin/env bash
# `make test` (and `make test-asan`) after the build: brings up what the tests need, runs the
# unit and integration runners, and puts the machine back as it found it.
#
#   - first, before any server starts (they need none): every fuzz target of tests/fuzz/ for a
#     bounded count of inputs under ASan/UBSan (`make fuzz-check`, FUZZ_RUNS each); a crash fails
#     the run and prints its reproducer. Skipped when SUITE names one suite.
#   - PostgreSQL, Redis, Kafka and nginx: started if they were not running, and then stopped at
#     the end; a server that was already running is left running.
#   - migrations and topics, as `make up` does.
#   - the seven services from $BIN, the binaries under test. Services that were already running
#     (a `make up` suite) are stopped first and started again from their own binaries at the end.
#   - $BUILD/tests/unit-tests, then $BUILD/tests/integration-tests (Check runners, CK_FORK on),
#     each with the environment of env.sh. SUITE=name runs one suite, in whichever runner has it.
#   - under ASan/UBSan (SAN=1, or a build folder named asan), the services' logs of this run and
#     the runners' output are searched for sanitizer reports; any report fails the run.
#
# Exits non-zero when a test failed, a sanitizer reported, or the suite could not be started.
# The clean-up runs on every exit, Ctrl-C included.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=compose/local/infra.sh
. "$here/infra.sh" # functions only when sourced; brings env.sh and lib.sh
# shellcheck source=compose/local/services.sh
. "$here/services.sh"
# shellcheck source=compose/local/prepare.sh
. "$here/prepare.sh"

cd "$STRATA_REPO"
BIN="${BIN:-bin}"
BUILD="${BUILD:-build/release}"
[[ -d "$BIN" ]] || die "no binary folder $BIN: run make build"
# The tests that run a binary themselves (strata-migrate, a spare service) take it from here.
STRATA_BIN="$(cd "$BIN" && pwd -P)"
export STRATA_BIN
UNIT_RUNNER="$BUILD/tests/unit-tests"
INTEG_RUNNER="$BUILD/tests/integration-tests"

ASAN=0
if [[ "${SAN:-}" == 1 || "$BUILD" == *asan* ]]; then
	ASAN=1
	export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
	# Sanitized code is two to three times slower: give every Check timeout room.
	export CK_TIMEOUT_MULTIPLIER="${CK_TIMEOUT_MULTIPLIER:-3}"
fi
export CK_FORK=yes
# Check's own default (4 s per test) is short for tests against real servers on two busy cores;
# a test case that sets its own timeout keeps it.
export CK_DEFAULT_TIMEOUT="${CK_DEFAULT_TIMEOUT:-20}"
# Every suite reaches the gateway from 127.0.0.1, so all anonymous calls share one rate-limit
# bucket: give the tests a larger one than the default 100 a minute (the burst test still
# reaches it).
export GATEWAY_RATE_DEFAULT="${GATEWAY_RATE_DEFAULT:-1000}"
# A revoked API key must stop working within the cache's lifetime (30 s by default, 60 at
# most): a short one keeps the test that waits for it short.
export GATEWAY_APIKEY_CACHE_S="${GATEWAY_APIKEY_CACHE_S:-5}"

SANITIZER_PATTERN='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:'

started_infra=()  # servers this run started, to stop at the end
restore=()        # "name binary" of services that ran before, to start again at the end
declare -A log_offset=()
services_touched=0
cleaned=0
status=0
t_start=$SECONDS

# note_failure MESSAGE: remembers that the run failed, and why.
note_failure() {
	say "FAILED: $*"
	status=1
}

# scan_sanitizer_reports: searches this run's part of each service log, and the runners' output,
# for sanitizer reports. Run after the services stopped: leaks are reported at exit.
scan_sanitizer_reports() {
	local name log off found=0
	for name in $STRATA_SERVICES; do
		log="$(svc_log "$name")"
		[[ -f "$log" ]] || continue
		off="${log_offset[$name]:-0}"
		(($(stat -c %s "$log") >= off)) || off=0 # rotated by svc_start: all of it is this run's
		if tail -c "+$((off + 1))" "$log" | grep -qE "$SANITIZER_PATTERN"; then
			say "sanitizer report in $log (this run's part):"
			tail -c "+$((off + 1))" "$log" | grep -E -A 25 "$SANITIZER_PATTERN" | head -n 120 >&2
			found=1
		fi
	done
	for log in "$STRATA_LOG/unit-tests.log" "$STRATA_LOG/integration-tests.log"; do
		[[ -f "$log" ]] || continue
		if grep -qE "$SANITIZER_PATTERN" "$log"; then
			say "sanitizer report in $log:"
			grep -E -A 25 "$SANITIZER_PATTERN" "$log" | head -n 120 >&2
			found=1
		fi
	done
	((found == 0)) || note_failure "AddressSanitizer/UndefinedBehaviorSanitizer reported errors (above)"
}

# restore_services: starts again, from their own binaries, the services that ran before the
# tests (those of one folder at once).
restore_services() {
	local entry dir names
	declare -A by_dir=()
	for entry in "${restore[@]}"; do
		dir="$(dirname "${entry#* }")"
		by_dir[$dir]+="${entry%% *} "
	done
	for dir in "${!by_dir[@]}"; do
		read -r -a names <<<"${by_dir[$dir]}"
		say "starting ${names[*]} again from $dir, as before the tests"
		(unset CK_FORK CK_DEFAULT_TIMEOUT CK_TIMEOUT_MULTIPLIER ASAN_OPTIONS UBSAN_OPTIONS
		svc_start_all "$dir" "${names[@]}") || note_failure "could not start ${names[*]} again"
	done
}

# cleanup: stops what this run started and puts back what ran before. Runs once, on any exit.
cleanup() {
	local i
	((cleaned == 0)) || return 0
	cleaned=1
	trap '' INT TERM
	set +e
	if ((services_touched)); then
		svc_stop_all
		((ASAN == 0)) || scan_sanitizer_reports
		restore_services
	fi
	for ((i = ${#started_infra[@]} - 1; i >= 0; i--)); do
		"$here/infra.sh" down "${started_infra[i]}" ||
			note_failure "could not stop ${started_infra[i]}"
	done
	say "elapsed: $((SECONDS - t_start)) s"
}

on_exit() {
	local rc=$?
	cleanup
	((rc != 0)) || rc=$status
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# runner_env: "NAME=value" settings for the next runner only (not for the services).
runner_env=()

# run_runner LABEL RUNNER: runs one Check runner (with SUITE if given), its output also in
# $STRATA_LOG/LABEL.log. A runner that answers 2 to a SUITE it does not have is not a failure.
suite_found=0
run_runner() {
	local label="$1" runner="$2" rc t0=$SECONDS
	local args=()
	[[ -n "${SUITE:-}" ]] && args=("$SUITE")
	[[ -x "$runner" ]] || {
		note_failure "$runner is missing (make $label-build)"
		return 0
	}
	echo "== $label tests ($runner${SUITE:+ $SUITE})"
	set +e
	(
		((${#runner_env[@]} == 0)) || export "${runner_env[@]}"
		exec "$runner" "${args[@]}"
	) 2>&1 | tee "$STRATA_LOG/$label-tests.log"
	rc=${PIPESTATUS[0]}
	set -e
	if [[ -n "${SUITE:-}" && $rc -eq 2 ]] && grep -q '^no suite named' "$STRATA_LOG/$label-tests.log"; then
		echo "== $label tests: none named $SUITE"
		return 0
	fi
	echo "== $label tests: exit $rc, $((SECONDS - t0)) s"
	suite_found=1
	((rc == 0)) || note_failure "$label tests"
}

# run_fuzz_check: the fuzz targets, each for FUZZ_RUNS inputs from its seed corpus (make
# fuzz-check builds them first when needed); the output also in $STRATA_LOG/fuzz-check.log.
run_fuzz_check() {
	local rc t0=$SECONDS
	mkdir -p "$STRATA_LOG"
	echo "== fuzz targets (make fuzz-check)"
	set +e
	make --no-print-directory fuzz-check 2>&1 | tee "$STRATA_LOG/fuzz-check.log"
	rc=${PIPESTATUS[0]}
	set -e
	echo "== fuzz targets: exit $rc, $((SECONDS - t0)) s"
	((rc == 0)) || note_failure "fuzz targets (reproducers above)"
}

main() {
	local name
	[[ -n "${SUITE:-}" ]] || run_fuzz_check
	for name in "${INFRA_ALL[@]}"; do
		infra_running "$name" || started_infra+=("$name")
	done
	((${#started_infra[@]} == 0)) || say "starting for the tests: ${started_infra[*]}"
	"$here/infra.sh" up
	prepare_schema_and_topics "$BIN"

	for name in $STRATA_SERVICES; do
		if svc_running "$name"; then
			restore+=("$name $(svc_bin "$name")")
		fi
	done
	services_touched=1
	if ((${#restore[@]} > 0)); then
		say "stopping the running services, to test the binaries in $BIN instead"
		svc_stop_all
	fi
	mkdir -p "$STRATA_LOG"
	for name in $STRATA_SERVICES; do
		log_offset[$name]="$(stat -c %s "$(svc_log "$name")" 2>/dev/null || echo 0)"
	done
	svc_start_all "$BIN"

	run_runner unit "$UNIT_RUNNER"
	# The integration tests play the gateway (harness.c signs with its keys) and start spare
	# services: they get every service's pair keys, STRATA_<NAME>_PRINCIPAL_KEYS, which the
	# services themselves never see (each has only its own PRINCIPAL_KEYS).
	for name in $STRATA_SERVICES; do
		runner_env+=("STRATA_${name^^}_PRINCIPAL_KEYS=$(strata_principal_keys "$name" "$BIN")")
	done
	run_runner integration "$INTEG_RUNNER"
	if [[ -n "${SUITE:-}" ]] && ((suite_found == 0)); then
		note_failure "no suite named $SUITE in either runner"
	fi
}

main
