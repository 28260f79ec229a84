//! Coordinate reference systems that cityloop accepts, and conversion to and
//! from the storage system.
//!
//! # Storage system
//!
//! Every point is stored as longitude/latitude in CGCS2000 (EPSG:4490).
//! CGCS2000 and WGS84 (EPSG:4326) are realised on different frames and
//! ellipsoids whose flattening differs in the 11th significant digit; the
//! resulting difference is at centimetre level, far below what a phone GPS
//! or a city-management workflow can resolve. cityloop therefore treats the
//! two as equal: converting between [`Crs::Wgs84`] and [`Crs::Cgcs2000`] is
//! the identity. Code that needs survey-grade CGCS2000 must not use this
//! crate.
//!
//! # Keeping the raw input
//!
//! Conversions through GCJ-02/BD-09 and Gauss-Krüger are not bit-exact round
//! trips, and a wrongly declared CRS can only be corrected later if the
//! original numbers survive. Store a [`RawCoordinate`] next to each converted
//! [`LonLat`].

pub mod gauss_kruger;
pub mod gcj;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// EPSG code of "CGCS2000 / 3-degree Gauss-Kruger zone 25"; zones 25–45
/// follow consecutively, with the zone number in the easting.
const EPSG_GK3_PREFIXED_FIRST: u16 = 4513;
/// EPSG code of "CGCS2000 / 3-degree Gauss-Kruger CM 75E"; zones 25–45
/// follow consecutively, without the zone number in the easting.
const EPSG_GK3_PLAIN_FIRST: u16 = 4534;

/// Every spelling [`Crs::from_str`] accepts, quoted in its error so a user can
/// fix the input without reading code.
pub const ACCEPTED_CRS_FORMS: &str = "wgs84 | EPSG:4326 | cgcs2000 | EPSG:4490 | gcj02 | gcj-02 | \
bd09 | bd-09 | bd09ll | EPSG:4513..EPSG:4533 (3° Gauss-Krüger, easting with zone prefix) | \
EPSG:4534..EPSG:4554 (3° Gauss-Krüger, no zone prefix) | gk3:<zone> | cgcs2000-gk3-<zone> \
(zone 25..45; append :prefixed / -prefixed when eastings carry the zone number)";

/// A coordinate reference system that input can be declared in.
///
/// Parses from and displays as the names a user would type; serde uses the
/// same strings.
///
/// ```
/// use cityloop_geo::crs::Crs;
/// let crs: Crs = "EPSG:4548".parse()?;
/// assert_eq!(crs, Crs::GaussKruger3 { zone: 39, zone_prefix: false });
/// assert_eq!(crs.to_string(), "cgcs2000-gk3-39");
/// assert_eq!(crs.epsg_code(), Some(4548));
/// assert_eq!("gcj-02".parse::<Crs>()?, Crs::Gcj02);
/// # Ok::<(), cityloop_geo::crs::CrsError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Crs {
    /// WGS84 longitude/latitude in degrees (EPSG:4326).
    Wgs84,
    /// CGCS2000 longitude/latitude in degrees (EPSG:4490), the storage system.
    Cgcs2000,
    /// GCJ-02 longitude/latitude as reported by Amap, Tencent and most phones
    /// sold in mainland China.
    Gcj02,
    /// Baidu BD-09 longitude/latitude (Baidu's `bd09ll`; its Mercator variant
    /// `bd09mc` is not supported).
    Bd09,
    /// CGCS2000 3° Gauss-Krüger metres: `x` easting, `y` northing, central
    /// meridian `3 × zone`.
    GaussKruger3 {
        /// Zone number, 25–45 for China.
        zone: u8,
        /// Whether eastings written *by this crate* carry the zone number
        /// (`zone × 1 000 000 + 500 000` at the central meridian,
        /// EPSG:4513–4533) or not (`500 000`, EPSG:4534–4554).
        ///
        /// On input the prefix is detected from the magnitude of `x`
        /// instead: a plain easting is always below 1 000 000 (a 3° zone is
        /// at most ~170 km wide on each side), while a prefixed one is at
        /// least 25 000 000, so the two cannot be confused.
        zone_prefix: bool,
    },
}

