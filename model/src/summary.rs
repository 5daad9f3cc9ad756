//! The canonical summary: one fund's figures for one month (design section 4), and its Arrow schema.
//!
//! The list of measures is written once, in [`summary_measures!`], and everything that needs it (the
//! struct, the field table, accessors, the Arrow schema, the store's columns) derives from it.

use std::collections::HashMap;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fund::FundId;
use crate::money::Money;
use crate::period::Period;

/// How a field aggregates over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// Part of the key (fund_id, period).
    Key,
    /// An end-of-period value: aggregated over time by last value.
    Stock,
    /// An amount within the period: aggregated over time by sum.
    Flow,
    /// Where and when the figure came from.
    Provenance,
}

impl FieldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Key => "key",
            FieldKind::Stock => "stock",
            FieldKind::Flow => "flow",
            FieldKind::Provenance => "provenance",
        }
    }
}

/// The unit of a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldUnit {
    /// Whole people.
    People,
    /// Thai baht, exact to the satang.
    Baht,
    /// A count of events (non-cash services).
    Count,
}

impl FieldUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldUnit::People => "people",
            FieldUnit::Baht => "baht",
            FieldUnit::Count => "count",
        }
    }

    pub fn is_money(self) -> bool {
        self == FieldUnit::Baht
    }
}

/// Description of one measure of a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SummaryField {
    pub name: &'static str,
    pub kind: FieldKind,
    pub unit: FieldUnit,
    pub description: &'static str,
}

/// The value of one measure: a count or an amount, `None` when the report did not give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureValue {
    Count(Option<i64>),
    Money(Option<Money>),
}

macro_rules! measure_type {
    (People) => { Option<i64> };
    (Count) => { Option<i64> };
    (Baht) => { Option<Money> };
}

macro_rules! measure_value {
    (People, $v:expr) => {
        MeasureValue::Count($v)
    };
    (Count, $v:expr) => {
        MeasureValue::Count($v)
    };
    (Baht, $v:expr) => {
        MeasureValue::Money($v)
    };
}

macro_rules! measure_assign {
    (Baht, $slot:expr, $value:expr, $name:expr) => {
        match $value {
            MeasureValue::Money(v) => $slot = v,
            MeasureValue::Count(_) => return Err(format!("{} takes baht, not a count", $name)),
        }
    };
    ($unit:ident, $slot:expr, $value:expr, $name:expr) => {
        match $value {
            MeasureValue::Count(v) => $slot = v,
            MeasureValue::Money(_) => return Err(format!("{} takes a count, not baht", $name)),
        }
    };
}

macro_rules! summary_measures {
    ($( $name:ident : $unit:ident $kind:ident $doc:literal ),* $(,)?) => {
        /// One fund's figures for one period. A measure is `None` when the report did not give it: "not
        /// reported" is never confused with zero.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Summary {
            pub fund_id: FundId,
            pub period: Period,
            $( #[doc = $doc] #[serde(default)] pub $name: measure_type!($unit), )*
            /// When the fund reported these figures.
            #[serde(default)]
            pub reported_at: Option<DateTime<Utc>>,
            /// Through which connector (and peer hub) the figures arrived.
            #[serde(default)]
            pub source: Option<String>,
        }

        /// Every measure of a summary, in schema order.
        pub const MEASURES: &[SummaryField] = &[
            $( SummaryField {
                name: stringify!($name),
                kind: FieldKind::$kind,
                unit: FieldUnit::$unit,
                description: $doc,
            }, )*
        ];

        impl Summary {
            /// An empty summary: every measure not reported.
            pub fn new(fund_id: FundId, period: Period) -> Self {
                Summary {
                    fund_id,
                    period,
                    $( $name: None, )*
                    reported_at: None,
                    source: None,
                }
            }

            /// The measure at `index` of [`MEASURES`].
            pub fn measure(&self, index: usize) -> MeasureValue {
                let mut i = 0;
                $(
                    if i == index {
                        return measure_value!($unit, self.$name);
                    }
                    i += 1;
                )*
                panic!("measure index {index} out of range 0..{i}")
            }

            /// Sets the measure at `index` of [`MEASURES`]; the value's kind must match the unit.
            pub fn set_measure(&mut self, index: usize, value: MeasureValue) -> Result<(), String> {
                let mut i = 0;
                $(
                    if i == index {
                        measure_assign!($unit, self.$name, value, stringify!($name));
                        return Ok(());
                    }
                    i += 1;
                )*
                Err(format!("measure index {index} out of range 0..{i}"))
            }
        }
    };
}

summary_measures! {
    members_total: People Stock "Members at period end.",
    members_children: People Stock "Members aged 0–14 at period end (optional).",
    members_working: People Stock "Members aged 15–59 at period end (optional).",
    members_elderly: People Stock "Members aged 60 and over at period end (optional).",
    members_joined: People Flow "Members who joined during the period.",
    members_left: People Flow "Members who left (or died) during the period.",
    contrib_members: Baht Flow "Member contributions received.",
    grant_state: Baht Flow "Matching grant from the state (via CODI) received.",
    grant_local: Baht Flow "Matching from local government (อปท.) received.",
    income_other: Baht Flow "Other income (donations, interest, fund profits).",
    benefits_birth: Baht Flow "Welfare paid: birth.",
    benefits_sickness: Baht Flow "Welfare paid: sickness.",
    benefits_death: Baht Flow "Welfare paid: death.",
    benefits_elderly: Baht Flow "Welfare paid: elderly.",
    benefits_education: Baht Flow "Welfare paid: education.",
    benefits_occupation: Baht Flow "Welfare paid: occupation.",
    benefits_disability: Baht Flow "Welfare paid: disability.",
    benefits_disaster: Baht Flow "Welfare paid: disaster.",
    benefits_other: Baht Flow "Welfare paid: other.",
    beneficiaries: People Flow "People who received welfare during the period.",
    services_noncash: Count Flow "Non-cash welfare given (rides to hospital, help to reach state benefits), counted.",
    admin_costs: Baht Flow "Administration costs.",
    fund_balance: Baht Stock "Fund assets at period end.",
}

