//! A whole file refused for its structure, or read as written: through the connector, end to end.

use std::path::Path;

use rust_xlsxwriter::{Format, Workbook as XlsxWriter};
use welfare_model::{FundId, Money, Period};

use welfare_connectors::batch::from_batch;
use welfare_connectors::file::*;
use welfare_connectors::{Connector, ConnectorError, Pull, UnrecognisedColumn};

fn source() -> String {
    "connector:test".into()
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> FileConfig {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    FileConfig::new(path.display().to_string())
}

async fn pull(config: &FileConfig) -> Result<Pull, ConnectorError> {
    config.build(source())?.pull(None).await
}

/// The message of a whole-file refusal (a content error).
async fn refusal(config: &FileConfig) -> String {
    match pull(config).await {
        Err(ConnectorError::Content(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn refusal_of(name: &str, bytes: impl AsRef<[u8]>) -> String {
    let dir = tempfile::tempdir().unwrap();
    refusal(&write(dir.path(), name, bytes)).await
}

fn members(pull: &Pull) -> Vec<(String, String, Option<i64>)> {
    pull.batches
        .iter()
        .flat_map(|b| from_batch(&b.rows).unwrap())
        .map(|s| (s.fund_id.to_string(), s.period.to_string(), s.members_total))
        .collect()
}

fn locations(pull: &Pull) -> Vec<String> {
    pull.batches
        .iter()
        .flat_map(|b| b.locations.clone())
        .collect()
}

const HEADER: &str = "รหัสกองทุน,เดือน,จำนวนสมาชิก,ยอดเงินกองทุน\n";

#[tokio::test]
async fn empty_files() {
    assert_eq!(refusal_of("r.csv", "").await, "r.csv: empty file (0 bytes)");
    assert_eq!(
        refusal_of("r.csv", b"\xEF\xBB\xBF").await,
        "r.csv: empty file: it holds no text"
    );
    assert_eq!(
        refusal_of("r.csv", " \r\n\n , ,\n\t\n").await,
        "r.csv: empty file: it holds no text"
    );
    assert_eq!(
        refusal_of("r.xlsx", "").await,
        "r.xlsx: empty file (0 bytes)"
    );
    let mut book = XlsxWriter::new();
    book.add_worksheet().set_name("สรุป").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    assert_eq!(
        refusal_of("r.xlsx", bytes).await,
        "r.xlsx sheet สรุป: the sheet is empty"
    );
}

#[tokio::test]
async fn a_header_and_no_data_rows() {
    let text = format!("รายงาน\n{HEADER}\n,,,\n");
    assert_eq!(
        refusal_of("r.csv", text).await,
        "r.csv line 2 is the header, and no data rows follow it"
    );
}

#[tokio::test]
async fn bytes_that_are_not_text() {
    let m = refusal_of("r.csv", b"a,b\n\x00\x00\x00").await;
    assert_eq!(
        m,
        "r.csv: a NUL byte at byte 4: this is a binary file, not CSV text"
    );
    let mut cut = format!("{HEADER}F1,10/2568,10,สมาชิก").into_bytes();
    cut.pop();
    let at = cut.len() - 2;
    let m = refusal_of("r.csv", &cut).await;
    assert!(
        m.starts_with("r.csv: the file ends in the middle of a UTF-8 character")
            && m.contains(&format!("bytes E0 B8 at byte {at}")),
        "{m}"
    );
    let mixed = [
        format!("{HEADER}F1,10/2568,10,5\n").as_bytes(),
        &encoding_rs::WINDOWS_874.encode("F1,พ.ย. 2568,10,5\n").0,
    ]
    .concat();
    let m = refusal_of("r.csv", &mixed).await;
    assert!(
        m.starts_with("r.csv: mixes UTF-8 and Windows-874 Thai"),
        "{m}"
    );
    let m = refusal_of("r.csv", b"a,b\n\xFF\xFF").await;
    assert!(
        m.contains("byte 0xFF at byte 4 is neither UTF-8 nor Windows-874"),
        "{m}"
    );
}

#[tokio::test]
async fn broken_records() {
    let m = refusal_of(
        "r.csv",
        format!("{HEADER}F1,10/2568,10,5\nF1,\"11/2568,10,5\n"),
    )
    .await;
    assert_eq!(
        m,
        "r.csv line 3: a quote opens here and is never closed (the file ends inside it)"
    );
    let m = refusal_of("r.csv", format!("{HEADER}F1,10/2568,10,1,234.50\n")).await;
    assert!(
        m.starts_with("r.csv line 2 has 5 fields, but the header (line 1) has 4")
            && m.contains("1,234.50"),
        "{m}"
    );
    let m = refusal_of("r.csv", format!("{HEADER}F1,10/2568,10,5\nF1,11/2568\n")).await;
    assert_eq!(
        m,
        "r.csv line 3 has 2 fields, but the header (line 1) has 4: a field is missing"
    );
    // A million columns: refused at the 1,001st, before the rest of the line is split.
    let million = format!("{HEADER}F1,10/2568,10,5{}\n", ",x".repeat(1_000_000));
    assert_eq!(
        refusal_of("r.csv", million).await,
        "r.csv line 2: more than 1000 columns; a monthly report has far fewer"
    );
    let wide = format!(
        "{}\n",
        (0..1001)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(
        refusal_of("r.csv", wide).await,
        "r.csv line 1: more than 1000 columns; a monthly report has far fewer"
    );
}

#[tokio::test]
async fn another_delimiter_is_named() {
    let m = refusal_of("r.csv", "รหัสกองทุน;เดือน;สมาชิก\nF1;10/2568;10\n").await;
    assert_eq!(
        m,
        "r.csv line 1 the fields are separated by \";\" (semicolon), but the configured \
         delimiter is \",\"; set delimiter = \";\""
    );
    let m = refusal_of("r.csv", "title\nรหัสกองทุน\tเดือน\tสมาชิก\n").await;
    assert!(
        m.contains("line 2") && m.contains("separated by a tab"),
        "{m}"
    );
    let m = refusal_of("r.csv", "รหัสกองทุน|เดือน|สมาชิก\n").await;
    assert!(m.contains("\"|\" (vertical bar)"), "{m}");
    let dir = tempfile::tempdir().unwrap();
    let config = FileConfig {
        delimiter: Some(';'),
        ..write(dir.path(), "r.csv", HEADER)
    };
    assert!(
        refusal(&config)
            .await
            .contains("separated by \",\" (comma)")
    );
}

#[tokio::test]
async fn a_file_over_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = FileConfig {
        max_bytes: 100,
        ..write(
            dir.path(),
            "big.csv",
            format!("{HEADER}{}", "F1,10/2568,10,5\n".repeat(10)),
        )
    };
    assert_eq!(
        refusal(&config).await,
        "big.csv is 281 bytes, over the limit of 100 bytes (max_bytes): refused before reading; \
         raise max_bytes if the report is genuinely that large"
    );
}

#[tokio::test]
async fn required_columns() {
    // The words of the shared header check (mapping), with the file's name in front.
    let m = refusal_of("r.csv", "รหัสกองทุน,เดือน,หมายเหตุ\nF1,10/2568,x\n").await;
    assert!(
        m.starts_with("r.csv: no column for members_total")
            && ["\"รหัสกองทุน\"", "\"เดือน\"", "\"หมายเหตุ\""]
                .iter()
                .all(|h| m.contains(h)),
        "{m}"
    );
    let m = refusal_of("r.csv", "เดือน,สมาชิก\n10/2568,1\n").await;
    assert!(
        m.starts_with("r.csv: no column for fund_id;") && m.contains("\"สมาชิก\""),
        "{m}"
    );
    let m = refusal_of("r.csv", "รหัสกองทุน,สมาชิก,จำนวนสมาชิก,เดือน\nF1,1,2,10/2568\n").await;
    assert!(
        m.starts_with("r.csv: \"สมาชิก\" and \"จำนวนสมาชิก\" all mean members_total"),
        "{m}"
    );
    // Configured, the month and the fund need no column; the member count always does.
    let dir = tempfile::tempdir().unwrap();
    let config = FileConfig {
        fund_id: Some(FundId::parse("F1").unwrap()),
        period: Some(Period::parse("10/2568").unwrap()),
        ..write(dir.path(), "one.csv", "จำนวนสมาชิก,ยอดเงินกองทุน\n10,5\n")
    };
    let p = pull(&config).await.unwrap();
    assert_eq!(members(&p), [("F1".into(), "2025-10".into(), Some(10))]);
}

#[tokio::test]
async fn tolerated_as_written() {
    let dir = tempfile::tempdir().unwrap();
    // CRLF, blank lines, a row of empty cells, spaces, a quoted amount, no final newline.
    let text = "รายงาน\r\n\r\n รหัสกองทุน , เดือน ,จำนวนสมาชิก,ยอดเงินกองทุน,,\r\n\
                ,,,,,\r\n F1 ,10/2568, 12 ,\"1,234.50\",,\r\n\r\nF1,11/2568,13,\"5\",,";
    let p = pull(&write(dir.path(), "r.csv", text)).await.unwrap();
    assert_eq!(
        members(&p),
        [
            ("F1".into(), "2025-10".into(), Some(12)),
            ("F1".into(), "2025-11".into(), Some(13))
        ]
    );
    assert_eq!(locations(&p), ["r.csv line 5", "r.csv line 7"]);
    let balance = from_batch(&p.batches[0].rows).unwrap()[0].fund_balance;
    assert_eq!(balance, Some(Money::parse("1234.50").unwrap()));

    // Windows-874 with a quoted field holding a line break and quotes.
    let text = "รหัสกองทุน,เดือน,จำนวนสมาชิก,หมายเหตุ\nF2,ต.ค. 2568,7,\"ว่า \"\"ดี\"\",\nมาก\"\n";
    let tis = encoding_rs::WINDOWS_874.encode(text).0.into_owned();
    let config = FileConfig {
        ignore: vec!["หมายเหตุ".into()],
        ..write(dir.path(), "tis.csv", tis)
    };
    let p = pull(&config).await.unwrap();
    assert_eq!(members(&p), [("F2".into(), "2025-10".into(), Some(7))]);
    assert!(p.unrecognised.is_empty(), "{:?}", p.unrecognised);
    assert!(p.batches[0].tambons.is_empty(), "no tambon column");

    let text = "รหัสกองทุน,รหัสตำบล,เดือน,จำนวนสมาชิก\nF1,๑๐๐๑๐๑,10/2568,5\nF2,,10/2568,6\n";
    let p = pull(&write(dir.path(), "tambon.csv", text)).await.unwrap();
    assert_eq!(p.batches[0].tambons, [Some("100101".to_string()), None]);
}

#[tokio::test]
async fn unknown_columns_are_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let text = "รหัสกองทุน,ผู้บันทึก,เดือน,จำนวนสมาชิก,หมายเหตุ\nF1,สมชาย,10/2568,5,-\n";
    let base = write(dir.path(), "r.csv", text);
    let p = pull(&base).await.unwrap();
    assert_eq!(members(&p).len(), 1);
    assert_eq!(
        p.unrecognised,
        [
            UnrecognisedColumn {
                location: "r.csv line 1 column 2".into(),
                heading: "ผู้บันทึก".into()
            },
            UnrecognisedColumn {
                location: "r.csv line 1 column 5".into(),
                heading: "หมายเหตุ".into()
            }
        ]
    );
    let ignoring = FileConfig {
        ignore: vec!["หมายเหตุ".into()],
        ..base
    };
    let p = pull(&ignoring).await.unwrap();
    assert_eq!(p.unrecognised.len(), 1);
    assert_eq!(p.unrecognised[0].heading, "ผู้บันทึก");
}

#[tokio::test]
async fn every_copy_of_a_repeated_row_is_delivered() {
    let text = format!("{HEADER}F1,10/2568,10,5\nF1,ต.ค. 2568,11,5\n");
    let dir = tempfile::tempdir().unwrap();
    let p = pull(&write(dir.path(), "r.csv", text)).await.unwrap();
    assert_eq!(
        members(&p),
        [
            ("F1".into(), "2025-10".into(), Some(10)),
            ("F1".into(), "2025-10".into(), Some(11))
        ]
    );
    assert!(p.rejected.is_empty());
}

#[tokio::test]
async fn wide_reports_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    for label in ["", "เดือน"] {
        let text = format!(
            "รหัสกองทุน,F100101,\n{label},ต.ค. 2568,พ.ย. 2568\nจำนวนสมาชิก,120,125\nผู้บันทึก,ก,ข\n"
        );
        let p = pull(&write(dir.path(), "wide.csv", text)).await.unwrap();
        assert_eq!(
            members(&p),
            [
                ("F100101".into(), "2025-10".into(), Some(120)),
                ("F100101".into(), "2025-11".into(), Some(125))
            ],
            "label {label:?}"
        );
        assert_eq!(locations(&p), ["wide.csv column 2", "wide.csv column 3"]);
        assert_eq!(
            p.unrecognised,
            [UnrecognisedColumn {
                location: "wide.csv line 4 column 1".into(),
                heading: "ผู้บันทึก".into()
            }]
        );
    }
}

fn xlsx(write_sheet: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
    let mut book = XlsxWriter::new();
    let sheet = book.add_worksheet();
    sheet.set_name("สรุป").unwrap();
    write_sheet(sheet);
    book.save_to_buffer().unwrap()
}

fn long_sheet(sheet: &mut rust_xlsxwriter::Worksheet) {
    for (c, h) in ["รหัสกองทุน", "เดือน", "จำนวนสมาชิก", "รหัสตำบล"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "F1").unwrap();
    sheet.write_string(1, 1, "10/2568").unwrap();
    // A number stored as text, and a numeric tambon code.
    sheet.write_string(1, 2, "15").unwrap();
    sheet.write_number(1, 3, 100101).unwrap();
}

#[tokio::test]
async fn workbooks() {
    let dir = tempfile::tempdir().unwrap();
    let p = pull(&write(dir.path(), "r.xlsx", xlsx(long_sheet)))
        .await
        .unwrap();
    assert_eq!(members(&p), [("F1".into(), "2025-10".into(), Some(15))]);
    assert_eq!(locations(&p), ["r.xlsx sheet สรุป row 2"]);
    // A numeric tambon code is read as its digits, for the hub to compare with the registry.
    assert_eq!(p.batches[0].tambons, [Some("100101".to_string())]);

    let merged = xlsx(|sheet| {
        long_sheet(sheet);
        sheet.merge_range(2, 0, 3, 0, "F2", &Format::new()).unwrap();
    });
    assert_eq!(
        refusal_of("r.xlsx", merged).await,
        "r.xlsx sheet สรุป cells A3:A4: merged cells below the header (row 1) hide which row a \
         value belongs to; unmerge them and fill in every cell"
    );
    // A merged title above the header is fine.
    let title = xlsx(|sheet| {
        sheet
            .merge_range(0, 0, 0, 3, "รายงาน", &Format::new())
            .unwrap();
        for (c, h) in ["รหัสกองทุน", "เดือน", "จำนวนสมาชิก"].iter().enumerate()
        {
            sheet.write_string(2, c as u16, *h).unwrap();
        }
        sheet.write_string(3, 0, "F1").unwrap();
        sheet.write_string(3, 1, "10/2568").unwrap();
        sheet.write_number(3, 2, 9).unwrap();
    });
    let p = pull(&write(dir.path(), "t.xlsx", title)).await.unwrap();
    assert_eq!(members(&p), [("F1".into(), "2025-10".into(), Some(9))]);
}

#[tokio::test]
async fn workbooks_that_cannot_be_trusted() {
    let good = xlsx(long_sheet);
    let m = refusal_of("r.xlsx", &good[..good.len() / 2]).await;
    assert!(
        m.starts_with("r.xlsx is not a readable XLSX workbook") && m.contains("truncated"),
        "{m}"
    );
    let m = refusal_of("r.xlsx", "รหัสกองทุน,เดือน\n").await;
    assert_eq!(
        m,
        "r.xlsx is not an XLSX workbook (not a zip file): is it a CSV? set format = \"csv\""
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        "word/document.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    std::io::Write::write_all(&mut zip, b"<w/>").unwrap();
    let not_a_workbook = zip.finish().unwrap().into_inner();
    assert_eq!(
        refusal_of("r.xlsx", not_a_workbook).await,
        "r.xlsx is a zip file but not an Excel workbook (it has no xl/workbook.xml)"
    );
    let mut encrypted = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    encrypted.extend([0u8; 512]);
    encrypted.extend("EncryptionInfo".encode_utf16().flat_map(u16::to_le_bytes));
    let m = refusal_of("r.xlsx", encrypted).await;
    assert!(m.starts_with("r.xlsx is a password-protected"), "{m}");

    // Inflating past the limit, refused from the directory: the file itself is small.
    let dir = tempfile::tempdir().unwrap();
    let bomb = xlsx(|sheet| {
        long_sheet(sheet);
        for r in 2..2000 {
            sheet
                .write_string(r, 5, format!("{r}{}", "x".repeat(200)))
                .unwrap();
        }
    });
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    let config = FileConfig {
        max_bytes: 200_000,
        ..write(dir.path(), "bomb.xlsx", &bomb)
    };
    let m = refusal(&config).await;
    assert!(
        m.starts_with("bomb.xlsx inflates to more than the limit of 200000 bytes (max_bytes)"),
        "{m}"
    );
}

/// Serves `body` at any path, with a `Content-Length` or chunked without one; answers the URL.
async fn serve_body(body: Vec<u8>, with_length: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let mut answer = Vec::new();
            if with_length {
                answer.extend(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .bytes(),
                );
                answer.extend(&body);
            } else {
                answer.extend(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                );
                for chunk in body.chunks(1000) {
                    answer.extend(format!("{:x}\r\n", chunk.len()).bytes());
                    answer.extend(chunk);
                    answer.extend(b"\r\n");
                }
                answer.extend(b"0\r\n\r\n");
            }
            let _ = socket.write_all(&answer).await;
        }
    });
    format!("http://{addr}/reports/big.csv")
}

#[tokio::test]
async fn downloads_over_the_limit() {
    let body = format!("{HEADER}{}", "F1,10/2568,10,5\n".repeat(300)).into_bytes();
    let config = FileConfig {
        max_bytes: 1000,
        ..FileConfig::new(serve_body(body.clone(), true).await)
    };
    assert_eq!(
        refusal(&config).await,
        format!(
            "big.csv is {} bytes, over the limit of 1000 bytes (max_bytes): refused before \
             reading; raise max_bytes if the report is genuinely that large",
            body.len()
        )
    );
    // Without a length the download is counted, and stopped past the limit.
    let config = FileConfig {
        max_bytes: 1000,
        ..FileConfig::new(serve_body(body.clone(), false).await)
    };
    assert!(
        refusal(&config)
            .await
            .starts_with("big.csv is more than 1000 bytes, over the limit of 1000 bytes"),
    );
    // Within the limit, the same download is read.
    let config = FileConfig::new(serve_body(body, false).await);
    let p = pull(&config).await.unwrap();
    assert_eq!(members(&p).len(), 300);
    assert!(p.cursor.unwrap().0.starts_with("sha256:"));
}
