//! Zoom-dependent simplification of grid polygons for map display.
//!
//! The tolerance follows the Web-Mercator (EPSG:3857) tile pyramid used by
//! Amap, Baidu, Tianditu and OSM basemaps, 256-pixel tiles:
//!
//! ```text
//! metres_per_pixel(z, φ) = 2π · 6 378 137 · cos φ / (256 · 2^z)
//!                        ≈ 156 543.034 · cos φ / 2^z
//! tolerance_deg          = TOLERANCE_PX · metres_per_pixel(z, φ) / (π · 6 378 137 / 180)
//!                        = TOLERANCE_PX · 360 · cos φ / (256 · 2^z)
//! ```
//!
//! φ is the latitude of the polygon's bounding-box centre. The metres are
//! turned into degrees along a meridian of the Web-Mercator sphere. A
//! screen pixel spans `360 / (256 · 2^z)` degrees of longitude and (locally)
//! `cos φ` times that of latitude, so the tolerance never exceeds
//! [`TOLERANCE_PX`] pixels in either direction, and Ramer-Douglas-Peucker
//! can run directly on longitude/latitude.

use geo::{BoundingRect, MultiPolygon, Polygon, Simplify};

use crate::validate::{Problem, check_polygon};

/// Web-Mercator sphere radius (the WGS84 semi-major axis).
pub const WEB_MERCATOR_RADIUS_M: f64 = 6_378_137.0;
/// Edge length of a basemap tile in pixels.
pub const TILE_SIZE_PX: f64 = 256.0;
/// Largest displacement, in screen pixels, that simplification may cause.
/// Half a pixel keeps shared grid edges visually coincident.
pub const TOLERANCE_PX: f64 = 0.5;

/// Ground metres covered by one screen pixel at `zoom` and latitude `lat`
/// (degrees).
///
/// ```
/// use cityloop_geo::simplify::metres_per_pixel;
/// assert!((metres_per_pixel(0, 0.0) - 156_543.033_928).abs() < 1e-3);
/// assert!((metres_per_pixel(16, 60.0) - 1.194_329).abs() < 1e-6);
/// ```
#[must_use]
pub fn metres_per_pixel(zoom: u8, lat: f64) -> f64 {
    2.0 * std::f64::consts::PI * WEB_MERCATOR_RADIUS_M * lat.to_radians().cos()
        / (TILE_SIZE_PX * 2_f64.powi(i32::from(zoom)))
}

/// The Ramer-Douglas-Peucker tolerance in degrees for `zoom` at latitude
/// `lat`; see the module documentation for the formula.
///
/// ```
/// use cityloop_geo::simplify::tolerance_degrees;
/// // Half a pixel at zoom 0 on the equator is half of 360/256 degrees.
/// assert!((tolerance_degrees(0, 0.0) - 0.703_125).abs() < 1e-12);
/// ```
#[must_use]
pub fn tolerance_degrees(zoom: u8, lat: f64) -> f64 {
    TOLERANCE_PX * metres_per_pixel(zoom, lat)
        / (std::f64::consts::PI * WEB_MERCATOR_RADIUS_M / 180.0)
}

/// Simplifies a lon/lat polygon for display at `zoom`.
///
/// Never returns an invalid polygon: if simplification introduces any
/// problem [`check_polygon`] detects (self-intersection, collapsed ring, hole
/// escaping its exterior, flipped ring) the original is returned unchanged.
/// An original with problems other than [`Problem::WrongOrientation`] is
/// returned unchanged too — repairing is the importer's job, not the
/// renderer's. Wrongly wound (e.g. shapefile-style) polygons are simplified
/// and keep their winding.
///
/// ```
/// use cityloop_geo::simplify::simplify_for_zoom;
/// use geo::{LineString, Polygon};
/// // A ~1 km square whose southern edge zigzags by ~11 cm every 10 m.
/// let mut ring = Vec::new();
/// for i in 0..100 {
///     let t = f64::from(i) * 1e-4;
///     ring.push((120.0 + t, 31.0 + if i % 2 == 0 { 0.0 } else { 1e-6 }));
/// }
/// ring.extend([(120.01, 31.0), (120.01, 31.009), (120.0, 31.009)]);
/// let polygon = Polygon::new(LineString::from(ring), vec![]);
/// // Zoom 14: ~2 m per half pixel, the zigzag disappears.
/// assert_eq!(simplify_for_zoom(&polygon, 14).exterior().0.len(), 5);
/// // Zoom 22: ~1.6 cm per half pixel, it stays.
/// assert_eq!(simplify_for_zoom(&polygon, 22).exterior().0.len(), polygon.exterior().0.len());
/// ```
#[must_use]
pub fn simplify_for_zoom(polygon: &Polygon<f64>, zoom: u8) -> Polygon<f64> {
    let Some(bounds) = polygon.bounding_rect() else {
        return polygon.clone();
    };
    let before = check_polygon(polygon);
    // Wrong winding is harmless for drawing (shapefile imports have it), so
    // only other problems make the input "invalid" here.
    if before
        .iter()
        .any(|f| f.problem != Problem::WrongOrientation)
    {
        return polygon.clone();
    }
    let simplified = polygon.simplify(tolerance_degrees(zoom, bounds.center().y));
    // Simplification keeps ring order, so equal findings mean it introduced
    // nothing new: no collapse, crossing, escaped hole or flipped ring.
    if check_polygon(&simplified) == before {
        simplified
    } else {
        polygon.clone()
    }
}

