//! `generate`: lattice → blocks → grids → streets and communities → outlines, roads, addresses.

use std::collections::{HashMap, HashSet};

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use rand::Rng;

use crate::geom::{P, dist, point_in_ring, ring_area, ring_centroid};
use crate::layout::{self, Lattice, Origin, ProvRoad, Skeleton};
use crate::locate::{JunctionCursor, Network};
use crate::mesh::{Mesh, NONE};
use crate::model::{Address, AreaShape, City, GridShape, ResponsibilityGrid, Road, RoadKind};
use crate::names::{NameBook, zh_number};
use crate::partition::{self, Units};
use crate::proj::LocalProjection;
use crate::rng::{Stream, rng_for, uniform};
use crate::spec::{CitySpec, MAX_GRIDS_PER_COMMUNITY};
use crate::subdivide;

/// Communities are cut to about this many grids, leaving room below the 99-grid limit for
/// blocks that do not divide evenly.
const COMMUNITY_TARGET: f64 = 80.0;
/// A responsibility grid is what one inspector can walk: 20–40 unit grids.
const PATROL_TARGET: f64 = 30.0;

pub(crate) fn generate(spec: &CitySpec) -> City {
    let seed = spec.seed;
    let grids_target = spec.grids_target.clamp(200, 2_000_000);
    let proj = LocalProjection::new(spec.centre);

    let lattice = layout::plan(seed, grids_target);
    let mut roads: Vec<ProvRoad> = Vec::new();
    let mut sk = layout::build_skeleton(&lattice, &mut roads);
    subdivide::cut_cells(&mut sk, &lattice, &mut roads, seed);
    for (f, face) in sk.mesh.faces.iter_mut().enumerate() {
        face.unit = f as u32;
    }
    let mut units = unit_layout(&sk.mesh, &lattice);
    subdivide::subdivide_all(&mut sk.mesh, &mut roads, lattice.warp.axes(), seed);
    let Skeleton {
        mesh, node_count, ..
    } = sk;
    for face in &mesh.faces {
        units.weight[face.unit as usize] += 1;
    }

    let (streets, communities) = group_blocks(spec, &mesh, &units, &lattice);

    // --- names and codes ---
    let mut book = NameBook::new(seed);
    for st in &spec.streets {
        st.name.iter().chain(&st.community_names).for_each(|n| {
            book.reserve(n);
        });
    }
    let street_codes: Vec<String> = (0..streets.len())
        .map(|s| format!("{}{:03}", spec.district_code, s + 1))
        .collect();
    let street_names: Vec<String> = (0..streets.len())
        .map(|s| {
            spec.streets
                .get(s)
                .and_then(|st| st.name.clone())
                .unwrap_or_else(|| book.street())
        })
        .collect();
    let mut community_codes = Vec::with_capacity(communities.len());
    let mut community_names = Vec::with_capacity(communities.len());
    let mut per_street = vec![0usize; streets.len()];
    for (s, _) in &communities {
        let k = per_street[*s];
        per_street[*s] += 1;
        community_codes.push(format!("{}{:03}", street_codes[*s], k + 1));
        let given = spec
            .streets
            .get(*s)
            .and_then(|st| st.community_names.get(k))
            .cloned();
        community_names.push(given.unwrap_or_else(|| book.community()));
    }

    // --- grids ---
    let mut community_of_unit = vec![NONE; units.weight.len()];
    for (c, (_, ids)) in communities.iter().enumerate() {
        ids.iter()
            .for_each(|&u| community_of_unit[u as usize] = c as u32);
    }
    let face_community: Vec<u32> = mesh
        .faces
        .iter()
        .map(|f| community_of_unit[f.unit as usize])
        .collect();
    let ll: Vec<Coord<f64>> = mesh
        .pts
        .iter()
        .map(|p| {
            let (x, y) = proj.to_lonlat(p[0], p[1]);
            Coord { x, y }
        })
        .collect();
    let grids = grid_shapes(&mesh, &face_community, &community_codes, &ll);

    // --- outlines ---
    let community_rings = trace_regions(&mesh, &face_community, communities.len());
    let street_of_face: Vec<u32> = face_community
        .iter()
        .map(|&c| {
            if c == NONE {
                NONE
            } else {
                communities[c as usize].0 as u32
            }
        })
        .collect();
    let street_rings = trace_regions(&mesh, &street_of_face, streets.len());
    let district_of_face: Vec<u32> = face_community
        .iter()
        .map(|&c| if c == NONE { NONE } else { 0 })
        .collect();
    let district_rings = trace_regions(&mesh, &district_of_face, 1);
    let shape = |code: &str, name: &str, rings: &[Vec<u32>]| AreaShape {
        code: code.to_owned(),
        name: name.to_owned(),
        polygon: to_multipolygon(rings, &mesh, &ll),
    };
    let district = shape(
        &spec.district_code,
        &spec.district_name,
        district_rings.first().map_or(&[][..], |r| r),
    );
    let street_shapes: Vec<AreaShape> = (0..streets.len())
        .map(|s| shape(&street_codes[s], &street_names[s], &street_rings[s]))
        .collect();
    let community_shapes: Vec<AreaShape> = (0..communities.len())
        .map(|c| {
            shape(
                &community_codes[c],
                &community_names[c],
                &community_rings[c],
            )
        })
        .collect();

    let final_roads = name_roads(&mesh, &roads, node_count, &ll, &mut book, seed);

    let mut city = City {
        district,
        streets: street_shapes,
        communities: community_shapes,
        grids,
        roads: final_roads,
        addresses: Vec::new(),
        responsibility: Vec::new(),
    };
    city.addresses = addresses(&city, spec, proj);
    city.responsibility = responsibility(&city);
    city
}

