//! Demo data: realistic, deterministic community welfare funds and their monthly summaries on the real
//! tambon codes. The model is documented in `docs/demo-data.md`; the short version:
//!
//! - about 83% of tambons outside Bangkok have a fund (a quarter of Bangkok's khwaeng), plus a few
//!   municipal funds in populous tambons; most funds were founded 2004–2016, a few later;
//! - membership grows along a logistic curve toward a share of the tambon's population, at a speed of
//!   its own; joins and leaves (drop-outs and deaths by age group) are consistent with the stock;
//! - members pay about 1 baht a day; the state's 1:1 matching arrives once a year, late and partial;
//!   a minority of local governments add a share; balances earn a little interest;
//! - benefits by type follow the members' age mix; a few funds grow too generous and drift into risk
//!   (benefits above income, reserves falling); a fund never pays out more than it holds;
//! - reports are mostly on time, some late, some missing, and a few funds have stopped reporting.
//!
//! All money is computed in whole satang (integers): floats only draw the random quantities.

use chrono::{Duration, NaiveTime, TimeZone, Utc};
use welfare_model::fund::Fund;
use welfare_model::{AreaCode, FundId, FundKind, Money, Period, Summary};

use crate::rng::Rng;

/// A tambon as the generator needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TambonInfo {
    pub code: AreaCode,
    pub name_th: String,
    pub name_en: String,
    /// Registered population (the latest year of the geography bundle).
    pub population: i64,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoConfig {
    pub seed: u64,
    /// The last month with reports.
    pub last_period: Period,
    /// How many months of reports, ending at `last_period`.
    pub months: u32,
    /// Report deadline: this day of the following month.
    pub deadline_day: u32,
}

impl DemoConfig {
    /// Ten years of monthly reports ending at `last_period`, seed 2568.
    pub fn ten_years(last_period: Period) -> Self {
        DemoConfig {
            seed: 2568,
            last_period,
            months: 120,
            deadline_day: 15,
        }
    }

    pub fn first_period(&self) -> Period {
        self.last_period.add_months(1 - self.months as i32)
    }
}

/// How reliably a fund reports.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reporting {
    missing: f64,
    late: f64,
    /// The last month reported by a fund that has stopped, if any.
    stopped_after: Option<Period>,
}

/// One fund and the parameters that drive its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct FundPlan {
    pub fund: Fund,
    pub founded: Period,
    population: i64,
    saturation: f64,
    growth: f64,
    midpoint: f64,
    share_children: f64,
    share_elderly: f64,
    dropout: f64,
    compliance: f64,
    state_share: f64,
    state_month: u32,
    local_ratio: Option<(f64, u32)>,
    birth_benefit: i64,
    sickness_claim: i64,
    death_benefit_base: i64,
    elderly_allowance: bool,
    admin_rate: f64,
    /// Month from which a fund becomes too generous, and by how much.
    risk: Option<(Period, f64)>,
    reporting: Reporting,
}

/// The planned funds; their summaries are generated one fund at a time.
#[derive(Debug, Clone)]
pub struct DemoData {
    pub config: DemoConfig,
    pub funds: Vec<FundPlan>,
}

impl DemoData {
    /// Decides which tambons have funds and each fund's parameters. `tambons` may come in any order.
    pub fn plan(tambons: &[TambonInfo], config: DemoConfig) -> DemoData {
        let mut sorted: Vec<&TambonInfo> = tambons.iter().collect();
        sorted.sort_by(|a, b| a.code.cmp(&b.code));
        let first = config.first_period();
        let mut funds = Vec::new();
        for t in sorted {
            let mut r = Rng::for_key(config.seed, t.code.as_str());
            let bangkok = t.code.as_str().starts_with("10");
            let has_fund = r.chance(if bangkok { 0.25 } else { 0.83 });
            if has_fund {
                funds.push(plan_fund(&mut r, t, config, first, None));
            }
            // A few populous tambons also have a municipal fund (เทศบาล).
            if !bangkok && t.population > 9_000 && r.chance(0.08) {
                let municipality = format!("เทศบาลตำบล{}", t.name_th);
                funds.push(plan_fund(&mut r, t, config, first, Some(municipality)));
            }
        }
        DemoData { config, funds }
    }

    pub fn fund_list(&self) -> Vec<Fund> {
        self.funds.iter().map(|p| p.fund.clone()).collect()
    }

    /// The summaries fund `index` reports within the configured months (missing months have none).
    pub fn summaries(&self, index: usize) -> Vec<Summary> {
        simulate(&self.funds[index], self.config)
    }
}

fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    x.max(lo).min(hi)
}

