//! Tables for Excel and analysts: every table endpoint's XLSX and Parquet answers, read back by real
//! readers (calamine; the Parquet reader DataFusion uses), equal its JSON answer cell for cell.

use std::collections::BTreeSet;

use calamine::{Data, Reader, Xlsx};
use rust_decimal::Decimal;
use welfare_queries::datafusion::arrow::array::{Array, AsArray, RecordBatch};
use welfare_queries::datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Float64Type, Int64Type,
};
use welfare_queries::datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::analytics::{get, hub};

/// The table answers of the fixture, each as JSON rows and in the two other forms.
const TABLES: &[&str] = &[
    "/api/v1/indicators?level=province&period=2025-03",
    "/api/v1/indicators?level=district&within=50&from=2025-01&to=2025-03",
    "/api/v1/matching?level=region&period=2025-03&policy=codi-1-1,act-1-1-1",
    "/api/v1/timeseries?area=50&from=2025-01&to=2025-03",
    "/api/v1/funds?period=2025-03",
    "/api/v1/funds/F500101?period=2025-03",
];

fn rows(json: &serde_json::Value) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let rows = json["rows"]
        .as_array()
        .or_else(|| json["history"].as_array())
        .unwrap_or_else(|| panic!("no rows in {json}"));
    rows.iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

/// An XLSX cell equals a JSON value: numbers as numbers (money to the satang), text as text, null
/// as an empty cell.
fn same_cell(cell: &Data, value: &serde_json::Value) -> bool {
    match (cell, value) {
        (Data::Empty, serde_json::Value::Null) => true,
        // A spreadsheet has no empty text apart from a blank cell.
        (Data::Empty, serde_json::Value::String(s)) => s.is_empty(),
        (Data::Float(f), serde_json::Value::Number(n)) => n.as_f64() == Some(*f),
        (Data::Int(i), serde_json::Value::Number(n)) => n.as_i64() == Some(*i),
        // Money is an exact string in JSON and a number with two decimals in the workbook.
        (Data::Float(f), serde_json::Value::String(s)) => s
            .parse::<Decimal>()
            .is_ok_and(|d| d.round_dp(2).to_string().parse::<f64>() == Ok(*f)),
        (Data::String(a), serde_json::Value::String(b)) => a == b,
        (Data::Bool(a), serde_json::Value::Bool(b)) => a == b,
        _ => false,
    }
}

