//! A small WKT reader and writer for CSV geometry columns.
//!
//! Reads POINT, LINESTRING, POLYGON, MULTIPOINT, MULTILINESTRING,
//! MULTIPOLYGON and GEOMETRYCOLLECTION, with optional Z/M/ZM (dropped), EMPTY,
//! and an EWKT `SRID=…;` prefix (ignored: the CRS is the caller's business).

use std::fmt::Write as _;

use geo_types::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon,
};

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Number(f64),
    Open,
    Close,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(_, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | '[' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' | ']' => {
                chars.next();
                tokens.push(Token::Close);
            }
            ',' => {
                chars.next();
                tokens.push(Token::Comma);
            }
            c if c.is_ascii_alphabetic() => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if !c.is_ascii_alphanumeric() && c != '_' {
                        break;
                    }
                    word.push(c.to_ascii_uppercase());
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
            c if c.is_ascii_digit() || matches!(c, '-' | '+' | '.') => {
                let mut number = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    let sign = matches!(c, '-' | '+')
                        && (number.is_empty() || number.ends_with(['e', 'E']));
                    if c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E') || sign {
                        number.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                let value: f64 = number
                    .parse()
                    .map_err(|_| format!("{number:?} is not a number"))?;
                tokens.push(Token::Number(value));
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, want: &Token, what: &str) -> Result<(), String> {
        match self.next() {
            Some(t) if &t == want => Ok(()),
            Some(t) => Err(format!("expected {what}, found {t:?}")),
            None => Err(format!("expected {what}, found the end")),
        }
    }

    fn coord(&mut self) -> Result<Coord<f64>, String> {
        let mut values = Vec::with_capacity(4);
        while let Some(Token::Number(v)) = self.peek() {
            values.push(*v);
            self.at += 1;
        }
        match values.as_slice() {
            [x, y, ..] if values.len() <= 4 => {
                if !(x.is_finite() && y.is_finite()) {
                    return Err("coordinates must be finite".to_owned());
                }
                Ok(Coord { x: *x, y: *y })
            }
            _ => Err(format!(
                "a coordinate needs 2 to 4 numbers, found {}",
                values.len()
            )),
        }
    }

    /// `( c, c, … )`
    fn coords(&mut self) -> Result<Vec<Coord<f64>>, String> {
        self.expect(&Token::Open, "'('")?;
        let mut out = vec![self.coord()?];
        while self.peek() == Some(&Token::Comma) {
            self.at += 1;
            out.push(self.coord()?);
        }
        self.expect(&Token::Close, "')'")?;
        Ok(out)
    }

    /// `( item, item, … )`
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        self.expect(&Token::Open, "'('")?;
        let mut out = vec![item(self)?];
        while self.peek() == Some(&Token::Comma) {
            self.at += 1;
            out.push(item(self)?);
        }
        self.expect(&Token::Close, "')'")?;
        Ok(out)
    }

    fn polygon(&mut self) -> Result<Polygon<f64>, String> {
        let mut rings = self.list(Self::coords)?.into_iter().map(LineString);
        let exterior = rings.next().unwrap_or_else(|| LineString(Vec::new()));
        Ok(Polygon::new(exterior, rings.collect()))
    }

    fn geometry(&mut self, depth: usize) -> Result<Option<Geometry<f64>>, String> {
        if depth > 32 {
            return Err("geometry collections nested too deeply".to_owned());
        }
        let Some(Token::Word(mut kind)) = self.next() else {
            return Err("expected a geometry type".to_owned());
        };
        // "POINTZ" and "POINT Z" both occur.
        for suffix in ["ZM", "Z", "M"] {
            if let Some(base) = kind.strip_suffix(suffix)
                && matches!(
                    base,
                    "POINT"
                        | "LINESTRING"
                        | "POLYGON"
                        | "MULTIPOINT"
                        | "MULTILINESTRING"
                        | "MULTIPOLYGON"
                        | "GEOMETRYCOLLECTION"
                )
            {
                kind = base.to_owned();
                break;
            }
        }
        if let Some(Token::Word(w)) = self.peek()
            && matches!(w.as_str(), "Z" | "M" | "ZM")
        {
            self.at += 1;
        }
        if let Some(Token::Word(w)) = self.peek()
            && w == "EMPTY"
        {
            self.at += 1;
            return Ok(None);
        }
        let geometry = match kind.as_str() {
            "POINT" => {
                self.expect(&Token::Open, "'('")?;
                let c = self.coord()?;
                self.expect(&Token::Close, "')'")?;
                Geometry::Point(Point(c))
            }
            "LINESTRING" => Geometry::LineString(LineString(self.coords()?)),
            "POLYGON" => Geometry::Polygon(self.polygon()?),
            "MULTIPOINT" => {
                // Both "MULTIPOINT (1 2, 3 4)" and "MULTIPOINT ((1 2), (3 4))".
                let points = self.list(|p| {
                    if p.peek() == Some(&Token::Open) {
                        p.at += 1;
                        let c = p.coord()?;
                        p.expect(&Token::Close, "')'")?;
                        Ok(Point(c))
                    } else {
                        p.coord().map(Point)
                    }
                })?;
                Geometry::MultiPoint(MultiPoint(points))
            }
            "MULTILINESTRING" => Geometry::MultiLineString(MultiLineString(
                self.list(Self::coords)?
                    .into_iter()
                    .map(LineString)
                    .collect(),
            )),
            "MULTIPOLYGON" => Geometry::MultiPolygon(MultiPolygon(self.list(Self::polygon)?)),
            "GEOMETRYCOLLECTION" => {
                let parts = self.list(|p| p.geometry(depth + 1))?;
                Geometry::GeometryCollection(GeometryCollection(
                    parts.into_iter().flatten().collect(),
                ))
            }
            other => return Err(format!("unsupported geometry type {other}")),
        };
        Ok(Some(geometry))
    }
}