fn plan_fund(
    r: &mut Rng,
    t: &TambonInfo,
    config: DemoConfig,
    first: Period,
    municipality: Option<String>,
) -> FundPlan {
    let municipal = municipality.is_some();
    let id = if municipal {
        format!("F{}M", t.code)
    } else {
        format!("F{}", t.code)
    };
    // Founded in the 13 years before the window opens or its first year (2003–2017 for a window
    // starting in late 2016): about 93% exist when the window opens.
    let founded = first.add_months(-156 + r.int(0, 168) as i32);
    let bangkok = t.code.as_str().starts_with("10");
    let saturation = if bangkok {
        clamp(r.normal(0.03, 0.015), 0.005, 0.08)
    } else {
        clamp(r.normal(0.12, 0.055), 0.03, 0.45)
    } * if municipal { 0.5 } else { 1.0 };
    let stopped_after = r
        .chance(0.02)
        .then(|| config.last_period.add_months(-(r.int(1, 8) as i32)));
    let reporting = match r.unit() {
        u if u < 0.6 => Reporting {
            missing: 0.01,
            late: 0.05,
            stopped_after,
        },
        u if u < 0.9 => Reporting {
            missing: 0.05,
            late: 0.2,
            stopped_after,
        },
        _ => Reporting {
            missing: 0.2,
            late: 0.5,
            stopped_after,
        },
    };
    let risk = r.chance(0.07).then(|| {
        let from = config
            .last_period
            .add_months(-(r.int(6, 60) as i32))
            .max(founded);
        (from, r.range(1.8, 3.5))
    });
    let fund = Fund {
        id: FundId::parse(&id).expect("generated ids are valid"),
        name_th: match &municipality {
            Some(m) => format!("กองทุนสวัสดิการชุมชน{m}"),
            None => format!("กองทุนสวัสดิการชุมชนตำบล{}", t.name_th),
        },
        name_en: Some(match &municipality {
            Some(_) => format!("{} Municipality Community Welfare Fund", t.name_en),
            None => format!("{} Community Welfare Fund", t.name_en),
        }),
        kind: FundKind::CommunityWelfare,
        area: t.code.clone(),
        municipality,
        registered_on: Some(founded.first_day()),
        closed_on: None,
    };
    FundPlan {
        fund,
        founded,
        population: t.population,
        saturation,
        growth: r.range(0.02, 0.06),
        midpoint: r.range(12.0, 96.0),
        share_children: clamp(r.normal(0.12, 0.05), 0.02, 0.3),
        share_elderly: clamp(r.normal(0.30, 0.08), 0.1, 0.6),
        dropout: r.range(0.001, 0.006),
        compliance: r.range(0.85, 1.0),
        state_share: r.range(0.2, 0.8),
        state_month: r.int(2, 7) as u32,
        local_ratio: r
            .chance(0.15)
            .then(|| (r.range(0.1, 0.5), r.int(10, 12) as u32)),
        birth_benefit: r.int(5, 20) * 100,
        sickness_claim: r.int(2, 6) * 100,
        death_benefit_base: r.int(2, 10) * 1_000,
        elderly_allowance: r.chance(0.6),
        admin_rate: r.range(0.03, 0.12),
        risk,
        reporting,
    }
}

/// Whole baht → satang.
const BAHT: i64 = 100;

