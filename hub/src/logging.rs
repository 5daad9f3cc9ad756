//! The hub's log: text or JSON lines on stderr, with every credential masked.
//!
//! Connectors' messages quote their sources' URLs, and an operator may have put a key in one
//! (`?api_key=…`). Each log line is therefore passed through [`welfare_connectors::redact`] as a
//! whole before it is written, whichever module logged it and however the value was formatted.

use std::io::Write;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{Config, LogFormat};

/// Starts the log (once per process) at the configured level, or `RUST_LOG`'s.
pub fn init(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting(std::io::stderr));
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Makes a writer per log event that masks credentials in the event's text before writing it.
#[derive(Debug, Clone, Copy)]
pub struct Redacting<M>(pub M);

impl<'a, M> MakeWriter<'a> for Redacting<M>
where
    M: MakeWriter<'a>,
{
    type Writer = RedactedEvent<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedEvent {
            line: Vec::with_capacity(256),
            out: self.0.make_writer(),
        }
    }
}

/// One event's text, held until the event is written whole, then masked and passed on.
#[derive(Debug)]
pub struct RedactedEvent<W: Write> {
    line: Vec<u8>,
    out: W,
}

impl<W: Write> Write for RedactedEvent<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactedEvent<W> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.line);
        let masked = welfare_connectors::redact::redact(&text);
        // A log line that cannot be written has nowhere else to go.
        let _ = self.out.write_all(masked.as_bytes());
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn log_lines_carry_no_credentials_in_text_or_json() {
        for json in [false, true] {
            let captured = Captured::default();
            let sink = captured.clone();
            let builder = tracing_subscriber::fmt()
                .with_writer(Redacting(move || sink.clone()))
                .with_ansi(false);
            let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = if json {
                Box::new(builder.json().finish())
            } else {
                Box::new(builder.finish())
            };
            tracing::subscriber::with_default(subscriber, || {
                let url = "https://api.example.org/v1/funds?page=1&access_token=s3cr3t";
                tracing::warn!(connector = "api-50", url, "run failed: {url}: HTTP 500");
                tracing::info!(database = "postgres://hub:pw@db/hub", "opening store");
            });
            let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
            assert!(!text.contains("s3cr3t") && !text.contains(":pw@"), "{text}");
            assert!(text.contains("access_token=***"), "{text}");
            assert!(text.contains("postgres://hub:***@db/hub"), "{text}");
            assert!(text.contains("page=1"), "{text}");
            assert_eq!(text.lines().count(), 2, "{text}");
        }
    }
}
