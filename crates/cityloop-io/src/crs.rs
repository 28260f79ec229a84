//! Recognising a declared CRS from a `.prj` (WKT) or a GeoJSON `crs` member.
//!
//! The returned names are the ones `cityloop-geo`'s `Crs` parses and displays:
//! `wgs84`, `cgcs2000`, `cgcs2000-gk3-<zone>` and
//! `cgcs2000-gk3-<zone>-prefixed` (eastings carrying the zone number). A CRS
//! that is declared but not one of those comes back as `EPSG:<code>` when an
//! EPSG code is known, otherwise as its WKT name, so the caller can name it in
//! an error instead of silently assuming WGS84.

use serde_json::Value;

/// A parsed WKT1/WKT2 node: `KEYWORD["name", 1.0, CHILD[...], IDENT]`.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    keyword: String,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Text(String),
    Number(f64),
    Ident(String),
    Node(Node),
}

impl Node {
    fn name(&self) -> Option<&str> {
        self.args.iter().find_map(|a| match a {
            Arg::Text(t) => Some(t.as_str()),
            _ => None,
        })
    }

    fn children(&self) -> impl Iterator<Item = &Node> {
        self.args.iter().filter_map(|a| match a {
            Arg::Node(n) => Some(n),
            _ => None,
        })
    }

    fn child(&self, keywords: &[&str]) -> Option<&Node> {
        self.children()
            .find(|n| keywords.iter().any(|k| n.keyword.eq_ignore_ascii_case(k)))
    }

    /// `PARAMETER["central_meridian",117]` (WKT1) or
    /// `PARAMETER["Longitude of natural origin",117,...]` (WKT2), by any of
    /// the given normalised names.
    fn parameter(&self, names: &[&str]) -> Option<f64> {
        let holder = self.child(&["CONVERSION"]).unwrap_or(self);
        holder
            .children()
            .filter(|n| n.keyword.eq_ignore_ascii_case("PARAMETER"))
            .find(|n| {
                n.name()
                    .map(normalise)
                    .is_some_and(|name| names.contains(&name.as_str()))
            })
            .and_then(|n| {
                n.args.iter().find_map(|a| match a {
                    Arg::Number(v) => Some(*v),
                    _ => None,
                })
            })
    }

    /// The `AUTHORITY["EPSG","4490"]` (WKT1) or `ID["EPSG",4490]` (WKT2) code
    /// directly on this node.
    fn epsg(&self) -> Option<u32> {
        let id = self.child(&["AUTHORITY", "ID"])?;
        let mut args = id.args.iter();
        match args.next() {
            Some(Arg::Text(auth)) if auth.eq_ignore_ascii_case("EPSG") => {}
            _ => return None,
        }
        match args.next() {
            Some(Arg::Text(code)) => code.trim().parse().ok(),
            Some(Arg::Number(code)) if code.fract() == 0.0 && *code > 0.0 => {
                format!("{code}").parse().ok()
            }
            _ => None,
        }
    }
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.chars.next_if(|c| c.is_whitespace()).is_some() {}
    }

    fn node(&mut self, depth: usize) -> Option<Node> {
        // .prj files are tiny; the depth bound only guards against a hostile
        // file blowing the stack.
        if depth > 64 {
            return None;
        }
        self.skip_ws();
        let mut keyword = String::new();
        while let Some(c) = self
            .chars
            .next_if(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            keyword.push(c);
        }
        self.skip_ws();
        let close = match self.chars.next()? {
            '[' => ']',
            '(' => ')',
            _ => return None,
        };
        let mut args = Vec::new();
        loop {
            self.skip_ws();
            match self.chars.peek()? {
                c if *c == close => {
                    self.chars.next();
                    break;
                }
                ',' => {
                    self.chars.next();
                }
                '"' => {
                    self.chars.next();
                    let mut text = String::new();
                    loop {
                        match self.chars.next()? {
                            // WKT escapes a quote by doubling it.
                            '"' if self.chars.next_if_eq(&'"').is_some() => text.push('"'),
                            '"' => break,
                            c => text.push(c),
                        }
                    }
                    args.push(Arg::Text(text));
                }
                c if c.is_ascii_digit() || *c == '-' || *c == '+' || *c == '.' => {
                    let mut number = String::new();
                    while let Some(c) = self
                        .chars
                        .next_if(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                    {
                        number.push(c);
                    }
                    args.push(Arg::Number(number.parse().ok()?));
                }
                _ => {
                    let mut word = String::new();
                    while let Some(c) = self
                        .chars
                        .next_if(|c| c.is_ascii_alphanumeric() || *c == '_')
                    {
                        word.push(c);
                    }
                    if word.is_empty() {
                        return None;
                    }
                    self.skip_ws();
                    if matches!(self.chars.peek(), Some('[' | '(')) {
                        // It was a keyword: parse the bracketed part as a child.
                        let mut child = self.node(depth + 1)?;
                        child.keyword = word;
                        args.push(Arg::Node(child));
                    } else {
                        args.push(Arg::Ident(word));
                    }
                }
            }
        }
        Some(Node { keyword, args })
    }
}