fn simulate(plan: &FundPlan, config: DemoConfig) -> Vec<Summary> {
    let mut r = Rng::for_key(config.seed ^ 0x5eed, plan.fund.id.as_str());
    let first = config.first_period();
    let last = config.last_period;
    let cap = (plan.population as f64 * plan.saturation).max(40.0);
    let logistic = |age: f64| cap / (1.0 + (-plan.growth * (age - plan.midpoint)).exp());
    let mut members: i64 = logistic(0.0).round().max(30.0) as i64;
    let mut balance: i64 = 0;
    // Contributions per fiscal year (by BE year), the base of next year's matching.
    let mut contrib_by_fy: std::collections::HashMap<i32, i64> = Default::default();
    let mut out = Vec::new();

    for period in plan.founded.through(last) {
        let age = plan.founded.months_until(period) as f64;
        let children = (members as f64 * plan.share_children).round() as i64;
        let elderly = (members as f64 * plan.share_elderly).round() as i64;
        let working = (members - children - elderly).max(0);

        // Membership flows: drop-outs and deaths leave; joins bring the stock to the growth curve.
        let deaths = r.poisson(
            elderly as f64 * 0.035 / 12.0
                + working as f64 * 0.003 / 12.0
                + children as f64 * 0.0003 / 12.0,
        );
        let dropouts = r.poisson(members as f64 * plan.dropout);
        let left = (deaths + dropouts).min(members);
        let target = logistic(age).round() as i64;
        let joined = (target - members + left).max(0);
        members = members + joined - left;
        let children = (members as f64 * plan.share_children).round() as i64;
        let elderly = (members as f64 * plan.share_elderly).round() as i64;
        let working = members - children - elderly;

        // Income, in satang. 365 baht a year is 3041.67 satang a month.
        let contrib = ((members as f64 * 3_041.67 * plan.compliance) / 100.0).round() as i64 * BAHT;
        *contrib_by_fy.entry(period.fiscal_year_be()).or_default() += contrib;
        let previous_fy = contrib_by_fy
            .get(&(period.fiscal_year_be() - 1))
            .copied()
            .unwrap_or(0);
        let registered_a_year = age >= 12.0;
        let grant_state =
            if registered_a_year && period.month() == plan.state_month && r.chance(0.85) {
                (previous_fy as f64 * plan.state_share / 100.0).round() as i64 * BAHT
            } else {
                0
            };
        let grant_local = match plan.local_ratio {
            Some((ratio, month)) if registered_a_year && period.month() == month => {
                (previous_fy as f64 * ratio / 100.0).round() as i64 * BAHT
            }
            _ => 0,
        };
        let income_other = (balance as f64 * 0.0015).round() as i64
            + if r.chance(0.05) {
                r.int(5, 50) * 100 * BAHT
            } else {
                0
            };
        let income = contrib + grant_state + grant_local + income_other;

        // Benefits by type, driven by the age mix; risky funds pay more than they can sustain.
        let generosity = match plan.risk {
            Some((from, factor)) if period >= from => factor,
            _ => 1.0,
        };
        let years = (age / 12.0).floor() as i64;
        let births = r.poisson(working as f64 * 0.006 / 12.0);
        let sick_claims = r.poisson(members as f64 * 0.015 + elderly as f64 * 0.02);
        let elderly_paid = if plan.elderly_allowance {
            elderly / 10
        } else {
            0
        };
        let education = if period.month() == 5 {
            children * 3 / 10
        } else {
            0
        };
        let occupation = r.poisson(members as f64 * 0.002);
        let disability = r.poisson(members as f64 * 0.003);
        let disaster = r.chance(0.01);
        let scale = |satang: i64| (satang as f64 * generosity).round() as i64;
        let death_benefit = (plan.death_benefit_base + years * 500).min(20_000) * BAHT;
        let mut benefits = [
            scale(births * plan.birth_benefit * BAHT),
            scale(sick_claims * plan.sickness_claim * BAHT),
            scale(deaths * death_benefit),
            scale(elderly_paid * 100 * BAHT),
            scale(education * 500 * BAHT),
            scale(occupation * r.int(10, 30) * 100 * BAHT),
            scale(disability * 300 * BAHT),
            if disaster {
                scale(members / 5 * r.int(1, 4) * 50 * BAHT)
            } else {
                0
            },
            scale(r.poisson(members as f64 * 0.001) * 200 * BAHT),
        ];
        let admin =
            ((income as f64 * plan.admin_rate * generosity.sqrt()) / 100.0).round() as i64 * BAHT;
        // A fund never pays out more than it holds: benefits are cut pro rata to what is there.
        let available = balance + income - admin;
        let wanted: i64 = benefits.iter().sum();
        if wanted > available.max(0) {
            let keep = available.max(0) as f64 / wanted as f64;
            for b in &mut benefits {
                *b = (*b as f64 * keep).floor() as i64;
            }
        }
        let paid: i64 = benefits.iter().sum();
        balance = balance + income - admin - paid;
        let beneficiaries = births
            + sick_claims
            + deaths
            + elderly_paid
            + education
            + occupation
            + disability
            + if disaster { members / 5 } else { 0 };

        if period < first {
            continue;
        }
        let stopped = plan.reporting.stopped_after.is_some_and(|s| period > s);
        if stopped || r.chance(plan.reporting.missing) {
            continue;
        }
        let due = period.report_due(config.deadline_day);
        let day = if r.chance(plan.reporting.late) {
            due + Duration::days(r.int(1, 45))
        } else {
            due - Duration::days(r.int(0, 14))
        };
        let time = NaiveTime::from_hms_opt(r.int(8, 19) as u32, r.int(0, 59) as u32, 0)
            .expect("valid time");
        // Reports are stamped in Bangkok time (UTC+7).
        let reported_at = Utc.from_utc_datetime(&(day.and_time(time) - Duration::hours(7)));

        let mut s = Summary::new(plan.fund.id.clone(), period);
        let money = |satang: i64| Some(Money::from_satang(satang));
        s.members_total = Some(members);
        s.members_children = Some(children);
        s.members_working = Some(working);
        s.members_elderly = Some(elderly);
        s.members_joined = Some(joined);
        s.members_left = Some(left);
        s.contrib_members = money(contrib);
        s.grant_state = money(grant_state);
        s.grant_local = money(grant_local);
        s.income_other = money(income_other);
        s.benefits_birth = money(benefits[0]);
        s.benefits_sickness = money(benefits[1]);
        s.benefits_death = money(benefits[2]);
        s.benefits_elderly = money(benefits[3]);
        s.benefits_education = money(benefits[4]);
        s.benefits_occupation = money(benefits[5]);
        s.benefits_disability = money(benefits[6]);
        s.benefits_disaster = money(benefits[7]);
        s.benefits_other = money(benefits[8]);
        s.beneficiaries = Some(beneficiaries);
        s.services_noncash = Some(r.poisson(members as f64 * 0.01));
        s.admin_costs = money(admin);
        s.fund_balance = money(balance);
        s.reported_at = Some(reported_at);
        s.source = Some("demo".to_string());
        out.push(s);
    }
    out
}

