//! The component (部件) and event (事件) taxonomy: 2-digit major classes and 4-digit minor classes
//! (GB/T 30428.2 / CJ/T 214 numbering). Component and event codes overlap (`0101` is both 上水井盖 and
//! 私搭乱建), so a class is always named with its kind: `C0101`, `E0101`.
//!
//! The national tables ship as built-in data; cities add their own classes (e.g. component majors
//! `21`–`29`) and switch classes on and off.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

pub const BUILTIN_COMPONENTS_CSV: &str = include_str!("../data/components.csv");
pub const BUILTIN_EVENTS_CSV: &str = include_str!("../data/events.csv");
pub const BUILTIN_ENGLISH_CSV: &str = include_str!("../data/taxonomy-en.csv");
/// Provenance and confidence of the built-in tables.
pub const BUILTIN_NOTES: &str = include_str!("../data/TAXONOMY-README.md");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassKind {
    /// 部件: a coded public object (manhole cover, lamp, bin…).
    Component,
    /// 事件: a problem (illegal parking, exposed garbage…).
    Event,
}

impl ClassKind {
    pub fn prefix(self) -> char {
        match self {
            ClassKind::Component => 'C',
            ClassKind::Event => 'E',
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClassKind::Component => "component",
            ClassKind::Event => "event",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            ClassKind::Component => "部件",
            ClassKind::Event => "事件",
        }
    }
}

impl FromStr for ClassKind {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "component" | "部件" | "C" | "c" => Ok(ClassKind::Component),
            "event" | "事件" | "E" | "e" => Ok(ClassKind::Event),
            other => Err(FieldError::new(
                "kind",
                format!("`{other}` is neither component (部件) nor event (事件)"),
            )),
        }
    }
}

/// A minor class: kind plus 4-digit code (2-digit major + 2-digit minor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassRef {
    pub kind: ClassKind,
    code: [u8; 4],
}

impl ClassRef {
    /// ```
    /// use cityloop_domain::taxonomy::{ClassKind, ClassRef};
    /// let c = ClassRef::new(ClassKind::Event, "0505").unwrap();
    /// assert_eq!(c.to_string(), "E0505");
    /// assert_eq!(c.major(), "05");
    /// assert_eq!("C0118".parse::<ClassRef>().unwrap().kind, ClassKind::Component);
    /// assert!(ClassRef::new(ClassKind::Event, "0500").is_err());
    /// ```
    pub fn new(kind: ClassKind, code: &str) -> Result<ClassRef, FieldError> {
        let code = code.trim();
        let bytes = code.as_bytes();
        let ok = bytes.len() == 4 && bytes.iter().all(u8::is_ascii_digit);
        if !ok {
            return Err(FieldError::new(
                "class",
                format!("`{code}` is not a 4-digit class code"),
            ));
        }
        if &code[..2] == "00" || &code[2..] == "00" {
            return Err(FieldError::new(
                "class",
                format!("`{code}`: major and minor parts start at 01"),
            ));
        }
        let mut c = [0u8; 4];
        c.copy_from_slice(bytes);
        Ok(ClassRef { kind, code: c })
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or("0000")
    }

    pub fn major(&self) -> &str {
        self.code().get(..2).unwrap_or("00")
    }
}

impl fmt::Display for ClassRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.kind.prefix(), self.code())
    }
}

impl FromStr for ClassRef {
    type Err = FieldError;
    /// `C0101` / `E0101` (also `component:0101`, `event:0101`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some((kind, code)) = s.split_once(':') {
            return ClassRef::new(kind.parse()?, code);
        }
        let mut chars = s.chars();
        let kind = match chars.next() {
            Some('C' | 'c') => ClassKind::Component,
            Some('E' | 'e') => ClassKind::Event,
            _ => {
                return Err(FieldError::new(
                    "class",
                    format!("`{s}`: write C0101 for a component class or E0101 for an event class"),
                ));
            }
        };
        ClassRef::new(kind, chars.as_str())
    }
}

