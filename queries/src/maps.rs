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

/// How a map's values are put into colour classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassScheme {
    /// The indicator's fixed classes toward 100% (coverage 0–20–40–60–80 %): the same colours on
    /// every map, at every month.
    Fixed,
    /// Five classes holding about as many of the areas on the map each (quantiles of their values).
    Quantile,
    /// About five classes of equal width with round bounds (1, 2, 2.5 or 5 × a power of ten) over the
    /// range of the areas on the map.
    Pretty,
}

impl ClassScheme {
    pub const ALL: [ClassScheme; 3] = [
        ClassScheme::Fixed,
        ClassScheme::Quantile,
        ClassScheme::Pretty,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClassScheme::Fixed => "fixed",
            ClassScheme::Quantile => "quantile",
            ClassScheme::Pretty => "pretty",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    fn titles(self) -> (&'static str, &'static str) {
        match self {
            ClassScheme::Fixed => ("ช่วงคงที่ สู่ 100%", "Fixed classes toward 100%"),
            ClassScheme::Quantile => (
                "ช่วงตามพื้นที่บนแผนที่ (จำนวนพื้นที่เท่ากัน)",
                "Classes of the areas shown (equal counts)",
            ),
            ClassScheme::Pretty => (
                "ช่วงตามพื้นที่บนแผนที่ (ช่วงกว้างเท่ากัน)",
                "Classes of the areas shown (equal widths)",
            ),
        }
    }
}

/// How many classes a computed scheme aims at (the ramps have five colours).
const COMPUTED_CLASSES: usize = 5;

/// The colour classes of one map: the lower bound of each class after the first.
#[derive(Debug, Clone, PartialEq)]
pub struct Classes {
    pub indicator: MapIndicator,
    pub scheme: ClassScheme,
    /// The first class's lower bound.
    pub min: f64,
    /// Lower bounds of the classes after the first, strictly increasing.
    pub bounds: Vec<f64>,
    /// The largest value (computed schemes), closing the last class.
    pub max: Option<f64>,
}

impl Classes {
    /// The classes of `indicator` under `scheme` for the values of the areas a map shows (fixed
    /// classes ignore them).
    pub fn new(indicator: MapIndicator, scheme: ClassScheme, values: &[Decimal]) -> Classes {
        let mut sorted: Vec<f64> = values.iter().filter_map(|v| v.to_f64()).collect();
        sorted.sort_by(f64::total_cmp);
        let (min, bounds, max) = match scheme {
            ClassScheme::Fixed => (0.0, indicator.breaks().0.to_vec(), None),
            _ if sorted.is_empty() => (0.0, Vec::new(), None),
            ClassScheme::Quantile => (
                sorted[0],
                quantile_bounds(&sorted, COMPUTED_CLASSES),
                sorted.last().copied(),
            ),
            ClassScheme::Pretty => {
                let (start, bounds) = pretty_bounds(
                    sorted[0],
                    *sorted.last().expect("not empty"),
                    COMPUTED_CLASSES,
                );
                (start, bounds, sorted.last().copied())
            }
        };
        Classes {
            indicator,
            scheme,
            min,
            bounds,
            max,
        }
    }

    /// The class of a value: how many class bounds it has reached.
    pub fn class_of(&self, value: Decimal) -> usize {
        let value = value.to_f64().unwrap_or(0.0);
        self.bounds.iter().filter(|b| value >= **b).count()
    }

