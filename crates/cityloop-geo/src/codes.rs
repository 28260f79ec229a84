//! Unit-grid codes (GB/T 30428.1) and component identifiers (GB/T 30428.2).
//!
//! Parsing is strict: no trimming, ASCII digits only. Codes are keys that
//! other systems join on, so a silently "fixed" code is worse than an error.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Length of a GB/T 2260 county-level administrative code.
const COUNTY_LEN: usize = 6;
/// County + 3-digit street (街道/乡镇).
const STREET_END: usize = 9;
/// Street + 3-digit community (社区/村).
const COMMUNITY_END: usize = 12;
/// County + major (2) + minor (2) class + serial (6).
const COMPONENT_LEN: usize = 16;
const CLASS_END: usize = 10;
const MAX_COMPONENT_SERIAL: u32 = 999_999;

/// Why a grid code or component id was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Wrong number of characters.
    #[error("code must have {expected} digits, got {actual} characters")]
    Length {
        /// Required length.
        expected: usize,
        /// Length of the input, in characters.
        actual: usize,
    },
    /// A character that is not an ASCII digit.
    #[error("code must contain only digits 0-9; found {found:?} at position {position}")]
    NonDigit {
        /// Zero-based character position.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// The 6-digit county part is `000000`.
    #[error("county part must not be 000000")]
    ZeroCounty,
    /// The 3-digit street part is `000`.
    #[error("street part (digits 7-9) must not be 000")]
    ZeroStreet,
    /// The 3-digit community part is `000`.
    #[error("community part (digits 10-12) must not be 000")]
    ZeroCommunity,
    /// The serial is all zeros; for grids that code denotes the community
    /// itself, not a grid.
    #[error("serial must not be zero: an all-zero serial denotes the community, not a grid")]
    ZeroSerial,
    /// A component serial outside 1..=999999 passed to [`ComponentId::new`].
    #[error("component serial {0} is out of range 1..=999999")]
    SerialOutOfRange(u32),
    /// A component class part is `00`.
    #[error("component {part} class code must not be 00")]
    ZeroClass {
        /// `"major"` or `"minor"`.
        part: &'static str,
    },
    /// The grid scheme asked for an unsupported serial width.
    #[error("grid serial must have 2 or 3 digits, not {0}")]
    UnsupportedSerialDigits(u8),
}

/// Checks length and digits and returns the input as ASCII, so later byte
/// slicing is safe.
fn check_digits(s: &str, expected: usize) -> Result<&str, CodeError> {
    let actual = s.chars().count();
    if actual != expected {
        return Err(CodeError::Length { expected, actual });
    }
    if let Some((position, found)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(CodeError::NonDigit { position, found });
    }
    Ok(s)
}

fn all_zero(s: &str) -> bool {
    s.bytes().all(|b| b == b'0')
}

/// How many digits the serial of a unit-grid code has.
///
/// The national standard uses 2 (14-digit codes); Beijing and some other
/// cities use 3 (15-digit codes).
///
/// ```
/// use cityloop_geo::codes::GridCodeScheme;
/// assert_eq!(GridCodeScheme::default().code_len(), 14);
/// assert_eq!(GridCodeScheme::new(3)?.code_len(), 15);
/// assert!(GridCodeScheme::new(4).is_err());
/// # Ok::<(), cityloop_geo::codes::CodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "UncheckedScheme")]
pub struct GridCodeScheme {
    serial_digits: u8,
}

#[derive(Deserialize)]
struct UncheckedScheme {
    serial_digits: u8,
}

impl TryFrom<UncheckedScheme> for GridCodeScheme {
    type Error = CodeError;

    fn try_from(raw: UncheckedScheme) -> Result<Self, Self::Error> {
        Self::new(raw.serial_digits)
    }
}

impl Default for GridCodeScheme {
    fn default() -> Self {
        Self::STANDARD
    }
}

impl GridCodeScheme {
    /// GB/T 30428.1: 14 digits, 2-digit serial.
    pub const STANDARD: Self = Self { serial_digits: 2 };
    /// Beijing: 15 digits, 3-digit serial.
    pub const BEIJING: Self = Self { serial_digits: 3 };

    /// A scheme with a 2- or 3-digit serial.
    ///
    /// # Errors
    /// [`CodeError::UnsupportedSerialDigits`] for any other width.
    pub fn new(serial_digits: u8) -> Result<Self, CodeError> {
        match serial_digits {
            2 | 3 => Ok(Self { serial_digits }),
            other => Err(CodeError::UnsupportedSerialDigits(other)),
        }
    }

