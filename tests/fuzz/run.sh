#!/usr/bin/env bash
# Runs the libFuzzer targets that `make fuzz-build` made in build/fuzz/ (see docs/operations.md,
# "Fuzzing"), one at a time, and prints one line per target: executions, executions a second,
# new inputs kept, the coverage reached (libFuzzer's "cov", edges), and crashes.
#
#   run.sh time SECONDS name...   `make fuzz`: each target for SECONDS (-max_total_time), from
#                                 its seeds (tests/fuzz/corpus/<name>/, only read) and what earlier
#                                 runs found (build/fuzz/corpus/<name>/, where new inputs go);
#                                 with FUZZ_MAX_RUNS=N a target also stops after N executions
#   run.sh runs N name...         `make fuzz-check`, in `make test`: each target for N executions
#                                 (-runs, seed 1) from its seeds alone, keeping nothing
#
# A crash (ASan, UBSan, a leak, a broken invariant, an input slower than 10 s) is written to
# build/fuzz/crashes/<name>/ and its reproducer command printed with the report's first lines;
# the full output is in build/fuzz/logs/<name>.log. Exits 1 when any target crashed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
mode="${1:-}" amount="${2:-}"
shift 2 || true
[[ ("$mode" == time || "$mode" == runs) && "$amount" =~ ^[0-9]+$ && $# -gt 0 ]] || {
	echo "usage: $0 time SECONDS name... | runs N name..." >&2
	exit 2
}

dir=build/fuzz
failed=0
printf '%-16s %12s %9s %6s %6s %s\n' target executions exec/s new cov crashes
for name in "$@"; do
	bin="$dir/fuzz_$name" seeds="tests/fuzz/corpus/$name" log="$dir/logs/$name.log"
	crashes="$dir/crashes/$name"
	args=(-print_final_stats=1 -timeout=10 -artifact_prefix="$crashes/")
	[[ -x "$bin" ]] || {
		echo "$bin is missing: make fuzz-build" >&2
		exit 2
	}
	# A dictionary of the target's tokens: <name>.dict, or one its family shares
	# (readings.dict for readings_json, readings_ndjson and readings_csv).
	for dict in "tests/fuzz/$name.dict" "tests/fuzz/${name%%_*}.dict"; do
		if [[ -f "$dict" ]]; then
			args+=(-dict="$dict")
			break
		fi
	done
	if [[ "$mode" == time ]]; then
		work="$dir/corpus/$name"
		args+=(-max_total_time="$amount")
		[[ -n "${FUZZ_MAX_RUNS:-}" ]] && args+=(-runs="$FUZZ_MAX_RUNS")
	else
		work="$dir/check/$name" # thrown away: a test run leaves no trace
		rm -rf "$work"
		args+=(-runs="$amount" -seed=1)
	fi
	mkdir -p "$work" "$crashes" "$dir/logs"
	"$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)"
	rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)"
	new="$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -n1)"
	cov="$(grep -oE ' cov: [0-9]+' "$log" | tail -n1 | tr -dc 0-9)"
	found=0
	((rc == 0)) || found=1
	[[ "${rate:-}" == 0 ]] && rate="-" # libFuzzer gives 0 for a run under a second
	printf '%-16s %12s %9s %6s %6s %s\n' "$name" "${execs:-?}" "${rate:-?}" "${new:-?}" \
		"${cov:-?}" "$found"
	if ((rc != 0)); then
		failed=1
		unit="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)"
		echo "  $name CRASHED (exit $rc); its output: $log"
		grep -m1 -A 30 -E '^==[0-9]+==ERROR|runtime error:|invariant broken|ALARM|out-of-memory' \
			"$log" | head -n 40 | sed 's/^/  | /'
		[[ -n "$unit" ]] && echo "  reproduce: $bin $unit"
	fi
done
exit "$failed"