impl Serialize for ClassRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClassRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|e: FieldError| serde::de::Error::custom(e.message))
    }
}

/// One row of the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxonomyClass {
    pub class: ClassRef,
    pub major_name: String,
    pub name: String,
    pub major_name_en: String,
    pub name_en: String,
    /// `verified` or `inferred` for built-in rows; `local` for a city's own.
    pub confidence: String,
    pub notes: String,
    pub builtin: bool,
    pub enabled: bool,
}

fn english_labels() -> Vec<(String, String, String)> {
    BUILTIN_ENGLISH_CSV
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.splitn(3, ',');
            Some((
                f.next()?.to_owned(),
                f.next()?.to_owned(),
                f.next()?.trim().to_owned(),
            ))
        })
        .collect()
}

fn parse_builtin(
    kind: ClassKind,
    csv: &str,
    en: &[(String, String, String)],
) -> Vec<TaxonomyClass> {
    let label = |key: String| {
        en.iter()
            .find(|(k, c, _)| k == kind.as_str() && *c == key)
            .map(|(_, _, n)| n.clone())
            .unwrap_or_default()
    };
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let f: Vec<&str> = line.splitn(6, ',').collect();
            let class = ClassRef::new(kind, f.get(2)?).ok()?;
            Some(TaxonomyClass {
                class,
                major_name: (*f.get(1)?).to_owned(),
                name: (*f.get(3)?).to_owned(),
                major_name_en: label(class.major().to_owned()),
                name_en: label(class.code().to_owned()),
                confidence: (*f.get(4)?).to_owned(),
                notes: f
                    .get(5)
                    .map(|s| s.trim_matches('"').to_owned())
                    .unwrap_or_default(),
                builtin: true,
                enabled: true,
            })
        })
        .collect()
}

/// The national component and event tables shipped with cityloop.
pub fn builtin_classes() -> Vec<TaxonomyClass> {
    let en = english_labels();
    let mut out = parse_builtin(ClassKind::Component, BUILTIN_COMPONENTS_CSV, &en);
    out.extend(parse_builtin(ClassKind::Event, BUILTIN_EVENTS_CSV, &en));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_are_complete() {
        let all = builtin_classes();
        let components: Vec<_> = all
            .iter()
            .filter(|c| c.class.kind == ClassKind::Component)
            .collect();
        let events: Vec<_> = all
            .iter()
            .filter(|c| c.class.kind == ClassKind::Event)
            .collect();
        assert_eq!(components.len(), 85);
        assert_eq!(events.len(), 55);
        let majors = |v: &[&TaxonomyClass]| {
            let mut m: Vec<_> = v.iter().map(|c| c.class.major().to_owned()).collect();
            m.dedup();
            m.len()
        };
        assert_eq!(majors(&components), 6);
        assert_eq!(majors(&events), 5);
        for c in &all {
            assert!(!c.name.is_empty() && !c.major_name.is_empty());
            assert!(!c.name_en.is_empty(), "no English label for {}", c.class);
            assert!(
                !c.major_name_en.is_empty(),
                "no English label for major of {}",
                c.class
            );
            assert!(matches!(c.confidence.as_str(), "verified" | "inferred"));
        }
        let mut keys: Vec<_> = all.iter().map(|c| c.class).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), all.len(), "unique");
    }

    #[test]
    fn class_refs_parse_and_print() {
        for s in ["C0101", "E0199", "event:0505", "c2101"] {
            let c: ClassRef = s.parse().unwrap();
            assert_eq!(c.to_string().parse::<ClassRef>().unwrap(), c);
        }
        for bad in ["0101", "X0101", "C101", "C0100", "C0001", "E01a1", ""] {
            assert!(bad.parse::<ClassRef>().is_err(), "{bad}");
        }
    }
}
