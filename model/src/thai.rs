//! Small helpers for Thai text as fund clerks write it: Thai digits, values quoted verbatim in
//! messages, and numbers as typed into a cell.

use std::fmt;

/// Replaces Thai digits ๐–๙ (U+0E50–U+0E59) by ASCII digits; everything else is kept.
pub fn ascii_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{0E50}'..='\u{0E59}' => char::from(b'0' + (c as u32 - 0x0E50) as u8),
            other => other,
        })
        .collect()
}

/// The offset between the Buddhist Era (พ.ศ.) and the Common Era: BE = CE + 543.
pub const BUDDHIST_ERA_OFFSET: i32 = 543;

/// The longest value [`quoted`] shows whole; a longer cell is garbage, and its reason must stay short.
pub const QUOTED_MAX_CHARS: usize = 200;

/// A value in double quotes exactly as written, for messages. Not `{:?}`: that escapes Thai vowel and
/// tone marks (`\u{e31}`) and invisible characters, so an operator could not find the value in the file.
/// A value over [`QUOTED_MAX_CHARS`] characters shows its start and its length.
pub fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTED_MAX_CHARS) {
        None => format!("\"{text}\""),
        Some((end, _)) => format!(
            "\"{}…\" ({} characters)",
            &text[..end],
            text.chars().count()
        ),
    }
}

/// A number as typed into a cell, read into its parts but not yet into a type: the caller decides how
/// many decimals it allows and whether a sign makes sense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenNumber {
    /// A leading minus or accounting parentheses.
    pub negative: bool,
    /// The whole part, ASCII digits without separators (`"0"` for `.50`).
    pub integer: String,
    /// The digits after the decimal point, as written (`"50"` for `1,234.50`, empty for `12`).
    pub fraction: String,
}

/// Why a cell's text is not a number; the message quotes the text verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {problem}", quoted(text))]
pub struct NumberError {
    pub text: String,
    pub problem: NumberProblem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberProblem {
    Empty,
    NotFinite,
    Exponent,
    LetterO,
    Formula,
    ErrorCell,
    European,
    MisplacedSeparator,
    NotANumber,
}

impl fmt::Display for NumberProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumberProblem::Empty => "is empty, not a number",
            NumberProblem::NotFinite => "is not a finite number (NaN or Infinity)",
            NumberProblem::Exponent => {
                "is written with an exponent; write the number out in full (1234.50)"
            }
            NumberProblem::LetterO => "has the letter O where the digit zero (0) is meant",
            NumberProblem::Formula => {
                "is formula text, not a value; save the sheet with the formula's result"
            }
            NumberProblem::ErrorCell => "is a spreadsheet error cell, not a number",
            NumberProblem::European => {
                "uses European separators ('.' for thousands or ',' for decimals); write 1,234.50"
            }
            NumberProblem::MisplacedSeparator => {
                "has a thousands separator in the wrong place; write 1,234,567.50"
            }
            NumberProblem::NotANumber => "is not a number",
        })
    }
}

/// Error values a spreadsheet writes into a cell whose formula failed.
const ERROR_CELLS: [&str; 10] = [
    "#DIV/0!",
    "#N/A",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#NULL!",
    "#SPILL!",
    "#CALC!",
    "#GETTING_DATA",
];

