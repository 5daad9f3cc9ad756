//! A versioned, immutable analytics snapshot and the cell that swaps it atomically.
//!
//! Each [`Snapshot`] owns its own DataFusion session over in-memory Arrow tables. Publishing a new
//! one replaces an `Arc` under a lock held for a pointer swap; a query that already took the old
//! `Arc` finishes on the old tables, so nobody ever sees half of a refresh.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::MemTable;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use welfare_model::Period;

use crate::error::QueryError;
use crate::policy::Policy;
use crate::tables::{
    Tables, areas_schema, funds_schema, network_funds_schema, policies_schema, population_schema,
};
use crate::user_sql::{AnswerFormat, Gate, UserAnswer};

/// Limits on the SQL that users send (`POST /api/v1/query`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Memory all user queries together may hold.
    pub memory_bytes: usize,
    /// From admission to the encoded answer, planning included.
    pub time_limit: Duration,
    pub max_rows: usize,
    /// Bytes of SQL text.
    pub max_statement_bytes: usize,
    /// Levels of nesting of expressions, subqueries and set operations.
    pub max_depth: usize,
    /// Bytes of one answer (JSON is cut at whole rows; CSV and Arrow beyond it are refused).
    pub max_answer_bytes: usize,
    /// Bytes that one call of a growing function (`repeat`, `lpad`, `replace`, `range`, …) may
    /// produce, while planning or running; all calls of one query together may produce four times it.
    pub max_value_bytes: usize,
    /// User queries that run at once.
    pub concurrent: usize,
    /// How long a query waits for a free slot before it is told to come back.
    pub queue_wait: Duration,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        let statement = crate::guard::StatementLimits::default();
        SandboxLimits {
            memory_bytes: 512 * 1024 * 1024,
            time_limit: Duration::from_secs(10),
            max_rows: 100_000,
            max_statement_bytes: statement.max_bytes,
            max_depth: statement.max_depth,
            max_answer_bytes: 64 * 1024 * 1024,
            max_value_bytes: 16 * 1024 * 1024,
            concurrent: 3,
            queue_wait: Duration::from_secs(2),
        }
    }
}

/// One consistent picture of the store for analytics.
pub struct Snapshot {
    pub version: u64,
    pub built_at: DateTime<Utc>,
    pub tables: Tables,
    ctx: SessionContext,
    sandbox: SessionContext,
    pub limits: SandboxLimits,
    names: HashMap<String, (String, String)>,
    /// Shared by every snapshot the same cell publishes, so a swap never doubles the slots.
    gate: Arc<Gate>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("version", &self.version)
            .field("built_at", &self.built_at)
            .field("summary_rows", &self.tables.summary_rows)
            .finish_non_exhaustive()
    }
}

/// The table names users can query.
pub const TABLES: [&str; 6] = [
    "areas",
    "population",
    "funds",
    "network_funds",
    "summaries",
    "policies",
];

fn session(partitions: usize, memory: Option<usize>) -> Result<SessionContext, QueryError> {
    let config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_information_schema(true);
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(bytes) = memory {
        // User SQL stays in its memory budget: no spilling to temporary files on the hub's disk.
        runtime = runtime
            .with_memory_limit(bytes, 1.0)
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            );
    }
    Ok(SessionContext::new_with_config_rt(
        config,
        runtime.build_arc()?,
    ))
}

fn register(
    ctx: &SessionContext,
    name: &str,
    schema: SchemaRef,
    partitions: Vec<Vec<RecordBatch>>,
) -> Result<(), QueryError> {
    ctx.register_table(name, Arc::new(MemTable::try_new(schema, partitions)?))?;
    Ok(())
}

