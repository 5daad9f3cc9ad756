-- The fund registry operators own, and the people with rights to it: a fund is registered to a tambon, or a provincial-level fund to
-- a province; it closes on a date and is never deleted. Changes are audited with the values before
-- and after. Kept column-for-column identical with the other back end's migration.

-- The tambon (6 digits) or, for a provincial-level fund, the province (2 digits) it is registered to.
ALTER TABLE funds RENAME COLUMN tambon_code TO area_code;
-- The day the fund closed (ISO date): it stops counting from that month.
ALTER TABLE funds ADD COLUMN closed_on TEXT;

-- The role of the token that made a change, and the values before and after it (JSON).
ALTER TABLE audit ADD COLUMN actor_role TEXT;
ALTER TABLE audit ADD COLUMN before_value TEXT;
ALTER TABLE audit ADD COLUMN after_value TEXT;
-- The province the changed thing lies in (a fund's), so that an editor reads its provinces' audit.
ALTER TABLE audit ADD COLUMN province TEXT;
CREATE INDEX audit_subject ON audit (subject, id);

-- API tokens: a role and a scope each; only the SHA-256 of the secret is kept.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    -- A province editor's provinces, comma-separated 2-digit codes.
    provinces TEXT,
    -- A fund clerk's fund.
    fund_id TEXT,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    -- The last day (ISO date, Bangkok) the token is accepted.
    expires_on TEXT,
    last_used_at TEXT,
    revoked_at TEXT
);

-- Networks: named sets of funds across the area hierarchy (a provincial network, the Songkhla
-- 1-baht network, a regional federation).
CREATE TABLE networks (
    id TEXT PRIMARY KEY,
    name_th TEXT NOT NULL,
    name_en TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE network_funds (
    network_id TEXT NOT NULL REFERENCES networks (id),
    fund_id TEXT NOT NULL REFERENCES funds (id),
    PRIMARY KEY (network_id, fund_id)
);
CREATE INDEX network_funds_fund ON network_funds (fund_id);
