//! The pull pipeline every kind shares: records in, a [`Pull`] out.
//!
//! A kind reads its source into [`RawRecord`]s and pushes them into a [`PullBuilder`], which maps
//! each one ([`RecordMapper`]), batches the summaries into Arrow every [`BATCH_ROWS`] rows (so memory
//! holds one batch of summaries, not the source), keeps each row's location and declared tambon in
//! line with it, and collects rejections and unrecognised columns. Repeats of one fund-month are
//! passed on as they are: the hub decides (identical copies store once, differing copies are all
//! quarantined), with one message for every kind.
//!
//! [`ContentDigest`] is the cursor of sources without a change marker: the SHA-256 of the content
//! read, fed piece by piece; an unchanged digest means an unchanged source.

use sha2::{Digest, Sha256};

use crate::batch::to_batch;
use crate::mapping::{RawRecord, RecordMapper, Target};
use crate::source::{ConnectorError, Cursor, Pull, Rejected, SourcedBatch, UnrecognisedColumn};
use welfare_model::{FundId, Period, Summary};

/// Summaries per Arrow batch handed to the hub.
pub const BATCH_ROWS: usize = 4096;

/// Builds one pull from records (see the module documentation).
#[derive(Debug)]
pub struct PullBuilder {
    mapper: RecordMapper,
    batch_rows: usize,
    rows: Vec<Summary>,
    locations: Vec<String>,
    tambons: Vec<Option<String>>,
    /// Whether a record of the current batch had a tambon field.
    declares_tambon: bool,
    batches: Vec<SourcedBatch>,
    rejected: Vec<Rejected>,
    unrecognised: Vec<UnrecognisedColumn>,
}

impl PullBuilder {
    pub fn new(mapper: RecordMapper) -> Self {
        Self::with_batch_rows(mapper, BATCH_ROWS)
    }

    /// A builder flushing a batch every `rows` rows (at least one).
    pub fn with_batch_rows(mapper: RecordMapper, rows: usize) -> Self {
        PullBuilder {
            mapper,
            batch_rows: rows.max(1),
            rows: Vec::new(),
            locations: Vec::new(),
            tambons: Vec::new(),
            declares_tambon: false,
            batches: Vec::new(),
            rejected: Vec::new(),
            unrecognised: Vec::new(),
        }
    }

    /// Maps one record. `cells[i]` is where field `i` is (may be empty, or shorter than the
    /// fields): a rejection caused by one value points at its cell, else at the record.
    pub fn push(&mut self, record: &RawRecord, cells: &[String]) -> Result<(), ConnectorError> {
        self.push_keyed(record, cells).map(|_| ())
    }

    /// Like [`PullBuilder::push`], and answers the fund and month of an accepted record (for a kind
    /// that checks its own paging).
    pub fn push_keyed(
        &mut self,
        record: &RawRecord,
        cells: &[String],
    ) -> Result<Option<(FundId, Period)>, ConnectorError> {
        match self.mapper.map_record(record) {
            Ok(mapped) => {
                let key = (mapped.summary.fund_id.clone(), mapped.summary.period);
                self.declares_tambon |= record
                    .fields
                    .iter()
                    .any(|(_, t, _)| *t == Some(Target::Tambon));
                self.rows.push(mapped.summary);
                self.locations.push(record.location.clone());
                self.tambons.push(mapped.tambon);
                if self.rows.len() >= self.batch_rows {
                    self.flush()?;
                }
                Ok(Some(key))
            }
            Err(boxed) => {
                let (mut rejected, culprit) = *boxed;
                if let Some(cell) = culprit.and_then(|i| cells.get(i)).filter(|c| !c.is_empty()) {
                    rejected.location = cell.clone();
                }
                self.rejected.push(rejected);
                Ok(None)
            }
        }
    }

    /// A row the kind itself could not read (a value its source could not decode, a record that is
    /// not an object…).
    pub fn reject(&mut self, rejected: Rejected) {
        self.rejected.push(rejected);
    }

    /// A column (or field) that feeds nothing and is not ignored.
    pub fn unrecognised(&mut self, column: UnrecognisedColumn) {
        self.unrecognised.push(column);
    }

    /// Rows accepted so far (batched or not).
    pub fn row_count(&self) -> usize {
        self.rows.len()
            + self
                .batches
                .iter()
                .map(|b| b.rows.num_rows())
                .sum::<usize>()
    }

    fn flush(&mut self) -> Result<(), ConnectorError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = to_batch(&self.rows).map_err(|e| {
            ConnectorError::Content(format!(
                "rows up to {}: cannot batch them: {e}",
                self.locations.last().map(String::as_str).unwrap_or("?")
            ))
        })?;
        self.rows.clear();
        let tambons = std::mem::take(&mut self.tambons);
        self.batches.push(SourcedBatch {
            rows,
            locations: std::mem::take(&mut self.locations),
            tambons: if self.declares_tambon {
                tambons
            } else {
                Vec::new()
            },
        });
        self.declares_tambon = false;
        Ok(())
    }

    /// The pull: every batch, rejection and unrecognised column, with the cursor to save.
    pub fn finish(mut self, cursor: Option<Cursor>) -> Result<Pull, ConnectorError> {
        self.flush()?;
        Ok(Pull {
            batches: self.batches,
            rejected: self.rejected,
            unrecognised: self.unrecognised,
            cursor,
        })
    }
}

/// The SHA-256 of a source's content, fed in pieces; [`ContentDigest::finish`] gives the cursor
/// text `sha256:<hex>`.
#[derive(Debug, Clone, Default)]
pub struct ContentDigest(Sha256);

