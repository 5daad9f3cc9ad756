//! Running SQL that users send (`POST /api/v1/query`) so that no statement can crash, starve or
//! bloat the hub.
//!
//! - A few user queries run at once ([`Gate`]); the rest wait briefly, then are told to come back.
//! - Each runs on threads of its own with a large stack ([`QUERY_STACK_BYTES`]): parsing, the depth
//!   check, planning, optimising, executing and encoding all happen there, never on the threads that
//!   serve the API, and no statement the depth check accepts can exhaust that stack.
//! - The time limit covers the whole of it: execution is dropped at the deadline, and planning is
//!   stopped between optimizer rules and inside every size-checked function.
//! - Memory: operators are held to the sandbox's memory pool; functions whose answer can be far
//!   larger than their arguments (`repeat`, `lpad`, `replace`, `range`, …) check, before computing,
//!   that the answer fits the value cap. This also holds while the optimizer folds constants, which
//!   evaluates those functions before any operator runs. The answer is cut at a row cap and a byte
//!   cap, and encoded on the query's threads.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::kernels::aggregate;
use datafusion::arrow::compute::{cast, kernels::length::length};
use datafusion::arrow::datatypes::{DataType, FieldRef, Int64Type, SchemaRef};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{ExprSchema, ScalarValue};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::context::SQLOptions;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::interval_arithmetic::Interval;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, LogicalPlan, ReturnFieldArgs, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::prelude::SessionContext;
use futures_util::StreamExt;

use crate::error::QueryError;
use crate::guard::{StatementLimits, user_statement};
use crate::output::{
    batches_to_json_rows, to_arrow_ipc, to_csv, to_parquet, to_xlsx, workbook_notes,
};
use crate::snapshot::SandboxLimits;

/// The stack of every thread that parses, plans or runs user SQL. Statements of the accepted size
/// that nest too deep are still parsed and dropped before being refused (both walk the whole chain):
/// this fits the deepest statement of the largest accepted size with room to spare. Only the pages
/// a query touches are ever committed, and the threads end with the query.
pub const QUERY_STACK_BYTES: usize = 256 * 1024 * 1024;

/// Threads that execute one user query.
const QUERY_THREADS: usize = 2;

/// A query's growing functions together may make this many times the one-call cap.
const VALUE_CALLS_PER_QUERY: usize = 4;

/// Rows encoded to JSON at a time: the byte cap is checked between chunks.
const JSON_CHUNK_ROWS: usize = 1024;

/// The formats a user query answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerFormat {
    /// A JSON array of row objects.
    Json,
    /// CSV for Excel (UTF-8 with a byte-order mark).
    Csv,
    /// An Arrow IPC stream.
    Arrow,
    /// An XLSX workbook for Excel.
    Xlsx,
    /// A Parquet file.
    Parquet,
}

impl AnswerFormat {
    fn name(self) -> &'static str {
        match self {
            AnswerFormat::Json => "JSON",
            AnswerFormat::Csv => "CSV",
            AnswerFormat::Arrow => "Arrow",
            AnswerFormat::Xlsx => "XLSX",
            AnswerFormat::Parquet => "Parquet",
        }
    }
}

/// An encoded answer to user SQL.
#[derive(Debug)]
pub struct UserAnswer {
    pub format: AnswerFormat,
    /// For JSON, the array of rows; otherwise the whole CSV or Arrow stream.
    pub body: Vec<u8>,
    pub rows: usize,
    /// True when rows were cut at the row cap or the byte cap.
    pub truncated: bool,
}

/// Admits at most a few user queries at once and a short queue behind them.
#[derive(Debug)]
pub struct Gate {
    slots: Arc<tokio::sync::Semaphore>,
    size: usize,
    waiting: AtomicUsize,
}

impl Gate {
    pub fn new(size: usize) -> Self {
        Gate {
            slots: Arc::new(tokio::sync::Semaphore::new(size.max(1))),
            size: size.max(1),
            waiting: AtomicUsize::new(0),
        }
    }

