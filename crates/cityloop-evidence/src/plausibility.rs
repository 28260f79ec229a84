//! Plausibility checks on an "after" photo submitted as proof of a fix.
//!
//! None of these proves fraud; each flag is a reason for a human reviewer
//! to look twice, and carries the numbers that triggered it so the reviewer
//! does not have to recompute anything.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::imaging::{NEAR_DUPLICATE_MAX_DISTANCE, hamming_distance};
use crate::store::BlobInfo;

/// Default radius within which an after-photo is considered on site.
/// Phone GNSS in street canyons is often off by 50-100 m, so tighter
/// values mostly flag honest workers.
pub const DEFAULT_MAX_DISTANCE_M: f64 = 200.0;

/// Mean Earth radius (IUGG), in metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Zone assumed for EXIF times that carry no offset: the platform's
/// deployments run on China Standard Time (+08:00).
pub const DEFAULT_ASSUME_OFFSET: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    // Evaluated at compile time, so an out-of-range constant fails the build.
    None => panic!("offset out of range"),
};

/// Everything the checks need about one after-photo and its case.
#[derive(Debug, Clone, PartialEq)]
pub struct PlausibilityInput {
    /// The after-photo as returned by `BlobStore::put`.
    pub after: BlobInfo,
    /// Content hashes of the case's before-photos.
    pub before_hashes: BTreeSet<String>,
    /// When the work order was dispatched; a fix photo cannot predate it.
    pub dispatched_at: DateTime<Utc>,
    /// Reported problem location, WGS-84 `(lat, lon)`.
    pub case_location: Option<(f64, f64)>,
    pub max_distance_m: f64,
    /// Zone for EXIF times without OffsetTimeOriginal.
    pub assume_offset: FixedOffset,
    /// Slack for camera clock error before flagging a time; zero by default.
    pub clock_tolerance: TimeDelta,
    /// dHash of the after-photo, if computed.
    pub after_dhash: Option<u64>,
    /// dHashes of before-photos, keyed by their content hash.
    pub before_dhashes: BTreeMap<String, u64>,
}

impl PlausibilityInput {
    /// Input with the platform defaults: 200 m radius, +08:00, no clock
    /// slack, no before-photos and no perceptual hashes.
    pub fn new(after: BlobInfo, dispatched_at: DateTime<Utc>) -> Self {
        Self {
            after,
            before_hashes: BTreeSet::new(),
            dispatched_at,
            case_location: None,
            max_distance_m: DEFAULT_MAX_DISTANCE_M,
            assume_offset: DEFAULT_ASSUME_OFFSET,
            clock_tolerance: TimeDelta::zero(),
            after_dhash: None,
            before_dhashes: BTreeMap::new(),
        }
    }
}

/// A reason to doubt an after-photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flag {
    /// EXIF capture time is earlier than dispatch (beyond the tolerance),
    /// i.e. the photo may show the site before anyone was sent to fix it.
    TakenBeforeDispatch {
        taken_at: DateTime<Utc>,
        dispatched_at: DateTime<Utc>,
        /// Whether `taken_at` relied on the assumed zone rather than an
        /// offset recorded by the camera.
        offset_assumed: bool,
    },
    /// EXIF position is farther from the case than allowed.
    FarFromCase {
        distance_m: f64,
        max_distance_m: f64,
    },
    /// Byte-identical to one of the before-photos.
    SameAsBefore { hash: String },
    /// Perceptually near-identical to a before-photo (re-encoded, resized
    /// or brightened copy).
    NearDuplicateOfBefore { hash: String, distance: u32 },
    /// No usable capture time in EXIF.
    NoExifTime,
    /// No usable GPS position in EXIF.
    NoExifGps,
}