fn parse_wkt(text: &str) -> Option<Node> {
    let mut parser = Parser {
        chars: text.trim_start_matches('\u{feff}').chars().peekable(),
    };
    parser.node(0)
}

/// Lower-case with every run of non-alphanumerics turned into one `_`, so
/// `"CGCS2000 / 3-degree Gauss-Kruger CM 117E"` and
/// `"CGCS2000_3_Degree_GK_CM_117E"` compare alike.
fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

fn is_cgcs2000(name: &str) -> bool {
    let n = normalise(name);
    n.contains("cgcs2000")
        || n.contains("cgcs_2000")
        || n.contains("china_2000")
        || n.contains("china_geodetic_coordinate_system_2000")
}

fn is_wgs84(name: &str) -> bool {
    let n = normalise(name);
    n.contains("wgs_1984") || n.contains("wgs_84") || n.contains("wgs84")
}

/// Lowest and highest 3° zones covering China (central meridians 75°E–135°E).
const GK3_ZONES: std::ops::RangeInclusive<u32> = 25..=45;

/// The cityloop name for an EPSG code, or `EPSG:<code>`.
pub(crate) fn name_for_epsg(code: u32) -> String {
    match code {
        4326 => "wgs84".to_owned(),
        4490 => "cgcs2000".to_owned(),
        // CGCS2000 / 3-degree Gauss-Kruger zone 25..45 (zone-prefixed eastings).
        4513..=4533 => format!("cgcs2000-gk3-{}-prefixed", code - 4513 + 25),
        // CGCS2000 / 3-degree Gauss-Kruger CM 75E..135E (plain eastings).
        4534..=4554 => format!("cgcs2000-gk3-{}", code - 4534 + 25),
        other => format!("EPSG:{other}"),
    }
}

/// The 3° zone a central meridian belongs to, if it is one.
fn gk3_zone(central_meridian: f64) -> Option<u32> {
    let zone = central_meridian / 3.0;
    if (zone - zone.round()).abs() > 1e-9 {
        return None;
    }
    let zone = format!("{}", zone.round()).parse::<u32>().ok()?;
    GK3_ZONES.contains(&zone).then_some(zone)
}

/// CGCS2000 6° Gauss-Krüger systems have EPSG codes but no cityloop name.
fn gk6_epsg(central_meridian: f64, prefixed: bool) -> Option<u32> {
    let offset = (central_meridian - 75.0) / 6.0;
    if offset.fract() != 0.0 || !(0.0..=10.0).contains(&offset) {
        return None;
    }
    let offset = format!("{offset}").parse::<u32>().ok()?;
    Some(if prefixed {
        4491 + offset
    } else {
        4502 + offset
    })
}

