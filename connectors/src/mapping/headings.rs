//! Recognising a column heading from its key words.
//!
//! Clerks head the same column many ways: `จำนวนสมาชิก (คน)`, `สมาชิกทั้งหมด`, `Total members`,
//! `สมาชิกลาออก/เสียชีวิต`. Rather than a list of exact strings, a heading is folded (case, spaces,
//! punctuation, Thai digits), cut into known words (longest first; Thai has no spaces), and each word
//! carries key words ([`Key`]): `ลาออก` and `left` both carry [`Key::Left`]. Filler words (`บาท`,
//! `ทั้งหมด`, `จำนวน`, `total`…) carry none. A heading with any text that is not a known word is not
//! recognised: it is reported, never guessed.
//!
//! Each field has a [`Rule`]: the key words it needs (one of several sets) and those it tolerates
//! beside them. A heading means field F when its key words contain one of F's needed sets and nothing
//! F does not tolerate (`สมาชิก` + `ลาออก` + `เสียชีวิต` → members_left, which tolerates "member" and
//! "died"; not benefits_death, which tolerates neither). When two fields fit, the one whose needed
//! key words contain the other's wins (`สวัสดิการ` + `ผู้สูงอายุ` is benefits_elderly, not
//! members_elderly); otherwise the heading is ambiguous. A heading that no field fits whole but that
//! holds the needed key words of two fields (`เงินสมทบรัฐ/ท้องถิ่น`) is ambiguous too: it mixes two
//! fields in one column.

use std::sync::OnceLock;

use welfare_model::thai::ascii_digits;

use super::Target;

/// A key word: one idea a heading can carry, in any language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Key {
    Code,
    /// `id`, `no`, `เลขที่`: an identifier only with a word saying of what (`fund id`).
    Number,
    Fund,
    Tambon,
    Name,
    Month,
    /// The month alone, as a number or a name (with a year column).
    MonthNumber,
    Period,
    Year,
    Report,
    Date,
    Submit,
    Member,
    Remaining,
    Child,
    Working,
    Elderly,
    Joined,
    Left,
    Death,
    /// Matching money (`สมทบ`): from whom is said by another key word.
    Matching,
    /// Members' own savings or contributions (`สัจจะ`, `เงินออม`, `contributions`).
    Savings,
    State,
    Local,
    Grant,
    Income,
    OtherIncome,
    Other,
    Benefit,
    Birth,
    Sickness,
    Education,
    Occupation,
    Disability,
    Disaster,
    Pension,
    Recipient,
    NonCash,
    Service,
    Admin,
    Cost,
    Money,
    Balance,
}

/// A set of key words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Keys(u64);

impl Keys {
    const fn of(keys: &[Key]) -> Keys {
        let mut bits = 0u64;
        let mut i = 0;
        while i < keys.len() {
            bits |= 1u64 << (keys[i] as u8);
            i += 1;
        }
        Keys(bits)
    }
    fn contains(self, other: Keys) -> bool {
        self.0 & other.0 == other.0
    }
    fn union(self, other: Keys) -> Keys {
        Keys(self.0 | other.0)
    }
    fn is_empty(self) -> bool {
        self.0 == 0
    }
    fn has(self, key: Key) -> bool {
        self.contains(Keys::of(&[key]))
    }
}

use Key::*;