impl Snapshot {
    /// Registers the tables in two sessions: one for the hub's own indicator SQL, and a sandbox with
    /// a memory limit for SQL that users send.
    pub fn new(version: u64, tables: Tables, limits: SandboxLimits) -> Result<Self, QueryError> {
        let partitions = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2)
            .max(1);
        let ctx = session(partitions, None)?;
        let sandbox = session(partitions, Some(limits.memory_bytes))?;
        // Summaries are spread over as many partitions as cores, so scans and aggregates run in
        // parallel without a repartition step.
        let mut summary_parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
        for (i, b) in tables.summaries.iter().enumerate() {
            summary_parts[i % partitions].push(b.clone());
        }
        let summaries_schema = tables.summaries[0].schema();
        for c in [&ctx, &sandbox] {
            register(c, "areas", areas_schema(), vec![vec![tables.areas.clone()]])?;
            register(
                c,
                "population",
                population_schema(),
                vec![vec![tables.population.clone()]],
            )?;
            register(c, "funds", funds_schema(), vec![vec![tables.funds.clone()]])?;
            register(
                c,
                "network_funds",
                network_funds_schema(),
                vec![vec![tables.network_funds.clone()]],
            )?;
            register(
                c,
                "summaries",
                summaries_schema.clone(),
                summary_parts.clone(),
            )?;
            register(
                c,
                "policies",
                policies_schema(),
                vec![vec![tables.policies.clone()]],
            )?;
        }
        // Assessments serve the hub's own indicators only; user SQL sees the tables of [`TABLES`].
        register(
            &ctx,
            "assessments",
            crate::governance::assessments_schema(),
            vec![vec![tables.assessments.clone()]],
        )?;
        let names = area_names(&tables)?;
        Ok(Snapshot {
            names,
            version,
            built_at: Utc::now(),
            tables,
            ctx,
            sandbox,
            limits,
            gate: Arc::new(Gate::new(limits.concurrent)),
        })
    }

    /// Thai and English names by area code.
    pub fn area_names(&self) -> &HashMap<String, (String, String)> {
        &self.names
    }

    /// Runs the hub's own SQL to completion.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>, QueryError> {
        let ctx = self.ctx.clone();
        let sql = sql.to_string();
        // Planning and a plan's single-partition stages run on the task that polls them: a task of
        // its own lets independent statements of one request (figures and risk) use both cores.
        tokio::spawn(async move {
            let df = ctx.sql(&sql).await?;
            let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
            let mut batches = df.collect().await.map_err(QueryError::from_engine)?;
            if batches.is_empty() {
                // An empty answer still has its columns.
                batches.push(RecordBatch::new_empty(schema));
            }
            Ok(batches)
        })
        .await
        .map_err(|e| {
            QueryError::Engine(datafusion::error::DataFusionError::External(Box::new(e)))
        })?
    }

    /// The session of the hub's own SQL (for benchmarks and exports).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The latest month any fund reported.
    pub fn latest_period(&self) -> Option<Period> {
        self.tables.latest_period
    }

    /// The first and the latest month any fund reported.
    pub fn period_span(&self) -> Option<(Period, Period)> {
        self.tables.first_period.zip(self.tables.latest_period)
    }

    /// Whether the snapshot knows a network with this id.
    pub fn has_network(&self, id: &str) -> bool {
        self.tables.networks.contains(id)
    }

    pub fn policies(&self) -> &[Policy] {
        &self.tables.policy_list
    }

    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.tables.policy_list.iter().find(|p| p.name == name)
    }

    /// The population year used for a period: the period's year, within the years the data has.
    pub fn population_year(&self, period: Period) -> i32 {
        match self.tables.population_years {
            Some((lo, hi)) => period.year().clamp(lo, hi),
            None => period.year(),
        }
    }

    /// Runs user SQL in the sandbox: exactly one read-only query, within the size, depth, time,
    /// memory and row limits. Returns the batches and whether rows were cut at a cap.
    pub async fn user_query(
        &self,
        sql: &str,
    ) -> Result<(SchemaRef, Vec<RecordBatch>, bool), QueryError> {
        let ran = crate::user_sql::run(&self.gate, &self.sandbox, sql, self.limits, None).await?;
        Ok((ran.schema, ran.batches, ran.truncated))
    }

    /// Runs user SQL like [`Snapshot::user_query`] and encodes the answer on the query's own
    /// threads, cut at the byte cap.
    pub async fn user_answer(
        &self,
        sql: &str,
        format: AnswerFormat,
    ) -> Result<UserAnswer, QueryError> {
        let ran =
            crate::user_sql::run(&self.gate, &self.sandbox, sql, self.limits, Some(format)).await?;
        ran.answer
            .ok_or_else(|| QueryError::Data("the query thread encoded no answer".into()))
    }
}

fn area_names(tables: &Tables) -> Result<HashMap<String, (String, String)>, QueryError> {
    let c = crate::output::Columns::new(std::slice::from_ref(&tables.areas))?;
    Ok(c.texts("code")?
        .into_iter()
        .zip(c.texts("name_th")?.into_iter().zip(c.texts("name_en")?))
        .filter_map(|(code, (th, en))| {
            Some((code?, (th.unwrap_or_default(), en.unwrap_or_default())))
        })
        .collect())
}

/// The current snapshot, swapped whole.
#[derive(Debug)]
pub struct SnapshotCell {
    current: RwLock<Arc<Snapshot>>,
}

impl SnapshotCell {
    pub fn new(first: Snapshot) -> Self {
        SnapshotCell {
            current: RwLock::new(Arc::new(first)),
        }
    }

    /// The snapshot to answer a request with; hold it for the whole request.
    pub fn current(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Publishes `next` unless a newer version is already in place; returns the version now current.
    pub fn publish(&self, next: Snapshot) -> u64 {
        let mut slot = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if next.version > slot.version {
            let mut next = next;
            next.gate = slot.gate.clone();
            *slot = Arc::new(next);
        }
        slot.version
    }

    pub fn version(&self) -> u64 {
        self.current().version
    }
}
