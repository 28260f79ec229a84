//! A half-edge mesh (DCEL) of the city's planar subdivision. Splitting an edge updates both
//! faces that share it, which is what keeps neighbouring grids on identical vertices even where
//! one side is cut and the other is not (a T-junction).

use std::collections::HashMap;

use crate::geom::P;
use crate::model::LandUse;

pub(crate) const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HalfEdge {
    pub origin: u32,
    pub twin: u32,
    /// `NONE` on the outside of the district, which is never walked.
    pub next: u32,
    pub prev: u32,
    /// `NONE` outside the district.
    pub face: u32,
    /// Provisional road id, or `NONE` for grid boundaries that are not roads.
    pub road: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Face {
    pub edge: u32,
    /// The block (unit) the face was cut from; communities are unions of units.
    pub unit: u32,
    pub land: LandUse,
}

#[derive(Debug, Default)]
pub(crate) struct Mesh {
    pub pts: Vec<P>,
    pub he: Vec<HalfEdge>,
    pub faces: Vec<Face>,
}

/// Where a point lies on a face's boundary: at the origin of a half-edge, or inside one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum OnBoundary {
    Vertex(u32),
    Inside(u32, P),
}

impl Mesh {
    /// Builds the mesh from counter-clockwise rings of (vertex, road id of the edge leaving it).
    /// Edges shared by two rings become twins; the others get an outside twin.
    pub fn from_rings(pts: Vec<P>, rings: &[(Vec<(u32, u32)>, LandUse)]) -> Self {
        let mut he: Vec<HalfEdge> = Vec::new();
        let mut faces = Vec::with_capacity(rings.len());
        let mut by_ends: HashMap<(u32, u32), u32> = HashMap::new();
        for (ring, land) in rings {
            let f = faces.len() as u32;
            let base = he.len() as u32;
            let n = ring.len() as u32;
            for (k, &(v, road)) in ring.iter().enumerate() {
                let k = k as u32;
                he.push(HalfEdge {
                    origin: v,
                    twin: NONE,
                    next: base + (k + 1) % n,
                    prev: base + (k + n - 1) % n,
                    face: f,
                    road,
                });
                let w = ring[((k + 1) % n) as usize].0;
                by_ends.insert((v, w), base + k);
            }
            faces.push(Face {
                edge: base,
                unit: NONE,
                land: *land,
            });
        }
        let inner = he.len();
        for h in 0..inner {
            let v = he[h].origin;
            let w = he[he[h].next as usize].origin;
            match by_ends.get(&(w, v)) {
                Some(&t) => he[h].twin = t,
                None => {
                    let t = he.len() as u32;
                    he.push(HalfEdge {
                        origin: w,
                        twin: h as u32,
                        next: NONE,
                        prev: NONE,
                        face: NONE,
                        road: he[h].road,
                    });
                    he[h].twin = t;
                }
            }
        }
        Mesh { pts, he, faces }
    }

    #[inline]
    pub fn e(&self, h: u32) -> &HalfEdge {
        &self.he[h as usize]
    }

    #[inline]
    pub fn pt(&self, v: u32) -> P {
        self.pts[v as usize]
    }

    #[inline]
    pub fn dest(&self, h: u32) -> u32 {
        self.e(self.e(h).twin).origin
    }

    /// The half-edges around a face, starting at its recorded edge.
    pub fn ring(&self, f: u32, out: &mut Vec<u32>) {
        out.clear();
        let start = self.faces[f as usize].edge;
        let mut h = start;
        loop {
            out.push(h);
            h = self.e(h).next;
            // The bound only guards against a corrupted mesh looping forever.
            if h == start || h == NONE || out.len() > self.he.len() {
                break;
            }
        }
    }

    pub fn ring_points(&self, f: u32, hes: &mut Vec<u32>, pts: &mut Vec<P>) {
        self.ring(f, hes);
        pts.clear();
        pts.extend(hes.iter().map(|&h| self.pt(self.e(h).origin)));
    }

    /// Inserts a vertex at `p` on the edge of `h`; returns the half-edge that leaves the new
    /// vertex on `h`'s side.
    pub fn split_edge(&mut self, h: u32, p: P) -> u32 {
        let v = self.pts.len() as u32;
        self.pts.push(p);
        let t = self.e(h).twin;
        let (hn, hf, road) = (self.e(h).next, self.e(h).face, self.e(h).road);
        let (tn, tf) = (self.e(t).next, self.e(t).face);
        let h2 = self.he.len() as u32;
        let t2 = h2 + 1;
        self.he.push(HalfEdge {
            origin: v,
            twin: t,
            next: hn,
            prev: h,
            face: hf,
            road,
        });
        self.he.push(HalfEdge {
            origin: v,
            twin: h,
            next: tn,
            prev: t,
            face: tf,
            road,
        });
        if hn != NONE {
            self.he[hn as usize].prev = h2;
        }
        if tn != NONE {
            self.he[tn as usize].prev = t2;
        }
        self.he[h as usize].next = h2;
        self.he[t as usize].next = t2;
        self.he[h as usize].twin = t2;
        self.he[t as usize].twin = h2;
        h2
    }

    /// Turns a boundary position into the half-edge leaving that point, inserting a vertex
    /// when it lies inside an edge.
    pub fn realize(&mut self, b: OnBoundary) -> u32 {
        match b {
            OnBoundary::Vertex(h) => h,
            OnBoundary::Inside(h, p) => self.split_edge(h, p),
        }
    }

