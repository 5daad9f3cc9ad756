//! Query-string parsing and the resolution of the parameters several resources share: `level`,
//! `within`, `period`/`from`/`to`, `policy`, `indicator`, `zoom`, `format` and `limit`. Each check
//! answers a 400 that names the parameter at fault.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use welfare_model::{AreaRef, Level, Period};
use welfare_queries::{Range, Rollup, Snapshot};

use super::error::ApiError;
use crate::analytics::Analytics;
use welfare_queries::maps::{ClassScheme, MapIndicator};

/// Parses the query string into `T`, whose `deny_unknown_fields` turns a misspelt parameter into a 400
/// that names it.
/// An optional text field of a request body, trimmed; an empty one is none.
pub fn optional_text(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// A JSON request body, or a 400 saying what to send (`shape`) and what is wrong with it.
pub fn json_body<T: DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("send {shape}: {e}"),
        )
    })
}

/// `network=`: a network the snapshot knows, or a 400 naming it.
pub fn resolve_network(
    snapshot: &Snapshot,
    text: Option<&str>,
) -> Result<Option<welfare_model::NetworkId>, ApiError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let id = welfare_model::NetworkId::parse(text).map_err(|e| ApiError::invalid("network", e))?;
    if snapshot.has_network(id.as_str()) {
        Ok(Some(id))
    } else {
        Err(ApiError::invalid(
            "network",
            format!("no network has id {} (see /api/v1/networks)", id),
        ))
    }
}

pub fn parse_query<T: DeserializeOwned>(raw: Option<String>) -> Result<T, ApiError> {
    let raw = raw.unwrap_or_default();
    serde_urlencoded::from_str(&raw).map_err(|e| {
        let text = e.to_string();
        if text.contains("unknown field") {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "unknown_parameter",
                text.replace("field", "parameter"),
            )
        } else {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_parameter",
                text,
            )
        }
    })
}

/// The query of an endpoint that takes no parameters (any parameter is a 400).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

/// `limit` and `cursor` of a paged listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items on a page (1–1000; the listing says its default).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The most items one page of a listing holds.
pub const PAGE_MAX: i64 = 1000;

pub fn limit_of(limit: Option<i64>, default: i64) -> Result<i64, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid(
            "limit",
            format!("{n} is not between 1 and {PAGE_MAX}"),
        )),
    }
}

/// A cursor of a listing ordered by id: the last id of the previous page.
pub fn id_cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    match cursor.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => c.parse::<i64>().map(Some).map_err(|_| {
            ApiError::invalid(
                "cursor",
                "not a cursor this listing gave (use next_cursor of the previous page)",
            )
        }),
    }
}

/// The cursor of the page after one that held `count` of `limit` items, the last with `last`.
pub fn next_cursor(count: usize, limit: i64, last: Option<String>) -> serde_json::Value {
    if count as i64 == limit {
        last.map_or(serde_json::Value::Null, serde_json::Value::String)
    } else {
        serde_json::Value::Null
    }
}

/// The response formats of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Format {
    Json,
    Csv,
    Arrow,
    Xlsx,
    Parquet,
}

impl Format {
    /// The media type of a table in this format (JSON's is the envelope's).
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Arrow => "application/vnd.apache.arrow.stream",
            Format::Xlsx => XLSX,
            Format::Parquet => PARQUET,
        }
    }
}

/// The language of a table's CSV or XLSX headings and coded values (`lang=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Language {
    Th,
    En,
}

/// How a table answer is written: its format, and for CSV and XLSX the language of its headings and
/// coded values (none: the column names and codes, as JSON has them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFormat {
    pub format: Format,
    pub lang: Option<welfare_queries::labels::Lang>,
}

/// `format=` and `lang=th|en` of a table answer.
pub fn table_format(format: Option<&str>, lang: Option<&str>) -> Result<TableFormat, ApiError> {
    // An empty `lang=` is no language either (as an empty `format=` is no format).
    let lang = match lang {
        None => None,
        Some(l) => Some(
            welfare_queries::labels::Lang::parse(l)
                .ok_or_else(|| ApiError::invalid("lang", format!("{l:?} is not th or en")))?,
        ),
    };
    Ok(TableFormat {
        format: format_of(format)?,
        lang,
    })
}

/// The media types of the spreadsheet and Parquet forms of a table.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const PARQUET: &str = "application/vnd.apache.parquet";

/// `format=json|csv|arrow|xlsx|parquet` (default JSON).
pub fn format_of(text: Option<&str>) -> Result<Format, ApiError> {
    match text {
        None | Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some("arrow") => Ok(Format::Arrow),
        Some("xlsx") => Ok(Format::Xlsx),
        Some("parquet") => Ok(Format::Parquet),
        Some(other) => Err(ApiError::invalid(
            "format",
            format!("{other:?} is not json, csv, arrow, xlsx or parquet"),
        )),
    }
}

