#!/usr/bin/env bash
# `make up`: starts the whole suite locally and prints where it is. PostgreSQL, Redis, Kafka and
# nginx first (infra.sh), then the database migrations and the Kafka topics, then the seven
# services from $BIN (default bin/), each waited for until GET /readyz answers 200. What already
# runs is left as it is, so running it twice is harmless. `make down` stops everything.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=compose/local/env.sh
. "$here/env.sh"
# shellcheck source=compose/local/lib.sh
. "$here/lib.sh"
# shellcheck source=compose/local/services.sh
. "$here/services.sh"
# shellcheck source=compose/local/prepare.sh
. "$here/prepare.sh"

cd "$STRATA_REPO"
BIN="${BIN:-bin}"

# On failure, say what is left behind and how to stop it.
trap 'rc=$?; ((rc == 0)) || say "the suite did not fully start (above);" \
	"what did start is still running: make status shows it, make down stops it"' EXIT

"$here/infra.sh" up
prepare_schema_and_topics "$BIN"
svc_start_all "$BIN"

# Hook: the first admin and the demo data. compose/local/seed.sh, when that file exists, runs
# last, against the running suite, with env.sh's environment. It must be idempotent (make up
# runs it every time).
if [[ -f "$here/seed.sh" ]]; then
	bash "$here/seed.sh" || die "compose/local/seed.sh failed (above)"
fi

cat <<MSG

Strata is running.
  url           $STRATA_NGINX_URL/   (and $STRATA_NGINX_TLS_URL/, self-signed certificate)
  try           curl $STRATA_NGINX_URL/api/v1/health
  status        make status
  logs          $STRATA_LOG/
  stop          make down
MSG
