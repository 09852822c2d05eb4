# shellcheck shell=bash
# Starting and stopping the seven Strata services as local processes, written once for up.sh,
# down.sh, status.sh and test.sh (which source this file after env.sh and lib.sh).
#
# Each service runs as `<bin>/strata-<name>` with HTTP_PORT set to its port and the whole
# environment of env.sh; its stdout and stderr are appended to $STRATA_LOG/<name>.log, its pid is
# in $STRATA_RUN/<name>.pid, and the binary it was started from in $STRATA_RUN/<name>.bin (so that
# test.sh can put back a suite that `make up` started). PRINCIPAL_KEYS holds its own pair keys
# only, from `<bin>/strata-keys`.

SVC_READY_TIMEOUT="${SVC_READY_TIMEOUT:-60}"
SVC_STOP_TIMEOUT="${SVC_STOP_TIMEOUT:-15}"
SVC_LOG_ROTATE_BYTES=$((64 * 1024 * 1024))

svc_pidfile() { echo "$STRATA_RUN/$1.pid"; }
svc_log() { echo "$STRATA_LOG/$1.log"; }
svc_url() { echo "http://127.0.0.1:$(strata_service_port "$1")"; }

# svc_pid NAME: the pid of that service if this project started it and it still runs.
svc_pid() { pidfile_pid "$(svc_pidfile "$1")" "*strata-$1*"; }
svc_running() { svc_pid "$1" >/dev/null; }

# svc_bin NAME: the binary the running service was started from.
svc_bin() { cat "$STRATA_RUN/$1.bin" 2>/dev/null; }

svc_status_line() {
	local pid
	if pid="$(svc_pid "$1")"; then
		printf '%-11s %-8s pid %-8s port %s\n' "$1" running "$pid" "$(strata_service_port "$1")"
	else
		printf '%-11s %-8s pid %-8s port %s\n' "$1" stopped - "$(strata_service_port "$1")"
	fi
}

# svc_start NAME BINDIR: starts one service in the background unless it already runs. Does not
# wait for it to be ready (svc_wait_ready does), so that all seven start at once.
svc_start() {
	local name="$1" bin log
	bin="$(cd "$2" 2>/dev/null && pwd -P)/strata-$name" || die "no folder $2 (run make build)"
	log="$(svc_log "$name")"
	if svc_running "$name"; then
		say "$name is already running (pid $(svc_pid "$name")): left as it is"
		return 0
	fi
	[[ -x "$bin" ]] || die "$bin is missing: run make build"
	local port
	port="$(strata_service_port "$name")"
	if port_open "$port"; then
		die "$name: port $port is taken by another program; stop it or set STRATA_${name^^}_PORT"
	fi
	# Only its own pair keys (env.sh, strata_principal_keys): never another service's.
	local keys
	keys="$(strata_principal_keys "$name" "$(dirname "$bin")")" ||
		die "$name: no principal keys from $(dirname "$bin")/strata-keys (run make build)"
	mkdir -p "$STRATA_LOG" "$STRATA_RUN"
	if [[ -f "$log" ]] && (($(stat -c %s "$log") > SVC_LOG_ROTATE_BYTES)); then
		mv -f "$log" "$log.1"
	fi
	printf '{"time":"%s","level":"info","service":"strata-local","msg":"starting %s"}\n' \
		"$(date -u +%FT%TZ)" "$bin" >>"$log"
	PRINCIPAL_KEYS="$keys" HTTP_PORT="$port" HTTP_BIND="${HTTP_BIND:-127.0.0.1}" \
		launch "$(svc_pidfile "$name")" "$log" "$bin"
	echo "$bin" >"$STRATA_RUN/$name.bin"
}

# svc_wait_ready NAME DEADLINE: waits until GET /readyz answers 200, or the service exits, or
# SECONDS passes DEADLINE; on failure prints the log's tail and returns 1.
svc_wait_ready() {
	local name="$1" deadline="$2" url pid
	url="$(svc_url "$name")/readyz"
	until http_ok "$url"; do
		if ! pid="$(svc_pid "$name")"; then
			log_tail "$(svc_log "$name")"
			say "$name exited during start-up (log above)"
			return 1
		fi
		if ((SECONDS >= deadline)); then
			log_tail "$(svc_log "$name")"
			say "$name (pid $pid) did not answer 200 on $url within ${SVC_READY_TIMEOUT}s (log above)"
			return 1
		fi
		sleep 0.2
	done
}

# svc_start_all BINDIR [NAME...]: starts the named services (all by default) and waits until
# each one is ready; exits the script (die) if one is not. Call it plainly, not in a condition,
# so that set -e stays in force inside.
svc_start_all() {
	local bindir="$1" name deadline failed=()
	shift
	local names=("$@")
	((${#names[@]} > 0)) || read -r -a names <<<"$STRATA_SERVICES"
	for name in "${names[@]}"; do svc_start "$name" "$bindir"; done
	deadline=$((SECONDS + SVC_READY_TIMEOUT))
	for name in "${names[@]}"; do
		svc_wait_ready "$name" "$deadline" || failed+=("$name")
	done
	((${#failed[@]} == 0)) || die "not ready: ${failed[*]} (see above)"
}

# svc_stop_all [NAME...]: stops the named services (all by default): SIGTERM to each at once,
# then up to SVC_STOP_TIMEOUT seconds for each to drain and exit, then SIGKILL (said aloud: a
# killed service flushes nothing and, under ASan, reports no leaks).
# shellcheck disable=SC2120 # callers may name services or not
svc_stop_all() {
	local name pid deadline
	local names=("$@") pids=() labels=()
	((${#names[@]} > 0)) || read -r -a names <<<"$STRATA_SERVICES"
	for name in "${names[@]}"; do
		pid="$(svc_pid "$name")" || continue
		kill -TERM "$pid" 2>/dev/null || true
		pids+=("$pid")
		labels+=("$name")
	done
	deadline=$((SECONDS + SVC_STOP_TIMEOUT))
	for i in "${!pids[@]}"; do
		pid="${pids[i]}"
		while proc_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
		if proc_alive "$pid"; then
			say "${labels[i]} (pid $pid) did not stop within ${SVC_STOP_TIMEOUT}s of SIGTERM: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			wait_gone "$pid" 5 || say "${labels[i]} (pid $pid) survived SIGKILL"
		fi
		rm -f "$(svc_pidfile "${labels[i]}")"
	done
}
