//! Renaming file attributes to the names cityloop uses.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

/// `target=source` pairs, e.g. parsed from
/// `"code=BGID,name=BGNAME,community=SQ_CODE"`.
///
/// ```
/// use cityloop_io::FieldMap;
/// use serde_json::json;
///
/// let map: FieldMap = "code=BGID, name=BGNAME".parse()?;
/// let props = json!({"BGID": 33018800100101_i64, "bgname": "金桂社区", "AREA": 1.5});
/// let out = map.apply(props.as_object().unwrap());
/// assert_eq!(serde_json::Value::Object(out), json!({"code": 33018800100101_i64, "name": "金桂社区"}));
/// # Ok::<(), cityloop_io::FieldMapError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldMap(pub Vec<(String, String)>);

/// Why a field mapping could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldMapError {
    /// An entry without `=`.
    #[error("{0:?} is not of the form target=source")]
    NotAPair(String),
    /// An entry with nothing before or after `=`.
    #[error("{0:?} has an empty target or source")]
    Empty(String),
    /// The same target twice.
    #[error("target {0:?} is mapped twice")]
    DuplicateTarget(String),
}

impl FromStr for FieldMap {
    type Err = FieldMapError;

    /// Entries are separated by `,` (or the full-width `，` an IME produces);
    /// blanks around names and empty entries (a trailing comma) are ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for entry in s.split([',', '，']) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let (target, source) = entry
                .split_once('=')
                .ok_or_else(|| FieldMapError::NotAPair(entry.to_owned()))?;
            let (target, source) = (target.trim(), source.trim());
            if target.is_empty() || source.is_empty() {
                return Err(FieldMapError::Empty(entry.to_owned()));
            }
            if pairs.iter().any(|(t, _)| t == target) {
                return Err(FieldMapError::DuplicateTarget(target.to_owned()));
            }
            pairs.push((target.to_owned(), source.to_owned()));
        }
        Ok(Self(pairs))
    }
}

impl fmt::Display for FieldMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (target, source)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{target}={source}")?;
        }
        Ok(())
    }
}

