//! `cityloop import` and `cityloop export`: files in, files out, with a progress bar.

use std::path::{Path, PathBuf};

use anyhow::Context;
use cityloop_app::import::{ImportKind, ImportParams};
use cityloop_app::{Actor, Ctx};
use cityloop_io::{CsvGeometryColumns, CsvWriter, Feature, FeatureReader, GeoJsonWriter};
use cityloop_server::config::Config;
use cityloop_store::ComponentQuery;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};

use crate::{ImportArgs, load, open_app, system_actor};

fn kind_of(what: &str) -> anyhow::Result<ImportKind> {
    what.parse()
        .map_err(|e: cityloop_domain::FieldError| anyhow::anyhow!("{}", e.message))
}

pub async fn import(config: &Option<PathBuf>, args: ImportArgs) -> anyhow::Result<()> {
    let kind = kind_of(&args.what)?;
    let cfg: Config = load(config, crate::db_overrides(&args.db))?;
    let params = ImportParams {
        crs: args.crs.clone(),
        encoding: args.encoding.clone(),
        map: args.field_map.clone(),
        x: args.x.clone(),
        y: args.y.clone(),
        skip_invalid: args.skip_invalid,
        repair: args.repair,
        grid_serial_digits: Some(args.grid_serial_digits),
        dry_run: false,
    };
    let flag = |e: cityloop_domain::FieldError| anyhow::anyhow!("--{}: {}", e.field, e.message);
    let opts = params.read_options().map_err(flag)?;
    let mut reader = FeatureReader::open(&args.file, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    let total = reader.total_hint();
    let source = args.file.display().to_string();
    let import_opts = params
        .import_options(source.clone(), reader.declared_crs())
        .map_err(flag)?;
    let app = open_app(&cfg).await?;
    let bar = match total {
        Some(n) => ProgressBar::new(n as u64),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} records [{elapsed_precise}] {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |n: usize| bar.set_position(n as u64);
    let result = app
        .import_features(
            &system_actor(),
            kind,
            &mut reader,
            &import_opts,
            &progress,
            &Ctx::default(),
        )
        .await;
    bar.finish_and_clear();
    app.store().close().await;
    let mut report = result.map_err(|e| match e {
        cityloop_app::AppError::Invalid(f) => anyhow::anyhow!("{}", f.message),
        other => anyhow::anyhow!("{other}"),
    })?;
    report.add_reader_warnings(&reader);
    println!(
        "{source}: read {}, imported {} ({} replaced), unchanged {}, rejected {}",
        report.read,
        report.imported,
        report.replaced,
        report.unchanged,
        report.rejected.len()
    );
    for w in &report.warnings {
        println!("warning: {w}");
    }
    if !report.rejected.is_empty() {
        let path = args
            .reject_report
            .unwrap_or_else(|| PathBuf::from(format!("{}.rejects.csv", args.file.display())));
        write_rejects(&path, &report.rejected)?;
        println!("rejected records written to {}", path.display());
    }
    Ok(())
}

fn write_rejects(path: &Path, rejects: &[cityloop_app::import::Reject]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| path.display().to_string())?;
    w.write_record(["record", "reason"])?;
    for r in rejects {
        w.write_record([
            r.index.map(|i| i.to_string()).unwrap_or_default(),
            r.reason.clone(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn feature(index: usize, geometry: Option<geo_types::Geometry<f64>>, properties: Value) -> Feature {
    Feature {
        index,
        geometry,
        properties: match properties {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    }
}

pub async fn export(
    config: &Option<PathBuf>,
    what: &str,
    file: &Path,
    db: &crate::DbFlags,
) -> anyhow::Result<()> {
    let kind = kind_of(what)?;
    let cfg = load(config, crate::db_overrides(db))?;
    let app = open_app(&cfg).await?;
    let actor: Actor = system_actor();
    let ctx = Ctx::default();
    let mut features = Vec::new();
    match kind {
        ImportKind::Grids => {
            for (i, g) in app
                .grids_in(&actor, None, &ctx)
                .await?
                .into_iter()
                .enumerate()
            {
                let geometry = cityloop_app::spatial::polygon_of(&g.geometry)?;
                features.push(feature(
                    i,
                    Some(geometry.into()),
                    json!({ "code": g.code, "community_code": g.community_code, "name": g.name, "area_m2": g.area_m2 }),
                ));
            }
        }
        ImportKind::Components => {
            let mut after = None;
            loop {
                let page = app
                    .list_components(
                        &actor,
                        &ComponentQuery {
                            after_id: after.clone(),
                            limit: 5000,
                            ..Default::default()
                        },
                        &ctx,
                    )
                    .await?;
                for c in &page {
                    features.push(feature(
                        features.len(),
                        Some(geo_types::Point::new(c.lon, c.lat).into()),
                        json!({
                            "id": c.id, "class_code": c.class_code, "name": c.name, "grid_code": c.grid_code,
                            "state": c.state, "dept_supervisor": c.dept_supervisor, "dept_owner": c.dept_owner,
                            "dept_maintainer": c.dept_maintainer, "data_source": c.data_source, "note": c.note,
                        }),
                    ));
                }
                if page.len() < 5000 {
                    break;
                }
                after = page.last().map(|c| c.id.clone());
            }
        }
        ImportKind::Areas => {
            for (i, a) in app.list_areas(&actor, &ctx).await?.into_iter().enumerate() {
                let geometry = a
                    .geometry
                    .as_deref()
                    .and_then(|g| g.parse::<geojson::Geometry>().ok())
                    .and_then(|g| geo_types::Geometry::<f64>::try_from(g).ok());
                features.push(feature(
                    i,
                    geometry,
                    json!({ "code": a.code, "name": a.name, "level": a.level, "parent_code": a.parent_code }),
                ));
            }
        }
        ImportKind::Addresses => {
            let s = app.spatial();
            for (i, a) in s.addresses.iter().enumerate() {
                features.push(feature(
                    i,
                    Some(geo_types::Point::new(a.lon, a.lat).into()),
                    json!({ "text": a.text, "road": a.road, "number": a.number, "community_code": a.community_code }),
                ));
            }
        }
    }
    app.store().close().await;
    let out = std::fs::File::create(file).with_context(|| file.display().to_string())?;
    let out = std::io::BufWriter::new(out);
    let lower = file.display().to_string().to_lowercase();
    if lower.ends_with(".csv") {
        let columns: Vec<String> = features
            .first()
            .map(|f| f.properties.keys().cloned().collect())
            .unwrap_or_default();
        let geometry = if matches!(kind, ImportKind::Grids | ImportKind::Areas) {
            CsvGeometryColumns::Wkt {
                column: "wkt".into(),
            }
        } else {
            CsvGeometryColumns::LonLat {
                lon: "lon".into(),
                lat: "lat".into(),
            }
        };
        let mut w = CsvWriter::new(out, columns, geometry).map_err(|e| anyhow::anyhow!("{e}"))?;
        for f in &features {
            w.write(f).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        w.finish().map_err(|e| anyhow::anyhow!("{e}"))?;
    } else {
        let mut w = GeoJsonWriter::new(out);
        for f in &features {
            w.write(f).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        w.finish().map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    println!("{} {what} written to {}", features.len(), file.display());
    Ok(())
}
