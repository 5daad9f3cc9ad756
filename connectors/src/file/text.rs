//! A CSV file's bytes as UTF-8 text, decoded as a stream, refusing bytes that cannot be trusted.
//!
//! Thai Excel saves "CSV" as Windows-874 (a superset of TIS-620) and "CSV UTF-8" as UTF-8 with a
//! byte-order mark; hand-made files are often UTF-8 without one. With `encoding = "auto"` a BOM
//! decides, else the first non-ASCII character: if it is valid UTF-8 the file is UTF-8, else
//! Windows-874. Whatever comes after must then be of that same encoding: a file where someone pasted
//! UTF-8 Thai into a Windows-874 file (or the reverse) is refused rather than stored half garbled.
//! NUL bytes (a binary file), bytes defined in neither encoding and a UTF-8 character cut at the end
//! (a truncated upload) are refused too, each naming the byte offset.

use std::io::{self, Read};

use super::TextEncoding;

/// How much raw text is read at a time.
const CHUNK: usize = 64 * 1024;

/// Why the bytes are not text we can trust; `at` is the byte offset in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("a NUL byte at byte {at}: this is a binary file, not CSV text")]
    Nul { at: u64 },
    #[error(
        "byte 0x{byte:02X} at byte {at} is neither UTF-8 nor Windows-874 (TIS-620): save the report again as \"CSV UTF-8\""
    )]
    Undefined { byte: u8, at: u64 },
    #[error("is not UTF-8: byte 0x{byte:02X} at byte {at}; is it encoding = \"windows-874\"?")]
    NotUtf8 { byte: u8, at: u64 },
    #[error(
        "mixes UTF-8 and Windows-874 Thai: the text before is {before}, but the bytes at byte {at} ({bytes}) are {after}; save the whole report again in one encoding"
    )]
    Mixed {
        at: u64,
        bytes: String,
        before: &'static str,
        after: &'static str,
    },
    #[error(
        "the file ends in the middle of a UTF-8 character (bytes {bytes} at byte {at}): it was cut short, upload it again"
    )]
    Cut { at: u64, bytes: String },
    #[error("is UTF-16 text (a byte-order mark {bom}): save the report as \"CSV UTF-8\"")]
    Utf16 { bom: &'static str },
    #[error(
        "starts with a UTF-8 byte-order mark but the configuration says encoding = \"windows-874\""
    )]
    BomContradicts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Only ASCII so far.
    Undecided,
    Utf8,
    Windows874,
}

/// Reads `inner`'s bytes and yields them as UTF-8. Errors are `io::ErrorKind::InvalidData` wrapping a
/// [`TextError`] (see [`text_error`]).
pub struct Decoder<R> {
    inner: R,
    mode: Mode,
    explicit: bool,
    /// Bytes read from `inner` and not yet decoded (an incomplete character at a chunk's end).
    pending: Vec<u8>,
    /// The file offset of `pending[0]`.
    offset: u64,
    started: bool,
    eof: bool,
    /// Decoded text not yet handed out.
    out: Vec<u8>,
    out_at: usize,
}

impl<R: Read> Decoder<R> {
    pub fn new(inner: R, encoding: TextEncoding) -> Self {
        let (mode, explicit) = match encoding {
            TextEncoding::Auto => (Mode::Undecided, false),
            TextEncoding::Utf8 => (Mode::Utf8, true),
            TextEncoding::Windows874 => (Mode::Windows874, true),
        };
        Decoder {
            inner,
            mode,
            explicit,
            pending: Vec::new(),
            offset: 0,
            started: false,
            eof: false,
            out: Vec::new(),
            out_at: 0,
        }
    }

