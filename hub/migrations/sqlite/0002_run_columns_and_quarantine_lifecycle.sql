-- What a run could not map, whether its source was refused as a whole, and the quarantine's
-- lifecycle (seen again, resolved). Kept column-for-column identical with the PostgreSQL schema.

-- The source's columns that feed no field: a JSON array of {"location", "heading"}.
ALTER TABLE runs ADD COLUMN unrecognised TEXT;
-- 1 when the connector refused the source's content as a whole (nothing of it stored).
ALTER TABLE runs ADD COLUMN refused BIGINT NOT NULL DEFAULT 0;

-- SHA-256 of connector, location, reason and raw excerpt: the same rejected row delivered again is
-- the same entry (its last_seen_run moves), never a second one.
ALTER TABLE quarantine ADD COLUMN digest TEXT;
-- The fund and month the row was for, when they could be read: a later run that accepts that
-- fund-month resolves the entry.
ALTER TABLE quarantine ADD COLUMN fund_id TEXT;
ALTER TABLE quarantine ADD COLUMN period TEXT;
ALTER TABLE quarantine ADD COLUMN last_seen_run BIGINT REFERENCES runs (id);
ALTER TABLE quarantine ADD COLUMN resolved_at TEXT;
ALTER TABLE quarantine ADD COLUMN resolved_by_run BIGINT REFERENCES runs (id);
CREATE UNIQUE INDEX quarantine_digest ON quarantine (digest);
CREATE INDEX quarantine_open_fund_month ON quarantine (fund_id, period) WHERE resolved_at IS NULL;
CREATE INDEX quarantine_open_location ON quarantine (connector_id, location) WHERE resolved_at IS NULL;
