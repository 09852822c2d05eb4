#!/usr/bin/env bash
# One or more services of the local suite, by name:
#
#   compose/local/service.sh start|stop|restart|status [NAME ...]
#
# No name means all seven. `start` uses the binaries in $BIN (default bin/; build them with
# make build) and waits until each answers /readyz; `stop` sends SIGTERM and waits up to 15 s.
# The servers (PostgreSQL, Redis, Kafka, nginx) are infra.sh's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=compose/local/env.sh
. "$here/env.sh"
# shellcheck source=compose/local/lib.sh
. "$here/lib.sh"
# shellcheck source=compose/local/services.sh
. "$here/services.sh"

cd "$STRATA_REPO"
BIN="${BIN:-bin}"
action="${1:-}"
[[ $# -gt 0 ]] && shift
names=("$@")
((${#names[@]} > 0)) || read -r -a names <<<"$STRATA_SERVICES"
for n in "${names[@]}"; do
	[[ " $STRATA_SERVICES " == *" $n "* ]] || die "unknown service '$n' ($STRATA_SERVICES)"
done

case "$action" in
start) svc_start_all "$BIN" "${names[@]}" ;;
stop) svc_stop_all "${names[@]}" ;;
restart)
	svc_stop_all "${names[@]}"
	svc_start_all "$BIN" "${names[@]}"
	;;
status) for n in "${names[@]}"; do svc_status_line "$n"; done ;;
*)
	echo "usage: ${0##*/} start|stop|restart|status [NAME ...]" >&2
	exit 2
	;;
esac