/// Runs every check and returns the flags in a stable order: time, place,
/// then duplicates (by before-photo hash).
pub fn plausibility(input: &PlausibilityInput) -> Vec<Flag> {
    let mut flags = Vec::new();
    let exif = input.after.exif.as_ref();

    match exif.and_then(|e| e.taken_at.map(|t| (t, e.offset))) {
        None => flags.push(Flag::NoExifTime),
        Some((naive, recorded)) => {
            let offset = recorded.unwrap_or(input.assume_offset);
            let taken_at = naive
                .checked_sub_offset(offset)
                .map(|utc| utc.and_utc())
                .unwrap_or_else(|| naive.and_utc());
            if taken_at + input.clock_tolerance < input.dispatched_at {
                flags.push(Flag::TakenBeforeDispatch {
                    taken_at,
                    dispatched_at: input.dispatched_at,
                    offset_assumed: recorded.is_none(),
                });
            }
        }
    }

    match exif.and_then(|e| e.gps) {
        None => flags.push(Flag::NoExifGps),
        Some(photo) => {
            if let Some(case) = input.case_location {
                let distance_m = haversine_m(photo, case);
                // A NaN distance (corrupt case coordinates) says nothing
                // about the worker, so it raises no flag.
                if distance_m > input.max_distance_m {
                    flags.push(Flag::FarFromCase {
                        distance_m,
                        max_distance_m: input.max_distance_m,
                    });
                }
            }
        }
    }

    if input.before_hashes.contains(&input.after.hash) {
        flags.push(Flag::SameAsBefore {
            hash: input.after.hash.clone(),
        });
    }

    if let Some(after) = input.after_dhash {
        for (hash, &before) in &input.before_dhashes {
            // An identical file is already reported as SameAsBefore.
            if *hash == input.after.hash {
                continue;
            }
            let distance = hamming_distance(after, before);
            if distance <= NEAR_DUPLICATE_MAX_DISTANCE {
                flags.push(Flag::NearDuplicateOfBefore {
                    hash: hash.clone(),
                    distance,
                });
            }
        }
    }
    flags
}

