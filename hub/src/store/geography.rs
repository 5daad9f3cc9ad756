//! Importing a geography bundle: one transaction, only what changed is written, and an unchanged
//! bundle writes nothing at all.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;
use welfare_geo::Bundle;

use super::rows::{SqlValue, insert_rows, set_excluded, trusted};
use super::{Store, StoreError};

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GeographyImport {
    pub areas_written: u64,
    pub areas_unchanged: u64,
    pub population_written: u64,
    pub population_unchanged: u64,
    pub boundaries_written: u64,
    pub boundaries_unchanged: u64,
    /// Areas in the store that the bundle no longer lists; kept (funds may point at them).
    pub areas_not_in_bundle: u64,
}

impl GeographyImport {
    pub fn changed(&self) -> bool {
        self.areas_written + self.population_written + self.boundaries_written > 0
    }
}

const AREA_COLUMNS: &[&str] = &[
    "code",
    "level",
    "parent_code",
    "region",
    "name_th",
    "name_en",
    "postcode",
    "geom_code",
    "geom_relation",
    "pop_total",
    "pop_male",
    "pop_female",
    "households",
    "pop_year",
];
/// The first this many columns of [`AREA_COLUMNS`] are text, the rest integers.
const AREA_TEXT_COLUMNS: usize = 9;
const POPULATION_COLUMNS: &[&str] = &[
    "code",
    "year",
    "pop_total",
    "pop_male",
    "pop_female",
    "households",
    "code_current",
];
const POPULATION_TEXT_COLUMNS: usize = 1;
const BOUNDARY_COLUMNS: &[&str] = &["level", "code", "geometry"];
const BOUNDARY_TEXT_COLUMNS: usize = 3;

/// Reads every row of `table` as value lists keyed by the first `key_len` columns; the first
/// `text_columns` columns are text, the others integers.
async fn load_table(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str],
    text_columns: usize,
    key_len: usize,
) -> Result<HashMap<Vec<SqlValue>, Vec<SqlValue>>, StoreError> {
    let sql = format!("SELECT {} FROM {table}", columns.join(", "));
    let rows = sqlx::query(trusted(&sql)).fetch_all(&mut *conn).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let mut values = Vec::with_capacity(columns.len());
        for (i, _) in columns.iter().enumerate() {
            let value = if i < text_columns {
                SqlValue::Text(row.try_get::<Option<String>, _>(i)?)
            } else {
                SqlValue::Int(row.try_get::<Option<i64>, _>(i)?)
            };
            values.push(value);
        }
        out.insert(values[..key_len].to_vec(), values);
    }
    Ok(out)
}

/// Keeps the rows that differ from what is stored; counts the others.
fn changed_rows(
    wanted: Vec<Vec<SqlValue>>,
    stored: &HashMap<Vec<SqlValue>, Vec<SqlValue>>,
    key_len: usize,
) -> (Vec<Vec<SqlValue>>, u64) {
    let mut unchanged = 0;
    let rows = wanted
        .into_iter()
        .filter(|row| {
            let same = stored.get(&row[..key_len]) == Some(row);
            unchanged += u64::from(same);
            !same
        })
        .collect();
    (rows, unchanged)
}

