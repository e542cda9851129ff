#!/usr/bin/env bash
# o2o-gateway developer entry point (Debian/Ubuntu).
#   ./dev.sh up     install what is missing, migrate, seed, serve the playground
#   ./dev.sh test   install what is missing, then lint, type-check and run every test
#   .venv/bin/pytest tests/unit   the business rules alone, in seconds, with no service running
#                   (no PostgreSQL, search server or Redis needed); ./dev.sh test runs them too
# Environment: DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/o2o),
# TEST_DATABASE_URL (default .../o2o_test; one per test worker: ..._gw0, ..._gw1),
# TEST_WORKERS (2; 0: no worker processes), HOST/PORT for `up` (127.0.0.1:8000),
# ELASTICSEARCH_URL (unset: `up` starts a local in-memory server on SEARCH_PORT, 9200).
set -euo pipefail
cd "$(dirname "$0")"

export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/o2o}"
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/o2o_test}"
VENV=.venv
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=0
apt_install() {
  [ "$APT_UPDATED" = 1 ] || { as_root apt-get update -qq; APT_UPDATED=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_version() { ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1; }

ensure_postgres() {
  if [ -z "$(pg_version)" ]; then
    say "installing PostgreSQL"
    apt_install postgresql
  fi
  local version; version="$(pg_version)"
  if [ ! -f "/usr/share/postgresql/$version/extension/postgis.control" ]; then
    say "installing PostGIS for PostgreSQL $version"
    apt_install "postgresql-$version-postgis-3"
  fi
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
    say "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
  pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL does not answer on 127.0.0.1:5432"
  ensure_local_login "$version"
}

# A stock Debian cluster asks for a password on TCP; for local development only, let the
# postgres role in from this machine (never do this on a shared or production server).
ensure_local_login() {
  psql "postgresql://postgres@127.0.0.1:5432/postgres" -Atqc 'SELECT 1' >/dev/null 2>&1 && return
  local hba="/etc/postgresql/$1/main/pg_hba.conf"
  [ -f "$hba" ] || die "cannot log in to PostgreSQL as postgres@127.0.0.1; set DATABASE_URL"
  say "allowing local development logins in $hba"
  as_root sed -i '1i host all postgres 127.0.0.1/32 trust  # o2o-gateway local development' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$1" main reload
}

# Partner keys' rate and query-cost budgets are counted in Redis (REDIS_URL).
ensure_redis() {
  if [ -n "${REDIS_URL:-}" ] && [[ "$REDIS_URL" != redis://127.0.0.1:6379* ]]; then
    say "redis: $REDIS_URL"
    return
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    say "installing redis-server"
    apt_install redis-server
  fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    say "starting redis-server on 127.0.0.1:6379"
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no \
      --logfile /tmp/o2o-redis-server.log >/dev/null
  fi
  for _ in $(seq 1 30); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return
    sleep 0.2
  done
  die "Redis does not answer on 127.0.0.1:6379"
}

ensure_venv() {
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    say "installing python3-venv"
    apt_install python3-venv
  fi
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python >= 3.11 is needed"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV"
  fi
  if ! cmp -s pyproject.toml "$VENV/.installed-pyproject.toml"; then
    say "installing the project and its dependencies into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q -e ".[dev]"
    cp pyproject.toml "$VENV/.installed-pyproject.toml"
  fi
}

# The /map page test drives a real headless Chromium through chromedriver.
ensure_browser() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    say "installing chromium and chromium-driver (browser test of /map)"
    apt_install chromium chromium-driver
  fi
}

# Standard clients written by others (npm graphql-ws, the graphql-http audit), pinned by
# tests/service/clients/package-lock.json and driven by the test suite.
ensure_node_clients() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    say "installing Node.js and npm (standard GraphQL client tests)"
    apt_install nodejs npm
  fi
  local stamp=tests/service/clients/node_modules/.o2o-installed-lock.json
  if [ ! -f "$stamp" ] || ! cmp -s tests/service/clients/package-lock.json "$stamp"; then
    say "installing the pinned npm clients into tests/service/clients"
    npm ci --prefix tests/service/clients --no-audit --no-fund --loglevel=error >/dev/null
    cp tests/service/clients/package-lock.json "$stamp"
  fi
}

ensure_database() {
  "$VENV/bin/python" - "$1" <<'PY'
import sys
import psycopg
from psycopg import conninfo, sql

url = sys.argv[1]
name = conninfo.conninfo_to_dict(url)["dbname"]
with psycopg.connect(conninfo.make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"created database {name}")
PY
}

# Without ELASTICSEARCH_URL, run the in-memory Elasticsearch-API server from the venv (it
# exits with this script's process, which becomes `o2o serve`). It keeps nothing on disk,
# so the index is rebuilt from PostgreSQL each time.
ensure_search() {
  if [ -n "${ELASTICSEARCH_URL:-}" ]; then
    say "search: $ELASTICSEARCH_URL"
    return
  fi
  local addr="127.0.0.1:${SEARCH_PORT:-9200}" log=".venv/osmem-server.log"
  say "starting the local search server (osmem-server) on $addr"
  "$VENV/bin/python" - "$addr" "$$" > "$log" 2>&1 <<'PY' &
import os, sys
from osmem_server import resolve_binary
addr, parent = sys.argv[1], sys.argv[2]
binary = resolve_binary()
os.execv(binary, [binary, "--addr", addr, "--parent-pid", parent, "--no-stdin-watch", "--no-ja"])
PY
  for _ in $(seq 1 50); do
    grep -q '"url"' "$log" 2>/dev/null && break
    sleep 0.2
  done
  grep -q '"url"' "$log" || die "the local search server did not start (see $log)"
  export ELASTICSEARCH_URL="http://$addr" ELASTICSEARCH_PLAIN_JSON=true
}

cmd_up() {
  ensure_postgres
  ensure_redis
  ensure_venv
  ensure_database "$DATABASE_URL"
  ensure_search
  say "migrating and seeding $DATABASE_URL"
  "$VENV/bin/o2o" migrate
  "$VENV/bin/o2o" seed
  say "building the search index"
  "$VENV/bin/o2o" reindex
  local host="${HOST:-127.0.0.1}" port="${PORT:-8000}"
  say "playground: http://$host:$port/graphql"
  exec "$VENV/bin/o2o" serve --host "$host" --port "$port"
}

cmd_test() {
  ensure_postgres
  ensure_redis
  ensure_venv
  ensure_browser
  ensure_node_clients
  say "ruff"
  "$VENV/bin/ruff" check .
  "$VENV/bin/ruff" format --check .
  say "mypy --strict"
  "$VENV/bin/mypy" gateway schema commerce geo db domain search seed migrations tests bench
  say "import-linter"
  "$VENV/bin/lint-imports"
  # Worker processes (pytest-xdist), each on its own database (${TEST_DATABASE_URL}_gw<n>),
  # search server and gateways: much of the suite waits (rate windows, sweepers, clients),
  # so two workers halve it even on two cores. TEST_WORKERS=0 runs in this process.
  local workers="${TEST_WORKERS:-2}"
  say "pytest, $workers workers (against real PostGIS at ${TEST_DATABASE_URL}_gw<n>)"
  if [ "$workers" = 0 ]; then
    "$VENV/bin/pytest" -q "$@"
  else
    "$VENV/bin/pytest" -q -n "$workers" --dist loadfile "$@"
  fi
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  test) shift; cmd_test "$@" ;;
  *) echo "usage: ./dev.sh up | ./dev.sh test [pytest args]" >&2; exit 2 ;;
esac
