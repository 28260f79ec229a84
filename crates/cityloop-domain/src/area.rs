//! Administrative areas: 区/县 → 街道 → 社区.
//!
//! Codes follow GB/T 2260 (6-digit county) plus the 3-digit street and 3-digit community parts of the
//! 12-digit statistical division code, so a child's code always starts with its parent's code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    /// 区/县 (6 digits)
    District,
    /// 街道/镇/乡 (9 digits)
    Street,
    /// 社区/村 (12 digits)
    Community,
}

impl AreaLevel {
    pub const ALL: [AreaLevel; 3] = [AreaLevel::District, AreaLevel::Street, AreaLevel::Community];

    pub fn code_len(self) -> usize {
        match self {
            AreaLevel::District => 6,
            AreaLevel::Street => 9,
            AreaLevel::Community => 12,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AreaLevel::District => "district",
            AreaLevel::Street => "street",
            AreaLevel::Community => "community",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            AreaLevel::District => "区县",
            AreaLevel::Street => "街道",
            AreaLevel::Community => "社区",
        }
    }

    pub fn parent(self) -> Option<AreaLevel> {
        match self {
            AreaLevel::District => None,
            AreaLevel::Street => Some(AreaLevel::District),
            AreaLevel::Community => Some(AreaLevel::Street),
        }
    }
}

impl FromStr for AreaLevel {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AreaLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "level",
                    format!("unknown area level `{s}` (district, street, community)"),
                )
            })
    }
}

/// A validated area code; its level is given by its length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AreaCode(String);

impl AreaCode {
    /// Parses a 6-, 9- or 12-digit code.
    ///
    /// ```
    /// use cityloop_domain::{AreaCode, AreaLevel};
    /// let c = AreaCode::parse("330188001002").unwrap();
    /// assert_eq!(c.level(), AreaLevel::Community);
    /// assert_eq!(c.parent().unwrap().as_str(), "330188001");
    /// assert!(AreaCode::parse("33018800100").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new("code", "an area code has digits only"));
        }
        if !matches!(s.len(), 6 | 9 | 12) {
            return Err(FieldError::new(
                "code",
                format!(
                    "an area code has 6 (district), 9 (street) or 12 (community) digits, got {}",
                    s.len()
                ),
            ));
        }
        if s.len() == 6 && (s.starts_with("00") || s.ends_with("0000")) {
            // GB/T 2260: the first two digits are a province (11..=82); `xx0000` names the province itself.
            return Err(FieldError::new("code", "not a county-level GB/T 2260 code"));
        }
        if s.len() >= 9 && &s[6..9] == "000" {
            return Err(FieldError::new("code", "street part 000 is not a street"));
        }
        if s.len() == 12 && &s[9..12] == "000" {
            return Err(FieldError::new(
                "code",
                "community part 000 is not a community",
            ));
        }
        Ok(AreaCode(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> AreaLevel {
        match self.0.len() {
            6 => AreaLevel::District,
            9 => AreaLevel::Street,
            _ => AreaLevel::Community,
        }
    }

    pub fn parent(&self) -> Option<AreaCode> {
        self.level()
            .parent()
            .map(|p| AreaCode(self.0[..p.code_len()].to_owned()))
    }

    /// True when `other` is this area or lies inside it.
    pub fn contains(&self, other: &AreaCode) -> bool {
        other.0.starts_with(&self.0)
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AreaCode {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        AreaCode::parse(&value)
    }
}

impl From<AreaCode> for String {
    fn from(c: AreaCode) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rejects_malformed_codes() {
        for bad in [
            "",
            "33018",
            "3301880011",
            "33018800100a",
            "000000",
            "330000",
            "330188000",
            "330188001000",
        ] {
            assert!(AreaCode::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn containment_follows_prefixes() {
        let d = AreaCode::parse("330188").unwrap();
        let s = AreaCode::parse("330188002").unwrap();
        let c = AreaCode::parse("330188002003").unwrap();
        assert!(d.contains(&s) && d.contains(&c) && s.contains(&c) && c.contains(&c));
        assert!(!c.contains(&s));
        assert!(!AreaCode::parse("330188001").unwrap().contains(&c));
    }

    proptest! {
        #[test]
        fn parent_chain_is_prefix_chain(county in 110101u32..=820000, street in 1u32..=999, community in 1u32..=999) {
            prop_assume!(county % 10000 != 0);
            let code = format!("{county:06}{street:03}{community:03}");
            let c = AreaCode::parse(&code).unwrap();
            let s = c.parent().unwrap();
            let d = s.parent().unwrap();
            prop_assert_eq!(s.level(), AreaLevel::Street);
            prop_assert_eq!(d.level(), AreaLevel::District);
            prop_assert!(d.parent().is_none());
            prop_assert!(d.contains(&c) && s.contains(&c));
            prop_assert_eq!(AreaCode::parse(c.as_str()).unwrap(), c);
        }
    }
}
