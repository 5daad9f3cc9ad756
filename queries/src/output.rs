//! Results as tables, and the ways the API writes a table: JSON, CSV and XLSX for Excel, Arrow IPC and
//! Parquet for analysts.
//!
//! Everything the API returns as rows goes through [`Output`]: the indicator builders fill one, and
//! user SQL results come as Arrow batches already. One writer per format serves both.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Decimal128Builder, Float64Builder, Int64Builder,
    RecordBatch, StringArray, StringBuilder,
};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rust_decimal::Decimal;
use welfare_model::Money;

use crate::error::QueryError;

/// The type of an output column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Int,
    /// Baht: Decimal128(18, 2); a JSON string so no reader turns it into a float.
    Money,
    /// A percentage or ratio, already rounded: Float64 (it is not money).
    Ratio,
    Bool,
}

/// One value of an output cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Money(Option<Money>),
    Ratio(Option<Decimal>),
    Bool(Option<bool>),
}

/// Rows of named, typed columns.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub columns: Vec<(String, ColumnType)>,
    pub rows: Vec<Vec<Value>>,
}

impl Output {
    pub fn new(columns: Vec<(String, ColumnType)>) -> Self {
        Output {
            columns,
            rows: Vec::new(),
        }
    }

    /// An empty table with these columns.
    pub fn with_columns(columns: &[(&str, ColumnType)]) -> Self {
        Output::new(columns.iter().map(|(n, t)| (n.to_string(), *t)).collect())
    }

    /// The Arrow form: what `format=arrow` sends and what the CSV writer reads.
    pub fn to_batch(&self) -> Result<RecordBatch, QueryError> {
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for (i, (name, kind)) in self.columns.iter().enumerate() {
            let cells = self.rows.iter().map(|r| &r[i]);
            let (data_type, array): (DataType, ArrayRef) = match kind {
                ColumnType::Text => {
                    let mut b = StringBuilder::new();
                    for c in cells {
                        b.append_option(match c {
                            Value::Text(v) => v.as_deref(),
                            _ => None,
                        });
                    }
                    (DataType::Utf8, Arc::new(b.finish()))
                }
                ColumnType::Int => {
                    let mut b = Int64Builder::new();
                    for c in cells {
                        b.append_option(match c {
                            Value::Int(v) => *v,
                            _ => None,
                        });
                    }
                    (DataType::Int64, Arc::new(b.finish()))
                }
                ColumnType::Money => {
                    let mut b = Decimal128Builder::new().with_data_type(Money::arrow_type());
                    for c in cells {
                        b.append_option(match c {
                            Value::Money(v) => v.map(Money::to_i128),
                            _ => None,
                        });
                    }
                    (Money::arrow_type(), Arc::new(b.finish()))
                }
                ColumnType::Ratio => {
                    let mut b = Float64Builder::new();
                    for c in cells {
                        b.append_option(match c {
                            Value::Ratio(v) => v.and_then(|d| d.to_string().parse::<f64>().ok()),
                            _ => None,
                        });
                    }
                    (DataType::Float64, Arc::new(b.finish()))
                }
                ColumnType::Bool => {
                    let mut b = BooleanBuilder::new();
                    for c in cells {
                        b.append_option(match c {
                            Value::Bool(v) => *v,
                            _ => None,
                        });
                    }
                    (DataType::Boolean, Arc::new(b.finish()))
                }
            };
            fields.push(Field::new(name, data_type, true));
            arrays.push(array);
        }
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
    }

    /// JSON objects, one per row, in column order.
    pub fn to_json_rows(&self) -> Vec<serde_json::Value> {
        self.rows
            .iter()
            .map(|row| {
                let mut object = serde_json::Map::with_capacity(row.len());
                for ((name, _), value) in self.columns.iter().zip(row) {
                    object.insert(name.clone(), json_value(value));
                }
                serde_json::Value::Object(object)
            })
            .collect()
    }

    /// The index of a column by name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|(n, _)| n == name)
    }
}

