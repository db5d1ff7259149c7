#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server when one is installed, alone otherwise.
set -euo pipefail
here=$(dirname "$0")
if ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  exec "$here/with-postgres.sh" "$@"
fi
echo "no PostgreSQL server installed: running on the embedded database only" >&2
exec "$@"
