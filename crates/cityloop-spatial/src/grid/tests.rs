use super::*;
use geo::{Intersects, LineString, Point, Polygon, polygon};

/// The reference answer: lowest index whose closed polygon contains the
/// point, computed by `geo` over all polygons.
fn brute(polys: &[Polygon<f64>], x: f64, y: f64) -> Option<u32> {
    let p = Point::new(x, y);
    polys
        .iter()
        .position(|g| g.intersects(&p))
        .map(|i| i as u32)
}

fn ring(coords: &[(f64, f64)]) -> LineString<f64> {
    LineString::from(coords.to_vec())
}

fn poly(coords: &[(f64, f64)]) -> Polygon<f64> {
    Polygon::new(ring(coords), vec![])
}

fn bbox_of(polys: &[Polygon<f64>]) -> [f64; 4] {
    bounding_box(polys).unwrap().unwrap()
}

/// Indexes to check: metre-sized cells via `build`, and rasters whose cell
/// borders fall exactly on the test lattice (the adversarial case for the
/// local test) or on awkward non-representable steps.
fn indexes(polys: &[Polygon<f64>]) -> Vec<GridIndex> {
    let b = bbox_of(polys);
    let mut out = Vec::new();
    for cell_m in [5_000.0, 20_000.0, 55_555.0, 200_000.0, 1_000_000.0] {
        out.push(GridIndex::build(polys, cell_m).unwrap());
    }
    for step in [0.125, 0.25, 0.5, 1.0, 2.0, 0.1, 0.3, 0.7] {
        let x0 = (b[0] / step).floor() * step - step;
        let y0 = (b[1] / step).floor() * step - step;
        out.push(GridIndex::build_raster(polys, b, x0, y0, step, step, 0.0).unwrap());
    }
    out
}

/// Every point of a 1/16 lattice over the bounding box and its margin, so
/// vertices, edges and cell borders are hit exactly.
fn check_lattice(polys: &[Polygon<f64>]) {
    let b = bbox_of(polys);
    let step = 1.0 / 16.0;
    let nx = ((b[2] - b[0]) / step) as i64 + 8;
    let ny = ((b[3] - b[1]) / step) as i64 + 8;
    for idx in indexes(polys) {
        for ix in -4..nx {
            for iy in -4..ny {
                let x = b[0] + ix as f64 * step;
                let y = b[1] + iy as f64 * step;
                assert_eq!(
                    idx.locate(x, y),
                    brute(polys, x, y),
                    "at ({x}, {y}) with {:?}",
                    idx.stats()
                );
            }
        }
    }
}

#[test]
fn squares_shared_edges_and_vertices() {
    // 3 x 2 unit squares at a realistic lon/lat offset.
    let mut polys = Vec::new();
    for r in 0..2 {
        for c in 0..3 {
            let (x, y) = (116.0 + c as f64, 39.0 + r as f64);
            polys.push(poly(&[
                (x, y),
                (x + 1.0, y),
                (x + 1.0, y + 1.0),
                (x, y + 1.0),
            ]));
        }
    }
    let idx = GridIndex::build(&polys, 10_000.0).unwrap();
    assert_eq!(idx.locate(116.5, 39.5), Some(0));
    assert_eq!(idx.locate(118.5, 40.5), Some(5));
    // Shared edge between 0 and 1, shared vertex of 0, 1, 3, 4.
    assert_eq!(idx.locate(117.0, 39.5), Some(0));
    assert_eq!(idx.locate(117.0, 40.0), Some(0));
    assert_eq!(idx.locate(118.0, 40.0), Some(1));
    assert_eq!(idx.locate(118.5, 40.0), Some(2));
    // Outer boundary of the union still belongs to a grid.
    assert_eq!(idx.locate(119.0, 41.0), Some(5));
    assert_eq!(idx.locate(116.0, 39.0), Some(0));
    assert_eq!(idx.locate(119.0, 39.25), Some(2));
    // Outside.
    assert_eq!(idx.locate(119.000_001, 39.5), None);
    assert_eq!(idx.locate(115.0, 39.5), None);
    assert_eq!(idx.locate(f64::NAN, 39.5), None);
    check_lattice(&polys);
}

