//! Map values: the sums a map feature is coloured from, each map indicator's value
//! and state from them, and the indicator's colour classes and legend. The hub draws the polygons;
//! every figure on a map is worked out here, with the same rounding as the indicator tables.

use std::collections::HashMap;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use welfare_model::Money;

use crate::indicators::{AreaIndicators, AreaState, percent, ratio};

/// An indicator that can colour a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapIndicator {
    /// Members ÷ population, %.
    Coverage,
    /// Matching-grant shortfall (state + local) under the policy ÷ population, baht per resident.
    ShortfallPerResident,
    /// Share of the area's funds flagged high risk, %.
    HighRiskFunds,
    /// Reports received ÷ reports expected, %.
    ReportingRate,
}

/// One colour class of a legend: values from `min` (inclusive) to `max` (exclusive; `None` is open).
#[derive(Debug, Clone, Serialize)]
pub struct LegendClass {
    pub class: usize,
    pub min: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    pub colour: &'static str,
    pub label_th: String,
    pub label_en: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegendState {
    pub colour: &'static str,
    pub label_th: &'static str,
    pub label_en: &'static str,
}

/// Classes and colours of one indicator, with the colours of the two no-value states.
#[derive(Debug, Clone, Serialize)]
pub struct Legend {
    pub indicator: &'static str,
    pub title_th: &'static str,
    pub title_en: &'static str,
    pub unit: &'static str,
    pub classes: Vec<LegendClass>,
    pub states: HashMap<&'static str, LegendState>,
}

/// Colours shared by every indicator for areas without a value, chosen outside every class ramp.
const NO_FUND: LegendState = LegendState {
    colour: "#d9d9d9",
    label_th: "ไม่มีกองทุน",
    label_en: "No fund",
};
const NO_REPORT: LegendState = LegendState {
    colour: "#f781bf",
    label_th: "ไม่ส่งรายงาน",
    label_en: "No report",
};

impl MapIndicator {
    pub const ALL: [MapIndicator; 4] = [
        MapIndicator::Coverage,
        MapIndicator::ShortfallPerResident,
        MapIndicator::HighRiskFunds,
        MapIndicator::ReportingRate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MapIndicator::Coverage => "coverage",
            MapIndicator::ShortfallPerResident => "shortfall_per_resident",
            MapIndicator::HighRiskFunds => "high_risk_funds",
            MapIndicator::ReportingRate => "reporting_rate",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == text)
    }

    fn titles(self) -> (&'static str, &'static str, &'static str) {
        match self {
            MapIndicator::Coverage => ("สัดส่วนสมาชิกต่อประชากร", "Membership coverage", "%"),
            MapIndicator::ShortfallPerResident => (
                "เงินสมทบที่ยังขาด ต่อประชากร",
                "Matching shortfall per resident",
                "บาท/baht",
            ),
            MapIndicator::HighRiskFunds => (
                "กองทุนความเสี่ยงสูง (% ของกองทุน)",
                "Funds at high risk (% of funds)",
                "%",
            ),
            MapIndicator::ReportingRate => ("อัตราการส่งรายงาน", "Reporting rate", "%"),
        }
    }

    /// Lower bounds of the classes after the first (which starts at 0), and the ramp's colours.
    fn breaks(self) -> (&'static [f64], &'static [&'static str; 5], Option<f64>) {
        const BLUES: [&str; 5] = ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"];
        const REDS: [&str; 5] = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];
        const RED_GREEN: [&str; 5] = ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"];
        match self {
            MapIndicator::Coverage => (&[20.0, 40.0, 60.0, 80.0], &BLUES, Some(100.0)),
            MapIndicator::ShortfallPerResident => (&[1.0, 2.0, 5.0, 10.0], &REDS, None),
            MapIndicator::HighRiskFunds => (&[10.0, 20.0, 30.0, 50.0], &REDS, Some(100.0)),
            MapIndicator::ReportingRate => (&[50.0, 70.0, 80.0, 90.0], &RED_GREEN, Some(100.0)),
        }
    }

