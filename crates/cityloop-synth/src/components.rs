//! Streams components: things along every road (kerb-side, pavement, carriageway, set back),
//! things at junctions, then things inside grids (parks, back streets).

use std::collections::VecDeque;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::locate::{JunctionCursor, Network, RoadGeom};
use crate::model::{
    COMPONENT_CLASSES, City, Cls, Component, ComponentState, LandUse, OwnerKind, Road, RoadKind,
};
use crate::proj::LocalProjection;
use crate::rng::{Stream, rng_for, uniform};
use crate::spec::CitySpec;

/// The serial has six digits, so a county holds at most this many of one class.
pub const MAX_SERIAL: u32 = 999_999;

/// Which sides of the road get one.
#[derive(Clone, Copy)]
enum Sides {
    /// None on this kind of road.
    No,
    Both,
    /// One side, the same all along the road (e.g. the side with the power line).
    One,
    Alternate,
    Random,
}

/// Lateral position, as a fraction of the road's half width.
#[derive(Clone, Copy)]
enum Band {
    /// Under the carriageway.
    Carriage,
    /// Along the kerb.
    Kerb,
    /// On the pavement.
    Walk,
    /// Just behind the pavement (shop fronts, kiosks).
    Setback,
    /// In the central reservation.
    Median,
}

impl Band {
    fn range(self) -> (f64, f64) {
        match self {
            Band::Carriage => (0.1, 0.7),
            Band::Kerb => (0.72, 0.8),
            Band::Walk => (0.82, 0.98),
            Band::Setback => (1.03, 1.3),
            Band::Median => (0.03, 0.06),
        }
    }
}

/// One kind of thing every `spacing` metres along roads of each kind (arterial, secondary,
/// branch, lane; 0 = none).
struct Along {
    cls: Cls,
    spacing: [f64; 4],
    sides: [Sides; 4],
    band: Band,
}

use Sides::{Alternate as Alt, Both, No, One, Random as Rnd};

/// Spacings follow common municipal practice (lamps 30–40 m, trees 6–10 m on arterials,
/// hydrants ≤ 120 m, bus stops ~500 m, toilets ~500 m) and are tuned so that the whole city
/// averages about 100 components per grid with no class above ~9.5 per grid, which keeps every
/// class under the 6-digit serial limit even for the 100 000-grid megacity.
const ALONG: &[Along] = &[
    Along {
        cls: Cls::WaterCover,
        spacing: [30.0, 32.0, 40.0, 50.0],
        sides: [Both, Alt, Alt, Rnd],
        band: Band::Carriage,
    },
    Along {
        cls: Cls::SewageCover,
        spacing: [30.0, 30.0, 40.0, 45.0],
        sides: [Both, Both, Rnd, Rnd],
        band: Band::Carriage,
    },
    Along {
        cls: Cls::RainCover,
        spacing: [30.0, 30.0, 40.0, 50.0],
        sides: [Both, Both, Alt, Rnd],
        band: Band::Carriage,
    },
    Along {
        cls: Cls::RainGrate,
        spacing: [22.0, 25.0, 30.0, 40.0],
        sides: [Both, Both, Alt, Rnd],
        band: Band::Kerb,
    },
    Along {
        cls: Cls::PowerCover,
        spacing: [30.0, 35.0, 45.0, 0.0],
        sides: [One, One, One, No],
        band: Band::Walk,
    },
    Along {
        cls: Cls::TelecomCover,
        spacing: [35.0, 40.0, 50.0, 80.0],
        sides: [Both, One, Rnd, Rnd],
        band: Band::Walk,
    },
    Along {
        cls: Cls::GasCover,
        spacing: [40.0, 45.0, 55.0, 80.0],
        sides: [Rnd, Rnd, Rnd, Rnd],
        band: Band::Carriage,
    },
    Along {
        cls: Cls::Hydrant,
        spacing: [120.0, 120.0, 140.0, 0.0],
        sides: [Alt, Alt, Alt, No],
        band: Band::Kerb,
    },
    Along {
        cls: Cls::TelecomBox,
        spacing: [250.0, 300.0, 400.0, 0.0],
        sides: [Alt, Alt, Alt, No],
        band: Band::Walk,
    },
    Along {
        cls: Cls::Pole,
        spacing: [45.0, 50.0, 60.0, 45.0],
        sides: [Alt, Alt, One, One],
        band: Band::Walk,
    },
    Along {
        cls: Cls::Lamp,
        spacing: [30.0, 30.0, 30.0, 25.0],
        sides: [Both, Both, One, One],
        band: Band::Kerb,
    },
    Along {
        cls: Cls::Newsstand,
        spacing: [700.0, 900.0, 0.0, 0.0],
        sides: [Alt, Alt, No, No],
        band: Band::Walk,
    },
    Along {
        cls: Cls::Transformer,
        spacing: [350.0, 450.0, 500.0, 0.0],
        sides: [Alt, Alt, Alt, No],
        band: Band::Setback,
    },
    Along {
        cls: Cls::Camera,
        spacing: [300.0, 450.0, 0.0, 0.0],
        sides: [Alt, Alt, No, No],
        band: Band::Kerb,
    },
    Along {
        cls: Cls::BusShelter,
        spacing: [500.0, 600.0, 0.0, 0.0],
        sides: [Both, Both, No, No],
        band: Band::Kerb,
    },
    Along {
        cls: Cls::TrafficSign,
        spacing: [100.0, 120.0, 150.0, 0.0],
        sides: [Both, Both, Alt, No],
        band: Band::Kerb,
    },
    Along {
        cls: Cls::Guardrail,
        spacing: [50.0, 0.0, 0.0, 0.0],
        sides: [Rnd, No, No, No],
        band: Band::Median,
    },
    Along {
        cls: Cls::Guardrail,
        spacing: [0.0, 80.0, 0.0, 0.0],
        sides: [No, Both, No, No],
        band: Band::Kerb,
    },
    Along {
        cls: Cls::BikeRack,
        spacing: [150.0, 120.0, 150.0, 0.0],
        sides: [Alt, Alt, Alt, No],
        band: Band::Walk,
    },
    Along {
        cls: Cls::Toilet,
        spacing: [500.0, 600.0, 800.0, 0.0],
        sides: [Alt, Alt, Alt, No],
        band: Band::Setback,
    },
    Along {
        cls: Cls::Bin,
        spacing: [50.0, 50.0, 60.0, 70.0],
        sides: [Both, Both, Alt, Rnd],
        band: Band::Walk,
    },
    Along {
        cls: Cls::Billboard,
        spacing: [28.0, 25.0, 28.0, 50.0],
        sides: [Both, Both, Both, Rnd],
        band: Band::Setback,
    },
    Along {
        cls: Cls::Tree,
        spacing: [7.5, 0.0, 0.0, 0.0],
        sides: [Both, No, No, No],
        band: Band::Walk,
    },
    Along {
        cls: Cls::Notice,
        spacing: [400.0, 350.0, 400.0, 0.0],
        sides: [Alt, Alt, Alt, No],
        band: Band::Setback,
    },
];

