//! Small planar helpers: ring orientation, point-in-ring, and building
//! polygons from unordered shells and holes.

use geo_types::{Coord, Geometry, LineString, MultiPolygon, Polygon};

/// Twice the signed area (shoelace): positive for counter-clockwise rings.
pub(crate) fn signed_area2(ring: &[Coord<f64>]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum::<f64>()
        + match (ring.last(), ring.first()) {
            // Count the closing edge when the ring is not explicitly closed.
            (Some(last), Some(first)) if last != first => last.x * first.y - first.x * last.y,
            _ => 0.0,
        }
}

/// Even-odd test; points exactly on an edge count as whichever side the
/// arithmetic lands on, which is fine for choosing a hole's shell.
pub(crate) fn point_in_ring(p: Coord<f64>, ring: &[Coord<f64>]) -> bool {
    let mut inside = false;
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (ring[i], ring[j]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn bbox(ring: &[Coord<f64>]) -> (Coord<f64>, Coord<f64>) {
    let mut min = Coord {
        x: f64::INFINITY,
        y: f64::INFINITY,
    };
    let mut max = Coord {
        x: f64::NEG_INFINITY,
        y: f64::NEG_INFINITY,
    };
    for c in ring {
        min.x = min.x.min(c.x);
        min.y = min.y.min(c.y);
        max.x = max.x.max(c.x);
        max.y = max.y.max(c.y);
    }
    (min, max)
}

fn oriented(mut ring: Vec<Coord<f64>>, counter_clockwise: bool) -> LineString<f64> {
    if (signed_area2(&ring) > 0.0) != counter_clockwise {
        ring.reverse();
    }
    LineString::from(ring)
}

/// Builds polygons from rings whose role is given by orientation, the
/// shapefile way: clockwise rings are shells, counter-clockwise rings holes.
///
/// Each hole goes to the smallest shell containing it (shapefiles do not
/// promise holes follow their shell). A hole inside no shell becomes a shell
/// of its own, as GDAL does, and is reported through `orphan_holes`. Output
/// follows RFC 7946: shells counter-clockwise, holes clockwise. Returns
/// `None` for zero rings, a `Polygon` for one shell, else a `MultiPolygon`.
pub(crate) fn polygons_from_rings(
    rings: Vec<Vec<Coord<f64>>>,
    orphan_holes: &mut usize,
) -> Option<Geometry<f64>> {
    struct Shell {
        ring: Vec<Coord<f64>>,
        area: f64,
        bbox: (Coord<f64>, Coord<f64>),
        holes: Vec<Vec<Coord<f64>>>,
    }
    let shell = |ring: Vec<Coord<f64>>| Shell {
        area: signed_area2(&ring).abs(),
        bbox: bbox(&ring),
        ring,
        holes: Vec::new(),
    };
    let mut shells: Vec<Shell> = Vec::new();
    let mut holes: Vec<Vec<Coord<f64>>> = Vec::new();
    for ring in rings.into_iter().filter(|r| !r.is_empty()) {
        if signed_area2(&ring) > 0.0 {
            holes.push(ring);
        } else {
            shells.push(shell(ring));
        }
    }
    for hole in holes {
        let (hmin, hmax) = bbox(&hole);
        let owner = shells
            .iter_mut()
            .filter(|s| {
                let (smin, smax) = s.bbox;
                smin.x <= hmin.x && smin.y <= hmin.y && smax.x >= hmax.x && smax.y >= hmax.y
            })
            .filter(|s| hole.iter().take(3).any(|&p| point_in_ring(p, &s.ring)))
            .min_by(|a, b| a.area.total_cmp(&b.area));
        match owner {
            Some(s) => s.holes.push(hole),
            None => {
                *orphan_holes += 1;
                shells.push(shell(hole));
            }
        }
    }
    let mut polygons: Vec<Polygon<f64>> = shells
        .into_iter()
        .map(|s| {
            Polygon::new(
                oriented(s.ring, true),
                s.holes.into_iter().map(|h| oriented(h, false)).collect(),
            )
        })
        .collect();
    match polygons.len() {
        0 => None,
        1 => polygons.pop().map(Geometry::Polygon),
        _ => Some(Geometry::MultiPolygon(MultiPolygon(polygons))),
    }
}

/// Returns the polygon with RFC 7946 orientation (shell counter-clockwise,
/// holes clockwise).
pub(crate) fn rfc7946_polygon(polygon: &Polygon<f64>) -> Polygon<f64> {
    let shell = oriented(polygon.exterior().0.clone(), true);
    let holes = polygon
        .interiors()
        .iter()
        .map(|h| oriented(h.0.clone(), false))
        .collect();
    Polygon::new(shell, holes)
}

/// Applies [`rfc7946_polygon`] throughout a geometry.
pub(crate) fn rfc7946(geometry: &Geometry<f64>) -> Geometry<f64> {
    match geometry {
        Geometry::Polygon(p) => Geometry::Polygon(rfc7946_polygon(p)),
        Geometry::MultiPolygon(mp) => {
            Geometry::MultiPolygon(MultiPolygon(mp.0.iter().map(rfc7946_polygon).collect()))
        }
        Geometry::GeometryCollection(gc) => Geometry::GeometryCollection(
            geo_types::GeometryCollection(gc.0.iter().map(rfc7946).collect()),
        ),
        Geometry::Rect(r) => Geometry::Polygon(rfc7946_polygon(&r.to_polygon())),
        Geometry::Triangle(t) => Geometry::Polygon(rfc7946_polygon(&t.to_polygon())),
        other => other.clone(),
    }
}

/// Whether every coordinate is finite (NaN cannot be written as JSON).
pub(crate) fn all_finite(geometry: &Geometry<f64>) -> bool {
    fn coords_finite<'a>(mut it: impl Iterator<Item = &'a Coord<f64>>) -> bool {
        it.all(|c| c.x.is_finite() && c.y.is_finite())
    }
    match geometry {
        Geometry::Point(p) => p.x().is_finite() && p.y().is_finite(),
        Geometry::Line(l) => coords_finite([l.start, l.end].iter()),
        Geometry::LineString(ls) => coords_finite(ls.0.iter()),
        Geometry::Polygon(p) => {
            coords_finite(p.exterior().0.iter())
                && p.interiors().iter().all(|r| coords_finite(r.0.iter()))
        }
        Geometry::MultiPoint(mp) => mp.0.iter().all(|p| p.x().is_finite() && p.y().is_finite()),
        Geometry::MultiLineString(m) => m.0.iter().all(|ls| coords_finite(ls.0.iter())),
        Geometry::MultiPolygon(m) => {
            m.0.iter()
                .all(|p| all_finite(&Geometry::Polygon(p.clone())))
        }
        Geometry::GeometryCollection(gc) => gc.0.iter().all(all_finite),
        Geometry::Rect(r) => coords_finite([r.min(), r.max()].iter()),
        Geometry::Triangle(t) => coords_finite(t.to_array().iter()),
    }
}

/// The geometry's type name as GeoJSON/WKT users know it.
pub(crate) fn type_name(geometry: &Geometry<f64>) -> &'static str {
    match geometry {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    fn square(x0: f64, y0: f64, size: f64, clockwise: bool) -> Vec<Coord<f64>> {
        let mut r = vec![
            c(x0, y0),
            c(x0 + size, y0),
            c(x0 + size, y0 + size),
            c(x0, y0 + size),
            c(x0, y0),
        ];
        if clockwise {
            r.reverse();
        }
        r
    }

    #[test]
    fn holes_go_to_the_shell_that_contains_them_whatever_the_order() {
        // Two shells, then holes listed in the "wrong" order: a
        // last-shell-wins assignment would put both holes in shell B.
        let rings = vec![
            square(0.0, 0.0, 10.0, true),
            square(20.0, 0.0, 10.0, true),
            square(2.0, 2.0, 2.0, false),
            square(22.0, 2.0, 2.0, false),
        ];
        let mut orphans = 0;
        let Some(Geometry::MultiPolygon(mp)) = polygons_from_rings(rings, &mut orphans) else {
            panic!("expected a multipolygon");
        };
        assert_eq!(orphans, 0);
        assert_eq!(mp.0.len(), 2);
        assert_eq!(mp.0[0].interiors().len(), 1);
        assert_eq!(mp.0[1].interiors().len(), 1);
        assert!(point_in_ring(c(3.0, 3.0), &mp.0[0].interiors()[0].0));
        assert!(point_in_ring(c(23.0, 3.0), &mp.0[1].interiors()[0].0));
        // RFC 7946 orientation.
        assert!(signed_area2(&mp.0[0].exterior().0) > 0.0);
        assert!(signed_area2(&mp.0[0].interiors()[0].0) < 0.0);
    }

    #[test]
    fn nested_shells_hole_goes_to_smallest() {
        let rings = vec![
            square(0.0, 0.0, 100.0, true),
            square(10.0, 10.0, 50.0, true),
            square(20.0, 20.0, 5.0, false),
        ];
        let mut orphans = 0;
        let Some(Geometry::MultiPolygon(mp)) = polygons_from_rings(rings, &mut orphans) else {
            panic!("expected a multipolygon");
        };
        assert_eq!(mp.0[0].interiors().len(), 0);
        assert_eq!(mp.0[1].interiors().len(), 1);
    }

    #[test]
    fn orphan_hole_becomes_a_shell() {
        let rings = vec![square(0.0, 0.0, 1.0, true), square(5.0, 5.0, 1.0, false)];
        let mut orphans = 0;
        let Some(Geometry::MultiPolygon(mp)) = polygons_from_rings(rings, &mut orphans) else {
            panic!("expected a multipolygon");
        };
        assert_eq!(orphans, 1);
        assert_eq!(mp.0.len(), 2);
    }

    #[test]
    fn single_shell_is_a_polygon() {
        let mut orphans = 0;
        let g = polygons_from_rings(vec![square(0.0, 0.0, 1.0, true)], &mut orphans);
        assert!(matches!(g, Some(Geometry::Polygon(_))));
        assert_eq!(polygons_from_rings(vec![], &mut orphans), None);
    }
}