    /// Reads and decodes the next chunk into `out`.
    fn fill(&mut self) -> Result<(), io::Error> {
        while self.out_at >= self.out.len() && !(self.eof && self.pending.is_empty()) {
            self.out.clear();
            self.out_at = 0;
            if !self.eof {
                let start = self.pending.len();
                self.pending.resize(start + CHUNK, 0);
                let n = loop {
                    match self.inner.read(&mut self.pending[start..]) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            self.pending.truncate(start);
                            return Err(e);
                        }
                    }
                };
                self.pending.truncate(start + n);
                self.eof = n == 0;
            }
            if !self.started {
                // A BOM needs its three bytes before it can be recognised.
                if self.pending.len() < 3 && !self.eof {
                    continue;
                }
                self.started = true;
                self.strip_bom().map_err(invalid)?;
            }
            let used = self.decode().map_err(invalid)?;
            self.pending.drain(..used);
            self.offset += used as u64;
        }
        Ok(())
    }

    fn strip_bom(&mut self) -> Result<(), TextError> {
        if self.pending.starts_with(b"\xEF\xBB\xBF") {
            if self.mode == Mode::Windows874 {
                return Err(TextError::BomContradicts);
            }
            self.mode = Mode::Utf8;
            self.pending.drain(..3);
            self.offset = 3;
        } else if self.pending.starts_with(b"\xFF\xFE") {
            return Err(TextError::Utf16 { bom: "FF FE" });
        } else if self.pending.starts_with(b"\xFE\xFF") {
            return Err(TextError::Utf16 { bom: "FE FF" });
        }
        Ok(())
    }

    /// Decodes what it can of `pending` into `out`; returns how many bytes were used.
    fn decode(&mut self) -> Result<usize, TextError> {
        let nul = self.pending.iter().position(|b| *b == 0);
        match nul {
            // The text before the NUL must be good (else that is the first fault); a character
            // cut by the NUL is the NUL's fault.
            Some(i) => match self.decode_upto(i, true) {
                Ok(_) | Err(TextError::Cut { .. }) => Err(TextError::Nul {
                    at: self.offset + i as u64,
                }),
                Err(e) => Err(e),
            },
            None => self.decode_upto(self.pending.len(), self.eof),
        }
    }

    /// Decodes `pending[..end]`; `at_end` when nothing follows it.
    fn decode_upto(&mut self, end: usize, at_end: bool) -> Result<usize, TextError> {
        if self.mode == Mode::Undecided {
            let bytes = &self.pending[..end];
            match bytes.iter().position(|b| !b.is_ascii()) {
                None => {
                    self.out.extend_from_slice(bytes);
                    return Ok(end);
                }
                Some(i) => {
                    // The first non-ASCII character decides: valid UTF-8 makes the file UTF-8.
                    match std::str::from_utf8(&bytes[i..]) {
                        Ok(_) => self.mode = Mode::Utf8,
                        Err(e) if e.valid_up_to() > 0 => self.mode = Mode::Utf8,
                        // Cut by the chunk's end: decide with the next chunk.
                        Err(e) if e.error_len().is_none() && !at_end => {
                            self.out.extend_from_slice(&bytes[..i]);
                            return Ok(i);
                        }
                        // Cut by the file's end: a truncated UTF-8 file, reported as such.
                        Err(e) if e.error_len().is_none() => self.mode = Mode::Utf8,
                        Err(_) => self.mode = Mode::Windows874,
                    }
                }
            }
        }
        match self.mode {
            Mode::Utf8 => self.decode_utf8(end, at_end),
            Mode::Windows874 => self.decode_windows_874(end, at_end),
            Mode::Undecided => unreachable!("decided above"),
        }
    }

    fn decode_utf8(&mut self, end: usize, at_end: bool) -> Result<usize, TextError> {
        let bytes = &self.pending[..end];
        match std::str::from_utf8(bytes) {
            Ok(_) => {
                self.out.extend_from_slice(bytes);
                Ok(end)
            }
            Err(e) => {
                let good = e.valid_up_to();
                let at = self.offset + good as u64;
                match e.error_len() {
                    None if !at_end => {
                        // A character split by the chunk's end: decode it with the next chunk.
                        self.out.extend_from_slice(&bytes[..good]);
                        Ok(good)
                    }
                    None => Err(TextError::Cut {
                        at,
                        bytes: hex(&bytes[good..]),
                    }),
                    Some(len) => {
                        let bad = &bytes[good..good + len];
                        if is_windows_874_thai(bad[0]) && self.explicit {
                            Err(TextError::NotUtf8 { byte: bad[0], at })
                        } else if is_windows_874_thai(bad[0]) {
                            Err(TextError::Mixed {
                                at,
                                bytes: hex(&bytes[good..(good + 3).min(bytes.len())]),
                                before: "UTF-8",
                                after: "Windows-874",
                            })
                        } else {
                            Err(TextError::Undefined { byte: bad[0], at })
                        }
                    }
                }
            }
        }
    }

    fn decode_windows_874(&mut self, end: usize, at_end: bool) -> Result<usize, TextError> {
        let bytes = &self.pending[..end];
        // Keep the last bytes back when more may follow: they could begin UTF-8 Thai.
        let usable = if at_end {
            end
        } else {
            end.saturating_sub(UTF8_THAI - 1)
        };
        for (i, b) in bytes[..usable].iter().enumerate() {
            if !self.explicit && starts_utf8_thai(&bytes[i..]) {
                return Err(TextError::Mixed {
                    at: self.offset + i as u64,
                    bytes: hex(&bytes[i..i + UTF8_THAI]),
                    before: "Windows-874",
                    after: "UTF-8",
                });
            }
            if !is_windows_874(*b) {
                return Err(TextError::Undefined {
                    byte: *b,
                    at: self.offset + i as u64,
                });
            }
        }
        let (text, _) = encoding_rs::WINDOWS_874.decode_without_bom_handling(&bytes[..usable]);
        self.out.extend_from_slice(text.as_bytes());
        Ok(usable)
    }
}