/// Words and the key words they carry. Written as clerks write them; folded (like headings) before
/// matching. An empty set marks a filler word.
const WORDS: &[(&str, &[Key])] = &[
    // Fillers: units, totals, "number of", "at month end", small joining words.
    ("บาท", &[]),
    ("฿", &[]),
    ("คน", &[]),
    ("ราย", &[]),
    ("ทั้งหมด", &[]),
    ("ทั้งสิ้น", &[]),
    ("รวม", &[]),
    ("จำนวน", &[]),
    ("ยอด", &[]),
    ("ณ", &[]),
    ("สิ้นเดือน", &[]),
    ("ปลายเดือน", &[]),
    ("ประจำเดือน", &[]),
    ("เดือนนี้", &[]),
    ("ใน", &[]),
    ("ที่", &[]),
    ("จาก", &[]),
    ("ของ", &[]),
    ("และ", &[]),
    ("หรือ", &[]),
    ("ได้รับ", &[]),
    ("จ่าย", &[]),
    ("total", &[]),
    ("amount", &[]),
    ("baht", &[]),
    ("thb", &[]),
    ("persons", &[]),
    ("people", &[]),
    ("count", &[]),
    ("number", &[]),
    ("num", &[]),
    ("of", &[]),
    ("the", &[]),
    ("from", &[]),
    ("for", &[]),
    ("by", &[]),
    ("and", &[]),
    ("or", &[]),
    ("in", &[]),
    ("this", &[]),
    ("paid", &[]),
    ("received", &[]),
    ("yyyymm", &[]),
    // Identifiers and names.
    ("รหัส", &[Code]),
    ("เลขที่", &[Number]),
    ("หมายเลข", &[Number]),
    ("code", &[Code]),
    ("id", &[Number]),
    ("no", &[Number]),
    ("กองทุน", &[Fund]),
    ("องค์กร", &[Fund]),
    ("fund", &[Fund]),
    ("org", &[Fund]),
    ("organisation", &[Fund]),
    ("organization", &[Fund]),
    // `ตำบล` alone usually heads the tambon's name: only `รหัสตำบล` (or English `tambon`) is the code.
    ("ตำบล", &[Tambon]),
    ("subdistrict", &[Tambon]),
    ("tambon", &[Tambon, Code]),
    ("geocode", &[Tambon, Code]),
    ("ชื่อ", &[Name]),
    ("name", &[Name]),
    // Months and dates.
    ("เดือน", &[Month]),
    ("month", &[Month]),
    ("เดือนที่", &[MonthNumber]),
    ("เดือนที่รายงาน", &[Month, Report]),
    ("mon", &[MonthNumber]),
    ("mm", &[MonthNumber]),
    ("งวด", &[Period]),
    ("period", &[Period]),
    ("ym", &[Period]),
    ("ปี", &[Year]),
    ("พศ", &[Year]),
    ("คศ", &[Year]),
    ("year", &[Year]),
    ("yr", &[Year]),
    ("yyyy", &[Year]),
    ("รายงาน", &[Report]),
    ("report", &[Report]),
    ("reported", &[Report, Date]),
    ("วันที่", &[Date]),
    ("วัน", &[Date]),
    ("เวลา", &[Date]),
    ("date", &[Date]),
    ("time", &[Date]),
    ("at", &[Date]),
    ("ส่ง", &[Submit]),
    ("submitted", &[Submit]),
    ("submit", &[Submit]),
    ("updated", &[Submit]),
    ("modified", &[Submit]),
    // Members.
    ("สมาชิก", &[Member]),
    ("member", &[Member]),
    ("members", &[Member]),
    ("membership", &[Member]),
    ("คงเหลือ", &[Remaining]),
    ("เหลือ", &[Remaining]),
    ("remaining", &[Remaining]),
    ("closing", &[Remaining]),
    ("end", &[Remaining]),
    ("เด็ก", &[Child]),
    ("เยาวชน", &[Child]),
    ("อายุ014ปี", &[Child]),
    ("014ปี", &[Child]),
    ("child", &[Child]),
    ("children", &[Child]),
    ("วัยทำงาน", &[Working]),
    ("อายุ1559ปี", &[Working]),
    ("1559ปี", &[Working]),
    ("working", &[Working]),
    ("workingage", &[Working]),
    ("ผู้สูงอายุ", &[Elderly]),
    ("สูงอายุ", &[Elderly]),
    ("ผู้สูงวัย", &[Elderly]),
    ("อายุ60ปีขึ้นไป", &[Elderly]),
    ("60ปีขึ้นไป", &[Elderly]),
    ("elderly", &[Elderly]),
    ("elder", &[Elderly]),
    ("senior", &[Elderly]),
    ("seniors", &[Elderly]),
    ("เข้าใหม่", &[Joined]),
    ("ใหม่", &[Joined]),
    ("เข้า", &[Joined]),
    ("สมัคร", &[Joined]),
    ("joined", &[Joined]),
    ("join", &[Joined]),
    ("joiners", &[Joined]),
    ("new", &[Joined]),
    ("ลาออก", &[Left]),
    ("ออก", &[Left]),
    ("พ้นสภาพ", &[Left]),
    ("left", &[Left]),
    ("leaving", &[Left]),
    ("leavers", &[Left]),
    ("out", &[Left]),
    ("exits", &[Left]),
    ("resigned", &[Left]),
    ("เสียชีวิต", &[Death]),
    ("ตาย", &[Death]),
    ("ฌาปนกิจ", &[Death]),
    ("death", &[Death]),
    ("deaths", &[Death]),
    ("died", &[Death]),
    ("deceased", &[Death]),
    ("funeral", &[Death]),
    // Money in.
    ("สมทบ", &[Matching]),
    ("matching", &[Matching]),
    ("สัจจะ", &[Savings]),
    ("ออม", &[Savings]),
    ("savings", &[Savings]),
    ("contribution", &[Savings]),
    ("contributions", &[Savings]),
    ("รัฐ", &[State]),
    ("รัฐบาล", &[State]),
    ("พอช", &[State]),
    ("codi", &[State]),
    ("state", &[State]),
    ("government", &[State]),
    ("อปท", &[Local]),
    ("ท้องถิ่น", &[Local]),
    ("อบต", &[Local]),
    ("อบจ", &[Local]),
    ("เทศบาล", &[Local]),
    ("local", &[Local]),
    ("localgovernment", &[Local]),
    ("municipality", &[Local]),
    ("อุดหนุน", &[Grant]),
    ("grant", &[Grant]),
    ("grants", &[Grant]),
    ("รายได้", &[Income]),
    ("รายรับ", &[Income]),
    ("income", &[Income]),
    ("revenue", &[Income]),
    ("บริจาค", &[OtherIncome]),
    ("ดอกเบี้ย", &[OtherIncome]),
    ("donation", &[OtherIncome]),
    ("donations", &[OtherIncome]),
    ("interest", &[OtherIncome]),
    ("อื่น", &[Other]),
    ("other", &[Other]),
    ("others", &[Other]),
    // Money out.
    ("สวัสดิการ", &[Benefit]),
    // "Members' welfare": the members are whom it is paid to, not a head count.
    ("สวัสดิการสมาชิก", &[Benefit]),
    ("ช่วยเหลือ", &[Benefit]),
    ("benefit", &[Benefit]),
    ("benefits", &[Benefit]),
    ("welfare", &[Benefit]),
    ("memberbenefits", &[Benefit]),
    ("เกิด", &[Birth]),
    ("แรกเกิด", &[Birth]),
    ("คลอด", &[Birth]),
    ("คลอดบุตร", &[Birth]),
    ("birth", &[Birth]),
    ("births", &[Birth]),
    ("maternity", &[Birth]),
    ("เจ็บป่วย", &[Sickness]),
    ("ป่วย", &[Sickness]),
    ("นอนโรงพยาบาล", &[Sickness]),
    ("โรงพยาบาล", &[Sickness]),
    ("รักษาพยาบาล", &[Sickness]),
    ("sickness", &[Sickness]),
    ("sick", &[Sickness]),
    ("illness", &[Sickness]),
    ("medical", &[Sickness]),
    ("hospital", &[Sickness]),
    ("การศึกษา", &[Education]),
    ("ศึกษา", &[Education]),
    ("ทุนการศึกษา", &[Education]),
    ("education", &[Education]),
    ("scholarship", &[Education]),
    ("scholarships", &[Education]),
    ("อาชีพ", &[Occupation]),
    ("ส่งเสริมอาชีพ", &[Occupation]),
    ("occupation", &[Occupation]),
    ("occupational", &[Occupation]),
    ("livelihood", &[Occupation]),
    ("พิการ", &[Disability]),
    ("ผู้พิการ", &[Disability]),
    ("คนพิการ", &[Disability]),
    ("disability", &[Disability]),
    ("disabled", &[Disability]),
    ("ภัยพิบัติ", &[Disaster]),
    ("ภัย", &[Disaster]),
    ("disaster", &[Disaster]),
    ("disasters", &[Disaster]),
    ("บำนาญ", &[Pension]),
    ("pension", &[Pension]),
    ("pensions", &[Pension]),
    ("ผู้ได้รับ", &[Recipient]),
    ("ผู้รับ", &[Recipient]),
    ("recipient", &[Recipient]),
    ("recipients", &[Recipient]),
    ("beneficiary", &[Recipient]),
    ("beneficiaries", &[Recipient]),
    ("ไม่เป็นตัวเงิน", &[NonCash]),
    ("ไม่ใช่ตัวเงิน", &[NonCash]),
    ("noncash", &[NonCash]),
    ("inkind", &[NonCash]),
    ("บริการ", &[Service]),
    ("service", &[Service]),
    ("services", &[Service]),
    ("บริหาร", &[Admin]),
    ("บริหารจัดการ", &[Admin]),
    ("admin", &[Admin]),
    ("administration", &[Admin]),
    ("administrative", &[Admin]),
    ("management", &[Admin]),
    ("overhead", &[Admin]),
    ("ค่า", &[Cost]),
    ("ค่าใช้จ่าย", &[Cost]),
    ("รายจ่าย", &[Cost]),
    ("cost", &[Cost]),
    ("costs", &[Cost]),
    ("expense", &[Cost]),
    ("expenses", &[Cost]),
    ("เงิน", &[Money]),
    ("money", &[Money]),
    ("balance", &[Balance]),
];

