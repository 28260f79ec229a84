//! Text encodings: labels, detection and per-value decoding.
//!
//! Chinese GIS data arrives as UTF-8 or as GBK (code page 936), usually without
//! saying which, and sometimes saying the wrong one. The rules:
//!
//! 1. An encoding the caller names explicitly is used as given, strictly.
//! 2. Otherwise a declared encoding (a shapefile's `.cpg`) is used, except that
//!    a declared UTF-8 whose text is clearly not UTF-8 is decoded as GBK, with a
//!    warning.
//! 3. Otherwise the bytes are sniffed: valid UTF-8 (or plain ASCII) → UTF-8,
//!    anything else → GBK (decoded by encoding_rs's GB18030-capable decoder).
//! 4. Each value is still checked: an invalid value is retried with the other
//!    of UTF-8/GBK, and UTF-8 text that looks like GBK read as Latin-1 or
//!    Windows-1252 (`½ð¹ðÉçÇø` for `金桂社区`) is repaired. Both record a warning.

use encoding_rs::{Encoding, GBK, UTF_8, WINDOWS_1252};

/// Resolves an encoding name as users and `.cpg` files write it.
///
/// Accepts the WHATWG labels (`utf-8`, `gbk`, `gb2312`, `gb18030`, `big5` …)
/// plus the Windows code-page spellings found in `.cpg` files (`936`,
/// `CP936`, `ANSI 936`, `65001`, `54936` …). Case and surrounding
/// whitespace (and a UTF-8 BOM) are ignored.
///
/// ```
/// use cityloop_io::encoding_from_label;
/// assert_eq!(encoding_from_label("CP936"), Some(encoding_rs::GBK));
/// assert_eq!(encoding_from_label(" UTF-8\r\n"), Some(encoding_rs::UTF_8));
/// assert_eq!(encoding_from_label("GB18030"), Some(encoding_rs::GB18030));
/// assert_eq!(encoding_from_label("klingon"), None);
/// ```
pub fn encoding_from_label(label: &str) -> Option<&'static Encoding> {
    let trimmed = label
        .trim_start_matches('\u{feff}')
        .trim()
        .to_ascii_lowercase();
    // ".cpg" files written by ArcGIS and others use code-page numbers, with or
    // without a "cp"/"ansi"/"windows-" prefix; WHATWG labels know few of these.
    let code_page = trimmed
        .trim_start_matches("ansi")
        .trim_start_matches("windows-")
        .trim_start_matches("windows")
        .trim_start_matches("cp")
        .trim_start_matches("ms")
        .trim_start_matches(['-', '_', ' '])
        .trim();
    if let Ok(number) = code_page.parse::<u16>() {
        return match number {
            936 => Some(GBK),
            54936 => Some(encoding_rs::GB18030),
            65001 => Some(UTF_8),
            950 => Some(encoding_rs::BIG5),
            932 => Some(encoding_rs::SHIFT_JIS),
            949 => Some(encoding_rs::EUC_KR),
            1250 => Some(encoding_rs::WINDOWS_1250),
            1251 => Some(encoding_rs::WINDOWS_1251),
            1252 => Some(WINDOWS_1252),
            _ => None,
        };
    }
    match trimmed.as_str() {
        "utf8" | "utf-8" => Some(UTF_8),
        "gb2312" | "gbk" | "cp936" | "ms936" => Some(GBK),
        other => Encoding::for_label(other.as_bytes()),
    }
}

/// Sniffing stops after this many non-ASCII bytes: enough to be sure, while a
/// huge all-UTF-8 file is not read twice in full.
pub(crate) const SNIFF_NON_ASCII_LIMIT: usize = 256 * 1024;

/// Counts evidence for and against UTF-8 over a stream of values.
#[derive(Debug, Default, Clone)]
pub(crate) struct Sniffer {
    non_ascii_bytes: usize,
    utf8_multibyte_chars: usize,
    invalid_sequences: usize,
}

/// What sniffing concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Only ASCII seen: any ASCII-compatible encoding reads it the same.
    Ascii,
    Utf8,
    /// Valid UTF-8 with a few broken sequences: still UTF-8, with a warning.
    MostlyUtf8,
    Gbk,
}

