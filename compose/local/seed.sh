#!/usr/bin/env bash
# The first administrator and the demo data, run by up.sh after the services started (and safe to run by hand:
# `compose/local/seed.sh`). Idempotent: `strata-auth bootstrap-admin` leaves an existing
# account with that email as it is.
#
#   STRATA_ADMIN_EMAIL     the admin's email (default admin@strata.local)
#   STRATA_ADMIN_PASSWORD  the admin's password; when unset, a random one is generated and,
#                          if the admin is created now, printed once: it is not stored anywhere.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=compose/local/env.sh
. "$here/env.sh"
# shellcheck source=compose/local/lib.sh
. "$here/lib.sh"

cd "$STRATA_REPO"
BIN="${BIN:-bin}"
auth="$BIN/strata-auth"
[[ -x "$auth" ]] || die "$auth is not built (make build)"

email="${STRATA_ADMIN_EMAIL:-admin@strata.local}"

# The first admin with the password given, or with one made here. A made one reaches the tool
# through its environment only, never a command line (which other users can read in ps).
first_admin() {
	local password out
	if [[ -n "${STRATA_ADMIN_PASSWORD:-}" ]]; then
		STRATA_ADMIN_EMAIL="$email" "$auth" bootstrap-admin ||
			die "could not create the first admin (above)"
		return 0
	fi
	password="$(openssl rand -base64 18)" || die "openssl could not generate a password"
	if ! out="$(STRATA_ADMIN_EMAIL="$email" STRATA_ADMIN_PASSWORD="$password" \
		"$auth" bootstrap-admin)"; then
		printf '%s\n' "$out"
		die "could not create the first admin (above)"
	fi
	printf '%s\n' "$out"
	if [[ "$out" == *" created with the admin role"* ]]; then
		cat <<MSG

  The first administrator was created:
    email     $email
    password  $password
  This password is shown only this time and is stored nowhere: keep it now, and change it
  after signing in (PATCH /api/v1/auth/me). To choose it yourself next time, set
  STRATA_ADMIN_PASSWORD before make up.

MSG
	fi
}
first_admin

# Demo data, once: a project with Seattle's hourly weather (compose/local/seed-demo.sh).
bash "$here/seed-demo.sh" || die "compose/local/seed-demo.sh failed (above)"