/// Parses WKT (or EWKT); `Ok(None)` for an EMPTY geometry.
///
/// ```
/// let g = cityloop_io::parse_wkt("POINT (116.391 39.907)").unwrap();
/// assert_eq!(g, Some(geo_types::Geometry::Point(geo_types::point!(x: 116.391, y: 39.907))));
/// ```
///
/// # Errors
/// A message saying what was expected where.
pub fn parse_wkt(text: &str) -> Result<Option<Geometry<f64>>, String> {
    let mut body = text.trim();
    if body.len() > 5 && body[..5].eq_ignore_ascii_case("SRID=") {
        body = body.split_once(';').map_or(body, |(_, rest)| rest);
    }
    let mut parser = Parser {
        tokens: tokenize(body)?,
        at: 0,
    };
    let geometry = parser.geometry(0)?;
    if parser.at < parser.tokens.len() {
        return Err("unexpected text after the geometry".to_owned());
    }
    Ok(geometry)
}

fn write_coord(out: &mut String, c: Coord<f64>) {
    // f64's Display is the shortest text that parses back to the same value.
    let _ = write!(out, "{} {}", c.x, c.y);
}

fn write_coords(out: &mut String, coords: &[Coord<f64>]) {
    out.push('(');
    for (i, c) in coords.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_coord(out, *c);
    }
    out.push(')');
}

fn write_polygon_body(out: &mut String, p: &Polygon<f64>) {
    out.push('(');
    write_coords(out, &p.exterior().0);
    for ring in p.interiors() {
        out.push_str(", ");
        write_coords(out, &ring.0);
    }
    out.push(')');
}

fn write_list<T>(out: &mut String, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    out.push('(');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        each(out, item);
    }
    out.push(')');
}

/// Writes a geometry as WKT with full `f64` precision.
///
/// ```
/// use geo_types::{point, Geometry};
/// let wkt = cityloop_io::to_wkt(&Geometry::Point(point!(x: 116.391, y: 39.907)));
/// assert_eq!(wkt, "POINT (116.391 39.907)");
/// ```
pub fn to_wkt(geometry: &Geometry<f64>) -> String {
    let mut out = String::new();
    write_geometry(&mut out, geometry);
    out
}

