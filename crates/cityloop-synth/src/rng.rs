//! Seeded randomness. Every consumer draws from its own stream keyed by what it works on, so a
//! change in one part of the generator does not reshuffle the rest of the city.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Layout = 1,
    Cell = 2,
    Subdivide = 3,
    Names = 4,
    Address = 5,
    RoadComponents = 6,
    GridComponents = 7,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) fn rng_for(seed: u64, stream: Stream, a: u64, b: u64) -> ChaCha8Rng {
    let h = splitmix(splitmix(splitmix(seed ^ ((stream as u64) << 56)) ^ a) ^ b.rotate_left(32));
    ChaCha8Rng::seed_from_u64(h)
}

#[inline]
pub(crate) fn uniform(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}