    /// Digits in the serial: 2 or 3.
    #[must_use]
    pub fn serial_digits(self) -> u8 {
        self.serial_digits
    }

    /// Total digits in a grid code under this scheme: 14 or 15.
    #[must_use]
    pub fn code_len(self) -> usize {
        COMMUNITY_END + usize::from(self.serial_digits)
    }
}

/// A unit-grid code (单元网格编码): county (6) + street (3) + community (3)
/// + serial (2, or 3 under [`GridCodeScheme::BEIJING`]).
///
/// Serialises as its string. It has no `Deserialize` because parsing needs
/// the city's [`GridCodeScheme`]; deserialise a `String` and call
/// [`GridCode::parse`].
///
/// ```
/// use cityloop_geo::codes::{GridCode, GridCodeScheme};
/// let code = GridCode::parse("32050810200301", &GridCodeScheme::STANDARD)?;
/// assert_eq!(code.county_code(), "320508");
/// assert_eq!(code.street_code(), "320508102");
/// assert_eq!(code.community_code(), "320508102003");
/// assert_eq!(code.serial(), 1);
/// assert_eq!(code.to_string(), "32050810200301");
/// # Ok::<(), cityloop_geo::codes::CodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct GridCode {
    code: String,
}

impl GridCode {
    /// Parses and validates a grid code under `scheme`.
    ///
    /// ```
    /// use cityloop_geo::codes::{CodeError, GridCode, GridCodeScheme};
    /// let std = GridCodeScheme::STANDARD;
    /// assert_eq!(GridCode::parse("32050810200300", &std), Err(CodeError::ZeroSerial));
    /// assert_eq!(
    ///     GridCode::parse("3205081020030", &std),
    ///     Err(CodeError::Length { expected: 14, actual: 13 })
    /// );
    /// ```
    ///
    /// # Errors
    /// [`CodeError::Length`], [`CodeError::NonDigit`], [`CodeError::ZeroCounty`],
    /// [`CodeError::ZeroStreet`], [`CodeError::ZeroCommunity`] or
    /// [`CodeError::ZeroSerial`].
    pub fn parse(s: &str, scheme: &GridCodeScheme) -> Result<Self, CodeError> {
        let code = check_digits(s, scheme.code_len())?;
        if all_zero(&code[..COUNTY_LEN]) {
            return Err(CodeError::ZeroCounty);
        }
        if all_zero(&code[COUNTY_LEN..STREET_END]) {
            return Err(CodeError::ZeroStreet);
        }
        if all_zero(&code[STREET_END..COMMUNITY_END]) {
            return Err(CodeError::ZeroCommunity);
        }
        if all_zero(&code[COMMUNITY_END..]) {
            return Err(CodeError::ZeroSerial);
        }
        Ok(Self {
            code: code.to_owned(),
        })
    }

    /// The full code.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The 6-digit county code (GB/T 2260).
    #[must_use]
    pub fn county_code(&self) -> &str {
        &self.code[..COUNTY_LEN]
    }

    /// The 9-digit street code (county + street).
    #[must_use]
    pub fn street_code(&self) -> &str {
        &self.code[..STREET_END]
    }

    /// The 12-digit community code (county + street + community).
    #[must_use]
    pub fn community_code(&self) -> &str {
        &self.code[..COMMUNITY_END]
    }

    /// The serial within the community: 1–99, or 1–999 for 3-digit schemes.
    ///
    /// ```
    /// use cityloop_geo::codes::{GridCode, GridCodeScheme};
    /// let code = GridCode::parse("110101001001123", &GridCodeScheme::BEIJING)?;
    /// assert_eq!(code.serial(), 123);
    /// # Ok::<(), cityloop_geo::codes::CodeError>(())
    /// ```
    #[must_use]
    pub fn serial(&self) -> u16 {
        // Parsing guaranteed 2 or 3 ASCII digits, so the fold cannot overflow.
        self.code[COMMUNITY_END..]
            .bytes()
            .fold(0, |acc, b| acc * 10 + u16::from(b - b'0'))
    }
}

impl fmt::Display for GridCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

impl From<GridCode> for String {
    fn from(code: GridCode) -> Self {
        code.code
    }
}

