#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback: what the team-mode tests run against
# (tests/pg.py calls this), and a way to try team mode by hand.
#
#   bash scripts/postgres.sh install      # Debian's postgresql package, if its binaries are missing
#   bash scripts/postgres.sh start DIR    # a new cluster in DIR on 127.0.0.1:$PG_PORT (default: a free port)
#   bash scripts/postgres.sh stop DIR     # stop it (remove DIR yourself)
#
# `start` prints the URL (user postgres, database postgres; the password is in
# DIR/password, e.g. `PGPASSWORD=$(cat DIR/password) psql URL`). Only 127.0.0.1
# listens, no Unix socket, and durability is off (fsync): it is for tests.
# PostgreSQL refuses to run as root, so as root it runs as the `postgres` user
# the package creates.
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] && command -v initdb >/dev/null; then
    dir=$(dirname "$(readlink -f "$(command -v initdb)")")
  fi
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
  if bindir >/dev/null; then
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and installing it needs root: sudo apt-get install postgresql"
  command -v apt-get >/dev/null || die "PostgreSQL is not installed and this is not a Debian-like system: install PostgreSQL (initdb, pg_ctl) yourself"
  # The tests start their own clusters: keep the package from creating and starting one of its own.
  mkdir -p /etc/postgresql-common
  grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf \
    || echo "create_main_cluster = false" >>/etc/postgresql-common/createcluster.conf
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends
             -o Dpkg::Options::=--force-confold postgresql)
  if ! "${apt[@]}"; then
    apt-get update -q && "${apt[@]}"   # a fresh machine may have no package lists yet
  fi
  bindir >/dev/null || die "installed postgresql, but found no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local dir=${1:?usage: postgres.sh start DIR} bin port password
  bin=$(bindir) || die "PostgreSQL is not installed: run bash scripts/postgres.sh install (as root)"
  [ ! -e "$dir/data" ] || die "$dir/data exists already: stop that cluster and remove $dir first"
  if [ "$(id -u)" = 0 ]; then
    getent passwd postgres >/dev/null || die "no 'postgres' user to run the server as (PostgreSQL refuses root)"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ "$(id -u)" != 0 ] || chown postgres "$dir"
  port=${PG_PORT:-$(free_port)}
  password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  (umask 077; printf '%s' "$password" >"$dir/password")
  [ "$(id -u)" != 0 ] || chown postgres "$dir/password"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C --no-sync \
    --auth-local=reject --auth-host=scram-sha-256 --pwfile="$dir/password" >"$dir/initdb.log" 2>&1 \
    || die "initdb failed: $(tail -n 5 "$dir/initdb.log")"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 30 start -o \
    "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    >"$dir/pg_ctl.log" 2>&1 \
    || die "the server did not start on 127.0.0.1:$port: $(tail -n 5 "$dir/data/server.log" 2>/dev/null || cat "$dir/pg_ctl.log")"
  echo "$port" >"$dir/port"
  echo "postgresql://postgres@127.0.0.1:$port/postgres"
}

stop() {
  local dir=${1:?usage: postgres.sh stop DIR} bin
  [ -f "$dir/data/postmaster.pid" ] || return 0
  bin=$(bindir) || die "PostgreSQL binaries are gone; kill the server listed in $dir/data/postmaster.pid"
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
}

case "${1:-}" in
  install) install ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) die "usage: postgres.sh install | start DIR | stop DIR" ;;
esac
