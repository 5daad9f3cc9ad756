//! Records in answers: where they are, their values as the mapping reads them, cursor keys, and
//! what a pull gathers from them.

use super::*;

/// A cursor value, ordered by what it is: numbers as numbers, times as instants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum CursorKey {
    Number(Decimal),
    Time(DateTime<Utc>),
    Text(String),
}

impl CursorKey {
    pub(super) fn of_text(text: &str) -> CursorKey {
        let t = text.trim();
        // RFC 3339 first: the usual cursor, and much cheaper than the general date reader.
        if let Ok(time) = DateTime::parse_from_rfc3339(t) {
            return CursorKey::Time(time.with_timezone(&Utc));
        }
        if let Ok(d) = Decimal::from_str(t) {
            return CursorKey::Number(d);
        }
        if let Ok(Some(time)) = parse_timestamp(&RawValue::Text(t.to_string())) {
            return CursorKey::Time(time);
        }
        CursorKey::Text(t.to_string())
    }

    /// The key of a record's cursor field and its text as the server wrote it.
    pub(super) fn of_value(value: &Value) -> Option<(CursorKey, String)> {
        match value {
            Value::String(s) if !s.trim().is_empty() => Some((CursorKey::of_text(s), s.clone())),
            Value::Number(n) => {
                let text = n.to_string();
                Some((CursorKey::of_text(&text), text))
            }
            _ => None,
        }
    }
}

/// A JSON value as the mapping reads it. Numbers keep their written digits: integers as integers,
/// others as decimals parsed from the number's text, so amounts stay exact. (serde_json holds a
/// fractional number as an `f64` whose shortest text is the written one up to 15 significant digits,
/// far beyond any fund's balance; amounts sent as strings are exact at any size.)
pub(super) fn raw_value(value: Value) -> RawValue {
    match value {
        Value::Null => RawValue::Empty,
        Value::Bool(b) => RawValue::Bool(b),
        Value::String(s) => RawValue::Text(s),
        Value::Number(n) => match n.as_i64() {
            Some(i) => RawValue::Int(i),
            None => {
                let text = n.to_string();
                Decimal::from_str(&text)
                    .or_else(|_| Decimal::from_scientific(&text))
                    .map(RawValue::Decimal)
                    .unwrap_or(RawValue::Text(text))
            }
        },
        other @ (Value::Array(_) | Value::Object(_)) => RawValue::Text(other.to_string()),
    }
}

/// The value at a dotted path of an answer object.
pub(super) fn lookup<'a>(body: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(body, |v, part| v.get(part))
}

/// The records of one answer.
pub(super) fn records_of<'a>(body: &'a Value, path: &[String]) -> Result<&'a [Value], String> {
    if let Value::Array(records) = body {
        return Ok(records);
    }
    let wanted = path.join(".");
    match lookup(body, path) {
        _ if path.is_empty() => Err("the answer is not an array of records".into()),
        Some(Value::Array(records)) => Ok(records),
        Some(Value::Null) => Ok(&[]),
        Some(_) => Err(format!(
            "`{wanted}` in the answer is not an array of records"
        )),
        None => {
            let keys: Vec<&str> = body
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            Err(format!(
                "the answer has no `{wanted}` (records_field); it has {keys:?}"
            ))
        }
    }
}

/// Takes the records out of an answer (checked by [`records_of`]).
pub(super) fn take_records(body: &mut Value, path: &[String]) -> Result<Vec<Value>, String> {
    records_of(body, path)?;
    let slot = if body.is_array() {
        Some(body)
    } else {
        path.iter().try_fold(body, |v, part| v.get_mut(part))
    };
    Ok(match slot.map(Value::take) {
        Some(Value::Array(records)) => records,
        _ => Vec::new(),
    })
}

/// What a pull has gathered so far.
pub(super) struct Gathered<'a> {
    connector: &'a HttpJsonConnector,
    pull: PullBuilder,
    /// The field names of the last record and their targets: records of one API share their
    /// names, so the header checks run once per set of names, not per record.
    names: Vec<String>,
    targets: Vec<Option<Target>>,
    /// Field names already reported as unrecognised.
    reported: HashSet<String>,
    /// Where each (fund, month) was delivered: (page, record), to notice a listing that shifted.
    seen: HashMap<(FundId, Period), (u32, usize)>,
    /// Records at or before this are skipped (a cursor field without a since parameter).
    skip_through: Option<CursorKey>,
    newest: Option<(CursorKey, String)>,
    digest: Option<ContentDigest>,
}