/// What a field's heading needs (any one of `needs`) and what else it may carry.
#[derive(Debug)]
struct Rule {
    field: &'static str,
    needs: &'static [Keys],
    allows: Keys,
}

const fn rule(field: &'static str, needs: &'static [Keys], allows: &[Key]) -> Rule {
    Rule {
        field,
        needs,
        allows: Keys::of(allows),
    }
}

const fn k(keys: &[Key]) -> Keys {
    Keys::of(keys)
}

/// What a paid benefit's heading may carry beside its kind.
const PAID: &[Key] = &[Benefit, Money, Cost];

const RULES: &[Rule] = &[
    rule("fund_id", &[k(&[Code]), k(&[Fund])], &[Fund, Code, Number]),
    rule(
        "tambon",
        &[k(&[Tambon, Code]), k(&[Tambon, Number])],
        &[Code, Number],
    ),
    rule(
        "period",
        &[k(&[Period]), k(&[Month])],
        &[Period, Month, Year, Report],
    ),
    rule("year", &[k(&[Year])], &[]),
    rule("month", &[k(&[MonthNumber])], &[Month]),
    rule(
        "reported_at",
        &[k(&[Report, Date]), k(&[Submit, Date])],
        &[Report, Submit],
    ),
    rule("members_total", &[k(&[Member])], &[Remaining]),
    rule("members_children", &[k(&[Child])], &[Member, Remaining]),
    rule("members_working", &[k(&[Working])], &[Member, Remaining]),
    rule("members_elderly", &[k(&[Elderly])], &[Member, Remaining]),
    rule("members_joined", &[k(&[Joined])], &[Member]),
    // Leaving includes dying: `ลาออก/เสียชีวิต` is one count.
    rule("members_left", &[k(&[Left])], &[Member, Death]),
    rule(
        "contrib_members",
        &[k(&[Savings]), k(&[Matching, Member])],
        &[Money, Member, Matching],
    ),
    rule("grant_state", &[k(&[State])], &[Money, Matching, Grant]),
    rule("grant_local", &[k(&[Local])], &[Money, Matching, Grant]),
    rule(
        "income_other",
        &[k(&[Income, Other]), k(&[OtherIncome])],
        &[Money, Income, Other],
    ),
    rule(
        "benefits_birth",
        &[k(&[Birth])],
        &[Benefit, Money, Cost, Child],
    ),
    rule("benefits_sickness", &[k(&[Sickness])], PAID),
    rule("benefits_death", &[k(&[Death])], PAID),
    rule(
        "benefits_elderly",
        &[k(&[Benefit, Elderly]), k(&[Pension])],
        &[Benefit, Money, Cost, Elderly],
    ),
    rule("benefits_education", &[k(&[Education])], PAID),
    rule("benefits_occupation", &[k(&[Occupation])], PAID),
    rule("benefits_disability", &[k(&[Disability])], PAID),
    rule("benefits_disaster", &[k(&[Disaster])], PAID),
    rule("benefits_other", &[k(&[Benefit, Other])], PAID),
    rule("beneficiaries", &[k(&[Recipient])], &[Benefit, Member]),
    rule("services_noncash", &[k(&[NonCash])], &[Benefit, Service]),
    rule("admin_costs", &[k(&[Admin])], &[Cost, Money]),
    rule(
        "fund_balance",
        &[k(&[Balance]), k(&[Remaining]), k(&[Fund, Money])],
        &[Fund, Money, Balance, Remaining],
    ),
];

