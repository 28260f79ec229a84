//! Groups blocks (units) into streets and communities: recursive coordinate bisection on block
//! centroids gives compact parts with staircase borders along roads; a repair pass then makes
//! every part one connected piece.

use crate::geom::P;
use crate::mesh::NONE;

pub(crate) struct Units {
    /// Unit grids in each block.
    pub weight: Vec<u32>,
    /// Block centroid in lattice-aligned metres.
    pub pos: Vec<P>,
    /// Blocks sharing an edge, sorted.
    pub adj: Vec<Vec<u32>>,
}

impl Units {
    pub fn weight_of(&self, ids: &[u32]) -> u64 {
        ids.iter()
            .map(|&u| u64::from(self.weight[u as usize]))
            .sum()
    }
}

/// Splits `ids` into `k` compact parts of about equal weight.
pub(crate) fn bisect(units: &Units, mut ids: Vec<u32>, k: usize) -> Vec<Vec<u32>> {
    let mut out = Vec::with_capacity(k);
    ids.sort_unstable();
    rcb(units, &mut ids, k.max(1), &mut out);
    out
}

/// Column width for the staircase ordering: about half a lattice cell.
const BAND: f64 = 240.0;

fn rcb(units: &Units, ids: &mut [u32], k: usize, out: &mut Vec<Vec<u32>>) {
    if k <= 1 || ids.len() <= 1 {
        out.push(ids.to_vec());
        return;
    }
    let k = k.min(ids.len());
    let k1 = k / 2;
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for &u in ids.iter() {
        let p = units.pos[u as usize];
        for d in 0..2 {
            lo[d] = lo[d].min(p[d]);
            hi[d] = hi[d].max(p[d]);
        }
    }
    let axis = usize::from(hi[1] - lo[1] > hi[0] - lo[0]);
    let other = 1 - axis;
    // Sort by band along the cut axis, then along the other axis, so the cut is a staircase
    // that follows block boundaries.
    ids.sort_by(|&a, &b| {
        let (pa, pb) = (units.pos[a as usize], units.pos[b as usize]);
        let (ba, bb) = ((pa[axis] / BAND).floor(), (pb[axis] / BAND).floor());
        ba.total_cmp(&bb)
            .then(pa[other].total_cmp(&pb[other]))
            .then(a.cmp(&b))
    });
    let total = units.weight_of(ids) as f64;
    let target = total * k1 as f64 / k as f64;
    let (min_m, max_m) = (k1, ids.len() - (k - k1));
    let mut best = (f64::MAX, min_m);
    let mut cum = 0.0;
    for (m, &u) in ids.iter().enumerate() {
        if m >= min_m && m <= max_m {
            let d = (cum - target).abs();
            if d < best.0 {
                best = (d, m);
            }
        }
        cum += f64::from(units.weight[u as usize]);
    }
    let (left, right) = ids.split_at_mut(best.1);
    rcb(units, left, k1, out);
    rcb(units, right, k - k1, out);
}

/// Reassigns stray pieces of a part to the neighbouring part they touch most, until every part
/// is connected (within the units the parts cover).
pub(crate) fn repair(units: &Units, parts: &mut [Vec<u32>]) {
    let mut part_of = vec![NONE; units.weight.len()];
    let mut scope: Vec<u32> = Vec::new();
    for (p, ids) in parts.iter().enumerate() {
        for &u in ids {
            part_of[u as usize] = p as u32;
            scope.push(u);
        }
    }
    scope.sort_unstable();
    let mut seen = vec![false; units.weight.len()];
    for _round in 0..40 {
        let mut changed = false;
        for p in 0..parts.len() {
            let comps = components(units, &parts[p], p as u32, &part_of, &mut seen);
            if comps.len() <= 1 {
                continue;
            }
            let keep = (0..comps.len())
                .max_by_key(|&c| (units.weight_of(&comps[c]), std::cmp::Reverse(comps[c][0])))
                .unwrap_or(0);
            for (c, comp) in comps.iter().enumerate() {
                if c == keep {
                    continue;
                }
                let mut tally: Vec<(u32, u32)> = Vec::new();
                for &u in comp {
                    for &n in &units.adj[u as usize] {
                        let q = part_of[n as usize];
                        if q != NONE && q != p as u32 {
                            match tally.iter_mut().find(|t| t.0 == q) {
                                Some(t) => t.1 += 1,
                                None => tally.push((q, 1)),
                            }
                        }
                    }
                }
                if let Some(&(q, _)) = tally.iter().max_by_key(|t| (t.1, std::cmp::Reverse(t.0))) {
                    for &u in comp {
                        part_of[u as usize] = q;
                    }
                    changed = true;
                }
            }
            if changed {
                rebuild(parts, &scope, &part_of);
            }
        }
        if !changed {
            break;
        }
    }
}