    /// Whether a chord between two boundary positions of the same face would be a new edge
    /// (not a point, and not a copy of an existing edge).
    pub fn chord_ok(&self, a: OnBoundary, b: OnBoundary) -> bool {
        use OnBoundary::*;
        match (a, b) {
            (Vertex(x), Vertex(y)) => x != y && self.e(x).next != y && self.e(y).next != x,
            (Inside(x, _), Vertex(y)) | (Vertex(y), Inside(x, _)) => y != x && y != self.e(x).next,
            (Inside(x, _), Inside(y, _)) => x != y,
        }
    }

    /// Connects the origins of `a` and `b` (both on face f) with a new edge; the face keeps the
    /// part starting at `b`, and the part starting at `a` becomes a new face, which is returned.
    pub fn split_face(&mut self, a: u32, b: u32, road: u32) -> u32 {
        let f = self.e(a).face;
        let pa = self.e(a).prev;
        let pb = self.e(b).prev;
        let (p, q) = (self.e(a).origin, self.e(b).origin);
        let e1 = self.he.len() as u32;
        let e2 = e1 + 1;
        let nf = self.faces.len() as u32;
        self.he.push(HalfEdge {
            origin: p,
            twin: e2,
            next: b,
            prev: pa,
            face: f,
            road,
        });
        self.he.push(HalfEdge {
            origin: q,
            twin: e1,
            next: a,
            prev: pb,
            face: nf,
            road,
        });
        self.he[b as usize].prev = e1;
        self.he[pa as usize].next = e1;
        self.he[a as usize].prev = e2;
        self.he[pb as usize].next = e2;
        let old = self.faces[f as usize];
        self.faces[f as usize].edge = e1;
        self.faces.push(Face { edge: e2, ..old });
        let mut h = a;
        let mut guard = 0;
        while h != e2 && guard <= self.he.len() {
            self.he[h as usize].face = nf;
            h = self.e(h).next;
            guard += 1;
        }
        self.he[e2 as usize].face = nf;
        nf
    }

    /// Finds `p` on the boundary of face f (within `tol`), snapping to a vertex within `snap`.
    pub fn locate_on_boundary(&self, f: u32, p: P, tol: f64, snap: f64) -> Option<OnBoundary> {
        let mut hes = Vec::new();
        self.ring(f, &mut hes);
        let mut best: Option<(f64, u32)> = None;
        for &h in &hes {
            let a = self.pt(self.e(h).origin);
            let b = self.pt(self.dest(h));
            let (d, _) = crate::geom::point_segment(p, a, b);
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, h));
            }
        }
        let (d, h) = best?;
        if d > tol {
            return None;
        }
        let a = self.pt(self.e(h).origin);
        let b = self.pt(self.dest(h));
        let (da, db) = (crate::geom::dist(p, a), crate::geom::dist(p, b));
        Some(if da <= snap && da <= db {
            OnBoundary::Vertex(h)
        } else if db <= snap {
            OnBoundary::Vertex(self.e(h).next)
        } else {
            OnBoundary::Inside(h, p)
        })
    }

    /// Cuts face f along the chord p→q (both on its boundary). Returns the new face.
    pub fn cut(&mut self, f: u32, p: P, q: P, road: u32, snap: f64) -> Option<u32> {
        let a = self.locate_on_boundary(f, p, 0.5, snap)?;
        let b = self.locate_on_boundary(f, q, 0.5, snap)?;
        if !self.chord_ok(a, b) {
            return None;
        }
        let ha = self.realize(a);
        let hb = self.realize(b);
        Some(self.split_face(ha, hb, road))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geom::ring_area;

    fn square_pair() -> Mesh {
        // Two unit squares side by side sharing the edge 1–4.
        let pts = vec![
            [0.0, 0.0],
            [1.0, 0.0],
            [2.0, 0.0],
            [0.0, 1.0],
            [1.0, 1.0],
            [2.0, 1.0],
        ];
        let l = |vs: &[u32]| vs.iter().map(|&v| (v, NONE)).collect::<Vec<_>>();
        Mesh::from_rings(
            pts,
            &[
                (l(&[0, 1, 4, 3]), LandUse::Built),
                (l(&[1, 2, 5, 4]), LandUse::Built),
            ],
        )
    }

    fn face_area(m: &Mesh, f: u32) -> f64 {
        let (mut h, mut p) = (Vec::new(), Vec::new());
        m.ring_points(f, &mut h, &mut p);
        ring_area(&p)
    }

    #[test]
    fn splitting_a_shared_edge_reaches_both_faces() {
        let mut m = square_pair();
        // Cut the right square from the middle of its left side to the middle of its right side.
        let nf = m.cut(1, [1.0, 0.5], [2.0, 0.5], 7, 0.01);
        assert_eq!(nf, Some(2));
        assert!((face_area(&m, 1) - 0.5).abs() < 1e-12);
        assert!((face_area(&m, 2) - 0.5).abs() < 1e-12);
        // The left square now has the T-junction vertex on its right side.
        let mut hes = Vec::new();
        m.ring(0, &mut hes);
        assert_eq!(hes.len(), 5);
        assert!((face_area(&m, 0) - 1.0).abs() < 1e-12);
        for h in 0..m.he.len() as u32 {
            let e = *m.e(h);
            assert_eq!(m.e(e.twin).twin, h);
            if e.face != NONE {
                assert_eq!(m.e(e.next).prev, h);
                assert_eq!(m.e(e.next).face, e.face);
            }
        }
    }

    #[test]
    fn chord_along_an_edge_is_refused() {
        let mut m = square_pair();
        assert_eq!(m.cut(0, [0.0, 0.0], [1.0, 0.0], NONE, 0.01), None);
        assert_eq!(m.cut(0, [0.0, 0.0], [0.0, 0.0], NONE, 0.01), None);
    }
}
