-- Readings: one row per (session, time, channel), partitioned by month of ts. The writers
-- create each month's partition before they write into it (services/ingest/partitions.c);
-- there is deliberately no default partition, which would block creating a month's partition
-- once rows of that month had landed in it.
--
-- The primary key leads with (session_id, ts): exports and queries read one session in time
-- order (keyset on ts, channel), straight from the index, in constant memory. It is also the
-- identity of a reading: a redelivered batch leaves one copy (ON CONFLICT DO NOTHING).
-- No foreign key to sessions: bulk loads pay no per-row check.
CREATE TABLE ingest.readings (
	session_id uuid NOT NULL,
	channel    text NOT NULL,
	ts         timestamptz NOT NULL,
	value      double precision NOT NULL,
	PRIMARY KEY (session_id, ts, channel)
) PARTITION BY RANGE (ts);
