//! Deterministic synthetic cities for cityloop, a digital urban-management (数字城管) platform.
//!
//! [`generate`] lays out a district the way GB/T 30428 describes one: a road network of
//! arterials, secondary roads, branch roads and lanes; unit grids (单元网格) of about 10 000 m²
//! bounded by roads and walls and tiling the district exactly; communities (社区) and streets
//! (街道) as contiguous groups of grids; door-plate addresses along every road; responsibility
//! grids (责任网格) for inspectors. [`components`] then streams the components (部件) —
//! manhole covers, lamps, trees, bins, signals … — with realistic spacings, about 100 per grid.
//!
//! Everything is a pure function of the [`CitySpec`]: no I/O, no clock, no global state.
//!
//! ```
//! let spec = cityloop_synth::CitySpec { grids_target: 300, ..cityloop_synth::CitySpec::county_town() };
//! let city = cityloop_synth::generate(&spec);
//! assert!(city.grids.iter().all(|g| g.code.len() == 14));
//! let first = cityloop_synth::components(&spec, &city).next().unwrap();
//! assert_eq!(first.id.len(), 16);
//! ```
//!
//! # How the city is built
//! 1. A lattice of ~500 m cells (jittered sizes and nodes) is bent by low-frequency waves,
//!    rotated, crossed by a meandering river row and trimmed to a blobby outline; its lines are
//!    the arterials, with bridges over every second or third crossing and a few diagonals
//!    through lattice nodes. A few cells are parks.
//! 2. The lattice becomes a half-edge mesh. Secondary roads cut each cell at a per-column and
//!    per-row fraction, so they continue straight across arterials.
//! 3. Every block is cut recursively, across its long axis and with ±11° of jitter, into pieces
//!    holding whole numbers of grids (0.85–1.2 × 10 000 m² per block, larger in parks and on
//!    the river); the first cuts of big blocks become branch roads, some smaller ones lanes.
//!    Cuts end on existing vertices within 3 m, and a cut that ends on a neighbour's side
//!    inserts the vertex into both faces: the grids tile exactly.
//! 4. Blocks are grouped into streets and communities by recursive coordinate bisection plus a
//!    connectivity repair. A community that would exceed 99 grids (the serial has two digits)
//!    is split in two, so a street may get more communities than `communities_per_street`:
//!    the spec's names go to communities 001, 002, …, the rest are generated.
//! 5. Outlines are traced from the mesh, roads chained from labelled edges and named, door
//!    plates placed along both sides of every road.
//!
//! # Determinism
//! Output depends only on the spec. Randomness comes from ChaCha8 streams keyed by seed and
//! by what is being built. The geometry uses `sin`, `exp` and friends from the platform's
//! math library, so a different OS or libm may differ in the last bits of coordinates.
//!
//! # Component ids
//! The 16-digit id's serial has six digits per county and class, so a district holds at most
//! 999 999 components of one class. The realistic densities keep every class below 9.5 per
//! grid (under 950 000 in the 100 000-grid megacity); a class that reaches the limit (say with
//! a density multiplier of 2 on the megacity) stops there.

#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod build;
mod components;
mod geom;
mod layout;
mod locate;
mod mesh;
mod model;
mod names;
mod partition;
mod proj;
mod rng;
mod spec;
mod subdivide;

pub use components::MAX_SERIAL;
pub use model::{
    Address, AreaShape, COMPONENT_CLASSES, City, Component, ComponentClass, ComponentState,
    GridShape, LandUse, OwnerKind, ResponsibilityGrid, Road, RoadKind, component_class,
};
pub use proj::LocalProjection;
pub use spec::{
    CitySpec, ComponentDensity, DEFAULT_CENTRE, DEMO_COMMUNITIES, DEMO_STREETS,
    MAX_GRIDS_PER_COMMUNITY, SpecError, StreetSpec,
};

/// Generates the city (everything except components). Does not validate the spec: out-of-range
/// sizes are clamped and codes are built from `district_code` as given; see [`try_generate`].
pub fn generate(spec: &CitySpec) -> City {
    build::generate(spec)
}

/// [`CitySpec::validate`], then [`generate`].
pub fn try_generate(spec: &CitySpec) -> Result<City, SpecError> {
    spec.validate()?;
    Ok(generate(spec))
}

/// Streams the components of a city generated from `spec`. Ids are assigned in stream order,
/// per class; a class stops at [`MAX_SERIAL`] (the 6-digit serial is exhausted), which the
/// default densities never reach.
pub fn components<'a>(spec: &'a CitySpec, city: &'a City) -> impl Iterator<Item = Component> + 'a {
    components::ComponentStream::new(spec, city)
}

/// The projection used between metres and lon/lat for a spec's centre.
pub fn projection(spec: &CitySpec) -> LocalProjection {
    LocalProjection::new(spec.centre)
}
