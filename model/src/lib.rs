//! The shared vocabulary of Welfare Hub (design section 2 and 4).
//!
//! Every crate imports these types; none redefines them. The crate stays light on purpose: it depends
//! on `arrow-schema` (not all of Arrow), `rust_decimal`, `chrono`, `serde` and `thiserror` only.

pub mod area;
pub mod assessment;
pub mod fund;
pub mod money;
pub mod period;
pub mod summary;
pub mod thai;

pub use area::{AreaCode, AreaCodeError, AreaRef, Level, Region};
pub use assessment::{Assessment, GovernanceLevel, Score};
pub use fund::{FundId, FundIdError, FundKind, Network, NetworkId};
pub use money::{MONEY_PRECISION, MONEY_SCALE, Money, MoneyError};
pub use period::{Period, PeriodError, bangkok};
pub use summary::{FieldKind, FieldUnit, Summary, SummaryField, summary_schema};
