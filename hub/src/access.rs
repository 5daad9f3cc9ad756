//! Who may do what (design section 7): deny by default. A request without a token is anonymous and
//! reads aggregates; a token carries a role and a scope. Only a SHA-256 hash of a token's secret is
//! stored: the secret is shown once, when the token is made.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use welfare_model::{AreaCode, FundId};

/// What a caller may do. Roles are ordered: each may do what the ones below it may, within its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// No token: aggregates only (indicators, maps, legends, the brief).
    Anonymous,
    /// Also fund-level figures, runs and quarantine.
    Viewer,
    /// One fund's monthly reports.
    FundClerk,
    /// Funds, networks, assessments and connectors whose areas lie in its provinces.
    ProvinceEditor,
    /// Everything, tokens and geography included.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Anonymous,
        Role::Viewer,
        Role::FundClerk,
        Role::ProvinceEditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Anonymous => "anonymous",
            Role::Viewer => "viewer",
            Role::FundClerk => "fund-clerk",
            Role::ProvinceEditor => "province-editor",
            Role::Admin => "admin",
        }
    }

    /// Whether a caller of this role may do what `needed` allows (scope aside). A fund clerk reads
    /// no more than anonymous callers beyond its own fund.
    pub fn covers(self, needed: Role) -> bool {
        match needed {
            Role::Anonymous => true,
            Role::Viewer => matches!(self, Role::Viewer | Role::ProvinceEditor | Role::Admin),
            Role::FundClerk => matches!(self, Role::FundClerk | Role::Admin),
            Role::ProvinceEditor => matches!(self, Role::ProvinceEditor | Role::Admin),
            Role::Admin => self == Role::Admin,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .filter(|r| *r != Role::Anonymous)
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "{s:?} is not a role: expected viewer, province-editor, fund-clerk or admin"
                )
            })
    }
}

/// Who is calling: the token's name, role and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name (`anonymous` without one), as the audit records it.
    pub name: String,
    pub role: Role,
    /// A province editor's provinces (2-digit codes).
    pub provinces: Vec<String>,
    /// A fund clerk's fund.
    pub fund: Option<FundId>,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller {
            name: "anonymous".into(),
            role: Role::Anonymous,
            provinces: Vec::new(),
            fund: None,
        }
    }

    /// The hub's own API token (`api.token_env`): an admin.
    pub fn configured_token() -> Caller {
        Caller {
            name: "api token".into(),
            role: Role::Admin,
            provinces: Vec::new(),
            fund: None,
        }
    }

    /// Whether the caller may edit what lies in `area`: an admin anywhere, a province editor in its
    /// provinces.
    pub fn may_edit(&self, area: &AreaCode) -> bool {
        match self.role {
            Role::Admin => true,
            Role::ProvinceEditor => self.provinces.iter().any(|p| p == area.province().as_str()),
            _ => false,
        }
    }

    /// Whether the caller may manage a thing serving `provinces` (a connector): an admin any, a
    /// province editor one whose provinces are all its own (a national one, serving none, is an
    /// admin's).
    pub fn may_manage(&self, provinces: &[String]) -> bool {
        match self.role {
            Role::Admin => true,
            Role::ProvinceEditor => {
                !provinces.is_empty() && provinces.iter().all(|p| self.provinces.contains(p))
            }
            _ => false,
        }
    }

    /// Whether the caller may read the fund-level detail of a thing serving `provinces` (a
    /// connector's runs and quarantine): a viewer or an admin any, an editor those it manages.
    pub fn may_read(&self, provinces: &[String]) -> bool {
        match self.role {
            Role::Viewer | Role::Admin => true,
            Role::ProvinceEditor => self.may_manage(provinces),
            _ => false,
        }
    }

    /// The provinces a read is limited to: `None` for every province (an admin or a viewer, whose
    /// reading is national), else the editor's.
    pub fn read_scope(&self) -> Option<&[String]> {
        match self.role {
            Role::ProvinceEditor => Some(&self.provinces),
            _ => None,
        }
    }

    /// The audit's actor.
    pub fn actor(&self) -> crate::store::Actor {
        crate::store::Actor {
            name: self.name.clone(),
            role: self.role.as_str().into(),
        }
    }
}