    /// The class of a value: how many class bounds it has reached.
    pub fn class_of(self, value: Decimal) -> usize {
        let value = value.to_f64().unwrap_or(0.0);
        self.breaks().0.iter().filter(|b| value >= **b).count()
    }

    pub fn legend(self) -> Legend {
        let (title_th, title_en, unit) = self.titles();
        let (breaks, colours, top) = self.breaks();
        let mut bounds = vec![0.0];
        bounds.extend_from_slice(breaks);
        let number = |v: f64| {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v}")
            }
        };
        let classes = bounds
            .iter()
            .enumerate()
            .map(|(i, min)| {
                let max = bounds.get(i + 1).copied();
                let (label_th, label_en) = match (max, top) {
                    (Some(max), _) => {
                        let text = format!("{}–{}", number(*min), number(max));
                        (format!("{text} {unit}"), format!("{text} {unit}"))
                    }
                    (None, Some(top)) => {
                        let text = format!("{}–{}", number(*min), number(top));
                        (format!("{text} {unit} ขึ้นไป"), format!("{text}+ {unit}"))
                    }
                    (None, None) => (
                        format!("{} {unit} ขึ้นไป", number(*min)),
                        format!("{} {unit} or more", number(*min)),
                    ),
                };
                LegendClass {
                    class: i,
                    min: *min,
                    max,
                    colour: colours[i],
                    label_th,
                    label_en,
                }
            })
            .collect();
        Legend {
            indicator: self.as_str(),
            title_th,
            title_en,
            unit,
            classes,
            states: HashMap::from([("no_fund", NO_FUND), ("no_report", NO_REPORT)]),
        }
    }
}

/// The sums a map feature is coloured from: one area, or the tambons drawn with one polygon.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapArea {
    pub population: i64,
    pub members: Option<i64>,
    pub funds: i64,
    pub funds_reported: i64,
    pub expected_reports: i64,
    pub reports: i64,
    pub shortfall: Money,
    pub high_risk_funds: i64,
}

impl MapArea {
    /// The sums of one indicator row; the shortfall is the state's and the local government's.
    pub fn of(a: &AreaIndicators) -> Self {
        MapArea {
            population: a.population,
            members: a.members,
            funds: a.funds,
            funds_reported: a.funds_reported,
            expected_reports: a.expected_reports,
            reports: a.reports,
            shortfall: a.matching.shortfall_state + a.matching.shortfall_local,
            high_risk_funds: a.risk.high,
        }
    }

    /// Adds another area's sums (tambons drawn with one polygon).
    pub fn add(&mut self, other: &MapArea) {
        self.population += other.population;
        self.members = match (self.members, other.members) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.funds += other.funds;
        self.funds_reported += other.funds_reported;
        self.expected_reports += other.expected_reports;
        self.reports += other.reports;
        self.shortfall += other.shortfall;
        self.high_risk_funds += other.high_risk_funds;
    }

    pub fn state(&self) -> AreaState {
        AreaState::of(self.funds, self.funds_reported)
    }

    /// Coverage, %, two decimals: the indicators API's own rounding.
    pub fn coverage(&self) -> Option<Decimal> {
        self.members
            .filter(|_| self.state() == AreaState::Value)
            .and_then(|m| percent(m, self.population, 2))
    }

    pub fn reporting_rate(&self) -> Option<Decimal> {
        percent(self.reports, self.expected_reports, 2)
    }

