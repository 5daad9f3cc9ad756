-- Governance assessments: a fund's dated results on the national standard form for welfare funds
-- (morality and good governance), each with its form version, overall level and a score per
-- dimension. Changes are audited. Kept column-for-column identical with the other back end's
-- migration.
CREATE TABLE assessments (
    fund_id TEXT NOT NULL REFERENCES funds (id),
    -- The day of the assessment (ISO date).
    assessed_on TEXT NOT NULL,
    form_version TEXT NOT NULL,
    -- excellent (ดีมาก), good (ดี), fair (พอใช้) or improve (ต้องปรับปรุง).
    overall_level TEXT NOT NULL,
    -- Score per dimension as JSON: {"ธรรมาภิบาล": 80, "คุณธรรม": "72.5"} (whole scores as numbers,
    -- others as decimal strings).
    scores TEXT NOT NULL,
    assessor TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (fund_id, assessed_on, form_version)
);
