//! Importing unit grids, components and standard addresses from feature streams (GeoJSON,
//! Shapefile, CSV via `cityloop-io`), and exporting them.
//!
//! All or nothing by default: every record is written inside one transaction as it streams past,
//! and the first bad record aborts it with the file, the record and the reason; nothing is kept.
//! With `skip_invalid` bad records are listed in the report instead. Re-importing a code replaces
//! the record (components keep the previous state in their history).

use std::collections::HashMap;

use cityloop_domain::FieldError;
use cityloop_geo::codes::{ComponentId, GridCode, GridCodeScheme};
use cityloop_geo::crs::{Crs, RawCoordinate};
use cityloop_io::{Feature, FieldMap, ReadError, get_str};
use cityloop_store::{AddressNew, ComponentChange, ComponentUpsert, GridUpsert, Tx};
use geo::{BoundingRect, Centroid, MapCoords};
use geo_types::Geometry;
use serde::Serialize;
use serde_json::{Value, json};

use crate::{Actor, App, AppResult, Ctx, Obj};
use cityloop_domain::{Action, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Grids,
    Components,
    Addresses,
    /// Boundaries of existing districts, streets and communities.
    Areas,
}

impl std::str::FromStr for ImportKind {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, FieldError> {
        match s {
            "grids" => Ok(ImportKind::Grids),
            "components" => Ok(ImportKind::Components),
            "addresses" => Ok(ImportKind::Addresses),
            "areas" => Ok(ImportKind::Areas),
            other => Err(FieldError::new(
                "kind",
                format!("`{other}`: grids, components, addresses or areas"),
            )),
        }
    }
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Grids => "grids",
            ImportKind::Components => "components",
            ImportKind::Addresses => "addresses",
            ImportKind::Areas => "areas",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The file's coordinate system; default: what the file declares, else WGS84.
    pub crs: Option<Crs>,
    pub declared_crs: Option<String>,
    /// target=source renames applied to each feature's properties first.
    pub field_map: Option<FieldMap>,
    pub skip_invalid: bool,
    /// Close unclosed rings and fix ring orientation instead of rejecting.
    pub repair: bool,
    /// File name, for messages and the audit log.
    pub source: String,
    pub grid_code_digits: Option<u8>,
    /// Run the whole import and roll it back: the report says what a real import would do.
    pub dry_run: bool,
}

