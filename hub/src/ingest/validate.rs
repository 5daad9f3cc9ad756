//! The checks every delivered row passes before it is stored, one function per rule. A row that fails
//! goes to quarantine with the reason; it never blocks the good rows.
//!
//! Three stages, in this order:
//! 1. [`split_duplicates`]: a (fund, month) delivered more than once in one run with different figures
//!    is refused in every copy (none wins); identical copies are kept once.
//! 2. [`check_row`]: the rules one row can be judged by alone (registration, tambon, month, counts,
//!    money, age groups, population).
//! 3. [`check_series`]: between consecutive months of one fund that both passed, stocks must follow
//!    from flows ([`check_continuity`]); the later month is blamed, never its neighbour. A month put
//!    aside is no one's previous month: the month after it is not compared with it.
//!
//! "Not reported" is `None`: the source gave no value (its file has no such column, or its system no
//! such field). A continuity rule is only applied when every term it needs is reported in both
//! months; an unreported term is never read as zero.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use welfare_model::summary::{FieldKind, MEASURES, MeasureValue};
use welfare_model::thai::quoted;
use welfare_model::{FundId, Money, Period, Summary};

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

impl ValidationRules {
    /// The earliest month accepted (January 2000 if the configured text is not a month).
    pub fn earliest(&self) -> Period {
        Period::parse(&self.earliest_period)
            .unwrap_or_else(|_| Period::new(2000, 1).expect("a valid month"))
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

/// What a row says about its tambon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclaredTambon {
    /// The source has no tambon column: nothing to compare.
    NoColumn,
    /// The source has a tambon column and this row left it blank.
    Blank,
    /// The code as the source wrote it (its digits read, nothing padded).
    Code(String),
}

/// One delivered row, where it was in the source, and the tambon it declares.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub summary: Summary,
    pub location: String,
    pub tambon: DeclaredTambon,
}

/// A delivered row put aside, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub row: Delivered,
    pub reason: String,
}

/// True when two rows carry the same figures and declare the same tambon (provenance aside).
fn same_figures(a: &Delivered, b: &Delivered) -> bool {
    a.tambon == b.tambon
        && (0..MEASURES.len()).all(|i| a.summary.measure(i) == b.summary.measure(i))
}

/// Rule: a (fund, month) delivered more than once in one run. Copies with the same figures are one
/// row (the first is kept); copies that differ are all refused, each naming where the others are,
/// because which one is right cannot be known. Rows keep their delivery order.
pub fn split_duplicates(rows: Vec<Delivered>) -> (Vec<Delivered>, Vec<Refusal>) {
    let mut copies: HashMap<(FundId, Period), Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        copies
            .entry((r.summary.fund_id.clone(), r.summary.period))
            .or_default()
            .push(i);
    }
    let mut keep = vec![true; rows.len()];
    let mut conflicting = vec![false; rows.len()];
    for indexes in copies.values().filter(|c| c.len() > 1) {
        let first = &rows[indexes[0]];
        if indexes.iter().all(|&i| same_figures(first, &rows[i])) {
            for &i in &indexes[1..] {
                keep[i] = false;
            }
        } else {
            for &i in indexes {
                conflicting[i] = true;
            }
        }
    }
    let mut passed = Vec::with_capacity(rows.len());
    let mut refused = Vec::new();
    let others_of = |i: usize, row: &Delivered| -> Vec<String> {
        copies[&(row.summary.fund_id.clone(), row.summary.period)]
            .iter()
            .filter(|&&j| j != i)
            .map(|&j| rows[j].location.clone())
            .collect()
    };
    let reasons: Vec<Option<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            conflicting[i].then(|| {
                let others = others_of(i, row);
                let times = match others.len() + 1 {
                    2 => "twice".to_string(),
                    n => format!("{n} times"),
                };
                let label = if others.len() == 1 {
                    "the other copy"
                } else {
                    "the other copies"
                };
                format!(
                    "duplicate: fund {} month {} is delivered {times} in this run with different figures ({label}: {}); no copy is stored, since which one is right cannot be known",
                    row.summary.fund_id,
                    row.summary.period,
                    others.join(", ")
                )
            })
        })
        .collect();
    for ((row, reason), kept) in rows.into_iter().zip(reasons).zip(keep) {
        match reason {
            Some(reason) => refused.push(Refusal { row, reason }),
            None if kept => passed.push(row),
            None => {}
        }
    }
    (passed, refused)
}