impl Crs {
    /// Checked constructor for [`Crs::GaussKruger3`].
    ///
    /// ```
    /// use cityloop_geo::crs::Crs;
    /// assert!(Crs::gauss_kruger3(39, true).is_ok());
    /// assert!(Crs::gauss_kruger3(60, false).is_err());
    /// ```
    ///
    /// # Errors
    /// [`CrsError::ZoneOutOfRange`] when `zone` is outside 25–45.
    pub fn gauss_kruger3(zone: u8, zone_prefix: bool) -> Result<Self, CrsError> {
        gauss_kruger::check_zone(zone)?;
        Ok(Self::GaussKruger3 { zone, zone_prefix })
    }

    /// The EPSG code, where one exists (GCJ-02 and BD-09 have none).
    ///
    /// ```
    /// use cityloop_geo::crs::Crs;
    /// assert_eq!(Crs::Cgcs2000.epsg_code(), Some(4490));
    /// assert_eq!(Crs::GaussKruger3 { zone: 39, zone_prefix: true }.epsg_code(), Some(4527));
    /// assert_eq!(Crs::Gcj02.epsg_code(), None);
    /// ```
    #[must_use]
    pub fn epsg_code(self) -> Option<u16> {
        match self {
            Self::Wgs84 => Some(4326),
            Self::Cgcs2000 => Some(4490),
            Self::Gcj02 | Self::Bd09 => None,
            Self::GaussKruger3 { zone, zone_prefix } => {
                gauss_kruger::check_zone(zone).ok()?;
                let first = if zone_prefix {
                    EPSG_GK3_PREFIXED_FIRST
                } else {
                    EPSG_GK3_PLAIN_FIRST
                };
                Some(first + u16::from(zone - gauss_kruger::MIN_ZONE))
            }
        }
    }

    /// Whether coordinates are longitude/latitude degrees (as opposed to
    /// projected metres).
    ///
    /// ```
    /// use cityloop_geo::crs::Crs;
    /// assert!(Crs::Bd09.is_geographic());
    /// assert!(!Crs::GaussKruger3 { zone: 39, zone_prefix: false }.is_geographic());
    /// ```
    #[must_use]
    pub fn is_geographic(self) -> bool {
        !matches!(self, Self::GaussKruger3 { .. })
    }