/// Reads "CM 117E" / "CM_117E" or "zone 39" / "Zone_39" out of a projected CRS
/// name, for .prj files that lack usable parameters.
fn gk_from_name(name: &str) -> Option<String> {
    let n = normalise(name);
    if !(n.contains("3_degree") || n.contains("3_deg")) {
        return None;
    }
    let words: Vec<&str> = n.split('_').collect();
    for pair in words.windows(2) {
        if let [key, value] = pair {
            if *key == "cm"
                && let Some(meridian) = value.strip_suffix('e')
                && let Ok(meridian) = meridian.parse::<f64>()
            {
                return gk3_zone(meridian).map(|zone| format!("cgcs2000-gk3-{zone}"));
            }
            if *key == "zone"
                && let Ok(zone) = value.parse::<u32>()
                && GK3_ZONES.contains(&zone)
            {
                return Some(format!("cgcs2000-gk3-{zone}-prefixed"));
            }
        }
    }
    None
}

fn projected(node: &Node) -> Option<String> {
    let name = node.name().unwrap_or_default();
    let geog = node.child(&["GEOGCS", "GEOGCRS", "BASEGEOGCRS", "BASEGEODCRS", "GEODCRS"]);
    let geog_name = geog.and_then(Node::name).unwrap_or_default();
    let datum_name = geog
        .and_then(|g| g.child(&["DATUM", "TRF"]))
        .and_then(Node::name)
        .unwrap_or_default();
    let cgcs = is_cgcs2000(name) || is_cgcs2000(geog_name) || is_cgcs2000(datum_name);

    let method = node
        .child(&["PROJECTION"])
        .or_else(|| {
            node.child(&["CONVERSION"])
                .and_then(|c| c.child(&["METHOD"]))
        })
        .and_then(Node::name)
        .map(normalise)
        .unwrap_or_default();
    let transverse_mercator = method.contains("transverse_mercator") || method.contains("gauss");
    let meridian = node.parameter(&[
        "central_meridian",
        "longitude_of_natural_origin",
        "longitude_of_origin",
    ]);
    let easting = node.parameter(&["false_easting"]);
    let scale = node
        .parameter(&["scale_factor", "scale_factor_at_natural_origin"])
        .unwrap_or(1.0);

    let name_n = normalise(name);
    let three_degree = name_n.contains("3_degree") || name_n.contains("3_deg");
    // "CGCS2000 / Gauss-Kruger CM 117E" and "CGCS2000_GK_CM_117E" are 6° zones.
    let six_degree =
        !three_degree && (name_n.contains("gauss_kruger") || name_n.split('_').any(|w| w == "gk"));

    if cgcs && transverse_mercator && (scale - 1.0).abs() < 1e-9 {
        if let (Some(meridian), Some(easting)) = (meridian, easting) {
            if !six_degree && let Some(zone) = gk3_zone(meridian) {
                if (easting - 500_000.0).abs() < 1e-6 {
                    return Some(format!("cgcs2000-gk3-{zone}"));
                }
                if (easting - (f64::from(zone) * 1_000_000.0 + 500_000.0)).abs() < 1e-6 {
                    return Some(format!("cgcs2000-gk3-{zone}-prefixed"));
                }
            }
            // A 6° zone number is (meridian + 3) / 6 (zone 20 has CM 117E).
            let zone6 = (meridian + 3.0) / 6.0;
            let prefixed = (easting - (zone6 * 1_000_000.0 + 500_000.0)).abs() < 1e-6;
            if (prefixed || (easting - 500_000.0).abs() < 1e-6)
                && let Some(code) = gk6_epsg(meridian, prefixed)
            {
                return Some(name_for_epsg(code));
            }
        }
        if let Some(found) = gk_from_name(name) {
            return Some(found);
        }
    }
    if let Some(code) = node.epsg() {
        return Some(name_for_epsg(code));
    }
    (!name.is_empty()).then(|| name.to_owned())
}

