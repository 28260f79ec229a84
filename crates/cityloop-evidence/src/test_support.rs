//! Fixture builders shared by the unit tests: synthetic images and JPEGs
//! carrying a hand-assembled EXIF APP1 segment.

use std::io::Cursor;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

/// Which EXIF tags to write; `None` leaves a tag out.
#[derive(Debug, Clone, Default)]
pub struct ExifSpec {
    pub date_time_original: Option<&'static str>,
    pub subsec_original: Option<&'static str>,
    pub offset_original: Option<&'static str>,
    pub date_time: Option<&'static str>,
    pub gps: Option<(f64, f64)>,
    pub make: Option<&'static str>,
    pub model: Option<&'static str>,
    pub orientation: Option<u16>,
}

fn ascii(tag: Tag, s: &str) -> Field {
    Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![s.as_bytes().to_vec()]),
    }
}

/// Degrees/minutes/seconds the way phones write them, seconds to 1e-6.
fn dms(deg: f64) -> Value {
    let d = deg.trunc();
    let minutes = (deg - d) * 60.0;
    let m = minutes.trunc();
    let s = (minutes - m) * 60.0;
    let parts: Vec<Rational> = vec![
        (d as u32, 1).into(),
        (m as u32, 1).into(),
        ((s * 1e6).round() as u32, 1_000_000).into(),
    ];
    Value::Rational(parts)
}

/// A big-endian TIFF structure holding the requested tags.
pub fn exif_tiff(spec: &ExifSpec) -> Vec<u8> {
    // The writer refuses an empty IFD, so always carry one neutral tag.
    let mut fields = vec![ascii(Tag::Software, "cityloop-test")];
    let pairs = [
        (Tag::DateTimeOriginal, spec.date_time_original),
        (Tag::SubSecTimeOriginal, spec.subsec_original),
        (Tag::OffsetTimeOriginal, spec.offset_original),
        (Tag::DateTime, spec.date_time),
        (Tag::Make, spec.make),
        (Tag::Model, spec.model),
    ];
    for (tag, value) in pairs {
        if let Some(v) = value {
            fields.push(ascii(tag, v));
        }
    }
    if let Some(o) = spec.orientation {
        fields.push(Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![o]),
        });
    }
    if let Some((lat, lon)) = spec.gps {
        fields.push(ascii(
            Tag::GPSLatitudeRef,
            if lat < 0.0 { "S" } else { "N" },
        ));
        fields.push(Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: dms(lat.abs()),
        });
        fields.push(ascii(
            Tag::GPSLongitudeRef,
            if lon < 0.0 { "W" } else { "E" },
        ));
        fields.push(Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: dms(lon.abs()),
        });
    }
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut buf = Cursor::new(Vec::new());
    writer.write(&mut buf, false).expect("write exif");
    buf.into_inner()
}

/// Splices an APP1 "Exif" segment right after the SOI marker of `jpeg`.
pub fn jpeg_with_exif(jpeg: &[u8], spec: &ExifSpec) -> Vec<u8> {
    assert!(jpeg.starts_with(&[0xFF, 0xD8]), "not a JPEG");
    let tiff = exif_tiff(spec);
    let len = u16::try_from(2 + 6 + tiff.len()).expect("APP1 fits");
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

pub fn encode_jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 92)
        .write_image(
            img,
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode jpeg");
    out
}

pub fn gradient(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([
            (x * 255 / w.max(1)) as u8,
            (y * 255 / h.max(1)) as u8,
            ((x + y) % 256) as u8,
        ])
    })
}

pub fn gradient_jpeg(w: u32, h: u32) -> Vec<u8> {
    encode_jpeg(&gradient(w, h))
}

/// A half-transparent RGBA PNG, to exercise alpha flattening.
pub fn png_bytes(w: u32, h: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(w, h, |x, _| {
        Rgba([200, 30, 30, if x < w / 2 { 0 } else { 255 }])
    });
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(&img, w, h, image::ExtendedColorType::Rgba8)
        .expect("encode png");
    out
}

pub fn webp_bytes(w: u32, h: u32) -> Vec<u8> {
    let img = gradient(w, h);
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .write_image(&img, w, h, image::ExtendedColorType::Rgb8)
        .expect("encode webp");
    out
}

/// A street-scene stand-in with coarse luminance structure, so a
/// perceptual hash has something stable to lock on to. `variant` picks
/// an unrelated layout.
pub fn scene(variant: u32, w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let fx = x as f64 / w as f64;
        let fy = y as f64 / h as f64;
        let v = match variant {
            0 => {
                let wave = (fx * 9.0).sin() * (fy * 5.0 + 1.0).cos();
                let pothole = ((fx - 0.35).powi(2) + (fy - 0.6).powi(2) < 0.04) as u8 as f64;
                128.0 + 80.0 * wave - 90.0 * pothole
            }
            _ => {
                let checker = (((fx * 4.0) as u32 + (fy * 3.0) as u32) % 2) as f64;
                60.0 + 120.0 * checker + 40.0 * (fy * 7.0).sin()
            }
        };
        let g = v.clamp(0.0, 255.0) as u8;
        Rgb([g, g.saturating_add(10), g.saturating_sub(10)])
    })
}