fn json_value(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Text(v) => v.clone().map_or(J::Null, J::String),
        Value::Int(v) => v.map_or(J::Null, J::from),
        Value::Money(v) => v.map_or(J::Null, |m| J::String(m.to_string())),
        Value::Ratio(v) => v
            .and_then(|d| serde_json::from_str::<serde_json::Number>(&d.to_string()).ok())
            .map_or(J::Null, J::Number),
        Value::Bool(v) => v.map_or(J::Null, J::Bool),
    }
}

/// JSON rows from Arrow batches (user SQL): integers and floats as numbers, decimals as exact
/// strings, everything else as Arrow displays it.
pub fn batches_to_json_rows(batches: &[RecordBatch]) -> Result<Vec<serde_json::Value>, QueryError> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let mut out = Vec::new();
    let options = FormatOptions::default();
    for batch in batches {
        let schema = batch.schema();
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let mut object = serde_json::Map::new();
            for (i, field) in schema.fields().iter().enumerate() {
                let column = batch.column(i);
                let value = if column.is_null(row) {
                    serde_json::Value::Null
                } else {
                    let text = formatters[i].value(row).to_string();
                    match field.data_type() {
                        DataType::Int8
                        | DataType::Int16
                        | DataType::Int32
                        | DataType::Int64
                        | DataType::UInt8
                        | DataType::UInt16
                        | DataType::UInt32
                        | DataType::UInt64
                        | DataType::Float32
                        | DataType::Float64 => {
                            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
                        }
                        DataType::Boolean => serde_json::Value::Bool(text == "true"),
                        _ => serde_json::Value::String(text),
                    }
                };
                object.insert(field.name().clone(), value);
            }
            out.push(serde_json::Value::Object(object));
        }
    }
    Ok(out)
}

/// CSV for Excel: UTF-8 with a byte-order mark (so Excel reads Thai), a header row, decimals written
/// exactly, and no live formulas: text cells (headings included) go through [`neutralised`]; numbers,
/// negative money among them, are not text and stay as they are.
pub fn to_csv(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>, QueryError> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut writer = arrow_csv::WriterBuilder::new()
            .with_header(true)
            .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%S%:z".to_string())
            .build(&mut out);
        let safe_schema = neutral_schema(schema);
        if batches.is_empty() {
            writer.write(&RecordBatch::new_empty(safe_schema.clone()))?;
        }
        for b in batches {
            writer.write(&neutral_batch(&safe_schema, b)?)?;
        }
    }
    Ok(out)
}

/// The first characters that make a spreadsheet read a cell as a formula (or, tab and CR, hide one).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A text cell as an export writes it: one a spreadsheet would run as a formula gets a leading `'`,
/// which Excel and LibreOffice show as text (OWASP's advice on CSV injection). Names stay stored as
/// written; only exports change.
pub fn neutralised(text: &str) -> Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
    }
}

/// The schema an export writes: headings neutralised, text columns as plain UTF-8.
fn neutral_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let data_type = if is_text(f.data_type()) {
                DataType::Utf8
            } else {
                f.data_type().clone()
            };
            Field::new(neutralised(f.name()), data_type, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// `batch` with every text cell neutralised, under `schema` (from [`neutral_schema`]).
fn neutral_batch(schema: &SchemaRef, batch: &RecordBatch) -> Result<RecordBatch, QueryError> {
    let columns = batch
        .columns()
        .iter()
        .map(|column| {
            if !is_text(column.data_type()) {
                return Ok(column.clone());
            }
            let text = cast(column, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            let safe: StringArray = text.iter().map(|v| v.map(neutralised)).collect();
            Ok(Arc::new(safe) as ArrayRef)
        })
        .collect::<Result<Vec<_>, QueryError>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// A table for people: each column headed by its label and unit in `lang`, and coded values
/// (states, risk, levels, kinds) in words ([`crate::labels`]). Numbers are unchanged.
pub fn in_words(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    lang: crate::labels::Lang,
) -> Result<(SchemaRef, Vec<RecordBatch>), QueryError> {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let data_type = if is_text(f.data_type()) {
                DataType::Utf8
            } else {
                f.data_type().clone()
            };
            Field::new(crate::labels::heading(f.name(), lang), data_type, true)
        })
        .collect();
    let worded = Arc::new(Schema::new(fields));
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let columns = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(column, field)| {
                if !is_text(column.data_type()) {
                    return Ok(column.clone());
                }
                let text = cast(column, &DataType::Utf8)?;
                let text = text.as_string::<i32>();
                let words: StringArray = text
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            crate::labels::value_words(field.name(), v, lang)
                                .unwrap_or_else(|| v.to_string())
                        })
                    })
                    .collect();
                Ok(Arc::new(words) as ArrayRef)
            })
            .collect::<Result<Vec<_>, QueryError>>()?;
        out.push(RecordBatch::try_new(worded.clone(), columns)?);
    }
    Ok((worded, out))
}

