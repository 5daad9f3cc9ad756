//! Small helpers for Thai text as fund clerks write it.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thai_digits_become_ascii() {
        assert_eq!(ascii_digits("๒๕๖๘"), "2568");
        assert_eq!(ascii_digits("ต.ค. ๒๕๖๘"), "ต.ค. 2568");
        assert_eq!(ascii_digits("1,๐๐๐ บาท"), "1,000 บาท");
    }
}