fn write_geometry(out: &mut String, geometry: &Geometry<f64>) {
    match geometry {
        Geometry::Point(p) => {
            out.push_str("POINT (");
            write_coord(out, p.0);
            out.push(')');
        }
        Geometry::Line(l) => {
            out.push_str("LINESTRING ");
            write_coords(out, &[l.start, l.end]);
        }
        Geometry::LineString(ls) if ls.0.is_empty() => out.push_str("LINESTRING EMPTY"),
        Geometry::LineString(ls) => {
            out.push_str("LINESTRING ");
            write_coords(out, &ls.0);
        }
        Geometry::Polygon(p) if p.exterior().0.is_empty() => out.push_str("POLYGON EMPTY"),
        Geometry::Polygon(p) => {
            out.push_str("POLYGON ");
            write_polygon_body(out, p);
        }
        Geometry::MultiPoint(mp) if mp.0.is_empty() => out.push_str("MULTIPOINT EMPTY"),
        Geometry::MultiPoint(mp) => {
            out.push_str("MULTIPOINT ");
            write_list(out, &mp.0, |out, p| {
                out.push('(');
                write_coord(out, p.0);
                out.push(')');
            });
        }
        Geometry::MultiLineString(m) if m.0.is_empty() => out.push_str("MULTILINESTRING EMPTY"),
        Geometry::MultiLineString(m) => {
            out.push_str("MULTILINESTRING ");
            write_list(out, &m.0, |out, ls| write_coords(out, &ls.0));
        }
        Geometry::MultiPolygon(m) if m.0.is_empty() => out.push_str("MULTIPOLYGON EMPTY"),
        Geometry::MultiPolygon(m) => {
            out.push_str("MULTIPOLYGON ");
            write_list(out, &m.0, write_polygon_body);
        }
        Geometry::GeometryCollection(gc) if gc.0.is_empty() => {
            out.push_str("GEOMETRYCOLLECTION EMPTY");
        }
        Geometry::GeometryCollection(gc) => {
            out.push_str("GEOMETRYCOLLECTION ");
            write_list(out, &gc.0, write_geometry);
        }
        Geometry::Rect(r) => write_geometry(out, &Geometry::Polygon(r.to_polygon())),
        Geometry::Triangle(t) => write_geometry(out, &Geometry::Polygon(t.to_polygon())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{line_string, point, polygon};

    #[test]
    fn parses_common_forms() {
        assert_eq!(
            parse_wkt("point(1 2)").unwrap(),
            Some(Geometry::Point(point!(x: 1.0, y: 2.0)))
        );
        assert_eq!(
            parse_wkt("POINT Z (1 2 3)").unwrap(),
            Some(Geometry::Point(point!(x: 1.0, y: 2.0)))
        );
        assert_eq!(
            parse_wkt("SRID=4490;POINTZ(1 2 3)").unwrap(),
            Some(Geometry::Point(point!(x: 1.0, y: 2.0)))
        );
        assert_eq!(parse_wkt("POINT EMPTY").unwrap(), None);
        assert_eq!(
            parse_wkt("LINESTRING (1 2, 3 4)").unwrap(),
            Some(Geometry::LineString(
                line_string![(x: 1.0, y: 2.0), (x: 3.0, y: 4.0)]
            ))
        );
        assert_eq!(
            parse_wkt("MULTIPOINT (1 2, 3 4)").unwrap(),
            parse_wkt("MULTIPOINT ((1 2), (3 4))").unwrap()
        );
        let poly =
            parse_wkt("POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 2 3, 3 3, 2 2))").unwrap();
        let Some(Geometry::Polygon(p)) = poly else {
            panic!("not a polygon")
        };
        assert_eq!(p.interiors().len(), 1);
        let mp =
            parse_wkt("MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))").unwrap();
        assert!(matches!(mp, Some(Geometry::MultiPolygon(m)) if m.0.len() == 2));
        assert_eq!(
            parse_wkt("POINT (1.5e2 -2.5E-1)").unwrap(),
            Some(Geometry::Point(point!(x: 150.0, y: -0.25)))
        );
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        for bad in [
            "",
            "POINT",
            "POINT (1)",
            "POINT (1 2",
            "CIRCLE (1 2)",
            "POINT (1 2) x",
            "POINT (a b)",
        ] {
            assert!(parse_wkt(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn writes_and_reads_back() {
        let geometries = [
            Geometry::Point(point!(x: 116.397_128_123_456_7, y: 39.916_527)),
            Geometry::LineString(line_string![(x: 1.0, y: 2.0), (x: 3.0, y: 4.0)]),
            Geometry::Polygon(polygon!(
                exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 0.0)],
                interiors: [[(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0), (x: 1.0, y: 1.0)]],
            )),
        ];
        for g in geometries {
            assert_eq!(
                parse_wkt(&to_wkt(&g)).unwrap(),
                Some(g.clone()),
                "{}",
                to_wkt(&g)
            );
        }
    }
}