    /// A slot, or `Busy` after `wait` (at once when the queue is already four times the slots).
    async fn admit(&self, wait: Duration) -> Result<tokio::sync::OwnedSemaphorePermit, QueryError> {
        let busy = || QueryError::Busy {
            running: self.size,
            waited_ms: wait.as_millis() as u64,
            retry_after_secs: wait.as_secs().max(1),
        };
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.size * 4 {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(busy());
        }
        let permit = tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match permit {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(_)) => Err(QueryError::Data("user query slots closed".into())),
            Err(_) => Err(busy()),
        }
    }
}

/// What a user query gave.
pub(crate) struct Ran {
    pub(crate) schema: SchemaRef,
    /// Empty when the answer was encoded.
    pub(crate) batches: Vec<RecordBatch>,
    pub(crate) truncated: bool,
    pub(crate) answer: Option<UserAnswer>,
}

/// Runs `sql` in `sandbox` within `limits` on threads of its own; with `format`, also encodes the
/// answer there.
pub(crate) async fn run(
    gate: &Gate,
    sandbox: &SessionContext,
    sql: &str,
    limits: SandboxLimits,
    format: Option<AnswerFormat>,
) -> Result<Ran, QueryError> {
    // Refused before waiting for a slot or copying it anywhere.
    if sql.len() > limits.max_statement_bytes {
        return Err(QueryError::TooLong {
            bytes: sql.len(),
            limit: limits.max_statement_bytes,
        });
    }
    let slot = gate.admit(limits.queue_wait).await?;
    let limit_ms = limits.time_limit.as_millis() as u64;
    let deadline = Instant::now() + limits.time_limit;
    let budget = Arc::new(Budget {
        deadline,
        limit_ms,
        max_value_bytes: limits.max_value_bytes,
        // Growing functions whose answers feed `||` or each other are held to a total, not only
        // call by call: constants folded into the plan are copied by every optimizer pass.
        total_bytes: limits.max_value_bytes.saturating_mul(VALUE_CALLS_PER_QUERY),
        made: AtomicU64::new(0),
        refused: std::sync::Mutex::new(None),
    });
    let ctx = session_for(sandbox, &budget);
    let sql = sql.to_string();
    let work = async move {
        let (schema, batches, truncated) = execute(&ctx, &sql, limits).await?;
        match format {
            None => Ok(Ran {
                schema,
                batches,
                truncated,
                answer: None,
            }),
            Some(f) => {
                let answer = encode(f, &schema, &batches, truncated, limits)?;
                Ok(Ran {
                    schema,
                    batches: Vec::new(),
                    truncated: answer.truncated,
                    answer: Some(answer),
                })
            }
        }
    };
    let (answer, answered) = tokio::sync::oneshot::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("user-sql".into())
        .stack_size(QUERY_STACK_BYTES)
        .spawn(move || {
            let _slot = slot;
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(QUERY_THREADS)
                .thread_stack_size(QUERY_STACK_BYTES)
                .thread_name("user-sql-worker")
                .enable_time()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = answer.send(Err(QueryError::Data(format!("no runtime: {e}"))));
                    return;
                }
            };
            let result = runtime.block_on(async {
                tokio::select! {
                    r = work => r,
                    _ = stopped => Err(QueryError::Timeout(limit_ms)),
                }
            });
            let _ = answer.send(result);
            runtime.shutdown_background();
        })
        .map_err(|e| QueryError::Data(format!("cannot start a query thread: {e}")))?;
    match tokio::time::timeout_at(deadline.into(), answered).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(QueryError::Data(
            "the query thread ended without an answer".into(),
        )),
        Err(_) => {
            let _ = stop.send(());
            Err(QueryError::Timeout(limit_ms))
        }
    }
}