fn geographic(node: &Node) -> Option<String> {
    let name = node.name().unwrap_or_default();
    let datum = node
        .child(&["DATUM", "TRF"])
        .and_then(Node::name)
        .unwrap_or_default();
    if let Some(code) = node.epsg() {
        return Some(name_for_epsg(code));
    }
    if is_cgcs2000(name) || is_cgcs2000(datum) {
        return Some("cgcs2000".to_owned());
    }
    if is_wgs84(name) || is_wgs84(datum) {
        return Some("wgs84".to_owned());
    }
    (!name.is_empty()).then(|| name.to_owned())
}

/// Recognises the CRS a `.prj` declares; `None` if the text is empty or not
/// WKT at all.
pub(crate) fn crs_from_prj(text: &str) -> Option<String> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return None;
    }
    if !trimmed.contains('[') && !trimmed.contains('(') {
        // Some tools write just an identifier such as "EPSG:4490".
        return crs_from_name(trimmed);
    }
    let root = parse_wkt(trimmed)?;
    let keyword = root.keyword.to_ascii_uppercase();
    match keyword.as_str() {
        "PROJCS" | "PROJCRS" | "PROJECTEDCRS" => projected(&root),
        "GEOGCS" | "GEOGCRS" | "GEODCRS" | "GEOGRAPHICCRS" | "GEODETICCRS" => geographic(&root),
        // COMPD_CS / COMPOUNDCRS: the horizontal part decides.
        "COMPD_CS" | "COMPOUNDCRS" => {
            root.children()
                .find_map(|child| match child.keyword.to_ascii_uppercase().as_str() {
                    "PROJCS" | "PROJCRS" => projected(child),
                    "GEOGCS" | "GEOGCRS" | "GEODCRS" => geographic(child),
                    _ => None,
                })
        }
        _ => root.name().map(str::to_owned),
    }
}

/// Recognises identifiers such as `urn:ogc:def:crs:EPSG::4490`, `EPSG:4326`,
/// `urn:ogc:def:crs:OGC:1.3:CRS84`.
pub(crate) fn crs_from_name(name: &str) -> Option<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return None;
    }
    let upper = trimmed.to_ascii_uppercase();
    if upper.ends_with("CRS84") || upper.ends_with("CRS:84") {
        return Some("wgs84".to_owned());
    }
    if upper.contains("EPSG") {
        let digits: String = upper
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap_or_default()
            .to_owned();
        if let Ok(code) = digits.parse::<u32>() {
            return Some(name_for_epsg(code));
        }
    }
    Some(trimmed.to_owned())
}