/// What every digest cursor starts with.
pub const DIGEST_PREFIX: &str = "sha256:";

impl ContentDigest {
    pub fn new() -> Self {
        ContentDigest(Sha256::new())
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// `sha256:` and the digest in lower-case hex.
    pub fn finish(self) -> String {
        let mut out = String::with_capacity(DIGEST_PREFIX.len() + 64);
        out.push_str(DIGEST_PREFIX);
        for b in self.0.finalize() {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::from_batch;
    use crate::mapping::RawValue;

    fn record(line: usize, fund: &str, members: &str, tambon: Option<&str>) -> RawRecord {
        let mut fields = vec![
            ("รหัสกองทุน".to_string(), Some(Target::FundId), fund.into()),
            ("เดือน".to_string(), Some(Target::Period), "2025-10".into()),
            (
                "จำนวนสมาชิก".to_string(),
                Target::by_name("members_total"),
                members.into(),
            ),
        ];
        if let Some(t) = tambon {
            fields.push(("รหัสตำบล".to_string(), Some(Target::Tambon), t.into()));
        }
        RawRecord {
            location: format!("r.csv line {line}"),
            fields,
        }
    }

    fn cells(line: usize, n: usize) -> Vec<String> {
        (1..=n)
            .map(|c| format!("r.csv line {line} column {c}"))
            .collect()
    }

    #[test]
    fn batches_flush_every_n_rows_and_locations_and_tambons_line_up() {
        let mut b = PullBuilder::with_batch_rows(RecordMapper::new("connector:t"), 2);
        for line in 2..7 {
            let tambon = (line != 4).then_some("๕๐๐๑๐๑");
            b.push(
                &record(line, &format!("F{line}"), "10", tambon),
                &cells(line, 4),
            )
            .unwrap();
        }
        let pull = b.finish(Some(Cursor("c".into()))).unwrap();
        let sizes: Vec<usize> = pull.batches.iter().map(|b| b.rows.num_rows()).collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert_eq!(pull.batches[1].locations, ["r.csv line 4", "r.csv line 5"]);
        assert_eq!(pull.batches[1].tambons, [None, Some("500101".to_string())]);
        let funds: Vec<String> = from_batch(&pull.batches[2].rows)
            .unwrap()
            .iter()
            .map(|s| s.fund_id.to_string())
            .collect();
        assert_eq!(funds, ["F6"]);
        assert_eq!(pull.cursor, Some(Cursor("c".into())));
    }

    #[test]
    fn no_tambon_field_leaves_tambons_empty_and_repeats_pass_through() {
        let mut b = PullBuilder::new(RecordMapper::new("connector:t"));
        b.push(&record(2, "F1", "10", None), &[]).unwrap();
        b.push(&record(3, "F1", "11", None), &[]).unwrap();
        let pull = b.finish(None).unwrap();
        assert_eq!(pull.batches.len(), 1);
        assert!(pull.batches[0].tambons.is_empty());
        assert_eq!(pull.row_count(), 2, "the hub decides about repeats");
    }

    #[test]
    fn a_rejection_points_at_the_failing_cell_or_the_row() {
        let mut b = PullBuilder::new(RecordMapper::new("connector:t"));
        b.push(&record(2, "F1", "many", None), &cells(2, 3))
            .unwrap();
        b.push(&record(3, "F1", "x", Some("50101")), &cells(3, 4))
            .unwrap();
        b.push(&record(4, "F1", "many", None), &[]).unwrap();
        let mut no_fund = record(5, "F1", "1", None);
        no_fund.fields[0].2 = RawValue::Empty;
        b.push(&no_fund, &cells(5, 3)).unwrap();
        b.unrecognised(UnrecognisedColumn {
            location: "r.csv line 1 column 5".into(),
            heading: "หมายเหตุ".into(),
        });
        let pull = b.finish(None).unwrap();
        let at: Vec<&str> = pull.rejected.iter().map(|r| r.location.as_str()).collect();
        assert_eq!(
            at,
            [
                "r.csv line 2 column 3",
                "r.csv line 3 column 3",
                "r.csv line 4",
                "r.csv line 5"
            ]
        );
        assert!(
            pull.rejected[0]
                .reason
                .starts_with("members_total (จำนวนสมาชิก) = \"many\""),
            "{}",
            pull.rejected[0].reason
        );
        assert!(pull.rejected[3].reason.contains("no fund id"));
        assert_eq!(pull.unrecognised[0].heading, "หมายเหตุ");
        assert_eq!(pull.row_count(), 0);
        assert!(pull.batches.is_empty());
    }

    #[test]
    fn a_bad_tambon_rejects_its_row_at_its_cell() {
        let mut b = PullBuilder::new(RecordMapper::new("connector:t"));
        b.push(&record(2, "F1", "1", Some("50101")), &cells(2, 4))
            .unwrap();
        let pull = b.finish(None).unwrap();
        assert_eq!(pull.rejected[0].location, "r.csv line 2 column 4");
        assert_eq!(
            pull.rejected[0].reason,
            "tambon (รหัสตำบล) = \"50101\": \"50101\" is not a tambon code: expected exactly six \
             digits (DOPA code, e.g. 500101)"
        );
    }

    #[test]
    fn digest_in_pieces_is_the_digest_of_the_whole() {
        let mut pieces = ContentDigest::new();
        pieces.update(b"ab");
        pieces.update(b"c");
        let mut whole = ContentDigest::new();
        whole.update(b"abc");
        let d = pieces.finish();
        assert_eq!(d, whole.finish());
        assert_eq!(
            d,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