impl<'a> Gathered<'a> {
    pub(super) fn new(connector: &'a HttpJsonConnector, since: Option<&Cursor>) -> Self {
        let filter_here = connector.cursor_field.is_some() && connector.since_param.is_none();
        Gathered {
            connector,
            pull: PullBuilder::new(connector.mapper.clone()),
            names: Vec::new(),
            targets: Vec::new(),
            reported: HashSet::new(),
            seen: HashMap::new(),
            skip_through: since
                .filter(|_| filter_here)
                .map(|c| CursorKey::of_text(&c.0)),
            newest: None,
            digest: connector.cursor_field.is_none().then(ContentDigest::new),
        }
    }

    /// The targets of a record's field names, refusing an ambiguous name or two names for one
    /// field; a name that feeds nothing is reported once, where it was first seen.
    pub(super) fn targets(
        &mut self,
        names: Vec<String>,
        location: &str,
    ) -> Result<Vec<Option<Target>>, ConnectorError> {
        if names != self.names {
            let map = self
                .connector
                .mapping
                .map_header(&names, HeaderDefaults::PER_RECORD)
                .map_err(|e| {
                    ConnectorError::Content(format!("{} {location}: {e}", self.connector.url))
                })?;
            for i in map.unrecognised {
                if self.reported.insert(names[i].clone()) {
                    self.pull.unrecognised(UnrecognisedColumn {
                        location: location.to_string(),
                        heading: names[i].clone(),
                    });
                }
            }
            self.names = names;
            self.targets = map.targets;
        }
        Ok(self.targets.clone())
    }

    /// Takes record `k` (from 1) of page `page`.
    pub(super) fn take(
        &mut self,
        page: u32,
        k: usize,
        record: Value,
    ) -> Result<(), ConnectorError> {
        if let Some(field) = &self.connector.cursor_field
            && let Some((key, text)) = record.get(field).and_then(CursorKey::of_value)
        {
            if self.skip_through.as_ref().is_some_and(|s| key <= *s) {
                return Ok(());
            }
            if self.newest.as_ref().is_none_or(|(n, _)| key > *n) {
                self.newest = Some((key, text));
            }
        }
        if let Some(digest) = &mut self.digest {
            digest.update(record.to_string().as_bytes());
            digest.update(b"\n");
        }
        let plain = format!("page {page} record {k}");
        let object = match record {
            Value::Object(object) => object,
            other => {
                self.pull.reject(Rejected {
                    location: plain,
                    reason: "the record is not a JSON object".into(),
                    raw: other,
                });
                return Ok(());
            }
        };
        let targets = self.targets(object.keys().cloned().collect(), &plain)?;
        let mut fields = Vec::with_capacity(object.len());
        // `page 2 record 7 (fund_code=F100101, month=2568-10)`: the source's own key values.
        let mut location = plain;
        let plain = location.len();
        for ((name, value), target) in object.into_iter().zip(targets) {
            if matches!(
                target,
                Some(Target::FundId | Target::Period | Target::Year | Target::Month)
            ) && !value.is_null()
            {
                location.push_str(if location.len() == plain { " (" } else { ", " });
                location.push_str(&name);
                location.push('=');
                match &value {
                    Value::String(s) => location.push_str(s),
                    other => location.push_str(&other.to_string()),
                }
            }
            fields.push((name, target, raw_value(value)));
        }
        if location.len() > plain {
            location.push(')');
        }
        let raw = RawRecord { location, fields };
        // A repeat on one page is the hub's to judge; on another page the listing moved under us.
        if let Some(key) = self.pull.push_keyed(&raw, &[])? {
            match self.seen.get(&key) {
                Some(&(p, j)) if p != page => {
                    return Err(ConnectorError::Inconsistent(format!(
                        "{}: fund {} month {} came as page {p} record {j} and again as page {page} record {k}: the listing shifted between pages",
                        self.connector.url, key.0, key.1
                    )));
                }
                Some(_) => {}
                None => {
                    self.seen.insert(key, (page, k));
                }
            }
        }
        Ok(())
    }

    pub(super) fn finish(mut self, since: Option<&Cursor>) -> Result<Pull, ConnectorError> {
        let cursor = match self.digest.take() {
            Some(digest) => {
                let cursor = Cursor(digest.finish());
                if since == Some(&cursor) {
                    // Nothing changed since the last pull: deliver nothing again.
                    return Ok(Pull {
                        cursor: Some(cursor),
                        ..Pull::default()
                    });
                }
                Some(cursor)
            }
            None => self
                .newest
                .map(|(_, text)| Cursor(text))
                .or_else(|| since.cloned()),
        };
        self.pull.finish(cursor)
    }
}
