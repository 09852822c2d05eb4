#!/usr/bin/env bash
# The servers under Strata's local run: PostgreSQL, Redis, Kafka (KRaft) and nginx, each a plain
# local process with its data under $STRATA_DATA, its log under $STRATA_DATA/log and its pid file
# under $STRATA_DATA/run (PostgreSQL keeps its own postmaster.pid in its data folder).
#
#   infra.sh up|down|restart|status [postgres|redis|kafka|nginx ...]
#
# No names means all four, started in that order and stopped in the reverse one. `up` leaves a
# running server alone and returns once each server really answers; `down` stops only what this
# project started, by its pid file, and waits for it to exit. Other scripts source this file for
# its functions (infra_running, infra_status_line) without running anything.
set -euo pipefail

_infra_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=compose/local/env.sh
. "$_infra_dir/env.sh"
# shellcheck source=compose/local/lib.sh
. "$_infra_dir/lib.sh"

INFRA_ALL=(postgres redis kafka nginx)
INFRA_UP_TIMEOUT="${INFRA_UP_TIMEOUT:-90}"

infra_port() {
	case "$1" in
	postgres) echo "$STRATA_PG_PORT" ;;
	redis) echo "$STRATA_REDIS_PORT" ;;
	kafka) echo "$STRATA_KAFKA_PORT" ;;
	nginx) echo "$STRATA_NGINX_PORT,$STRATA_NGINX_TLS_PORT" ;;
	esac
}

# refuse_foreign_port NAME PORT: a clear error when something that is not ours holds the port.
refuse_foreign_port() {
	if port_open "$2"; then
		die "$1: port $2 is already taken by another program (not started by this project)." \
			"Stop it, or choose another port (see compose/local/env.sh)."
	fi
}

# mkdirs DIR...: creates the folders this project writes to.
mkdirs() { mkdir -p "$STRATA_LOG" "$STRATA_RUN" "$@"; }

# ---------------------------------------------------------------------------------------------
# PostgreSQL

# The server binaries: Debian keeps them out of PATH, under /usr/lib/postgresql/<major>/bin.
pg_bindir() {
	local d
	if [[ -n "${STRATA_PG_BIN:-}" ]]; then
		echo "$STRATA_PG_BIN"
		return
	fi
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		[[ -x "$d/pg_ctl" ]] && {
			echo "$d"
			return
		}
	done
	d="$(command -v pg_ctl)" || die "postgres: no pg_ctl found; run compose/local/deps.sh"
	dirname "$d"
}

