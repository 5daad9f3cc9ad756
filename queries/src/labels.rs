//! One label and one unit for each column the API's tables hold, and words for the coded values in
//! them (states, risk, levels, kinds), in Thai and English: what an export writes over its columns
//! with `lang=` (CSV, XLSX) and in place of codes, so that a number means one thing wherever it is
//! read. A column without a label keeps its name.

use welfare_model::fund::FundKind;

/// The language of an export's headings and words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Th,
    En,
}

impl Lang {
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "th" => Some(Lang::Th),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// A column's label and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub column: &'static str,
    pub th: &'static str,
    pub en: &'static str,
    /// `%`, `baht`, `people`, … ; empty for none.
    pub unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    None,
    Percent,
    Baht,
    People,
    Funds,
    Reports,
    Months,
    Year,
}

impl Unit {
    fn words(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Unit::None, _) => "",
            (Unit::Percent, _) => "%",
            (Unit::Baht, Lang::Th) => "บาท",
            (Unit::Baht, Lang::En) => "baht",
            (Unit::People, Lang::Th) => "คน",
            (Unit::People, Lang::En) => "people",
            (Unit::Funds, Lang::Th) => "กองทุน",
            (Unit::Funds, Lang::En) => "funds",
            (Unit::Reports, Lang::Th) => "รายงาน",
            (Unit::Reports, Lang::En) => "reports",
            (Unit::Months, Lang::Th) => "เดือน",
            (Unit::Months, Lang::En) => "months",
            (Unit::Year, Lang::Th) => "พ.ศ./ค.ศ.",
            (Unit::Year, Lang::En) => "year",
        }
    }
}

const fn label(column: &'static str, th: &'static str, en: &'static str, unit: Unit) -> Label {
    Label {
        column,
        th,
        en,
        unit,
    }
}