/// Folds text for key-word matching: lower case, ASCII digits, without spaces, punctuation, a
/// byte-order mark, zero-width spaces or the repetition mark `ๆ` (`อื่นๆ` is `อื่น`).
fn fold_keywords(text: &str) -> String {
    ascii_digits(text)
        .to_lowercase()
        .chars()
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(
                    c,
                    '_' | '.'
                        | '-'
                        | '–'
                        | '—'
                        | '/'
                        | '\\'
                        | '('
                        | ')'
                        | '['
                        | ']'
                        | '{'
                        | '}'
                        | ':'
                        | ','
                        | ';'
                        | '*'
                        | '#'
                        | '"'
                        | '\''
                        | 'ๆ'
                        | '\u{feff}'
                        | '\u{200b}'
                        | '\u{200c}'
                        | '\u{200d}'
                )
        })
        .collect()
}

/// The folded words, longest first (so `ยอด` never cuts `ยอดเงิน…` short of a longer word).
fn words() -> &'static [(String, Keys)] {
    static WORDS_FOLDED: OnceLock<Vec<(String, Keys)>> = OnceLock::new();
    WORDS_FOLDED.get_or_init(|| {
        let mut out: Vec<(String, Keys)> = WORDS
            .iter()
            .map(|(w, keys)| (fold_keywords(w), Keys::of(keys)))
            .collect();
        out.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        out
    })
}