    pub fn len(&self) -> usize {
        self.bounds.len() + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// The legend of these classes: bounds, colours (spread over the indicator's ramp) and labels.
    pub fn legend(&self) -> Legend {
        let indicator = self.indicator;
        let (title_th, title_en, unit) = indicator.titles();
        let (_, colours, top) = indicator.breaks();
        let mut lows = vec![self.min];
        lows.extend_from_slice(&self.bounds);
        let n = lows.len();
        let number = |v: f64| {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                let text = format!("{v:.2}");
                text.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        };
        let classes = lows
            .iter()
            .enumerate()
            .map(|(i, min)| {
                let max = lows.get(i + 1).copied();
                let (label_th, label_en) = match (max, self.scheme, top) {
                    (Some(max), _, _) => {
                        let text = format!("{}–{}", number(*min), number(max));
                        (format!("{text} {unit}"), format!("{text} {unit}"))
                    }
                    // A computed scheme's last class ends at the largest value shown.
                    (None, ClassScheme::Quantile | ClassScheme::Pretty, _) => {
                        let text = format!("{}–{}", number(*min), number(self.max.unwrap_or(*min)));
                        (format!("{text} {unit}"), format!("{text} {unit}"))
                    }
                    (None, ClassScheme::Fixed, Some(top)) => {
                        let text = format!("{}–{}", number(*min), number(top));
                        (format!("{text} {unit} ขึ้นไป"), format!("{text}+ {unit}"))
                    }
                    (None, ClassScheme::Fixed, None) => (
                        format!("{} {unit} ขึ้นไป", number(*min)),
                        format!("{} {unit} or more", number(*min)),
                    ),
                };
                LegendClass {
                    class: i,
                    min: *min,
                    max,
                    // Fewer classes than colours take colours spread over the whole ramp.
                    colour: colours[if n <= 1 {
                        0
                    } else {
                        i * (colours.len() - 1) / (n - 1)
                    }],
                    label_th,
                    label_en,
                }
            })
            .collect();
        let (classes_th, classes_en) = self.scheme.titles();
        let (unit_th, unit_en) = indicator.units();
        Legend {
            indicator: indicator.as_str(),
            title_th,
            title_en,
            unit,
            unit_th,
            unit_en,
            scheme: self.scheme.as_str(),
            scheme_th: classes_th,
            scheme_en: classes_en,
            classes,
            states: HashMap::from([("no_fund", NO_FUND), ("no_report", NO_REPORT)]),
        }
    }
}

/// Lower bounds that split sorted `values` into `k` groups of about equal counts; ties merge
/// classes rather than make empty ones.
fn quantile_bounds(values: &[f64], k: usize) -> Vec<f64> {
    let mut bounds: Vec<f64> = Vec::with_capacity(k);
    for i in 1..k {
        let at = values[(i * values.len() / k).min(values.len() - 1)];
        if at > values[0] && bounds.last().is_none_or(|b| at > *b) {
            bounds.push(at);
        }
    }
    bounds
}

/// Round bounds of about `k` equal classes over [`lo`, `hi`]: a step of 1, 2, 2.5 or 5 × a power of
/// ten, starting at a multiple of it (worked in decimals, so 0.1 + 0.2 is 0.3). Returns the first
/// class's lower bound and the others'.
fn pretty_bounds(lo: f64, hi: f64, k: usize) -> (f64, Vec<f64>) {
    use rust_decimal::prelude::FromPrimitive;
    let (Some(lo_d), Some(hi_d)) = (Decimal::from_f64(lo), Decimal::from_f64(hi)) else {
        return (lo, Vec::new());
    };
    if hi_d <= lo_d {
        return (lo, Vec::new());
    }
    let raw = (hi - lo) / k as f64;
    let exponent = raw.log10().floor() as i32;
    let magnitude = if exponent >= 0 {
        Decimal::from(10i64.pow(exponent.unsigned_abs().min(18)))
    } else {
        Decimal::new(1, exponent.unsigned_abs().min(28))
    };
    let raw = Decimal::from_f64(raw).unwrap_or(magnitude);
    let step = [10, 20, 25, 50, 100]
        .iter()
        .map(|tenths| Decimal::new(*tenths, 1) * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(Decimal::TEN * magnitude);
    let start = (lo_d / step).floor() * step;
    let mut bounds = Vec::new();
    let mut next = start + step;
    while next <= hi_d && bounds.len() < 2 * k {
        bounds.push(next.to_f64().unwrap_or_default());
        next += step;
    }
    (start.to_f64().unwrap_or_default(), bounds)
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
    /// The unit in Thai and in English (`unit` has both).
    pub unit_th: &'static str,
    pub unit_en: &'static str,
    /// How the classes were made: `fixed`, `quantile` or `pretty`, and in words.
    pub scheme: &'static str,
    pub scheme_th: &'static str,
    pub scheme_en: &'static str,
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

    /// The indicator's one label, in Thai and English, and its unit (written once, beside it):
    /// the page's menu, legend and popup, and the exports' headings say the same.
    fn titles(self) -> (&'static str, &'static str, &'static str) {
        match self {
            MapIndicator::Coverage => ("สัดส่วนสมาชิกต่อประชากร", "Membership coverage", "%"),
            MapIndicator::ShortfallPerResident => (
                "เงินสมทบที่ยังขาด ต่อประชากร",
                "Matching shortfall per resident",
                "บาท/baht",
            ),
            MapIndicator::HighRiskFunds => (
                "กองทุนความเสี่ยงสูง ต่อกองทุนทั้งหมด",
                "Funds at high risk, share of all funds",
                "%",
            ),
            MapIndicator::ReportingRate => ("อัตราการส่งรายงาน", "Reporting rate", "%"),
        }
    }

    /// The unit in each language (`บาท` / `baht`; `%` in both).
    fn units(self) -> (&'static str, &'static str) {
        match self.titles().2 {
            "บาท/baht" => ("บาท", "baht"),
            unit => (unit, unit),
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

    /// The class of a value among the fixed classes.
    pub fn class_of(self, value: Decimal) -> usize {
        Classes::new(self, ClassScheme::Fixed, &[]).class_of(value)
    }

    /// The legend of the fixed classes.
    pub fn legend(self) -> Legend {
        Classes::new(self, ClassScheme::Fixed, &[]).legend()
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

    fn decimals(values: &[&str]) -> Vec<Decimal> {
        values.iter().map(|v| v.parse().unwrap()).collect()
    }

    #[test]
    fn quantile_classes_hold_about_as_many_areas_each() {
        // Ten provinces' coverage, all inside the fixed first class (0–20 %).
        let values = decimals(&[
            "0.70", "1.20", "2.10", "3.05", "4.40", "5.00", "6.25", "8.10", "9.90", "11.90",
        ]);
        let c = Classes::new(MapIndicator::Coverage, ClassScheme::Quantile, &values);
        assert_eq!(c.min.to_string(), "0.7");
        assert_eq!(c.bounds, [2.10, 4.40, 6.25, 9.90]);
        assert_eq!(c.max, Some(11.90));
        let counts = values.iter().fold([0; 5], |mut n, v| {
            n[c.class_of(*v)] += 1;
            n
        });
        assert_eq!(counts, [2, 2, 2, 2, 2]);
        let legend = c.legend();
        assert_eq!(legend.scheme, "quantile");
        assert_eq!(legend.classes.len(), 5);
        assert_eq!(legend.classes[0].label_en, "0.7–2.1 %");
        assert_eq!(legend.classes[4].label_en, "9.9–11.9 %");
        assert_eq!(legend.classes[4].colour, "#253494");
        // The fixed classes put them all in one.
        let fixed = Classes::new(MapIndicator::Coverage, ClassScheme::Fixed, &values);
        assert!(values.iter().all(|v| fixed.class_of(*v) == 0));
        // Ties merge classes rather than leave one empty; the colours still span the ramp.
        let tied = Classes::new(
            MapIndicator::Coverage,
            ClassScheme::Quantile,
            &decimals(&["0", "0", "0", "0", "5", "5", "7"]),
        );
        assert_eq!(tied.bounds, [5.0]);
        let legend = tied.legend();
        assert_eq!(
            legend.classes.iter().map(|c| c.colour).collect::<Vec<_>>(),
            ["#ffffcc", "#253494"]
        );
        // No value: one class.
        assert_eq!(
            Classes::new(MapIndicator::Coverage, ClassScheme::Quantile, &[]).len(),
            1
        );
    }

    #[test]
    fn pretty_classes_have_round_bounds() {
        let values = decimals(&["0.70", "3.20", "11.90"]);
        let c = Classes::new(MapIndicator::Coverage, ClassScheme::Pretty, &values);
        // (11.9 − 0.7) ÷ 5 = 2.24 → a step of 2.5 from 0.
        assert_eq!(c.min.to_string(), "0");
        assert_eq!(c.bounds, [2.5, 5.0, 7.5, 10.0]);
        assert_eq!(c.class_of("11.90".parse().unwrap()), 4);
        assert_eq!(c.class_of("2.49".parse().unwrap()), 0);
        assert_eq!(c.legend().classes[1].label_en, "2.5–5 %");
        let small = Classes::new(
            MapIndicator::ShortfallPerResident,
            ClassScheme::Pretty,
            &decimals(&["0.12", "0.31", "0.58"]),
        );
        assert_eq!(small.min.to_string(), "0.1");
        assert_eq!(small.bounds, [0.2, 0.3, 0.4, 0.5]);
        let one = Classes::new(
            MapIndicator::Coverage,
            ClassScheme::Pretty,
            &decimals(&["4", "4"]),
        );
        assert_eq!(one.len(), 1);
        for scheme in ClassScheme::ALL {
            assert_eq!(ClassScheme::parse(scheme.as_str()), Some(scheme));
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
