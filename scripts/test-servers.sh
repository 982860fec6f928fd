#!/usr/bin/env bash
# Real PostgreSQL and MariaDB servers on loopback for the engine tests (no Docker).
#
#   scripts/test-servers.sh install           Debian's postgresql, mariadb-server and the build
#                                             deps of mysqlclient (pkg-config, libmariadb-dev)
#                                             when missing (root: apt-get; else a hint)
#   scripts/test-servers.sh start DIR         initialise and start both servers with their data,
#                                             sockets and logs under DIR, a database
#                                             valuemax_test and a user valuemax with a random
#                                             password (on MariaDB also allowed to create
#                                             databases named vm_schema_*, for --schema);
#                                             writes DIR/env (export lines)
#   scripts/test-servers.sh stop DIR          stop both and remove DIR
#   scripts/test-servers.sh run CMD [ARG...]  start in a fresh temp folder, run CMD with
#                                             VALUEMAX_TEST_POSTGRES_URL and
#                                             VALUEMAX_TEST_MARIADB_URL exported, stop (also
#                                             when CMD fails or is interrupted); CMD's exit code
#
# PostgreSQL refuses to run as root: as root the servers run as the system users the Debian
# packages create (postgres, mysql); otherwise as the current user.
set -euo pipefail

say() { echo "test-servers: $*" >&2; }

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

mariadbd_bin() {
  local b
  for b in /usr/sbin/mariadbd /usr/sbin/mysqld; do
    [ -x "$b" ] && { echo "$b"; return 0; }
  done
  return 1
}