/// [`simplify_for_zoom`] applied to each polygon; each falls back to its
/// original on its own.
///
/// ```
/// use cityloop_geo::simplify::simplify_multi_for_zoom;
/// let empty = geo::MultiPolygon::<f64>::new(vec![]);
/// assert!(simplify_multi_for_zoom(&empty, 12).0.is_empty());
/// ```
#[must_use]
pub fn simplify_multi_for_zoom(multi: &MultiPolygon<f64>, zoom: u8) -> MultiPolygon<f64> {
    multi
        .iter()
        .map(|polygon| simplify_for_zoom(polygon, zoom))
        .collect()
}

#[cfg(test)]
mod tests {
    use geo::{LineString, Polygon, Validation, polygon};

    use super::*;
    use crate::validate::area_m2;

    fn wiggly_square(amplitude: f64) -> Polygon<f64> {
        let mut ring = Vec::new();
        for i in 0..200 {
            let t = f64::from(i) * 5e-5;
            let wiggle = if i % 2 == 0 { 0.0 } else { amplitude };
            ring.push((120.0 + t, 31.0 + wiggle));
        }
        ring.extend([(120.01, 31.0), (120.01, 31.009), (120.0, 31.009)]);
        Polygon::new(LineString::from(ring), vec![])
    }

    #[test]
    fn tolerance_halves_per_zoom_level() {
        for zoom in 0..22 {
            let ratio = tolerance_degrees(zoom, 31.0) / tolerance_degrees(zoom + 1, 31.0);
            assert!((ratio - 2.0).abs() < 1e-12);
        }
        assert!(tolerance_degrees(255, 31.0) > 0.0);
    }

    #[test]
    fn simplification_is_bounded_by_the_tolerance() {
        let polygon = wiggly_square(2e-6);
        for zoom in [10, 14, 16, 18, 20] {
            let simplified = simplify_for_zoom(&polygon, zoom);
            assert!(check_polygon(&simplified).is_empty());
            let n = simplified.exterior().0.len();
            assert!(n <= polygon.exterior().0.len());
            // Area drift is at most the tolerance band along the edge.
            let tolerance_m = TOLERANCE_PX * metres_per_pixel(zoom, 31.0);
            let drift = (area_m2(&simplified) - area_m2(&polygon)).abs();
            assert!(drift <= tolerance_m * 1_000.0 * 1.1, "zoom {zoom}: {drift}");
        }
        // Wiggles of ~0.2 m vanish at zoom 14 (~4 m per pixel) ...
        assert_eq!(simplify_for_zoom(&polygon, 14).exterior().0.len(), 5);
        // ... and survive at zoom 20 (~0.06 m per pixel).
        assert_eq!(
            simplify_for_zoom(&polygon, 20).exterior().0.len(),
            polygon.exterior().0.len()
        );
    }

    #[test]
    fn collapsing_polygon_falls_back_to_the_original() {
        // The exterior's southern edge bulges 0.0004° south and a hole sits
        // inside the bulge. At zoom 10 (tolerance ~0.0006°) RDP straightens
        // the edge, which would leave the hole outside: invalid.
        let exterior = vec![
            (120.0, 31.0),
            (120.005, 30.9996),
            (120.01, 31.0),
            (120.01, 31.01),
            (120.0, 31.01),
            (120.0, 31.0),
        ];
        let hole = vec![
            (120.0048, 30.9997),
            (120.0048, 30.9999),
            (120.0052, 30.9999),
            (120.0052, 30.9997),
            (120.0048, 30.9997),
        ];
        let polygon = Polygon::new(exterior.into(), vec![hole.into()]);
        assert!(
            check_polygon(&polygon).is_empty(),
            "{:?}",
            check_polygon(&polygon)
        );
        assert!(!polygon.simplify(tolerance_degrees(10, 31.0)).is_valid());
        assert_eq!(simplify_for_zoom(&polygon, 10), polygon);

        // A tiny triangle at zoom 0 would collapse to nothing.
        let tiny = polygon![(x: 120.0, y: 31.0), (x: 120.0001, y: 31.0), (x: 120.0, y: 31.0001)];
        let simplified = simplify_for_zoom(&tiny, 0);
        assert!(check_polygon(&simplified).is_empty());
        assert_eq!(simplified, tiny);
    }

    #[test]
    fn clockwise_input_is_simplified_and_stays_clockwise() {
        let ccw = wiggly_square(2e-6);
        let cw = Polygon::new(
            LineString::from(ccw.exterior().0.iter().rev().copied().collect::<Vec<_>>()),
            vec![],
        );
        let simplified = simplify_for_zoom(&cw, 14);
        assert_eq!(simplified.exterior().0.len(), 5);
        assert_eq!(
            problems_of(&simplified),
            vec![Problem::WrongOrientation],
            "winding kept"
        );
    }

    fn problems_of(polygon: &Polygon<f64>) -> Vec<Problem> {
        check_polygon(polygon)
            .into_iter()
            .map(|f| f.problem)
            .collect()
    }

    #[test]
    fn invalid_and_empty_input_is_returned_unchanged() {
        let bow_tie =
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0), (x: 0.0, y: 1.0)];
        assert_eq!(simplify_for_zoom(&bow_tie, 3), bow_tie);
        let empty = Polygon::new(LineString::<f64>::new(vec![]), vec![]);
        assert_eq!(simplify_for_zoom(&empty, 3), empty);
    }
}