/// Parses, checks, plans and runs the statement; collects rows up to the row and byte caps.
async fn execute(
    ctx: &SessionContext,
    sql: &str,
    limits: SandboxLimits,
) -> Result<(SchemaRef, Vec<RecordBatch>, bool), QueryError> {
    let statement = user_statement(
        sql,
        StatementLimits {
            max_bytes: limits.max_statement_bytes,
            max_depth: limits.max_depth,
        },
    )?;
    let state = ctx.state();
    let plan = state.statement_to_plan(statement).await.map_err(invalid)?;
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(&plan)
        .map_err(invalid)?;
    let df = ctx.execute_logical_plan(plan).await.map_err(invalid)?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let mut stream = df.execute_stream().await.map_err(QueryError::from_engine)?;
    let mut batches = Vec::new();
    let (mut rows, mut bytes) = (0usize, 0usize);
    let mut truncated = false;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(QueryError::from_engine)?;
        let size = batch_bytes(&batch);
        let room_rows = limits.max_rows - rows;
        let room_bytes = limits.max_answer_bytes.saturating_sub(bytes);
        if batch.num_rows() > room_rows || size > room_bytes {
            // Whole rows only; a batch's bytes are shared evenly among its rows for the cut.
            let by_bytes = if size == 0 {
                batch.num_rows()
            } else {
                ((room_bytes as u128 * batch.num_rows() as u128) / size as u128) as usize
            };
            batches.push(batch.slice(0, room_rows.min(by_bytes)));
            truncated = true;
            break;
        }
        rows += batch.num_rows();
        bytes += size;
        batches.push(batch);
    }
    Ok((schema, batches, truncated))
}

/// A planning error is the statement's: the message names the engine's complaint, cut short.
fn invalid(e: DataFusionError) -> QueryError {
    match QueryError::from_engine(e) {
        QueryError::Engine(e) => {
            QueryError::Invalid(format!("SQL: {}", crate::error::clip(&e.strip_backtrace())))
        }
        limit => limit,
    }
}

/// The bytes of the rows of `batch` (a slice counts its own rows, not the buffers it shares).
fn batch_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| {
            c.to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| c.get_array_memory_size())
        })
        .sum()
}

fn encode(
    format: AnswerFormat,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    mut truncated: bool,
    limits: SandboxLimits,
) -> Result<UserAnswer, QueryError> {
    let cap = limits.max_answer_bytes;
    let (body, rows) = match format {
        AnswerFormat::Json => {
            // Encoded a chunk at a time, so a wide answer never sits in memory as JSON values.
            let mut body = vec![b'['];
            let mut rows = 0usize;
            'batches: for batch in batches {
                let mut offset = 0;
                while offset < batch.num_rows() {
                    let len = JSON_CHUNK_ROWS.min(batch.num_rows() - offset);
                    for row in batches_to_json_rows(&[batch.slice(offset, len)])? {
                        let text = serde_json::to_vec(&row)
                            .map_err(|e| QueryError::Data(format!("JSON: {e}")))?;
                        if body.len() + text.len() + 2 > cap {
                            truncated = true;
                            break 'batches;
                        }
                        if rows > 0 {
                            body.push(b',');
                        }
                        body.extend_from_slice(&text);
                        rows += 1;
                    }
                    offset += len;
                }
            }
            body.push(b']');
            (body, rows)
        }
        AnswerFormat::Csv | AnswerFormat::Arrow | AnswerFormat::Xlsx | AnswerFormat::Parquet => {
            let body = match format {
                AnswerFormat::Csv => to_csv(schema, batches)?,
                AnswerFormat::Xlsx => {
                    let notes = workbook_notes(
                        "query",
                        &["A query in SQL over the snapshot (POST /api/v1/query)".into()],
                    );
                    to_xlsx(schema, batches, &notes)?
                }
                AnswerFormat::Parquet => to_parquet(schema, batches)?,
                _ => to_arrow_ipc(schema, batches)?,
            };
            if body.len() > cap {
                return Err(QueryError::AnswerTooLarge {
                    format: format.name(),
                    limit: cap,
                });
            }
            (body, batches.iter().map(RecordBatch::num_rows).sum())
        }
    };
    Ok(UserAnswer {
        format,
        body,
        rows,
        truncated,
    })
}

/// What one user query may still spend, shared by everything that checks it.
#[derive(Debug)]
struct Budget {
    deadline: Instant,
    limit_ms: u64,
    /// One call of a growing function.
    max_value_bytes: usize,
    /// All calls of growing functions in the query together.
    total_bytes: usize,
    /// Bytes the growing functions were allowed so far.
    made: AtomicU64,
    /// The first refusal of a growing function. The optimizer swallows errors while it folds
    /// constants (it keeps the expression to fail at run time, and retries it every pass): the next
    /// optimizer rule fails planning with it instead.
    refused: std::sync::Mutex<Option<String>>,
}