/// A component identifier (部件标识码): county (6) + major class (2) + minor
/// class (2) + serial (6).
///
/// ```
/// use cityloop_geo::codes::ComponentId;
/// let id = ComponentId::parse("3205080101000001")?;
/// assert_eq!(id.county_code(), "320508");
/// assert_eq!(id.class_code(), "0101");
/// assert_eq!(id.serial(), 1);
/// assert_eq!(ComponentId::new("320508", "0101", 1)?, id);
/// # Ok::<(), cityloop_geo::codes::CodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ComponentId {
    id: String,
}

impl ComponentId {
    /// Parses and validates a 16-digit component id.
    ///
    /// ```
    /// use cityloop_geo::codes::{CodeError, ComponentId};
    /// assert!(ComponentId::parse("3205080101000001").is_ok());
    /// assert_eq!(ComponentId::parse("3205080101000000"), Err(CodeError::ZeroSerial));
    /// ```
    ///
    /// # Errors
    /// [`CodeError::Length`], [`CodeError::NonDigit`], [`CodeError::ZeroCounty`],
    /// [`CodeError::ZeroClass`] or [`CodeError::ZeroSerial`].
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let id = check_digits(s, COMPONENT_LEN)?;
        if all_zero(&id[..COUNTY_LEN]) {
            return Err(CodeError::ZeroCounty);
        }
        if all_zero(&id[COUNTY_LEN..COUNTY_LEN + 2]) {
            return Err(CodeError::ZeroClass { part: "major" });
        }
        if all_zero(&id[COUNTY_LEN + 2..CLASS_END]) {
            return Err(CodeError::ZeroClass { part: "minor" });
        }
        if all_zero(&id[CLASS_END..]) {
            return Err(CodeError::ZeroSerial);
        }
        Ok(Self { id: id.to_owned() })
    }

    /// Builds an id from its parts, zero-padding the serial to 6 digits.
    ///
    /// ```
    /// use cityloop_geo::codes::ComponentId;
    /// let id = ComponentId::new("320508", "0203", 4217)?;
    /// assert_eq!(id.as_str(), "3205080203004217");
    /// assert!(ComponentId::new("320508", "0203", 1_000_000).is_err());
    /// # Ok::<(), cityloop_geo::codes::CodeError>(())
    /// ```
    ///
    /// # Errors
    /// [`CodeError::SerialOutOfRange`] unless `serial` is 1..=999999, and the
    /// errors of [`ComponentId::parse`] for a malformed county or class code.
    pub fn new(county: &str, class_code: &str, serial: u32) -> Result<Self, CodeError> {
        if !(1..=MAX_COMPONENT_SERIAL).contains(&serial) {
            return Err(CodeError::SerialOutOfRange(serial));
        }
        // Validating the parts separately gives length errors about the part
        // that is wrong rather than about the 16-digit concatenation.
        check_digits(county, COUNTY_LEN)?;
        check_digits(class_code, CLASS_END - COUNTY_LEN)?;
        Self::parse(&format!("{county}{class_code}{serial:06}"))
    }

    /// The full identifier.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The 6-digit county code (GB/T 2260).
    #[must_use]
    pub fn county_code(&self) -> &str {
        &self.id[..COUNTY_LEN]
    }

    /// The 4-digit class code: major + minor, e.g. `"0101"`.
    #[must_use]
    pub fn class_code(&self) -> &str {
        &self.id[COUNTY_LEN..CLASS_END]
    }

    /// The 2-digit major class (大类), e.g. `"01"` for public facilities.
    #[must_use]
    pub fn major_code(&self) -> &str {
        &self.id[COUNTY_LEN..COUNTY_LEN + 2]
    }

    /// The 2-digit minor class (小类).
    #[must_use]
    pub fn minor_code(&self) -> &str {
        &self.id[COUNTY_LEN + 2..CLASS_END]
    }

    /// The serial, 1–999999.
    #[must_use]
    pub fn serial(&self) -> u32 {
        // Six ASCII digits always fit.
        self.id[CLASS_END..]
            .bytes()
            .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl std::str::FromStr for ComponentId {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<ComponentId> for String {
    fn from(id: ComponentId) -> Self {
        id.id
    }
}

impl TryFrom<String> for ComponentId {
    type Error = CodeError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STD: GridCodeScheme = GridCodeScheme::STANDARD;

    #[test]
    fn grid_code_parts() {
        let code = GridCode::parse("11010100100101", &STD).unwrap();
        assert_eq!(code.county_code(), "110101");
        assert_eq!(code.street_code(), "110101001");
        assert_eq!(code.community_code(), "110101001001");
        assert_eq!(code.serial(), 1);
        assert_eq!(code.as_str(), "11010100100101");
        assert_eq!(
            GridCode::parse("11010100100199", &STD).unwrap().serial(),
            99
        );

        let beijing = GridCode::parse("110101001001999", &GridCodeScheme::BEIJING).unwrap();
        assert_eq!(beijing.serial(), 999);
        assert_eq!(beijing.community_code(), "110101001001");
    }

    #[test]
    fn grid_code_errors_name_the_problem() {
        let cases = [
            (
                "1101010010010",
                CodeError::Length {
                    expected: 14,
                    actual: 13,
                },
            ),
            (
                "110101001001011",
                CodeError::Length {
                    expected: 14,
                    actual: 15,
                },
            ),
            (
                "11010100100A01",
                CodeError::NonDigit {
                    position: 11,
                    found: 'A',
                },
            ),
            (
                "1101010010010१",
                CodeError::NonDigit {
                    position: 13,
                    found: '१',
                },
            ),
            ("11010100100100", CodeError::ZeroSerial),
            ("11010100100001", CodeError::ZeroCommunity),
            ("11010100000101", CodeError::ZeroStreet),
            ("00000000100101", CodeError::ZeroCounty),
        ];
        for (input, expected) in cases {
            assert_eq!(GridCode::parse(input, &STD), Err(expected), "{input}");
        }
        assert_eq!(
            GridCode::parse("11010100100101", &GridCodeScheme::BEIJING),
            Err(CodeError::Length {
                expected: 15,
                actual: 14
            })
        );
        assert_eq!(
            GridCode::parse("110101001001000", &GridCodeScheme::BEIJING),
            Err(CodeError::ZeroSerial)
        );
        assert!(
            CodeError::ZeroStreet.to_string().contains("street"),
            "messages name the part"
        );
    }

    #[test]
    fn scheme_deserialises_with_validation() {
        use serde::de::value::{Error, MapDeserializer};
        let de: MapDeserializer<'_, _, Error> =
            MapDeserializer::new([("serial_digits", 3_u8)].into_iter());
        assert_eq!(GridCodeScheme::deserialize(de), Ok(GridCodeScheme::BEIJING));
        let de: MapDeserializer<'_, _, Error> =
            MapDeserializer::new([("serial_digits", 4_u8)].into_iter());
        assert!(GridCodeScheme::deserialize(de).is_err());
    }

    #[test]
    fn component_id_example() {
        let id = ComponentId::parse("3205080101000001").unwrap();
        assert_eq!(id.county_code(), "320508");
        assert_eq!(id.class_code(), "0101");
        assert_eq!(id.major_code(), "01");
        assert_eq!(id.minor_code(), "01");
        assert_eq!(id.serial(), 1);
        assert_eq!(id.to_string(), "3205080101000001");
        assert_eq!("3205080101000001".parse::<ComponentId>(), Ok(id.clone()));
        assert_eq!(ComponentId::new("320508", "0101", 1), Ok(id));
        assert_eq!(
            ComponentId::new("320508", "0602", 999_999)
                .unwrap()
                .as_str(),
            "3205080602999999"
        );
    }

    #[test]
    fn component_id_errors() {
        assert_eq!(
            ComponentId::parse("320508010100001"),
            Err(CodeError::Length {
                expected: 16,
                actual: 15
            })
        );
        assert_eq!(
            ComponentId::parse("32050801010000-1"),
            Err(CodeError::NonDigit {
                position: 14,
                found: '-'
            })
        );
        assert_eq!(
            ComponentId::parse("3205080101000000"),
            Err(CodeError::ZeroSerial)
        );
        assert_eq!(
            ComponentId::parse("3205080001000001"),
            Err(CodeError::ZeroClass { part: "major" })
        );
        assert_eq!(
            ComponentId::parse("3205080100000001"),
            Err(CodeError::ZeroClass { part: "minor" })
        );
        assert_eq!(
            ComponentId::parse("0000000101000001"),
            Err(CodeError::ZeroCounty)
        );
        assert_eq!(
            ComponentId::new("320508", "0101", 0),
            Err(CodeError::SerialOutOfRange(0))
        );
        assert_eq!(
            ComponentId::new("32050", "0101", 1),
            Err(CodeError::Length {
                expected: 6,
                actual: 5
            })
        );
        assert_eq!(
            ComponentId::new("320508", "01a1", 1),
            Err(CodeError::NonDigit {
                position: 2,
                found: 'a'
            })
        );
    }
}