/// Things inside grids: mean count per grid for built-up, park and water grids.
struct Inside {
    cls: Cls,
    per_grid: [f64; 3],
}

const INSIDE: &[Inside] = &[
    Inside {
        cls: Cls::Green,
        per_grid: [4.5, 4.0, 0.0],
    },
    Inside {
        cls: Cls::Bench,
        per_grid: [0.8, 8.0, 0.0],
    },
    Inside {
        cls: Cls::Fitness,
        per_grid: [0.7, 2.0, 0.0],
    },
    Inside {
        cls: Cls::Bin,
        per_grid: [3.5, 4.0, 0.0],
    },
    Inside {
        cls: Cls::Lamp,
        per_grid: [1.0, 8.0, 0.0],
    },
    Inside {
        cls: Cls::Toilet,
        per_grid: [0.03, 0.4, 0.0],
    },
    Inside {
        cls: Cls::Parking,
        per_grid: [0.05, 0.1, 0.0],
    },
    Inside {
        cls: Cls::Site,
        per_grid: [0.006, 0.0, 0.0],
    },
    Inside {
        cls: Cls::WaterCover,
        per_grid: [3.5, 0.5, 0.0],
    },
    Inside {
        cls: Cls::SewageCover,
        per_grid: [3.5, 1.0, 0.0],
    },
    Inside {
        cls: Cls::RainCover,
        per_grid: [3.5, 1.5, 0.0],
    },
    Inside {
        cls: Cls::RainGrate,
        per_grid: [2.5, 1.0, 0.0],
    },
    Inside {
        cls: Cls::PowerCover,
        per_grid: [2.0, 0.2, 0.0],
    },
    Inside {
        cls: Cls::TelecomCover,
        per_grid: [2.0, 0.0, 0.0],
    },
    Inside {
        cls: Cls::GasCover,
        per_grid: [1.9, 0.0, 0.0],
    },
    Inside {
        cls: Cls::Pole,
        per_grid: [4.5, 0.0, 0.0],
    },
    Inside {
        cls: Cls::Transformer,
        per_grid: [0.3, 0.1, 0.0],
    },
    Inside {
        cls: Cls::TelecomBox,
        per_grid: [0.3, 0.0, 0.0],
    },
    Inside {
        cls: Cls::BikeRack,
        per_grid: [1.7, 0.2, 0.0],
    },
    Inside {
        cls: Cls::Notice,
        per_grid: [0.2, 0.5, 0.0],
    },
    Inside {
        cls: Cls::Billboard,
        per_grid: [2.0, 0.0, 0.0],
    },
];