/// The `level=` of an area listing: province (default), district or subdistrict.
pub fn listing_level(text: Option<&str>) -> Result<Level, ApiError> {
    let level = match text {
        None => Level::Province,
        Some(text) => text
            .parse::<Level>()
            .map_err(|e| ApiError::invalid("level", e))?,
    };
    if level.code_len().is_none() {
        return Err(ApiError::invalid(
            "level",
            format!("areas are listed at province, district or subdistrict level, not {level}"),
        ));
    }
    Ok(level)
}

/// A month, `YYYY-MM`, or empty for the default: the OpenAPI type of `period`, `from` and `to` (the
/// parameters themselves are read as text by [`parse_period`], which also reads Thai and
/// Buddhist-era forms).
#[derive(Debug)]
pub struct Month;

impl utoipa::PartialSchema for Month {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            // Empty is the default, as an HTML form sends a field left blank.
            .pattern(Some("^([0-9]{4}-(0[1-9]|1[0-2]))?$"))
            .description(Some("A month, YYYY-MM (empty: the default)"))
            .examples(["2026-10"])
            .into()
    }
}

impl utoipa::ToSchema for Month {}

/// A month parameter, `YYYY-MM`.
pub fn parse_period(name: &str, text: &str) -> Result<Period, ApiError> {
    Period::parse(text).map_err(|e| ApiError::invalid(name, e))
}

/// The months asked: `period`, or `from`/`to`, or by default the latest month whose reports are
/// due (today in Bangkok, with the configured deadline).
pub fn resolve_range(
    analytics: &Analytics,
    period: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Range, ApiError> {
    fn nonempty(v: Option<&str>) -> Option<&str> {
        v.filter(|s| !s.trim().is_empty())
    }
    let (period, from, to) = (nonempty(period), nonempty(from), nonempty(to));
    if period.is_some() && (from.is_some() || to.is_some()) {
        return Err(ApiError::invalid(
            "period",
            "give either period or from/to, not both",
        ));
    }
    let latest_due = || {
        let today = chrono::Utc::now()
            .with_timezone(&welfare_model::bangkok())
            .date_naive();
        Period::latest_due(today, analytics.deadline_day())
    };
    let range = match (period, from, to) {
        (Some(p), _, _) => Range::month(parse_period("period", p)?),
        (None, None, None) => Range::month(latest_due()),
        (None, from, to) => {
            let to = match to {
                Some(t) => parse_period("to", t)?,
                None => latest_due(),
            };
            let from = match from {
                Some(f) => parse_period("from", f)?,
                None => to,
            };
            Range { from, to }
        }
    };
    if range.from > range.to {
        return Err(ApiError::invalid(
            "from",
            format!("{} is after to = {}", range.from, range.to),
        ));
    }
    if range.months() > 600 {
        return Err(ApiError::invalid("from", "a range is at most 600 months"));
    }
    Ok(range)
}

/// `within=` (a region, a DOPA code or `TH`), checked against the snapshot's areas; `name` is the
/// parameter's name (`within`, `area`).
pub fn resolve_within(
    snapshot: &Snapshot,
    name: &str,
    text: Option<&str>,
) -> Result<Option<AreaRef>, ApiError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let area: AreaRef = text.parse().map_err(|e| ApiError::invalid(name, e))?;
    if let AreaRef::Code(code) = &area
        && !snapshot.area_names().contains_key(code.as_str())
    {
        return Err(ApiError::invalid(name, format!("no area has code {code}")));
    }
    Ok(Some(area))
}

/// `level=` of an indicator table (a level or `all`; default province), which `within` must hold.
pub fn resolve_rollup(text: Option<&str>, within: Option<&AreaRef>) -> Result<Rollup, ApiError> {
    let rollup = match text {
        None | Some("") => Rollup::Level(Level::Province),
        Some("all") => Rollup::All,
        Some(t) => Rollup::Level(
            t.parse::<Level>()
                .map_err(|e| ApiError::invalid("level", format!("{e}; or all")))?,
        ),
    };
    if let (Rollup::Level(level), Some(w)) = (rollup, within)
        && w.level() > level
    {
        return Err(ApiError::invalid(
            "within",
            format!("{w} is a {}; it holds no {level}", w.level()),
        ));
    }
    Ok(rollup)
}

