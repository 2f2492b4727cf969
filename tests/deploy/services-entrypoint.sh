#!/bin/sh
# `postgres ...`: initialise the cluster once (as the official image does), then run it as postgres.
# Anything else (e.g. `redis-server ...`) runs as given.
set -eu
if [ "${1:-}" != "postgres" ]; then exec "$@"; fi
chown postgres:postgres "$PGDATA" && chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user="${POSTGRES_USER:-postgres}"
  runuser -u postgres -- initdb -D "$PGDATA" --username="$user" --pwfile="$POSTGRES_PASSWORD_FILE" \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  runuser -u postgres -- pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != "postgres" ]; then
    runuser -u postgres -- createdb --username="$user" "$POSTGRES_DB"
  fi
  runuser -u postgres -- pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
shift
exec runuser -u postgres -- postgres -c listen_addresses='*' "$@"
