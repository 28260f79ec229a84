//! Draws a preset city as SVG on stdout, for looking at it.
//!
//! `cargo run --release --example render_svg -- county_town [components] > city.svg`

use std::fmt::Write as _;

use cityloop_synth::{CitySpec, LandUse, RoadKind, components, generate, projection};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spec = match args.first().map(String::as_str) {
        Some("mid_size") => CitySpec::mid_size(),
        Some("tiny") => CitySpec {
            grids_target: 200,
            ..CitySpec::county_town()
        },
        _ => CitySpec::county_town(),
    };
    let with_components = args.iter().any(|a| a == "components");
    let city = generate(&spec);
    let p = projection(&spec);
    let mut min = (f64::MAX, f64::MAX);
    let mut max = (f64::MIN, f64::MIN);
    for g in &city.grids {
        for c in &g.polygon.exterior().0 {
            let (x, y) = p.to_metres(c.x, c.y);
            min = (min.0.min(x), min.1.min(y));
            max = (max.0.max(x), max.1.max(y));
        }
    }
    let scale = 1600.0 / (max.0 - min.0).max(max.1 - min.1);
    let tx = |lon: f64, lat: f64| {
        let (x, y) = p.to_metres(lon, lat);
        ((x - min.0) * scale + 10.0, (max.1 - y) * scale + 10.0)
    };
    let path = |coords: &[geo_types::Coord<f64>]| {
        let mut s = String::new();
        for (k, c) in coords.iter().enumerate() {
            let (x, y) = tx(c.x, c.y);
            let _ = write!(s, "{}{x:.1},{y:.1} ", if k == 0 { "M" } else { "L" });
        }
        s
    };
    let w = (max.0 - min.0) * scale + 20.0;
    let h = (max.1 - min.1) * scale + 20.0;
    // `zoom=N` shows the middle 1/N of the map at N times the size.
    let zoom: f64 = args
        .iter()
        .find_map(|a| a.strip_prefix("zoom=")?.parse().ok())
        .unwrap_or(1.0);
    let (vw, vh) = (w / zoom, h / zoom);
    let (vx, vy) = ((w - vw) / 2.0, (h - vh) / 2.0);
    let mut out = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w:.0}' height='{h:.0}' viewBox='{vx:.0} {vy:.0} {vw:.0} {vh:.0}'><rect x='{vx:.0}' y='{vy:.0}' width='{vw:.0}' height='{vh:.0}' fill='white'/>\n"
    );
    for g in &city.grids {
        let fill = match g.land_use {
            LandUse::Built => "#f4efe6",
            LandUse::Park => "#cde8c0",
            LandUse::Water => "#b8d8f0",
        };
        let _ = writeln!(
            out,
            "<path d='{}Z' fill='{fill}' stroke='#bbb' stroke-width='0.5'/>",
            path(&g.polygon.exterior().0)
        );
    }
    for c in &city.communities {
        for poly in &c.polygon.0 {
            let _ = writeln!(
                out,
                "<path d='{}Z' fill='none' stroke='#c66' stroke-width='1.5'/>",
                path(&poly.exterior().0)
            );
        }
    }
    for s in &city.streets {
        for poly in &s.polygon.0 {
            let _ = writeln!(
                out,
                "<path d='{}Z' fill='none' stroke='#606' stroke-width='3'/>",
                path(&poly.exterior().0)
            );
        }
    }
    for r in &city.roads {
        let (col, wid) = match r.kind {
            RoadKind::Arterial => ("#d33", 3.0),
            RoadKind::Secondary => ("#e90", 2.0),
            RoadKind::Branch => ("#555", 1.2),
            RoadKind::Lane => ("#999", 0.8),
        };
        let _ = writeln!(
            out,
            "<path d='{}' fill='none' stroke='{col}' stroke-width='{wid}' stroke-opacity='0.8'/>",
            path(&r.line.0)
        );
    }
    if with_components {
        for c in components(&spec, &city) {
            let (x, y) = tx(c.lon, c.lat);
            let _ = writeln!(
                out,
                "<circle cx='{x:.1}' cy='{y:.1}' r='0.25' fill='#036'/>"
            );
        }
    }
    for r in city.roads.iter().filter(|r| r.kind <= RoadKind::Secondary) {
        let mid = &r.line.0[r.line.0.len() / 2];
        let (x, y) = tx(mid.x, mid.y);
        let _ = writeln!(
            out,
            "<text x='{x:.0}' y='{y:.0}' font-size='11' fill='#222'>{}</text>",
            r.name
        );
    }
    for c in &city.communities {
        if let Some(poly) = c.polygon.0.first() {
            let n = poly.exterior().0.len().max(1) as f64;
            let (sx, sy) = poly
                .exterior()
                .0
                .iter()
                .fold((0.0, 0.0), |a, c| (a.0 + c.x, a.1 + c.y));
            let (x, y) = tx(sx / n, sy / n);
            let _ = writeln!(
                out,
                "<text x='{x:.0}' y='{y:.0}' font-size='12' fill='#a00'>{}</text>",
                c.name
            );
        }
    }
    out.push_str("</svg>\n");
    print!("{out}");
}