/// Made-up tambons in many provinces, for tests of the generator and the simulator.
#[cfg(test)]
pub(crate) fn test_tambons(n: usize) -> Vec<TambonInfo> {
    (0..n)
        .map(|i| TambonInfo {
            code: AreaCode::parse(&format!("{}{:04}", 30 + i % 60, 101 + i)).unwrap(),
            name_th: format!("ตำบล{i}"),
            name_en: format!("Tambon {i}"),
            population: 3_000 + (i as i64 * 37) % 12_000,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tambons(n: usize) -> Vec<TambonInfo> {
        test_tambons(n)
    }

    #[test]
    fn deterministic_and_consistent() {
        let config = DemoConfig::ten_years(Period::new(2026, 10).unwrap());
        let t = tambons(300);
        let a = DemoData::plan(&t, config);
        let b = DemoData::plan(&t, config);
        assert_eq!(a.funds, b.funds);
        assert!(
            a.funds.len() > 200 && a.funds.len() < 300,
            "{}",
            a.funds.len()
        );
        for i in 0..a.funds.len() {
            let rows = a.summaries(i);
            assert_eq!(rows, b.summaries(i));
            let mut prev: Option<&Summary> = None;
            for s in &rows {
                assert!(s.period >= config.first_period() && s.period <= config.last_period);
                let m = s.members_total.unwrap();
                assert_eq!(
                    m,
                    s.members_children.unwrap()
                        + s.members_working.unwrap()
                        + s.members_elderly.unwrap()
                );
                assert!(
                    s.fund_balance.unwrap() >= Money::ZERO,
                    "{} {}",
                    s.fund_id,
                    s.period
                );
                // Stocks agree with flows between consecutive reported months.
                if let Some(p) = prev.filter(|p| p.period.next() == s.period) {
                    assert_eq!(
                        p.members_total.unwrap() + s.members_joined.unwrap()
                            - s.members_left.unwrap(),
                        m
                    );
                    let income = [
                        s.contrib_members,
                        s.grant_state,
                        s.grant_local,
                        s.income_other,
                    ]
                    .into_iter()
                    .flatten()
                    .sum::<Money>();
                    let out = s.benefits_total().unwrap() + s.admin_costs.unwrap();
                    assert_eq!(
                        p.fund_balance.unwrap() + income - out,
                        s.fund_balance.unwrap()
                    );
                }
                prev = Some(s);
            }
        }
    }

    #[test]
    fn some_reports_are_late_missing_or_risky() {
        let config = DemoConfig::ten_years(Period::new(2026, 10).unwrap());
        let data = DemoData::plan(&tambons(400), config);
        let mut late = 0;
        let mut total = 0;
        let mut short_history = 0;
        for i in 0..data.funds.len() {
            let rows = data.summaries(i);
            let expected = data.funds[i]
                .founded
                .max(config.first_period())
                .months_until(config.last_period)
                + 1;
            if (rows.len() as i32) < expected {
                short_history += 1;
            }
            for s in &rows {
                total += 1;
                let due = s.period.report_due(15);
                let local = s.reported_at.unwrap() + Duration::hours(7);
                if local.date_naive() > due {
                    late += 1;
                }
            }
        }
        let late_share = late as f64 / total as f64;
        assert!((0.05..0.3).contains(&late_share), "{late_share}");
        assert!(short_history > data.funds.len() / 10, "{short_history}");
        assert!(data.funds.iter().any(|f| f.risk.is_some()));
        assert!(data.funds.iter().any(|f| f.fund.municipality.is_some()));
    }
}