/// An Arrow IPC stream.
pub fn to_arrow_ipc(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>, QueryError> {
    let mut out = Vec::new();
    {
        let mut writer = arrow_ipc::writer::StreamWriter::try_new(&mut out, schema)?;
        for b in batches {
            writer.write(b)?;
        }
        writer.finish()?;
    }
    Ok(out)
}

/// A Parquet file: typed columns as the Arrow answer has them (money Decimal128(18, 2), counts
/// Int64, ratios Float64), for analysts' tools. Text is kept as stored: a Parquet reader runs no
/// formula.
pub fn to_parquet(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>, QueryError> {
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::basic::{Compression, ZstdLevel};
    use datafusion::parquet::file::properties::WriterProperties;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema.clone(), Some(properties))?;
    for b in batches {
        writer.write(b)?;
    }
    writer.close()?;
    Ok(out)
}

/// Where the figures of every export come from, with the licences the geography bundle asks to show
/// wherever its data is.
pub const ATTRIBUTION: &[&str] = &[
    "Welfare Hub — ศูนย์ข้อมูลกองทุนสวัสดิการชุมชน: figures from the funds' monthly reports (ตัวเลขจากรายงานประจำเดือนของกองทุน)",
    "Boundaries: OCHA/HDX COD-AB, Royal Thai Survey Department (CC BY-IGO)",
    "Codes and names: GeoThai (DOPA), CC BY 4.0",
    "Population: DOPA registration statistics",
];

/// The notes of an export: [`ATTRIBUTION`], and what else `extra` says (the snapshot the figures are
/// of, the request that gives them again).
pub fn workbook_notes(sheet: &str, extra: &[String]) -> WorkbookNotes {
    let mut attribution: Vec<String> = ATTRIBUTION.iter().map(|l| l.to_string()).collect();
    attribution.extend(extra.iter().cloned());
    WorkbookNotes {
        sheet: sheet.to_string(),
        attribution,
    }
}

/// What an XLSX export says beside its table.
#[derive(Debug, Clone, Default)]
pub struct WorkbookNotes {
    /// The table sheet's name (at most 31 characters; cut if longer).
    pub sheet: String,
    /// Lines of the second sheet: where the data comes from, under which licences, and how to get
    /// the same figures again.
    pub attribution: Vec<String>,
}

/// Excel's limit on the characters of a cell.
const XLSX_CELL_CHARS: usize = 32_767;

/// An XLSX workbook for Excel: the table on the first sheet with a bold, frozen header row,
/// numbers as numbers (money with two decimals, thousands separated), text as text cells (one a
/// spreadsheet would read as a formula is marked as text, never run), and the attribution on a second
/// sheet.
pub fn to_xlsx(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    notes: &WorkbookNotes,
) -> Result<Vec<u8>, QueryError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut workbook = Workbook::new();
    let header = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let quoted = Format::new().set_quote_prefix();
    let sheet_name: String = notes.sheet.chars().take(31).collect();
    let sheet = workbook.add_worksheet();
    sheet.set_name(if sheet_name.is_empty() {
        "data"
    } else {
        &sheet_name
    })?;
    for (c, field) in schema.fields().iter().enumerate() {
        sheet.write_string_with_format(0, col(c)?, field.name(), &header)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let mut row: u32 = 1;
    for batch in batches {
        for r in 0..batch.num_rows() {
            for (c, column) in batch.columns().iter().enumerate() {
                if column.is_null(r) {
                    continue;
                }
                let c = col(c)?;
                match column.data_type() {
                    DataType::Int8
                    | DataType::Int16
                    | DataType::Int32
                    | DataType::Int64
                    | DataType::UInt8
                    | DataType::UInt16
                    | DataType::UInt32
                    | DataType::UInt64
                    | DataType::Float32
                    | DataType::Float64 => {
                        let v = cast(&column.slice(r, 1), &DataType::Float64)?;
                        let v = v.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
                        sheet.write_number(row, c, v.value(0))?;
                    }
                    DataType::Decimal128(_, scale) => {
                        let v = column
                            .as_primitive::<datafusion::arrow::datatypes::Decimal128Type>()
                            .value(r);
                        let exact =
                            Decimal::from_i128_with_scale(v, u32::from(scale.unsigned_abs()));
                        let number: f64 = exact.to_string().parse().unwrap_or_default();
                        sheet.write_number_with_format(row, c, number, &money)?;
                    }
                    DataType::Boolean => {
                        sheet.write_boolean(row, c, column.as_boolean().value(r))?;
                    }
                    _ => {
                        let text = cast(&column.slice(r, 1), &DataType::Utf8)?;
                        let text = text.as_string::<i32>().value(0);
                        let text: Cow<'_, str> = if text.chars().count() > XLSX_CELL_CHARS {
                            Cow::Owned(text.chars().take(XLSX_CELL_CHARS).collect())
                        } else {
                            Cow::Borrowed(text)
                        };
                        if neutralised(&text) == text {
                            sheet.write_string(row, c, text.as_ref())?;
                        } else {
                            sheet.write_string_with_format(row, c, text.as_ref(), &quoted)?;
                        }
                    }
                }
            }
            row += 1;
            if row >= 1_048_576 {
                return Err(QueryError::Invalid(
                    "the table has more rows than a spreadsheet holds (1,048,576); ask for a \
                     narrower one, or format=csv or parquet"
                        .into(),
                ));
            }
        }
    }
    sheet.autofit();
    let about = workbook.add_worksheet();
    about.set_name("ที่มา Sources")?;
    for (i, line) in notes.attribution.iter().enumerate() {
        about.write_string(u32::try_from(i).unwrap_or(u32::MAX), 0, line)?;
    }
    about.set_column_width(0, 100)?;
    Ok(workbook.save_to_buffer()?)
}

