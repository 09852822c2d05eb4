#!/usr/bin/env bash
# `make down`: stops the seven services (SIGTERM, up to 15 s each to drain, then SIGKILL), then
# nginx, Kafka, Redis and PostgreSQL. Only what this project started (by pid file) is touched;
# the data stays in $STRATA_DATA for the next `make up`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=compose/local/env.sh
. "$here/env.sh"
# shellcheck source=compose/local/lib.sh
. "$here/lib.sh"
# shellcheck source=compose/local/services.sh
. "$here/services.sh"

svc_stop_all
"$here/infra.sh" down
echo "Strata is stopped (data kept in $STRATA_DATA)."