impl Sniffer {
    /// Feeds one value (a DBF field, or a whole prefix of a CSV). A multi-byte
    /// sequence cut off at the end is not held against UTF-8: DBF writers
    /// truncate text at a byte width, and a sniffed prefix ends anywhere.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        if bytes.is_ascii() {
            return;
        }
        self.non_ascii_bytes += bytes.iter().filter(|b| !b.is_ascii()).count();
        let mut rest = bytes;
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    self.utf8_multibyte_chars += count_multibyte(valid.as_bytes());
                    return;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    self.utf8_multibyte_chars += count_multibyte(valid);
                    match e.error_len() {
                        Some(len) => {
                            self.invalid_sequences += 1;
                            rest = after.get(len..).unwrap_or_default();
                        }
                        None => return,
                    }
                }
            }
        }
    }

    pub(crate) fn has_enough(&self) -> bool {
        self.non_ascii_bytes >= SNIFF_NON_ASCII_LIMIT
    }

    pub(crate) fn verdict(&self) -> Verdict {
        if self.non_ascii_bytes == 0 {
            Verdict::Ascii
        } else if self.invalid_sequences == 0 {
            Verdict::Utf8
        } else if self.utf8_multibyte_chars >= 8 * self.invalid_sequences {
            // GBK read as UTF-8 breaks on almost every character; a handful of
            // broken sequences among many good ones is damaged UTF-8.
            Verdict::MostlyUtf8
        } else {
            Verdict::Gbk
        }
    }
}

fn count_multibyte(valid_utf8: &[u8]) -> usize {
    valid_utf8.iter().filter(|&&b| b >= 0xC0).count()
}

/// How a value had to be treated to be decoded; anything but `Clean` becomes
/// a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fix {
    Clean,
    /// The value was not valid in the file's encoding but was in this one.
    OtherEncoding(&'static Encoding),
    /// UTF-8 text that was GBK misread as Latin-1/Windows-1252.
    Mojibake,
    /// A multi-byte character cut off at the end of a fixed-width field.
    CutCharacter,
    /// The text itself contains U+FFFD: it was damaged before it reached us.
    ReplacementCharacter,
}

impl Fix {
    pub(crate) fn describe(&self, primary: &'static Encoding) -> Option<String> {
        match self {
            Fix::Clean => None,
            Fix::OtherEncoding(used) => Some(format!(
                "text is not valid {}; decoded as {}",
                primary.name(),
                used.name()
            )),
            Fix::Mojibake => Some(
                "text looked like GBK misread as Latin-1 (mojibake); repaired as GBK".to_owned(),
            ),
            Fix::CutCharacter => {
                Some("a multi-byte character cut off at the end of the field was dropped".to_owned())
            }
            Fix::ReplacementCharacter => Some(
                "text contains U+FFFD replacement characters; it was damaged before this file was written"
                    .to_owned(),
            ),
        }
    }
}

/// Decodes individual values with a file's encoding and the fallbacks above.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextDecoder {
    pub(crate) encoding: &'static Encoding,
    /// False when the caller named the encoding: then nothing is second-guessed.
    pub(crate) repair: bool,
}

impl TextDecoder {
    /// Decodes `bytes`, returning the text and what had to be done to it, or
    /// `None` when it cannot be decoded at all.
    pub(crate) fn decode(&self, bytes: &[u8]) -> Option<(String, Fix)> {
        if let Ok(ascii) = std::str::from_utf8(bytes)
            && bytes.is_ascii()
        {
            return Some((ascii.to_owned(), Fix::Clean));
        }
        let primary_is_utf8 = self.encoding == UTF_8;
        if self.repair && !primary_is_utf8 {
            // UTF-8 Chinese is usually *also* valid GBK (as mojibake), so
            // strict GBK success proves little; several CJK characters that
            // are valid UTF-8 are very unlikely to be GBK, though (a value
            // appended by a UTF-8 tool to a GBK table).
            if let Ok(text) = std::str::from_utf8(bytes)
                && text.chars().filter(|&c| is_cjk(c)).count() >= 3
            {
                return Some((text.to_owned(), Fix::OtherEncoding(UTF_8)));
            }
        }
        if let Some(text) = decode_strict(self.encoding, bytes) {
            if self.repair && primary_is_utf8 {
                if let Some(repaired) = repair_latin1_mojibake(&text) {
                    return Some((repaired, Fix::Mojibake));
                }
                if text.contains('\u{fffd}') {
                    return Some((text, Fix::ReplacementCharacter));
                }
            }
            return Some((text, Fix::Clean));
        }
        // Strict UTF-8 validity is strong evidence; strict GBK validity is
        // weak (most byte pairs are valid GBK), so a cut-off UTF-8 character
        // is preferred over re-reading the whole value as GBK.
        if self.repair
            && !primary_is_utf8
            && let Ok(text) = std::str::from_utf8(bytes)
        {
            return Some((text.to_owned(), Fix::OtherEncoding(UTF_8)));
        }
        if let Some(text) = decode_ignoring_cut_tail(self.encoding, bytes) {
            return Some((text, Fix::CutCharacter));
        }
        if self.repair
            && primary_is_utf8
            && let Some(text) = decode_strict(GBK, bytes)
        {
            return Some((text, Fix::OtherEncoding(GBK)));
        }
        None
    }
}

