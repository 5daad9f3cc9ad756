//! An XLSX workbook checked before it is trusted, then read as a stream of rows.
//!
//! An XLSX file is a zip. Before anything is inflated the zip's central directory must list an Excel
//! workbook whose declared inflated size fits the limit (a zip bomb is refused from its directory);
//! then every entry is inflated once, counted and thrown away, never past what its directory declared,
//! so a directory that lies cannot make the reader inflate more than the limit. A password-protected
//! workbook is not a zip at all but an OLE (CFB) container holding `EncryptionInfo`; a plain OLE file
//! is an old `.xls`. Merged cells below the header hide which row a value belongs to and refuse the
//! file; an empty sheet is refused rather than read as "nothing to report".

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};

use calamine::{Data, Reader, Xlsx};

use super::csv::MAX_COLUMNS;
use super::grid::{GridRow, column_letters, quoted};

/// What the first bytes say the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Zip,
    /// An OLE compound file: an old `.xls`, or an encrypted `.xlsx`.
    Ole,
    Other,
}

const ZIP: &[u8] = b"PK\x03\x04";
const EMPTY_ZIP: &[u8] = b"PK\x05\x06";
const OLE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

pub fn sniff(file: &mut File) -> io::Result<Container> {
    let mut head = [0u8; 8];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    file.rewind()?;
    let head = &head[..n];
    Ok(if head.starts_with(ZIP) || head.starts_with(EMPTY_ZIP) {
        Container::Zip
    } else if head.starts_with(&OLE[..4]) {
        Container::Ole
    } else {
        Container::Other
    })
}

/// Why an OLE file cannot be read: a password-protected workbook or an old `.xls`.
pub fn ole_refusal(file: &mut File, name: &str) -> io::Result<String> {
    // The directory names its streams in UTF-16LE; an encrypted OOXML package has `EncryptionInfo`.
    let needle: Vec<u8> = "EncryptionInfo"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let mut window = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut found = false;
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        window.extend_from_slice(&chunk[..n]);
        if window.windows(needle.len()).any(|w| w == needle.as_slice()) {
            found = true;
            break;
        }
        let keep = window.len().saturating_sub(needle.len());
        window.drain(..keep);
    }
    Ok(if found {
        format!(
            "{name} is a password-protected (encrypted) workbook: remove the password in Excel \
             (File → Info → Protect Workbook) and save it again"
        )
    } else {
        format!("{name} is an old Excel .xls file: save the report as .xlsx or CSV")
    })
}

/// Checks the zip's directory and what its entries really inflate to, within `limit` bytes.
pub fn check_zip(file: &File, limit: u64, name: &str) -> Result<(), String> {
    let mut zip =
        zip::ZipArchive::new(BufReader::new(file.try_clone().map_err(|e| e.to_string())?))
            .map_err(|e| {
                format!(
                    "{name} is not a readable XLSX workbook: the zip is truncated or damaged ({e})"
                )
            })?;
    let mut declared = 0u64;
    let mut workbook = false;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| format!("{name}: zip entry {} is damaged ({e})", i + 1))?;
        let entry_name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        if entry.encrypted() {
            return Err(format!(
                "{name} is a password-protected zip (entry {entry_name}): save the workbook \
                 without a password"
            ));
        }
        declared = declared.saturating_add(entry.size());
        if declared > limit {
            return Err(format!(
                "{name} inflates to more than the limit of {} bytes (max_bytes): its zip directory \
                 declares {declared} bytes by entry {entry_name}; refused before inflating anything",
                limit
            ));
        }
        workbook |= entry_name == "xl/workbook.xml";
    }
    if !workbook {
        return Err(format!(
            "{name} is a zip file but not an Excel workbook (it has no xl/workbook.xml)"
        ));
    }
    // Never trust the directory: inflate each entry, counted, at most one byte past its declared size.
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| format!("{name}: zip entry {} cannot be read ({e})", i + 1))?;
        let entry_name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let size = entry.size();
        let inflated = io::copy(&mut (&mut entry).take(size + 1), &mut io::sink())
            .map_err(|e| format!("{name}: zip entry {entry_name} is truncated or damaged ({e})"))?;
        if inflated > size {
            return Err(format!(
                "{name}: zip entry {entry_name} inflates past the {size} bytes its directory \
                 declares: a damaged or malicious file"
            ));
        }
    }
    Ok(())
}

