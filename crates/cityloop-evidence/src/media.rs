//! Media type sniffing from magic bytes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kinds of evidence file the platform distinguishes, serialized as
/// their MIME type string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MediaType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    Webp,
    #[serde(rename = "application/pdf")]
    Pdf,
    #[serde(rename = "application/octet-stream")]
    OctetStream,
}

impl MediaType {
    /// The MIME type string.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
            MediaType::Pdf => "application/pdf",
            MediaType::OctetStream => "application/octet-stream",
        }
    }

    /// Whether the crate can decode this type into pixels.
    pub fn is_image(self) -> bool {
        matches!(self, MediaType::Jpeg | MediaType::Png | MediaType::Webp)
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Detects the media type from the leading bytes.
///
/// The client-supplied Content-Type and file name are not trusted: they are
/// whatever the uploader's app says, while the magic bytes are what a
/// browser or decoder will actually act on.
pub fn sniff_media_type(bytes: &[u8]) -> MediaType {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        MediaType::Jpeg
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        MediaType::Png
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        MediaType::Webp
    } else if bytes.starts_with(b"%PDF-") {
        MediaType::Pdf
    } else {
        MediaType::OctetStream
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_known_type() {
        assert_eq!(
            sniff_media_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0]),
            MediaType::Jpeg
        );
        assert_eq!(sniff_media_type(b"\x89PNG\r\n\x1a\n...."), MediaType::Png);
        assert_eq!(sniff_media_type(b"RIFF\x10\0\0\0WEBPVP8 "), MediaType::Webp);
        assert_eq!(sniff_media_type(b"%PDF-1.7\n"), MediaType::Pdf);
    }

    #[test]
    fn unknown_and_truncated_inputs_are_octet_stream() {
        assert_eq!(sniff_media_type(b""), MediaType::OctetStream);
        assert_eq!(sniff_media_type(&[0xFF, 0xD8]), MediaType::OctetStream);
        assert_eq!(
            sniff_media_type(b"RIFF\0\0\0\0WAVE"),
            MediaType::OctetStream
        );
        assert_eq!(sniff_media_type(b"RIFF"), MediaType::OctetStream);
        assert_eq!(sniff_media_type(b"GIF89a"), MediaType::OctetStream);
    }

    #[test]
    fn serializes_as_mime_string() {
        let json = serde_json::to_string(&MediaType::Webp).unwrap();
        assert_eq!(json, "\"image/webp\"");
        let back: MediaType = serde_json::from_str("\"application/pdf\"").unwrap();
        assert_eq!(back, MediaType::Pdf);
        assert_eq!(MediaType::Png.to_string(), "image/png");
        assert!(MediaType::Jpeg.is_image() && !MediaType::Pdf.is_image());
    }
}
