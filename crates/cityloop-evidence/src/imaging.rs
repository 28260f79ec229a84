//! Pixel work: decoding, thumbnails and the perceptual difference hash.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageReader, Rgb, RgbImage};

use crate::error::{EvidenceError, Result};
use crate::meta::exif_info;

/// JPEG quality of thumbnails: small files, no visible blocking at
/// list-view sizes.
pub const THUMBNAIL_QUALITY: u8 = 80;

/// Hamming distance up to which two dHashes count as the same scene.
pub const NEAR_DUPLICATE_MAX_DISTANCE: u32 = 6;

/// Decodes JPEG/PNG/WebP under the `image` crate's default allocation
/// limit, which is what stops a tiny file declaring gigapixel dimensions
/// from exhausting memory.
fn decode(bytes: &[u8]) -> Result<DynamicImage> {
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| EvidenceError::Decode(e.to_string()))?
        .decode()
        .map_err(|e| EvidenceError::Decode(e.to_string()))
}

/// The rotation/flip the camera asked for, read from the original bytes.
fn orientation(bytes: &[u8]) -> Option<Orientation> {
    let raw = exif_info(bytes)?.orientation?;
    Orientation::from_exif(u8::try_from(raw).ok()?)
}

/// Fits the image into a `max_edge` square (never upscaling), turns it
/// upright and encodes it as JPEG.
pub(crate) fn render_thumbnail(bytes: &[u8], max_edge: u32) -> Result<Vec<u8>> {
    if max_edge == 0 {
        return Err(EvidenceError::InvalidEdge);
    }
    let mut img = decode(bytes)?;
    // Shrinking first and rotating second is equivalent inside a square
    // box and avoids rotating a full-resolution frame.
    if img.width() > max_edge || img.height() > max_edge {
        img = img.thumbnail(max_edge, max_edge);
    }
    if let Some(o) = orientation(bytes) {
        img.apply_orientation(o);
    }
    let rgb = flatten_onto_white(&img);
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, THUMBNAIL_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| EvidenceError::Encode(e.to_string()))?;
    Ok(out)
}

/// JPEG has no alpha; dropping it would expose whatever colour hides under
/// transparent pixels, so composite onto white like a viewer would.
fn flatten_onto_white(img: &DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let a = u16::from(a);
        let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        Rgb([blend(r), blend(g), blend(b)])
    })
}

/// 64-bit difference hash of an image, or `None` if it cannot be decoded.
///
/// Each bit says whether a cell of a 9x8 grey thumbnail is brighter than
/// its right neighbour. Because only the *sign* of local gradients is kept,
/// re-encoding, resizing and uniform brightness changes barely move the
/// hash, which is exactly how a recycled "before" photo gets dressed up as
/// an "after" photo.
pub fn dhash(bytes: &[u8]) -> Option<u64> {
    let mut img = decode(bytes).ok()?;
    // Orientation changes the grid, so upright the image first; a cheap
    // box-filter pre-shrink keeps that rotation small.
    if img.width() > 256 || img.height() > 256 {
        img = img.thumbnail(256, 256);
    }
    if let Some(o) = orientation(bytes) {
        img.apply_orientation(o);
    }
    let grey = img.thumbnail_exact(9, 8).to_luma8();
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let left = grey.get_pixel(x, y).0[0];
            let right = grey.get_pixel(x + 1, y).0[0];
            hash = (hash << 1) | u64::from(left > right);
        }
    }
    Some(hash)
}