fn rebuild(parts: &mut [Vec<u32>], scope: &[u32], part_of: &[u32]) {
    parts.iter_mut().for_each(Vec::clear);
    for &u in scope {
        parts[part_of[u as usize] as usize].push(u);
    }
}

fn components(
    units: &Units,
    ids: &[u32],
    p: u32,
    part_of: &[u32],
    seen: &mut [bool],
) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    for &start in ids {
        if seen[start as usize] {
            continue;
        }
        let mut comp = vec![start];
        seen[start as usize] = true;
        let mut k = 0;
        while k < comp.len() {
            let u = comp[k];
            k += 1;
            for &n in &units.adj[u as usize] {
                if part_of[n as usize] == p && !seen[n as usize] {
                    seen[n as usize] = true;
                    comp.push(n);
                }
            }
        }
        comp.sort_unstable();
        out.push(comp);
    }
    for &u in ids {
        seen[u as usize] = false;
    }
    out
}

/// Splits parts heavier than `max` in two until none is, keeping them connected where possible.
pub(crate) fn enforce_max(units: &Units, parts: &mut Vec<Vec<u32>>, max: u64) {
    for _ in 0..10_000 {
        let Some(p) = (0..parts.len())
            .filter(|&p| units.weight_of(&parts[p]) > max && parts[p].len() > 1)
            .max_by_key(|&p| (units.weight_of(&parts[p]), std::cmp::Reverse(p)))
        else {
            return;
        };
        let ids = std::mem::take(&mut parts[p]);
        let mut halves = bisect(units, ids, 2).into_iter();
        parts[p] = halves.next().unwrap_or_default();
        parts.extend(halves);
        repair(units, parts);
        parts.retain(|p| !p.is_empty());
    }
    // Not reached with lattice-sized blocks; if repairs kept undoing the splits, give up on
    // connectivity rather than on the limit, which the 2-digit grid serial makes hard.
    while let Some(p) =
        (0..parts.len()).find(|&p| units.weight_of(&parts[p]) > max && parts[p].len() > 1)
    {
        let ids = std::mem::take(&mut parts[p]);
        let mut halves = bisect(units, ids, 2).into_iter();
        parts[p] = halves.next().unwrap_or_default();
        parts.extend(halves);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 6×4 lattice of equal blocks.
    fn lattice() -> Units {
        let (w, h) = (6u32, 4u32);
        let mut adj = vec![Vec::new(); (w * h) as usize];
        for j in 0..h {
            for i in 0..w {
                let u = j * w + i;
                if i + 1 < w {
                    adj[u as usize].push(u + 1);
                    adj[(u + 1) as usize].push(u);
                }
                if j + 1 < h {
                    adj[u as usize].push(u + w);
                    adj[(u + w) as usize].push(u);
                }
            }
        }
        adj.iter_mut().for_each(|a| a.sort_unstable());
        Units {
            weight: vec![5; (w * h) as usize],
            pos: (0..w * h)
                .map(|u| {
                    [
                        f64::from(u % w) * 250.0 + 100.0,
                        f64::from(u / w) * 250.0 + 100.0,
                    ]
                })
                .collect(),
            adj,
        }
    }

    #[test]
    fn parts_are_balanced_and_connected() {
        let units = lattice();
        let mut parts = bisect(&units, (0..24).collect(), 5);
        repair(&units, &mut parts);
        assert_eq!(parts.len(), 5);
        let total: usize = parts.iter().map(Vec::len).sum();
        assert_eq!(total, 24);
        let mut seen = vec![false; 24];
        let mut part_of = vec![NONE; 24];
        for (p, ids) in parts.iter().enumerate() {
            ids.iter().for_each(|&u| part_of[u as usize] = p as u32);
        }
        for (p, ids) in parts.iter().enumerate() {
            assert!((4..=6).contains(&ids.len()), "{parts:?}");
            assert_eq!(
                components(&units, ids, p as u32, &part_of, &mut seen).len(),
                1
            );
        }
        enforce_max(&units, &mut parts, 16);
        assert!(parts.iter().all(|p| units.weight_of(p) <= 16));
    }
}
