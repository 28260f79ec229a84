//! EXIF extraction: capture time, location, camera and orientation.

use std::io::Cursor;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime};
use exif::{Exif, In, Reader, Tag, Value};
use serde::{Deserialize, Serialize};

/// The EXIF facts the platform uses to judge a photo.
///
/// Every field is optional because phones strip or never write many of them
/// (privacy settings, messaging apps re-encoding, screenshots).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ExifInfo {
    /// Wall-clock capture time as the camera recorded it, without zone.
    /// From DateTimeOriginal, else DateTime.
    pub taken_at: Option<NaiveDateTime>,
    /// The zone of `taken_at` when the camera recorded one.
    #[serde(with = "offset_serde", default)]
    pub offset: Option<FixedOffset>,
    /// WGS-84 `(latitude, longitude)` in decimal degrees, south and west
    /// negative.
    pub gps: Option<(f64, f64)>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// EXIF orientation 1..=8; other values are dropped as corrupt.
    pub orientation: Option<u16>,
}

/// Reads EXIF from a JPEG, PNG or WebP (or a bare TIFF) container.
///
/// Returns `None` when there is no readable EXIF block at all; a block that
/// parsed but lacks the interesting tags yields `Some` with empty fields.
/// Damaged entries are skipped rather than failing the whole block, since
/// phone firmware routinely writes slightly broken maker data next to
/// perfectly good timestamps.
pub fn exif_info(bytes: &[u8]) -> Option<ExifInfo> {
    let mut reader = Reader::new();
    reader.continue_on_error(true);
    let exif = match reader.read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => exif,
        Err(err) => err.distill_partial_result(|_ignored| {}).ok()?,
    };
    let (taken_at, offset) = capture_time(&exif);
    Some(ExifInfo {
        taken_at,
        offset,
        gps: gps(&exif),
        make: ascii(&exif, Tag::Make),
        model: ascii(&exif, Tag::Model),
        orientation: exif
            .get_field(Tag::Orientation, In::PRIMARY)
            .and_then(|f| f.value.get_uint(0))
            .and_then(|v| u16::try_from(v).ok())
            .filter(|v| (1..=8).contains(v)),
    })
}

/// Capture time and its zone, keeping each time paired with the offset tag
/// that the standard defines for it (OffsetTime describes DateTime, not
/// DateTimeOriginal, so mixing them would mislabel a zone).
fn capture_time(exif: &Exif) -> (Option<NaiveDateTime>, Option<FixedOffset>) {
    let candidates = [
        (
            Tag::DateTimeOriginal,
            Tag::SubSecTimeOriginal,
            Tag::OffsetTimeOriginal,
        ),
        (Tag::DateTime, Tag::SubSecTime, Tag::OffsetTime),
    ];
    for (time_tag, subsec_tag, offset_tag) in candidates {
        let Some(raw) = first_ascii(exif, time_tag) else {
            continue;
        };
        let Ok(mut dt) = exif::DateTime::from_ascii(raw) else {
            continue;
        };
        if let Some(sub) = first_ascii(exif, subsec_tag) {
            // A garbled sub-second field should not cost us the whole time.
            if dt.parse_subsec(sub).is_err() {
                dt.nanosecond = None;
            }
        }
        let Some(naive) = to_naive(&dt) else {
            continue;
        };
        let offset = first_ascii(exif, offset_tag).and_then(|raw| {
            dt.parse_offset(raw).ok()?;
            FixedOffset::east_opt(i32::from(dt.offset?) * 60)
        });
        return (Some(naive), offset);
    }
    (None, None)
}

fn to_naive(dt: &exif::DateTime) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(i32::from(dt.year), u32::from(dt.month), u32::from(dt.day))?
        .and_hms_nano_opt(
            u32::from(dt.hour),
            u32::from(dt.minute),
            u32::from(dt.second),
            dt.nanosecond.unwrap_or(0),
        )
}

