//! Checks for imported unit-grid polygons (longitude/latitude degrees), and
//! the area measures the topology checks elsewhere build on.
//!
//! Checking never modifies anything; [`repair`] and [`repair_raw`] exist for
//! importers that were explicitly asked to fix the simple cases.
//!
//! Ring closure can only be checked on raw coordinates: `geo_types::Polygon`
//! closes its rings on construction, so an unclosed ring is invisible once a
//! polygon exists. Importers should therefore run [`check_raw_polygon`] (or
//! [`check_ring`]) on the coordinate lists they parsed, before building
//! polygons.

use std::fmt;

use geo::algorithm::validation::{InvalidMultiPolygon, InvalidPolygon, RingRole as GeoRingRole};
use geo::orient::Direction;
use geo::winding_order::WindingOrder;
use geo::{
    BooleanOps, GeodesicArea, LineString, MultiPolygon, Orient, Polygon, RemoveRepeatedPoints,
    Validation, Winding,
};
use serde::{Deserialize, Serialize};

/// A ring whose signed area is below this fraction of its squared bounding
/// box diagonal counts as enclosing no area. The bound is relative so it
/// behaves the same for a 10 m and a 10 km grid, and far above rounding
/// noise (~1e-16) yet far below any real sliver.
const ZERO_AREA_RELATIVE: f64 = 1e-12;

/// Which ring of a polygon a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingRole {
    /// The outer boundary.
    Exterior,
    /// The hole at this index (0-based, in input order).
    Interior(usize),
}

impl fmt::Display for RingRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exterior => f.write_str("exterior ring"),
            Self::Interior(i) => write!(f, "interior ring {i}"),
        }
    }
}

impl From<GeoRingRole> for RingRole {
    fn from(role: GeoRingRole) -> Self {
        match role {
            GeoRingRole::Exterior => Self::Exterior,
            GeoRingRole::Interior(i) => Self::Interior(i),
        }
    }
}

/// One thing wrong with a ring or polygon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The polygon has no rings at all.
    #[error("polygon has no exterior ring")]
    NoExteriorRing,
    /// A coordinate is NaN or infinite.
    #[error("coordinate {index} is not a finite number")]
    NonFiniteCoordinate {
        /// Index of the coordinate within its ring.
        index: usize,
    },
    /// Fewer than three distinct points: the ring cannot enclose an area.
    #[error("ring has {distinct} distinct points; at least 3 are needed")]
    TooFewPoints {
        /// Number of distinct coordinates in the ring.
        distinct: usize,
    },
    /// The last coordinate differs from the first.
    #[error("ring is not closed: its last coordinate differs from its first")]
    UnclosedRing,
    /// Two non-adjacent edges of the ring touch or cross.
    #[error("ring intersects itself")]
    SelfIntersection,
    /// The ring has (numerically) no area, e.g. all points on one line.
    #[error("ring encloses zero area")]
    ZeroArea,
    /// The ring is wound against the OGC/GeoJSON convention, i.e. its signed
    /// area is negative: exteriors must run counter-clockwise, holes
    /// clockwise. Shapefiles use the opposite convention, so this is common
    /// and [`repair`] fixes it.
    #[error(
        "ring is wound the wrong way (negative signed area): exteriors must be \
         counter-clockwise and holes clockwise"
    )]
    WrongOrientation,
    /// A hole that is not inside the exterior ring.
    #[error("hole is not inside the exterior ring")]
    HoleOutsideExterior,
    /// Two rings of the same polygon share an edge or overlap.
    #[error("ring intersects {other} along a line or an area")]
    RingsIntersect {
        /// The other ring.
        other: RingRole,
    },
    /// Two polygons of a multi-polygon overlap.
    #[error("polygon overlaps polygon {other} of the same multi-polygon")]
    OverlapsPolygon {
        /// Index of the other polygon.
        other: usize,
    },
    /// Two polygons of a multi-polygon share an edge; they should be one
    /// polygon.
    #[error("polygon shares an edge with polygon {other} of the same multi-polygon")]
    SharesEdgeWithPolygon {
        /// Index of the other polygon.
        other: usize,
    },
}