/// Block (unit) ids making up one street or community.
type Blocks = Vec<u32>;

/// Streets as groups of blocks, then communities within each street (street index, blocks).
fn group_blocks(
    spec: &CitySpec,
    mesh: &Mesh,
    units: &Units,
    lattice: &Lattice,
) -> (Vec<Blocks>, Vec<(usize, Blocks)>) {
    let all_units: Vec<u32> = (0..units.weight.len() as u32).collect();
    // A street holds at most 999 communities of at most 99 grids; streets beyond what the
    // spec lists get generated names.
    let needed = (mesh.faces.len() as f64 / (999.0 * COMMUNITY_TARGET * 0.9)).ceil() as usize;
    let n_streets = spec
        .streets
        .len()
        .max(needed)
        .clamp(1, 999)
        .min((all_units.len() / 2).max(1));
    let mut streets = partition::bisect(units, all_units, n_streets);
    partition::repair(units, &mut streets);
    streets.retain(|s| !s.is_empty());
    order_parts(&mut streets, units, lattice, 1500.0);
    let cps = spec.communities_per_street.clamp(1, 999) as usize;
    let mut communities: Vec<(usize, Blocks)> = Vec::new();
    for (s, ids) in streets.iter().enumerate() {
        let w = units.weight_of(ids) as f64;
        let k = cps
            .max((w / COMMUNITY_TARGET).ceil() as usize)
            .min(ids.len())
            .min(999);
        let mut parts = partition::bisect(units, ids.clone(), k);
        partition::repair(units, &mut parts);
        parts.retain(|p| !p.is_empty());
        partition::enforce_max(units, &mut parts, u64::from(MAX_GRIDS_PER_COMMUNITY));
        order_parts(&mut parts, units, lattice, 600.0);
        communities.extend(parts.into_iter().map(|p| (s, p)));
    }
    (streets, communities)
}