/// Great-circle distance in metres between two WGS-84 `(lat, lon)` points.
///
/// Haversine on a sphere is within 0.5 % of the ellipsoidal distance, far
/// below GNSS noise at the few-hundred-metre scale that matters here.
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    // Clamp guards asin against rounding pushing h a hair above 1.
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::sha256_hex;
    use crate::media::MediaType;
    use crate::meta::ExifInfo;
    use chrono::{NaiveDate, TimeZone};

    const CASE: (f64, f64) = (31.2304, 121.4737);

    fn dispatched() -> DateTime<Utc> {
        // 2024-05-01 10:00 +08:00
        Utc.with_ymd_and_hms(2024, 5, 1, 2, 0, 0).unwrap()
    }

    fn after(taken: Option<(u32, u32)>, gps: Option<(f64, f64)>) -> BlobInfo {
        BlobInfo {
            hash: sha256_hex(b"after"),
            size: 5,
            media_type: MediaType::Jpeg,
            exif: Some(ExifInfo {
                taken_at: taken.map(|(h, m)| {
                    NaiveDate::from_ymd_opt(2024, 5, 1)
                        .unwrap()
                        .and_hms_opt(h, m, 0)
                        .unwrap()
                }),
                gps,
                ..ExifInfo::default()
            }),
        }
    }

    fn input(info: BlobInfo) -> PlausibilityInput {
        let mut i = PlausibilityInput::new(info, dispatched());
        i.case_location = Some(CASE);
        i
    }

    #[test]
    fn clean_photo_raises_nothing() {
        let i = input(after(Some((11, 0)), Some((31.2310, 121.4740))));
        assert_eq!(plausibility(&i), vec![]);
    }

    #[test]
    fn defaults() {
        let i = PlausibilityInput::new(after(None, None), dispatched());
        assert_eq!(i.max_distance_m, 200.0);
        assert_eq!(i.assume_offset.local_minus_utc(), 8 * 3600);
        assert_eq!(i.clock_tolerance, TimeDelta::zero());
    }

    #[test]
    fn taken_before_dispatch_uses_assumed_offset() {
        // 09:30 local (+08:00) = 01:30 UTC, before the 02:00 UTC dispatch.
        let i = input(after(Some((9, 30)), Some(CASE)));
        let flags = plausibility(&i);
        assert_eq!(
            flags,
            vec![Flag::TakenBeforeDispatch {
                taken_at: Utc.with_ymd_and_hms(2024, 5, 1, 1, 30, 0).unwrap(),
                dispatched_at: dispatched(),
                offset_assumed: true,
            }]
        );
    }

    #[test]
    fn recorded_offset_beats_assumed_one() {
        // 09:30 at UTC+00:00 is 09:30 UTC, well after dispatch.
        let mut info = after(Some((9, 30)), Some(CASE));
        info.exif.as_mut().unwrap().offset = FixedOffset::east_opt(0);
        assert_eq!(plausibility(&input(info)), vec![]);
    }

    #[test]
    fn clock_tolerance_absorbs_small_skew() {
        let mut i = input(after(Some((9, 58)), Some(CASE)));
        assert_eq!(plausibility(&i).len(), 1);
        i.clock_tolerance = TimeDelta::minutes(5);
        assert_eq!(plausibility(&i), vec![]);
    }

    #[test]
    fn far_from_case_reports_distance() {
        // About 0.01 deg latitude north: ~1.11 km.
        let i = input(after(Some((11, 0)), Some((31.2404, 121.4737))));
        match plausibility(&i).as_slice() {
            [
                Flag::FarFromCase {
                    distance_m,
                    max_distance_m,
                },
            ] => {
                assert!((distance_m - 1111.95).abs() < 1.0, "{distance_m}");
                assert_eq!(*max_distance_m, 200.0);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn no_case_location_means_no_distance_check() {
        let mut i = input(after(Some((11, 0)), Some((0.0, 0.0))));
        i.case_location = None;
        assert_eq!(plausibility(&i), vec![]);
    }

    #[test]
    fn missing_exif_time_and_gps_are_flagged() {
        assert_eq!(
            plausibility(&input(after(None, None))),
            vec![Flag::NoExifTime, Flag::NoExifGps]
        );
        let mut bare = after(None, None);
        bare.exif = None;
        assert_eq!(
            plausibility(&input(bare)),
            vec![Flag::NoExifTime, Flag::NoExifGps]
        );
    }

    #[test]
    fn same_as_before_by_content_hash() {
        let info = after(Some((11, 0)), Some(CASE));
        let mut i = input(info.clone());
        i.before_hashes.insert(sha256_hex(b"other before"));
        assert_eq!(plausibility(&i), vec![]);
        i.before_hashes.insert(info.hash.clone());
        assert_eq!(
            plausibility(&i),
            vec![Flag::SameAsBefore { hash: info.hash }]
        );
    }

    #[test]
    fn near_duplicate_by_dhash_within_threshold() {
        let info = after(Some((11, 0)), Some(CASE));
        let mut i = input(info.clone());
        let (close, far) = (sha256_hex(b"close"), sha256_hex(b"far"));
        i.after_dhash = Some(0xF0F0_F0F0_F0F0_F0F0);
        i.before_dhashes
            .insert(close.clone(), 0xF0F0_F0F0_F0F0_F0F0 ^ 0b11_1111);
        i.before_dhashes
            .insert(far.clone(), 0xF0F0_F0F0_F0F0_F0F0 ^ 0b111_1111);
        // The identical file is SameAsBefore's business, not repeated here.
        i.before_dhashes
            .insert(info.hash.clone(), 0xF0F0_F0F0_F0F0_F0F0);
        assert_eq!(
            plausibility(&i),
            vec![Flag::NearDuplicateOfBefore {
                hash: close,
                distance: 6
            }]
        );
        i.after_dhash = None;
        assert_eq!(plausibility(&i), vec![]);
    }

    #[test]
    fn flags_serialize_with_snake_case_tags() {
        let flags = vec![
            Flag::NoExifTime,
            Flag::FarFromCase {
                distance_m: 512.5,
                max_distance_m: 200.0,
            },
            Flag::NearDuplicateOfBefore {
                hash: "ab".into(),
                distance: 3,
            },
        ];
        let json = serde_json::to_string(&flags).unwrap();
        assert_eq!(
            json,
            r#"[{"kind":"no_exif_time"},{"kind":"far_from_case","distance_m":512.5,"max_distance_m":200.0},{"kind":"near_duplicate_of_before","hash":"ab","distance":3}]"#
        );
        let back: Vec<Flag> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, flags);
        let t = serde_json::to_value(Flag::TakenBeforeDispatch {
            taken_at: dispatched(),
            dispatched_at: dispatched(),
            offset_assumed: false,
        })
        .unwrap();
        assert_eq!(t["kind"], "taken_before_dispatch");
        assert_eq!(t["taken_at"], "2024-05-01T02:00:00Z");
    }

    #[test]
    fn haversine_known_distances() {
        assert_eq!(haversine_m(CASE, CASE), 0.0);
        // One degree of longitude on the equator.
        assert!((haversine_m((0.0, 0.0), (0.0, 1.0)) - 111_195.0).abs() < 1.0);
        // Shanghai to Beijing, about 1,067 km.
        let d = haversine_m((31.2304, 121.4737), (39.9042, 116.4074));
        assert!((d - 1_067_000.0).abs() < 3_000.0, "{d}");
        // Antipodes do not produce NaN.
        let d = haversine_m((0.0, 0.0), (0.0, 180.0));
        assert!((d - std::f64::consts::PI * EARTH_RADIUS_M).abs() < 1.0);
    }
}