/// Rule: the fund is registered. The id is quoted as delivered, never rewritten.
fn registered<'r>(s: &Summary, reference: &'r Reference) -> Result<&'r FundReference, String> {
    reference.fund(s.fund_id.as_str()).ok_or_else(|| {
        format!(
            "unknown fund id {}: not registered in the hub (an unregistered fund's rows are never stored; register it, then pull again with --full)",
            quoted(s.fund_id.as_str())
        )
    })
}

/// Rule: a closed fund reports no month from its closing month on (it stops counting then).
fn still_open(s: &Summary, fund: &FundReference) -> Result<(), String> {
    match fund
        .closed_on
        .as_deref()
        .map(|d| (d, d.get(..7).unwrap_or(d)))
    {
        Some((day, month)) if s.period.to_string().as_str() >= month => Err(format!(
            "fund {} closed on {day}: it reports no month from {month} on (period {})",
            s.fund_id, s.period
        )),
        _ => Ok(()),
    }
}

/// Rule: a declared tambon is exactly the fund's registered tambon (never padded or guessed).
fn tambon_matches(
    s: &Summary,
    declared: &DeclaredTambon,
    fund: &FundReference,
) -> Result<(), String> {
    match declared {
        DeclaredTambon::NoColumn => Ok(()),
        DeclaredTambon::Code(code) if *code == fund.tambon => Ok(()),
        DeclaredTambon::Code(code) => Err(format!(
            "tambon {} declared in the row is not fund {}'s registered tambon {}: codes are compared exactly, never padded or guessed",
            quoted(code),
            s.fund_id,
            fund.tambon
        )),
        DeclaredTambon::Blank => Err(format!(
            "the tambon column is blank; it must be fund {}'s registered tambon {}",
            s.fund_id, fund.tambon
        )),
    }
}

/// Rule: the month lies between `validation.earliest_period` and `latest` (the current month).
fn period_in_range(s: &Summary, rules: &ValidationRules, latest: Period) -> Result<(), String> {
    let earliest = rules.earliest();
    if s.period < earliest {
        return Err(format!(
            "period {} is before {earliest}, the earliest month accepted (validation.earliest_period)",
            s.period
        ));
    }
    if s.period > latest {
        return Err(format!(
            "period {} is after the current month {latest}: a future month, or a year in the wrong era?",
            s.period
        ));
    }
    Ok(())
}

/// Rule: `members_total` is reported on every row.
fn members_reported(s: &Summary) -> Result<i64, String> {
    s.members_total
        .ok_or_else(|| "members_total is not reported; every row must give it".to_string())
}