/// A Parquet cell equals a JSON value, typed: money Decimal128(18, 2) equal to the exact string.
fn same_typed(column: &dyn Array, row: usize, value: &serde_json::Value) -> bool {
    if column.is_null(row) {
        return value.is_null();
    }
    match column.data_type() {
        DataType::Decimal128(18, 2) => {
            let v = column.as_primitive::<Decimal128Type>().value(row);
            Decimal::from_i128_with_scale(v, 2).to_string() == value.as_str().unwrap_or_default()
        }
        DataType::Int64 => value.as_i64() == Some(column.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => {
            value.as_f64() == Some(column.as_primitive::<Float64Type>().value(row))
        }
        DataType::Boolean => value.as_bool() == Some(column.as_boolean().value(row)),
        DataType::Utf8 => value.as_str() == Some(column.as_string::<i32>().value(row)),
        other => panic!("unexpected Parquet type {other}"),
    }
}

#[tokio::test]
async fn xlsx_and_parquet_answers_equal_the_json_cell_for_cell() -> anyhow::Result<()> {
    let (db, _analytics, state) = hub().await?;
    let dir = tempfile::tempdir()?;
    for uri in TABLES {
        let json = get(&state, uri).await;
        assert_eq!(json.status, 200, "{uri}");
        let json = json.json();
        let expected = rows(&json);
        assert!(!expected.is_empty(), "{uri}: no rows to compare");
        let columns: Vec<String> = expected[0].keys().cloned().collect();
        // Money per party adds up to the totals beside it.
        for row in expected
            .iter()
            .filter(|r| r.contains_key("shortfall_state"))
        {
            let m = |k: &str| row[k].as_str().unwrap().parse::<Decimal>().unwrap();
            assert_eq!(
                m("received"),
                m("received_state") + m("received_local"),
                "{uri}"
            );
            assert_eq!(
                m("shortfall"),
                m("shortfall_state") + m("shortfall_local"),
                "{uri}"
            );
        }

        let xlsx = get(&state, &format!("{uri}&format=xlsx")).await;
        assert_eq!(xlsx.status, 200, "{uri}");
        assert_eq!(
            xlsx.content_type,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let disposition = xlsx.headers["content-disposition"].to_str()?;
        assert!(disposition.ends_with(".xlsx\""), "{disposition}");
        let path = dir.path().join("answer.xlsx");
        std::fs::write(&path, &xlsx.body)?;
        let mut book: Xlsx<_> = calamine::open_workbook(&path)?;
        let sheets = book.sheet_names();
        assert_eq!(sheets.len(), 2, "{uri}: the table and its sources");
        let table = book.worksheet_range(&sheets[0])?;
        let mut lines = table.rows();
        let header: Vec<String> = lines
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(header, columns, "{uri}: headings");
        let got: Vec<&[Data]> = lines.collect();
        assert_eq!(got.len(), expected.len(), "{uri}: rows");
        for (r, (line, row)) in got.iter().zip(&expected).enumerate() {
            for (c, name) in columns.iter().enumerate() {
                let cell = line.get(c).unwrap_or(&Data::Empty);
                assert!(
                    same_cell(cell, &row[name]),
                    "{uri}: row {r} column {name}: workbook {cell:?}, JSON {}",
                    row[name]
                );
            }
        }
        let sources = book.worksheet_range(&sheets[1])?;
        let text: Vec<String> = sources.rows().map(|r| r[0].to_string()).collect();
        assert!(
            text.iter().any(|l| l.contains("GeoThai (DOPA), CC BY 4.0")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|l| l.contains(&json["snapshot"].to_string())),
            "{uri}: the sources name the snapshot: {text:?}"
        );

        let parquet = get(&state, &format!("{uri}&format=parquet")).await;
        assert_eq!(parquet.status, 200, "{uri}");
        assert_eq!(parquet.content_type, "application/vnd.apache.parquet");
        let path = dir.path().join("answer.parquet");
        std::fs::write(&path, &parquet.body)?;
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path)?)?.build()?;
        let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>()?;
        let schema = batches[0].schema();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, columns, "{uri}: Parquet columns");
        let mut r = 0;
        for batch in &batches {
            for i in 0..batch.num_rows() {
                for (c, name) in columns.iter().enumerate() {
                    assert!(
                        same_typed(batch.column(c).as_ref(), i, &expected[r][name]),
                        "{uri}: row {r} column {name}: Parquet {:?}, JSON {}",
                        batch.column(c).slice(i, 1),
                        expected[r][name]
                    );
                }
                r += 1;
            }
        }
        assert_eq!(r, expected.len(), "{uri}: Parquet rows");
        // Money is typed money, never a float.
        let money: BTreeSet<&str> = schema
            .fields()
            .iter()
            .filter(|f| f.data_type() == &DataType::Decimal128(18, 2))
            .map(|f| f.name().as_str())
            .collect();
        for name in ["fund_balance", "due", "shortfall_state"] {
            if columns.iter().any(|c| c == name) {
                assert!(money.contains(name), "{uri}: {name} is {money:?}");
            }
        }
    }
    let bad = get(&state, "/api/v1/indicators?format=xls").await;
    assert_eq!(bad.status, 400);
    db.cleanup().await
}

