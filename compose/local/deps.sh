#!/usr/bin/env bash
# Installs what building, testing and running Strata locally need, when it is missing: Debian
# packages (compilers, the C libraries, PostgreSQL, Redis, nginx, a JRE and Maven) and Apache
# Kafka's jars from Maven Central. Idempotent, and quick when nothing is missing: it asks dpkg
# first, and runs `apt-get update` only when something must be installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=compose/local/env.sh
. "$here/env.sh"
# shellcheck source=compose/local/lib.sh
. "$here/lib.sh"

APT_PACKAGES=(
	build-essential pkg-config
	libcivetweb-dev libpq-dev libhiredis-dev libcjson-dev libcurl4-openssl-dev
	librdkafka-dev libssl-dev libsodium-dev check libsubunit-dev
	redis-server nginx openssl curl ca-certificates procps wrk clang-format
	# `make fuzz` and the fuzz step of `make test`: clang and its libFuzzer and sanitizer
	# runtimes (14 is Debian 12's clang).
	clang libclang-rt-14-dev
)

# missing_apt_packages: prints each package of APT_PACKAGES (and the ones checked by what they
# provide) that is not installed.
missing_apt_packages() {
	local installed
	installed="$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${APT_PACKAGES[@]}" \
		2>/dev/null | awk '$2 == "ii" { print $1 }')" || true
	for p in "${APT_PACKAGES[@]}"; do
		grep -qx "$p" <<<"$installed" || echo "$p"
	done
	# A PostgreSQL server (Debian keeps it in /usr/lib/postgresql/<major>/bin); 15 is Debian 12's.
	compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || echo postgresql
	# Kafka 3.9 runs on Java 11 or later; a JDK already on the machine will do.
	java_ok || echo default-jre-headless
	command -v mvn >/dev/null || echo maven
}

java_ok() {
	local v
	command -v java >/dev/null || return 1
	v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
	[[ -n "$v" ]] && ((v >= 11))
}

install_apt_packages() {
	local sudo=() added_policy=0
	if ((EUID != 0)); then
		command -v sudo >/dev/null || die "missing packages: $*; install them as root" \
			"(apt-get install $*) or run this script as root"
		sudo=(sudo)
	fi
	say "installing from Debian: $*"
	# Debian's postinst scripts start each daemon they install (PostgreSQL on 5432, Redis on
	# 6379, nginx on 80). This project runs its own instances, so none is started: policy-rc.d
	# answering 101 is Debian's way to say so. Only one this script created is removed.
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
		"${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
		added_policy=1
	fi
	# shellcheck disable=SC2064 # expand now: the trap must remove exactly this file
	((added_policy)) && trap "${sudo[*]} rm -f /usr/sbin/policy-rc.d" EXIT
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q || die "apt-get update failed (network or sources.list?)"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "$@" || die "apt-get install failed for: $*"
}

# Kafka's jars, fetched by Maven into $STRATA_DATA/kafka/libs. The pom's checksum is kept beside
# them, so that a change of version in the pom fetches the new jars.
install_kafka_jars() {
	local pom="$here/kafka/pom.xml" libs="$STRATA_DATA/kafka/libs" sum
	sum="$(sha256sum "$pom" | cut -d' ' -f1)"
	if [[ -f "$libs/.pom.sha256" && "$(<"$libs/.pom.sha256")" == "$sum" ]] &&
		compgen -G "$libs/kafka_2.13-*.jar" >/dev/null; then
		return 0
	fi
	say "fetching Apache Kafka's jars from Maven Central into $libs"
	rm -rf "$libs"
	mkdir -p "$libs"
	mkdir -p "$STRATA_LOG"
	# Maven's output goes to a log (even -q prints terminal escapes), shown when it fails.
	if ! mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory="$libs" >"$STRATA_LOG/maven-kafka.log" 2>&1; then
		log_tail "$STRATA_LOG/maven-kafka.log"
		rm -rf "$libs"
		die "Maven could not fetch Kafka's jars (output above; is Maven Central reachable?)"
	fi
	echo "$sum" >"$libs/.pom.sha256"
}

# Swagger UI's static files for nginx's /docs (nginx/docs/index.html loads them), from npm into
# $STRATA_DATA/web/swagger-ui, only when that pinned version is not there yet.
SWAGGER_UI_VERSION=5.35.0
install_swagger_ui() {
	local dir="$STRATA_DATA/web/swagger-ui" pkg
	pkg="$dir/node_modules/swagger-ui-dist/package.json"
	if [[ -f "$pkg" ]] && grep -q "\"version\": \"$SWAGGER_UI_VERSION\"" "$pkg"; then
		return 0
	fi
	command -v npm >/dev/null || die "npm is missing: install Node.js to get Swagger UI for /docs"
	say "fetching swagger-ui-dist@$SWAGGER_UI_VERSION from npm into $dir"
	mkdir -p "$dir" "$STRATA_LOG"
	if ! npm install --prefix "$dir" --no-audit --no-fund --no-save \
		"swagger-ui-dist@$SWAGGER_UI_VERSION" >"$STRATA_LOG/npm-swagger-ui.log" 2>&1; then
		log_tail "$STRATA_LOG/npm-swagger-ui.log"
		die "npm could not fetch swagger-ui-dist (output above; is the npm registry reachable?)"
	fi
}

# The real data sets the integration tests replay (vega-datasets: the hourly weather normals of
# Seattle for the readings tests), from npm into $STRATA_DATA/web/vega-datasets.
VEGA_DATASETS_VERSION=2.11.0
install_vega_datasets() {
	local dir="$STRATA_DATA/web/vega-datasets"
	if [[ -f "$dir/node_modules/vega-datasets/package.json" ]] &&
		grep -q "\"version\": \"$VEGA_DATASETS_VERSION\"" "$dir/node_modules/vega-datasets/package.json"; then
		return 0
	fi
	command -v npm >/dev/null || die "npm is missing: install Node.js to get vega-datasets"
	say "fetching vega-datasets@$VEGA_DATASETS_VERSION from npm into $dir"
	mkdir -p "$dir" "$STRATA_LOG"
	npm install --prefix "$dir" --no-audit --no-fund --no-save \
		"vega-datasets@$VEGA_DATASETS_VERSION" >"$STRATA_LOG/npm-vega-datasets.log" 2>&1 ||
		die "npm could not fetch vega-datasets (see $STRATA_LOG/npm-vega-datasets.log)"
}

main() {
	local missing
	mapfile -t missing < <(missing_apt_packages)
	if ((${#missing[@]} > 0)); then
		install_apt_packages "${missing[@]}"
		mapfile -t missing < <(missing_apt_packages)
		((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
	fi
	install_kafka_jars
	install_swagger_ui
	install_vega_datasets
}

main "$@"
