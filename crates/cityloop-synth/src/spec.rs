//! What to generate.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// Default centre: Hangzhou's old town, so maps look familiar.
pub const DEFAULT_CENTRE: (f64, f64) = (120.17, 30.27);

/// The demo organisation's streets (codes 001–006), matching `cityloop demo`.
pub const DEMO_STREETS: [&str; 6] = [
    "江滨街道",
    "城东街道",
    "城西街道",
    "南湖街道",
    "北山街道",
    "新城街道",
];

/// The demo organisation's communities, four per street in street order (codes 001–004).
pub const DEMO_COMMUNITIES: [&str; 24] = [
    "金桂社区",
    "银杏社区",
    "翠苑社区",
    "和平社区",
    "解放社区",
    "朝晖社区",
    "文晖社区",
    "东园社区",
    "西园社区",
    "南苑社区",
    "北苑社区",
    "新华社区",
    "长庆社区",
    "明月社区",
    "春江社区",
    "滨河社区",
    "柳营社区",
    "梅园社区",
    "兰亭社区",
    "竹林社区",
    "松风社区",
    "枫林社区",
    "樱花社区",
    "荷塘社区",
];

/// Most grids one community may hold: the grid serial has two digits.
pub const MAX_GRIDS_PER_COMMUNITY: u32 = 99;

/// Parameters of a synthetic city. Two equal specs give identical cities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CitySpec {
    pub seed: u64,
    /// 6-digit administrative code (GB/T 2260).
    pub district_code: String,
    pub district_name: String,
    /// (lon, lat) of the city centre, WGS84.
    pub centre: (f64, f64),
    /// One entry per street (街道), coded 001, 002, … in this order.
    pub streets: Vec<StreetSpec>,
    /// The least number of communities per street. A street gets more when it would otherwise
    /// need more than 99 grids in a community.
    pub communities_per_street: u32,
    /// About how many unit grids to make (200 to 2 000 000); the result is within a few percent.
    pub grids_target: u32,
    pub components: ComponentDensity,
}

/// A street and the names of its first communities; whatever is missing is generated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreetSpec {
    /// e.g. "江滨街道"; `None` generates a name.
    pub name: Option<String>,
    /// Names of communities 001, 002, …; further communities get generated names.
    pub community_names: Vec<String>,
}

impl StreetSpec {
    pub fn named(name: &str, communities: &[&str]) -> Self {
        StreetSpec {
            name: Some(name.to_owned()),
            community_names: communities.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    /// A street whose name and communities are all generated.
    pub fn generated() -> Self {
        StreetSpec::default()
    }
}

/// How many components to place.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ComponentDensity {
    /// 1.0 is a realistic census (about 100 per unit grid); spacings are divided by it and
    /// per-grid counts multiplied. 0 places none.
    pub multiplier: f64,
}

impl Default for ComponentDensity {
    fn default() -> Self {
        ComponentDensity { multiplier: 1.0 }
    }
}

/// Why a spec cannot be generated as asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    #[error("district code {0:?} is not 6 ASCII digits")]
    DistrictCode(String),
    #[error("the district name is empty")]
    DistrictName,
    #[error("centre ({0}, {1}) is not a lon/lat between ±80° latitude")]
    Centre(f64, f64),
    #[error("{0} streets; between 1 and 999 are allowed")]
    StreetCount(usize),
    #[error("communities_per_street is {0}; between 1 and 999 are allowed")]
    CommunitiesPerStreet(u32),
    #[error("grids_target is {0}; between 200 and 2000000 are allowed")]
    GridsTarget(u32),
    #[error("component density multiplier {0} is not between 0 and 100")]
    Density(f64),
    #[error("the name {0:?} is used twice")]
    DuplicateName(String),
    #[error("{streets} streets cannot be cut out of about {grids} grids (at most one per 30)")]
    TooManyStreets { streets: usize, grids: u32 },
    #[error("{streets} streets cannot hold about {grids} grids (at most 70 000 per street)")]
    TooFewStreets { streets: usize, grids: u32 },
    #[error("name {0:?} is empty or too long")]
    BadName(String),
}