/// Every labelled column of the indicator, matching, time-series and fund tables.
pub const COLUMNS: &[Label] = &[
    label("code", "รหัสพื้นที่", "Area code", Unit::None),
    label("level", "ระดับ", "Level", Unit::None),
    label("name_th", "ชื่อ (ไทย)", "Name (Thai)", Unit::None),
    label("name_en", "ชื่อ (อังกฤษ)", "Name (English)", Unit::None),
    label("state", "สถานะข้อมูล", "Data state", Unit::None),
    label("period", "เดือน", "Month", Unit::None),
    label("population", "ประชากร", "Population", Unit::People),
    label(
        "population_year",
        "ปีของข้อมูลประชากร",
        "Population year",
        Unit::Year,
    ),
    label("members", "สมาชิก", "Members", Unit::People),
    label(
        "coverage",
        "สัดส่วนสมาชิกต่อประชากร",
        "Membership coverage",
        Unit::Percent,
    ),
    label("gap", "ส่วนที่ยังขาดถึง 100%", "Gap to 100%", Unit::People),
    label(
        "growth_12m",
        "สมาชิกเพิ่มใน 12 เดือน",
        "Growth over 12 months",
        Unit::People,
    ),
    label(
        "full_coverage",
        "ครบ 100% เมื่อใด",
        "100% coverage",
        Unit::None,
    ),
    label(
        "full_coverage_year",
        "ปีที่ครบ 100%",
        "Year of 100%",
        Unit::Year,
    ),
    label("tambons", "ตำบล", "Tambons", Unit::None),
    label(
        "tambons_with_fund",
        "ตำบลที่มีกองทุน",
        "Tambons with a fund",
        Unit::None,
    ),
    label("funds", "กองทุนสวัสดิการ", "Welfare funds", Unit::Funds),
    label(
        "funds_reported",
        "กองทุนที่ส่งรายงาน",
        "Funds reporting",
        Unit::Funds,
    ),
    label("other_funds", "กองทุนประเภทอื่น", "Other funds", Unit::Funds),
    label(
        "members_other_funds",
        "สมาชิกกองทุนประเภทอื่น",
        "Members of other funds",
        Unit::People,
    ),
    label(
        "expected_reports",
        "รายงานที่ควรได้รับ",
        "Reports expected",
        Unit::Reports,
    ),
    label("reports", "รายงานที่ได้รับ", "Reports received", Unit::Reports),
    label(
        "reports_on_time",
        "รายงานที่ส่งตรงเวลา",
        "Reports on time",
        Unit::Reports,
    ),
    label(
        "reporting_rate",
        "อัตราการส่งรายงาน",
        "Reporting rate",
        Unit::Percent,
    ),
    label(
        "on_time_rate",
        "อัตราการส่งตรงเวลา",
        "On-time rate",
        Unit::Percent,
    ),
    label(
        "eligible_funds",
        "กองทุนที่มีสิทธิ์รับเงินสมทบ",
        "Funds eligible for matching",
        Unit::Funds,
    ),
    label(
        "eligible_members",
        "สมาชิกที่มีสิทธิ์รับเงินสมทบ",
        "Members eligible for matching",
        Unit::People,
    ),
    label("due", "เงินสมทบที่ควรได้รับ", "Matching due", Unit::Baht),
    label(
        "due_state",
        "เงินสมทบที่ควรได้รับจากรัฐ",
        "Matching due from the state",
        Unit::Baht,
    ),
    label(
        "due_local",
        "เงินสมทบที่ควรได้รับจากท้องถิ่น",
        "Matching due from local government",
        Unit::Baht,
    ),
    label("received", "เงินสมทบที่ได้รับ", "Matching received", Unit::Baht),
    label(
        "received_state",
        "เงินสมทบที่ได้รับจากรัฐ",
        "Received from the state",
        Unit::Baht,
    ),
    label(
        "received_local",
        "เงินสมทบที่ได้รับจากท้องถิ่น",
        "Received from local government",
        Unit::Baht,
    ),
    label(
        "shortfall",
        "เงินสมทบที่ยังขาด",
        "Matching shortfall",
        Unit::Baht,
    ),
    label(
        "shortfall_state",
        "เงินสมทบที่รัฐยังค้าง",
        "State's shortfall",
        Unit::Baht,
    ),
    label(
        "shortfall_local",
        "เงินสมทบที่ท้องถิ่นยังค้าง",
        "Local government's shortfall",
        Unit::Baht,
    ),
    label(
        "universal_budget",
        "งบสมทบเมื่อทุกคนเป็นสมาชิก",
        "Budget if every resident were a member",
        Unit::Baht,
    ),
    label(
        "universal_budget_state",
        "งบสมทบของรัฐเมื่อทุกคนเป็นสมาชิก",
        "State budget if every resident were a member",
        Unit::Baht,
    ),
    label(
        "universal_budget_local",
        "งบสมทบของท้องถิ่นเมื่อทุกคนเป็นสมาชิก",
        "Local budget if every resident were a member",
        Unit::Baht,
    ),
    label(
        "funds_assessed",
        "กองทุนที่ได้รับการประเมิน",
        "Funds assessed",
        Unit::Funds,
    ),
    label(
        "assessed_share",
        "สัดส่วนกองทุนที่ได้รับการประเมิน",
        "Share of funds assessed",
        Unit::Percent,
    ),
    label(
        "governance_excellent",
        "ธรรมาภิบาลระดับดีมาก",
        "Governance: excellent",
        Unit::Funds,
    ),
    label(
        "governance_good",
        "ธรรมาภิบาลระดับดี",
        "Governance: good",
        Unit::Funds,
    ),
    label(
        "governance_fair",
        "ธรรมาภิบาลระดับพอใช้",
        "Governance: fair",
        Unit::Funds,
    ),
    label(
        "governance_improve",
        "ธรรมาภิบาลระดับต้องปรับปรุง",
        "Governance: to improve",
        Unit::Funds,
    ),
    label(
        "funds_low_risk",
        "กองทุนความเสี่ยงต่ำ",
        "Funds at low risk",
        Unit::Funds,
    ),
    label(
        "funds_watch",
        "กองทุนที่ต้องเฝ้าระวัง",
        "Funds to watch",
        Unit::Funds,
    ),
    label(
        "funds_high_risk",
        "กองทุนความเสี่ยงสูง",
        "Funds at high risk",
        Unit::Funds,
    ),
    label("fund_id", "รหัสกองทุน", "Fund id", Unit::None),
    label("kind", "ประเภทกองทุน", "Fund kind", Unit::None),
    label("tambon_code", "รหัสตำบล", "Tambon code", Unit::None),
    label("province_code", "รหัสจังหวัด", "Province code", Unit::None),
    label("municipality", "เทศบาล", "Municipality", Unit::None),
    label("registered", "วันที่จัดตั้ง", "Registered", Unit::None),
    label(
        "last_period",
        "เดือนที่ส่งรายงานล่าสุด",
        "Last month reported",
        Unit::None,
    ),
    label(
        "months_since_report",
        "เดือนที่ไม่ได้ส่งรายงาน",
        "Months since the last report",
        Unit::Months,
    ),
    label(
        "reports_last_12",
        "รายงานใน 12 เดือน",
        "Reports in 12 months",
        Unit::Reports,
    ),
    label(
        "members_elderly",
        "สมาชิกผู้สูงอายุ",
        "Elderly members",
        Unit::People,
    ),
    label("fund_balance", "ยอดเงินกองทุน", "Fund balance", Unit::Baht),
    label(
        "contributions_12m",
        "เงินออมสมาชิก 12 เดือน",
        "Member contributions, 12 months",
        Unit::Baht,
    ),
    label(
        "income_12m",
        "รายรับ 12 เดือน",
        "Income, 12 months",
        Unit::Baht,
    ),
    label(
        "benefits_12m",
        "สวัสดิการที่จ่าย 12 เดือน",
        "Benefits paid, 12 months",
        Unit::Baht,
    ),
    label(
        "admin_costs_12m",
        "ค่าบริหาร 12 เดือน",
        "Administration, 12 months",
        Unit::Baht,
    ),
    label(
        "combined_ratio",
        "สวัสดิการและค่าบริหารต่อรายรับ",
        "Benefits and administration per income",
        Unit::Percent,
    ),
    label("reserve_months", "เงินกองทุนพอจ่ายได้", "Reserve", Unit::Months),
    label(
        "admin_share",
        "สัดส่วนค่าบริหาร",
        "Administration share",
        Unit::Percent,
    ),
    label(
        "self_reliance",
        "การพึ่งตนเอง",
        "Self-reliance",
        Unit::Percent,
    ),
    label(
        "elderly_share",
        "สัดส่วนผู้สูงอายุ",
        "Elderly share",
        Unit::Percent,
    ),
    label(
        "net_growth",
        "สมาชิกเพิ่มสุทธิ",
        "Net member growth",
        Unit::Percent,
    ),
    label("drop_out", "สมาชิกลาออก", "Drop-out", Unit::Percent),
    label("risk", "ระดับความเสี่ยง", "Risk", Unit::None),
    label("reasons", "เหตุผล", "Reasons", Unit::None),
    label("revision", "ฉบับแก้ไข", "Revision", Unit::None),
    label("on_time", "ส่งตรงเวลา", "On time", Unit::None),
    label("source", "แหล่งข้อมูล", "Source", Unit::None),
];

