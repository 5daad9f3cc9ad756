//! The gate in front of user SQL: exactly one statement, and that statement a query.
//!
//! DataFusion's `SQLOptions` already refuses DDL, DML and `SET`; this check runs first so the user
//! gets one clear message ("one SELECT") whatever else was sent, and so several statements glued
//! together with `;` never reach the planner.

use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::dialect::GenericDialect;

use crate::error::QueryError;

/// Accepts only a single `SELECT` (or `WITH … SELECT`, `VALUES`, set operations of them).
pub fn check_select(sql: &str) -> Result<(), QueryError> {
    if sql.trim().is_empty() {
        return Err(QueryError::Invalid("SQL: the query is empty".into()));
    }
    let statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})
        .map_err(|e| QueryError::Invalid(format!("SQL: {e}")))?;
    if statements.len() != 1 {
        return Err(QueryError::Invalid(format!(
            "SQL: send exactly one SELECT statement, not {}",
            statements.len()
        )));
    }
    match &statements[0] {
        Statement::Statement(s) if matches!(**s, ast::Statement::Query(_)) => Ok(()),
        other => {
            let text = other.to_string();
            let first = text.split_whitespace().next().unwrap_or("").to_uppercase();
            Err(QueryError::Invalid(format!(
                "SQL: only a read-only SELECT is allowed, not {first}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_queries() {
        check_select("SELECT 1").unwrap();
        check_select("WITH a AS (SELECT 1 AS x) SELECT x FROM a").unwrap();
        check_select("select code from areas union all select code from areas;").unwrap();
    }

    #[test]
    fn refuses_everything_else() {
        for (sql, word) in [
            ("DELETE FROM summaries", "DELETE"),
            ("DROP TABLE funds", "DROP"),
            ("CREATE TABLE x AS SELECT 1", "CREATE"),
            ("INSERT INTO funds VALUES (1)", "INSERT"),
            ("SET datafusion.execution.batch_size = 1", "SET"),
            ("COPY summaries TO 'x.csv'", "COPY"),
            (
                "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION 'x'",
                "CREATE",
            ),
        ] {
            let e = check_select(sql).unwrap_err().to_string();
            assert!(e.contains(word), "{sql}: {e}");
        }
        let e = check_select("SELECT 1; DROP TABLE funds")
            .unwrap_err()
            .to_string();
        assert!(e.contains("exactly one"), "{e}");
        assert!(check_select("  ").is_err());
        assert!(
            check_select("SELEC 1")
                .unwrap_err()
                .to_string()
                .starts_with("SQL:")
        );
    }
}