enum Phase {
    Roads(usize),
    Grids(usize),
    Done,
}

pub(crate) struct ComponentStream<'a> {
    city: &'a City,
    net: Network<'a>,
    seed: u64,
    county: String,
    multiplier: f64,
    phase: Phase,
    /// Components of the current road or grid; reused so its capacity stays allocated
    /// (reallocating big buffers made glibc consolidate its heap over and over).
    chunk: VecDeque<Component>,
    counters: Vec<u32>,
    geom: RoadGeom,
}

impl<'a> ComponentStream<'a> {
    pub fn new(spec: &CitySpec, city: &'a City) -> Self {
        let proj = LocalProjection::new(spec.centre);
        let m = spec.components.multiplier;
        ComponentStream {
            city,
            net: Network::new(&city.grids, &city.roads, proj),
            seed: spec.seed,
            county: spec.district_code.clone(),
            multiplier: if m.is_finite() {
                m.clamp(0.0, 100.0)
            } else {
                0.0
            },
            phase: Phase::Roads(0),
            chunk: VecDeque::with_capacity(4096),
            counters: vec![0; COMPONENT_CLASSES.len()],
            geom: RoadGeom::default(),
        }
    }

    fn refill(&mut self) -> bool {
        let mut buf = std::mem::take(&mut self.chunk);
        match self.phase {
            Phase::Roads(r) if r < self.city.roads.len() => {
                self.phase = Phase::Roads(r + 1);
                if self.multiplier > 0.0 {
                    self.along_road(r, &mut buf);
                }
            }
            Phase::Roads(_) => self.phase = Phase::Grids(0),
            Phase::Grids(g) if g < self.city.grids.len() => {
                self.phase = Phase::Grids(g + 1);
                if self.multiplier > 0.0 {
                    self.inside_grid(g, &mut buf);
                }
            }
            Phase::Grids(_) => self.phase = Phase::Done,
            Phase::Done => return false,
        }
        self.chunk = buf;
        true
    }

    fn emit(
        &mut self,
        out: &mut VecDeque<Component>,
        cls: Cls,
        c: geo_types::Coord<f64>,
        grid: u32,
        road: Option<&str>,
        rng: &mut ChaCha8Rng,
    ) {
        let counter = &mut self.counters[cls as usize];
        if *counter >= MAX_SERIAL {
            return;
        }
        *counter += 1;
        let info = cls.info();
        let mut id = String::with_capacity(16);
        id.push_str(&self.county);
        id.push_str(info.code);
        let mut digits = [b'0'; 6];
        let mut n = *counter;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        id.extend(digits.iter().map(|&b| char::from(b)));
        let u: f64 = rng.random();
        let state = if u < 0.955 {
            ComponentState::Intact
        } else if u < 0.975 {
            ComponentState::Damaged
        } else if u < 0.981 {
            ComponentState::Missing
        } else if u < 0.991 {
            ComponentState::Occupied
        } else {
            ComponentState::Abandoned
        };
        let owner = match cls {
            // Poles carry power, telecom or municipal lines.
            Cls::Pole => match rng.random_range(0..10) {
                0..=4 => OwnerKind::Power,
                5..=7 => OwnerKind::Telecom,
                _ => OwnerKind::MunicipalWorks,
            },
            _ => info.owner,
        };
        out.push_back(Component {
            id,
            class_code: info.code.to_owned(),
            lon: c.x,
            lat: c.y,
            grid_code: self.city.grids[grid as usize].code.clone(),
            state,
            owner,
            road: road.map(str::to_owned),
        });
    }

    fn along_road(&mut self, r: usize, out: &mut VecDeque<Component>) {
        let road = &self.city.roads[r];
        let mut g = std::mem::take(&mut self.geom);
        self.net.geom_into(r, &mut g);
        self.place_along(road, r, &g, out);
        self.geom = g;
    }

