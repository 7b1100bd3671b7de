#!/bin/sh
# Create Temporal's two Postgres databases and bring their schemas up to date (idempotent).
set -eu
until nc -z -w 10 "${POSTGRES_SEEDS}" "${DB_PORT}"; do echo "waiting for postgres"; sleep 2; done
sql() { temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -u "${POSTGRES_USER}" -p "${DB_PORT}" "$@"; }
for db in temporal temporal_visibility; do
  sql --db "$db" create || true
done
sql --db temporal setup-schema -v 0.0 || true
sql --db temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned
sql --db temporal_visibility setup-schema -v 0.0 || true
sql --db temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned
echo "postgres schema ready"