impl Budget {
    /// Counts `bytes` against the query's total; the call that would pass it is refused.
    fn spend(&self, bytes: u128) -> Result<(), u64> {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        let before = self.made.fetch_add(bytes, Ordering::SeqCst);
        if before.saturating_add(bytes) > self.total_bytes as u64 {
            return Err(before);
        }
        Ok(())
    }

    fn refuse(&self, message: String) -> DataFusionError {
        let mut first = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert_with(|| message.clone());
        DataFusionError::ResourcesExhausted(message)
    }

    /// Fails once the time is up or a growing function was refused.
    fn check(&self) -> DfResult<()> {
        let refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(message) = refused.as_ref() {
            return Err(DataFusionError::ResourcesExhausted(message.clone()));
        }
        drop(refused);
        self.check_time()
    }

    fn check_time(&self) -> DfResult<()> {
        if Instant::now() >= self.deadline {
            return Err(DataFusionError::External(Box::new(QueryError::Timeout(
                self.limit_ms,
            ))));
        }
        Ok(())
    }
}

/// A session over the sandbox's tables and memory pool whose optimizer stops at the deadline and
/// whose growing functions check their answer's size first.
fn session_for(sandbox: &SessionContext, budget: &Arc<Budget>) -> SessionContext {
    let state = sandbox.state();
    let deadline: Arc<dyn OptimizerRule + Send + Sync> = Arc::new(Deadline(budget.clone()));
    let rules = state
        .optimizers()
        .iter()
        .flat_map(|rule| [deadline.clone(), rule.clone()])
        .collect();
    let functions: Vec<_> = state
        .scalar_functions()
        .values()
        .filter_map(|f| {
            Growth::of(f.name()).map(|growth| {
                ScalarUDF::new_from_impl(SizeChecked {
                    inner: f.clone(),
                    growth,
                    budget: budget.clone(),
                })
            })
        })
        .collect();
    let ctx = SessionContext::new_with_state(
        SessionStateBuilder::new_from_existing(state)
            .with_optimizer_rules(rules)
            .build(),
    );
    for f in functions {
        ctx.register_udf(f);
    }
    ctx
}

/// An optimizer rule that changes nothing and fails once the query's time is up or a growing function
/// was refused: placed before every rule, it stops planning (constant folding included) there.
#[derive(Debug)]
struct Deadline(Arc<Budget>);

impl OptimizerRule for Deadline {
    fn name(&self) -> &str {
        "user_sql_deadline"
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> DfResult<Transformed<LogicalPlan>> {
        self.0.check()?;
        Ok(Transformed::no(plan))
    }
}

/// How a function's answer can outgrow its arguments, and so what to check before computing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Growth {
    /// `repeat(text, n)`: the text's bytes times n.
    Repeat,
    /// `lpad(text, n [, fill])`, `rpad`: n characters of up to 4 bytes each.
    Pad,
    /// `replace(text, from, to)`, `regexp_replace(text, pattern, to [, flags])`: at worst a `to`
    /// at every byte of the text.
    Replace,
    /// `array_repeat(value, n)`, `array_resize(list, n [, value])`: n elements.
    Elements,
    /// `range(start, stop [, step])`, `generate_series` as a scalar: one 8-byte element per step.
    Range,
}

impl Growth {
    fn of(name: &str) -> Option<Growth> {
        Some(match name {
            "repeat" => Growth::Repeat,
            "lpad" | "rpad" => Growth::Pad,
            "replace" | "regexp_replace" => Growth::Replace,
            "array_repeat" | "array_resize" => Growth::Elements,
            "range" | "generate_series" => Growth::Range,
            _ => return None,
        })
    }