/// The prefix of every secret the hub makes, so that a leaked one is recognisable.
pub const SECRET_PREFIX: &str = "whub_";

/// A new token secret: the prefix and 32 random bytes in hex.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{SECRET_PREFIX}{}", hex(&bytes)))
}

/// What the store keeps of a secret: its SHA-256 in hex. Secrets are 256 random bits, so a plain
/// hash cannot be searched back; a slow password hash would only slow every request.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.trim().as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a province code as a token scope names it.
pub fn province_code(text: &str) -> Result<String, String> {
    match AreaCode::parse(text) {
        Ok(code) if code.level() == welfare_model::Level::Province => Ok(code.to_string()),
        _ => Err(format!(
            "{text:?} is not a province code: expected two digits (56 is Phayao)"
        )),
    }
}

/// A token to make, as the command line or an admin's request asks for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Who or what holds it, as the audit will name it (`phayao-network-editor`).
    pub name: String,
    /// `viewer`, `province-editor`, `fund-clerk` or `admin`.
    pub role: String,
    /// A province editor's provinces (2-digit codes).
    #[serde(default)]
    pub provinces: Vec<String>,
    /// A fund clerk's fund.
    #[serde(default)]
    pub fund: Option<String>,
    /// The last day it is accepted (`YYYY-MM-DD`); none for no expiry.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub expires: Option<chrono::NaiveDate>,
}

/// Why a token is not made.
#[derive(Debug, thiserror::Error)]
pub enum TokenRefusal {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Makes a token: checks its role and scope against the geography and the registry, stores the hash
/// of a new secret and audits it. Returns the record and the secret, which is never shown again.
pub async fn issue_token(
    store: &crate::store::Store,
    wanted: &NewToken,
    actor: &crate::store::Actor,
) -> Result<(crate::store::TokenRecord, String), TokenRefusal> {
    let invalid = |m: String| TokenRefusal::Invalid(m);
    let name = wanted.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(invalid(
            "a token's name is 1–100 characters without control characters".into(),
        ));
    }
    let role: Role = wanted.role.parse().map_err(invalid)?;
    let mut provinces = wanted
        .provinces
        .iter()
        .map(|p| province_code(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    provinces.sort();
    provinces.dedup();
    match (role, provinces.is_empty(), &wanted.fund) {
        (Role::ProvinceEditor, true, _) => {
            return Err(invalid(
                "a province-editor token names its provinces (--province 56)".into(),
            ));
        }
        (Role::ProvinceEditor, false, Some(_)) | (Role::Admin | Role::Viewer, _, Some(_)) => {
            return Err(invalid(format!("a {role} token names no fund")));
        }
        (Role::FundClerk, _, None) => {
            return Err(invalid(
                "a fund-clerk token names its fund (--fund ID)".into(),
            ));
        }
        (Role::FundClerk | Role::Admin | Role::Viewer, false, _) => {
            return Err(invalid(format!("a {role} token names no province")));
        }
        _ => {}
    }
    for p in &provinces {
        if !store.area_exists(p).await? {
            return Err(invalid(format!("province {p} is not in the geography")));
        }
    }
    if let Some(fund) = &wanted.fund
        && store.fund_registration(fund).await?.is_none()
    {
        return Err(invalid(format!("fund {fund:?} is not registered")));
    }
    let today = today_in_bangkok();
    if let Some(expires) = wanted.expires
        && expires < today
    {
        return Err(invalid(format!(
            "{expires} is past: a token expires today or later"
        )));
    }
    let secret = new_secret().map_err(|e| invalid(format!("no randomness for a secret: {e}")))?;
    let id = format!(
        "tok-{}",
        &secret_hash(&new_secret().map_err(|e| invalid(e.to_string()))?)[..12]
    );
    let record = crate::store::TokenRecord {
        id,
        name: name.to_string(),
        role: role.as_str().into(),
        provinces,
        fund_id: wanted.fund.clone(),
        created_at: crate::store::now_text(),
        created_by: actor.name.clone(),
        expires_on: wanted.expires,
        last_used_at: None,
        revoked_at: None,
    };
    store
        .create_token(&record, &secret_hash(&secret), actor)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Invalid(m) => TokenRefusal::Invalid(m),
            other => TokenRefusal::Store(other),
        })?;
    Ok((record, secret))
}