/// An open workbook and the sheet to read.
pub struct Workbook {
    book: Xlsx<BufReader<File>>,
    pub sheet: String,
}

impl Workbook {
    /// Opens a checked zip and picks the configured sheet (or the first). `Err(Ok)` is a content
    /// refusal, `Err(Err)` a configuration error (no such sheet).
    pub fn open(file: File, wanted: Option<&str>, name: &str) -> Result<Workbook, Refusal> {
        let book: Xlsx<_> = Xlsx::new(BufReader::new(file)).map_err(|e| {
            Refusal::Content(format!("{name} is not a readable XLSX workbook: {e}"))
        })?;
        let names = book.sheet_names();
        let sheet = match wanted {
            Some(wanted) => names
                .iter()
                .find(|n| *n == wanted)
                .or_else(|| names.iter().find(|n| n.trim() == wanted.trim()))
                .or_else(|| {
                    names
                        .iter()
                        .find(|n| n.trim().eq_ignore_ascii_case(wanted.trim()))
                })
                .cloned()
                .ok_or_else(|| {
                    Refusal::Config(format!(
                        "{name} has no sheet {}; its sheets are {}",
                        quoted(wanted),
                        names
                            .iter()
                            .map(|n| quoted(n))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
            None => names
                .first()
                .cloned()
                .ok_or_else(|| Refusal::Content(format!("{name} is a workbook without sheets")))?,
        };
        Ok(Workbook { book, sheet })
    }

    /// The merged ranges of the sheet: (last row, 1-based; `A5:C6`).
    pub fn merged(&mut self, place: &str) -> Result<Vec<(u64, String)>, String> {
        let ranges = self
            .book
            .merge_cells_by_sheet_name(&self.sheet)
            .map_err(|e| format!("{place}: the merged cells cannot be read: {e}"))?;
        Ok(ranges
            .iter()
            .map(|d| {
                (
                    u64::from(d.end.0) + 1,
                    format!(
                        "{}{}:{}{}",
                        column_letters(d.start.1),
                        d.start.0 + 1,
                        column_letters(d.end.1),
                        d.end.0 + 1
                    ),
                )
            })
            .collect())
    }

    /// Streams the sheet's rows (cells from column `first_col`, returned first) into `row`; rows
    /// without a value are skipped. Stops at the first error `row` returns.
    pub fn rows(
        &mut self,
        place: &str,
        mut row: impl FnMut(u32, GridRow) -> Result<(), String>,
    ) -> Result<(), String> {
        let unreadable = |e: calamine::XlsxError| format!("{place}: cannot be read: {e}");
        let mut cells = self
            .book
            .worksheet_cells_reader(&self.sheet)
            .map_err(unreadable)?;
        let first_col = cells.dimensions().start.1;
        let mut current: Option<GridRow> = None;
        while let Some(cell) = cells.next_cell().map_err(unreadable)? {
            let (r, c) = cell.get_position();
            let value = super::grid::cell_value(&Data::from(cell.get_value().clone()));
            if value == crate::mapping::RawValue::Empty {
                continue;
            }
            let Some(c) = c.checked_sub(first_col) else {
                return Err(format!(
                    "{place}: cell {}{} lies outside the sheet's declared dimension: a damaged file",
                    column_letters(c),
                    r + 1
                ));
            };
            if c as usize >= MAX_COLUMNS {
                return Err(format!(
                    "{place} cell {}{}: more than {MAX_COLUMNS} columns; a monthly report has far fewer",
                    column_letters(first_col + c),
                    r + 1
                ));
            }
            let number = u64::from(r) + 1;
            if current.as_ref().is_some_and(|g| g.number != number) {
                row(first_col, current.take().expect("checked"))?;
            }
            let g = current.get_or_insert_with(|| GridRow {
                number,
                cells: Vec::new(),
            });
            let c = c as usize;
            if g.cells.len() <= c {
                g.cells.resize(c + 1, crate::mapping::RawValue::Empty);
            }
            g.cells[c] = value;
        }
        if let Some(g) = current {
            row(first_col, g)?;
        }
        Ok(())
    }
}

/// A workbook that cannot be read as configured.
#[derive(Debug)]
pub enum Refusal {
    Content(String),
    Config(String),
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;

    /// A zip with one stored entry whose directory and local header declare `declared` bytes.
    pub fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, data) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn temp(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let file = File::open(f.path()).unwrap();
        (f, file)
    }

    #[test]
    fn zips_that_are_no_workbook() {
        let (_f, file) = temp(&stored_zip(&[("readme.txt", b"hello")]));
        assert_eq!(
            check_zip(&file, 1000, "r.xlsx").unwrap_err(),
            "r.xlsx is a zip file but not an Excel workbook (it has no xl/workbook.xml)"
        );
        let whole = stored_zip(&[("xl/workbook.xml", b"<workbook/>")]);
        let (_f, file) = temp(&whole);
        check_zip(&file, 1000, "r.xlsx").unwrap();
        let (_f, file) = temp(&whole[..whole.len() - 10]);
        let err = check_zip(&file, 1000, "r.xlsx").unwrap_err();
        assert!(err.contains("r.xlsx") && err.contains("truncated"), "{err}");
    }

    #[test]
    fn the_inflated_size_is_checked_before_and_while_inflating() {
        let big = vec![b'x'; 5000];
        let (_f, file) = temp(&stored_zip(&[
            ("xl/workbook.xml", b"<w/>"),
            ("xl/big.xml", &big),
        ]));
        let err = check_zip(&file, 4000, "bomb.xlsx").unwrap_err();
        assert!(
            err.contains("more than the limit of 4000 bytes")
                && err.contains("declares 5004 bytes by entry xl/big.xml")
                && err.contains("before inflating"),
            "{err}"
        );
        // A directory that lies about an entry's size (says 3 bytes, holds 5000): caught when
        // inflating, after at most 4 bytes.
        let mut lying = stored_zip(&[("xl/workbook.xml", b"<w/>"), ("xl/big.xml", &big)]);
        let central = lying
            .windows(4)
            .rposition(|w| w == b"PK\x01\x02")
            .expect("a central directory entry");
        // Uncompressed size at offset 24 of the central directory header.
        lying[central + 24..central + 28].copy_from_slice(&3u32.to_le_bytes());
        let (_f, file) = temp(&lying);
        let err = check_zip(&file, 4000, "liar.xlsx").unwrap_err();
        assert!(
            err.contains("liar.xlsx") && err.contains("xl/big.xml"),
            "{err}"
        );
    }

    #[test]
    fn ole_files() {
        let mut encrypted = OLE.to_vec();
        encrypted.extend(vec![0u8; 70_000]);
        encrypted.extend("EncryptionInfo".encode_utf16().flat_map(u16::to_le_bytes));
        let (_f, mut file) = temp(&encrypted);
        assert_eq!(sniff(&mut file).unwrap(), Container::Ole);
        assert!(
            ole_refusal(&mut file, "p.xlsx")
                .unwrap()
                .contains("password-protected")
        );
        let (_f, mut file) = temp(OLE);
        assert!(
            ole_refusal(&mut file, "old.xls")
                .unwrap()
                .contains("old Excel .xls")
        );
        let (_f, mut file) = temp(b"PK\x03\x04rest");
        assert_eq!(sniff(&mut file).unwrap(), Container::Zip);
        let (_f, mut file) = temp(b"a,b");
        assert_eq!(sniff(&mut file).unwrap(), Container::Other);
    }
}
