-- Welfare Hub store, first schema (PostgreSQL).
-- Kept column-for-column identical to the other back end's migration: the store's SQL is shared.
-- Money is BIGINT satang (1/100 baht): exact on every back end. Times are ISO-8601 UTC text.

-- Reference geography: provinces, districts (amphoe) and tambons from a geography bundle.
CREATE TABLE areas (
    code TEXT PRIMARY KEY,
    level TEXT NOT NULL CHECK (level IN ('province', 'district', 'subdistrict')),
    parent_code TEXT REFERENCES areas (code),
    region TEXT NOT NULL,
    name_th TEXT NOT NULL,
    name_en TEXT NOT NULL,
    postcode TEXT,
    geom_code TEXT NOT NULL,
    geom_relation TEXT,
    pop_total BIGINT NOT NULL,
    pop_male BIGINT NOT NULL,
    pop_female BIGINT NOT NULL,
    households BIGINT NOT NULL,
    pop_year BIGINT NOT NULL
);
CREATE INDEX areas_level ON areas (level, parent_code);

-- Tambon population per year (31 December), including codes that no longer exist.
CREATE TABLE area_population (
    code TEXT NOT NULL,
    year BIGINT NOT NULL,
    pop_total BIGINT,
    pop_male BIGINT,
    pop_female BIGINT,
    households BIGINT,
    code_current BIGINT NOT NULL,
    PRIMARY KEY (code, year)
);

-- Boundary polygons as GeoJSON geometry objects, by level and polygon code (tambons join by geom_code).
CREATE TABLE boundaries (
    level TEXT NOT NULL,
    code TEXT NOT NULL,
    geometry TEXT NOT NULL,
    PRIMARY KEY (level, code)
);

-- Funds: one welfare organisation registered to one tambon.
CREATE TABLE funds (
    id TEXT PRIMARY KEY,
    name_th TEXT NOT NULL,
    name_en TEXT,
    kind TEXT NOT NULL,
    tambon_code TEXT NOT NULL REFERENCES areas (code),
    municipality TEXT,
    registered_on TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX funds_tambon ON funds (tambon_code);

-- Connectors configured to pull fund systems.
CREATE TABLE connectors (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    schedule TEXT,
    enabled BIGINT NOT NULL DEFAULT 1,
    cursor TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Ingestion runs (a run of a connector, or a demo/bulk load).
CREATE TABLE runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id TEXT,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    rows_accepted BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    rows_unchanged BIGINT NOT NULL DEFAULT 0,
    rows_revised BIGINT NOT NULL DEFAULT 0,
    cursor_before TEXT,
    cursor_after TEXT,
    error TEXT
);
CREATE INDEX runs_connector ON runs (connector_id, id);

-- The current figures of each fund and month. A changed value moves the old row to summary_revisions.
CREATE TABLE summaries (
    fund_id TEXT NOT NULL REFERENCES funds (id),
    period TEXT NOT NULL,
    revision BIGINT NOT NULL,
    members_total BIGINT,
    members_children BIGINT,
    members_working BIGINT,
    members_elderly BIGINT,
    members_joined BIGINT,
    members_left BIGINT,
    contrib_members_satang BIGINT,
    grant_state_satang BIGINT,
    grant_local_satang BIGINT,
    income_other_satang BIGINT,
    benefits_birth_satang BIGINT,
    benefits_sickness_satang BIGINT,
    benefits_death_satang BIGINT,
    benefits_elderly_satang BIGINT,
    benefits_education_satang BIGINT,
    benefits_occupation_satang BIGINT,
    benefits_disability_satang BIGINT,
    benefits_disaster_satang BIGINT,
    benefits_other_satang BIGINT,
    beneficiaries BIGINT,
    services_noncash BIGINT,
    admin_costs_satang BIGINT,
    fund_balance_satang BIGINT,
    reported_at TEXT,
    source TEXT,
    run_id BIGINT REFERENCES runs (id),
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (fund_id, period)
);
CREATE INDEX summaries_period ON summaries (period);

-- Every superseded revision, never overwritten.
CREATE TABLE summary_revisions (
    fund_id TEXT NOT NULL,
    period TEXT NOT NULL,
    revision BIGINT NOT NULL,
    members_total BIGINT,
    members_children BIGINT,
    members_working BIGINT,
    members_elderly BIGINT,
    members_joined BIGINT,
    members_left BIGINT,
    contrib_members_satang BIGINT,
    grant_state_satang BIGINT,
    grant_local_satang BIGINT,
    income_other_satang BIGINT,
    benefits_birth_satang BIGINT,
    benefits_sickness_satang BIGINT,
    benefits_death_satang BIGINT,
    benefits_elderly_satang BIGINT,
    benefits_education_satang BIGINT,
    benefits_occupation_satang BIGINT,
    benefits_disability_satang BIGINT,
    benefits_disaster_satang BIGINT,
    benefits_other_satang BIGINT,
    beneficiaries BIGINT,
    services_noncash BIGINT,
    admin_costs_satang BIGINT,
    fund_balance_satang BIGINT,
    reported_at TEXT,
    source TEXT,
    run_id BIGINT,
    recorded_at TEXT NOT NULL,
    superseded_at TEXT NOT NULL,
    superseded_by_run BIGINT,
    PRIMARY KEY (fund_id, period, revision)
);

-- Rows a connector could not accept, with the reason and where they came from.
CREATE TABLE quarantine (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id BIGINT REFERENCES runs (id),
    connector_id TEXT,
    location TEXT NOT NULL,
    reason TEXT NOT NULL,
    raw TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX quarantine_connector ON quarantine (connector_id, id);

-- Every change made to the store, by whom.
CREATE TABLE audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT,
    detail TEXT
);
