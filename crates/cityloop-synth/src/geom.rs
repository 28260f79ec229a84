//! Planar helpers in local metres. Hand-rolled rather than `geo` because they run millions of
//! times on rings of a handful of vertices, where allocation-free code matters.

pub(crate) type P = [f64; 2];

#[inline]
pub(crate) fn sub(a: P, b: P) -> P {
    [a[0] - b[0], a[1] - b[1]]
}

#[inline]
pub(crate) fn add(a: P, b: P) -> P {
    [a[0] + b[0], a[1] + b[1]]
}

#[inline]
pub(crate) fn mul(a: P, k: f64) -> P {
    [a[0] * k, a[1] * k]
}

#[inline]
pub(crate) fn dot(a: P, b: P) -> f64 {
    a[0] * b[0] + a[1] * b[1]
}

#[inline]
pub(crate) fn cross(a: P, b: P) -> f64 {
    a[0] * b[1] - a[1] * b[0]
}

#[inline]
pub(crate) fn dist(a: P, b: P) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

#[inline]
pub(crate) fn lerp(a: P, b: P, t: f64) -> P {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
}

#[inline]
pub(crate) fn rotate(a: P, angle: f64) -> P {
    let (s, c) = angle.sin_cos();
    [c * a[0] - s * a[1], s * a[0] + c * a[1]]
}

/// Signed area of an open ring (counter-clockwise positive).
pub(crate) fn ring_area(pts: &[P]) -> f64 {
    let n = pts.len();
    let mut s = 0.0;
    for i in 0..n {
        s += cross(pts[i], pts[(i + 1) % n]);
    }
    s * 0.5
}

pub(crate) fn perimeter(pts: &[P]) -> f64 {
    let n = pts.len();
    (0..n).map(|i| dist(pts[i], pts[(i + 1) % n])).sum()
}

/// Area centroid; falls back to the vertex mean for degenerate rings.
pub(crate) fn ring_centroid(pts: &[P]) -> P {
    let n = pts.len();
    if n == 0 {
        return [0.0, 0.0];
    }
    // Relative to the first vertex: absolute coordinates can be tens of km away.
    let o = pts[0];
    let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let p = sub(pts[i], o);
        let q = sub(pts[(i + 1) % n], o);
        let c = cross(p, q);
        a += c;
        cx += (p[0] + q[0]) * c;
        cy += (p[1] + q[1]) * c;
    }
    if a.abs() < 1e-9 {
        let s = pts.iter().fold([0.0, 0.0], |acc, p| add(acc, *p));
        return mul(s, 1.0 / n as f64);
    }
    [o[0] + cx / (3.0 * a), o[1] + cy / (3.0 * a)]
}

/// Centroid and second moments of area about it: (centroid, ∫x², ∫y², ∫xy).
pub(crate) fn moments(pts: &[P]) -> (P, f64, f64, f64) {
    let c = ring_centroid(pts);
    let n = pts.len();
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let [x0, y0] = sub(pts[i], c);
        let [x1, y1] = sub(pts[(i + 1) % n], c);
        let cr = x0 * y1 - x1 * y0;
        sxx += (x0 * x0 + x0 * x1 + x1 * x1) * cr;
        syy += (y0 * y0 + y0 * y1 + y1 * y1) * cr;
        sxy += (x0 * y1 + 2.0 * x0 * y0 + 2.0 * x1 * y1 + x1 * y0) * cr;
    }
    (c, sxx / 12.0, syy / 12.0, sxy / 24.0)
}

/// Area of the part of the ring where `dot(p, nrm) <= o` (one Sutherland–Hodgman pass).
pub(crate) fn area_below(pts: &[P], nrm: P, o: f64, scratch: &mut Vec<P>) -> f64 {
    scratch.clear();
    let n = pts.len();
    for i in 0..n {
        let a = pts[i];
        let b = pts[(i + 1) % n];
        let sa = dot(a, nrm) - o;
        let sb = dot(b, nrm) - o;
        if sa <= 0.0 {
            scratch.push(a);
        }
        if (sa <= 0.0) != (sb <= 0.0) {
            scratch.push(lerp(a, b, sa / (sa - sb)));
        }
    }
    ring_area(scratch)
}

/// Intersection of segments ab and cd, if they cross.
pub(crate) fn seg_intersection(a: P, b: P, c: P, d: P) -> Option<P> {
    let r = sub(b, a);
    let s = sub(d, c);
    let den = cross(r, s);
    if den.abs() < 1e-12 {
        return None;
    }
    let t = cross(sub(c, a), s) / den;
    let u = cross(sub(c, a), r) / den;
    if (-1e-9..=1.0 + 1e-9).contains(&t) && (-1e-9..=1.0 + 1e-9).contains(&u) {
        Some(lerp(a, b, t))
    } else {
        None
    }
}

/// Distance from p to segment ab, and the parameter of the closest point.
pub(crate) fn point_segment(p: P, a: P, b: P) -> (f64, f64) {
    let ab = sub(b, a);
    let l2 = dot(ab, ab);
    let t = if l2 > 0.0 {
        (dot(sub(p, a), ab) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (dist(p, lerp(a, b, t)), t)
}

/// Crossing-number test on an open ring.
pub(crate) fn point_in_ring(p: P, ring: &[P]) -> bool {
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut inside = false;
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (ring[i], ring[j]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_measures() {
        let sq = [[0.0, 0.0], [10.0, 0.0], [10.0, 20.0], [0.0, 20.0]];
        assert!((ring_area(&sq) - 200.0).abs() < 1e-9);
        assert_eq!(ring_centroid(&sq), [5.0, 10.0]);
        let (_, sxx, syy, sxy) = moments(&sq);
        // ∫x² over a 10×20 box centred: w³h/12.
        assert!((sxx - 1000.0 * 20.0 / 12.0).abs() < 1e-6);
        assert!((syy - 8000.0 * 10.0 / 12.0).abs() < 1e-6);
        assert!(sxy.abs() < 1e-9);
        let mut s = Vec::new();
        assert!((area_below(&sq, [1.0, 0.0], 2.5, &mut s) - 50.0).abs() < 1e-9);
        assert!(point_in_ring([1.0, 1.0], &sq));
        assert!(!point_in_ring([11.0, 1.0], &sq));
        assert_eq!(
            seg_intersection([0.0, 0.0], [2.0, 2.0], [0.0, 2.0], [2.0, 0.0]),
            Some([1.0, 1.0])
        );
    }
}
