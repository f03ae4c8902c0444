#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for tests, run as an ordinary user (PostgreSQL refuses root).
#   pg-test-server.sh start   DIR PORT               initdb DIR if new, start on 127.0.0.1:PORT, print a connection string
#   pg-test-server.sh standby DIR PORT PRIMARY_PORT  pg_basebackup -R from the primary into DIR, start it as a streaming standby
#   pg-test-server.sh stop    DIR                    stop the cluster in DIR (fast shutdown)
#   pg-test-server.sh kill    DIR                    stop the cluster in DIR immediately (no shutdown checkpoint)
# Installs Debian's postgresql package when no server binaries are found and we are root.
set -euo pipefail

find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] && [ "$(id -u)" = 0 ]; then
    echo "pg-test-server: installing postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  [ -n "$dir" ] || { echo "pg-test-server: no PostgreSQL server binaries found" >&2; exit 1; }
  echo "$dir"
}

run_as() {
  # Runs a command as the cluster's owner: 'postgres' when we are root, ourselves otherwise.
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

prepare_dir() {
  mkdir -p "$1"
  if [ "$(id -u)" = 0 ]; then chown postgres "$1"; fi
  chmod 700 "$1"
}

BIN=$(find_bin)
cmd=${1:?usage: pg-test-server.sh start|standby|stop|kill DIR ...}
dir=${2:?DIR missing}
data="$dir/data"
sock="$dir"

case "$cmd" in
  start)
    port=${3:?PORT missing}
    prepare_dir "$dir"
    if [ ! -f "$data/PG_VERSION" ]; then
      run_as "$BIN/initdb" -D "$data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >/dev/null
      cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
max_connections = 300
shared_buffers = 256MB
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = on
synchronous_commit = on
log_min_messages = warning
CONF
      echo "host replication all 127.0.0.1/32 trust" >> "$data/pg_hba.conf"
    fi
    run_as "$BIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null
    echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
    ;;
  standby)
    port=${3:?PORT missing}
    primary=${4:?PRIMARY_PORT missing}
    prepare_dir "$dir"
    run_as "$BIN/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$data" -R -X stream --no-sync >/dev/null
    run_as sed -i -e "s/^port = .*/port = $port/" -e "s#^unix_socket_directories = .*#unix_socket_directories = '$sock'#" "$data/postgresql.conf"
    run_as "$BIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null
    echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
    ;;
  stop)
    [ -f "$data/postmaster.pid" ] && run_as "$BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || true
    ;;
  kill)
    [ -f "$data/postmaster.pid" ] && run_as "$BIN/pg_ctl" -D "$data" -m immediate -w -t 60 stop >/dev/null || true
    ;;
  *)
    echo "pg-test-server: unknown command $cmd" >&2; exit 2 ;;
esac
