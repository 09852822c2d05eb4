# shellcheck shell=bash
# Small helpers shared by the scripts in compose/local/: messages, pid files, waiting with a
# bound. Sourced after env.sh; defines functions only.

STRATA_ME="${0##*/}"

say() { printf '%s: %s\n' "$STRATA_ME" "$*" >&2; }
die() {
	say "$*"
	exit 1
}

# log_tail FILE [LINES]: the end of a log, indented, on stderr, so that a failure shows its cause.
log_tail() {
	local file="$1" n="${2:-30}"
	if [[ -s "$file" ]]; then
		printf '%s: last %s lines of %s:\n' "$STRATA_ME" "$n" "$file" >&2
		tail -n "$n" "$file" | sed 's/^/    /' >&2
	else
		printf '%s: %s is empty or missing\n' "$STRATA_ME" "$file" >&2
	fi
}

# proc_alive PID: true while the process exists and is not a zombie (a zombie answers kill -0
# until its parent reaps it, and daemons here are reparented to a PID 1 that may not reap).
proc_alive() {
	local state
	[[ -r "/proc/$1/stat" ]] || return 1
	state="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" || return 1
	[[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# pidfile_pid PIDFILE PATTERN: prints the pid recorded in PIDFILE if that process is alive and its
# command line matches the glob PATTERN (so a recycled pid is never taken for ours).
pidfile_pid() {
	local pidfile="$1" pattern="$2" pid cmd
	[[ -r "$pidfile" ]] || return 1
	pid="$(head -n1 "$pidfile" 2>/dev/null | tr -dc '0-9')"
	[[ -n "$pid" ]] && proc_alive "$pid" || return 1
	cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
	# shellcheck disable=SC2053 # PATTERN is a glob on purpose
	[[ "$cmd" == $pattern ]] || return 1
	printf '%s\n' "$pid"
}

# wait_gone PID SECONDS: waits for the process to exit; false if it is still there.
wait_gone() {
	local pid="$1" deadline=$((SECONDS + $2))
	while proc_alive "$pid"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# stop_pid LABEL PID SECONDS [SIGNAL]: asks the process to stop (SIGTERM unless told), waits up to
# SECONDS, then kills it and says so. True once it is gone.
stop_pid() {
	local label="$1" pid="$2" secs="$3" sig="${4:-TERM}"
	kill -s "$sig" "$pid" 2>/dev/null || true
	wait_gone "$pid" "$secs" && return 0
	say "$label (pid $pid) did not stop within ${secs}s after SIG$sig: sending SIGKILL"
	kill -s KILL "$pid" 2>/dev/null || true
	wait_gone "$pid" 5
}

# wait_until SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds; false on timeout.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# http_status URL: prints the HTTP status of a GET (000 when nothing answered).
http_status() {
	curl -ks -o /dev/null --max-time 3 -w '%{http_code}' "$1" 2>/dev/null || true
}

# http_ok URL: true when a GET answers 200.
http_ok() {
	[[ "$(http_status "$1")" == 200 ]]
}

# launch PIDFILE LOGFILE COMMAND...: starts COMMAND in the background, in a session of its own
# (so that a Ctrl-C in the terminal that started it reaches only the script, which then stops
# things in order), stdin from /dev/null, stdout and stderr appended to LOGFILE. The pid file
# names the process itself: the shell writes its own pid, then execs the command.
launch() {
	local pidfile="$1" logfile="$2"
	shift 2
	rm -f "$pidfile"
	# shellcheck disable=SC2016 # the inner shell expands its own $$ and $1
	setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' launch "$pidfile" "$@" \
		</dev/null >>"$logfile" 2>&1 &
	wait_until 5 test -s "$pidfile" || die "could not start $1 (see $logfile)"
}