# PostgreSQL refuses to run as root: as root, its commands run as the `postgres` system user.
as_pg() {
	if ((EUID == 0)); then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# The folder that holds PostgreSQL's data, socket and (when it cannot write to $STRATA_LOG) log.
# Normally $STRATA_DATA/pg. As root, the `postgres` user must be able to reach it: when some
# folder above $STRATA_DATA is closed to other users (a checkout under /root, say), the data
# lives in /var/tmp/strata-<hash of $STRATA_DATA> instead, and $STRATA_DATA/pg is a symlink to
# it. The choice is made once, when the folder is first created, and then kept.
pg_base() {
	local link="$STRATA_DATA/pg" alt
	if [[ -e "$link" || -L "$link" ]]; then
		readlink -f "$link"
		return
	fi
	if ((EUID != 0)) || runuser -u postgres -- test -x "$STRATA_DATA" 2>/dev/null; then
		echo "$link"
		return
	fi
	alt="/var/tmp/strata-$(printf '%s' "$STRATA_DATA" | sha256sum | cut -c1-12)/pg"
	echo "$alt"
}

pg_setup_paths() {
	PG_BIN="$(pg_bindir)"
	PG_BASE="$(pg_base)"
	PGDATA_DIR="$PG_BASE/data"
	# A Unix socket path is limited to 107 bytes; a deep checkout gets a short one in /tmp.
	PG_SOCKET_DIR="$PG_BASE/socket"
	if ((${#PG_SOCKET_DIR} > 80)); then
		PG_SOCKET_DIR="/tmp/strata-pg-$(printf '%s' "$STRATA_DATA" | sha256sum | cut -c1-12)"
	fi
	if [[ "$PG_BASE" == "$STRATA_DATA/pg" ]]; then
		PG_LOG="$STRATA_LOG/postgres.log"
	else
		PG_LOG="$PG_BASE/postgres.log" # $STRATA_LOG/postgres.log links here
	fi
}

# pg_ctl status alone takes a killed postmaster that is not reaped yet (a zombie) for a live one.
pg_running() {
	local pid
	pg_setup_paths
	[[ -f "$PGDATA_DIR/PG_VERSION" ]] &&
		as_pg "$PG_BIN/pg_ctl" status -D "$PGDATA_DIR" >/dev/null 2>&1 &&
		pid="$(head -n1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null)" && proc_alive "$pid"
}

pg_pid() {
	pg_running && head -n1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null
}

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$STRATA_PG_PORT"; }

pg_psql_admin() {
	as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$STRATA_PG_PORT" \
		-d postgres
}

# Creates the folders (owned by postgres when root) and the cluster, once.
pg_init() {
	local owner
	mkdirs "$STRATA_DATA"
	owner="$(id -un)"
	((EUID == 0)) && owner=postgres
	if [[ "$PG_BASE" != "$STRATA_DATA/pg" && ! -L "$STRATA_DATA/pg" ]]; then
		mkdir -p "$PG_BASE"
		chmod 711 "$(dirname "$PG_BASE")"
		ln -sfn "$PG_BASE" "$STRATA_DATA/pg"
		ln -sfn "$PG_LOG" "$STRATA_LOG/postgres.log"
		say "postgres: the postgres user cannot reach $STRATA_DATA, so its data is in $PG_BASE"
	fi
	mkdir -p "$PG_BASE" "$PG_SOCKET_DIR"
	touch "$PG_LOG"
	chown "$owner" "$PG_BASE" "$PG_SOCKET_DIR" "$PG_LOG"
	chmod 700 "$PG_BASE" "$PG_SOCKET_DIR"
	chmod 600 "$PG_LOG"
	[[ -f "$PGDATA_DIR/PG_VERSION" ]] && return 0

	say "postgres: creating the cluster in $PGDATA_DIR"
	if ! as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" --auth-local=peer --auth-host=scram-sha-256 \
		-E UTF8 --no-locale >>"$PG_LOG" 2>&1; then
		log_tail "$PG_LOG"
		die "postgres: initdb failed (log above). Remove $PGDATA_DIR and retry once fixed."
	fi
	# Settings that this project owns live in strata.conf, rewritten at every start.
	echo "include_if_exists = 'strata.conf'" | as_pg tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
}

# The server settings: local only, more connections than the default for seven services with
# pools plus the tests, logs to stderr (the log file). fsync and synchronous_commit stay on.
pg_write_conf() {
	as_pg tee "$PGDATA_DIR/strata.conf" >/dev/null <<EOF
# Written by compose/local/infra.sh at every start: edit that script, not this file.
listen_addresses = '127.0.0.1'
port = $STRATA_PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 300
shared_buffers = 256MB
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1000
log_lock_waits = on
EOF
}

# Creates the strata role and database, and sets the role's password from the secrets folder
# every time (so a lost secret is healed by the next `up`). CREATEDB: the integration tests make
# scratch databases (a local role only; production roles are made by their operators). The password goes through psql's
# standard input, never a command line, and the session keeps failed statements out of the log.
pg_ensure_role() {
	if ! pg_psql_admin >/dev/null 2>>"$PG_LOG" <<EOF; then
SET log_min_error_statement = panic;
SET log_statement = none;
SELECT 'CREATE ROLE strata LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'strata')
\\gexec
ALTER ROLE strata WITH LOGIN CREATEDB PASSWORD '$STRATA_PG_PASSWORD';
SELECT 'CREATE DATABASE strata OWNER strata'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'strata')
\\gexec
EOF
		log_tail "$PG_LOG"
		die "postgres: could not create the strata role or database (log above)"
	fi
}

# After a crash (or kill -9) of the postmaster, a new one refuses to start while the old pid is
# still there (a zombie until reaped) or its orphaned children still hold the shared memory.
# Both go away within seconds: wait for the pid, then retry the start a few times.
pg_wait_for_dead_postmaster() {
	local pid
	[[ -f "$PGDATA_DIR/postmaster.pid" ]] || return 0
	pid="$(head -n1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null | tr -dc '0-9')"
	[[ -n "$pid" ]] || return 0
	wait_until 30 pid_gone "$pid" || say "postgres: the old server (pid $pid) is still there"
}

pid_gone() { ! kill -0 "$1" 2>/dev/null; }

pg_start() {
	local try
	pg_wait_for_dead_postmaster
	for try in 1 2 3 4 5 6; do
		as_pg "$PG_BIN/pg_ctl" start -D "$PGDATA_DIR" -l "$PG_LOG" -w -t "$INFRA_UP_TIMEOUT" \
			-s >/dev/null 2>&1 && return 0
		tail -n 3 "$PG_LOG" | grep -qE 'already exists|still in use' || return 1
		((try < 6)) && say "postgres: the previous server is still exiting; retrying in 2 s"
		sleep 2
	done
	return 1
}

pg_up() {
	pg_setup_paths
	if pg_running; then
		wait_until "$INFRA_UP_TIMEOUT" pg_ready ||
			die "postgres: running (pid $(pg_pid)) but not answering on port $STRATA_PG_PORT"
		pg_ensure_role
		return 0
	fi
	refuse_foreign_port postgres "$STRATA_PG_PORT"
	pg_init
	pg_write_conf
	if ! pg_start; then
		log_tail "$PG_LOG"
		die "postgres: did not start (log above)"
	fi
	if ! wait_until "$INFRA_UP_TIMEOUT" pg_ready; then
		log_tail "$PG_LOG"
		die "postgres: started but does not answer on 127.0.0.1:$STRATA_PG_PORT"
	fi
	pg_ensure_role
}

pg_down() {
	pg_running || return 0
	if ! as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t 60 -s; then
		log_tail "$PG_LOG"
		die "postgres: did not stop within 60 s (log above)"
	fi
}

# ---------------------------------------------------------------------------------------------
# Redis

REDIS_DIR="$STRATA_DATA/redis"
REDIS_PIDFILE="$STRATA_RUN/redis.pid"
REDIS_LOG="$STRATA_LOG/redis.log"

redis_pid() { pidfile_pid "$REDIS_PIDFILE" "redis-server*"; }
redis_running() { redis_pid >/dev/null; }
redis_ping() { [[ "$(redis-cli -p "$STRATA_REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

# Every setting is in the generated file, rewritten at each start. appendonly: an acknowledged
# write survives a crash (fsync every second, Redis's usual balance).
redis_write_conf() {
	cat >"$REDIS_DIR/redis.conf" <<EOF
# Written by compose/local/infra.sh at every start: edit that script, not this file.
bind 127.0.0.1
port $STRATA_REDIS_PORT
protected-mode yes
daemonize yes
supervised no
pidfile "$REDIS_PIDFILE"
logfile "$REDIS_LOG"
dir "$REDIS_DIR"
appendonly yes
appendfsync everysec
save 3600 1 300 100 60 10000
tcp-keepalive 60
maxclients 10000
EOF
}

redis_up() {
	if redis_running; then
		wait_until "$INFRA_UP_TIMEOUT" redis_ping ||
			die "redis: running (pid $(redis_pid)) but not answering PING on port $STRATA_REDIS_PORT"
		return 0
	fi
	refuse_foreign_port redis "$STRATA_REDIS_PORT"
	mkdirs "$REDIS_DIR"
	redis_write_conf
	if ! redis-server "$REDIS_DIR/redis.conf" >>"$REDIS_LOG" 2>&1; then
		log_tail "$REDIS_LOG"
		die "redis: redis-server refused to start (log above)"
	fi
	if ! wait_until "$INFRA_UP_TIMEOUT" redis_ping; then
		log_tail "$REDIS_LOG"
		die "redis: does not answer PING on 127.0.0.1:$STRATA_REDIS_PORT (log above)"
	fi
}

redis_down() {
	local pid
	pid="$(redis_pid)" || return 0
	# SIGTERM: Redis flushes the append-only file and exits.
	stop_pid redis "$pid" 30 || die "redis: pid $pid would not exit"
}

# ---------------------------------------------------------------------------------------------
# Kafka (KRaft: one process is both broker and controller)

KAFKA_DIR="$STRATA_DATA/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_PIDFILE="$STRATA_RUN/kafka.pid"
KAFKA_LOG="$STRATA_LOG/kafka.log"
# The JVM stays small: this machine has two cores and the suite shares them.
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:ParallelGCThreads=2 -XX:ConcGCThreads=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}"

kafka_pid() { pidfile_pid "$KAFKA_PIDFILE" "java *kafka.Kafka $KAFKA_DIR/server.properties*"; }
kafka_running() { kafka_pid >/dev/null; }

# kafka_java ARGS...: the JVM with Kafka's jars and the project's logging settings.
kafka_java_argv() {
	local opts
	read -r -a opts <<<"$KAFKA_HEAP_OPTS $KAFKA_JVM_OPTS"
	KAFKA_JAVA=(java "${opts[@]}" -cp "$KAFKA_LIBS/*"
		-Dlog4j.configuration="file:$_infra_dir/kafka/log4j.properties"
		-Dkafka.logs.dir="$STRATA_LOG")
}
kafka_java() {
	kafka_java_argv
	"${KAFKA_JAVA[@]}" "$@"
}

# kafka_metadata_ok: sends a Metadata request (API key 3, version 0, no topics) by hand and is
# true once the answer lists at least one broker, i.e. the broker has joined its own cluster and
# serves clients. Pure bash, so that no Kafka client has to be installed to check.
kafka_metadata_ok() {
	local reply
	# shellcheck disable=SC2016 # the inner script expands its own $1
	reply="$(timeout 3 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		# size 26 | api key 3 | version 0 | correlation id 1 | client id "strata-probe" | 0 topics
		printf "\x00\x00\x00\x1a\x00\x03\x00\x00\x00\x00\x00\x01\x00\x0cstrata-probe\x00\x00\x00\x00" >&3
		head -c 12 <&3 | od -An -tu1
	' probe "$STRATA_KAFKA_PORT" 2>/dev/null)" || return 1
	# shellcheck disable=SC2086 # split the twelve byte values
	set -- $reply
	# size (4 bytes), correlation id (4) = 1, broker count (4) >= 1
	[[ $# -eq 12 && "$5$6$7$8" == 0001 ]] && ((${9} + ${10} + ${11} + ${12} > 0))
}

kafka_write_conf() {
	cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by compose/local/infra.sh at every start: edit that script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$STRATA_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$STRATA_KAFKA_PORT,CONTROLLER://127.0.0.1:$STRATA_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$STRATA_KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
# One broker: every internal topic has one replica, and fewer partitions than the defaults.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
min.insync.replicas=1
num.partitions=1
# Topics are created by strata-kafka-topics from proto/topics/topics.conf, never by accident.
auto.create.topics.enable=false
# A consumer group starts at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# Fewer threads than the defaults: two cores.
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
EOF
}

kafka_up() {
	local cluster_id
	if kafka_running; then
		wait_until "$INFRA_UP_TIMEOUT" kafka_metadata_ok ||
			die "kafka: running (pid $(kafka_pid)) but not answering on port $STRATA_KAFKA_PORT"
		return 0
	fi
	refuse_foreign_port kafka "$STRATA_KAFKA_PORT"
	refuse_foreign_port "kafka controller" "$STRATA_KAFKA_CONTROLLER_PORT"
	compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null ||
		die "kafka: no Kafka jars in $KAFKA_LIBS; run compose/local/deps.sh (or make deps)"
	command -v java >/dev/null || die "kafka: no java; run compose/local/deps.sh"
	mkdirs "$KAFKA_DIR/data"
	kafka_write_conf
	# The storage is formatted once, with a cluster id kept beside it.
	if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
		if [[ ! -s "$KAFKA_DIR/cluster-id" ]]; then
			kafka_java kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOG" | tail -n1 \
				>"$KAFKA_DIR/cluster-id"
		fi
		cluster_id="$(<"$KAFKA_DIR/cluster-id")"
		[[ -n "$cluster_id" ]] || die "kafka: could not make a cluster id (see $KAFKA_LOG)"
		if ! kafka_java kafka.tools.StorageTool format -t "$cluster_id" \
			-c "$KAFKA_DIR/server.properties" >>"$KAFKA_LOG" 2>&1; then
			log_tail "$KAFKA_LOG"
			die "kafka: formatting $KAFKA_DIR/data failed (log above)"
		fi
	fi
	printf '\n[%s] strata: starting kafka\n' "$(date -u +%FT%TZ)" >>"$KAFKA_LOG"
	kafka_java_argv
	launch "$KAFKA_PIDFILE" "$KAFKA_LOG" "${KAFKA_JAVA[@]}" kafka.Kafka "$KAFKA_DIR/server.properties"
	if ! wait_until "$INFRA_UP_TIMEOUT" kafka_metadata_ok; then
		log_tail "$KAFKA_LOG" 40
		kafka_running || die "kafka: exited during start-up (log above)"
		die "kafka: no metadata answer on 127.0.0.1:$STRATA_KAFKA_PORT within ${INFRA_UP_TIMEOUT}s" \
			"(log above); stop it with: compose/local/infra.sh down kafka"
	fi
}

kafka_down() {
	local pid
	pid="$(kafka_pid)" || return 0
	# SIGTERM: a controlled shutdown that closes the logs cleanly (no recovery at next start).
	stop_pid kafka "$pid" 60 || die "kafka: pid $pid would not exit"
}

# ---------------------------------------------------------------------------------------------
# nginx

NGINX_DIR="$STRATA_DATA/nginx"
NGINX_CONF="$NGINX_DIR/strata.conf"
NGINX_PIDFILE="$STRATA_RUN/nginx.pid"
NGINX_ERROR_LOG="$STRATA_LOG/nginx-error.log"
NGINX_ACCESS_LOG="$STRATA_LOG/nginx-access.log"
TLS_DIR="$STRATA_DATA/tls"

nginx_pid() { pidfile_pid "$NGINX_PIDFILE" "nginx: master process*"; }
nginx_running() { nginx_pid >/dev/null; }
nginx_cmd() { nginx -p "$NGINX_DIR/" -c "$NGINX_CONF" -e "$NGINX_ERROR_LOG" "$@"; }
nginx_answers() {
	[[ "$(http_status "$STRATA_NGINX_URL/")" != 000 && "$(http_status "$STRATA_NGINX_TLS_URL/")" != 000 ]]
}

# A self-signed certificate for 127.0.0.1 and localhost, made once, unless TLS_CERT and TLS_KEY
# name a real one.
nginx_tls() {
	if [[ -n "${TLS_CERT:-}" || -n "${TLS_KEY:-}" ]]; then
		[[ -r "${TLS_CERT:-}" && -r "${TLS_KEY:-}" ]] ||
			die "nginx: TLS_CERT and TLS_KEY must both name readable PEM files"
		return 0
	fi
	TLS_CERT="$TLS_DIR/cert.pem"
	TLS_KEY="$TLS_DIR/key.pem"
	[[ -s "$TLS_CERT" && -s "$TLS_KEY" ]] && return 0
	(umask 077 && mkdir -p "$TLS_DIR")
	if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
		-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$TLS_KEY.tmp" -out "$TLS_CERT.tmp" >"$TLS_DIR/openssl.log" 2>&1; then
		log_tail "$TLS_DIR/openssl.log"
		die "nginx: could not make a self-signed certificate (openssl output above)"
	fi
	chmod 600 "$TLS_KEY.tmp"
	chmod 644 "$TLS_CERT.tmp"
	mv -f "$TLS_KEY.tmp" "$TLS_KEY"
	mv -f "$TLS_CERT.tmp" "$TLS_CERT"
	say "nginx: made a self-signed certificate for localhost and 127.0.0.1 in $TLS_DIR"
}

# The user nginx's workers run as when the master is root: www-data when it can reach the data
# and web folders (request bodies are buffered under $STRATA_DATA/nginx), else root itself. The
# local run listens on 127.0.0.1 only; the container image runs nginx unprivileged.
nginx_worker_user() {
	local u="${STRATA_NGINX_USER:-www-data}"
	((EUID == 0)) || return 0
	if id "$u" >/dev/null 2>&1 && runuser -u "$u" -- test -x "$NGINX_DIR" 2>/dev/null &&
		runuser -u "$u" -- test -x "$STRATA_REPO" 2>/dev/null; then
		echo "$u"
	else
		echo root
	fi
}

# The gateway replicas: the local one, plus any in GATEWAY_UPSTREAMS (host:port, comma separated).
nginx_upstreams() {
	local list="127.0.0.1:$STRATA_GATEWAY_PORT"
	[[ -n "${GATEWAY_UPSTREAMS:-}" ]] && list+=",$GATEWAY_UPSTREAMS"
	echo "$list"
}

nginx_render() {
	mkdirs "$NGINX_DIR/tmp"
	nginx_tls
	NGINX_UPSTREAMS="$(nginx_upstreams)" NGINX_BIND="${STRATA_NGINX_BIND:-127.0.0.1}" \
		NGINX_HTTP_PORT="$STRATA_NGINX_PORT" NGINX_HTTPS_PORT="$STRATA_NGINX_TLS_PORT" \
		NGINX_CLIENT_MAX_BODY_SIZE="${STRATA_MAX_BODY_SIZE:-16m}" \
		NGINX_WORKERS="${STRATA_NGINX_WORKERS:-auto}" NGINX_USER="$(nginx_worker_user)" \
		NGINX_PID_FILE="$NGINX_PIDFILE" NGINX_ERROR_LOG="$NGINX_ERROR_LOG" \
		NGINX_ACCESS_LOG="$NGINX_ACCESS_LOG" NGINX_TEMP_DIR="$NGINX_DIR/tmp" \
		TLS_CERT="$TLS_CERT" TLS_KEY="$TLS_KEY" NGINX_WEB_ROOT="$STRATA_REPO/web" \
		NGINX_DOCS_ROOT="$STRATA_REPO/nginx/docs" \
		NGINX_SWAGGER_UI_ROOT="$STRATA_DATA/web/swagger-ui/node_modules/swagger-ui-dist" \
		"$STRATA_REPO/nginx/render.sh" "$NGINX_CONF"
}

nginx_up() {
	local out
	if nginx_running; then
		wait_until "$INFRA_UP_TIMEOUT" nginx_answers ||
			die "nginx: running (pid $(nginx_pid)) but not answering on ports $(infra_port nginx)"
		return 0
	fi
	refuse_foreign_port nginx "$STRATA_NGINX_PORT"
	refuse_foreign_port nginx "$STRATA_NGINX_TLS_PORT"
	command -v nginx >/dev/null || die "nginx: not installed; run compose/local/deps.sh"
	nginx_render
	if ! out="$(nginx_cmd -t -q 2>&1)"; then
		printf '%s\n' "$out" >&2
		die "nginx: the rendered configuration $NGINX_CONF is invalid (above)"
	fi
	if ! nginx_cmd >>"$NGINX_ERROR_LOG" 2>&1; then
		log_tail "$NGINX_ERROR_LOG"
		die "nginx: did not start (log above)"
	fi
	if ! wait_until "$INFRA_UP_TIMEOUT" nginx_answers; then
		log_tail "$NGINX_ERROR_LOG"
		die "nginx: not answering on ports $(infra_port nginx) (log above)"
	fi
}

nginx_down() {
	local pid
	pid="$(nginx_pid)" || return 0
	# SIGQUIT lets workers finish their requests; long streams get SIGTERM after 10 s. The master
	# is never SIGKILLed first: that would leave its workers holding the ports.
	kill -QUIT "$pid" 2>/dev/null || true
	wait_gone "$pid" 10 && return 0
	stop_pid nginx "$pid" 10 TERM && return 0
	pkill -KILL -P "$pid" 2>/dev/null || true
	die "nginx: pid $pid would not exit"
}

# ---------------------------------------------------------------------------------------------

# infra_running NAME: true when that server, started by this project, is running.
infra_running() {
	case "$1" in
	postgres) pg_running ;;
	redis) redis_running ;;
	kafka) kafka_running ;;
	nginx) nginx_running ;;
	*) die "unknown server '$1' (postgres, redis, kafka, nginx)" ;;
	esac
}

infra_pid() {
	case "$1" in
	postgres) pg_pid ;;
	redis) redis_pid ;;
	kafka) kafka_pid ;;
	nginx) nginx_pid ;;
	esac
}

