//! CSV records read as a stream from decoded text, with the limits that keep memory bounded.
//!
//! RFC 4180 as Excel writes it: a configured one-byte delimiter, `"` quotes with `""` inside, CRLF or
//! LF (or a lone CR) between records, quoted fields that hold delimiters, quotes and line breaks. Each
//! record carries the line it starts on. A quote never closed refuses the file naming the line where it
//! opened; a record beyond [`MAX_COLUMNS`] fields stops at the first non-empty one past the limit,
//! without building the rest; a record longer than [`MAX_RECORD_BYTES`] is refused.

use std::io::{self, BufRead};

use super::text::text_error;

/// More columns than any monthly report has: past this the file is refused.
pub const MAX_COLUMNS: usize = 1000;

/// The longest record read (all its fields together).
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// One record: the line it starts on (1-based) and its fields, as written (not trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRecord {
    pub line: u64,
    pub fields: Vec<String>,
}

impl CsvRecord {
    /// A line with nothing on it at all.
    pub fn is_blank_line(&self) -> bool {
        matches!(self.fields.as_slice(), [only] if only.is_empty())
    }
}

/// Why the records cannot be read; the caller adds the file's name.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error(transparent)]
    Text(#[from] super::text::TextError),
    #[error("line {opened}: a quote opens here and is never closed (the file ends inside it)")]
    UnterminatedQuote { opened: u64 },
    #[error("line {line}: more than {MAX_COLUMNS} columns; a monthly report has far fewer")]
    TooManyColumns { line: u64 },
    #[error("line {line}: a record of more than {} MiB", MAX_RECORD_BYTES >> 20)]
    RecordTooLong { line: u64 },
    #[error("cannot be read: {0}")]
    Io(io::Error),
}