/// Number of differing bits between two hashes.
pub fn hamming_distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{
        ExifSpec, encode_jpeg, gradient_jpeg, jpeg_with_exif, png_bytes, scene, webp_bytes,
    };
    use image::imageops::{self, FilterType};

    fn dims(jpeg: &[u8]) -> (u32, u32) {
        let img = image::load_from_memory(jpeg).unwrap();
        (img.width(), img.height())
    }

    #[test]
    fn thumbnail_fits_box_keeping_aspect() {
        let thumb = render_thumbnail(&gradient_jpeg(400, 200), 100).unwrap();
        assert_eq!(
            crate::media::sniff_media_type(&thumb),
            crate::MediaType::Jpeg
        );
        assert_eq!(dims(&thumb), (100, 50));
        let tall = render_thumbnail(&gradient_jpeg(90, 300), 60).unwrap();
        assert_eq!(dims(&tall), (18, 60));
    }

    #[test]
    fn thumbnail_never_upscales() {
        assert_eq!(
            dims(&render_thumbnail(&gradient_jpeg(40, 30), 500).unwrap()),
            (40, 30)
        );
    }

    #[test]
    fn thumbnail_applies_exif_rotation() {
        let spec = ExifSpec {
            orientation: Some(6),
            ..ExifSpec::default()
        };
        let rotated = jpeg_with_exif(&gradient_jpeg(400, 200), &spec);
        assert_eq!(dims(&render_thumbnail(&rotated, 100).unwrap()), (50, 100));
    }

    #[test]
    fn thumbnail_handles_png_alpha_and_webp() {
        let png = render_thumbnail(&png_bytes(64, 32), 32).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (32, 16));
        // The transparent half becomes white, not the hidden red.
        let p = img.get_pixel(2, 8).0;
        assert!(p.iter().all(|&c| c > 240), "{p:?}");
        assert_eq!(
            dims(&render_thumbnail(&webp_bytes(50, 20), 25).unwrap()),
            (25, 10)
        );
    }

    #[test]
    fn thumbnail_rejects_zero_edge_and_non_images() {
        assert!(matches!(
            render_thumbnail(&gradient_jpeg(8, 8), 0),
            Err(EvidenceError::InvalidEdge)
        ));
        assert!(matches!(
            render_thumbnail(b"%PDF-1.4 not a picture", 64),
            Err(EvidenceError::Decode(_))
        ));
    }

    #[test]
    fn dhash_is_stable_under_brightening_and_resizing() {
        let original = scene(0, 640, 480);
        let h0 = dhash(&encode_jpeg(&original)).unwrap();
        let edited = imageops::resize(
            &imageops::colorops::brighten(&original, 18),
            500,
            375,
            FilterType::Triangle,
        );
        let h1 = dhash(&encode_jpeg(&edited)).unwrap();
        let d = hamming_distance(h0, h1);
        assert!(d <= NEAR_DUPLICATE_MAX_DISTANCE, "distance {d}");
    }

    #[test]
    fn dhash_separates_different_scenes() {
        let a = dhash(&encode_jpeg(&scene(0, 640, 480))).unwrap();
        let b = dhash(&encode_jpeg(&scene(1, 640, 480))).unwrap();
        let d = hamming_distance(a, b);
        assert!(d > NEAR_DUPLICATE_MAX_DISTANCE * 2, "distance {d}");
    }

    #[test]
    fn dhash_handles_images_smaller_than_its_grid() {
        assert!(dhash(&gradient_jpeg(1, 1)).is_some());
        assert!(dhash(&png_bytes(4, 3)).is_some());
    }

    #[test]
    fn dhash_of_undecodable_bytes_is_none() {
        assert_eq!(dhash(b"definitely not an image"), None);
        assert_eq!(dhash(&[0xFF, 0xD8, 0xFF, 0xE0]), None);
    }

    #[test]
    fn hamming_counts_bits() {
        assert_eq!(hamming_distance(0, 0), 0);
        assert_eq!(hamming_distance(0b1011, 0b0001), 2);
        assert_eq!(hamming_distance(u64::MAX, 0), 64);
    }
}

/// A generated stand-in photo (a 320×240 JPEG of soft colour bands, distinct per `seed`) for demo
/// data and tests, so that nothing third-party has to be shipped.
pub fn placeholder_jpeg(seed: u64) -> Vec<u8> {
    let mix = |k: u64| {
        let mut z = seed.wrapping_add(k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let base = [mix(1), mix(2), mix(3)].map(|v| 60 + (v % 140) as u8);
    let img = RgbImage::from_fn(320, 240, |x, y| {
        let band = ((x / 40 + y / 30) % 4) as u8;
        Rgb([
            base[0].saturating_add(band * 12),
            base[1].saturating_add(((y * 40) / 240) as u8),
            base[2].saturating_sub(((x * 30) / 320) as u8),
        ])
    });
    let mut out = Vec::new();
    // Encoding an in-memory RGB buffer cannot fail short of allocation failure.
    let _ = JpegEncoder::new_with_quality(&mut out, 70).encode_image(&img);
    out
}

#[cfg(test)]
mod placeholder_tests {
    use super::*;

    #[test]
    fn placeholders_decode_and_differ() {
        let a = placeholder_jpeg(1);
        let b = placeholder_jpeg(2);
        assert_ne!(a, b);
        assert!(decode(&a).is_ok());
        assert_eq!(a, placeholder_jpeg(1));
    }
}