# infra_status_line NAME: "postgres   running  pid 1234    port 15432".
infra_status_line() {
	local pid
	if pid="$(infra_pid "$1")" && [[ -n "$pid" ]]; then
		printf '%-11s %-8s pid %-8s port %s\n' "$1" running "$pid" "$(infra_port "$1")"
	else
		printf '%-11s %-8s pid %-8s port %s\n' "$1" stopped - "$(infra_port "$1")"
	fi
}

infra_up_one() {
	case "$1" in
	postgres) pg_up ;;
	redis) redis_up ;;
	kafka) kafka_up ;;
	nginx) nginx_up ;;
	esac
}

infra_down_one() {
	case "$1" in
	postgres) pg_down ;;
	redis) redis_down ;;
	kafka) kafka_down ;;
	nginx) nginx_down ;;
	esac
}

infra_main() {
	local action="${1:-}" names=() reversed=() n i
	[[ $# -gt 0 ]] && shift
	for n in "$@"; do
		case "$n" in
		postgres | redis | kafka | nginx) names+=("$n") ;;
		pg | postgresql) names+=(postgres) ;;
		*) die "unknown server '$n' (postgres, redis, kafka, nginx)" ;;
		esac
	done
	# Whatever order they were named in, they start in dependency order.
	local ordered=()
	for n in "${INFRA_ALL[@]}"; do
		if ((${#names[@]} == 0)) || [[ " ${names[*]} " == *" $n "* ]]; then
			ordered+=("$n")
		fi
	done
	for ((i = ${#ordered[@]} - 1; i >= 0; i--)); do reversed+=("${ordered[i]}"); done

	case "$action" in
	up)
		for n in "${ordered[@]}"; do infra_up_one "$n"; done
		;;
	down)
		for n in "${reversed[@]}"; do infra_down_one "$n"; done
		;;
	restart)
		for n in "${reversed[@]}"; do infra_down_one "$n"; done
		for n in "${ordered[@]}"; do infra_up_one "$n"; done
		;;
	status)
		for n in "${ordered[@]}"; do infra_status_line "$n"; done
		;;
	*)
		echo "usage: ${0##*/} up|down|restart|status [postgres|redis|kafka|nginx ...]" >&2
		exit 2
		;;
	esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	infra_main "$@"
fi
