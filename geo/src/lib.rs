//! Welfare Hub geometry.
//!
//! [`bundle`] reads and checks a geography bundle (areas, population by year, boundary polygons) in the
//! format of the Thailand bundle (see `docs/geography-bundle.md`). Map output (simplified layers joined to
//! indicator values) builds on it.

pub mod bundle;

pub use bundle::{
    Area, Boundary, Bundle, BundleError, Location, Population, PopulationRow, Problem,
};
