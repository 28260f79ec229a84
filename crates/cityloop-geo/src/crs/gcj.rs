//! GCJ-02 ("Mars coordinates", used by Amap, Tencent and most phones sold in
//! mainland China) and BD-09 (Baidu) conversions.
//!
//! The forward formulas are the widely published ones that reproduce the
//! official obfuscation to well below a metre. Both inverses are solved
//! iteratively against the forward formula, so a round trip is exact to
//! about 1e-12° instead of the metre-level error of the one-step
//! approximations that circulate with the forward formulas.
//!
//! Points outside the rectangle tested by [`out_of_china`] are returned
//! unchanged by every function here: providers do not obfuscate them, and the
//! rectangle (not a real border) is what the providers' SDKs historically use.

use std::f64::consts::PI;

/// Semi-major axis of Krasovsky 1940, which the GCJ-02 formula is built on.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of Krasovsky 1940.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// BD-09 works on coordinates scaled by this factor (3000° per π radians).
const X_PI: f64 = PI * 3000.0 / 180.0;
const BD_LON_SHIFT: f64 = 0.0065;
const BD_LAT_SHIFT: f64 = 0.006;

/// Iteration stops once the forward image is this close to the target, in
/// degrees (about 10 nm), far below anything a city platform can measure.
const INVERSE_TOLERANCE_DEG: f64 = 1e-13;
/// The offset fields change by well under 1 % per degree, so fixed-point
/// iteration gains two or more digits per step; this bound is only a guard.
const INVERSE_MAX_ITERATIONS: usize = 64;

/// Whether a point lies outside the rectangle inside which GCJ-02/BD-09
/// offsets are applied (lon 72.004–137.8347°E, lat 0.8293–55.8271°N).
///
/// The rectangle also covers parts of neighbouring countries; that matches
/// the behaviour of the providers' own SDKs. Non-finite input counts as
/// outside, so it passes through unchanged instead of turning into noise.
///
/// ```
/// use cityloop_geo::crs::gcj::out_of_china;
/// assert!(!out_of_china(116.404, 39.915)); // Beijing
/// assert!(out_of_china(2.35, 48.85)); // Paris
/// ```
#[must_use]
pub fn out_of_china(lon: f64, lat: f64) -> bool {
    !((72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat))
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// The GCJ-02 forward formula without the China test, so the iterative
/// inverse sees one smooth function even next to the rectangle's edge.
fn gcj_forward(lon: f64, lat: f64) -> (f64, f64) {
    let mut dlat = transform_lat(lon - 105.0, lat - 35.0);
    let mut dlon = transform_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let mut magic = rad_lat.sin();
    magic = 1.0 - KRASOVSKY_EE * magic * magic;
    let sqrt_magic = magic.sqrt();
    dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    (lon + dlon, lat + dlat)
}

fn bd_forward(lon: f64, lat: f64) -> (f64, f64) {
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000_003 * (lon * X_PI).cos();
    (
        z * theta.cos() + BD_LON_SHIFT,
        z * theta.sin() + BD_LAT_SHIFT,
    )
}

/// Solves `forward(p) = target` by fixed-point iteration. Both offset fields
/// are contractions (their Jacobians are tiny next to the identity), so
/// subtracting the residual converges from the target itself.
fn invert(forward: fn(f64, f64) -> (f64, f64), lon: f64, lat: f64) -> (f64, f64) {
    let (mut x, mut y) = (lon, lat);
    for _ in 0..INVERSE_MAX_ITERATIONS {
        let (fx, fy) = forward(x, y);
        let (dx, dy) = (fx - lon, fy - lat);
        x -= dx;
        y -= dy;
        if dx.abs() < INVERSE_TOLERANCE_DEG && dy.abs() < INVERSE_TOLERANCE_DEG {
            break;
        }
    }
    (x, y)
}

/// WGS84 (or CGCS2000) longitude/latitude to GCJ-02.
///
/// ```
/// use cityloop_geo::crs::gcj::wgs84_to_gcj02;
/// let (lon, lat) = wgs84_to_gcj02(116.404, 39.915);
/// assert!((lon - 116.41024449916938).abs() < 1e-12);
/// assert!((lat - 39.91640428150164).abs() < 1e-12);
/// ```
#[must_use]
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    gcj_forward(lon, lat)
}

/// GCJ-02 to WGS84 by iterating the forward formula (sub-millimetre; in
/// practice the residual is below 1e-12°).
///
/// ```
/// use cityloop_geo::crs::gcj::gcj02_to_wgs84;
/// let (lon, lat) = gcj02_to_wgs84(116.41024449916938, 39.91640428150164);
/// assert!((lon - 116.404).abs() < 1e-9 && (lat - 39.915).abs() < 1e-9);
/// ```
#[must_use]
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    invert(gcj_forward, lon, lat)
}

/// GCJ-02 to BD-09 (Baidu).
///
/// ```
/// use cityloop_geo::crs::gcj::gcj02_to_bd09;
/// let (lon, lat) = gcj02_to_bd09(116.404, 39.915);
/// assert!((lon - 116.41036949371029).abs() < 1e-12);
/// assert!((lat - 39.92133699351021).abs() < 1e-12);
/// ```
#[must_use]
pub fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    bd_forward(lon, lat)
}

/// BD-09 to GCJ-02 by iterating the forward formula, for the same reason as
/// [`gcj02_to_wgs84`]: the published one-step inverse is off by up to ~1e-5°.
///
/// ```
/// use cityloop_geo::crs::gcj::bd09_to_gcj02;
/// let (lon, lat) = bd09_to_gcj02(116.41036949371029, 39.92133699351021);
/// assert!((lon - 116.404).abs() < 1e-9 && (lat - 39.915).abs() < 1e-9);
/// ```
#[must_use]
pub fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    invert(bd_forward, lon, lat)
}

/// WGS84 to BD-09, through GCJ-02 as Baidu defines it.
///
/// ```
/// use cityloop_geo::crs::gcj::{bd09_to_wgs84, wgs84_to_bd09};
/// let bd = wgs84_to_bd09(116.404, 39.915);
/// let (lon, lat) = bd09_to_wgs84(bd.0, bd.1);
/// assert!((lon - 116.404).abs() < 1e-9 && (lat - 39.915).abs() < 1e-9);
/// ```
#[must_use]
pub fn wgs84_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (glon, glat) = gcj_forward(lon, lat);
    bd_forward(glon, glat)
}

/// BD-09 to WGS84, inverting both steps iteratively.
///
/// ```
/// use cityloop_geo::crs::gcj::bd09_to_wgs84;
/// assert_eq!(bd09_to_wgs84(2.35, 48.85), (2.35, 48.85)); // outside China
/// ```
#[must_use]
pub fn bd09_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (glon, glat) = invert(bd_forward, lon, lat);
    invert(gcj_forward, glon, glat)
}