/// The key words of a heading, or `None` when part of it is no known word.
fn keys_of(heading: &str) -> Option<Keys> {
    let folded = fold_keywords(heading);
    let mut rest = folded.as_str();
    let mut keys = Keys::default();
    while !rest.is_empty() {
        let (word, k) = words().iter().find(|(w, _)| rest.starts_with(w.as_str()))?;
        keys = keys.union(*k);
        rest = &rest[word.len()..];
    }
    Some(keys)
}

/// The largest of a rule's needed sets that the heading holds.
fn needed(rule: &Rule, keys: Keys) -> Option<Keys> {
    rule.needs
        .iter()
        .filter(|n| keys.contains(**n))
        .max_by_key(|n| n.0.count_ones())
        .copied()
}

/// Keeps the candidates whose needed key words no other candidate's strictly contain.
fn most_specific(candidates: Vec<(&'static str, Keys)>) -> Vec<&'static str> {
    candidates
        .iter()
        .filter(|(_, mine)| {
            !candidates
                .iter()
                .any(|(_, other)| other != mine && other.contains(*mine))
        })
        .map(|(field, _)| *field)
        .collect()
}

/// The field a heading means by its key words: `Ok(None)` when it means none, `Err(fields)` (two or
/// more canonical names) when it could mean several.
pub(super) fn recognise(heading: &str) -> Result<Option<Target>, Vec<&'static str>> {
    let Some(keys) = keys_of(heading) else {
        return Ok(None);
    };
    if keys.is_empty() {
        return Ok(None);
    }
    let fitting: Vec<(&'static str, Keys)> = RULES
        .iter()
        .filter_map(|r| {
            let n = needed(r, keys)?;
            n.union(r.allows).contains(keys).then_some((r.field, n))
        })
        .collect();
    let fields = if fitting.is_empty() {
        // No field explains the whole heading. An identifier or a name of something else
        // (`รหัสสมาชิก`, `ชื่อกองทุน`) is just not a figure; two fields' key words in one heading are
        // two fields in one column.
        if keys.has(Code) || keys.has(Number) || keys.has(Name) {
            return Ok(None);
        }
        let partial: Vec<(&'static str, Keys)> = RULES
            .iter()
            .filter_map(|r| needed(r, keys).map(|n| (r.field, n)))
            .collect();
        let fields = most_specific(partial);
        if fields.len() < 2 {
            return Ok(None);
        }
        fields
    } else {
        most_specific(fitting)
    };
    match fields.as_slice() {
        [one] => Ok(Target::by_name(one)),
        _ => Err(fields),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_a_target_and_every_word_folds_to_itself() {
        for r in RULES {
            assert!(Target::by_name(r.field).is_some(), "{}", r.field);
        }
        for (w, _) in WORDS {
            assert!(!fold_keywords(w).is_empty(), "{w:?} folds to nothing");
        }
    }

    /// Real headings as clerks and bookkeeping programs write them.
    const TABLE: &[(&str, Option<&str>)] = &[
        // The headings of issue 10.
        ("สมาชิกลาออก/เสียชีวิต", Some("members_left")),
        ("ยอดเงินกองทุนคงเหลือ", Some("fund_balance")),
        // Fund id.
        ("รหัสกองทุน", Some("fund_id")),
        ("รหัส", Some("fund_id")),
        ("Fund Code", Some("fund_id")),
        ("FUND_ID", Some("fund_id")),
        ("fundcode", Some("fund_id")),
        ("ID กองทุน", Some("fund_id")),
        ("org_code", Some("fund_id")),
        ("เลขที่กองทุน", Some("fund_id")),
        ("ชื่อกองทุน", None),
        ("รหัสสมาชิก", None),
        ("id", None),
        ("No.", None),
        ("record_id", None),
        ("tambon_id", Some("tambon")),
        // Tambon.
        ("รหัสตำบล", Some("tambon")),
        ("ตำบล (รหัส)", Some("tambon")),
        ("tambon", Some("tambon")),
        ("Tambon Code", Some("tambon")),
        ("tambon_code", Some("tambon")),
        ("Subdistrict code", Some("tambon")),
        ("geocode", Some("tambon")),
        ("ตำบล", None),
        ("ชื่อตำบล", None),
        ("tambon name", None),
        // Months.
        ("เดือน", Some("period")),
        ("งวด", Some("period")),
        ("เดือน/ปี", Some("period")),
        ("งวดเดือน", Some("period")),
        ("Month of report", Some("period")),
        ("report month", Some("period")),
        ("YearMonth", Some("period")),
        ("ประจำเดือน", None),
        ("เดือนที่รายงาน", Some("period")),
        ("ปี", Some("year")),
        ("ปี พ.ศ.", Some("year")),
        ("Yr", Some("year")),
        ("เดือนที่", Some("month")),
        ("mm", Some("month")),
        ("วันที่รายงาน", Some("reported_at")),
        ("วันที่ส่งรายงาน", Some("reported_at")),
        ("Report Date", Some("reported_at")),
        ("submitted_at", Some("reported_at")),
        ("updated_at", Some("reported_at")),
        ("วันที่", None),
        // Members.
        ("จำนวนสมาชิก", Some("members_total")),
        ("จำนวนสมาชิก (คน)", Some("members_total")),
        ("สมาชิกทั้งหมด", Some("members_total")),
        ("สมาชิก", Some("members_total")),
        ("สมาชิกคงเหลือ ณ สิ้นเดือน", Some("members_total")),
        ("Total Members", Some("members_total")),
        ("member_count", Some("members_total")),
        ("สมาชิกเด็ก", Some("members_children")),
        ("สมาชิกอายุ 0-14 ปี", Some("members_children")),
        ("Children", Some("members_children")),
        ("สมาชิกวัยทำงาน", Some("members_working")),
        ("สมาชิก อายุ 15–59 ปี", Some("members_working")),
        ("Working age", Some("members_working")),
        ("สมาชิกผู้สูงอายุ", Some("members_elderly")),
        ("ผู้สูงอายุ (คน)", Some("members_elderly")),
        ("สมาชิกอายุ 60 ปีขึ้นไป", Some("members_elderly")),
        ("Elderly members", Some("members_elderly")),
        ("สมาชิกเข้าใหม่", Some("members_joined")),
        ("สมาชิกใหม่ในเดือนนี้", Some("members_joined")),
        ("New Members", Some("members_joined")),
        ("joined", Some("members_joined")),
        ("สมาชิกลาออก", Some("members_left")),
        ("จำนวนสมาชิกที่ลาออก", Some("members_left")),
        ("ลาออก/ตาย", Some("members_left")),
        ("สมาชิกที่ลาออกหรือเสียชีวิต", Some("members_left")),
        ("Members Left", Some("members_left")),
        ("left members", Some("members_left")),
        ("สมาชิกพ้นสภาพ", Some("members_left")),
        // Money in.
        ("เงินสมทบสมาชิก", Some("contrib_members")),
        ("เงินสมทบจากสมาชิก (บาท)", Some("contrib_members")),
        ("เงินสัจจะ", Some("contrib_members")),
        ("เงินออมสมาชิก", Some("contrib_members")),
        ("Member contributions", Some("contrib_members")),
        ("เงินสมทบจากรัฐ", Some("grant_state")),
        ("เงินสมทบจากรัฐ (บาท)", Some("grant_state")),
        ("เงินสมทบ พอช.", Some("grant_state")),
        ("เงินอุดหนุนจากรัฐบาล", Some("grant_state")),
        ("State grant", Some("grant_state")),
        ("CODI", Some("grant_state")),
        ("เงินสมทบจาก อปท.", Some("grant_local")),
        ("เงินสมทบท้องถิ่น", Some("grant_local")),
        ("เงินสมทบจากเทศบาล", Some("grant_local")),
        ("Local government", Some("grant_local")),
        ("เงินสมทบ", None),
        ("รายได้อื่น", Some("income_other")),
        ("รายได้อื่นๆ (บาท)", Some("income_other")),
        ("เงินบริจาค", Some("income_other")),
        ("Other income", Some("income_other")),
        ("รายได้รวม", None),
        // Money out.
        ("สวัสดิการเกิด", Some("benefits_birth")),
        ("สวัสดิการเด็กแรกเกิด", Some("benefits_birth")),
        ("คลอดบุตร", Some("benefits_birth")),
        ("สวัสดิการเจ็บป่วย", Some("benefits_sickness")),
        ("ค่ารักษาพยาบาล", Some("benefits_sickness")),
        ("นอนโรงพยาบาล", Some("benefits_sickness")),
        ("สวัสดิการเสียชีวิต", Some("benefits_death")),
        ("เสียชีวิต", Some("benefits_death")),
        ("ฌาปนกิจ", Some("benefits_death")),
        ("Death benefits", Some("benefits_death")),
        ("สวัสดิการสมาชิกเสียชีวิต", Some("benefits_death")),
        ("สวัสดิการผู้สูงอายุ", Some("benefits_elderly")),
        ("บำนาญ", Some("benefits_elderly")),
        ("Elderly benefits", Some("benefits_elderly")),
        ("สวัสดิการการศึกษา", Some("benefits_education")),
        ("ทุนการศึกษา", Some("benefits_education")),
        ("สวัสดิการส่งเสริมอาชีพ", Some("benefits_occupation")),
        ("สวัสดิการผู้พิการ", Some("benefits_disability")),
        ("คนพิการ", Some("benefits_disability")),
        ("สวัสดิการภัยพิบัติ", Some("benefits_disaster")),
        ("สวัสดิการอื่นๆ", Some("benefits_other")),
        ("Other benefits", Some("benefits_other")),
        ("รวมสวัสดิการ", None),
        ("สวัสดิการเด็ก", None),
        ("จำนวนผู้รับสวัสดิการ", Some("beneficiaries")),
        ("ผู้ได้รับสวัสดิการ (ราย)", Some("beneficiaries")),
        ("Beneficiaries", Some("beneficiaries")),
        ("สวัสดิการที่ไม่เป็นตัวเงิน", Some("services_noncash")),
        ("Non-cash services", Some("services_noncash")),
        ("ค่าบริหารจัดการ", Some("admin_costs")),
        ("ค่าใช้จ่ายบริหาร (บาท)", Some("admin_costs")),
        ("Administrative costs", Some("admin_costs")),
        ("ค่าใช้จ่าย", None),
        ("ยอดเงินกองทุน", Some("fund_balance")),
        ("เงินกองทุนคงเหลือ", Some("fund_balance")),
        ("ยอดคงเหลือ", Some("fund_balance")),
        ("เงินคงเหลือ", Some("fund_balance")),
        ("Fund Balance", Some("fund_balance")),
        ("closing balance", Some("fund_balance")),
        ("กองทุนคงเหลือ", Some("fund_balance")),
        // Not figures, or nothing known.
        ("หมายเหตุ", None),
        ("Remarks", None),
        ("ลำดับ", None),
        ("รวม", None),
        ("total", None),
        ("ยอดยกมา", None),
        ("ผู้บันทึก", None),
    ];

    #[test]
    fn heading_table() {
        assert!(TABLE.len() >= 60);
        let mut wrong = Vec::new();
        for (heading, want) in TABLE {
            let got = recognise(heading).map(|t| t.map(Target::name));
            if got != Ok(*want) {
                wrong.push(format!("{heading}: got {got:?}, want {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn odd_spacing_case_digits_and_marks_do_not_matter() {
        for heading in [
            "  จำนวน สมาชิก  ",
            "\u{feff}จำนวนสมาชิก",
            "จำนวน\u{200b}สมาชิก",
            "TOTAL_MEMBERS",
            "total.members",
            "Members (persons)",
        ] {
            assert_eq!(
                recognise(heading),
                Ok(Target::by_name("members_total")),
                "{heading}"
            );
        }
        assert_eq!(
            recognise("สมาชิกอายุ ๖๐ ปีขึ้นไป"),
            Ok(Target::by_name("members_elderly"))
        );
    }

    #[test]
    fn a_heading_for_two_fields_is_ambiguous() {
        assert_eq!(
            recognise("เงินสมทบรัฐ/ท้องถิ่น"),
            Err(vec!["grant_state", "grant_local"])
        );
        assert_eq!(
            recognise("สมาชิกเสียชีวิต"),
            Err(vec!["members_total", "benefits_death"])
        );
        assert_eq!(
            recognise("สวัสดิการเจ็บป่วย/เสียชีวิต"),
            Err(vec!["benefits_sickness", "benefits_death"])
        );
    }
}