    fn from_epsg(code: u16) -> Option<Self> {
        let zone_count = u16::from(gauss_kruger::MAX_ZONE - gauss_kruger::MIN_ZONE);
        let gk = |first: u16, zone_prefix: bool| {
            let offset = code.checked_sub(first).filter(|o| *o <= zone_count)?;
            let zone = gauss_kruger::MIN_ZONE + u8::try_from(offset).ok()?;
            Some(Self::GaussKruger3 { zone, zone_prefix })
        };
        match code {
            4326 => Some(Self::Wgs84),
            4490 => Some(Self::Cgcs2000),
            _ => gk(EPSG_GK3_PREFIXED_FIRST, true).or_else(|| gk(EPSG_GK3_PLAIN_FIRST, false)),
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wgs84 => f.write_str("wgs84"),
            Self::Cgcs2000 => f.write_str("cgcs2000"),
            Self::Gcj02 => f.write_str("gcj02"),
            Self::Bd09 => f.write_str("bd09"),
            Self::GaussKruger3 { zone, zone_prefix } => {
                write!(f, "cgcs2000-gk3-{zone}")?;
                if *zone_prefix {
                    f.write_str("-prefixed")?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for Crs {
    type Err = CrsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || CrsError::UnknownCrs {
            input: s.to_owned(),
        };
        let name = s.trim().to_ascii_lowercase();
        match name.as_str() {
            "wgs84" | "wgs-84" => return Ok(Self::Wgs84),
            "cgcs2000" => return Ok(Self::Cgcs2000),
            "gcj02" | "gcj-02" => return Ok(Self::Gcj02),
            "bd09" | "bd-09" | "bd09ll" => return Ok(Self::Bd09),
            _ => {}
        }
        if let Some(code) = name.strip_prefix("epsg:") {
            let code: u16 = parse_digits(code).ok_or_else(unknown)?;
            return Self::from_epsg(code).ok_or_else(unknown);
        }
        let (rest, zone_prefix) = match name
            .strip_suffix(":prefixed")
            .or_else(|| name.strip_suffix("-prefixed"))
        {
            Some(rest) => (rest, true),
            None => (name.as_str(), false),
        };
        let zone = rest
            .strip_prefix("gk3:")
            .or_else(|| rest.strip_prefix("cgcs2000-gk3-"))
            .and_then(parse_digits::<u32>)
            .ok_or_else(unknown)?;
        let zone = u8::try_from(zone).map_err(|_| CrsError::ZoneOutOfRange { zone })?;
        Self::gauss_kruger3(zone, zone_prefix)
    }
}

/// `str::parse` alone would also accept `+39`, which nobody means as a zone.
fn parse_digits<T: FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl From<Crs> for String {
    fn from(crs: Crs) -> Self {
        crs.to_string()
    }
}

impl TryFrom<String> for Crs {
    type Error = CrsError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Which coordinate of a [`LonLat`] a [`CoordError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CoordField {
    /// Longitude.
    Lon,
    /// Latitude.
    Lat,
}

impl CoordField {
    /// The field name as it appears in requests: `"lon"` or `"lat"`.
    ///
    /// ```
    /// assert_eq!(cityloop_geo::crs::CoordField::Lat.as_str(), "lat");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lon => "lon",
            Self::Lat => "lat",
        }
    }
}

impl fmt::Display for CoordField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a longitude or latitude was rejected. Each variant names the field so
/// the HTTP layer can report it (as a 422) without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum CoordError {
    /// NaN or infinite.
    #[error("{field} must be a finite number")]
    NotFinite {
        /// The offending field.
        field: CoordField,
    },
    /// Outside the valid range of the field ([-180, 180] or [-90, 90]).
    #[error("{field} {value} is out of range: it must lie within [{min}, {max}]")]
    OutOfRange {
        /// The offending field.
        field: CoordField,
        /// The rejected value.
        value: f64,
        /// Lowest valid value.
        min: f64,
        /// Highest valid value.
        max: f64,
    },
    /// Valid on Earth but outside the configured city extent.
    #[error("{field} {value} is outside the city extent [{min}, {max}]")]
    OutsideExtent {
        /// The offending field.
        field: CoordField,
        /// The rejected value.
        value: f64,
        /// Lowest value inside the extent.
        min: f64,
        /// Highest value inside the extent.
        max: f64,
    },
}

impl CoordError {
    /// The field the error is about.
    ///
    /// ```
    /// use cityloop_geo::crs::{CoordField, LonLat};
    /// let err = LonLat::new(116.4, 91.0).unwrap_err();
    /// assert_eq!(err.field(), CoordField::Lat);
    /// ```
    #[must_use]
    pub fn field(&self) -> CoordField {
        match self {
            Self::NotFinite { field }
            | Self::OutOfRange { field, .. }
            | Self::OutsideExtent { field, .. } => *field,
        }
    }
}

fn check_range(field: CoordField, value: f64, min: f64, max: f64) -> Result<(), CoordError> {
    if !value.is_finite() {
        return Err(CoordError::NotFinite { field });
    }
    if !(min..=max).contains(&value) {
        return Err(CoordError::OutOfRange {
            field,
            value,
            min,
            max,
        });
    }
    Ok(())
}

/// A validated CGCS2000 (≈ WGS84) longitude/latitude in degrees: both finite,
/// longitude in [-180, 180], latitude in [-90, 90].
///
/// Serialises as `{"lon": …, "lat": …}`; deserialising validates.
///
/// ```
/// use cityloop_geo::crs::{CoordError, CoordField, LonLat};
/// let p = LonLat::new(120.585, 31.299)?;
/// assert_eq!((p.lon(), p.lat()), (120.585, 31.299));
/// assert!(matches!(
///     LonLat::new(181.0, 31.0),
///     Err(CoordError::OutOfRange { field: CoordField::Lon, .. })
/// ));
/// # Ok::<(), CoordError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedLonLat")]
pub struct LonLat {
    lon: f64,
    lat: f64,
}

#[derive(Deserialize)]
struct UncheckedLonLat {
    lon: f64,
    lat: f64,
}

impl TryFrom<UncheckedLonLat> for LonLat {
    type Error = CoordError;

    fn try_from(raw: UncheckedLonLat) -> Result<Self, Self::Error> {
        Self::new(raw.lon, raw.lat)
    }
}

impl LonLat {
    /// Validates and builds a point; the longitude is checked first.
    ///
    /// ```
    /// use cityloop_geo::crs::LonLat;
    /// assert!(LonLat::new(f64::NAN, 30.0).is_err());
    /// ```
    ///
    /// # Errors
    /// [`CoordError::NotFinite`] or [`CoordError::OutOfRange`], naming the field.
    pub fn new(lon: f64, lat: f64) -> Result<Self, CoordError> {
        check_range(CoordField::Lon, lon, -180.0, 180.0)?;
        check_range(CoordField::Lat, lat, -90.0, 90.0)?;
        Ok(Self { lon, lat })
    }

    /// Longitude in degrees east.
    #[must_use]
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Latitude in degrees north.
    #[must_use]
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Checks that the point lies inside the city extent (bounds inclusive).
    ///
    /// ```
    /// use cityloop_geo::crs::{CoordError, CoordField, Extent, LonLat};
    /// let suzhou = Extent::new(119.9, 30.7, 121.4, 32.1)?;
    /// assert!(LonLat::new(120.585, 31.299)?.within(&suzhou).is_ok());
    /// let err = LonLat::new(116.404, 39.915)?.within(&suzhou).unwrap_err();
    /// assert!(matches!(err, CoordError::OutsideExtent { field: CoordField::Lon, .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`CoordError::OutsideExtent`] naming the first field (lon, then lat)
    /// that falls outside.
    pub fn within(self, extent: &Extent) -> Result<(), CoordError> {
        let outside = |field, value: f64, min: f64, max: f64| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(CoordError::OutsideExtent {
                    field,
                    value,
                    min,
                    max,
                })
            }
        };
        outside(CoordField::Lon, self.lon, extent.min_lon, extent.max_lon)?;
        outside(CoordField::Lat, self.lat, extent.min_lat, extent.max_lat)
    }
}