impl Problem {
    /// Whether [`repair`] / [`repair_raw`] can fix this problem.
    ///
    /// ```
    /// use cityloop_geo::validate::Problem;
    /// assert!(Problem::UnclosedRing.is_repairable());
    /// assert!(!Problem::SelfIntersection.is_repairable());
    /// ```
    #[must_use]
    pub fn is_repairable(&self) -> bool {
        matches!(self, Self::UnclosedRing | Self::WrongOrientation)
    }
}

/// A [`Problem`] located in a polygon: which polygon (0 for a single
/// polygon, the index within a multi-polygon otherwise) and which ring
/// (`None` when it concerns the polygon as a whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub struct Finding {
    /// Index of the polygon.
    pub polygon: usize,
    /// The ring concerned, if any.
    pub ring: Option<RingRole>,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "polygon {}", self.polygon)?;
        if let Some(ring) = self.ring {
            write!(f, ", {ring}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// Twice the signed area (shoelace) of a ring taken as closed, relative to
/// its first point so that large longitudes do not cancel away precision.
fn doubled_signed_area(coords: &[(f64, f64)]) -> f64 {
    let Some(&(x0, y0)) = coords.first() else {
        return 0.0;
    };
    let n = coords.len();
    (0..n)
        .map(|i| {
            let (ax, ay) = coords[i];
            let (bx, by) = coords[(i + 1) % n];
            (ax - x0) * (by - y0) - (bx - x0) * (ay - y0)
        })
        .sum()
}

fn is_zero_area(coords: &[(f64, f64)]) -> bool {
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in coords {
        min_x = min_x.min(x);
        min_y = min_y.min(y);
        max_x = max_x.max(x);
        max_y = max_y.max(y);
    }
    let diagonal_sq = (max_x - min_x).powi(2) + (max_y - min_y).powi(2);
    (doubled_signed_area(coords) / 2.0).abs() <= ZERO_AREA_RELATIVE * diagonal_sq
}

fn distinct_points(coords: &[(f64, f64)]) -> usize {
    let mut sorted = coords.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    sorted.dedup();
    sorted.len()
}

fn closed_line_string(coords: &[(f64, f64)]) -> LineString<f64> {
    // `LineString` does not close itself; `Polygon::new` would, but checking
    // goes through a bare ring here.
    let mut ring: LineString<f64> = coords.iter().copied().collect();
    ring.close();
    ring
}

/// Checks one ring given as raw coordinates, exactly as parsed.
///
/// Reports non-finite coordinates (and then stops, since geometry on NaN is
/// meaningless), too few distinct points (likewise), a missing closing
/// coordinate, self-intersection and zero area. Orientation is not checked
/// because a lone ring does not know whether it is an exterior or a hole;
/// [`check_raw_polygon`] does that.
///
/// ```
/// use cityloop_geo::validate::{check_ring, Problem};
/// let square = [(120.0, 31.0), (120.001, 31.0), (120.001, 31.001), (120.0, 31.001), (120.0, 31.0)];
/// assert!(check_ring(&square).is_empty());
/// assert_eq!(check_ring(&square[..4]), vec![Problem::UnclosedRing]);
/// let bow_tie = [(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)];
/// assert!(check_ring(&bow_tie).contains(&Problem::SelfIntersection));
/// ```
#[must_use]
pub fn check_ring(coords: &[(f64, f64)]) -> Vec<Problem> {
    let non_finite: Vec<Problem> = coords
        .iter()
        .enumerate()
        .filter(|(_, (x, y))| !x.is_finite() || !y.is_finite())
        .map(|(index, _)| Problem::NonFiniteCoordinate { index })
        .collect();
    if !non_finite.is_empty() {
        return non_finite;
    }

    let mut problems = Vec::new();
    let distinct = distinct_points(coords);
    if distinct < 3 {
        problems.push(Problem::TooFewPoints { distinct });
        return problems;
    }
    if coords.first() != coords.last() {
        problems.push(Problem::UnclosedRing);
    }

    let ring = closed_line_string(coords).remove_repeated_points();
    let as_polygon = Polygon::new(ring, vec![]);
    if as_polygon
        .validation_errors()
        .iter()
        .any(|e| matches!(e, InvalidPolygon::SelfIntersection(_)))
    {
        problems.push(Problem::SelfIntersection);
    }
    if is_zero_area(coords) {
        problems.push(Problem::ZeroArea);
    }
    problems
}

fn ring_coords(ring: &LineString<f64>) -> Vec<(f64, f64)> {
    ring.0.iter().map(|c| (c.x, c.y)).collect()
}

/// Checks a polygon given as raw rings (`rings[0]` the exterior, the rest
/// holes — GeoJSON order), before it is turned into a `geo::Polygon`.
///
/// Runs [`check_ring`] on every ring; if the rings are sound apart from
/// closure, also checks orientation and how rings relate (holes inside the
/// exterior, rings not overlapping or sharing edges). Every finding has
/// `polygon: 0`.
///
/// ```
/// use cityloop_geo::validate::{check_raw_polygon, Problem, RingRole};
/// // Clockwise and unclosed, as often found in shapefile exports.
/// let exterior = vec![(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0)];
/// let found: Vec<_> = check_raw_polygon(&[exterior]).into_iter().map(|f| f.problem).collect();
/// assert_eq!(found, vec![Problem::UnclosedRing, Problem::WrongOrientation]);
/// ```
#[must_use]
pub fn check_raw_polygon<R: AsRef<[(f64, f64)]>>(rings: &[R]) -> Vec<Finding> {
    let Some((exterior, holes)) = rings.split_first() else {
        return vec![Finding {
            polygon: 0,
            ring: None,
            problem: Problem::NoExteriorRing,
        }];
    };
    let mut findings = Vec::new();
    let mut sound = true;
    for (role, coords) in std::iter::once((RingRole::Exterior, exterior.as_ref())).chain(
        holes
            .iter()
            .enumerate()
            .map(|(i, h)| (RingRole::Interior(i), h.as_ref())),
    ) {
        for problem in check_ring(coords) {
            sound &= problem == Problem::UnclosedRing;
            findings.push(Finding {
                polygon: 0,
                ring: Some(role),
                problem,
            });
        }
    }
    if sound {
        let polygon = Polygon::new(
            closed_line_string(exterior.as_ref()),
            holes
                .iter()
                .map(|h| closed_line_string(h.as_ref()))
                .collect(),
        );
        findings.extend(polygon_level_findings(&polygon, 0));
    }
    findings
}

/// Orientation and ring-relation checks, meaningful only once every ring is
/// individually sound (geo warns that earlier errors obscure later ones).
fn polygon_level_findings(polygon: &Polygon<f64>, index: usize) -> Vec<Finding> {
    let finding = |ring, problem| Finding {
        polygon: index,
        ring,
        problem,
    };
    let mut findings = Vec::new();
    if polygon.exterior().winding_order() == Some(WindingOrder::Clockwise) {
        findings.push(finding(Some(RingRole::Exterior), Problem::WrongOrientation));
    }
    for (i, hole) in polygon.interiors().iter().enumerate() {
        if hole.winding_order() == Some(WindingOrder::CounterClockwise) {
            findings.push(finding(
                Some(RingRole::Interior(i)),
                Problem::WrongOrientation,
            ));
        }
    }
    for error in polygon.validation_errors() {
        match error {
            InvalidPolygon::InteriorRingNotContainedInExteriorRing(ring) => {
                findings.push(finding(Some(ring.into()), Problem::HoleOutsideExterior));
            }
            InvalidPolygon::IntersectingRingsOnALine(a, b)
            | InvalidPolygon::IntersectingRingsOnAnArea(a, b) => findings.push(finding(
                Some(a.into()),
                Problem::RingsIntersect { other: b.into() },
            )),
            // Ring-level errors were reported by `check_ring` already.
            InvalidPolygon::TooFewPointsInRing(_)
            | InvalidPolygon::SelfIntersection(_)
            | InvalidPolygon::NonFiniteCoord(..) => {}
        }
    }
    findings
}

fn check_polygon_at(polygon: &Polygon<f64>, index: usize) -> Vec<Finding> {
    let mut findings = Vec::new();
    let rings = std::iter::once((RingRole::Exterior, polygon.exterior())).chain(
        polygon
            .interiors()
            .iter()
            .enumerate()
            .map(|(i, h)| (RingRole::Interior(i), h)),
    );
    for (role, ring) in rings {
        findings.extend(
            check_ring(&ring_coords(ring))
                .into_iter()
                .map(|problem| Finding {
                    polygon: index,
                    ring: Some(role),
                    problem,
                }),
        );
    }
    if findings.is_empty() {
        findings = polygon_level_findings(polygon, index);
    }
    findings
}

/// Checks an already-built polygon: everything [`check_raw_polygon`] checks
/// except closure, which `geo_types` has already forced.
///
/// ```
/// use cityloop_geo::validate::check_polygon;
/// use geo::polygon;
/// let p = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)];
/// assert!(check_polygon(&p).is_empty());
/// ```
#[must_use]
pub fn check_polygon(polygon: &Polygon<f64>) -> Vec<Finding> {
    check_polygon_at(polygon, 0)
}

/// Checks every polygon of a multi-polygon (findings carry the polygon's
/// index) and, when all are individually valid, that no two overlap or
/// share an edge.
///
/// ```
/// use cityloop_geo::validate::{check_multi_polygon, Problem};
/// use geo::{polygon, MultiPolygon};
/// let a = polygon![(x: 0.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 2.0), (x: 0.0, y: 2.0)];
/// let b = polygon![(x: 1.0, y: 1.0), (x: 3.0, y: 1.0), (x: 3.0, y: 3.0), (x: 1.0, y: 3.0)];
/// let found = check_multi_polygon(&MultiPolygon::new(vec![a, b]));
/// assert_eq!(found[0].problem, Problem::OverlapsPolygon { other: 1 });
/// ```
#[must_use]
pub fn check_multi_polygon(multi: &MultiPolygon<f64>) -> Vec<Finding> {
    let mut findings: Vec<Finding> = multi
        .iter()
        .enumerate()
        .flat_map(|(i, p)| check_polygon_at(p, i))
        .collect();
    if !findings.is_empty() {
        return findings;
    }
    for error in multi.validation_errors() {
        let (a, problem) = match error {
            InvalidMultiPolygon::ElementsOverlaps(a, b) => {
                (a.0, Problem::OverlapsPolygon { other: b.0 })
            }
            InvalidMultiPolygon::ElementsTouchOnALine(a, b) => {
                (a.0, Problem::SharesEdgeWithPolygon { other: b.0 })
            }
            // Per-polygon errors were reported above.
            InvalidMultiPolygon::InvalidPolygon(..) => continue,
        };
        findings.push(Finding {
            polygon: a,
            ring: None,
            problem,
        });
    }
    findings
}

/// Fixes the simple problems of a polygon: drops consecutive duplicate
/// points, closes rings (implicit in `geo_types`), and orients the exterior
/// counter-clockwise and holes clockwise. Anything else — self-intersection,
/// too few points, zero area, misplaced holes — is returned as the first
/// remaining [`Finding`] rather than guessed at.
///
/// ```
/// use cityloop_geo::validate::{check_polygon, repair};
/// use geo::polygon;
/// let clockwise = polygon![(x: 0.0, y: 0.0), (x: 0.0, y: 1.0), (x: 0.0, y: 1.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0)];
/// assert!(!check_polygon(&clockwise).is_empty());
/// let fixed = repair(&clockwise)?;
/// assert!(check_polygon(&fixed).is_empty());
/// assert_eq!(fixed.exterior().0.len(), 5);
/// # Ok::<(), cityloop_geo::validate::Finding>(())
/// ```
///
/// # Errors
/// The first [`Finding`] that remains after the simple fixes.
pub fn repair(polygon: &Polygon<f64>) -> Result<Polygon<f64>, Finding> {
    let deduplicated = Polygon::new(
        polygon.exterior().remove_repeated_points(),
        polygon
            .interiors()
            .iter()
            .map(RemoveRepeatedPoints::remove_repeated_points)
            .collect(),
    );
    let repaired = deduplicated.orient(Direction::Default);
    match check_polygon(&repaired).into_iter().next() {
        None => Ok(repaired),
        Some(finding) => Err(finding),
    }
}

/// [`repair`] for raw rings (`rings[0]` exterior): closes unclosed rings and
/// then applies the same fixes.
///
/// ```
/// use cityloop_geo::validate::{check_polygon, repair_raw};
/// let open_clockwise = vec![(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0)];
/// let fixed = repair_raw(&[open_clockwise])?;
/// assert!(check_polygon(&fixed).is_empty());
/// # Ok::<(), cityloop_geo::validate::Finding>(())
/// ```
///
/// # Errors
/// [`Problem::NoExteriorRing`] for an empty list, the first non-finite
/// coordinate, or the first [`Finding`] that [`repair`] cannot fix.
pub fn repair_raw<R: AsRef<[(f64, f64)]>>(rings: &[R]) -> Result<Polygon<f64>, Finding> {
    let Some((exterior, holes)) = rings.split_first() else {
        return Err(Finding {
            polygon: 0,
            ring: None,
            problem: Problem::NoExteriorRing,
        });
    };
    let roles = std::iter::once(RingRole::Exterior).chain((0..).map(RingRole::Interior));
    for (role, ring) in roles.zip(rings) {
        if let Some(index) = ring
            .as_ref()
            .iter()
            .position(|(x, y)| !x.is_finite() || !y.is_finite())
        {
            return Err(Finding {
                polygon: 0,
                ring: Some(role),
                problem: Problem::NonFiniteCoordinate { index },
            });
        }
    }
    let polygon = Polygon::new(
        closed_line_string(exterior.as_ref()),
        holes
            .iter()
            .map(|h| closed_line_string(h.as_ref()))
            .collect(),
    );
    repair(&polygon)
}

/// Area in square metres on the WGS84 ellipsoid (Karney's geodesic
/// algorithm via geo's `GeodesicArea`; CGCS2000's ellipsoid differs
/// negligibly). Holes are subtracted; winding does not matter.
///
/// ```
/// use cityloop_geo::validate::area_m2;
/// use geo::polygon;
/// // About 100 m × 100 m at 30°N.
/// let p = polygon![
///     (x: 120.0, y: 30.0), (x: 120.0010364, y: 30.0),
///     (x: 120.0010364, y: 30.0009021), (x: 120.0, y: 30.0009021),
/// ];
/// assert!((area_m2(&p) - 10_000.0).abs() < 50.0);
/// ```
#[must_use]
pub fn area_m2(polygon: &Polygon<f64>) -> f64 {
    // Karney's unsigned area of a clockwise ring is the rest of the Earth,
    // so orient first and take the signed value.
    polygon
        .orient(Direction::Default)
        .geodesic_area_signed()
        .abs()
}

/// Sum of [`area_m2`] over the polygons of a multi-polygon.
///
/// ```
/// use cityloop_geo::validate::multi_polygon_area_m2;
/// assert_eq!(multi_polygon_area_m2(&geo::MultiPolygon::new(vec![])), 0.0);
/// ```
#[must_use]
pub fn multi_polygon_area_m2(multi: &MultiPolygon<f64>) -> f64 {
    multi.iter().map(area_m2).sum()
}

/// Area in square metres shared by two (multi-)polygons, via geo's
/// `BooleanOps::intersection`. Inputs should be valid; results for invalid
/// input are whatever the boolean-operation engine makes of it. The engine
/// snaps coordinates to an integer grid scaled to the inputs' combined
/// extent: for neighbouring grids the relative error is around 1e-9, for
/// inputs spread over a degree around 1e-6. Compare against a tolerance,
/// never against zero or another exact value.
///
/// ```
/// use cityloop_geo::validate::{area_m2, overlap_area_m2};
/// use geo::polygon;
/// let a = polygon![(x: 120.0, y: 30.0), (x: 120.002, y: 30.0), (x: 120.002, y: 30.001), (x: 120.0, y: 30.001)];
/// let b = polygon![(x: 120.001, y: 30.0), (x: 120.003, y: 30.0), (x: 120.003, y: 30.001), (x: 120.001, y: 30.001)];
/// let half = overlap_area_m2(&a, &b);
/// assert!((half / area_m2(&a) - 0.5).abs() < 1e-3);
/// ```
#[must_use]
pub fn overlap_area_m2(
    a: &impl BooleanOps<Scalar = f64>,
    b: &impl BooleanOps<Scalar = f64>,
) -> f64 {
    multi_polygon_area_m2(&a.intersection(b))
}

#[cfg(test)]
mod tests;
