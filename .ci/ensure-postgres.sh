#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for the store tests
# (database `test`, user `postgres`, trust authentication on loopback).
#
# 1. already answering: done;
# 2. installed but stopped: start its clusters with pg_ctlcluster;
# 3. not installed: install Debian's postgresql package (root only), allow
#    trust authentication on loopback, start it and create the database.
#
# This script never fails the build: when it cannot provide a server it says
# why, and the PostgreSQL tests are skipped with that reason.
set -u

HOST=127.0.0.1
PORT=5432
DB=test

answering() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -h "$HOST" -p "$PORT" -q >/dev/null 2>&1
    else
        (exec 3<>"/dev/tcp/$HOST/$PORT") >/dev/null 2>&1
    fi
}

wait_answering() {
    for _ in $(seq 1 20); do
        answering && return 0
        sleep 0.5
    done
    return 1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

start_clusters() {
    [ -d /etc/postgresql ] || return 1
    for version in $(ls /etc/postgresql); do
        for cluster in $(ls "/etc/postgresql/$version"); do
            as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >/dev/null 2>&1 || true
        done
    done
    wait_answering
}

install_postgres() {
    command -v apt-get >/dev/null 2>&1 || { echo "no apt-get to install PostgreSQL"; return 1; }
    echo "installing PostgreSQL from Debian packages ..."
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 || return 1
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
        # test machine only: loopback connections without password
        as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    done
    start_clusters || return 1
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n 1)" main reload >/dev/null 2>&1 || true
}

ensure_database() {
    command -v psql >/dev/null 2>&1 || return 0
    if ! psql -h "$HOST" -p "$PORT" -U postgres -d "$DB" -c 'select 1' >/dev/null 2>&1; then
        psql -h "$HOST" -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE $DB" >/dev/null 2>&1 || true
    fi
}

if answering; then
    ensure_database
    exit 0
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && start_clusters; then
    echo "started PostgreSQL on $HOST:$PORT"
    ensure_database
    exit 0
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 && install_postgres && answering; then
    echo "installed and started PostgreSQL on $HOST:$PORT"
    ensure_database
    exit 0
fi
echo "PostgreSQL is not available on $HOST:$PORT; the PostgreSQL store tests will be skipped"
exit 0