/// Import options as text, the way the command line and the web form give them, checked in one
/// place so that both name the same mistakes. Errors name the option (`crs`, `encoding`, `map`,
/// `grid_serial_digits`); blank text means "not given".
#[derive(Debug, Clone, Default)]
pub struct ImportParams {
    pub crs: Option<String>,
    pub encoding: Option<String>,
    /// target=source pairs, e.g. `code=BGID,name=BGNAME`.
    pub map: Option<String>,
    /// CSV coordinate columns.
    pub x: Option<String>,
    pub y: Option<String>,
    pub skip_invalid: bool,
    pub repair: bool,
    /// 2 (national, 14-digit grid codes) or 3 (15 digits).
    pub grid_serial_digits: Option<u8>,
    pub dry_run: bool,
}

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ImportParams {
    /// How to read the file.
    pub fn read_options(&self) -> Result<cityloop_io::ReadOptions, FieldError> {
        let encoding = given(&self.encoding)
            .map(|label| {
                cityloop_io::encoding_from_label(label).ok_or_else(|| {
                    FieldError::new("encoding", format!("unknown encoding `{label}`"))
                })
            })
            .transpose()?;
        Ok(cityloop_io::ReadOptions {
            encoding,
            csv_x: given(&self.x).map(str::to_owned),
            csv_y: given(&self.y).map(str::to_owned),
            csv_wkt: None,
        })
    }

    /// What to do with the records of `source` (a file name), whose reader found `declared_crs`.
    pub fn import_options(
        &self,
        source: String,
        declared_crs: Option<String>,
    ) -> Result<ImportOptions, FieldError> {
        let crs = given(&self.crs)
            .map(|c| {
                c.parse()
                    .map_err(|e: cityloop_geo::crs::CrsError| FieldError::new("crs", e.to_string()))
            })
            .transpose()?;
        let field_map = given(&self.map)
            .map(|m| {
                m.parse()
                    .map_err(|e: cityloop_io::FieldMapError| FieldError::new("map", e.to_string()))
            })
            .transpose()?;
        if let Some(d) = self.grid_serial_digits {
            GridCodeScheme::new(d)
                .map_err(|e| FieldError::new("grid_serial_digits", e.to_string()))?;
        }
        Ok(ImportOptions {
            crs,
            declared_crs,
            field_map,
            skip_invalid: self.skip_invalid,
            repair: self.repair,
            source,
            grid_code_digits: self.grid_serial_digits,
            dry_run: self.dry_run,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Reject {
    pub index: Option<usize>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Everything was rolled back: nothing was stored.
    pub dry_run: bool,
    pub read: usize,
    pub imported: usize,
    pub replaced: usize,
    /// Records identical to what is stored, left untouched.
    pub unchanged: usize,
    pub rejected: Vec<Reject>,
    /// Overlaps and gaps between grids of a community (domain rule: warnings, not errors).
    pub warnings: Vec<String>,
    /// Communities that received grids.
    #[serde(skip)]
    pub communities: std::collections::BTreeSet<String>,
}

impl ImportReport {
    /// Adds what the file reader noticed (a text encoding guessed, characters replaced, a record
    /// read with repairs) ahead of the import's own warnings.
    pub fn add_reader_warnings(&mut self, reader: &cityloop_io::FeatureReader) {
        let mut from_reader: Vec<String> =
            reader.warnings().iter().map(|w| w.to_string()).collect();
        let hidden = reader.warning_count().saturating_sub(from_reader.len());
        if hidden > 0 {
            from_reader.push(format!("… and {hidden} more warnings from the file"));
        }
        from_reader.append(&mut self.warnings);
        self.warnings = from_reader;
    }
}

fn pick(props: &serde_json::Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| get_str(props, k))
        .filter(|s| !s.is_empty())
}

fn convert(g: &Geometry<f64>, crs: Crs) -> Result<Geometry<f64>, String> {
    if matches!(crs, Crs::Wgs84 | Crs::Cgcs2000) {
        return Ok(g.clone());
    }
    g.try_map_coords(|c| {
        cityloop_geo::crs::to_storage(crs, c.x, c.y)
            .map(|p| geo_types::coord! { x: p.lon(), y: p.lat() })
            .map_err(|e| e.to_string())
    })
}

impl App {
    /// Whether `actor` may import `kind`, decided (and a refusal audited) as the import itself
    /// decides it: for callers that must refuse before accepting a large upload.
    pub async fn authorize_import(
        &self,
        actor: &Actor,
        kind: ImportKind,
        ctx: &Ctx,
    ) -> AppResult<()> {
        self.authorize(
            actor,
            Action::BaseDataWrite,
            &Target::Collection,
            Obj::kind(kind.as_str()),
            ctx,
        )
        .await?;
        Ok(())
    }

    /// Imports a stream of features. `progress` is called with the number of records read so far.
    pub async fn import_features(
        &self,
        actor: &Actor,
        kind: ImportKind,
        features: impl Iterator<Item = Result<Feature, ReadError>>,
        opts: &ImportOptions,
        progress: &(dyn Fn(usize) + Sync),
        ctx: &Ctx,
    ) -> AppResult<ImportReport> {
        self.authorize_import(actor, kind, ctx).await?;
        let crs = match (opts.crs, opts.declared_crs.as_deref()) {
            (Some(c), _) => c,
            (None, Some(d)) => d.parse().map_err(|e: cityloop_geo::crs::CrsError| {
                FieldError::new(
                    "crs",
                    format!(
                        "{}: the file declares `{d}`: {e}; say which coordinate system it uses",
                        opts.source
                    ),
                )
            })?,
            (None, None) => Crs::Wgs84,
        };
        let scheme = GridCodeScheme::new(opts.grid_code_digits.unwrap_or(2))
            .map_err(|e| FieldError::new("grid_code_digits", e.to_string()))?;
        let now = self.now();
        let mut report = ImportReport {
            dry_run: opts.dry_run,
            ..ImportReport::default()
        };
        let mut tx = self.store.write().await?;
        let areas: Vec<String> = tx.list_areas().await?.into_iter().map(|a| a.code).collect();
        let classes: HashMap<String, String> = tx
            .list_classes()
            .await?
            .into_iter()
            .filter(|c| {
                c.class.class.kind == cityloop_domain::taxonomy::ClassKind::Component
                    && c.class.enabled
            })
            .map(|c| (c.class.class.code().to_owned(), c.class.name))
            .collect();
        let spatial = self.spatial();
        let mut grids = Vec::new();
        let mut components = Vec::new();
        let mut addresses = Vec::new();
        for item in features {
            report.read += 1;
            if report.read.is_multiple_of(1000) {
                progress(report.read);
            }
            let feature = match item {
                Ok(f) => f,
                Err(e) if e.is_fatal() || !opts.skip_invalid => {
                    return Err(FieldError::new("file", e.to_string()).into());
                }
                Err(e) => {
                    report.rejected.push(Reject {
                        index: e.index(),
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            let index = feature.index;
            let props = match &opts.field_map {
                Some(m) => m.apply(&feature.properties),
                None => feature.properties.clone(),
            };
            let result = match kind {
                ImportKind::Grids => grid_record(&feature, &props, crs, &scheme, &areas, opts, now)
                    .map(|g| grids.push(g)),
                ImportKind::Components => {
                    component_record(&feature, &props, crs, &classes, &spatial, now)
                        .map(|c| components.push(c))
                }
                ImportKind::Addresses => address_record(&feature, &props, crs, &spatial, opts, now)
                    .map(|a| addresses.push(a)),
                ImportKind::Areas => match area_boundary(&feature, &props, crs, &areas) {
                    Ok((code, geometry)) => {
                        tx.set_area_geometry(&code, Some(&geometry), now).await?;
                        report.imported += 1;
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
            };
            if let Err(reason) = result {
                if !opts.skip_invalid {
                    return Err(FieldError::new(
                        "file",
                        format!("{}: record {index}: {reason}", opts.source),
                    )
                    .into());
                }
                report.rejected.push(Reject {
                    index: Some(index),
                    reason,
                });
                continue;
            }
            if grids.len() + components.len() + addresses.len() >= 2000 {
                self.flush(
                    tx.as_mut(),
                    actor,
                    &mut grids,
                    &mut components,
                    &mut addresses,
                    &mut report,
                )
                .await?;
            }
        }
        self.flush(
            tx.as_mut(),
            actor,
            &mut grids,
            &mut components,
            &mut addresses,
            &mut report,
        )
        .await?;
        progress(report.read);
        if kind == ImportKind::Grids {
            report
                .warnings
                .extend(topology_warnings(tx.as_mut(), &report.communities).await?);
        }
        if opts.dry_run {
            // Dropping the transaction rolls back every write above; the spatial index, built
            // from committed data, is left as it was.
            drop(tx);
            return Ok(report);
        }
        self.bump_spatial_revision(tx.as_mut()).await?;
        self.audit(
            tx.as_mut(),
            actor,
            &format!("import.{}", kind.as_str()),
            Obj::kind(kind.as_str()),
            "ok",
            ctx,
            json!({
                "source": opts.source, "crs": crs.to_string(), "read": report.read, "imported": report.imported,
                "replaced": report.replaced, "unchanged": report.unchanged, "rejected": report.rejected.len(),
            }),
        )
        .await?;
        tx.commit().await?;
        self.reload_spatial().await?;
        Ok(report)
    }

    async fn flush(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        grids: &mut Vec<GridUpsert>,
        components: &mut Vec<ComponentUpsert>,
        addresses: &mut Vec<AddressNew>,
        report: &mut ImportReport,
    ) -> AppResult<()> {
        if !grids.is_empty() {
            for g in grids.iter() {
                if tx.get_grid(&g.code).await?.is_some() {
                    report.replaced += 1;
                }
            }
            report.imported += grids.len();
            report
                .communities
                .extend(grids.iter().map(|g| g.community_code.clone()));
            tx.upsert_grids(grids).await?;
            grids.clear();
        }
        if !components.is_empty() {
            let ids: Vec<String> = components.iter().map(|c| c.id.clone()).collect();
            let before: HashMap<String, cityloop_store::ComponentRecord> = tx
                .get_components(&ids)
                .await?
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect();
            // Re-importing the same survey must not rewrite every row or bloat the history: only new
            // and changed components are written, and only changes are recorded.
            let (changed, fresh): (Vec<&ComponentUpsert>, Vec<&ComponentUpsert>) =
                components.iter().partition(|c| before.contains_key(&c.id));
            let changed: Vec<&ComponentUpsert> = changed
                .into_iter()
                .filter(|c| before.get(&c.id).is_some_and(|b| differs(b, c)))
                .collect();
            report.unchanged += components.len() - fresh.len() - changed.len();
            let write: Vec<ComponentUpsert> = fresh
                .iter()
                .chain(changed.iter())
                .map(|c| (*c).clone())
                .collect();
            tx.upsert_components(&write).await?;
            let now = self.now();
            let history: Vec<ComponentChange> = changed
                .iter()
                .filter_map(|c| before.get(&c.id).map(|b| (b, c)))
                .map(|(b, c)| ComponentChange {
                    component_id: c.id.clone(),
                    version: b.version + 1,
                    at: now,
                    actor: actor.name(),
                    action: "import".into(),
                    before: Some(json!(b)),
                    after: json!({
                        "class_code": c.class_code, "name": c.name, "grid_code": c.grid_code, "state": c.state,
                        "lon": c.lon, "lat": c.lat, "dept_owner": c.dept_owner, "attributes": c.attributes,
                    }),
                })
                .collect();
            tx.append_component_history(&history).await?;
            report.replaced += changed.len();
            report.imported += write.len();
            components.clear();
        }
        if !addresses.is_empty() {
            report.imported += addresses.len();
            tx.upsert_addresses(addresses).await?;
            addresses.clear();
        }
        Ok(())
    }
}

fn grid_record(
    f: &Feature,
    props: &serde_json::Map<String, Value>,
    crs: Crs,
    scheme: &GridCodeScheme,
    areas: &[String],
    opts: &ImportOptions,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<GridUpsert, String> {
    let code = pick(
        props,
        &["code", "BGID", "bgid", "grid_code", "网格编码", "编码"],
    )
    .ok_or("no grid code (map a field to `code`)")?;
    let parsed = GridCode::parse(&code, scheme).map_err(|e| format!("grid code {code}: {e}"))?;
    let community = parsed.community_code().to_owned();
    if !areas.contains(&community) {
        return Err(format!(
            "grid code {code}: community {community} does not exist"
        ));
    }
    let geometry = f.geometry.as_ref().ok_or("no geometry")?;
    let converted = convert(geometry, crs)?;
    let mut polygon = match converted {
        Geometry::Polygon(p) => p,
        Geometry::MultiPolygon(mp) if mp.0.len() == 1 => {
            mp.0.into_iter().next().ok_or("empty multipolygon")?
        }
        other => {
            return Err(format!(
                "a unit grid is one polygon, found {}",
                geometry_name(&other)
            ));
        }
    };
    let findings = cityloop_geo::validate::check_polygon(&polygon);
    if !findings.is_empty() {
        let all_repairable = findings.iter().all(|f| f.problem.is_repairable());
        if opts.repair && all_repairable {
            polygon = cityloop_geo::validate::repair(&polygon).map_err(|e| e.to_string())?;
        } else {
            let list: Vec<String> = findings.iter().map(ToString::to_string).collect();
            return Err(format!("grid {code}: {}", list.join("; ")));
        }
    }
    let rect = polygon.bounding_rect().ok_or("empty polygon")?;
    Ok(GridUpsert {
        code: parsed.as_str().to_owned(),
        community_code: community,
        name: pick(props, &["name", "BGNAME", "名称"]),
        area_m2: (cityloop_geo::validate::area_m2(&polygon) * 10.0).round() / 10.0,
        geometry: geojson::Geometry::from(&polygon).to_string(),
        bbox: [rect.min().x, rect.min().y, rect.max().x, rect.max().y],
        raw: (!matches!(crs, Crs::Wgs84 | Crs::Cgcs2000)).then(
            || json!({ "crs": crs.to_string(), "geometry": geojson::Geometry::from(geometry) }),
        ),
        now,
    })
}

fn geometry_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "a point",
        Geometry::LineString(_) | Geometry::MultiLineString(_) | Geometry::Line(_) => "a line",
        Geometry::MultiPolygon(_) => "several polygons",
        _ => "another geometry",
    }
}

fn point_of(
    f: &Feature,
    crs: Crs,
) -> Result<(f64, f64, Option<String>, Option<RawCoordinate>), String> {
    let geometry = f.geometry.as_ref().ok_or("no geometry")?;
    let converted = convert(geometry, crs)?;
    let (point, shape) = match &converted {
        Geometry::Point(p) => (*p, None),
        other => (
            other.centroid().ok_or("empty geometry")?,
            Some(geojson::Geometry::from(other).to_string()),
        ),
    };
    let raw = match (geometry, matches!(crs, Crs::Wgs84 | Crs::Cgcs2000)) {
        (Geometry::Point(p), false) => Some(RawCoordinate {
            crs,
            x: p.x(),
            y: p.y(),
        }),
        _ => None,
    };
    cityloop_geo::crs::LonLat::new(point.x(), point.y()).map_err(|e| e.to_string())?;
    Ok((point.x(), point.y(), shape, raw))
}

fn component_record(
    f: &Feature,
    props: &serde_json::Map<String, Value>,
    crs: Crs,
    classes: &HashMap<String, String>,
    spatial: &crate::spatial::SpatialState,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ComponentUpsert, String> {
    let id = pick(props, &["id", "ObjID", "OBJID", "objid", "标识码"])
        .ok_or("no component id (map a field to `id`)")?;
    let parsed: ComponentId = id
        .parse()
        .map_err(|e: cityloop_geo::codes::CodeError| format!("component id {id}: {e}"))?;
    let class_code = parsed.class_code().to_owned();
    let class_name = classes
        .get(&class_code)
        .ok_or_else(|| format!("component {id}: no enabled component class {class_code}"))?;
    let (lon, lat, geometry, raw) = point_of(f, crs)?;
    let state_text =
        pick(props, &["state", "ObjState", "OBJSTATE", "状态"]).unwrap_or_else(|| "intact".into());
    let state = crate::basedata::component_state(&state_text)
        .map(str::to_owned)
        .ok_or_else(|| {
            format!("component {id}: unknown state `{state_text}` (完好/破损/丢失/占用/废弃)")
        })?;
    let date = |keys: &[&str]| {
        pick(props, keys).and_then(|d| {
            chrono::NaiveDate::parse_from_str(d.get(..10).unwrap_or(&d), "%Y-%m-%d").ok()
        })
    };
    let known = [
        "id",
        "ObjID",
        "OBJID",
        "objid",
        "标识码",
        "state",
        "ObjState",
        "OBJSTATE",
        "状态",
        "name",
        "ObjName",
        "名称",
        "DeptName1",
        "DeptName2",
        "DeptName3",
        "dept_supervisor",
        "dept_owner",
        "dept_maintainer",
        "ORDate",
        "CHDate",
        "initial_date",
        "DataSource",
        "data_source",
        "Note",
        "note",
        "备注",
        "BGID",
    ];
    let attributes: serde_json::Map<String, Value> = props
        .iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(ComponentUpsert {
        id: parsed.to_string(),
        class_code,
        name: pick(props, &["name", "ObjName", "名称"]).unwrap_or_else(|| class_name.clone()),
        grid_code: spatial.grid_at(lon, lat).map(|g| g.code.clone()),
        state,
        dept_supervisor: pick(props, &["dept_supervisor", "DeptName1", "DeptCode1"]),
        dept_owner: pick(props, &["dept_owner", "DeptName2", "DeptCode2"]),
        dept_maintainer: pick(props, &["dept_maintainer", "DeptName3", "DeptCode3"]),
        lon,
        lat,
        geometry,
        raw: raw.map(|r| json!(r)),
        initial_date: date(&["initial_date", "ORDate"]),
        change_date: date(&["change_date", "CHDate"]),
        data_source: pick(props, &["data_source", "DataSource"]),
        note: pick(props, &["note", "Note", "备注"]),
        attributes: Value::Object(attributes),
        now,
    })
}

fn address_record(
    f: &Feature,
    props: &serde_json::Map<String, Value>,
    crs: Crs,
    spatial: &crate::spatial::SpatialState,
    opts: &ImportOptions,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<AddressNew, String> {
    let text = pick(props, &["text", "address", "地址", "名称", "name"])
        .ok_or("no address text (map a field to `text`)")?;
    let (lon, lat, _, _) = point_of(f, crs)?;
    let parsed = cityloop_geo::address::parse(&text, &[]);
    let grid = spatial.grid_at(lon, lat);
    Ok(AddressNew {
        normalized: parsed.normalized.clone(),
        road: pick(props, &["road", "道路"]).unwrap_or(parsed.road),
        number: pick(props, &["number", "门牌号"])
            .and_then(|n| n.parse().ok())
            .or(parsed.number.map(i64::from)),
        text,
        lon,
        lat,
        community_code: grid.map(|g| g.community_code.clone()),
        grid_code: grid.map(|g| g.code.clone()),
        source: opts.source.clone(),
        now,
    })
}

/// Overlaps between grids and gaps inside each community, as warnings. Unit grids should tile a
/// community without gaps or overlaps (GB/T 30428.1), but real surveys have slivers, and the centre
/// decides what to fix.
async fn topology_warnings(
    tx: &mut dyn Tx,
    communities: &std::collections::BTreeSet<String>,
) -> AppResult<Vec<String>> {
    use geo::Intersects;
    let mut out = Vec::new();
    let all = tx.list_grids(None).await?;
    let areas = tx.list_areas().await?;
    for community in communities {
        let mut polys = Vec::new();
        for g in all.iter().filter(|g| &g.community_code == community) {
            polys.push((
                g.code.clone(),
                g.bbox,
                crate::spatial::polygon_of(&g.geometry)?,
            ));
        }
        for (i, (a_code, a_box, a)) in polys.iter().enumerate() {
            for (b_code, b_box, b) in polys.iter().skip(i + 1) {
                let boxes_meet = a_box[0] <= b_box[2]
                    && b_box[0] <= a_box[2]
                    && a_box[1] <= b_box[3]
                    && b_box[1] <= a_box[3];
                if boxes_meet && a.intersects(b) {
                    let overlap = cityloop_geo::validate::overlap_area_m2(a, b);
                    if overlap > 1.0 {
                        out.push(format!(
                            "grid {a_code} overlaps grid {b_code} by {overlap:.0} m²"
                        ));
                    }
                }
            }
        }
        let union = geo::unary_union(polys.iter().map(|(_, _, p)| p));
        for part in &union.0 {
            for hole in part.interiors() {
                let hole = geo_types::Polygon::new(hole.clone(), vec![]);
                let area = cityloop_geo::validate::area_m2(&hole);
                if area > 1.0 {
                    let at = hole
                        .centroid()
                        .map(|c| format!(" near {:.6},{:.6}", c.x(), c.y()))
                        .unwrap_or_default();
                    out.push(format!(
                        "community {community} has a gap of {area:.0} m² between its grids{at}"
                    ));
                }
            }
        }
        if union.0.len() > 1 {
            out.push(format!(
                "the grids of community {community} form {} separate pieces",
                union.0.len()
            ));
        }
        // Against the community's boundary, when it has been imported.
        let boundary = areas
            .iter()
            .find(|a| &a.code == community)
            .and_then(|a| a.geometry.as_deref())
            .and_then(|g| g.parse::<geojson::Geometry>().ok())
            .and_then(|g| geo_types::Geometry::<f64>::try_from(g).ok())
            .and_then(|g| match g {
                geo_types::Geometry::Polygon(p) => Some(geo_types::MultiPolygon(vec![p])),
                geo_types::Geometry::MultiPolygon(m) => Some(m),
                _ => None,
            });
        if let Some(boundary) = boundary {
            use geo::BooleanOps;
            for (code, _, p) in &polys {
                let outside = p.difference(&boundary);
                let area: f64 = outside.0.iter().map(cityloop_geo::validate::area_m2).sum();
                if area > 1.0 {
                    out.push(format!(
                        "grid {code} crosses the boundary of community {community} by {area:.0} m²"
                    ));
                }
            }
            let uncovered = boundary.difference(&union);
            let area: f64 = uncovered
                .0
                .iter()
                .map(cityloop_geo::validate::area_m2)
                .sum();
            if area > 1.0 {
                out.push(format!(
                    "{area:.0} m² of community {community} is covered by no grid"
                ));
            }
        }
    }
    Ok(out)
}

/// Whether an imported component differs from the stored one in anything it carries.
fn differs(b: &cityloop_store::ComponentRecord, c: &ComponentUpsert) -> bool {
    b.class_code != c.class_code
        || b.name != c.name
        || b.grid_code != c.grid_code
        || b.state != c.state
        || b.dept_supervisor != c.dept_supervisor
        || b.dept_owner != c.dept_owner
        || b.dept_maintainer != c.dept_maintainer
        || (b.lon - c.lon).abs() > 1e-9
        || (b.lat - c.lat).abs() > 1e-9
        || b.geometry != c.geometry
        || (c.initial_date.is_some() && b.initial_date != c.initial_date)
        || (c.change_date.is_some() && b.change_date != c.change_date)
        || b.data_source != c.data_source
        || b.note != c.note
        || b.attributes != c.attributes
}

fn area_boundary(
    f: &Feature,
    props: &serde_json::Map<String, Value>,
    crs: Crs,
    areas: &[String],
) -> Result<(String, String), String> {
    let code = pick(
        props,
        &[
            "code",
            "area_code",
            "行政区划代码",
            "编码",
            "SQ_CODE",
            "JD_CODE",
        ],
    )
    .ok_or("no area code (map a field to `code`)")?;
    let parsed = cityloop_domain::AreaCode::parse(&code)
        .map_err(|e| format!("area code {code}: {}", e.message))?;
    if !areas.contains(&parsed.to_string()) {
        return Err(format!("area {parsed} does not exist; create it first"));
    }
    let geometry = f.geometry.as_ref().ok_or("no geometry")?;
    let converted = convert(geometry, crs)?;
    match &converted {
        Geometry::Polygon(_) | Geometry::MultiPolygon(_) => {}
        other => {
            return Err(format!(
                "an area boundary is a polygon, found {}",
                geometry_name(other)
            ));
        }
    }
    Ok((
        parsed.to_string(),
        geojson::Geometry::from(&converted).to_string(),
    ))
}