impl From<LonLat> for geo_types::Coord<f64> {
    fn from(p: LonLat) -> Self {
        geo_types::coord! { x: p.lon, y: p.lat }
    }
}

impl From<LonLat> for geo_types::Point<f64> {
    fn from(p: LonLat) -> Self {
        geo_types::Point::new(p.lon, p.lat)
    }
}

/// Why an [`Extent`] was rejected.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ExtentError {
    /// A bound is not a valid longitude/latitude.
    #[error("extent bound {bound} is invalid: {source}")]
    InvalidBound {
        /// `min_lon`, `min_lat`, `max_lon` or `max_lat`.
        bound: &'static str,
        /// What is wrong with it.
        source: CoordError,
    },
    /// The minimum is greater than the maximum.
    #[error("extent is inverted on {field}: min {min} > max {max}")]
    Inverted {
        /// The inverted axis.
        field: CoordField,
        /// The configured minimum.
        min: f64,
        /// The configured maximum.
        max: f64,
    },
}

/// A longitude/latitude box, typically the configured city extent. Bounds
/// are inclusive. Boxes across the antimeridian are not supported (no
/// Chinese city needs one).
///
/// ```
/// use cityloop_geo::crs::Extent;
/// let e = Extent::new(115.4, 39.4, 117.5, 41.1)?;
/// assert_eq!(e.min_lon, 115.4);
/// assert!(Extent::new(117.5, 39.4, 115.4, 41.1).is_err());
/// # Ok::<(), cityloop_geo::crs::ExtentError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedExtent")]
pub struct Extent {
    /// Western bound, degrees.
    pub min_lon: f64,
    /// Southern bound, degrees.
    pub min_lat: f64,
    /// Eastern bound, degrees.
    pub max_lon: f64,
    /// Northern bound, degrees.
    pub max_lat: f64,
}