    /// An upper bound of the answer's bytes for these arguments; `None` when it cannot be bounded
    /// (the call is refused).
    fn bound(self, args: &[ColumnarValue], rows: usize) -> Option<u128> {
        let rows = rows.max(1) as u128;
        let count = |i: usize| args.get(i).and_then(largest_int);
        Some(match self {
            Growth::Repeat => text_bytes(args.first()?, rows)? * count(1)?.max(0) as u128,
            Growth::Pad => 4 * rows * count(1)?.max(0) as u128,
            Growth::Replace => {
                let to = args.get(2).and_then(longest_text).unwrap_or(0);
                (text_bytes(args.first()?, rows)? + rows) * (to + 1)
            }
            Growth::Elements => {
                let element = args.first().map(|a| value_bytes(a, rows)).unwrap_or(0);
                (element / rows + 8) * rows * count(1)?.max(0) as u128
            }
            Growth::Range => {
                let (start, stop, step) = match args.len() {
                    1 => (0, count(0)?, 1),
                    2 => (smallest_int(&args[0])?, count(1)?, 1),
                    _ => (smallest_int(&args[0])?, count(1)?, smallest_step(&args[2])?),
                };
                let steps = (stop as i128 - start as i128).unsigned_abs() / step.max(1) as u128;
                8 * rows * (steps + 1)
            }
        })
    }
}

/// Bytes of text in a text argument (a scalar counts once per row).
fn text_bytes(arg: &ColumnarValue, rows: u128) -> Option<u128> {
    match arg {
        ColumnarValue::Scalar(s) => Some(scalar_text(s)?.len() as u128 * rows),
        ColumnarValue::Array(a) => {
            let lengths = length(a).ok()?;
            let lengths = cast(&lengths, &DataType::Int64).ok()?;
            Some(
                aggregate::sum(lengths.as_primitive::<Int64Type>())
                    .unwrap_or(0)
                    .max(0) as u128,
            )
        }
    }
}

fn longest_text(arg: &ColumnarValue) -> Option<u128> {
    match arg {
        ColumnarValue::Scalar(s) => Some(scalar_text(s)?.len() as u128),
        ColumnarValue::Array(a) => {
            let lengths = cast(&length(a).ok()?, &DataType::Int64).ok()?;
            Some(
                aggregate::max(lengths.as_primitive::<Int64Type>())
                    .unwrap_or(0)
                    .max(0) as u128,
            )
        }
    }
}

fn scalar_text(s: &ScalarValue) -> Option<&str> {
    match s {
        ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => {
            Some(v.as_deref().unwrap_or(""))
        }
        _ => None,
    }
}

fn value_bytes(arg: &ColumnarValue, rows: u128) -> u128 {
    match arg {
        ColumnarValue::Scalar(s) => s.size() as u128 * rows,
        ColumnarValue::Array(a) => a.get_array_memory_size() as u128,
    }
}

fn ints(arg: &ColumnarValue) -> Option<ArrayRef> {
    let array = match arg {
        ColumnarValue::Scalar(s) => s.to_array().ok()?,
        ColumnarValue::Array(a) => a.clone(),
    };
    if !array.data_type().is_integer() {
        return None;
    }
    cast(&array, &DataType::Int64).ok()
}

/// The largest integer of an argument (nulls ignored; 0 when all are null); `None` when the
/// argument is not an integer.
fn largest_int(arg: &ColumnarValue) -> Option<i64> {
    Some(aggregate::max(ints(arg)?.as_primitive::<Int64Type>()).unwrap_or(0))
}

fn smallest_int(arg: &ColumnarValue) -> Option<i64> {
    Some(aggregate::min(ints(arg)?.as_primitive::<Int64Type>()).unwrap_or(0))
}

/// The smallest step size (a step of 0 fails in the function itself).
fn smallest_step(arg: &ColumnarValue) -> Option<i64> {
    let steps = ints(arg)?;
    let steps = steps.as_primitive::<Int64Type>();
    Some(
        steps
            .iter()
            .flatten()
            .map(|s| s.saturating_abs())
            .min()
            .unwrap_or(1),
    )
}

/// A growing function that checks the time and its answer's size before computing it.
#[derive(Debug)]
struct SizeChecked {
    inner: Arc<ScalarUDF>,
    growth: Growth,
    budget: Arc<Budget>,
}