impl Store {
    /// Loads `bundle` into the store in one transaction. Rows equal to what is stored are not written;
    /// re-importing the same bundle changes nothing (not even the audit trail).
    pub async fn import_geography(
        &self,
        bundle: &Bundle,
        actor: &str,
    ) -> Result<GeographyImport, StoreError> {
        let mut report = GeographyImport::default();
        let mut tx = self.write_tx().await?;

        let areas: Vec<Vec<SqlValue>> = bundle
            .areas
            .iter()
            .map(|a| {
                vec![
                    SqlValue::text(a.code.as_str()),
                    SqlValue::text(a.level.as_str()),
                    SqlValue::opt_text(a.parent.as_ref().map(|p| p.to_string())),
                    SqlValue::text(a.code.region().code()),
                    SqlValue::text(&a.name_th),
                    SqlValue::text(&a.name_en),
                    SqlValue::opt_text(a.postcode.clone()),
                    SqlValue::text(a.geom_code.as_str()),
                    SqlValue::opt_text(a.geom_relation.clone()),
                    SqlValue::int(a.population.total),
                    SqlValue::int(a.population.male),
                    SqlValue::int(a.population.female),
                    SqlValue::int(a.population.households),
                    SqlValue::int(i64::from(bundle.population_year)),
                ]
            })
            .collect();
        let stored = load_table(&mut tx, "areas", AREA_COLUMNS, AREA_TEXT_COLUMNS, 1).await?;
        let in_bundle: std::collections::HashSet<&str> =
            bundle.areas.iter().map(|a| a.code.as_str()).collect();
        report.areas_not_in_bundle = stored
            .keys()
            .filter(|k| matches!(&k[0], SqlValue::Text(Some(c)) if !in_bundle.contains(c.as_str())))
            .count() as u64;
        // Bundle order is provinces, districts, tambons: parents are written before children.
        let (areas, unchanged) = changed_rows(areas, &stored, 1);
        report.areas_unchanged = unchanged;
        report.areas_written = insert_rows(
            &mut tx,
            self.backend,
            "areas",
            AREA_COLUMNS,
            &areas,
            &format!(
                "ON CONFLICT (code) DO UPDATE SET {}",
                set_excluded(&AREA_COLUMNS[1..])
            ),
        )
        .await?;

        let population: Vec<Vec<SqlValue>> = bundle
            .population_by_year
            .iter()
            .map(|p| {
                vec![
                    SqlValue::text(p.code.as_str()),
                    SqlValue::int(i64::from(p.year)),
                    SqlValue::Int(p.total),
                    SqlValue::Int(p.male),
                    SqlValue::Int(p.female),
                    SqlValue::Int(p.households),
                    SqlValue::int(i64::from(p.current)),
                ]
            })
            .collect();
        let stored = load_table(
            &mut tx,
            "area_population",
            POPULATION_COLUMNS,
            POPULATION_TEXT_COLUMNS,
            2,
        )
        .await?;
        let (population, unchanged) = changed_rows(population, &stored, 2);
        report.population_unchanged = unchanged;
        report.population_written = insert_rows(
            &mut tx,
            self.backend,
            "area_population",
            POPULATION_COLUMNS,
            &population,
            &format!(
                "ON CONFLICT (code, year) DO UPDATE SET {}",
                set_excluded(&POPULATION_COLUMNS[2..])
            ),
        )
        .await?;

        let boundaries: Vec<Vec<SqlValue>> = bundle
            .boundaries
            .iter()
            .map(|b| {
                let geometry = serde_json::to_string(&b.geometry)
                    .map_err(|e| StoreError::Invalid(format!("geometry of {}: {e}", b.code)))?;
                Ok(vec![
                    SqlValue::text(b.level.as_str()),
                    SqlValue::text(b.code.as_str()),
                    SqlValue::text(geometry),
                ])
            })
            .collect::<Result<_, StoreError>>()?;
        let stored = load_table(
            &mut tx,
            "boundaries",
            BOUNDARY_COLUMNS,
            BOUNDARY_TEXT_COLUMNS,
            2,
        )
        .await?;
        let (boundaries, unchanged) = changed_rows(boundaries, &stored, 2);
        report.boundaries_unchanged = unchanged;
        report.boundaries_written = insert_rows(
            &mut tx,
            self.backend,
            "boundaries",
            BOUNDARY_COLUMNS,
            &boundaries,
            "ON CONFLICT (level, code) DO UPDATE SET geometry = excluded.geometry",
        )
        .await?;

        if report.changed() {
            let detail = serde_json::json!({
                "bundle": bundle.dir.display().to_string(),
                "population_year": bundle.population_year,
                "report": report,
            });
            // Geography is loaded by the operator on the hub's machine (the command line, the demo),
            // who holds the store: an admin's change.
            let actor = super::audit::Actor {
                name: actor.to_string(),
                role: "admin".into(),
            };
            super::audit::audit_changes(
                &mut tx,
                self.backend,
                &actor,
                "geography.import",
                &[super::audit::Change {
                    subject: "geography".into(),
                    province: None,
                    before: None,
                    after: Some(detail),
                }],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(report)
    }
}
