-- Role and databases of the dropship services (one database per service).
--
-- docker-compose.yml mounts this file into /docker-entrypoint-initdb.d/, so the postgres
-- image runs it once, on an empty data volume, as the superuser. It is idempotent:
-- run it again by hand at any time (it creates only what is missing):
--   psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -f deploy/postgres/init.sql
-- The password is for local use only; a real deployment uses its own role/secret.

\set ON_ERROR_STOP on

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'dropship') THEN
        CREATE ROLE dropship LOGIN PASSWORD 'dropship';
    END IF;
END
$$;

-- CREATE DATABASE cannot run inside a DO block (a transaction): generate the missing
-- ones and let psql execute them (\gexec).
SELECT format('CREATE DATABASE %I OWNER dropship', name)
FROM unnest(ARRAY['order_intake', 'supplier_gateway', 'logistics', 'aftersales']) AS name
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = name)
\gexec

-- Databases that already existed (e.g. created by hand) get the same owner, too.
SELECT format('ALTER DATABASE %I OWNER TO dropship', name)
FROM unnest(ARRAY['order_intake', 'supplier_gateway', 'logistics', 'aftersales']) AS name
\gexec