#[derive(Deserialize)]
struct UncheckedExtent {
    min_lon: f64,
    min_lat: f64,
    max_lon: f64,
    max_lat: f64,
}

impl TryFrom<UncheckedExtent> for Extent {
    type Error = ExtentError;

    fn try_from(raw: UncheckedExtent) -> Result<Self, Self::Error> {
        Self::new(raw.min_lon, raw.min_lat, raw.max_lon, raw.max_lat)
    }
}

impl Extent {
    /// Validates and builds an extent.
    ///
    /// # Errors
    /// [`ExtentError`] when a bound is not a valid coordinate or a minimum
    /// exceeds its maximum.
    pub fn new(
        min_lon: f64,
        min_lat: f64,
        max_lon: f64,
        max_lat: f64,
    ) -> Result<Self, ExtentError> {
        let bound = |name: &'static str, field, value: f64, limit: f64| {
            check_range(field, value, -limit, limit).map_err(|source| ExtentError::InvalidBound {
                bound: name,
                source,
            })
        };
        bound("min_lon", CoordField::Lon, min_lon, 180.0)?;
        bound("min_lat", CoordField::Lat, min_lat, 90.0)?;
        bound("max_lon", CoordField::Lon, max_lon, 180.0)?;
        bound("max_lat", CoordField::Lat, max_lat, 90.0)?;
        for (field, min, max) in [
            (CoordField::Lon, min_lon, max_lon),
            (CoordField::Lat, min_lat, max_lat),
        ] {
            if min > max {
                return Err(ExtentError::Inverted { field, min, max });
            }
        }
        Ok(Self {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }

    /// Whether the point lies inside (bounds inclusive).
    ///
    /// ```
    /// use cityloop_geo::crs::{Extent, LonLat};
    /// let e = Extent::new(115.4, 39.4, 117.5, 41.1)?;
    /// assert!(e.contains(LonLat::new(116.404, 39.915)?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn contains(&self, point: LonLat) -> bool {
        point.within(self).is_ok()
    }
}

/// Why a conversion failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CrsError {
    /// The CRS name is not one of [`ACCEPTED_CRS_FORMS`].
    #[error("unknown CRS {input:?}; accepted forms: {ACCEPTED_CRS_FORMS}")]
    UnknownCrs {
        /// What the user typed.
        input: String,
    },
    /// A 3° Gauss-Krüger zone that does not cover China.
    #[error("3° Gauss-Krüger zone {zone} is out of range: China uses zones 25..45")]
    ZoneOutOfRange {
        /// The rejected zone.
        zone: u32,
    },
    /// The easting carries a zone prefix other than the declared zone.
    #[error(
        "x = {easting} carries zone prefix {found}, but the declared zone is {declared} \
         (x must be the easting; survey files often list the northing first)"
    )]
    ZonePrefixMismatch {
        /// The zone of the declared CRS.
        declared: u8,
        /// The zone found in the easting's leading digits.
        found: u64,
        /// The easting as given.
        easting: f64,
    },
    /// A projected input coordinate is NaN or infinite.
    #[error("{field} must be a finite number")]
    NotFinite {
        /// `"x"` or `"y"`.
        field: &'static str,
    },
    /// A projected input coordinate lies outside the Gauss-Krüger domain
    /// (after removing any zone prefix from `x`).
    #[error("{field} {value} is outside the Gauss-Krüger range ({min}, {max}) for this zone")]
    ProjectedOutOfRange {
        /// `"x"` or `"y"`.
        field: &'static str,
        /// The rejected value (for `x`, without zone prefix).
        value: f64,
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// A stored point is too far from the zone to be projected into it.
    #[error(
        "point ({lon}, {lat}) is too far from the central meridian of 3° zone {zone} \
         to be projected into it"
    )]
    OutsideZone {
        /// The requested zone.
        zone: u8,
        /// Longitude of the point.
        lon: f64,
        /// Latitude of the point.
        lat: f64,
    },
    /// A geographic input, or the converted point, is not a valid lon/lat.
    #[error(transparent)]
    Coord(#[from] CoordError),
    /// The projection library reported a failure.
    #[error("projection failed: {0}")]
    Projection(String),
}