/// `policy=a,b`: the named policies (default: the configured default), each known to the snapshot.
pub fn policy_names(
    analytics: &Analytics,
    snapshot: &Snapshot,
    text: Option<&str>,
) -> Result<Vec<String>, ApiError> {
    let names: Vec<String> = match text.filter(|t| !t.trim().is_empty()) {
        None => vec![analytics.config.default_policy.clone()],
        Some(t) => t.split(',').map(|s| s.trim().to_string()).collect(),
    };
    for n in &names {
        if snapshot.policy(n).is_none() {
            let known: Vec<&str> = snapshot
                .policies()
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            return Err(ApiError::invalid(
                "policy",
                format!("no policy named {n:?}; known: {}", known.join(", ")),
            ));
        }
    }
    Ok(names)
}

/// `indicator=` of a map or legend (default coverage).
pub fn map_indicator(text: Option<&str>) -> Result<MapIndicator, ApiError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(MapIndicator::Coverage),
        Some(t) => MapIndicator::parse(t).ok_or_else(|| {
            let known: Vec<&str> = MapIndicator::ALL.iter().map(|i| i.as_str()).collect();
            ApiError::invalid(
                "indicator",
                format!("{t:?} is not one of {}", known.join(", ")),
            )
        }),
    }
}

/// `classes=` of a map: `fixed`, `quantile` or `pretty`; none is `default`.
pub fn class_scheme(text: Option<&str>, default: ClassScheme) -> Result<ClassScheme, ApiError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(t) => ClassScheme::parse(t).ok_or_else(|| {
            ApiError::invalid("classes", format!("{t:?} is not fixed, quantile or pretty"))
        }),
    }
}

/// `indicator=a,b` of a time series: the names given (none: every indicator).
pub fn indicator_list(text: Option<&str>) -> Vec<String> {
    text.map(|t| {
        t.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// `zoom=` of a map: a number, floored and clamped to the geometry's zooms; `default` when absent.
pub fn zoom_of(text: Option<&str>, default: u8) -> Result<u8, ApiError> {
    let zooms = welfare_geo::MapGeometry::zoom_range();
    match text.filter(|z| !z.is_empty()) {
        None => Ok(default),
        Some(z) => z
            .parse::<f64>()
            .ok()
            .filter(|z| z.is_finite())
            .map(|z| {
                z.floor()
                    .clamp(f64::from(*zooms.start()), f64::from(*zooms.end())) as u8
            })
            .ok_or_else(|| ApiError::invalid("zoom", format!("{z:?} is not a zoom level"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_parameters_are_checked_by_name() {
        assert_eq!(format_of(None).unwrap(), Format::Json);
        assert_eq!(format_of(Some("arrow")).unwrap(), Format::Arrow);
        assert_eq!(
            format_of(Some("xml")).unwrap_err().message,
            "format: \"xml\" is not json, csv, arrow, xlsx or parquet"
        );
        assert_eq!(limit_of(None, 50).unwrap(), 50);
        assert_eq!(limit_of(Some(1000), 50).unwrap(), 1000);
        assert_eq!(
            limit_of(Some(0), 50).unwrap_err().message,
            "limit: 0 is not between 1 and 1000"
        );
        assert!(limit_of(Some(1001), 50).is_err());
        assert_eq!(id_cursor(Some("42")).unwrap(), Some(42));
        assert_eq!(id_cursor(Some("")).unwrap(), None);
        assert_eq!(id_cursor(Some("x")).unwrap_err().code, "invalid_parameter");
        assert_eq!(listing_level(None).unwrap(), Level::Province);
        assert_eq!(listing_level(Some("district")).unwrap(), Level::District);
        assert_eq!(
            listing_level(Some("region")).unwrap_err().code,
            "invalid_parameter"
        );
        assert_eq!(
            indicator_list(Some(" coverage, ,members ")),
            vec!["coverage".to_string(), "members".to_string()]
        );
        assert!(indicator_list(None).is_empty());
        assert_eq!(map_indicator(None).unwrap(), MapIndicator::Coverage);
        assert!(
            map_indicator(Some("nope"))
                .unwrap_err()
                .message
                .contains("coverage")
        );
        let zooms = welfare_geo::MapGeometry::zoom_range();
        assert_eq!(zoom_of(None, 7).unwrap(), 7);
        assert_eq!(zoom_of(Some("99.5"), 7).unwrap(), *zooms.end());
        assert_eq!(zoom_of(Some("-3"), 7).unwrap(), *zooms.start());
        assert!(zoom_of(Some("NaN"), 7).is_err());
        let unknown: Result<NoQuery, _> = parse_query(Some("x=1".into()));
        assert_eq!(unknown.unwrap_err().code, "unknown_parameter");
    }
}