/// Reads a number as a clerk types it: Thai or ASCII digits, thousands separators (`,` or a space, in
/// groups of three), a decimal point, a leading minus or accounting parentheses, spaces around, and any
/// of `units` (e.g. `฿`, `บาท`, `คน`) before or after. Refuses what a person or a spreadsheet could
/// mean differently: exponents, European separators, the letter O for zero, formulas and error cells.
pub fn read_number(text: &str, units: &[&str]) -> Result<WrittenNumber, NumberError> {
    let fail = |problem| NumberError {
        text: text.to_string(),
        problem,
    };
    let ascii = ascii_digits(text);
    let mut body = ascii.trim();
    if body.is_empty() {
        return Err(fail(NumberProblem::Empty));
    }
    if body.starts_with(['=', '@']) {
        return Err(fail(NumberProblem::Formula));
    }
    if body.starts_with('#') {
        let upper = body.to_uppercase();
        return Err(fail(if ERROR_CELLS.contains(&upper.as_str()) {
            NumberProblem::ErrorCell
        } else {
            NumberProblem::NotANumber
        }));
    }
    body = strip_units(body, units);
    let mut negative = false;
    if let Some(inner) = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')) {
        negative = true;
        body = strip_units(inner.trim(), units);
    }
    if let Some(rest) = body.strip_prefix(['-', '\u{2212}', '+']) {
        // `+A1`, `-SUM(B2:B4)`: a formula typed without `=`, which Excel still evaluates.
        if rest.starts_with(|c: char| c.is_alphabetic() || c == '(') && !is_not_finite(rest) {
            return Err(fail(NumberProblem::Formula));
        }
        negative ^= body.starts_with(['-', '\u{2212}']);
        body = strip_units(rest.trim(), units);
    }
    if is_not_finite(body) {
        return Err(fail(NumberProblem::NotFinite));
    }
    let numeric = |s: &str| {
        !s.is_empty()
            && s.chars().any(|c| c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | ' '))
    };
    if body.contains(['o', 'O']) && numeric(&body.replace(['o', 'O'], "0")) {
        return Err(fail(NumberProblem::LetterO));
    }
    if let Some((mantissa, exponent)) = body.split_once(['e', 'E'])
        && numeric(mantissa)
        && numeric(exponent.trim_start_matches(['+', '-']))
    {
        return Err(fail(NumberProblem::Exponent));
    }
    if !numeric(body) {
        return Err(fail(NumberProblem::NotANumber));
    }
    let (integer, fraction) = match body.split_once('.') {
        Some((_, fraction)) if fraction.contains('.') => {
            return Err(fail(NumberProblem::European)); // 1.234.567
        }
        Some((_, fraction)) if fraction.contains(',') => {
            return Err(fail(NumberProblem::European)); // 1.234,50
        }
        Some((_, fraction)) if fraction.contains(' ') => {
            return Err(fail(NumberProblem::MisplacedSeparator));
        }
        Some((integer, fraction)) => (integer, fraction),
        None => {
            // A comma followed by one or two digits at the end is a decimal comma: 1 234,50 or 12,5.
            if let Some((_, last)) = body.rsplit_once(',')
                && (1..=2).contains(&last.len())
            {
                return Err(fail(NumberProblem::European));
            }
            (body, "")
        }
    };
    let integer = ungrouped(integer).ok_or_else(|| fail(NumberProblem::MisplacedSeparator))?;
    if integer.is_empty() && fraction.is_empty() {
        return Err(fail(NumberProblem::NotANumber));
    }
    Ok(WrittenNumber {
        negative,
        integer: if integer.is_empty() {
            "0".to_string()
        } else {
            integer
        },
        fraction: fraction.to_string(),
    })
}

fn strip_units<'a>(text: &'a str, units: &[&str]) -> &'a str {
    let mut body = text;
    for unit in units {
        if let Some(rest) = strip_prefix_ignoring_case(body, unit) {
            body = rest.trim();
        }
        if let Some(rest) = strip_suffix_ignoring_case(body, unit) {
            body = rest.trim();
        }
    }
    body
}

fn strip_prefix_ignoring_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn strip_suffix_ignoring_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let start = text.len().checked_sub(suffix.len())?;
    let tail = text.get(start..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..start])
}

fn is_not_finite(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().as_str(),
        "nan" | "inf" | "infinity" | "∞"
    )
}

