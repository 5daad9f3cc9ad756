//! Welfare Hub geometry.
//!
//! [`bundle`] reads and checks a geography bundle (areas, population by year, boundary polygons) in the
//! format of the Thailand bundle (see `docs/geography-bundle.md`). [`map`] turns its boundaries into
//! simplified, gap-free map layers per zoom and writes them as GeoJSON.

pub mod bundle;
pub mod map;

pub use bundle::{
    Area, Boundary, Bundle, BundleError, Location, Population, PopulationRow, Problem,
};
pub use map::{
    MapError, MapFeature, MapGeometry, MapLayer, ZoomParameters, write_feature_collection,
    zoom_parameters,
};