/// Reads a GeoJSON 2008 `crs` member: `{"type":"name","properties":{"name":…}}`
/// or `{"type":"EPSG","properties":{"code":4490}}`.
pub(crate) fn crs_from_geojson(value: &Value) -> Option<String> {
    let properties = value.get("properties")?;
    if let Some(name) = properties.get("name").and_then(Value::as_str) {
        return crs_from_name(name);
    }
    match properties.get("code") {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|c| u32::try_from(c).ok())
            .map(name_for_epsg),
        Some(Value::String(s)) => s.trim().parse::<u32>().ok().map(name_for_epsg),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESRI_GK_CM_117: &str = r#"PROJCS["CGCS2000_3_Degree_GK_CM_117E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
    const ESRI_GK_ZONE_39: &str = r#"PROJCS["CGCS2000_3_Degree_GK_Zone_39",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",39500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
    const OGC_GK_CM_117: &str = r#"PROJCS["CGCS2000 / 3-degree Gauss-Kruger CM 117E",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4490"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",117],PARAMETER["scale_factor",1],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AUTHORITY["EPSG","4548"]]"#;
    const ESRI_WGS84: &str = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
    const ESRI_CGCS2000: &str = r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
    const XIAN80: &str = r#"PROJCS["Xian_1980_3_Degree_GK_CM_117E",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

    #[test]
    fn recognises_prj_files() {
        assert_eq!(
            crs_from_prj(ESRI_GK_CM_117).as_deref(),
            Some("cgcs2000-gk3-39")
        );
        assert_eq!(
            crs_from_prj(ESRI_GK_ZONE_39).as_deref(),
            Some("cgcs2000-gk3-39-prefixed")
        );
        assert_eq!(
            crs_from_prj(OGC_GK_CM_117).as_deref(),
            Some("cgcs2000-gk3-39")
        );
        assert_eq!(crs_from_prj(ESRI_WGS84).as_deref(), Some("wgs84"));
        assert_eq!(crs_from_prj(ESRI_CGCS2000).as_deref(), Some("cgcs2000"));
        assert_eq!(
            crs_from_prj(XIAN80).as_deref(),
            Some("Xian_1980_3_Degree_GK_CM_117E")
        );
        assert_eq!(crs_from_prj("  \n"), None);
        assert_eq!(crs_from_prj("EPSG:4490").as_deref(), Some("cgcs2000"));
    }

    #[test]
    fn recognises_gk_by_name_when_parameters_are_missing() {
        let wkt = r#"PROJCS["CGCS2000 / 3-degree Gauss-Kruger zone 40",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]]],PROJECTION["Transverse_Mercator"]]"#;
        assert_eq!(
            crs_from_prj(wkt).as_deref(),
            Some("cgcs2000-gk3-40-prefixed")
        );
    }

    #[test]
    fn recognises_six_degree_zones_by_epsg() {
        let wkt = r#"PROJCS["CGCS2000 / Gauss-Kruger CM 117E",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]]],PROJECTION["Transverse_Mercator"],PARAMETER["central_meridian",117],PARAMETER["scale_factor",1],PARAMETER["false_easting",500000]]"#;
        assert_eq!(crs_from_prj(wkt).as_deref(), Some("EPSG:4509"));
    }

    #[test]
    fn wkt2_projected() {
        let wkt = r#"PROJCRS["CGCS2000 / 3-degree Gauss-Kruger CM 117E",BASEGEOGCRS["China Geodetic Coordinate System 2000",DATUM["China 2000",ELLIPSOID["CGCS2000",6378137,298.257222101,LENGTHUNIT["metre",1]]]],CONVERSION["3-degree Gauss-Kruger CM 117E",METHOD["Transverse Mercator",ID["EPSG",9807]],PARAMETER["Latitude of natural origin",0],PARAMETER["Longitude of natural origin",117],PARAMETER["Scale factor at natural origin",1],PARAMETER["False easting",500000],PARAMETER["False northing",0]],CS[Cartesian,2],ID["EPSG",4548]]"#;
        assert_eq!(crs_from_prj(wkt).as_deref(), Some("cgcs2000-gk3-39"));
    }

    #[test]
    fn names_and_epsg_codes() {
        assert_eq!(
            crs_from_name("urn:ogc:def:crs:EPSG::4490").as_deref(),
            Some("cgcs2000")
        );
        assert_eq!(crs_from_name("EPSG:4326").as_deref(), Some("wgs84"));
        assert_eq!(
            crs_from_name("urn:ogc:def:crs:OGC:1.3:CRS84").as_deref(),
            Some("wgs84")
        );
        assert_eq!(
            crs_from_name("EPSG:4527").as_deref(),
            Some("cgcs2000-gk3-39-prefixed")
        );
        assert_eq!(
            crs_from_name("EPSG:4548").as_deref(),
            Some("cgcs2000-gk3-39")
        );
        assert_eq!(crs_from_name("EPSG:3857").as_deref(), Some("EPSG:3857"));
        let legacy = serde_json::json!({"type": "EPSG", "properties": {"code": 4490}});
        assert_eq!(crs_from_geojson(&legacy).as_deref(), Some("cgcs2000"));
    }
}