/// Looks `key` up exactly, then ignoring ASCII case (DBF field names are
/// usually upper-case; users type lower-case).
fn lookup<'a>(props: &'a Map<String, Value>, key: &str) -> Option<(&'a String, &'a Value)> {
    props
        .get_key_value(key)
        .or_else(|| props.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
}

impl FieldMap {
    /// Parses `"target=source,…"`.
    ///
    /// # Errors
    /// See [`FieldMapError`].
    pub fn parse(s: &str) -> Result<Self, FieldMapError> {
        s.parse()
    }

    /// The mapped attributes under their target names. Sources absent from
    /// `props` are absent from the result (check with
    /// [`FieldMap::missing_sources`] against the file's field names);
    /// unmapped attributes are dropped (see [`FieldMap::unmapped`]).
    pub fn apply(&self, props: &Map<String, Value>) -> Map<String, Value> {
        self.0
            .iter()
            .filter_map(|(target, source)| {
                lookup(props, source).map(|(_, v)| (target.clone(), v.clone()))
            })
            .collect()
    }

    /// The attributes no mapping uses, under their own names.
    pub fn unmapped(&self, props: &Map<String, Value>) -> Map<String, Value> {
        let used: Vec<&String> = self
            .0
            .iter()
            .filter_map(|(_, source)| lookup(props, source).map(|(k, _)| k))
            .collect();
        props
            .iter()
            .filter(|(k, _)| !used.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Sources that none of `available` names match (same matching as
    /// [`FieldMap::apply`]), to reject a mapping before importing anything.
    pub fn missing_sources<'a>(&'a self, available: &[String]) -> Vec<&'a str> {
        self.0
            .iter()
            .map(|(_, source)| source.as_str())
            .filter(|source| {
                !available
                    .iter()
                    .any(|a| a == source || a.eq_ignore_ascii_case(source))
            })
            .collect()
    }
}

/// The attribute as trimmed text, with numbers written out in full:
/// a DBF code read as `33018800100101` (integer) or as `3.3018800100101e13`
/// (float) both give `"33018800100101"`. `None` for absent, null, empty or
/// blank strings, arrays and objects.
///
/// Looks `key` up exactly, then ignoring ASCII case.
///
/// ```
/// use cityloop_io::get_str;
/// use serde_json::json;
/// let props = json!({"BGID": 3.3018800100101e13, "NAME": "  金桂社区 "});
/// let props = props.as_object().unwrap();
/// assert_eq!(get_str(props, "bgid").as_deref(), Some("33018800100101"));
/// assert_eq!(get_str(props, "NAME").as_deref(), Some("金桂社区"));
/// ```
pub fn get_str(props: &Map<String, Value>, key: &str) -> Option<String> {
    let (_, value) = lookup(props, key)?;
    match value {
        Value::String(s) => {
            let trimmed = s.trim();
            (!trimmed.is_empty()).then(|| trimmed.to_owned())
        }
        Value::Number(n) => Some(number_text(n)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

pub(crate) fn number_text(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        // Rust's f64 Display never uses exponent notation and prints
        // integral values without ".0"; serde_json's own Display would give
        // "3.3018800100101e13".
        // -0.0 would print as "-0".
        Some(f) => {
            if f == 0.0 {
                "0".to_owned()
            } else {
                format!("{f}")
            }
        }
        None => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn parses_and_displays() {
        let map = FieldMap::parse(" code = BGID ,name=BGNAME，community=SQ_CODE,").unwrap();
        assert_eq!(
            map.0,
            vec![
                ("code".to_owned(), "BGID".to_owned()),
                ("name".to_owned(), "BGNAME".to_owned()),
                ("community".to_owned(), "SQ_CODE".to_owned()),
            ]
        );
        assert_eq!(map.to_string(), "code=BGID,name=BGNAME,community=SQ_CODE");
        assert_eq!(FieldMap::parse("").unwrap(), FieldMap::default());
        assert_eq!(
            FieldMap::parse("code"),
            Err(FieldMapError::NotAPair("code".into()))
        );
        assert_eq!(
            FieldMap::parse("=x"),
            Err(FieldMapError::Empty("=x".into()))
        );
        assert_eq!(
            FieldMap::parse("a=x,a=y"),
            Err(FieldMapError::DuplicateTarget("a".into()))
        );
        // Chinese source names are common in Chinese DBFs.
        let map = FieldMap::parse("name=名称").unwrap();
        let props = json!({"名称": "金桂社区"});
        assert_eq!(
            Value::Object(map.apply(props.as_object().unwrap())),
            json!({"name": "金桂社区"})
        );
    }

    #[test]
    fn apply_unmapped_and_missing() {
        let map = FieldMap::parse("code=BGID,name=bgname,x=NOPE").unwrap();
        let props = json!({"BGID": "1", "BGNAME": "n", "AREA": 2});
        let props = props.as_object().unwrap();
        assert_eq!(
            Value::Object(map.apply(props)),
            json!({"code": "1", "name": "n"})
        );
        assert_eq!(Value::Object(map.unmapped(props)), json!({"AREA": 2}));
        let available = vec!["BGID".to_owned(), "BGNAME".to_owned(), "AREA".to_owned()];
        assert_eq!(map.missing_sources(&available), vec!["NOPE"]);
    }

    #[test]
    fn dbf_codes_become_exact_digit_strings() {
        let props = json!({
            "int": 33018800100101_i64,
            "float": 3.3018800100101e13,
            "float_with_decimals": 33018800100101.0,
            "big": 18446744073709551615_u64,
            "frac": 1.25,
            "neg": -7,
            "zero": -0.0,
            "text": " 330188 ",
            "blank": "   ",
            "null": null,
            "bool": true,
            "arr": [1],
        });
        let props = props.as_object().unwrap();
        let get = |k: &str| get_str(props, k);
        assert_eq!(get("int").as_deref(), Some("33018800100101"));
        assert_eq!(get("float").as_deref(), Some("33018800100101"));
        assert_eq!(
            get("float_with_decimals").as_deref(),
            Some("33018800100101")
        );
        assert_eq!(get("big").as_deref(), Some("18446744073709551615"));
        assert_eq!(get("frac").as_deref(), Some("1.25"));
        assert_eq!(get("neg").as_deref(), Some("-7"));
        assert_eq!(get("zero").as_deref(), Some("0"));
        assert_eq!(get("text").as_deref(), Some("330188"));
        assert_eq!(get("blank"), None);
        assert_eq!(get("null"), None);
        assert_eq!(get("bool").as_deref(), Some("true"));
        assert_eq!(get("arr"), None);
        assert_eq!(get("absent"), None);
    }

    proptest! {
        #[test]
        fn integral_floats_print_all_digits(n in -(1_i64 << 53)..(1_i64 << 53)) {
            let props = json!({"v": n as f64, "i": n});
            let props = props.as_object().unwrap();
            prop_assert_eq!(get_str(props, "v"), Some(n.to_string()));
            prop_assert_eq!(get_str(props, "i"), Some(n.to_string()));
        }

        #[test]
        fn parse_display_round_trip(pairs in proptest::collection::vec(("[a-z_]{1,8}", "[A-Z_0-9]{1,8}"), 0..6)) {
            let mut seen = std::collections::HashSet::new();
            let pairs: Vec<(String, String)> = pairs.into_iter().filter(|(t, _)| seen.insert(t.clone())).collect();
            let map = FieldMap(pairs);
            prop_assert_eq!(FieldMap::parse(&map.to_string()).unwrap(), map);
        }
    }
}
