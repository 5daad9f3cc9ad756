//! Matching-grant policies: named rules, kept as data (configuration), compared side by side.
//!
//! A policy says what each member is expected to save per year, how much the state and local
//! government add for each baht saved, an optional cap per member, and which funds qualify.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use welfare_model::Money;

use crate::error::QueryError;

/// Which funds a policy pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    /// The fund must have been registered (or reporting) for at least this many months before the
    /// last month asked about.
    #[serde(default = "default_min_months")]
    pub min_months_registered: i32,
    /// The fund must have reported in at least this many of the 12 months ending with the last month
    /// asked about.
    #[serde(default = "default_min_reports")]
    pub min_reports_last_12: i32,
}

fn default_min_months() -> i32 {
    12
}

fn default_min_reports() -> i32 {
    10
}

impl Default for Eligibility {
    fn default() -> Self {
        Eligibility {
            min_months_registered: default_min_months(),
            min_reports_last_12: default_min_reports(),
        }
    }
}

/// One named matching rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Its name in the API (`codi-1-1`): lower-case letters, digits and dashes.
    pub name: String,
    pub title_th: String,
    pub title_en: String,
    /// What a member saves per year (baht); 365 is one baht a day.
    #[serde(default = "default_contribution")]
    pub contribution_per_member_year: Money,
    /// Baht the state adds per baht saved (1 for 1:1).
    #[serde(default = "one")]
    pub state_ratio: Decimal,
    /// Baht local government adds per baht saved (1 in the 1:1:1 model, 0 when it adds nothing).
    #[serde(default)]
    pub local_ratio: Decimal,
    /// At most this much state money per member per year, when set.
    #[serde(default)]
    pub cap_per_member_year: Option<Money>,
    #[serde(default)]
    pub eligibility: Eligibility,
}

fn one() -> Decimal {
    Decimal::ONE
}

fn default_contribution() -> Money {
    Money::from_baht(365)
}

/// The name of the policy used when a request names none.
pub const DEFAULT_POLICY: &str = "codi-1-1";

impl Policy {
    /// The two rules every hub knows unless configured otherwise: today's CODI 1:1 matching, and the
    /// 1:1:1 model (state and local government each match the members' baht) of the draft Act.
    pub fn defaults() -> Vec<Policy> {
        vec![
            Policy {
                name: DEFAULT_POLICY.into(),
                title_th: "สมทบ 1:1 โดยรัฐ (พอช.)".into(),
                title_en: "State (CODI) matches 1:1".into(),
                contribution_per_member_year: default_contribution(),
                state_ratio: Decimal::ONE,
                local_ratio: Decimal::ZERO,
                cap_per_member_year: None,
                eligibility: Eligibility::default(),
            },
            Policy {
                name: "act-1-1-1".into(),
                title_th: "สมทบ 1:1:1 รัฐและท้องถิ่น (ร่าง พ.ร.บ.)".into(),
                title_en: "State and local government each match 1:1 (draft Act)".into(),
                contribution_per_member_year: default_contribution(),
                state_ratio: Decimal::ONE,
                local_ratio: Decimal::ONE,
                cap_per_member_year: None,
                eligibility: Eligibility::default(),
            },
        ]
    }

    /// Checks the rule makes sense; the message names the policy and the field.
    pub fn validate(&self) -> Result<(), QueryError> {
        let bad = |what: String| Err(QueryError::Policy(format!("policy {}: {what}", self.name)));
        if !valid_name(&self.name) {
            return bad("a name is 1–40 lower-case letters, digits or dashes".into());
        }
        if self.contribution_per_member_year.is_negative() {
            return bad("contribution_per_member_year cannot be negative".into());
        }
        for (field, ratio) in [
            ("state_ratio", self.state_ratio),
            ("local_ratio", self.local_ratio),
        ] {
            if ratio.is_sign_negative() || ratio > Decimal::from(100) || ratio.scale() > 4 {
                return bad(format!(
                    "{field} {ratio} must be between 0 and 100 with at most 4 decimals"
                ));
            }
        }
        if self.cap_per_member_year.is_some_and(Money::is_negative) {
            return bad("cap_per_member_year cannot be negative".into());
        }
        let e = &self.eligibility;
        if !(0..=600).contains(&e.min_months_registered) {
            return bad("eligibility.min_months_registered must be 0–600".into());
        }
        if !(0..=12).contains(&e.min_reports_last_12) {
            return bad("eligibility.min_reports_last_12 must be 0–12".into());
        }
        Ok(())
    }

    /// State money per member per year: contribution × state ratio, at most the cap, to the satang
    /// (half away from zero).
    pub fn state_per_member_year(&self) -> Result<Money, QueryError> {
        let amount = self.share(self.state_ratio)?;
        Ok(match self.cap_per_member_year {
            Some(cap) if cap < amount => cap,
            _ => amount,
        })
    }

    /// Local-government money per member per year: contribution × local ratio, to the satang.
    pub fn local_per_member_year(&self) -> Result<Money, QueryError> {
        self.share(self.local_ratio)
    }

    fn share(&self, ratio: Decimal) -> Result<Money, QueryError> {
        let exact = self.contribution_per_member_year.decimal() * ratio;
        let rounded =
            exact.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        Money::from_decimal(rounded).map_err(|e| QueryError::Policy(format!("{}: {e}", self.name)))
    }
}

/// Names used in SQL text and URLs: 1–40 of `a-z`, `0-9`, `-`.
pub fn valid_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_resolve_to_365_baht() {
        let [codi, act] = <[Policy; 2]>::try_from(Policy::defaults()).unwrap();
        codi.validate().unwrap();
        act.validate().unwrap();
        assert_eq!(codi.state_per_member_year().unwrap().to_string(), "365.00");
        assert_eq!(codi.local_per_member_year().unwrap().to_string(), "0.00");
        assert_eq!(act.local_per_member_year().unwrap().to_string(), "365.00");
    }

    #[test]
    fn cap_and_fractional_ratio() {
        let mut p = Policy::defaults().remove(0);
        p.state_ratio = Decimal::new(5, 1);
        assert_eq!(p.state_per_member_year().unwrap().to_string(), "182.50");
        p.state_ratio = Decimal::new(3333, 4);
        // 365 × 0.3333 = 121.6545 → 121.65 (midpoint rule only matters at …5 exactly)
        assert_eq!(p.state_per_member_year().unwrap().to_string(), "121.65");
        p.cap_per_member_year = Some(Money::from_baht(100));
        assert_eq!(p.state_per_member_year().unwrap().to_string(), "100.00");
    }

    #[test]
    fn validation_names_the_field() {
        let mut p = Policy::defaults().remove(0);
        p.name = "Bad Name".into();
        assert!(p.validate().unwrap_err().to_string().contains("a name is"));
        let mut p = Policy::defaults().remove(0);
        p.state_ratio = Decimal::new(-1, 0);
        assert!(
            p.validate()
                .unwrap_err()
                .to_string()
                .contains("state_ratio")
        );
        let mut p = Policy::defaults().remove(0);
        p.eligibility.min_reports_last_12 = 13;
        assert!(
            p.validate()
                .unwrap_err()
                .to_string()
                .contains("min_reports_last_12")
        );
    }
}