/// Decimal-degree position, or `None` if any part is missing or nonsense.
fn gps(exif: &Exif) -> Option<(f64, f64)> {
    let lat = coordinate(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S')?;
    let lon = coordinate(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W')?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

/// One coordinate from a degrees/minutes/seconds rational triple.
///
/// A missing hemisphere ref is read as positive (N/E): that is what most
/// readers do, and it is right for the platform's own region.
fn coordinate(exif: &Exif, value_tag: Tag, ref_tag: Tag, negative_ref: u8) -> Option<f64> {
    let field = exif.get_field(value_tag, In::PRIMARY)?;
    let Value::Rational(parts) = &field.value else {
        return None;
    };
    // Some writers emit only degrees, or degrees and decimal minutes.
    let scales = [1.0, 60.0, 3600.0];
    let mut degrees = 0.0;
    for (part, scale) in parts.iter().zip(scales) {
        if part.denom == 0 {
            return None;
        }
        degrees += part.to_f64() / scale;
    }
    if parts.is_empty() || !degrees.is_finite() {
        return None;
    }
    let negative = first_ascii(exif, ref_tag)
        .and_then(|r| r.first())
        .is_some_and(|c| c.eq_ignore_ascii_case(&negative_ref));
    Some(if negative { -degrees } else { degrees })
}

fn first_ascii(exif: &Exif, tag: Tag) -> Option<&[u8]> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(values) => values.first().map(Vec::as_slice),
        _ => None,
    }
}

/// A printable string tag, trimmed of the NUL/space padding cameras add.
fn ascii(exif: &Exif, tag: Tag) -> Option<String> {
    let raw = first_ascii(exif, tag)?;
    let text = String::from_utf8_lossy(raw);
    let trimmed = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// chrono's `FixedOffset` has no serde impl; "+08:00" is the same notation
/// EXIF uses, so it reads naturally in stored JSON.
mod offset_serde {
    use chrono::FixedOffset;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &Option<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(off) => s.serialize_some(&off.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<FixedOffset>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| s.parse().map_err(D::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ExifSpec, gradient_jpeg, jpeg_with_exif, png_bytes};
    use chrono::{NaiveDate, Timelike};

    fn spec() -> ExifSpec {
        ExifSpec {
            date_time_original: Some("2024:05:01 10:30:15"),
            subsec_original: Some("25"),
            offset_original: Some("+08:00"),
            date_time: Some("2024:05:02 09:00:00"),
            gps: Some((31.230416, 121.473701)),
            make: Some("Huawei"),
            model: Some("P60 Pro"),
            orientation: Some(6),
        }
    }

    #[test]
    fn round_trips_time_offset_gps_camera_and_orientation() {
        let jpeg = jpeg_with_exif(&gradient_jpeg(32, 24), &spec());
        let info = exif_info(&jpeg).expect("exif present");
        let expected = NaiveDate::from_ymd_opt(2024, 5, 1)
            .unwrap()
            .and_hms_milli_opt(10, 30, 15, 250)
            .unwrap();
        assert_eq!(info.taken_at, Some(expected));
        assert_eq!(info.offset, FixedOffset::east_opt(8 * 3600));
        let (lat, lon) = info.gps.expect("gps present");
        assert!((lat - 31.230416).abs() < 1e-6, "lat {lat}");
        assert!((lon - 121.473701).abs() < 1e-6, "lon {lon}");
        assert_eq!(info.make.as_deref(), Some("Huawei"));
        assert_eq!(info.model.as_deref(), Some("P60 Pro"));
        assert_eq!(info.orientation, Some(6));
    }

    #[test]
    fn southern_and_western_hemispheres_are_negative() {
        let mut s = spec();
        s.gps = Some((-33.856784, -70.651234));
        let info = exif_info(&jpeg_with_exif(&gradient_jpeg(8, 8), &s)).unwrap();
        let (lat, lon) = info.gps.unwrap();
        assert!((lat + 33.856784).abs() < 1e-6, "lat {lat}");
        assert!((lon + 70.651234).abs() < 1e-6, "lon {lon}");
    }

    #[test]
    fn falls_back_to_date_time_without_borrowing_the_original_offset() {
        let mut s = spec();
        s.date_time_original = None;
        s.subsec_original = None;
        let info = exif_info(&jpeg_with_exif(&gradient_jpeg(8, 8), &s)).unwrap();
        let t = info.taken_at.unwrap();
        assert_eq!((t.hour(), t.minute()), (9, 0));
        assert_eq!(t.date(), NaiveDate::from_ymd_opt(2024, 5, 2).unwrap());
        assert_eq!(info.offset, None);
    }

    #[test]
    fn missing_tags_give_empty_fields_and_bad_orientation_is_dropped() {
        let s = ExifSpec {
            orientation: Some(42),
            make: Some("  \0"),
            ..ExifSpec::default()
        };
        let info = exif_info(&jpeg_with_exif(&gradient_jpeg(8, 8), &s)).unwrap();
        assert_eq!(info, ExifInfo::default());
    }

    #[test]
    fn no_exif_block_is_none() {
        assert_eq!(exif_info(&gradient_jpeg(8, 8)), None);
        assert_eq!(exif_info(&png_bytes(8, 8)), None);
        assert_eq!(exif_info(b"%PDF-1.4"), None);
        assert_eq!(exif_info(b""), None);
    }

    #[test]
    fn serde_round_trip_keeps_offset_readable() {
        let info = exif_info(&jpeg_with_exif(&gradient_jpeg(8, 8), &spec())).unwrap();
        let json = serde_json::to_string(&info).unwrap();
        assert!(json.contains("\"offset\":\"+08:00\""), "{json}");
        let mut back: ExifInfo = serde_json::from_str(&json).unwrap();
        // serde_json's default float parser may be off by one ulp, far below
        // GNSS precision; compare coordinates loosely and the rest exactly.
        let (lat, lon) = back.gps.take().unwrap();
        let (lat0, lon0) = info.gps.unwrap();
        assert!((lat - lat0).abs() < 1e-12 && (lon - lon0).abs() < 1e-12);
        assert_eq!(back, ExifInfo { gps: None, ..info });
        let bare: ExifInfo = serde_json::from_str(
            "{\"taken_at\":null,\"gps\":null,\"make\":null,\"model\":null,\"orientation\":null}",
        )
        .unwrap();
        assert_eq!(bare, ExifInfo::default());
    }
}