fn col(c: usize) -> Result<u16, QueryError> {
    u16::try_from(c)
        .ok()
        .filter(|c| *c < 16_384)
        .ok_or_else(|| QueryError::Invalid("more columns than a spreadsheet holds (16,384)".into()))
}

/// Named columns of a query result, read back into Rust values.
#[derive(Debug)]
pub struct Columns {
    batch: RecordBatch,
    by_name: HashMap<String, usize>,
}

impl Columns {
    pub fn new(batches: &[RecordBatch]) -> Result<Self, QueryError> {
        let batch = match batches.first() {
            None => RecordBatch::new_empty(Arc::new(Schema::empty())),
            Some(first) => concat_batches(&first.schema(), batches)?,
        };
        let by_name = batch
            .schema()
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name().clone(), i))
            .collect();
        Ok(Columns { batch, by_name })
    }

    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn array(&self, name: &str) -> Result<&ArrayRef, QueryError> {
        let i = self
            .by_name
            .get(name)
            .ok_or_else(|| QueryError::Data(format!("result has no column {name}")))?;
        Ok(self.batch.column(*i))
    }

    /// An integer column (any integer type) as i64 values.
    pub fn ints(&self, name: &str) -> Result<Vec<Option<i64>>, QueryError> {
        let a = cast(self.array(name)?, &DataType::Int64)?;
        let a = a.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        Ok((0..a.len())
            .map(|i| (!a.is_null(i)).then(|| a.value(i)))
            .collect())
    }

    /// A text column.
    pub fn texts(&self, name: &str) -> Result<Vec<Option<String>>, QueryError> {
        let a = cast(self.array(name)?, &DataType::Utf8)?;
        let a = a.as_string::<i32>();
        Ok((0..a.len())
            .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
            .collect())
    }

    /// A decimal column of any precision and scale, as exact money; fails if a value has more than
    /// two decimals that are not zero (money must never be rounded silently).
    pub fn money(&self, name: &str) -> Result<Vec<Option<Money>>, QueryError> {
        let array = self.array(name)?;
        let DataType::Decimal128(_, scale) = array.data_type() else {
            return Err(QueryError::Data(format!(
                "{name} is {}, not a decimal",
                array.data_type()
            )));
        };
        let scale = u32::try_from(*scale)
            .map_err(|_| QueryError::Data(format!("{name} has a negative scale")))?;
        let a = array.as_primitive::<datafusion::arrow::datatypes::Decimal128Type>();
        (0..a.len())
            .map(|i| {
                if a.is_null(i) {
                    return Ok(None);
                }
                let d = Decimal::try_from_i128_with_scale(a.value(i), scale)
                    .map_err(|e| QueryError::Data(format!("{name}: {e}")))?;
                Money::from_decimal(d.normalize())
                    .map(Some)
                    .map_err(|e| QueryError::Data(format!("{name}: {e}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_exports_carry_no_live_formulas() {
        let mut out = Output::with_columns(&[
            ("name", ColumnType::Text),
            ("balance", ColumnType::Money),
            ("members", ColumnType::Int),
        ]);
        for (name, balance) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "-12.50"),
            ("+1", "0"),
            ("-x", "1234.50"),
            ("@SUM(1)", "-0.01"),
            ("\tx", "1"),
            ("\rx", "2"),
            ("กองทุนสวัสดิการชุมชนตำบลบ้านใหม่", "-99.00"),
            ("a=b", "3"),
        ] {
            out.rows.push(vec![
                Value::Text(Some(name.to_string())),
                Value::Money(Some(Money::parse(balance).unwrap())),
                Value::Int(Some(-3)),
            ]);
        }
        out.rows.push(vec![
            Value::Text(None),
            Value::Money(None),
            Value::Int(None),
        ]);
        let batch = out.to_batch().unwrap();
        let csv = String::from_utf8(to_csv(&batch.schema(), &[batch]).unwrap()).unwrap();
        assert_eq!(
            csv,
            "\u{feff}name,balance,members\n\
             \"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",-12.50,-3\n\
             '+1,0.00,-3\n\
             '-x,1234.50,-3\n\
             '@SUM(1),-0.01,-3\n\
             '\tx,1.00,-3\n\
             \"'\rx\",2.00,-3\n\
             กองทุนสวัสดิการชุมชนตำบลบ้านใหม่,-99.00,-3\n\
             a=b,3.00,-3\n\
             ,,\n"
        );
    }

    #[test]
    fn headings_and_every_text_type_are_neutralised() {
        use datafusion::arrow::array::{DictionaryArray, LargeStringArray, StringViewArray};
        use datafusion::arrow::datatypes::Int32Type;
        let schema = Arc::new(Schema::new(vec![
            Field::new("=cmd", DataType::LargeUtf8, true),
            Field::new("view", DataType::Utf8View, true),
            Field::new(
                "dict",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                true,
            ),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(LargeStringArray::from(vec!["=1+1"])),
                Arc::new(StringViewArray::from(vec!["@x"])),
                Arc::new(DictionaryArray::<Int32Type>::from_iter(["-2"])),
            ],
        )
        .unwrap();
        let csv = String::from_utf8(to_csv(&schema, &[batch]).unwrap()).unwrap();
        assert_eq!(csv, "\u{feff}'=cmd,view,dict\n'=1+1,'@x,'-2\n");
        let empty = String::from_utf8(to_csv(&schema, &[]).unwrap()).unwrap();
        assert_eq!(empty, "\u{feff}'=cmd,view,dict\n");
    }

    #[test]
    fn neutralised_only_touches_formula_starts() {
        assert_eq!(neutralised("=1"), "'=1");
        assert_eq!(neutralised("กองทุน"), "กองทุน");
        assert_eq!(neutralised(""), "");
        assert!(matches!(neutralised("F500101"), Cow::Borrowed(_)));
    }
}
