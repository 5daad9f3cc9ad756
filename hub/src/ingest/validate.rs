//! The checks every delivered row passes before it is stored. A row that fails goes to quarantine with
//! the reason; it never blocks the good rows.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use welfare_model::summary::{FieldKind, MEASURES, MeasureValue};
use welfare_model::{Money, Period, Summary};

use crate::store::FundReference;

/// Thresholds of the checks, from configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidationRules {
    /// Members above this multiple of the tambon's registered population are refused as absurd
    /// (members may live outside the tambon, so the bound is above 1).
    pub max_members_per_population: f64,
    /// The earliest month accepted.
    pub earliest_period: String,
}

impl Default for ValidationRules {
    fn default() -> Self {
        ValidationRules {
            max_members_per_population: 1.5,
            earliest_period: "2000-01".into(),
        }
    }
}

/// The registered funds and their tambons' population, loaded once and shared by runs.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    funds: HashMap<String, FundReference>,
}

impl Reference {
    pub fn new(funds: Vec<FundReference>) -> Self {
        Reference {
            funds: funds.into_iter().map(|f| (f.fund_id.clone(), f)).collect(),
        }
    }

    pub fn fund(&self, id: &str) -> Option<&FundReference> {
        self.funds.get(id)
    }

    pub fn len(&self) -> usize {
        self.funds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.funds.is_empty()
    }
}

/// Checks one row. `previous_members` is the fund's members at the end of the month before, when
/// known (from the same delivery or the store); `latest` is the latest month that can be reported.
pub fn check(
    s: &Summary,
    reference: &Reference,
    rules: &ValidationRules,
    previous_members: Option<i64>,
    latest: Period,
) -> Result<(), String> {
    let Some(fund) = reference.fund(s.fund_id.as_str()) else {
        return Err(format!(
            "unknown fund {}: it is not registered in the hub",
            s.fund_id
        ));
    };
    let earliest = Period::parse(&rules.earliest_period)
        .unwrap_or_else(|_| Period::new(2000, 1).expect("valid"));
    if s.period < earliest || s.period > latest {
        return Err(format!(
            "period {} is outside {earliest}–{latest} (a future month, or a wrong era?)",
            s.period
        ));
    }
    for (i, m) in MEASURES.iter().enumerate() {
        match s.measure(i) {
            MeasureValue::Count(Some(v)) if v < 0 => {
                return Err(format!("{} is negative ({v})", m.name));
            }
            // Balances may be overdrawn; flows of money cannot be negative.
            MeasureValue::Money(Some(v)) if v < Money::ZERO && m.kind == FieldKind::Flow => {
                return Err(format!("{} is negative ({v})", m.name));
            }
            _ => {}
        }
    }
    if let (Some(members), Some(population)) = (s.members_total, fund.population)
        && members as f64 > population as f64 * rules.max_members_per_population
    {
        return Err(format!(
            "members_total {members} is more than {} × the population of tambon {} ({population})",
            rules.max_members_per_population, fund.tambon
        ));
    }
    let groups = [s.members_children, s.members_working, s.members_elderly];
    if let Some(members) = s.members_total {
        let known: i64 = groups.iter().flatten().sum();
        if known > members {
            return Err(format!(
                "age groups add up to {known}, more than members_total {members}"
            ));
        }
        if groups.iter().all(Option::is_some) && known != members {
            return Err(format!(
                "age groups add up to {known}, not members_total {members}"
            ));
        }
        if let (Some(previous), Some(joined), Some(left)) =
            (previous_members, s.members_joined, s.members_left)
            && previous + joined - left != members
        {
            return Err(format!(
                "members_total {members} is not last month's {previous} + joined {joined} − left {left} = {}",
                previous + joined - left
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use welfare_model::FundId;

    fn reference() -> Reference {
        Reference::new(vec![FundReference {
            fund_id: "F1".into(),
            tambon: "100101".into(),
            population: Some(1_000),
            registered_on: None,
        }])
    }

    fn row(members: i64) -> Summary {
        let mut s = Summary::new(FundId::parse("F1").unwrap(), Period::new(2025, 10).unwrap());
        s.members_total = Some(members);
        s
    }

    fn check_row(s: &Summary, previous: Option<i64>) -> Result<(), String> {
        check(
            s,
            &reference(),
            &ValidationRules::default(),
            previous,
            Period::new(2026, 10).unwrap(),
        )
    }

    #[test]
    fn each_rule_names_what_is_wrong() {
        assert_eq!(check_row(&row(100), None), Ok(()));
        let mut unknown = row(1);
        unknown.fund_id = FundId::parse("F2").unwrap();
        assert!(
            check_row(&unknown, None)
                .unwrap_err()
                .contains("unknown fund F2")
        );
        let mut future = row(1);
        future.period = Period::new(2027, 1).unwrap();
        assert!(
            check_row(&future, None)
                .unwrap_err()
                .contains("period 2027-01")
        );
        assert!(
            check_row(&row(-1), None)
                .unwrap_err()
                .contains("members_total is negative")
        );
        assert!(
            check_row(&row(1_501), None)
                .unwrap_err()
                .contains("population of tambon 100101")
        );
        assert_eq!(check_row(&row(1_500), None), Ok(()));
        let mut money = row(10);
        money.grant_state = Some(Money::parse("-1").unwrap());
        assert!(
            check_row(&money, None)
                .unwrap_err()
                .contains("grant_state is negative")
        );
        money.grant_state = None;
        money.fund_balance = Some(Money::parse("-1").unwrap());
        assert_eq!(
            check_row(&money, None),
            Ok(()),
            "an overdrawn balance is possible"
        );
        let mut groups = row(10);
        groups.members_children = Some(5);
        groups.members_working = Some(3);
        groups.members_elderly = Some(1);
        let err = check_row(&groups, None).unwrap_err();
        assert!(err.contains("add up to 9, not members_total 10"), "{err}");
        groups.members_elderly = Some(3);
        let err = check_row(&groups, None).unwrap_err();
        assert!(err.contains("11, more than members_total 10"), "{err}");
        let mut flows = row(10);
        flows.members_joined = Some(3);
        flows.members_left = Some(1);
        assert_eq!(check_row(&flows, Some(8)), Ok(()));
        assert!(
            check_row(&flows, Some(9))
                .unwrap_err()
                .contains("9 + joined 3 − left 1 = 11")
        );
        assert_eq!(
            check_row(&flows, None),
            Ok(()),
            "no previous month known: nothing to compare"
        );
    }
}