/// One grid per face, numbered within its community in rows of about 100 m from north to
/// south and west to east within a row.
fn grid_shapes(
    mesh: &Mesh,
    face_community: &[u32],
    community_codes: &[String],
    ll: &[Coord<f64>],
) -> Vec<GridShape> {
    let mut hes = Vec::new();
    let mut pts = Vec::new();
    let mut faces_of: Vec<Vec<(i64, f64, u32)>> = vec![Vec::new(); community_codes.len()];
    let mut face_area = vec![0.0; mesh.faces.len()];
    for f in 0..mesh.faces.len() as u32 {
        let c = face_community[f as usize];
        if c == NONE {
            continue;
        }
        mesh.ring_points(f, &mut hes, &mut pts);
        let centre = ring_centroid(&pts);
        face_area[f as usize] = ring_area(&pts);
        let row = -((centre[1] / 100.0).floor() as i64);
        faces_of[c as usize].push((row, centre[0], f));
    }
    let mut grids = Vec::with_capacity(mesh.faces.len());
    for (c, list) in faces_of.iter_mut().enumerate() {
        list.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
        for (k, &(_, _, f)) in list.iter().enumerate() {
            mesh.ring(f, &mut hes);
            let mut ring: Vec<Coord<f64>> =
                hes.iter().map(|&h| ll[mesh.e(h).origin as usize]).collect();
            if let Some(&first) = ring.first() {
                ring.push(first);
            }
            grids.push(GridShape {
                code: format!("{}{:02}", community_codes[c], k + 1),
                community_code: community_codes[c].clone(),
                polygon: Polygon::new(LineString(ring), Vec::new()),
                area_m2: face_area[f as usize],
                land_use: mesh.faces[f as usize].land,
            });
        }
    }
    grids
}

/// Block centroids (lattice-aligned) and which blocks touch.
fn unit_layout(mesh: &Mesh, lattice: &Lattice) -> Units {
    let n = mesh.faces.len();
    let mut pos = Vec::with_capacity(n);
    let (mut hes, mut pts) = (Vec::new(), Vec::new());
    for f in 0..n as u32 {
        mesh.ring_points(f, &mut hes, &mut pts);
        pos.push(lattice.warp.unrotate(ring_centroid(&pts)));
    }
    let mut adj = vec![Vec::new(); n];
    for e in &mesh.he {
        let g = mesh.e(e.twin).face;
        if e.face != NONE && g != NONE && e.face != g {
            adj[e.face as usize].push(g);
        }
    }
    for a in &mut adj {
        a.sort_unstable();
        a.dedup();
    }
    Units {
        weight: vec![0; n],
        pos,
        adj,
    }
}

/// Orders parts north→south in bands of `band` metres, west→east within a band, so codes read
/// like a map.
fn order_parts(parts: &mut [Vec<u32>], units: &Units, lattice: &Lattice, band: f64) {
    let (east, north) = lattice.warp.axes();
    let key = |ids: &Vec<u32>| {
        let w = units.weight_of(ids).max(1) as f64;
        let c = ids.iter().fold([0.0, 0.0], |acc, &u| {
            let p = units.pos[u as usize];
            let k = f64::from(units.weight[u as usize]) / w;
            [acc[0] + p[0] * k, acc[1] + p[1] * k]
        });
        // Back to true east/north from lattice-aligned coordinates.
        let x = c[0] * east[0] + c[1] * north[0];
        let y = c[0] * east[1] + c[1] * north[1];
        (-(y / band).floor() as i64, x)
    };
    parts.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
}

/// Rings of each region's boundary, region on the left: outer rings counter-clockwise, holes
/// clockwise.
fn trace_regions(mesh: &Mesh, region_of_face: &[u32], n: usize) -> Vec<Vec<Vec<u32>>> {
    let mut out = vec![Vec::new(); n];
    let region = |h: u32| {
        let f = mesh.e(h).face;
        if f == NONE {
            NONE
        } else {
            region_of_face[f as usize]
        }
    };
    let mut visited = vec![false; mesh.he.len()];
    for h0 in 0..mesh.he.len() as u32 {
        let r = region(h0);
        if r == NONE || visited[h0 as usize] || region(mesh.e(h0).twin) == r {
            continue;
        }
        let mut ring = Vec::new();
        let mut h = h0;
        loop {
            visited[h as usize] = true;
            ring.push(mesh.e(h).origin);
            // Turn around the end vertex through this region's faces to the next boundary edge.
            let mut e = mesh.e(h).next;
            let mut guard = 0;
            while region(mesh.e(e).twin) == r && guard < 64 {
                e = mesh.e(mesh.e(e).twin).next;
                guard += 1;
            }
            h = e;
            if h == h0 || visited[h as usize] || ring.len() > mesh.he.len() {
                break;
            }
        }
        if ring.len() >= 3 {
            out[r as usize].push(ring);
        }
    }
    out
}

