-- Connectors managed live: made, changed and removed over the API or the command line and kept here,
-- beside those of the configuration file; each serves the provinces its funds lie in. Kept
-- column-for-column identical with the other back end's migration.

-- Where the connector is defined: `configuration` (the TOML file, or the demo; the file rules it and
-- the API only reads it) or `api` (made over the API or the command line; this row rules it).
ALTER TABLE connectors ADD COLUMN origin TEXT NOT NULL DEFAULT 'configuration';
-- The hub's own keys of the definition, beside kind, config and schedule.
ALTER TABLE connectors ADD COLUMN name TEXT;
ALTER TABLE connectors ADD COLUMN timeout_secs BIGINT NOT NULL DEFAULT 600;
ALTER TABLE connectors ADD COLUMN max_attempts BIGINT NOT NULL DEFAULT 4;
-- A removed connector is kept (its runs, quarantine and rows name it) but never built again.
ALTER TABLE connectors ADD COLUMN removed_at TEXT;

-- The provinces a connector serves: a province editor manages the connectors whose provinces are all
-- its own, and a run stores rows only of funds in them. None: a national connector (admins only).
CREATE TABLE connector_provinces (
    connector_id TEXT NOT NULL REFERENCES connectors (id),
    province TEXT NOT NULL,
    PRIMARY KEY (connector_id, province)
);
CREATE INDEX connector_provinces_province ON connector_provinces (province);