/// The digits of a whole part written with or without one kind of thousands separator (`,` or a space),
/// in groups of three after a first group of one to three digits; `None` when the groups are wrong.
fn ungrouped(integer: &str) -> Option<String> {
    let separator = match (integer.contains(','), integer.contains(' ')) {
        (false, false) => return Some(integer.to_string()),
        (true, false) => ',',
        (false, true) => ' ',
        (true, true) => return None,
    };
    let groups: Vec<&str> = integer.split(separator).collect();
    let first_ok = (1..=3).contains(&groups[0].len());
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    (first_ok && rest_ok).then(|| groups.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thai_digits_become_ascii() {
        assert_eq!(ascii_digits("๒๕๖๘"), "2568");
        assert_eq!(ascii_digits("ต.ค. ๒๕๖๘"), "ต.ค. 2568");
        assert_eq!(ascii_digits("1,๐๐๐ บาท"), "1,000 บาท");
    }

    #[test]
    fn quoted_keeps_thai_marks_and_invisible_characters() {
        assert_eq!(quoted("กุมภาพันธ์"), "\"กุมภาพันธ์\"");
        assert_eq!(quoted("\u{feff}F1"), "\"\u{feff}F1\"");
        assert_ne!(quoted("กุมภาพันธ์"), format!("{:?}", "กุมภาพันธ์"));
        let long = "ก".repeat(QUOTED_MAX_CHARS + 1);
        assert_eq!(
            quoted(&long),
            format!("\"{}…\" (201 characters)", "ก".repeat(QUOTED_MAX_CHARS))
        );
        assert_eq!(quoted(&long[3..]), format!("\"{}\"", &long[3..]));
    }

    fn parts(text: &str) -> (bool, String, String) {
        let n = read_number(text, &["฿", "บาท"]).unwrap_or_else(|e| panic!("{text}: {e}"));
        (n.negative, n.integer, n.fraction)
    }

    #[test]
    fn numbers_as_clerks_write_them() {
        let p = |neg, i: &str, f: &str| (neg, i.to_string(), f.to_string());
        assert_eq!(parts("1,234,567.50"), p(false, "1234567", "50"));
        assert_eq!(parts(" ๑,๒๓๔.๕ บาท "), p(false, "1234", "5"));
        assert_eq!(parts("฿ 1 000 000"), p(false, "1000000", ""));
        assert_eq!(parts("(฿1,000.00)"), p(true, "1000", "00"));
        assert_eq!(parts("-20"), p(true, "20", ""));
        assert_eq!(parts("+20"), p(false, "20", ""));
        assert_eq!(parts(".50"), p(false, "0", "50"));
        assert_eq!(
            parts("1.005"),
            p(false, "1", "005"),
            "decimals are the caller's rule"
        );
    }

    #[test]
    fn numbers_refused_say_why() {
        for (text, problem) in [
            ("", NumberProblem::Empty),
            ("NaN", NumberProblem::NotFinite),
            ("-Infinity", NumberProblem::NotFinite),
            ("1e309", NumberProblem::Exponent),
            ("1.5E+3", NumberProblem::Exponent),
            ("O", NumberProblem::LetterO),
            ("1O0", NumberProblem::LetterO),
            ("๑O", NumberProblem::LetterO),
            ("1.234,50", NumberProblem::European),
            ("1 234,50", NumberProblem::European),
            ("1.234.567", NumberProblem::European),
            ("12,5", NumberProblem::European),
            ("12,34.5", NumberProblem::MisplacedSeparator),
            ("1,2345", NumberProblem::MisplacedSeparator),
            ("1, 234", NumberProblem::MisplacedSeparator),
            ("=SUM(A1:A3)", NumberProblem::Formula),
            ("+A1", NumberProblem::Formula),
            ("-SUM(A1)", NumberProblem::Formula),
            ("@x", NumberProblem::Formula),
            ("#DIV/0!", NumberProblem::ErrorCell),
            ("#N/A", NumberProblem::ErrorCell),
            ("#hello", NumberProblem::NotANumber),
            ("12abc", NumberProblem::NotANumber),
            ("-", NumberProblem::NotANumber),
        ] {
            let err = read_number(text, &["฿"]).unwrap_err();
            assert_eq!(err.problem, problem, "{text}");
            assert!(err.to_string().starts_with(&quoted(text)), "{err}");
        }
    }
}
