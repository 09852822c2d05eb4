#!/usr/bin/env bash
# `make status`: one line for each piece of the local suite: running or stopped, pid, port.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=compose/local/infra.sh
. "$here/infra.sh" # functions only when sourced
# shellcheck source=compose/local/services.sh
. "$here/services.sh"

for name in "${INFRA_ALL[@]}"; do infra_status_line "$name"; done
for name in $STRATA_SERVICES; do svc_status_line "$name"; done