fn to_multipolygon(rings: &[Vec<u32>], mesh: &Mesh, ll: &[Coord<f64>]) -> MultiPolygon<f64> {
    let metres = |r: &Vec<u32>| r.iter().map(|&v| mesh.pt(v)).collect::<Vec<P>>();
    let closed = |r: &Vec<u32>| {
        let mut c: Vec<Coord<f64>> = r.iter().map(|&v| ll[v as usize]).collect();
        if let Some(&f) = c.first() {
            c.push(f);
        }
        LineString(c)
    };
    struct Outer {
        area: f64,
        metres: Vec<P>,
        exterior: LineString<f64>,
        holes: Vec<LineString<f64>>,
    }
    let mut outers: Vec<Outer> = Vec::new();
    let mut holes = Vec::new();
    for r in rings {
        let metres = metres(r);
        let area = ring_area(&metres);
        if area > 0.0 {
            outers.push(Outer {
                area,
                metres,
                exterior: closed(r),
                holes: Vec::new(),
            });
        } else {
            holes.push((metres, closed(r)));
        }
    }
    for (m, ring) in holes {
        let probe = m[0];
        let host = (0..outers.len())
            .filter(|&k| point_in_ring(probe, &outers[k].metres))
            .min_by(|&a, &b| outers[a].area.total_cmp(&outers[b].area));
        if let Some(k) = host {
            outers[k].holes.push(ring);
        }
    }
    MultiPolygon(
        outers
            .into_iter()
            .map(|o| Polygon::new(o.exterior, o.holes))
            .collect(),
    )
}

/// Chains each provisional road's edges into paths, splits long arterials into runs and names
/// everything.
fn name_roads(
    mesh: &Mesh,
    roads: &[ProvRoad],
    node_count: u32,
    ll: &[Coord<f64>],
    book: &mut NameBook,
    seed: u64,
) -> Vec<Road> {
    let mut edges: Vec<Vec<(u32, u32)>> = vec![Vec::new(); roads.len()];
    for (h, e) in mesh.he.iter().enumerate() {
        if e.road != NONE && (h as u32) < e.twin {
            edges[e.road as usize].push((e.origin, mesh.e(e.twin).origin));
        }
    }
    let mut rng = rng_for(seed, Stream::Names, 1, 0);
    let mut stems: Vec<Option<String>> = vec![None; roads.len()];
    let mut out = Vec::new();
    for (rid, prov) in roads.iter().enumerate() {
        let paths: Vec<Vec<u32>> = chain(&edges[rid])
            .into_iter()
            .map(|p| orient(p, mesh))
            .collect();
        let push = |name: String, path: &[u32], out: &mut Vec<Road>| {
            out.push(Road {
                name,
                kind: prov.kind,
                line: LineString(path.iter().map(|&v| ll[v as usize]).collect()),
            });
        };
        match prov.origin {
            Origin::HLine { .. } | Origin::VLine | Origin::Diagonal => {
                let bank = matches!(prov.origin, Origin::HLine { bank: true });
                for path in &paths {
                    let runs = split_runs(path, mesh, node_count, &mut rng);
                    let east_west = is_east_west(path, mesh);
                    let dirs: [&str; 3] = if east_west {
                        ["西", "中", "东"]
                    } else {
                        ["北", "中", "南"]
                    };
                    for chunk in runs.chunks(3).collect::<Vec<_>>() {
                        let stem = if bank {
                            book.riverside_stem()
                        } else {
                            book.fresh_stem()
                        };
                        stems[rid].get_or_insert_with(|| stem.clone());
                        for (k, run) in chunk.iter().enumerate() {
                            let name = match (chunk.len(), k) {
                                (1, _) => {
                                    let avenue = prov.origin == Origin::Diagonal
                                        || (!bank && rng.random_bool(0.15));
                                    book.main_road(&stem, "", if avenue { "大道" } else { "路" })
                                }
                                (2, 0) => book.main_road(&stem, dirs[0], "路"),
                                (2, _) => book.main_road(&stem, dirs[2], "路"),
                                (_, k) => book.main_road(&stem, dirs[k.min(2)], "路"),
                            };
                            push(name, run, &mut out);
                        }
                    }
                }
            }
            Origin::Secondary => {
                for path in &paths {
                    let stem = book.fresh_stem();
                    stems[rid].get_or_insert_with(|| stem.clone());
                    let suffix = if is_east_west(path, mesh) && rng.random_bool(0.3) {
                        "街"
                    } else {
                        "路"
                    };
                    let name = book.main_road(&stem, "", suffix);
                    push(name, path, &mut out);
                }
            }
            Origin::Cut => {
                for path in &paths {
                    let name = if prov.kind == RoadKind::Lane {
                        let parent = prov.parent;
                        let stem = (parent != NONE)
                            .then(|| stems[parent as usize].clone())
                            .flatten();
                        let stem = stem.unwrap_or_else(|| book.branch_road().1);
                        book.lane(&stem)
                    } else {
                        let (name, stem) = book.branch_road();
                        stems[rid].get_or_insert(stem);
                        name
                    };
                    push(name, path, &mut out);
                }
            }
        }
    }
    out
}