#[test]
fn l_shapes() {
    // Two interlocking L-shapes filling [0,3] x [0,2].
    let a = poly(&[
        (0.0, 0.0),
        (3.0, 0.0),
        (3.0, 1.0),
        (1.0, 1.0),
        (1.0, 2.0),
        (0.0, 2.0),
    ]);
    let b = poly(&[(1.0, 1.0), (3.0, 1.0), (3.0, 2.0), (1.0, 2.0)]);
    let c = poly(&[(3.0, 0.0), (4.0, 0.0), (4.0, 2.0), (3.0, 2.0), (3.0, 1.0)]);
    let polys = vec![b, a, c];
    let idx = GridIndex::build(&polys, 20_000.0).unwrap();
    assert_eq!(idx.locate(0.5, 1.5), Some(1));
    assert_eq!(idx.locate(2.0, 1.0), Some(0)); // shared edge: lowest id
    assert_eq!(idx.locate(1.0, 1.5), Some(0));
    assert_eq!(idx.locate(3.0, 1.0), Some(0)); // vertex of all three
    assert_eq!(idx.locate(3.0, 0.5), Some(1));
    check_lattice(&polys);
}

#[test]
fn concave_with_notch_filled() {
    // A U shape whose notch is filled by a second polygon, plus a comb-like
    // concave polygon with many reflex vertices on the same horizontal lines.
    let u = poly(&[
        (0.0, 0.0),
        (3.0, 0.0),
        (3.0, 3.0),
        (2.0, 3.0),
        (2.0, 1.0),
        (1.0, 1.0),
        (1.0, 3.0),
        (0.0, 3.0),
    ]);
    let notch = poly(&[(1.0, 1.0), (2.0, 1.0), (2.0, 3.0), (1.0, 3.0)]);
    let comb = poly(&[
        (3.0, 0.0),
        (6.0, 0.0),
        (6.0, 3.0),
        (5.5, 3.0),
        (5.5, 1.0),
        (5.0, 3.0),
        (4.5, 1.0),
        (4.0, 3.0),
        (3.5, 1.0),
        (3.0, 3.0),
    ]);
    let polys = vec![u, notch, comb];
    let idx = GridIndex::build(&polys, 30_000.0).unwrap();
    assert_eq!(idx.locate(1.5, 2.0), Some(1));
    assert_eq!(idx.locate(1.5, 0.5), Some(0));
    assert_eq!(idx.locate(4.5, 2.9), None); // between the comb's teeth
    assert_eq!(idx.locate(5.0, 2.9), Some(2)); // in a tooth
    assert_eq!(idx.locate(4.75, 1.0), Some(2));
    check_lattice(&polys);
}

#[test]
fn holes_filled_and_unfilled() {
    let outer = Polygon::new(
        ring(&[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)]),
        vec![
            ring(&[(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 2.0)]),
            ring(&[(2.5, 2.5), (3.5, 2.5), (3.0, 3.5)]),
        ],
    );
    // Fills the first hole only; listed after the outer polygon.
    let island = poly(&[(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 2.0)]);
    let polys = vec![outer, island];
    let idx = GridIndex::build(&polys, 15_000.0).unwrap();
    assert_eq!(idx.locate(1.5, 1.5), Some(1));
    assert_eq!(idx.locate(1.0, 1.5), Some(0)); // hole boundary: closure of 0
    assert_eq!(idx.locate(3.0, 2.9), None); // unfilled hole
    assert_eq!(idx.locate(3.0, 2.5), Some(0));
    assert_eq!(idx.locate(0.5, 3.5), Some(0));
    check_lattice(&polys);
}

#[test]
fn shared_diagonal_edge() {
    let lower = poly(&[(0.0, 0.0), (2.0, 0.0), (2.0, 2.0)]);
    let upper = poly(&[(0.0, 0.0), (2.0, 2.0), (0.0, 2.0)]);
    // A steep and a shallow diagonal as well.
    let steep_a = poly(&[(2.0, 0.0), (3.0, 0.0), (2.25, 2.0), (2.0, 2.0)]);
    let steep_b = poly(&[(3.0, 0.0), (4.0, 0.0), (4.0, 2.0), (2.25, 2.0)]);
    for polys in [
        vec![
            lower.clone(),
            upper.clone(),
            steep_a.clone(),
            steep_b.clone(),
        ],
        vec![upper, lower, steep_b, steep_a],
    ] {
        let idx = GridIndex::build(&polys, 12_345.0).unwrap();
        assert_eq!(idx.locate(1.0, 1.0), Some(0));
        assert_eq!(idx.locate(1.5, 0.5), brute(&polys, 1.5, 0.5));
        check_lattice(&polys);
        // Points on the diagonal with non-representable coordinates: the
        // floating-point point may be a hair off the line; both answers
        // are then fine but it must never be None.
        for k in 1..1000 {
            let t = f64::from(k) * 0.001_999_7;
            assert!(idx.locate(t, t).is_some());
            let u = 2.0 + 0.25 * (t / 2.0);
            assert_eq!(idx.locate(u, t), brute(&polys, u, t));
        }
    }
}

