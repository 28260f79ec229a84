//! Photo evidence for the cityloop urban-management platform.
//!
//! Citizens report a problem with "before" photos; a worker closes it with
//! an "after" photo. This crate stores those files and helps decide whether
//! an after-photo is believable:
//!
//! * [`BlobStore`]: content-addressed, crash-safe storage of the files, with
//!   cached thumbnails and an age-guarded orphan sweep.
//! * [`exif_info`]: capture time, GPS, camera and orientation from EXIF.
//! * [`plausibility`]: flags after-photos that predate dispatch, were taken
//!   far from the case, or are (near-)copies of a before-photo ([`dhash`]).
//!
//! The library never reads the clock: every "now" or cutoff is a parameter,
//! so results are reproducible and tests need no sleeping.

mod error;
mod hash;
mod imaging;
mod media;
mod meta;
mod plausibility;
mod store;
#[cfg(test)]
mod test_support;

pub use error::{EvidenceError, Result};
pub use hash::{HASH_HEX_LEN, is_valid_hash, sha256_hex};
pub use imaging::{
    NEAR_DUPLICATE_MAX_DISTANCE, THUMBNAIL_QUALITY, dhash, hamming_distance, placeholder_jpeg,
};
pub use media::{MediaType, sniff_media_type};
pub use meta::{ExifInfo, exif_info};
pub use plausibility::{
    DEFAULT_ASSUME_OFFSET, DEFAULT_MAX_DISTANCE_M, Flag, PlausibilityInput, haversine_m,
    plausibility,
};
pub use store::{BlobInfo, BlobStore, DEFAULT_MAX_BLOB_SIZE, OrphanReport};