/// Rule: counts are never negative, nor are flows of money (a balance may be overdrawn).
fn signs(s: &Summary) -> Result<(), String> {
    for (i, m) in MEASURES.iter().enumerate() {
        match s.measure(i) {
            MeasureValue::Count(Some(v)) if v < 0 => {
                return Err(format!("{} is negative ({v})", m.name));
            }
            MeasureValue::Money(Some(v)) if v < Money::ZERO && m.kind == FieldKind::Flow => {
                return Err(format!(
                    "{} is negative ({v}): money paid or received cannot be",
                    m.name
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Rule: no age group exceeds the members; together they do not either, and when all three are given
/// they add up to the members.
fn age_groups(s: &Summary, members: i64) -> Result<(), String> {
    let groups = [
        ("members_children", s.members_children),
        ("members_working", s.members_working),
        ("members_elderly", s.members_elderly),
    ];
    for (name, value) in groups {
        if let Some(v) = value
            && v > members
        {
            return Err(format!("{name} {v} is more than members_total {members}"));
        }
    }
    let known: i64 = groups.iter().filter_map(|(_, v)| *v).sum();
    if known > members {
        return Err(format!(
            "age groups add up to {known}, more than members_total {members}"
        ));
    }
    if groups.iter().all(|(_, v)| v.is_some()) && known != members {
        return Err(format!(
            "age groups add up to {known}, not members_total {members}"
        ));
    }
    Ok(())
}

/// Rule: members are not absurdly above the tambon's registered population.
fn plausible_members(
    members: i64,
    fund: &FundReference,
    rules: &ValidationRules,
) -> Result<(), String> {
    match fund.population {
        Some(population)
            if members as f64 > population as f64 * rules.max_members_per_population =>
        {
            Err(format!(
                "members_total {members} is more than {} × the population of tambon {} ({population})",
                rules.max_members_per_population, fund.tambon
            ))
        }
        _ => Ok(()),
    }
}

/// Rule: a connector that serves provinces stores rows only of funds registered in them (a province
/// network's connector cannot write another province's figures).
pub fn served_by(
    s: &Summary,
    reference: &Reference,
    entry: &super::ConnectorEntry,
) -> Result<(), String> {
    match reference.fund(s.fund_id.as_str()) {
        Some(fund) if !entry.serves(&fund.tambon) => Err(format!(
            "fund {} is registered in province {}, outside the provinces of connector {} ({})",
            s.fund_id,
            fund.tambon.get(..2).unwrap_or(&fund.tambon),
            entry.id,
            entry.provinces.join(", ")
        )),
        _ => Ok(()),
    }
}

/// Checks one row by itself. `latest` is the latest month that can be reported.
pub fn check_row(
    s: &Summary,
    tambon: &DeclaredTambon,
    reference: &Reference,
    rules: &ValidationRules,
    latest: Period,
) -> Result<(), String> {
    let fund = registered(s, reference)?;
    still_open(s, fund)?;
    tambon_matches(s, tambon, fund)?;
    period_in_range(s, rules, latest)?;
    signs(s)?;
    let members = members_reported(s)?;
    age_groups(s, members)?;
    plausible_members(members, fund, rules)
}

/// All income of a month, when every line of it is reported.
fn income(s: &Summary) -> Option<Money> {
    s.income_parts().into_iter().sum()
}

/// All welfare paid of a month (the nine benefit types), when every type is reported.
fn benefits(s: &Summary) -> Option<Money> {
    s.benefit_parts().into_iter().sum()
}

/// Rules between month `s` and the month before it, `previous` (both passed [`check_row`]): leavers
/// are at most last month's members plus joiners; members = previous + joined − left; fund balance =
/// previous balance + all income − all benefits − admin costs, exact to the satang. Each applies only
/// when all its terms are reported. An error blames `s`.
pub fn check_continuity(previous: &Summary, s: &Summary) -> Result<(), String> {
    if let (Some(before), Some(members), Some(joined), Some(left)) = (
        previous.members_total,
        s.members_total,
        s.members_joined,
        s.members_left,
    ) {
        if left > before + joined {
            return Err(format!(
                "members_left {left} is more than there were: last month's ({}) members_total {before} + members_joined {joined} = {}",
                previous.period,
                before + joined
            ));
        }
        let expected = before + joined - left;
        if members != expected {
            return Err(format!(
                "members_total {members} is not last month's {before} + joined {joined} − left {left} = {expected} (members = previous + joined − left, against {})",
                previous.period
            ));
        }
    }
    if let (Some(before), Some(balance), Some(income), Some(paid), Some(admin)) = (
        previous.fund_balance,
        s.fund_balance,
        income(s),
        benefits(s),
        s.admin_costs,
    ) {
        let expected = before + income - paid - admin;
        if balance != expected {
            return Err(format!(
                "fund_balance {balance} is not last month's {before} + income {income} − benefits {paid} − admin_costs {admin} = {expected} (off by {} baht, against {})",
                balance - expected,
                previous.period
            ));
        }
    }
    Ok(())
}

/// Applies [`check_continuity`] along each fund's months in `passed` (rows that passed
/// [`check_row`]). `stored_before` holds, per fund, the stored month just before the fund's first
/// delivered month, when there is one. A month put aside is nobody's previous month. Returns the rows
/// accepted, in month order per fund, and those refused.
pub fn check_series(
    mut passed: Vec<Delivered>,
    stored_before: &HashMap<FundId, Summary>,
) -> (Vec<Delivered>, Vec<Refusal>) {
    passed.sort_by(|a, b| {
        (&a.summary.fund_id, a.summary.period).cmp(&(&b.summary.fund_id, b.summary.period))
    });
    let mut accepted: Vec<Delivered> = Vec::with_capacity(passed.len());
    let mut refused = Vec::new();
    // The last accepted month of the current fund; None after a refused month or a gap.
    let mut previous: Option<Summary> = None;
    let mut fund: Option<FundId> = None;
    for row in passed {
        if fund.as_ref() != Some(&row.summary.fund_id) {
            fund = Some(row.summary.fund_id.clone());
            previous = stored_before.get(&row.summary.fund_id).cloned();
        }
        let check = match &previous {
            Some(p) if p.period.next() == row.summary.period => check_continuity(p, &row.summary),
            _ => Ok(()),
        };
        match check {
            Ok(()) => {
                previous = Some(row.summary.clone());
                accepted.push(row);
            }
            Err(reason) => {
                previous = None;
                refused.push(Refusal { row, reason });
            }
        }
    }
    (accepted, refused)
}

/// Per fund, its earliest month among all delivered rows (refused ones included).
pub fn earliest_months(rows: &[Delivered]) -> HashMap<FundId, Period> {
    let mut earliest: HashMap<FundId, Period> = HashMap::new();
    for r in rows {
        earliest
            .entry(r.summary.fund_id.clone())
            .and_modify(|e| *e = (*e).min(r.summary.period))
            .or_insert(r.summary.period);
    }
    earliest
}

/// The stored months [`check_series`] compares with: for each fund whose earliest delivered month
/// (see [`earliest_months`]) is among `passed`, the month before it.
pub fn months_before(
    earliest: &HashMap<FundId, Period>,
    passed: &[Delivered],
) -> Vec<(FundId, Period)> {
    let mut out: Vec<(FundId, Period)> = passed
        .iter()
        .filter(|r| earliest.get(&r.summary.fund_id) == Some(&r.summary.period))
        .map(|r| (r.summary.fund_id.clone(), r.summary.period.prev()))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Reference {
        Reference::new(vec![FundReference {
            fund_id: "F1".into(),
            tambon: "100101".into(),
            population: Some(1_000),
            registered_on: None,
            closed_on: None,
        }])
    }

    fn row(members: i64) -> Summary {
        let mut s = Summary::new(FundId::parse("F1").unwrap(), Period::new(2025, 10).unwrap());
        s.members_total = Some(members);
        s
    }

    fn check(s: &Summary) -> Result<(), String> {
        check_with(s, &DeclaredTambon::NoColumn)
    }

    fn check_with(s: &Summary, tambon: &DeclaredTambon) -> Result<(), String> {
        check_row(
            s,
            tambon,
            &reference(),
            &ValidationRules::default(),
            Period::new(2026, 10).unwrap(),
        )
    }

    fn money(text: &str) -> Option<Money> {
        Some(Money::parse(text).unwrap())
    }

    fn delivered(s: Summary, location: &str) -> Delivered {
        Delivered {
            summary: s,
            location: location.into(),
            tambon: DeclaredTambon::NoColumn,
        }
    }

    #[test]
    fn an_unregistered_fund_is_named_as_delivered() {
        assert_eq!(check(&row(100)), Ok(()));
        let mut unknown = row(1);
        unknown.fund_id = FundId::parse("K999999").unwrap();
        assert_eq!(
            check(&unknown).unwrap_err(),
            "unknown fund id \"K999999\": not registered in the hub (an unregistered fund's rows are never stored; register it, then pull again with --full)"
        );
    }

    #[test]
    fn a_closed_fund_reports_nothing_from_its_closing_month() {
        let mut closed = reference();
        closed.funds.get_mut("F1").unwrap().closed_on = Some("2025-10-15".into());
        let rules = ValidationRules::default();
        let latest = Period::new(2026, 10).unwrap();
        let mut before = row(100);
        before.period = Period::new(2025, 9).unwrap();
        assert_eq!(
            check_row(&before, &DeclaredTambon::NoColumn, &closed, &rules, latest),
            Ok(())
        );
        for month in [(2025, 10), (2026, 1)] {
            let mut after = row(100);
            after.period = Period::new(month.0, month.1).unwrap();
            assert_eq!(
                check_row(&after, &DeclaredTambon::NoColumn, &closed, &rules, latest).unwrap_err(),
                format!(
                    "fund F1 closed on 2025-10-15: it reports no month from 2025-10 on (period {})",
                    after.period
                )
            );
        }
    }

    #[test]
    fn a_declared_tambon_must_be_the_registered_one_exactly() {
        let s = row(100);
        assert_eq!(
            check_with(&s, &DeclaredTambon::Code("100101".into())),
            Ok(())
        );
        assert_eq!(
            check_with(&s, &DeclaredTambon::Code("100102".into())).unwrap_err(),
            "tambon \"100102\" declared in the row is not fund F1's registered tambon 100101: codes are compared exactly, never padded or guessed"
        );
        // A code that lost its leading digit is not padded back.
        let err = check_with(&s, &DeclaredTambon::Code("00101".into())).unwrap_err();
        assert!(err.starts_with("tambon \"00101\" declared"), "{err}");
        assert_eq!(
            check_with(&s, &DeclaredTambon::Blank).unwrap_err(),
            "the tambon column is blank; it must be fund F1's registered tambon 100101"
        );
    }

    #[test]
    fn months_before_the_earliest_or_after_the_current_are_refused() {
        let mut early = row(1);
        early.period = Period::new(1999, 12).unwrap();
        assert_eq!(
            check(&early).unwrap_err(),
            "period 1999-12 is before 2000-01, the earliest month accepted (validation.earliest_period)"
        );
        let mut future = row(1);
        future.period = Period::new(2026, 11).unwrap();
        assert_eq!(
            check(&future).unwrap_err(),
            "period 2026-11 is after the current month 2026-10: a future month, or a year in the wrong era?"
        );
        future.period = Period::new(2026, 10).unwrap();
        assert_eq!(check(&future), Ok(()), "the current month can be reported");
        early.period = Period::new(2000, 1).unwrap();
        assert_eq!(check(&early), Ok(()));
    }

    #[test]
    fn counts_and_money_flows_are_not_negative_and_members_are_reported() {
        assert_eq!(
            check(&row(-1)).unwrap_err(),
            "members_total is negative (-1)"
        );
        let mut missing = row(1);
        missing.members_total = None;
        assert_eq!(
            check(&missing).unwrap_err(),
            "members_total is not reported; every row must give it"
        );
        let mut s = row(10);
        s.benefits_sickness = money("-500.00");
        assert_eq!(
            check(&s).unwrap_err(),
            "benefits_sickness is negative (-500.00): money paid or received cannot be"
        );
        s.benefits_sickness = None;
        s.fund_balance = money("-1");
        assert_eq!(check(&s), Ok(()), "an overdrawn balance is possible");
    }

    #[test]
    fn age_groups_stay_within_members() {
        let mut s = row(100);
        s.members_elderly = Some(101);
        assert_eq!(
            check(&s).unwrap_err(),
            "members_elderly 101 is more than members_total 100"
        );
        s.members_elderly = Some(100);
        assert_eq!(check(&s), Ok(()));
        let mut groups = row(10);
        groups.members_children = Some(5);
        groups.members_working = Some(3);
        groups.members_elderly = Some(1);
        assert_eq!(
            check(&groups).unwrap_err(),
            "age groups add up to 9, not members_total 10"
        );
        groups.members_elderly = None;
        groups.members_working = Some(6);
        assert_eq!(
            check(&groups).unwrap_err(),
            "age groups add up to 11, more than members_total 10"
        );
    }

    #[test]
    fn members_far_above_the_population_are_refused() {
        assert_eq!(
            check(&row(1_501)).unwrap_err(),
            "members_total 1501 is more than 1.5 × the population of tambon 100101 (1000)"
        );
        assert_eq!(check(&row(1_500)), Ok(()));
    }

    #[test]
    fn members_follow_from_joiners_and_leavers() {
        let previous = row(8);
        let mut s = row(10);
        s.period = Period::new(2025, 11).unwrap();
        s.members_joined = Some(3);
        s.members_left = Some(1);
        assert_eq!(check_continuity(&previous, &s), Ok(()));
        assert_eq!(
            check_continuity(&row(9), &s).unwrap_err(),
            "members_total 10 is not last month's 9 + joined 3 − left 1 = 11 (members = previous + joined − left, against 2025-10)"
        );
        s.members_left = Some(12);
        s.members_total = Some(0);
        assert_eq!(
            check_continuity(&previous, &s).unwrap_err(),
            "members_left 12 is more than there were: last month's (2025-10) members_total 8 + members_joined 3 = 11"
        );
        s.members_joined = None;
        assert_eq!(
            check_continuity(&previous, &s),
            Ok(()),
            "joiners not reported: nothing to compare"
        );
    }

    fn with_all_flows(mut s: Summary, balance: &str) -> Summary {
        s.contrib_members = money("1000.00");
        s.grant_state = money("1000.00");
        s.grant_local = money("500.00");
        s.income_other = money("0.25");
        for b in [
            &mut s.benefits_birth,
            &mut s.benefits_sickness,
            &mut s.benefits_death,
            &mut s.benefits_elderly,
            &mut s.benefits_education,
            &mut s.benefits_occupation,
            &mut s.benefits_disability,
            &mut s.benefits_disaster,
            &mut s.benefits_other,
        ] {
            *b = money("100.00");
        }
        s.admin_costs = money("50.00");
        s.fund_balance = money(balance);
        s
    }

    #[test]
    fn the_balance_follows_from_income_and_payments_to_the_satang() {
        let mut previous = row(10);
        previous.fund_balance = money("10000.00");
        let mut next = row(10);
        next.period = Period::new(2025, 11).unwrap();
        // 10000 + 2500.25 − 900 − 50 = 11550.25
        assert_eq!(
            check_continuity(&previous, &with_all_flows(next.clone(), "11550.25")),
            Ok(())
        );
        assert_eq!(
            check_continuity(&previous, &with_all_flows(next.clone(), "11550.26")).unwrap_err(),
            "fund_balance 11550.26 is not last month's 10000.00 + income 2500.25 − benefits 900.00 − admin_costs 50.00 = 11550.25 (off by 0.01 baht, against 2025-10)"
        );
        let mut partial = with_all_flows(next, "99999.00");
        partial.benefits_disaster = None;
        assert_eq!(
            check_continuity(&previous, &partial),
            Ok(()),
            "a benefit type not reported: the balance is not compared"
        );
    }

    #[test]
    fn differing_copies_are_all_refused_and_identical_ones_kept_once() {
        let mut other = row(11);
        other.period = Period::new(2025, 10).unwrap();
        let mut later = row(12);
        later.period = Period::new(2025, 11).unwrap();
        let rows = vec![
            delivered(row(10), "a line 2"),
            delivered(later.clone(), "a line 3"),
            delivered(other, "a line 4"),
            delivered(later, "a line 5"),
        ];
        let (passed, refused) = split_duplicates(rows);
        assert_eq!(
            passed
                .iter()
                .map(|r| r.location.as_str())
                .collect::<Vec<_>>(),
            ["a line 3"]
        );
        let refused: Vec<(String, String)> = refused
            .into_iter()
            .map(|r| (r.row.location, r.reason))
            .collect();
        assert_eq!(
            refused,
            [
                (
                    "a line 2".to_string(),
                    "duplicate: fund F1 month 2025-10 is delivered twice in this run with different figures (the other copy: a line 4); no copy is stored, since which one is right cannot be known".to_string()
                ),
                (
                    "a line 4".to_string(),
                    "duplicate: fund F1 month 2025-10 is delivered twice in this run with different figures (the other copy: a line 2); no copy is stored, since which one is right cannot be known".to_string()
                ),
            ]
        );
    }

    /// Months Oct 2025 onwards with members growing by one a month, joined 1, left 0.
    fn months(members: &[i64]) -> Vec<Delivered> {
        members
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                let mut s = row(m);
                s.period = Period::new(2025, 10).unwrap().add_months(i as i32);
                s.members_joined = Some(1);
                s.members_left = Some(0);
                delivered(s, &format!("f line {}", i + 2))
            })
            .collect()
    }

    #[test]
    fn continuity_blames_the_later_month_and_never_its_neighbours() {
        // Month 3 (line 4) is off by two; months 4 and 5 follow from the true month 3.
        let rows = months(&[10, 11, 14, 13, 14]);
        let (accepted, refused) = check_series(rows, &HashMap::new());
        assert_eq!(
            accepted
                .iter()
                .map(|r| r.location.as_str())
                .collect::<Vec<_>>(),
            ["f line 2", "f line 3", "f line 5", "f line 6"]
        );
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].row.location, "f line 4");
        assert!(
            refused[0]
                .reason
                .starts_with("members_total 14 is not last month's 11 + joined 1 − left 0 = 12"),
            "{}",
            refused[0].reason
        );
    }

    #[test]
    fn the_first_delivered_month_is_compared_with_the_stored_one() {
        let rows = months(&[10, 11]);
        let mut stored = row(5);
        stored.period = Period::new(2025, 9).unwrap();
        let before = HashMap::from([(stored.fund_id.clone(), stored)]);
        let (accepted, refused) = check_series(rows.clone(), &before);
        assert_eq!(accepted.len(), 1);
        assert_eq!(refused[0].row.location, "f line 2");
        assert!(refused[0].reason.contains("last month's 5 + joined 1"));
        assert!(refused[0].reason.contains("against 2025-09"));
        // The month the store would be asked for: before the earliest delivered month, when it passed.
        let earliest = earliest_months(&rows);
        assert_eq!(
            months_before(&earliest, &rows),
            [(FundId::parse("F1").unwrap(), Period::new(2025, 9).unwrap())]
        );
        assert!(
            months_before(&earliest, &rows[1..]).is_empty(),
            "the earliest month was refused: nothing to compare the next with"
        );
    }
}