fn decode_strict(encoding: &'static Encoding, bytes: &[u8]) -> Option<String> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(std::borrow::Cow::into_owned)
}

/// Decodes all but an incomplete multi-byte sequence at the very end; `None`
/// if anything else is malformed (or nothing was cut off).
fn decode_ignoring_cut_tail(encoding: &'static Encoding, bytes: &[u8]) -> Option<String> {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder.max_utf8_buffer_length_without_replacement(bytes.len())?;
    let mut out = String::with_capacity(capacity);
    // `last = false` leaves a trailing incomplete sequence pending instead of
    // reporting it as malformed, which is exactly the distinction needed.
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, false);
    match result {
        encoding_rs::DecoderResult::InputEmpty if read == bytes.len() => Some(out),
        _ => None,
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3000}'..='\u{303f}'   // CJK punctuation
        | '\u{3400}'..='\u{4dbf}' // Extension A
        | '\u{4e00}'..='\u{9fff}' // Unified ideographs
        | '\u{ff00}'..='\u{ffef}' // Full-width forms
    )
}

/// Byte that Latin-1 or Windows-1252 would have shown as `c`, if any.
fn latin_byte(c: char) -> Option<u8> {
    let code = u32::from(c);
    if (0x80..=0xFF).contains(&code) {
        return u8::try_from(code).ok();
    }
    let mut buf = [0u8; 4];
    let (bytes, _, had_errors) = WINDOWS_1252.encode(c.encode_utf8(&mut buf));
    match (had_errors, bytes.as_ref()) {
        (false, [byte]) if *byte >= 0x80 => Some(*byte),
        _ => None,
    }
}