impl CitySpec {
    /// A county seat of about 1 000 grids (10 km²): the first three demo streets.
    pub fn county_town() -> Self {
        CitySpec {
            grids_target: 1_000,
            streets: demo_streets(3),
            ..CitySpec::mid_size()
        }
    }

    /// About 5 000 grids (50 km²) with the demo organisation's six streets and their
    /// communities 001–004; more communities are added because a community holds at most 99 grids.
    pub fn mid_size() -> Self {
        CitySpec {
            seed: 2026,
            district_code: "330188".to_owned(),
            district_name: "临江区".to_owned(),
            centre: DEFAULT_CENTRE,
            streets: demo_streets(6),
            communities_per_street: 4,
            grids_target: 5_000,
            components: ComponentDensity::default(),
        }
    }

    /// 100 000 grids (about 1 000 km²) and about 10 million components: the six demo streets
    /// plus 30 generated ones.
    pub fn megacity() -> Self {
        let mut streets = demo_streets(6);
        streets.extend((0..30).map(|_| StreetSpec::generated()));
        CitySpec {
            grids_target: 100_000,
            streets,
            ..CitySpec::mid_size()
        }
    }

    /// Checks the spec. [`crate::generate`] does not require it (it clamps what it must), but
    /// codes built from a malformed district code are malformed too.
    pub fn validate(&self) -> Result<(), SpecError> {
        let code = &self.district_code;
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SpecError::DistrictCode(code.clone()));
        }
        if self.district_name.trim().is_empty() {
            return Err(SpecError::DistrictName);
        }
        let (lon, lat) = self.centre;
        let lon_ok = lon.is_finite() && (-180.0..=180.0).contains(&lon);
        let lat_ok = lat.is_finite() && (-80.0..=80.0).contains(&lat);
        if !(lon_ok && lat_ok) {
            return Err(SpecError::Centre(lon, lat));
        }
        if self.streets.is_empty() || self.streets.len() > 999 {
            return Err(SpecError::StreetCount(self.streets.len()));
        }
        if !(1..=999).contains(&self.communities_per_street) {
            return Err(SpecError::CommunitiesPerStreet(self.communities_per_street));
        }
        if !(200..=2_000_000).contains(&self.grids_target) {
            return Err(SpecError::GridsTarget(self.grids_target));
        }
        let m = self.components.multiplier;
        if !(m.is_finite() && (0.0..=100.0).contains(&m)) {
            return Err(SpecError::Density(m));
        }
        if self.streets.len() as u64 * 30 > u64::from(self.grids_target) {
            return Err(SpecError::TooManyStreets {
                streets: self.streets.len(),
                grids: self.grids_target,
            });
        }
        // 999 communities of ~80 grids per street at most.
        if u64::from(self.grids_target) > self.streets.len() as u64 * 70_000 {
            return Err(SpecError::TooFewStreets {
                streets: self.streets.len(),
                grids: self.grids_target,
            });
        }
        let mut seen = HashSet::new();
        let names = self
            .streets
            .iter()
            .flat_map(|s| s.name.iter().chain(s.community_names.iter()));
        for name in names {
            if name.trim().is_empty() || name.chars().count() > 30 {
                return Err(SpecError::BadName(name.clone()));
            }
            if !seen.insert(name.as_str()) {
                return Err(SpecError::DuplicateName(name.clone()));
            }
        }
        Ok(())
    }
}

impl Default for CitySpec {
    fn default() -> Self {
        CitySpec::mid_size()
    }
}

fn demo_streets(n: usize) -> Vec<StreetSpec> {
    DEMO_STREETS
        .iter()
        .zip(DEMO_COMMUNITIES.chunks(4))
        .take(n)
        .map(|(s, cs)| StreetSpec::named(s, cs))
        .collect()
}