/// Vertex paths through an edge set, deterministic: from the lowest-numbered dead end first.
fn chain(edges: &[(u32, u32)]) -> Vec<Vec<u32>> {
    let mut nbrs: Vec<(u32, u32)> = edges.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect();
    nbrs.sort_unstable();
    let range = |v: u32| {
        let lo = nbrs.partition_point(|p| p.0 < v);
        let hi = nbrs.partition_point(|p| p.0 <= v);
        lo..hi
    };
    let mut used: HashSet<(u32, u32)> = HashSet::new();
    let norm = |a: u32, b: u32| (a.min(b), a.max(b));
    let mut starts: Vec<u32> = Vec::new();
    let mut k = 0;
    while k < nbrs.len() {
        let r = range(nbrs[k].0);
        if r.len() == 1 {
            starts.push(nbrs[k].0);
        }
        k = r.end;
    }
    starts.extend(nbrs.iter().map(|p| p.0));
    let mut paths = Vec::new();
    for s in starts {
        let mut path = vec![s];
        let mut cur = s;
        loop {
            let next = nbrs[range(cur)]
                .iter()
                .map(|p| p.1)
                .find(|&w| !used.contains(&norm(cur, w)));
            let Some(w) = next else { break };
            used.insert(norm(cur, w));
            path.push(w);
            cur = w;
        }
        if path.len() >= 2 {
            paths.push(path);
        }
    }
    paths
}

fn is_east_west(path: &[u32], mesh: &Mesh) -> bool {
    match (path.first(), path.last()) {
        (Some(&a), Some(&b)) => {
            let (pa, pb) = (mesh.pt(a), mesh.pt(b));
            (pb[0] - pa[0]).abs() >= (pb[1] - pa[1]).abs()
        }
        _ => true,
    }
}

/// West→east or north→south, the way door numbers run.
fn orient(mut path: Vec<u32>, mesh: &Mesh) -> Vec<u32> {
    if let (Some(&a), Some(&b)) = (path.first(), path.last()) {
        let (pa, pb) = (mesh.pt(a), mesh.pt(b));
        let flip = if is_east_west(&path, mesh) {
            pb[0] < pa[0]
        } else {
            pb[1] > pa[1]
        };
        if flip {
            path.reverse();
        }
    }
    path
}