impl PartialEq for SizeChecked {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner && Arc::ptr_eq(&self.budget, &other.budget)
    }
}

impl Eq for SizeChecked {}

impl Hash for SizeChecked {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.hash(state);
        self.growth.hash(state);
    }
}

impl SizeChecked {
    fn f(&self) -> &dyn ScalarUDFImpl {
        self.inner.inner().as_ref()
    }
}

impl ScalarUDFImpl for SizeChecked {
    fn name(&self) -> &str {
        self.f().name()
    }

    fn aliases(&self) -> &[String] {
        self.f().aliases()
    }

    fn schema_name(&self, args: &[Expr]) -> DfResult<String> {
        self.f().schema_name(args)
    }

    fn signature(&self) -> &Signature {
        self.f().signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.f().return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        self.f().return_field_from_args(args)
    }

    fn is_nullable(&self, args: &[Expr], schema: &dyn ExprSchema) -> bool {
        #[allow(deprecated)]
        self.f().is_nullable(args, schema)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        self.budget.check_time()?;
        let cap = self.budget.max_value_bytes as u128;
        match self.growth.bound(&args.args, args.number_rows) {
            Some(bytes) if bytes <= cap => match self.budget.spend(bytes) {
                Ok(()) => self.f().invoke_with_args(args),
                Err(before) => Err(self.budget.refuse(format!(
                    "{}(…) would make about {bytes} bytes after {before} made by this query's \
                     growing functions; together they may make at most {} bytes",
                    self.name(),
                    self.budget.total_bytes
                ))),
            },
            bound => Err(self.budget.refuse(format!(
                "{}(…) would make {} over {} rows; one function's answer may hold at most {} bytes",
                self.name(),
                bound.map_or("an answer of unbounded size".to_string(), |b| format!(
                    "about {b} bytes"
                )),
                args.number_rows,
                cap
            ))),
        }
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> DfResult<ExprSimplifyResult> {
        self.f().simplify(args, info)
    }

    fn short_circuits(&self) -> bool {
        self.f().short_circuits()
    }

    fn evaluate_bounds(&self, input: &[&Interval]) -> DfResult<Interval> {
        self.f().evaluate_bounds(input)
    }

    fn output_ordering(&self, inputs: &[ExprProperties]) -> DfResult<SortProperties> {
        self.f().output_ordering(inputs)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        self.f().coerce_types(arg_types)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.f().documentation()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::fixture_tests::fixture_builder;
    use crate::{AnswerFormat, QueryError, SandboxLimits, Snapshot};

    fn snapshot(limits: SandboxLimits) -> Snapshot {
        Snapshot::new(1, fixture_builder().build().unwrap(), limits).unwrap()
    }

    fn memory_refusal(e: QueryError) -> String {
        match e {
            QueryError::ResourcesExhausted(m) => m,
            other => panic!("not a memory refusal: {other:?}"),
        }
    }

    #[tokio::test]
    async fn growing_functions_are_refused_before_they_allocate_even_while_constants_fold() {
        let s = snapshot(SandboxLimits::default());
        for (sql, function) in [
            ("SELECT length(repeat('x', 1000000000))", "repeat"),
            ("SELECT lpad('x', 1000000000)", "lpad"),
            ("SELECT rpad('x', 1000000000, 'ab')", "rpad"),
            ("SELECT cardinality(range(1, 10000000000))", "range"),
            ("SELECT array_repeat(1, 1000000000)", "array_repeat"),
            (
                "SELECT replace(repeat('a', 1000000), 'a', repeat('b', 1000))",
                "replace",
            ),
            // Over columns, at run time: each of the fixture's rows makes 10 MB.
            (
                "SELECT length(repeat(fund_id, 10000000)) FROM summaries",
                "repeat",
            ),
        ] {
            let m = memory_refusal(s.user_query(sql).await.unwrap_err());
            assert!(
                m.starts_with(&format!("{function}(…) would make about "))
                    && m.ends_with("one function's answer may hold at most 16777216 bytes"),
                "{sql}: {m}"
            );
        }
        // Each call fits, together they do not: 5 × 1,000,000 bytes folded into one constant
        // against a 4 × 1 MiB total.
        let small = snapshot(SandboxLimits {
            max_value_bytes: 1024 * 1024,
            ..SandboxLimits::default()
        });
        let chain = ["repeat('x', 1000000)"; 5].join(" || ");
        let m = memory_refusal(
            small
                .user_query(&format!("SELECT length({chain})"))
                .await
                .unwrap_err(),
        );
        assert!(
            m.starts_with("repeat(…) would make about 1000000 bytes after ")
                && m.ends_with("together they may make at most 4194304 bytes"),
            "{m}"
        );
        // Within the cap they answer as usual.
        let (_, batches, _) = s
            .user_query("SELECT length(repeat('ก', 1000)) AS n, lpad('7', 3, '0') AS p")
            .await
            .unwrap();
        let rows = crate::output::batches_to_json_rows(&batches).unwrap();
        assert_eq!(rows[0]["n"], 1000);
        assert_eq!(rows[0]["p"], "007");
    }

    #[tokio::test]
    async fn answers_are_cut_at_the_byte_cap_in_json_and_refused_past_it_in_csv_and_arrow() {
        let s = snapshot(SandboxLimits {
            max_answer_bytes: 4096,
            ..SandboxLimits::default()
        });
        let sql = "SELECT value, repeat('ข', 100) AS t FROM generate_series(1, 10000)";
        let json = s.user_answer(sql, AnswerFormat::Json).await.unwrap();
        assert!(json.truncated);
        assert!(json.body.len() <= 4096, "{} bytes", json.body.len());
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&json.body).unwrap();
        assert_eq!(rows.len(), json.rows);
        assert!(json.rows > 5 && json.rows < 20, "{} rows", json.rows);
        assert_eq!(rows[0]["t"], "ข".repeat(100));
        // The rows are cut at the cap in memory; quotes double in CSV, so its encoding passes it.
        let quotes = "SELECT repeat('\"', 100) AS q FROM generate_series(1, 10000)";
        let e = s.user_answer(quotes, AnswerFormat::Csv).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "the CSV answer is larger than the 4096 byte cap; select fewer rows or columns (LIMIT) or use format=json, which is cut at the cap"
        );
        // 512 integers fill the cap in memory; the stream's own framing passes it.
        let ints = "SELECT value FROM generate_series(1, 10000)";
        let e = s.user_answer(ints, AnswerFormat::Arrow).await.unwrap_err();
        assert!(
            matches!(
                e,
                QueryError::AnswerTooLarge {
                    format: "Arrow",
                    limit: 4096
                }
            ),
            "{e}"
        );
        let csv = s
            .user_answer("SELECT value FROM generate_series(1, 3)", AnswerFormat::Csv)
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8(csv.body).unwrap(),
            "\u{feff}value\n1\n2\n3\n"
        );
        let small = s
            .user_answer("SELECT 1 AS one", AnswerFormat::Json)
            .await
            .unwrap();
        assert!(!small.truncated);
        assert_eq!(String::from_utf8(small.body).unwrap(), r#"[{"one":1}]"#);
    }

    #[tokio::test]
    async fn past_the_slots_and_a_short_wait_a_query_is_told_to_come_back() {
        let s = std::sync::Arc::new(snapshot(SandboxLimits {
            concurrent: 1,
            queue_wait: Duration::from_millis(200),
            time_limit: Duration::from_secs(3),
            ..SandboxLimits::default()
        }));
        let heavy = "SELECT SUM(a.value * b.value) FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b";
        let busy = {
            let s = s.clone();
            tokio::spawn(async move { s.user_query(heavy).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let e = s.user_query("SELECT 1").await.unwrap_err();
        assert!(
            matches!(
                e,
                QueryError::Busy {
                    running: 1,
                    waited_ms: 200,
                    retry_after_secs: 1
                }
            ),
            "{e:?}"
        );
        assert!(matches!(
            busy.await.unwrap(),
            Err(QueryError::Timeout(3000))
        ));
        // The slot is free again once the heavy query stopped.
        s.user_query("SELECT 1").await.unwrap();
    }
}