impl Summary {
    /// The index in [`MEASURES`] of the measure called `name`.
    pub fn measure_index(name: &str) -> Option<usize> {
        MEASURES.iter().position(|f| f.name == name)
    }

    /// Every line of income: member contributions, state and local grants, other income.
    pub fn income_parts(&self) -> [Option<Money>; 4] {
        [
            self.contrib_members,
            self.grant_state,
            self.grant_local,
            self.income_other,
        ]
    }

    /// The nine kinds of welfare paid in cash.
    pub fn benefit_parts(&self) -> [Option<Money>; 9] {
        [
            self.benefits_birth,
            self.benefits_sickness,
            self.benefits_death,
            self.benefits_elderly,
            self.benefits_education,
            self.benefits_occupation,
            self.benefits_disability,
            self.benefits_disaster,
            self.benefits_other,
        ]
    }

    /// Total welfare paid in cash (all benefit types); `None` when no benefit type was reported.
    pub fn benefits_total(&self) -> Option<Money> {
        let parts = self.benefit_parts();
        parts
            .iter()
            .any(Option::is_some)
            .then(|| parts.iter().flatten().copied().sum())
    }
}

/// Metadata keys on the Arrow fields of [`summary_schema`].
pub const META_KIND: &str = "welfare:kind";
pub const META_UNIT: &str = "welfare:unit";

/// The Arrow schema of canonical summary rows: the key, every measure (counts `Int64`, money
/// `Decimal128(18, 2)`), then provenance. Each field's metadata marks it key, stock, flow or provenance.
pub fn summary_schema() -> Schema {
    let meta = |kind: FieldKind, unit: Option<FieldUnit>| {
        let mut m = HashMap::from([(META_KIND.to_string(), kind.as_str().to_string())]);
        if let Some(unit) = unit {
            m.insert(META_UNIT.to_string(), unit.as_str().to_string());
        }
        m
    };
    let mut fields = vec![
        Field::new("fund_id", DataType::Utf8, false).with_metadata(meta(FieldKind::Key, None)),
        Field::new("period", DataType::Utf8, false).with_metadata(meta(FieldKind::Key, None)),
    ];
    for m in MEASURES {
        let data_type = if m.unit.is_money() {
            Money::arrow_type()
        } else {
            DataType::Int64
        };
        fields.push(Field::new(m.name, data_type, true).with_metadata(meta(m.kind, Some(m.unit))));
    }
    fields.push(
        Field::new(
            "reported_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        )
        .with_metadata(meta(FieldKind::Provenance, None)),
    );
    fields.push(
        Field::new("source", DataType::Utf8, true).with_metadata(meta(FieldKind::Provenance, None)),
    );
    Schema::new(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_marks_stocks_and_flows() {
        let schema = summary_schema();
        assert_eq!(schema.fields().len(), 2 + MEASURES.len() + 2);
        let kind = |name: &str| schema.field_with_name(name).unwrap().metadata()[META_KIND].clone();
        assert_eq!(kind("fund_id"), "key");
        assert_eq!(kind("members_total"), "stock");
        assert_eq!(kind("fund_balance"), "stock");
        assert_eq!(kind("contrib_members"), "flow");
        assert_eq!(kind("members_joined"), "flow");
        assert_eq!(kind("source"), "provenance");
        assert_eq!(
            schema.field_with_name("grant_state").unwrap().data_type(),
            &DataType::Decimal128(18, 2)
        );
        assert_eq!(
            schema.field_with_name("members_total").unwrap().data_type(),
            &DataType::Int64
        );
        let stocks: Vec<_> = MEASURES
            .iter()
            .filter(|m| m.kind == FieldKind::Stock)
            .map(|m| m.name)
            .collect();
        assert_eq!(
            stocks,
            [
                "members_total",
                "members_children",
                "members_working",
                "members_elderly",
                "fund_balance"
            ]
        );
    }

    #[test]
    fn measures_by_index() {
        let mut s = Summary::new(FundId::parse("F1").unwrap(), Period::new(2025, 10).unwrap());
        let members = Summary::measure_index("members_total").unwrap();
        let balance = Summary::measure_index("fund_balance").unwrap();
        s.set_measure(members, MeasureValue::Count(Some(120)))
            .unwrap();
        s.set_measure(balance, MeasureValue::Money(Some(Money::from_baht(5000))))
            .unwrap();
        assert!(
            s.set_measure(balance, MeasureValue::Count(Some(1)))
                .is_err()
        );
        assert_eq!(s.members_total, Some(120));
        assert_eq!(
            s.measure(balance),
            MeasureValue::Money(Some(Money::from_baht(5000)))
        );
        assert_eq!(s.benefits_total(), None);
        s.benefits_death = Some(Money::from_baht(3000));
        s.benefits_birth = Some(Money::parse("500.50").unwrap());
        assert_eq!(s.benefits_total().unwrap().to_string(), "3500.50");
    }
}