impl From<io::Error> for CsvError {
    fn from(e: io::Error) -> Self {
        match text_error(&e) {
            Some(t) => CsvError::Text(t.clone()),
            None => CsvError::Io(e),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field (only spaces so far).
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the closing one, or the first of `""`.
    QuoteInQuoted,
}

/// Records from UTF-8 text.
pub struct CsvReader<R> {
    input: R,
    delimiter: u8,
    /// The line the reader is on.
    line: u64,
    /// A CR was the last byte: a following LF belongs to it.
    after_cr: bool,
    done: bool,
}

impl<R: BufRead> CsvReader<R> {
    pub fn new(input: R, delimiter: u8) -> Self {
        CsvReader {
            input,
            delimiter,
            line: 1,
            after_cr: false,
            done: false,
        }
    }

    /// The next record, `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<CsvRecord>, CsvError> {
        if self.done {
            return Ok(None);
        }
        let start = self.line;
        let mut fields: Vec<String> = Vec::new();
        let mut field: Vec<u8> = Vec::new();
        // Fields past MAX_COLUMNS are not kept; one that is not empty refuses the file.
        let mut past_limit_nonempty = false;
        let mut record_bytes = 0usize;
        let mut state = State::FieldStart;
        let mut quote_line = start;
        let mut started = false;
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                self.done = true;
                if state == State::Quoted {
                    return Err(CsvError::UnterminatedQuote { opened: quote_line });
                }
                if !started {
                    return Ok(None);
                }
                Self::end_field(&mut fields, &mut field, &mut past_limit_nonempty, start)?;
                return Ok(Some(CsvRecord {
                    line: start,
                    fields,
                }));
            }
            let mut used = 0;
            let mut finished = false;
            for &b in buf {
                used += 1;
                if self.after_cr {
                    self.after_cr = false;
                    if b == b'\n' {
                        continue;
                    }
                }
                started = true;
                record_bytes += 1;
                if record_bytes > MAX_RECORD_BYTES {
                    return Err(CsvError::RecordTooLong { line: start });
                }
                let newline = b == b'\n' || b == b'\r';
                if newline {
                    self.line += 1;
                    self.after_cr = b == b'\r';
                }
                match state {
                    State::Quoted => match b {
                        b'"' => state = State::QuoteInQuoted,
                        _ => field.push(if b == b'\r' { b'\n' } else { b }),
                    },
                    State::QuoteInQuoted if b == b'"' => {
                        field.push(b'"');
                        state = State::Quoted;
                    }
                    _ if b == self.delimiter => {
                        Self::end_field(&mut fields, &mut field, &mut past_limit_nonempty, start)?;
                        state = State::FieldStart;
                    }
                    _ if newline => {
                        Self::end_field(&mut fields, &mut field, &mut past_limit_nonempty, start)?;
                        finished = true;
                        break;
                    }
                    State::FieldStart if b == b'"' => {
                        // Spaces before an opening quote are layout, not content.
                        field.clear();
                        quote_line = self.line;
                        state = State::Quoted;
                    }
                    State::FieldStart if b == b' ' => field.push(b),
                    // Text after a closing quote (`"a"b`) is kept, as Excel does.
                    State::FieldStart | State::Unquoted | State::QuoteInQuoted => {
                        field.push(b);
                        state = State::Unquoted;
                    }
                }
            }
            self.input.consume(used);
            if finished {
                return Ok(Some(CsvRecord {
                    line: start,
                    fields,
                }));
            }
        }
    }

    fn end_field(
        fields: &mut Vec<String>,
        field: &mut Vec<u8>,
        past_limit_nonempty: &mut bool,
        line: u64,
    ) -> Result<(), CsvError> {
        let bytes = std::mem::take(field);
        if fields.len() >= MAX_COLUMNS {
            *past_limit_nonempty |= bytes.iter().any(|b| !b.is_ascii_whitespace());
            if *past_limit_nonempty {
                return Err(CsvError::TooManyColumns { line });
            }
            return Ok(());
        }
        // The decoder yields UTF-8 and fields split at ASCII bytes, so this cannot fail.
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        fields.push(text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str, delimiter: u8) -> Result<Vec<CsvRecord>, CsvError> {
        // A tiny buffer, so records cross buffer boundaries.
        let mut reader =
            CsvReader::new(io::BufReader::with_capacity(3, text.as_bytes()), delimiter);
        let mut out = Vec::new();
        while let Some(r) = reader.next_record()? {
            out.push(r);
        }
        Ok(out)
    }

    fn rec(line: u64, fields: &[&str]) -> CsvRecord {
        CsvRecord {
            line,
            fields: fields.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn records_as_excel_writes_them() {
        let text = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n\r\n1,,3";
        assert_eq!(
            records(text, b',').unwrap(),
            [
                rec(1, &["a", "b", "c"]),
                rec(2, &["x, y", "say \"hi\"", "two\nlines"]),
                rec(4, &[""]),
                rec(5, &["1", "", "3"]),
            ]
        );
        assert!(records(text, b',').unwrap()[2].is_blank_line());
        assert_eq!(
            records("a;b\n  \"q;r\" ;s\n", b';').unwrap(),
            [rec(1, &["a", "b"]), rec(2, &["q;r ", "s"])]
        );
        assert_eq!(records("", b',').unwrap(), []);
        assert_eq!(
            records("a\rb\n", b',').unwrap(),
            [rec(1, &["a"]), rec(2, &["b"])]
        );
    }

    #[test]
    fn an_unterminated_quote_names_its_line() {
        let err = records("a,b\n1,2\n3,\"open\n4,5\n", b',').unwrap_err();
        assert!(
            matches!(err, CsvError::UnterminatedQuote { opened: 3 }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "line 3: a quote opens here and is never closed (the file ends inside it)"
        );
    }

    #[test]
    fn column_and_record_limits() {
        let wide = format!("{}x\n", ",".repeat(MAX_COLUMNS));
        let err = records(&format!("a\n{wide}"), b',').unwrap_err();
        assert!(
            matches!(err, CsvError::TooManyColumns { line: 2 }),
            "{err:?}"
        );
        // Empty fields past the limit are trailing empty cells: fine, and not kept.
        let empty = records(&",".repeat(MAX_COLUMNS + 5), b',').unwrap();
        assert_eq!(empty[0].fields.len(), MAX_COLUMNS);
        let long = format!("a,\"{}\"\n", "x".repeat(MAX_RECORD_BYTES));
        assert!(matches!(
            records(&long, b',').unwrap_err(),
            CsvError::RecordTooLong { line: 1 }
        ));
    }
}
