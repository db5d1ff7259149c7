#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server on a free local port, exported to it as
# PATRON_TEST_DATABASE_URL, and removes the server afterwards. Usage: scripts/with-postgres.sh CMD...
set -euo pipefail

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pgbin" ]; then
  echo "with-postgres: no PostgreSQL server found; install Debian's postgresql package" >&2
  exit 1
fi

dir=$(mktemp -d -t patron-pg.XXXXXX)
run() { "$@"; }
if [ "$(id -u)" = "0" ]; then
  # PostgreSQL refuses to run as root.
  chown postgres "$dir"
  run() { runuser -u postgres -- "$@"; }
fi
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')

cleanup() {
  run "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

run "$pgbin/initdb" -D "$dir/data" -A trust -U patron --no-sync >/dev/null
run "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
echo "with-postgres: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2

export PATRON_TEST_DATABASE_URL="postgres://patron@127.0.0.1:$port/postgres"
"$@"
