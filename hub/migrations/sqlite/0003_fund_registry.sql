-- The fund registry operators own: a fund is registered to a tambon, or a provincial-level fund to
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
CREATE INDEX audit_subject ON audit (subject, id);