/// A UTF-8 Thai character: `E0 B8|B9 80..BF`. As Windows-874 it would read `เธ` or `เน` followed by
/// a control byte or a consonant, which Thai spelling does not produce, so finding it in a
/// Windows-874 file means UTF-8 was mixed in.
const UTF8_THAI: usize = 3;

fn starts_utf8_thai(bytes: &[u8]) -> bool {
    bytes.len() >= UTF8_THAI
        && bytes[0] == 0xE0
        && matches!(bytes[1], 0xB8 | 0xB9)
        && (0x80..=0xBF).contains(&bytes[2])
}

/// The bytes Windows-874 defines: ASCII, `€`, `…`, curly quotes and dashes, NBSP and the Thai block.
fn is_windows_874(b: u8) -> bool {
    b.is_ascii() || matches!(b, 0x80 | 0x85 | 0x91..=0x97 | 0xA0..=0xDA | 0xDF..=0xFB)
}

/// A Thai letter, vowel or digit in Windows-874 (TIS-620).
fn is_windows_874_thai(b: u8) -> bool {
    matches!(b, 0xA1..=0xDA | 0xDF..=0xFB)
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn invalid(e: TextError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The [`TextError`] inside an I/O error from a [`Decoder`], if that is what it is.
pub fn text_error(e: &io::Error) -> Option<&TextError> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<TextError>())
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.fill()?;
        let available = &self.out[self.out_at..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.out_at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `bytes` read `step` bytes at a time (to cross chunk-like boundaries).
    fn decode(bytes: &[u8], encoding: TextEncoding) -> Result<String, TextError> {
        let mut text = Vec::new();
        Decoder::new(bytes, encoding)
            .read_to_end(&mut text)
            .map_err(|e| text_error(&e).cloned().expect("a text error"))?;
        Ok(String::from_utf8(text).expect("the decoder yields UTF-8"))
    }

    fn windows_874(text: &str) -> Vec<u8> {
        encoding_rs::WINDOWS_874.encode(text).0.into_owned()
    }

    #[test]
    fn encodings_as_written() {
        let text = "รหัสกองทุน,เดือน\nF1,ต.ค. 2568\n";
        for (bytes, encoding) in [
            (text.as_bytes().to_vec(), TextEncoding::Auto),
            (
                [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
                TextEncoding::Auto,
            ),
            (windows_874(text), TextEncoding::Auto),
            (windows_874(text), TextEncoding::Windows874),
            (text.as_bytes().to_vec(), TextEncoding::Utf8),
        ] {
            assert_eq!(decode(&bytes, encoding).unwrap(), text, "{encoding:?}");
        }
        assert_eq!(decode(b"\xEF\xBB\xBF", TextEncoding::Auto).unwrap(), "");
        assert_eq!(decode(b"", TextEncoding::Auto).unwrap(), "");
        // A long ASCII start before the first Thai letter, past one chunk.
        let long = format!("{}ก\n", "a".repeat(CHUNK + 1));
        assert_eq!(decode(long.as_bytes(), TextEncoding::Auto).unwrap(), long);
        assert_eq!(
            decode(&windows_874(&long), TextEncoding::Auto).unwrap(),
            long
        );
        // A UTF-8 character split by a chunk boundary.
        let split = format!("{}กข\n", "a".repeat(CHUNK - 1));
        assert_eq!(decode(split.as_bytes(), TextEncoding::Auto).unwrap(), split);
    }

    #[test]
    fn bytes_that_are_not_text() {
        assert_eq!(
            decode(b"a,b\n\x00\x01", TextEncoding::Auto),
            Err(TextError::Nul { at: 4 })
        );
        // 0xFC is defined in neither encoding.
        assert_eq!(
            decode(b"a,b\n\xFC", TextEncoding::Auto),
            Err(TextError::Undefined { byte: 0xFC, at: 4 })
        );
        let err = decode(&windows_874("a,ก\n")[..], TextEncoding::Utf8).unwrap_err();
        assert_eq!(err, TextError::NotUtf8 { byte: 0xA1, at: 2 });
        assert_eq!(
            err.to_string(),
            "is not UTF-8: byte 0xA1 at byte 2; is it encoding = \"windows-874\"?"
        );
        assert_eq!(
            decode(b"\xFF\xFEa\x00", TextEncoding::Auto),
            Err(TextError::Utf16 { bom: "FF FE" })
        );
        assert_eq!(
            decode(b"\xEF\xBB\xBFa", TextEncoding::Windows874),
            Err(TextError::BomContradicts)
        );
    }

    #[test]
    fn a_character_cut_at_the_end() {
        let mut bytes = "F1,สมาชิก".as_bytes().to_vec();
        bytes.pop();
        let err = decode(&bytes, TextEncoding::Auto).unwrap_err();
        assert_eq!(
            err,
            TextError::Cut {
                at: bytes.len() as u64 - 2,
                bytes: "E0 B8".into()
            }
        );
        assert!(
            err.to_string()
                .contains("middle of a UTF-8 character (bytes E0 B8 at byte 18)"),
            "{err}"
        );
        // Only a cut character after ASCII: still a cut UTF-8 file, not Windows-874.
        assert_eq!(
            decode(b"a,b\n\xE0\xB8", TextEncoding::Auto),
            Err(TextError::Cut {
                at: 4,
                bytes: "E0 B8".into()
            })
        );
    }

    #[test]
    fn a_mix_of_encodings() {
        let utf8_then_874 = ["เดือน,สมาชิก\n".as_bytes(), &windows_874("ต.ค. 2568,10\n")].concat();
        let err = decode(&utf8_then_874, TextEncoding::Auto).unwrap_err();
        assert!(
            matches!(
                &err,
                TextError::Mixed {
                    at: 35,
                    before: "UTF-8",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("mixes UTF-8 and Windows-874"),
            "{err}"
        );

        let w874_then_utf8 = [
            windows_874("เดือน,สมาชิก\n").as_slice(),
            "ต.ค. 2568,10\n".as_bytes(),
        ]
        .concat();
        let err = decode(&w874_then_utf8, TextEncoding::Auto).unwrap_err();
        assert_eq!(
            err,
            TextError::Mixed {
                at: 13,
                bytes: "E0 B8 95".into(),
                before: "Windows-874",
                after: "UTF-8"
            }
        );
    }
}
