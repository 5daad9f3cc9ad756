//! The gate in front of user SQL: a statement of bounded size and nesting, exactly one, and that
//! one a query.
//!
//! DataFusion's `SQLOptions` already refuses DDL, DML and `SET`; this check runs first so the user
//! gets one clear message ("one SELECT") whatever else was sent, and so several statements glued
//! together with `;` never reach the planner. The parser, the planner and the optimizer all recurse
//! over the statement, and sqlparser builds `1+1+…+1` and `… UNION ALL …` chains in a loop that no
//! parser recursion limit sees: so the statement's depth is measured here, before anything deep
//! runs, and refused beyond the limit.

use std::collections::VecDeque;
use std::ops::ControlFlow;

use datafusion::error::DataFusionError;
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::ast::{self, SetExpr, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::ParserError;

use crate::error::{QueryError, clip};

/// How large and how deep a user statement may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementLimits {
    /// Bytes of SQL text.
    pub max_bytes: usize,
    /// Levels of nesting: expressions inside expressions, queries inside queries, set operations
    /// chained; also the parser's recursion limit.
    pub max_depth: usize,
}

impl Default for StatementLimits {
    fn default() -> Self {
        StatementLimits {
            max_bytes: 64 * 1024,
            max_depth: 100,
        }
    }
}

/// Accepts only a single `SELECT` (or `WITH … SELECT`, `VALUES`, set operations of them) within the
/// default size and depth limits.
pub fn check_select(sql: &str) -> Result<(), QueryError> {
    user_statement(sql, StatementLimits::default()).map(drop)
}

/// Parses user SQL into the one query it must be, refusing it when it is too long, nests too deep,
/// holds more than one statement or is anything but a query.
///
/// A refused deep statement is still parsed (the parser does not recurse over chains) and dropped,
/// which recurses once over it: callers run this on a thread whose stack fits the deepest statement
/// of `max_bytes`.
pub fn user_statement(sql: &str, limits: StatementLimits) -> Result<Statement, QueryError> {
    if sql.len() > limits.max_bytes {
        return Err(QueryError::TooLong {
            bytes: sql.len(),
            limit: limits.max_bytes,
        });
    }
    if sql.trim().is_empty() {
        return Err(QueryError::Invalid("SQL: the query is empty".into()));
    }
    let mut statements = parse(sql, limits.max_depth)?;
    if statements.len() != 1 {
        return Err(QueryError::Invalid(format!(
            "SQL: send exactly one SELECT statement, not {}",
            statements.len()
        )));
    }
    let statement = statements.pop_front().expect("one statement");
    match &statement {
        Statement::Statement(s) if matches!(**s, ast::Statement::Query(_)) => {
            check_depth(s, limits.max_depth)?;
            Ok(statement)
        }
        _ => {
            // The first word of the text, not the statement printed back: printing recurses.
            let first = sql.split_whitespace().next().unwrap_or("").to_uppercase();
            Err(QueryError::Invalid(format!(
                "SQL: only a read-only SELECT is allowed, not {}",
                clip(&first)
            )))
        }
    }
}

fn parse(sql: &str, recursion_limit: usize) -> Result<VecDeque<Statement>, QueryError> {
    let dialect = GenericDialect {};
    let parsed = DFParserBuilder::new(sql)
        .with_dialect(&dialect)
        .with_recursion_limit(recursion_limit)
        .build()
        .and_then(|mut p| p.parse_statements());
    parsed.map_err(|e| match e {
        DataFusionError::SQL(ref p, _) if matches!(**p, ParserError::RecursionLimitExceeded) => {
            QueryError::TooDeep {
                what: "parentheses, subqueries or function calls",
                limit: recursion_limit,
            }
        }
        other => QueryError::Invalid(format!("SQL: {}", clip(&other.strip_backtrace()))),
    })
}

/// Refuses a statement whose expressions or queries nest deeper than `limit`. The walk stops at the
/// first level past the limit, so it never recurses deeper than the limit itself.
fn check_depth(statement: &ast::Statement, limit: usize) -> Result<(), QueryError> {
    let mut depth = Depth {
        limit,
        expressions: 0,
        queries: 0,
    };
    match statement.visit(&mut depth) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(what) => Err(QueryError::TooDeep { what, limit }),
    }
}