    fn place_along(
        &mut self,
        road: &'a Road,
        r: usize,
        g: &RoadGeom,
        out: &mut VecDeque<Component>,
    ) {
        let len = g.length();
        if len < 1.0 {
            return;
        }
        let k = road.kind.index();
        let hw = road.kind.half_width_m();
        let mut rng = rng_for(self.seed, Stream::RoadComponents, r as u64, 0);
        let one_side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let name = road.name.as_str();
        for rule in ALONG {
            let spacing = rule.spacing[k] / self.multiplier;
            if !(spacing > 0.0 && spacing.is_finite()) {
                continue;
            }
            let mut cursor = JunctionCursor::new(&g.junctions);
            let mut alt = one_side;
            let mut s = rng.random::<f64>() * spacing;
            let (lo, hi) = rule.band.range();
            while s < len {
                if !cursor.blocked(s) {
                    let sides: &[f64] = match rule.sides[k] {
                        Sides::No => &[],
                        Sides::Both => &[1.0, -1.0],
                        Sides::One => {
                            if one_side > 0.0 {
                                &[1.0]
                            } else {
                                &[-1.0]
                            }
                        }
                        Sides::Alternate => {
                            alt = -alt;
                            if alt > 0.0 { &[1.0] } else { &[-1.0] }
                        }
                        Sides::Random => {
                            if rng.random_bool(0.5) {
                                &[1.0]
                            } else {
                                &[-1.0]
                            }
                        }
                    };
                    for &side in sides {
                        let offset = (hw * uniform(&mut rng, lo, hi)).max(0.4);
                        if let Some((c, grid)) = self.net.place(g, s, side, offset) {
                            self.emit(out, rule.cls, c, grid, Some(name), &mut rng);
                        }
                    }
                }
                s += spacing * uniform(&mut rng, 0.85, 1.15);
            }
        }
        self.at_junctions(road.kind, g, name, &mut rng, out);
    }

    /// Name plates at every junction; signals and cameras where main roads cross.
    fn at_junctions(
        &mut self,
        kind: RoadKind,
        g: &RoadGeom,
        name: &str,
        rng: &mut ChaCha8Rng,
        out: &mut VecDeque<Component>,
    ) {
        if self.multiplier <= 0.0 {
            return;
        }
        let len = g.length();
        let hw = kind.half_width_m();
        for &j in &g.junctions {
            let before = j.s - j.margin - 2.0;
            let after = j.s + j.margin + 2.0;
            let mut put =
                |this: &mut Self, cls: Cls, s: f64, side: f64, band: Band, rng: &mut ChaCha8Rng| {
                    if s < 0.0 || s > len {
                        return;
                    }
                    let (lo, hi) = band.range();
                    if let Some((c, grid)) = this.net.place(g, s, side, hw * uniform(rng, lo, hi)) {
                        this.emit(out, cls, c, grid, Some(name), rng);
                    }
                };
            if kind != RoadKind::Lane && rng.random_bool(self.multiplier.min(1.0)) {
                let s = if after <= len { after } else { before };
                put(self, Cls::NamePlate, s, -1.0, Band::Walk, rng);
            }
            let signals = match kind {
                RoadKind::Arterial => j.other <= RoadKind::Secondary,
                RoadKind::Secondary => j.other == RoadKind::Arterial,
                _ => false,
            };
            if signals {
                // One signal head per approach: before the junction on the right, after it on the left.
                put(self, Cls::TrafficLight, before, -1.0, Band::Kerb, rng);
                put(self, Cls::TrafficLight, after, 1.0, Band::Kerb, rng);
            }
            if kind == RoadKind::Arterial && j.other == RoadKind::Arterial {
                put(self, Cls::Camera, before - 6.0, -1.0, Band::Kerb, rng);
            }
        }
    }

    fn inside_grid(&mut self, g: usize, out: &mut VecDeque<Component>) {
        let grid = &self.city.grids[g];
        let col = match grid.land_use {
            LandUse::Built => 0,
            LandUse::Park => 1,
            LandUse::Water => 2,
        };
        let mut rng = rng_for(self.seed, Stream::GridComponents, g as u64, 0);
        for rule in INSIDE {
            let mean = rule.per_grid[col] * self.multiplier;
            if mean <= 0.0 {
                continue;
            }
            let count = (mean + rng.random::<f64>()).floor() as u32;
            for _ in 0..count {
                if let Some(c) = self.net.loc.sample_inside(g as u32, &mut rng) {
                    self.emit(out, rule.cls, c, g as u32, None, &mut rng);
                }
            }
        }
    }
}

impl Iterator for ComponentStream<'_> {
    type Item = Component;

    fn next(&mut self) -> Option<Component> {
        loop {
            if let Some(c) = self.chunk.pop_front() {
                return Some(c);
            }
            if !self.refill() {
                return None;
            }
        }
    }
}