/// Why a bearer token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    Malformed,
    Unknown,
    Revoked,
    Expired(chrono::NaiveDate),
}

/// The caller a bearer secret names: the configured API token (an admin) or a stored token that is
/// neither revoked nor expired. Its use is recorded at most once a minute.
pub async fn authenticate(
    store: &crate::store::Store,
    configured: Option<&welfare_connectors::Secret>,
    secret: &str,
) -> Result<Result<Caller, Denied>, crate::store::StoreError> {
    let secret = secret.trim();
    if secret.is_empty() {
        return Ok(Err(Denied::Malformed));
    }
    if let Some(configured) = configured
        && constant_time_eq(configured.expose().as_bytes(), secret.as_bytes())
    {
        return Ok(Ok(Caller::configured_token()));
    }
    let Some(token) = store.token_by_hash(&secret_hash(secret)).await? else {
        return Ok(Err(Denied::Unknown));
    };
    if token.revoked_at.is_some() {
        return Ok(Err(Denied::Revoked));
    }
    let today = today_in_bangkok();
    if let Some(expires) = token.expires_on
        && expires < today
    {
        return Ok(Err(Denied::Expired(expires)));
    }
    let stale = token.last_used_at.as_deref().is_none_or(|t| {
        crate::store::parse_timestamp(t)
            .map(|t| chrono::Utc::now() - t > chrono::Duration::seconds(60))
            .unwrap_or(true)
    });
    if stale {
        store.touch_token(&token.id).await?;
    }
    let role: Role = token.role.parse().map_err(|e: String| {
        crate::store::StoreError::Corrupt(format!("token {}: {e}", token.id))
    })?;
    Ok(Ok(Caller {
        name: token.name,
        role,
        provinces: token.provinces,
        fund: token
            .fund_id
            .as_deref()
            .map(FundId::parse)
            .transpose()
            .map_err(|e| crate::store::StoreError::Corrupt(format!("token fund: {e}")))?,
    }))
}

/// Today in Bangkok: a token's expiry day is a Bangkok day.
fn today_in_bangkok() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&welfare_model::period::bangkok())
        .date_naive()
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_cover_what_is_below_them_and_clerks_only_their_own() {
        use Role::*;
        assert!(Admin.covers(ProvinceEditor) && Admin.covers(FundClerk) && Admin.covers(Viewer));
        assert!(ProvinceEditor.covers(Viewer) && !ProvinceEditor.covers(Admin));
        assert!(!ProvinceEditor.covers(FundClerk));
        assert!(!FundClerk.covers(Viewer) && FundClerk.covers(Anonymous));
        assert!(!Viewer.covers(ProvinceEditor) && !Anonymous.covers(Viewer));
        for role in Role::ALL.into_iter().skip(1) {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("anonymous".parse::<Role>().is_err());
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn editors_edit_only_their_provinces() {
        let editor = Caller {
            name: "phayao".into(),
            role: Role::ProvinceEditor,
            provinces: vec!["56".into()],
            fund: None,
        };
        assert!(editor.may_edit(&AreaCode::parse("560101").unwrap()));
        assert!(editor.may_edit(&AreaCode::parse("56").unwrap()));
        assert!(!editor.may_edit(&AreaCode::parse("900101").unwrap()));
        assert!(Caller::configured_token().may_edit(&AreaCode::parse("900101").unwrap()));
        assert!(!Caller::anonymous().may_edit(&AreaCode::parse("560101").unwrap()));
    }

    #[test]
    fn secrets_are_random_and_only_their_hash_is_kept() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX) && a.len() == SECRET_PREFIX.len() + 64);
        assert_eq!(secret_hash(&a), secret_hash(&format!(" {a}\n")));
        assert_ne!(secret_hash(&a), secret_hash(&b));
        assert_eq!(
            secret_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(province_code("56"), Ok("56".into()));
        assert!(province_code("560101").is_err());
    }
}