/// The label of a column, if it has one.
pub fn column(name: &str) -> Option<&'static Label> {
    COLUMNS.iter().find(|l| l.column == name)
}

/// A column's heading in `lang`: its label with its unit, or its name when it has no label.
pub fn heading(name: &str, lang: Lang) -> String {
    let Some(l) = column(name) else {
        return name.to_string();
    };
    let text = match lang {
        Lang::Th => l.th,
        Lang::En => l.en,
    };
    match l.unit.words(lang) {
        "" => text.to_string(),
        unit => format!("{text} ({unit})"),
    }
}

/// The words for a coded value of a column (`state` `no_fund` → "ไม่มีกองทุน"), if it has them.
pub fn value_words(column: &str, value: &str, lang: Lang) -> Option<String> {
    let pick = |th: &'static str, en: &'static str| {
        Some(match lang {
            Lang::Th => th,
            Lang::En => en,
        })
    };
    let words = match (column, value) {
        ("state", "value") => pick("มีข้อมูล", "reported"),
        ("state", "no_report") => pick("ไม่ส่งรายงาน", "no report"),
        ("state", "no_fund") => pick("ไม่มีกองทุน", "no fund"),
        ("full_coverage", "reached") => pick("ครบ 100% แล้ว", "reached"),
        ("full_coverage", "by_year") => pick("ครบในปีที่ระบุ", "by the year given"),
        ("full_coverage", "not_at_this_rate") => pick("ไม่ครบด้วยอัตรานี้", "not at this rate"),
        ("full_coverage", "unknown") => pick("ไม่ทราบ", "unknown"),
        ("risk", "low") => pick("ต่ำ", "low"),
        ("risk", "watch") => pick("เฝ้าระวัง", "watch"),
        ("risk", "high") => pick("สูง", "high"),
        ("level", "country") => pick("ประเทศ", "country"),
        ("level", "region") => pick("ภาค", "region"),
        ("level", "province") => pick("จังหวัด", "province"),
        ("level", "district") => pick("อำเภอ", "district"),
        ("level", "subdistrict") => pick("ตำบล", "tambon"),
        ("on_time", "true") => pick("ตรงเวลา", "on time"),
        ("on_time", "false") => pick("ล่าช้า", "late"),
        ("kind", kind) => {
            let kind = FundKind::from_label(kind).ok()?;
            return Some(match lang {
                Lang::Th => kind.label_th().to_string(),
                Lang::En => kind.label_en(),
            });
        }
        _ => None,
    }?;
    Some(words.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_carry_their_unit_once_and_unknown_columns_keep_their_name() {
        assert_eq!(heading("coverage", Lang::Th), "สัดส่วนสมาชิกต่อประชากร (%)");
        assert_eq!(heading("coverage", Lang::En), "Membership coverage (%)");
        assert_eq!(
            heading("shortfall_state", Lang::En),
            "State's shortfall (baht)"
        );
        assert_eq!(
            heading("funds_high_risk", Lang::Th),
            "กองทุนความเสี่ยงสูง (กองทุน)"
        );
        assert_eq!(heading("code", Lang::Th), "รหัสพื้นที่");
        assert_eq!(heading("made_up", Lang::Th), "made_up");
        let mut seen = std::collections::HashSet::new();
        for l in COLUMNS {
            assert!(seen.insert(l.column), "{} twice", l.column);
            assert!(!l.th.is_empty() && !l.en.is_empty());
        }
    }

    #[test]
    fn coded_values_have_words() {
        assert_eq!(
            value_words("state", "no_fund", Lang::Th).as_deref(),
            Some("ไม่มีกองทุน")
        );
        assert_eq!(
            value_words("full_coverage", "not_at_this_rate", Lang::En).as_deref(),
            Some("not at this rate")
        );
        assert_eq!(
            value_words("kind", "one_baht_savings", Lang::Th).as_deref(),
            Some(FundKind::OneBahtSavings.label_th())
        );
        assert_eq!(
            value_words("kind", "elderly_fund", Lang::En).as_deref(),
            Some("Elderly fund")
        );
        assert_eq!(value_words("state", "other", Lang::Th), None);
        assert_eq!(value_words("name_th", "no_fund", Lang::Th), None);
    }
}
