//! The local projection between metres and WGS84 lon/lat.

use serde::{Deserialize, Serialize};

/// An equirectangular projection with the WGS84 ellipsoid's radii of curvature at the centre.
/// It is affine, so straight edges and shared vertices in metres stay straight and shared in
/// lon/lat, and areas scale by one constant. Over a 30 km city its scale error stays below 0.2 %.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LocalProjection {
    pub lon0: f64,
    pub lat0: f64,
    /// Metres per degree of longitude at the centre.
    pub m_per_deg_lon: f64,
    /// Metres per degree of latitude at the centre.
    pub m_per_deg_lat: f64,
}

impl LocalProjection {
    pub fn new(centre: (f64, f64)) -> Self {
        const A: f64 = 6_378_137.0;
        const E2: f64 = 0.006_694_379_990_14;
        let (lon0, lat0) = centre;
        let phi = lat0.to_radians();
        let w = 1.0 - E2 * phi.sin().powi(2);
        let meridional = A * (1.0 - E2) / w.powf(1.5);
        let prime_vertical = A / w.sqrt();
        LocalProjection {
            lon0,
            lat0,
            m_per_deg_lon: prime_vertical * phi.cos() * std::f64::consts::PI / 180.0,
            m_per_deg_lat: meridional * std::f64::consts::PI / 180.0,
        }
    }

    /// Metres east and north of the centre → (lon, lat).
    #[inline]
    pub fn to_lonlat(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.lon0 + x / self.m_per_deg_lon,
            self.lat0 + y / self.m_per_deg_lat,
        )
    }

    /// (lon, lat) → metres east and north of the centre.
    #[inline]
    pub fn to_metres(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            (lon - self.lon0) * self.m_per_deg_lon,
            (lat - self.lat0) * self.m_per_deg_lat,
        )
    }

    /// Square metres per square degree, to turn lon/lat areas into m².
    pub fn m2_per_deg2(&self) -> f64 {
        self.m_per_deg_lon * self.m_per_deg_lat
    }
}
