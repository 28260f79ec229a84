//! CGCS2000 3° Gauss-Krüger (transverse Mercator) projection.
//!
//! The maths is proj4rs' port of PROJ's `tmerc` (Poder/Engsager, the same
//! algorithm PROJ uses by default), so results agree with PROJ, QGIS and
//! ArcGIS well below a millimetre across a 3° zone.
//!
//! Axis order here is GIS order: `x` is the easting, `y` the northing.
//! Chinese survey documents usually print them the other way round (X north,
//! Y east); callers that read such files must swap before calling.

use proj4rs::proj::Proj;
use proj4rs::transform::transform;

use super::CrsError;

/// Lowest 3° zone that touches China (central meridian 75°E, EPSG:4513/4534).
pub const MIN_ZONE: u8 = 25;
/// Highest 3° zone that touches China (central meridian 135°E, EPSG:4533/4554).
pub const MAX_ZONE: u8 = 45;
/// Easting of the central meridian before any zone prefix is added.
pub const FALSE_EASTING: f64 = 500_000.0;
/// Eastings that carry the zone number are `zone × ZONE_PREFIX_FACTOR + easting`.
pub const ZONE_PREFIX_FACTOR: f64 = 1_000_000.0;
/// Plain eastings are accepted and produced only within
/// `FALSE_EASTING ± MAX_EASTING_OFFSET` (exclusive). That is 4.5°–7.7° of
/// longitude either side of the central meridian at China's latitudes, far
/// beyond the 1.5° a zone is meant for, and keeps every plain easting below
/// [`ZONE_PREFIX_FACTOR`] so that prefix detection stays unambiguous.
pub const MAX_EASTING_OFFSET: f64 = 500_000.0;
/// Northings run from the equator (0) to the pole (~10 001 966 m); the
/// southern hemisphere is not supported.
pub const MAX_NORTHING: f64 = 10_002_000.0;

/// CGCS2000's ellipsoid is GRS80-like: a = 6 378 137 m, 1/f = 298.257222101.
/// It is spelled out so a change of proj4rs' built-in table cannot shift it.
const ELLIPSOID: &str = "+a=6378137 +rf=298.257222101";

/// Central meridian of a 3° zone, in degrees east.
///
/// ```
/// assert_eq!(cityloop_geo::crs::gauss_kruger::central_meridian(39), 117.0);
/// ```
#[must_use]
pub fn central_meridian(zone: u8) -> f64 {
    3.0 * f64::from(zone)
}

/// Rejects zones that do not cover any part of China, so a typo such as
/// `gk3:93` fails loudly instead of projecting to the other side of the globe.
pub(crate) fn check_zone(zone: u8) -> Result<(), CrsError> {
    if (MIN_ZONE..=MAX_ZONE).contains(&zone) {
        Ok(())
    } else {
        Err(CrsError::ZoneOutOfRange {
            zone: u32::from(zone),
        })
    }
}

fn projections(zone: u8) -> Result<(Proj, Proj), CrsError> {
    check_zone(zone)?;
    let geographic = Proj::from_proj_string(&format!("+proj=longlat {ELLIPSOID} +no_defs"))
        .map_err(|e| CrsError::Projection(e.to_string()))?;
    let projected = Proj::from_proj_string(&format!(
        "+proj=tmerc +lat_0=0 +lon_0={} +k=1 +x_0={FALSE_EASTING} +y_0=0 {ELLIPSOID} +units=m +no_defs",
        central_meridian(zone)
    ))
    .map_err(|e| CrsError::Projection(e.to_string()))?;
    Ok((geographic, projected))
}

/// Projects longitude/latitude (degrees) to `(easting, northing)` in metres,
/// without the zone prefix.
///
/// Points whose projection would leave the projected domain (see
/// [`MAX_EASTING_OFFSET`], [`MAX_NORTHING`]) are rejected rather than
/// projected: far from the central meridian the formula wraps around and
/// returns plausible-looking nonsense.
///
/// ```
/// use cityloop_geo::crs::gauss_kruger::forward;
/// let (x, y) = forward(39, 116.35, 39.95)?;
/// assert!((x - 444_453.318).abs() < 1e-3 && (y - 4_424_179.645).abs() < 1e-3);
/// # Ok::<(), cityloop_geo::crs::CrsError>(())
/// ```
///
/// # Errors
/// [`CrsError::ZoneOutOfRange`] for zones outside 25–45,
/// [`CrsError::OutsideZone`] for points outside the projected domain, and
/// [`CrsError::Projection`] when the projection itself fails.
pub fn forward(zone: u8, lon: f64, lat: f64) -> Result<(f64, f64), CrsError> {
    let (geographic, projected) = projections(zone)?;
    let outside = || CrsError::OutsideZone { zone, lon, lat };
    // Beyond 90° from the central meridian transverse Mercator folds back
    // onto the domain, so the result check below would not catch it.
    if !(lat >= 0.0 && (lon - central_meridian(zone)).abs() < 90.0) {
        return Err(outside());
    }
    let mut point = (lon.to_radians(), lat.to_radians(), 0.0);
    transform(&geographic, &projected, &mut point)
        .map_err(|e| CrsError::Projection(e.to_string()))?;
    let (x, y) = (point.0, point.1);
    if in_domain(x, y) {
        Ok((x, y))
    } else {
        Err(outside())
    }
}

fn easting_in_domain(x: f64) -> bool {
    (x - FALSE_EASTING).abs() < MAX_EASTING_OFFSET
}

fn northing_in_domain(y: f64) -> bool {
    (0.0..=MAX_NORTHING).contains(&y)
}

fn in_domain(x: f64, y: f64) -> bool {
    easting_in_domain(x) && northing_in_domain(y)
}

/// Inverse of [`forward`]: `(easting, northing)` without zone prefix to
/// longitude/latitude in degrees.
///
/// ```
/// use cityloop_geo::crs::gauss_kruger::inverse;
/// let (lon, lat) = inverse(39, 444_453.318, 4_424_179.645)?;
/// assert!((lon - 116.35).abs() < 1e-7 && (lat - 39.95).abs() < 1e-7);
/// # Ok::<(), cityloop_geo::crs::CrsError>(())
/// ```
///
/// # Errors
/// [`CrsError::ZoneOutOfRange`] for zones outside 25–45,
/// [`CrsError::ProjectedOutOfRange`] naming `x` or `y` when the input lies
/// outside the projected domain (this includes NaN), and
/// [`CrsError::Projection`] when the projection itself fails.
pub fn inverse(zone: u8, easting: f64, northing: f64) -> Result<(f64, f64), CrsError> {
    let (geographic, projected) = projections(zone)?;
    if !easting_in_domain(easting) {
        return Err(CrsError::ProjectedOutOfRange {
            field: "x",
            value: easting,
            min: FALSE_EASTING - MAX_EASTING_OFFSET,
            max: FALSE_EASTING + MAX_EASTING_OFFSET,
        });
    }
    if !northing_in_domain(northing) {
        return Err(CrsError::ProjectedOutOfRange {
            field: "y",
            value: northing,
            min: 0.0,
            max: MAX_NORTHING,
        });
    }
    let mut point = (easting, northing, 0.0);
    transform(&projected, &geographic, &mut point)
        .map_err(|e| CrsError::Projection(e.to_string()))?;
    Ok((point.0.to_degrees(), point.1.to_degrees()))
}