    /// The indicator's value and the state shown when there is none.
    pub fn value(&self, indicator: MapIndicator) -> (AreaState, Option<Decimal>) {
        let state = self.state();
        if state == AreaState::NoFund {
            return (state, None);
        }
        let value = match indicator {
            MapIndicator::Coverage => self.coverage(),
            MapIndicator::ShortfallPerResident if state == AreaState::Value => Some(
                ratio(self.shortfall.decimal(), Decimal::from(self.population), 2)
                    .unwrap_or_default(),
            ),
            MapIndicator::ShortfallPerResident => None,
            // A fund that never reported is flagged high, so funds without reports still count.
            MapIndicator::HighRiskFunds => percent(self.high_risk_funds, self.funds, 2),
            MapIndicator::ReportingRate => self.reporting_rate(),
        };
        match value {
            Some(v) => (AreaState::Value, Some(v)),
            None if state == AreaState::Value => (AreaState::NoReport, None),
            None => (state, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_legend_bounds() {
        let c = MapIndicator::Coverage;
        assert_eq!(c.class_of(Decimal::ZERO), 0);
        assert_eq!(c.class_of(Decimal::new(1999, 2)), 0);
        assert_eq!(c.class_of(Decimal::from(20)), 1);
        assert_eq!(c.class_of(Decimal::new(7999, 2)), 3);
        assert_eq!(c.class_of(Decimal::from(80)), 4);
        assert_eq!(c.class_of(Decimal::from(140)), 4);
        let legend = c.legend();
        assert_eq!(legend.classes.len(), 5);
        assert_eq!(legend.classes[0].label_en, "0–20 %");
        assert_eq!(legend.classes[4].label_en, "80–100+ %");
        assert_eq!(legend.classes[4].max, None);
        assert_ne!(
            legend.states["no_fund"].colour,
            legend.states["no_report"].colour
        );
        for i in MapIndicator::ALL {
            let l = i.legend();
            for class in &l.classes {
                assert_ne!(class.colour, NO_FUND.colour);
                assert_ne!(class.colour, NO_REPORT.colour);
            }
            assert_eq!(MapIndicator::parse(i.as_str()), Some(i));
        }
    }

    #[test]
    fn no_fund_no_report_and_zero_stay_apart() {
        let none = MapArea {
            population: 1000,
            ..MapArea::default()
        };
        assert_eq!(
            none.value(MapIndicator::Coverage),
            (AreaState::NoFund, None)
        );
        let silent = MapArea {
            population: 1000,
            funds: 2,
            expected_reports: 2,
            high_risk_funds: 2,
            ..MapArea::default()
        };
        assert_eq!(
            silent.value(MapIndicator::Coverage),
            (AreaState::NoReport, None)
        );
        assert_eq!(
            silent.value(MapIndicator::ShortfallPerResident),
            (AreaState::NoReport, None)
        );
        assert_eq!(
            silent.value(MapIndicator::HighRiskFunds),
            (AreaState::Value, Some(Decimal::ONE_HUNDRED))
        );
        assert_eq!(
            silent.value(MapIndicator::ReportingRate),
            (AreaState::Value, Some(Decimal::ZERO))
        );
        let zero = MapArea {
            population: 1000,
            members: Some(0),
            funds: 1,
            funds_reported: 1,
            expected_reports: 1,
            reports: 1,
            ..MapArea::default()
        };
        assert_eq!(
            zero.value(MapIndicator::Coverage),
            (AreaState::Value, Some(Decimal::ZERO))
        );
    }

    #[test]
    fn shared_polygons_sum_their_tambons() {
        let mut a = MapArea {
            population: 300,
            members: Some(30),
            funds: 1,
            funds_reported: 1,
            expected_reports: 1,
            reports: 1,
            shortfall: Money::from_baht(100),
            high_risk_funds: 0,
        };
        let b = MapArea {
            population: 100,
            members: None,
            funds: 1,
            funds_reported: 0,
            expected_reports: 1,
            reports: 0,
            shortfall: Money::ZERO,
            high_risk_funds: 1,
        };
        a.add(&b);
        assert_eq!(a.coverage(), Some(Decimal::new(750, 2)));
        assert_eq!(
            a.value(MapIndicator::ShortfallPerResident),
            (AreaState::Value, Some(Decimal::new(25, 2)))
        );
        assert_eq!(
            a.value(MapIndicator::HighRiskFunds),
            (AreaState::Value, Some(Decimal::from(50)))
        );
        assert_eq!(
            a.value(MapIndicator::ReportingRate),
            (AreaState::Value, Some(Decimal::from(50)))
        );
    }
}