/// Splits a long arterial at lattice crossings into runs of 3–5 km, each named separately.
fn split_runs(path: &[u32], mesh: &Mesh, node_count: u32, rng: &mut impl Rng) -> Vec<Vec<u32>> {
    let total: f64 = path
        .windows(2)
        .map(|w| dist(mesh.pt(w[0]), mesh.pt(w[1])))
        .sum();
    let mut runs = Vec::new();
    let mut cur = vec![path[0]];
    let mut len = 0.0;
    let mut done = 0.0;
    let mut want = uniform(rng, 3000.0, 5000.0);
    for w in path.windows(2) {
        let l = dist(mesh.pt(w[0]), mesh.pt(w[1]));
        len += l;
        done += l;
        cur.push(w[1]);
        if w[1] < node_count && len >= want && total - done >= 1500.0 {
            runs.push(std::mem::replace(&mut cur, vec![w[1]]));
            len = 0.0;
            want = uniform(rng, 3000.0, 5000.0);
        }
    }
    if cur.len() >= 2 {
        runs.push(cur);
    }
    runs
}

/// Door plates on both sides of every road: odd on the left, even on the right, every 20–40 m.
fn addresses(city: &City, spec: &CitySpec, proj: LocalProjection) -> Vec<Address> {
    let net = Network::new(&city.grids, &city.roads, proj);
    let street_of: HashMap<&str, &str> = city
        .communities
        .iter()
        .filter_map(|c| {
            let s = city.streets.iter().find(|s| c.code.starts_with(&s.code))?;
            Some((c.code.as_str(), s.name.as_str()))
        })
        .collect();
    let mut out = Vec::new();
    for (r, road) in city.roads.iter().enumerate() {
        let g = net.geom(r);
        let len = g.length();
        let mut rng = rng_for(spec.seed, Stream::Address, r as u64, 0);
        let hw = road.kind.half_width_m();
        for side in [1.0, -1.0] {
            let mut number: u32 = if side > 0.0 { 1 } else { 2 };
            let mut cursor = JunctionCursor::new(&g.junctions);
            let mut s = uniform(&mut rng, 8.0, 20.0);
            while s < len - 5.0 {
                if !cursor.blocked(s) {
                    let offset = hw + uniform(&mut rng, 4.0, 9.0);
                    if let Some((c, grid)) = net.place(&g, s, side, offset) {
                        let community = &city.grids[grid as usize].community_code;
                        let street = street_of.get(community.as_str()).copied().unwrap_or("");
                        out.push(Address {
                            text: format!(
                                "{}{}{}{}号",
                                spec.district_name, street, road.name, number
                            ),
                            road: road.name.clone(),
                            number,
                            lon: c.x,
                            lat: c.y,
                            community_code: community.clone(),
                        });
                        // Now and then a wide plot takes two numbers.
                        number += if rng.random_bool(0.08) { 4 } else { 2 };
                    }
                }
                s += uniform(&mut rng, 20.0, 40.0);
            }
        }
    }
    out
}

/// Cuts each community's grids, in serial order (rows north→south), into patrols of ~30.
fn responsibility(city: &City) -> Vec<ResponsibilityGrid> {
    let mut out = Vec::new();
    let mut seq: HashMap<&str, u32> = HashMap::new();
    let mut k = 0;
    for community in &city.communities {
        let start = k;
        while k < city.grids.len() && city.grids[k].community_code == community.code {
            k += 1;
        }
        let grids = &city.grids[start..k];
        if grids.is_empty() {
            continue;
        }
        let street_code = &community.code[..community.code.len().saturating_sub(3)];
        let parts = ((grids.len() as f64 / PATROL_TARGET).round() as usize).max(1);
        for p in 0..parts {
            let (a, b) = (p * grids.len() / parts, (p + 1) * grids.len() / parts);
            let n = seq.entry(street_code).or_insert(0);
            *n += 1;
            let name = if parts == 1 {
                format!("{}责任网格", community.name)
            } else {
                format!("{}第{}责任网格", community.name, zh_number(p as u32 + 1))
            };
            out.push(ResponsibilityGrid {
                code: format!("{street_code}R{:03}", *n),
                name,
                street_code: street_code.to_owned(),
                grid_codes: grids[a..b].iter().map(|g| g.code.clone()).collect(),
            });
        }
    }
    out
}