impl CrsError {
    /// The request field the error is about, for the HTTP layer: `"crs"`,
    /// `"x"`, `"y"`, `"lon"` or `"lat"`. `None` for internal failures.
    ///
    /// For geographic input `x` is the longitude and `y` the latitude, and
    /// they are reported as `lon`/`lat`.
    ///
    /// ```
    /// use cityloop_geo::crs::{to_storage, Crs};
    /// let err = to_storage(Crs::Wgs84, 116.4, 95.0).unwrap_err();
    /// assert_eq!(err.field(), Some("lat"));
    /// ```
    #[must_use]
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::UnknownCrs { .. } | Self::ZoneOutOfRange { .. } | Self::OutsideZone { .. } => {
                Some("crs")
            }
            Self::ZonePrefixMismatch { .. } => Some("x"),
            Self::NotFinite { field } | Self::ProjectedOutOfRange { field, .. } => Some(field),
            Self::Coord(e) => Some(e.field().as_str()),
            Self::Projection(_) => None,
        }
    }
}

/// Converts a coordinate declared in `crs` to storage lon/lat (CGCS2000,
/// treated as WGS84).
///
/// For geographic systems `x` is the longitude and `y` the latitude, both
/// validated before conversion. For Gauss-Krüger `x` is the easting (with or
/// without zone prefix, detected from its magnitude) and `y` the northing.
/// GCJ-02/BD-09 points outside the [`gcj::out_of_china`] rectangle are taken
/// as they are.
///
/// ```
/// use cityloop_geo::crs::{to_storage, Crs};
/// let p = to_storage(Crs::Gcj02, 116.41024449916938, 39.91640428150164)?;
/// assert!((p.lon() - 116.404).abs() < 1e-9 && (p.lat() - 39.915).abs() < 1e-9);
///
/// let gk = Crs::GaussKruger3 { zone: 39, zone_prefix: true };
/// let p = to_storage(gk, 39_444_453.318, 4_424_179.645)?;
/// assert!((p.lon() - 116.35).abs() < 1e-7 && (p.lat() - 39.95).abs() < 1e-7);
/// # Ok::<(), cityloop_geo::crs::CrsError>(())
/// ```
///
/// # Errors
/// [`CrsError::Coord`] for invalid lon/lat input or output,
/// [`CrsError::NotFinite`] / [`CrsError::ProjectedOutOfRange`] for
/// non-finite or implausible projected input,
/// [`CrsError::ZoneOutOfRange`] / [`CrsError::ZonePrefixMismatch`] for
/// zone problems and [`CrsError::Projection`] if the projection fails.
pub fn to_storage(crs: Crs, x: f64, y: f64) -> Result<LonLat, CrsError> {
    let (lon, lat) = match crs {
        Crs::Wgs84 | Crs::Cgcs2000 => (x, y),
        Crs::Gcj02 => {
            LonLat::new(x, y)?;
            gcj::gcj02_to_wgs84(x, y)
        }
        Crs::Bd09 => {
            LonLat::new(x, y)?;
            gcj::bd09_to_wgs84(x, y)
        }
        Crs::GaussKruger3 { zone, .. } => {
            gauss_kruger::check_zone(zone)?;
            if !x.is_finite() {
                return Err(CrsError::NotFinite { field: "x" });
            }
            if !y.is_finite() {
                return Err(CrsError::NotFinite { field: "y" });
            }
            gauss_kruger::inverse(zone, strip_zone_prefix(zone, x)?, y)?
        }
    };
    Ok(LonLat::new(lon, lat)?)
}

