-- The ingest service's schema; its tables arrive in later migrations.
CREATE SCHEMA IF NOT EXISTS ingest;
