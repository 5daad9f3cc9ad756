//! Canonical summaries as Arrow record batches ([`welfare_model::summary_schema`]) and back.

use std::sync::Arc;

use arrow_array::builder::{
    Decimal128Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{
    Array, ArrayRef, Decimal128Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{ArrowError, SchemaRef};
use chrono::{DateTime, Utc};
use welfare_model::summary::{MEASURES, MeasureValue};
use welfare_model::{FundId, MONEY_PRECISION, MONEY_SCALE, Money, Period, Summary, summary_schema};

/// The summary schema, shared.
pub fn schema() -> SchemaRef {
    static SCHEMA: std::sync::OnceLock<SchemaRef> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(summary_schema())).clone()
}

/// Summaries as one record batch.
pub fn to_batch(rows: &[Summary]) -> Result<RecordBatch, ArrowError> {
    let mut fund = StringBuilder::new();
    let mut period = StringBuilder::new();
    for s in rows {
        fund.append_value(s.fund_id.as_str());
        period.append_value(s.period.to_string());
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(fund.finish()), Arc::new(period.finish())];
    for (i, m) in MEASURES.iter().enumerate() {
        if m.unit.is_money() {
            let mut b = Decimal128Builder::with_capacity(rows.len())
                .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)?;
            for s in rows {
                match s.measure(i) {
                    MeasureValue::Money(v) => b.append_option(v.map(Money::to_i128)),
                    MeasureValue::Count(_) => unreachable!("money measure"),
                }
            }
            columns.push(Arc::new(b.finish()));
        } else {
            let mut b = Int64Builder::with_capacity(rows.len());
            for s in rows {
                match s.measure(i) {
                    MeasureValue::Count(v) => b.append_option(v),
                    MeasureValue::Money(_) => unreachable!("count measure"),
                }
            }
            columns.push(Arc::new(b.finish()));
        }
    }
    let mut reported = TimestampMicrosecondBuilder::with_capacity(rows.len()).with_timezone("UTC");
    let mut source = StringBuilder::new();
    for s in rows {
        reported.append_option(s.reported_at.map(|t| t.timestamp_micros()));
        source.append_option(s.source.as_deref());
    }
    columns.push(Arc::new(reported.finish()));
    columns.push(Arc::new(source.finish()));
    RecordBatch::try_new(schema(), columns)
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, ArrowError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| ArrowError::SchemaError(format!("batch has no column {name}")))?
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| ArrowError::SchemaError(format!("column {name} has the wrong type")))
}

/// Summaries from a batch of the summary schema. Row `i`'s problem (a bad fund id or period) is an
/// error naming the row.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<Summary>, ArrowError> {
    let fund: &StringArray = column(batch, "fund_id")?;
    let period: &StringArray = column(batch, "period")?;
    let reported: &TimestampMicrosecondArray = column(batch, "reported_at")?;
    let source: &StringArray = column(batch, "source")?;
    let mut out = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let bad = |e: String| ArrowError::InvalidArgumentError(format!("row {row}: {e}"));
        let fund_id = FundId::parse(fund.value(row)).map_err(|e| bad(e.to_string()))?;
        let p = Period::parse(period.value(row)).map_err(|e| bad(e.to_string()))?;
        let mut s = Summary::new(fund_id, p);
        s.reported_at = (!reported.is_null(row))
            .then(|| DateTime::<Utc>::from_timestamp_micros(reported.value(row)))
            .flatten();
        s.source = (!source.is_null(row)).then(|| source.value(row).to_string());
        out.push(s);
    }
    for (i, m) in MEASURES.iter().enumerate() {
        if m.unit.is_money() {
            let a: &Decimal128Array = column(batch, m.name)?;
            for (row, s) in out.iter_mut().enumerate() {
                let v = (!a.is_null(row))
                    .then(|| i64::try_from(a.value(row)).map(Money::from_satang))
                    .transpose()
                    .map_err(|_| {
                        ArrowError::InvalidArgumentError(format!(
                            "row {row}: {} out of range",
                            m.name
                        ))
                    })?;
                s.set_measure(i, MeasureValue::Money(v))
                    .map_err(ArrowError::InvalidArgumentError)?;
            }
        } else {
            let a: &Int64Array = column(batch, m.name)?;
            for (row, s) in out.iter_mut().enumerate() {
                let v = (!a.is_null(row)).then(|| a.value(row));
                s.set_measure(i, MeasureValue::Count(v))
                    .map_err(ArrowError::InvalidArgumentError)?;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut a = Summary::new(FundId::parse("F1").unwrap(), Period::new(2025, 10).unwrap());
        a.members_total = Some(12);
        a.fund_balance = Some(Money::parse("9999999999999999.99").unwrap());
        a.grant_state = Some(Money::ZERO);
        a.reported_at = DateTime::from_timestamp(1_700_000_000, 123_000);
        a.source = Some("connector:x".into());
        let b = Summary::new(FundId::parse("F2").unwrap(), Period::new(2025, 11).unwrap());
        let batch = to_batch(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema(), schema());
        assert_eq!(from_batch(&batch).unwrap(), vec![a, b]);
    }
}