#[test]
fn overlapping_polygons_resolve_to_lowest() {
    let big = poly(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]);
    let small = poly(&[(2.0, 2.0), (4.0, 2.0), (4.0, 4.0), (2.0, 4.0)]);
    for polys in [vec![big.clone(), small.clone()], vec![small, big]] {
        check_lattice(&polys);
    }
}

#[test]
fn degenerate_inputs() {
    assert!(matches!(
        GridIndex::build(&[], 0.0),
        Err(IndexError::InvalidCellSize(_))
    ));
    let empty = GridIndex::build(&[], 25.0).unwrap();
    assert_eq!(empty.locate(116.0, 39.0), None);
    assert_eq!(empty.cell_kind(116.0, 39.0), CellKind::Outside);
    let bad = vec![poly(&[(0.0, 0.0), (f64::NAN, 0.0), (1.0, 1.0)])];
    assert!(matches!(
        GridIndex::build(&bad, 25.0),
        Err(IndexError::NonFiniteCoordinate { polygon: 0 })
    ));
    // A zero-area polygon contains only its boundary.
    let flat = vec![poly(&[(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)])];
    check_lattice(&flat);
    // Tiny cells over a huge extent are refused instead of eating memory.
    let huge = vec![polygon![(x: -170.0, y: -60.0), (x: 170.0, y: -60.0), (x: 0.0, y: 60.0)]];
    assert!(matches!(
        GridIndex::build(&huge, 1.0),
        Err(IndexError::RasterTooLarge { .. })
    ));
}

#[test]
fn synthetic_city_matches_brute_force() {
    use crate::synth::{CityParams, city, uniform_points};
    let c = city(&CityParams {
        grids: 400,
        ..CityParams::default()
    });
    for cell_m in [7.0, 25.0, 60.0, 333.0] {
        let idx = GridIndex::build(&c.polygons, cell_m).unwrap();
        for (x, y) in uniform_points(c.bbox, 20_000, 3) {
            assert_eq!(idx.locate(x, y), brute(&c.polygons, x, y), "({x}, {y})");
        }
        // Every vertex is on a boundary: must resolve to the lowest grid
        // whose closure holds it.
        for g in &c.polygons {
            for v in g
                .exterior()
                .coords()
                .chain(g.interiors().iter().flat_map(|r| r.coords()))
            {
                assert_eq!(idx.locate(v.x, v.y), brute(&c.polygons, v.x, v.y));
            }
        }
    }
}

/// Random tilings on an exact lattice: unit squares with corners jittered by
/// multiples of 1/4 (so vertices land on cell borders), some split along a
/// diagonal, some left out; checked on the 1/16 point lattice.
#[test]
fn random_lattice_tilings() {
    use crate::synth::SplitMix64;
    let mut rng = SplitMix64::new(99);
    for _ in 0..12 {
        let (nx, ny) = (4usize, 3usize);
        let mut corners = vec![(0.0, 0.0); (nx + 1) * (ny + 1)];
        for r in 0..=ny {
            for c in 0..=nx {
                let jx = (rng.below(3) as f64 - 1.0) * 0.25;
                let jy = (rng.below(3) as f64 - 1.0) * 0.25;
                corners[r * (nx + 1) + c] = (c as f64 * 2.0 + jx, r as f64 * 2.0 + jy);
            }
        }
        let k = |r: usize, c: usize| corners[r * (nx + 1) + c];
        let mut polys = Vec::new();
        for r in 0..ny {
            for c in 0..nx {
                let (a, b, cc, d) = (k(r, c), k(r, c + 1), k(r + 1, c + 1), k(r + 1, c));
                match rng.below(4) {
                    0 => {}
                    1 => {
                        polys.push(poly(&[a, b, cc]));
                        polys.push(poly(&[a, cc, d]));
                    }
                    _ => polys.push(poly(&[a, b, cc, d])),
                }
            }
        }
        if polys.is_empty() {
            continue;
        }
        // Shuffle ids so "lowest id" is not just row-major order.
        for i in (1..polys.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            polys.swap(i, j);
        }
        check_lattice(&polys);
    }
}