/// Undoes "GBK bytes shown as Latin-1/Windows-1252, then saved as UTF-8".
///
/// Only fires when every non-ASCII character maps back to a byte, at least a
/// third of them are in U+00C0–U+00FF (where GBK lead and trail bytes land),
/// those bytes come in pairs, they are strictly valid GBK, and the result is
/// Chinese: so real European text such as "Café" or "Ångström" is left alone.
pub(crate) fn repair_latin1_mojibake(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut non_ascii = 0usize;
    let mut latin_letters = 0usize;
    for c in text.chars() {
        if c.is_ascii() {
            bytes.push(u8::try_from(u32::from(c)).ok()?);
            continue;
        }
        non_ascii += 1;
        if ('\u{c0}'..='\u{ff}').contains(&c) {
            latin_letters += 1;
        }
        bytes.push(latin_byte(c)?);
    }
    if non_ascii < 2 || latin_letters * 3 < non_ascii {
        return None;
    }
    // Common Chinese characters are two high bytes; a high byte paired with
    // an ASCII byte ("Å"+"n" in "Ångström") is valid GBK too, but in
    // mojibake practice it is European text.
    let mut run = 0usize;
    for &b in bytes.iter().chain(std::iter::once(&b' ')) {
        if b >= 0x80 {
            run += 1;
        } else if run % 2 == 1 {
            return None;
        } else {
            run = 0;
        }
    }
    let repaired = decode_strict(GBK, &bytes)?;
    let chinese = repaired.chars().any(is_cjk);
    let still_latin = repaired.chars().any(|c| ('\u{80}'..='\u{ff}').contains(&c));
    (chinese && !still_latin).then_some(repaired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        GBK.encode(s).0.into_owned()
    }

    #[test]
    fn labels() {
        for label in [
            "GBK", "gbk", "936", "CP936", "cp 936", "ANSI 936", "GB2312", "MS936",
        ] {
            assert_eq!(encoding_from_label(label), Some(GBK), "{label}");
        }
        for label in ["UTF-8", "utf8", "65001", "\u{feff}UTF-8\n"] {
            assert_eq!(encoding_from_label(label), Some(UTF_8), "{label}");
        }
        assert_eq!(encoding_from_label("GB18030"), Some(encoding_rs::GB18030));
        assert_eq!(encoding_from_label("54936"), Some(encoding_rs::GB18030));
        assert_eq!(encoding_from_label("1252"), Some(WINDOWS_1252));
        assert_eq!(encoding_from_label(""), None);
        assert_eq!(encoding_from_label("12345"), None);
    }

    #[test]
    fn sniffs_utf8_gbk_and_ascii() {
        let mut s = Sniffer::default();
        s.feed(b"plain");
        assert_eq!(s.verdict(), Verdict::Ascii);
        s.feed("金桂社区".as_bytes());
        assert_eq!(s.verdict(), Verdict::Utf8);

        let mut s = Sniffer::default();
        s.feed(&gbk("金桂社区"));
        s.feed(&gbk("上水井盖"));
        assert_eq!(s.verdict(), Verdict::Gbk);
    }

    #[test]
    fn sniff_tolerates_cut_utf8_tail() {
        let bytes = "金桂社区".as_bytes();
        let mut s = Sniffer::default();
        s.feed(&bytes[..bytes.len() - 1]);
        assert_eq!(s.verdict(), Verdict::Utf8);
    }

    #[test]
    fn sniff_one_broken_byte_in_much_utf8_stays_utf8() {
        let mut s = Sniffer::default();
        s.feed("金桂社区上水井盖金桂社区上水井盖".as_bytes());
        s.feed(&[0xFF]);
        assert_eq!(s.verdict(), Verdict::MostlyUtf8);
    }

    #[test]
    fn decode_falls_back_to_gbk_when_repairing() {
        let d = TextDecoder {
            encoding: UTF_8,
            repair: true,
        };
        assert_eq!(
            d.decode(&gbk("金桂社区")),
            Some(("金桂社区".to_owned(), Fix::OtherEncoding(GBK)))
        );
        let strict = TextDecoder {
            encoding: UTF_8,
            repair: false,
        };
        assert_eq!(strict.decode(&gbk("金桂社区")), None);
    }

    #[test]
    fn decode_gbk_value_that_is_utf8_falls_back_to_utf8() {
        let d = TextDecoder {
            encoding: GBK,
            repair: true,
        };
        // Several CJK characters of valid UTF-8: UTF-8, although these bytes
        // are also "valid" GBK.
        let bytes = "金桂社区".as_bytes();
        assert!(decode_strict(GBK, bytes).is_some());
        assert_eq!(
            d.decode(bytes),
            Some(("金桂社区".to_owned(), Fix::OtherEncoding(UTF_8)))
        );
        // One character: 3 bytes, not valid GBK, valid UTF-8.
        assert!(decode_strict(GBK, "金".as_bytes()).is_none());
        assert_eq!(
            d.decode("金".as_bytes()),
            Some(("金".to_owned(), Fix::OtherEncoding(UTF_8)))
        );
        // Genuine GBK stays GBK.
        assert_eq!(
            d.decode(&gbk("金桂社区")),
            Some(("金桂社区".to_owned(), Fix::Clean))
        );
        // Explicit GBK never second-guesses.
        let strict = TextDecoder {
            encoding: GBK,
            repair: false,
        };
        assert_eq!(
            strict.decode("金".as_bytes()),
            Some(("閲".to_owned(), Fix::CutCharacter))
        );
    }

    #[test]
    fn repairs_latin1_mojibake() {
        // GBK bytes of 金桂社区 shown as Latin-1 and saved as UTF-8.
        let mojibake: String = gbk("金桂社区").iter().map(|&b| char::from(b)).collect();
        assert_eq!(mojibake, "½ð¹ðÉçÇø");
        assert_eq!(
            repair_latin1_mojibake(&mojibake).as_deref(),
            Some("金桂社区")
        );
        let d = TextDecoder {
            encoding: UTF_8,
            repair: true,
        };
        assert_eq!(
            d.decode(mojibake.as_bytes()),
            Some(("金桂社区".to_owned(), Fix::Mojibake))
        );
    }

    #[test]
    fn repairs_windows1252_mojibake() {
        // 0x80..0x9F bytes show as e.g. "€" and "‰" under Windows-1252.
        let bytes = gbk("上水井盖 No.3");
        let (shown, _, _) = WINDOWS_1252.decode(&bytes);
        assert_eq!(
            repair_latin1_mojibake(&shown).as_deref(),
            Some("上水井盖 No.3")
        );
    }

    #[test]
    fn leaves_european_text_alone() {
        for text in ["Café Élysée", "Müller", "São Paulo", "naïve", "Ångström"] {
            assert_eq!(repair_latin1_mojibake(text), None, "{text}");
        }
        assert_eq!(repair_latin1_mojibake("金桂社区"), None);
    }

    #[test]
    fn cut_character_at_field_end() {
        let d = TextDecoder {
            encoding: UTF_8,
            repair: true,
        };
        let bytes = "金桂社区".as_bytes();
        assert_eq!(
            d.decode(&bytes[..bytes.len() - 1]),
            Some(("金桂社".to_owned(), Fix::CutCharacter))
        );
        let d = TextDecoder {
            encoding: GBK,
            repair: false,
        };
        let bytes = gbk("金桂社区");
        assert_eq!(
            d.decode(&bytes[..bytes.len() - 1]),
            Some(("金桂社".to_owned(), Fix::CutCharacter))
        );
    }

    #[test]
    fn replacement_character_is_reported() {
        let d = TextDecoder {
            encoding: UTF_8,
            repair: true,
        };
        assert_eq!(
            d.decode("金\u{fffd}区".as_bytes()),
            Some(("金\u{fffd}区".to_owned(), Fix::ReplacementCharacter))
        );
    }
}