install() {
  local missing=()
  pg_bin >/dev/null || missing+=(postgresql)
  mariadbd_bin >/dev/null || missing+=(mariadb-server)
  pkg-config --exists libmariadb 2>/dev/null || missing+=(pkg-config libmariadb-dev)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != "0" ]; then
    say "missing ${missing[*]}: run 'sudo apt-get install ${missing[*]}'"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101: the packages must not start their own system-wide servers
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$created" = 1 ] && rm -f "$policy"
  return 0
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# as_user USER CMD...: run CMD as USER when root, else as ourselves
as_user() {
  local user=$1; shift
  if [ "$(id -u)" = "0" ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

start() {
  local dir=$1
  local pgbin mdb
  pgbin=$(pg_bin) || { say "PostgreSQL not found: run scripts/test-servers.sh install"; exit 1; }
  mdb=$(mariadbd_bin) || { say "MariaDB not found: run scripts/test-servers.sh install"; exit 1; }
  local pg_user=postgres my_user=mysql
  if [ "$(id -u)" != "0" ]; then pg_user=$(id -un); my_user=$(id -un); fi
  mkdir -p "$dir"
  chmod 755 "$dir"
  local password pg_port my_port
  password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
  pg_port=$(free_port)
  my_port=$(free_port)

  # --- PostgreSQL: password (scram) over TCP, trust on its own socket for the set-up
  mkdir -p "$dir/pg" "$dir/pgsock"
  [ "$(id -u)" = "0" ] && chown "$pg_user" "$dir/pg" "$dir/pgsock"
  as_user "$pg_user" "$pgbin/initdb" -D "$dir/pg/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/pg/initdb.log" 2>&1 \
    || { cat "$dir/pg/initdb.log" >&2; exit 1; }
  as_user "$pg_user" "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$dir/pgsock -c TimeZone=UTC" \
    start >/dev/null || { cat "$dir/pg/server.log" >&2; exit 1; }
  as_user "$pg_user" "$pgbin/psql" -q -v ON_ERROR_STOP=1 -h "$dir/pgsock" -p "$pg_port" -U postgres \
    -d postgres -c "CREATE ROLE valuemax LOGIN PASSWORD '$password'" \
    -c "CREATE DATABASE valuemax_test OWNER valuemax" >/dev/null

  # --- MariaDB: its own datadir, socket and port; no /etc/mysql config (--no-defaults)
  # its own temporary folder: files under the shared /tmp may be removed by others' cleanups
  mkdir -p "$dir/mariadb/tmp"
  [ "$(id -u)" = "0" ] && chown "$my_user" "$dir/mariadb" "$dir/mariadb/tmp"
  local install_db
  install_db=$(command -v mariadb-install-db || command -v mysql_install_db)
  "$install_db" --no-defaults --user="$my_user" --datadir="$dir/mariadb/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/mariadb/install.log" 2>&1 \
    || { cat "$dir/mariadb/install.log" >&2; exit 1; }
  "$mdb" --no-defaults --user="$my_user" --datadir="$dir/mariadb/data" \
    --socket="$dir/mariadb/mysqld.sock" --port="$my_port" --bind-address=127.0.0.1 \
    --pid-file="$dir/mariadb/mysqld.pid" --log-error="$dir/mariadb/server.log" \
    --default-time-zone=+00:00 --character-set-server=utf8mb4 --tmpdir="$dir/mariadb/tmp" --skip-name-resolve >/dev/null 2>&1 &
  local i
  for i in $(seq 1 60); do
    mariadb-admin --no-defaults --socket="$dir/mariadb/mysqld.sock" -uroot ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  mariadb --no-defaults --socket="$dir/mariadb/mysqld.sock" -uroot -e \
    "CREATE DATABASE valuemax_test; CREATE USER 'valuemax'@'127.0.0.1' IDENTIFIED BY '$password'; GRANT ALL ON valuemax_test.* TO 'valuemax'@'127.0.0.1'; GRANT ALL ON \`vm\\_schema\\_%\`.* TO 'valuemax'@'127.0.0.1';" \
    || { cat "$dir/mariadb/server.log" >&2; exit 1; }
  # the named zone UTC (Ibis sets the session time zone to 'UTC' on connect)
  mariadb-tzinfo-to-sql /usr/share/zoneinfo/UTC UTC 2>/dev/null \
    | mariadb --no-defaults --socket="$dir/mariadb/mysqld.sock" -uroot mysql

  umask 077
  cat >"$dir/env" <<EOF
export VALUEMAX_TEST_POSTGRES_URL=postgres://valuemax:$password@127.0.0.1:$pg_port/valuemax_test
export VALUEMAX_TEST_MARIADB_URL=mysql://valuemax:$password@127.0.0.1:$my_port/valuemax_test
EOF
  say "PostgreSQL on 127.0.0.1:$pg_port, MariaDB on 127.0.0.1:$my_port (data in $dir)"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  local pgbin pg_user=postgres
  [ "$(id -u)" != "0" ] && pg_user=$(id -un)
  if [ -f "$dir/pg/data/postmaster.pid" ] && pgbin=$(pg_bin); then
    as_user "$pg_user" "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$dir/mariadb/mysqld.pid" ]; then
    local pid i
    pid=$(cat "$dir/mariadb/mysqld.pid")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -rf "$dir"
}

RUN_DIR=""
run() {
  RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/valuemax-servers.XXXXXX")
  trap 'stop "$RUN_DIR"' EXIT
  trap 'exit 130' INT TERM
  start "$RUN_DIR"
  # shellcheck disable=SC1091
  . "$RUN_DIR/env"
  local rc=0
  "$@" || rc=$?
  return "$rc"
}

case "${1:-}" in
  install) install ;;
  start) [ $# -eq 2 ] || { say "usage: $0 start DIR"; exit 2; }; start "$2" ;;
  stop) [ $# -eq 2 ] || { say "usage: $0 stop DIR"; exit 2; }; stop "$2" ;;
  run) shift; [ $# -ge 1 ] || { say "usage: $0 run CMD [ARG...]"; exit 2; }; run "$@" ;;
  *) say "usage: $0 install | start DIR | stop DIR | run CMD [ARG...]"; exit 2 ;;
esac