/// SQL answers come as workbooks and Parquet too; text a spreadsheet would run as a formula stays
/// text (the cell is marked so), and no cell of the workbook is a formula.
#[tokio::test]
async fn query_answers_as_xlsx_and_parquet_never_run_formulas() -> anyhow::Result<()> {
    use crate::analytics::send;
    let (db, _analytics, state) = hub().await?;
    let sql = r#"{"sql": "SELECT '=HYPERLINK(\"http://x\",\"click\")' AS name, '+66 1' AS phone, 'เชียงใหม่' AS province, CAST(1234.5 AS DECIMAL(18,2)) AS money, 7 AS n"}"#;
    let xlsx = send(&state, "POST", "/api/v1/query?format=xlsx", Some(sql)).await;
    assert_eq!(xlsx.status, 200, "{}", String::from_utf8_lossy(&xlsx.body));
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("query.xlsx");
    std::fs::write(&path, &xlsx.body)?;
    let mut book: Xlsx<_> = calamine::open_workbook(&path)?;
    let first = book.sheet_names()[0].clone();
    let values = book.worksheet_range(&first)?;
    let row: Vec<Data> = values.rows().nth(1).unwrap().to_vec();
    assert_eq!(
        row,
        [
            Data::String("=HYPERLINK(\"http://x\",\"click\")".into()),
            Data::String("+66 1".into()),
            Data::String("เชียงใหม่".into()),
            Data::Float(1234.5),
            Data::Float(7.0),
        ]
    );
    let formulas = book.worksheet_formula(&first)?;
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no cell is a formula"
    );
    // The formula-like cells are marked as text (Excel's quote prefix), the others are not.
    let sheet_xml = {
        let file = std::fs::File::open(&path)?;
        let mut zip = zip::ZipArchive::new(file)?;
        let mut styles = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("xl/styles.xml")?, &mut styles)?;
        styles
    };
    assert!(sheet_xml.contains("quotePrefix=\"1\""), "{sheet_xml}");
    let parquet = send(&state, "POST", "/api/v1/query?format=parquet", Some(sql)).await;
    assert_eq!(parquet.status, 200);
    let path = dir.path().join("query.parquet");
    std::fs::write(&path, &parquet.body)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path)?)?.build()?;
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>()?;
    assert_eq!(
        batches[0].column(0).as_string::<i32>().value(0),
        "=HYPERLINK(\"http://x\",\"click\")"
    );
    assert_eq!(
        batches[0].column(3).data_type(),
        &DataType::Decimal128(18, 2)
    );
    db.cleanup().await
}

/// `lang=` heads CSV and XLSX columns with their labels and units and writes coded values in words;
/// the numbers are those of the JSON answer.
#[tokio::test]
async fn spreadsheets_in_thai_or_english_words() -> anyhow::Result<()> {
    let (db, _analytics, state) = hub().await?;
    let uri = "/api/v1/indicators?level=province&period=2025-03";
    let json = get(&state, uri).await.json();
    let rows = rows(&json);
    let chiang_mai = rows.iter().position(|r| r["code"] == "50").unwrap();
    let no_fund = rows.iter().position(|r| r["state"] == "no_fund").unwrap();

    let csv = get(&state, &format!("{uri}&format=csv&lang=th")).await;
    assert_eq!(csv.status, 200);
    let text = String::from_utf8(csv.body)?;
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headings: Vec<String> = reader.headers()?.iter().map(String::from).collect();
    assert_eq!(headings[0], "รหัสพื้นที่");
    assert!(
        headings.contains(&"สัดส่วนสมาชิกต่อประชากร (%)".to_string()),
        "{headings:?}"
    );
    assert!(
        headings.contains(&"เงินสมทบที่ยังขาด (บาท)".to_string()),
        "{headings:?}"
    );
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    let column = |name: &str| headings.iter().position(|h| h == name).unwrap();
    assert_eq!(&records[chiang_mai][column("สถานะข้อมูล")], "มีข้อมูล");
    assert_eq!(&records[no_fund][column("สถานะข้อมูล")], "ไม่มีกองทุน");
    assert_eq!(&records[chiang_mai][column("ระดับ")], "จังหวัด");
    assert_eq!(
        &records[chiang_mai][column("สมาชิก (คน)")],
        rows[chiang_mai]["members"].to_string()
    );

    let xlsx = get(&state, &format!("{uri}&format=xlsx&lang=en")).await;
    assert_eq!(xlsx.status, 200);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("en.xlsx");
    std::fs::write(&path, &xlsx.body)?;
    let mut book: Xlsx<_> = calamine::open_workbook(&path)?;
    let first = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&first)?;
    let table: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
    let headings: Vec<String> = table[0].iter().map(|c| c.to_string()).collect();
    let column = |name: &str| headings.iter().position(|h| h == name).unwrap();
    assert_eq!(
        table[1 + no_fund][column("Data state")],
        Data::String("no fund".into())
    );
    assert_eq!(
        table[1 + chiang_mai][column("Membership coverage (%)")],
        Data::Float(rows[chiang_mai]["coverage"].as_f64().unwrap())
    );
    // The language is part of the answer: Thai and English are different answers.
    let th = get(&state, &format!("{uri}&format=xlsx&lang=th")).await;
    assert_ne!(th.body, xlsx.body);
    for wrong in ["fr", ""] {
        let bad = get(&state, &format!("{uri}&format=csv&lang={wrong}")).await;
        assert_eq!(bad.status, 400, "lang={wrong}");
        assert!(bad.json()["message"].as_str().unwrap().contains("lang"));
    }
    db.cleanup().await
}