fn strip_zone_prefix(zone: u8, easting: f64) -> Result<f64, CrsError> {
    if easting < gauss_kruger::ZONE_PREFIX_FACTOR {
        return Ok(easting);
    }
    let prefix = (easting / gauss_kruger::ZONE_PREFIX_FACTOR).floor();
    if prefix != f64::from(zone) {
        // Truncation is harmless: the value only feeds the error message, and
        // `as` saturates for absurd eastings.
        let found = prefix as u64;
        return Err(CrsError::ZonePrefixMismatch {
            declared: zone,
            found,
            easting,
        });
    }
    Ok(easting - prefix * gauss_kruger::ZONE_PREFIX_FACTOR)
}

/// Converts a stored point to `crs`, e.g. GCJ-02 for an Amap basemap.
///
/// Returns `(x, y)`: lon/lat for geographic systems, easting/northing for
/// Gauss-Krüger (with the zone prefix when `zone_prefix` is set).
///
/// ```
/// use cityloop_geo::crs::{from_storage, Crs, LonLat};
/// let p = LonLat::new(116.404, 39.915)?;
/// let (lon, lat) = from_storage(Crs::Gcj02, p)?;
/// assert!((lon - 116.41024449916938).abs() < 1e-12);
/// assert!((lat - 39.91640428150164).abs() < 1e-12);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`CrsError::ZoneOutOfRange`] for a bad zone, [`CrsError::OutsideZone`]
/// for a point too far from a Gauss-Krüger zone, and
/// [`CrsError::Projection`] if the projection fails.
pub fn from_storage(crs: Crs, lonlat: LonLat) -> Result<(f64, f64), CrsError> {
    let (lon, lat) = (lonlat.lon(), lonlat.lat());
    Ok(match crs {
        Crs::Wgs84 | Crs::Cgcs2000 => (lon, lat),
        Crs::Gcj02 => gcj::wgs84_to_gcj02(lon, lat),
        Crs::Bd09 => gcj::wgs84_to_bd09(lon, lat),
        Crs::GaussKruger3 { zone, zone_prefix } => {
            let (x, y) = gauss_kruger::forward(zone, lon, lat)?;
            if zone_prefix {
                (x + f64::from(zone) * gauss_kruger::ZONE_PREFIX_FACTOR, y)
            } else {
                (x, y)
            }
        }
    })
}

/// A coordinate exactly as it was received, with its declared CRS. Keep it
/// with the record next to the converted [`LonLat`].
///
/// ```
/// use cityloop_geo::crs::{Crs, RawCoordinate};
/// let raw = RawCoordinate { crs: Crs::Bd09, x: 116.41662724378733, y: 39.922699552216216 };
/// let p = raw.to_storage()?;
/// assert!((p.lon() - 116.404).abs() < 1e-9 && (p.lat() - 39.915).abs() < 1e-9);
/// # Ok::<(), cityloop_geo::crs::CrsError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RawCoordinate {
    /// The CRS the sender declared.
    pub crs: Crs,
    /// Longitude or easting, as received.
    pub x: f64,
    /// Latitude or northing, as received.
    pub y: f64,
}

impl RawCoordinate {
    /// Converts to storage lon/lat; see [`to_storage`].
    ///
    /// # Errors
    /// As for [`to_storage`].
    pub fn to_storage(&self) -> Result<LonLat, CrsError> {
        to_storage(self.crs, self.x, self.y)
    }
}

#[cfg(test)]
mod tests;