struct Depth {
    limit: usize,
    expressions: usize,
    queries: usize,
}

impl Visitor for Depth {
    type Break = &'static str;

    fn pre_visit_query(&mut self, query: &ast::Query) -> ControlFlow<Self::Break> {
        self.queries += 1;
        if self.queries > self.limit {
            return ControlFlow::Break("subqueries");
        }
        // The visitor walks a chain of set operations without calling back: measure it here,
        // without recursing.
        if set_operation_depth(&query.body, self.limit) > self.limit {
            return ControlFlow::Break("UNION, INTERSECT or EXCEPT operations");
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _: &ast::Query) -> ControlFlow<Self::Break> {
        self.queries -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, _: &ast::Expr) -> ControlFlow<Self::Break> {
        self.expressions += 1;
        if self.expressions > self.limit {
            return ControlFlow::Break("expressions");
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _: &ast::Expr) -> ControlFlow<Self::Break> {
        self.expressions -= 1;
        ControlFlow::Continue(())
    }
}

/// The depth of nested set operations under `body`, counted with a stack of its own and given up
/// once past `limit`.
fn set_operation_depth(body: &SetExpr, limit: usize) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(body, 0usize)];
    while let Some((node, depth)) = pending.pop() {
        deepest = deepest.max(depth);
        if deepest > limit {
            break;
        }
        if let SetExpr::SetOperation { left, right, .. } = node {
            pending.push((left, depth + 1));
            pending.push((right, depth + 1));
        }
    }
    deepest
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

    const LIMITS: StatementLimits = StatementLimits {
        max_bytes: 64 * 1024,
        max_depth: 100,
    };

    /// Runs `f` on a thread with the query threads' stack, as the sandbox does.
    fn on_query_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(crate::user_sql::QUERY_STACK_BYTES)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    fn refusal(sql: String) -> String {
        on_query_stack(move || user_statement(&sql, LIMITS).unwrap_err().to_string())
    }

    #[test]
    fn long_chains_of_operators_are_refused_by_depth() {
        let sum = format!("SELECT 1{}", "+1".repeat(1000));
        assert_eq!(
            refusal(sum),
            "SQL: expressions nest deeper than 100 levels; write the statement flatter"
        );
        // The deepest statement of the largest accepted size is still measured and refused.
        let longest = format!("SELECT 1{}", "+1".repeat((LIMITS.max_bytes - 9) / 2));
        assert!(longest.len() <= LIMITS.max_bytes);
        assert!(refusal(longest).contains("expressions nest deeper"));
        // Ninety-nine terms are fine.
        user_statement(&format!("SELECT 1{}", "+1".repeat(98)), LIMITS).unwrap();
    }

    #[test]
    fn wide_unions_are_refused_by_depth_or_size() {
        let union = |n: usize| format!("SELECT 1{}", " UNION ALL SELECT 1".repeat(n));
        assert_eq!(
            refusal(union(1000)),
            "SQL: UNION, INTERSECT or EXCEPT operations nest deeper than 100 levels; write the statement flatter"
        );
        assert_eq!(
            refusal(union(20_000)),
            format!(
                "SQL: the statement is {} bytes; at most 65536 are accepted",
                union(20_000).len()
            )
        );
        user_statement(&union(50), LIMITS).unwrap();
    }

    #[test]
    fn nested_parentheses_and_subqueries_stop_at_the_parser_limit() {
        let parens = format!("SELECT {}1{}", "(".repeat(500), ")".repeat(500));
        assert!(refusal(parens).contains("nest deeper than 100 levels"));
        let mut sub = "SELECT 1".to_string();
        for _ in 0..200 {
            sub = format!("SELECT * FROM ({sub}) t");
        }
        assert!(refusal(sub).contains("nest deeper than 100 levels"));
    }

    #[test]
    fn errors_never_echo_more_than_200_characters() {
        let word = "x".repeat(5000);
        let e = user_statement(&format!("SELECT 1 {word} {word}"), LIMITS)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("SQL:"), "{e}");
        assert!(
            e.chars().count() < 260,
            "{} characters: {e}",
            e.chars().count()
        );
        let e = user_statement(&format!("{word} TABLE t"), LIMITS)
            .unwrap_err()
            .to_string();
        assert!(e.chars().count() < 260, "{e}");
    }
}
