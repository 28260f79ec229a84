//! The in-memory spatial state: unit grids, components and standard addresses indexed for point
//! location, nearest-neighbour search and address matching. Built from the database, rebuilt after
//! writes, and swapped whole so that readers never wait.

use std::collections::HashMap;

use cityloop_geo::address::{Entry, Gazetteer};
use cityloop_spatial::{GridIndex, IndexedPoint, PointIndex};
use cityloop_store::{AddressRecord, Tx};
use geo_types::{Geometry, Polygon};

use crate::{AppError, AppResult};

/// Raster cell size for the grid index: a quarter of a unit grid's side.
const GRID_CELL_M: f64 = 25.0;

#[derive(Debug, Clone)]
pub struct GridMeta {
    pub code: String,
    pub community_code: String,
}

pub struct SpatialState {
    pub grids: Vec<GridMeta>,
    pub grid_index: GridIndex,
    /// (component id, class code) by index position.
    pub components: Vec<(String, u16)>,
    pub component_index: PointIndex,
    pub addresses: Vec<AddressRecord>,
    pub address_index: PointIndex,
    pub gazetteer: Gazetteer,
    /// grid code → responsibility grid codes
    pub responsibility: HashMap<String, Vec<String>>,
    /// responsibility grid code → (name, inspector user ids)
    pub responsibility_info: HashMap<String, (String, Vec<i64>)>,
    /// area code → name
    pub area_names: HashMap<String, String>,
    /// Bounding box of all grids (min lon, min lat, max lon, max lat).
    pub extent: Option<[f64; 4]>,
}

/// Parses a GeoJSON geometry into one polygon (the largest part of a multipolygon).
pub fn polygon_of(geojson_text: &str) -> AppResult<Polygon<f64>> {
    let g: geojson::Geometry = geojson_text
        .parse()
        .map_err(|e| AppError::Internal(format!("stored geometry: {e}")))?;
    let geometry: Geometry<f64> = g
        .try_into()
        .map_err(|e: geojson::Error| AppError::Internal(format!("stored geometry: {e}")))?;
    match geometry {
        Geometry::Polygon(p) => Ok(p),
        Geometry::MultiPolygon(mp) => {
            use geo::Area;
            mp.0.into_iter()
                .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
                .ok_or_else(|| AppError::Internal("empty multipolygon".into()))
        }
        other => Err(AppError::Internal(format!(
            "a grid geometry is a polygon, found {other:?}"
        ))),
    }
}

/// Component class codes are 4 digits; the index keys them as a number.
pub fn class_key(code: &str) -> u16 {
    code.parse().unwrap_or(0)
}

impl SpatialState {
    pub fn empty() -> AppResult<SpatialState> {
        Ok(SpatialState {
            grids: Vec::new(),
            grid_index: GridIndex::build(&[], GRID_CELL_M).map_err(index_err)?,
            components: Vec::new(),
            component_index: PointIndex::build(&[]).map_err(index_err)?,
            addresses: Vec::new(),
            address_index: PointIndex::build(&[]).map_err(index_err)?,
            gazetteer: Gazetteer::new(Vec::new(), Vec::new()),
            responsibility: HashMap::new(),
            responsibility_info: HashMap::new(),
            area_names: HashMap::new(),
            extent: None,
        })
    }

    pub async fn load(tx: &mut dyn Tx) -> AppResult<SpatialState> {
        let grids = tx.list_grids(None).await?;
        let mut polygons = Vec::with_capacity(grids.len());
        let mut metas = Vec::with_capacity(grids.len());
        let mut extent: Option<[f64; 4]> = None;
        for g in &grids {
            polygons.push(polygon_of(&g.geometry)?);
            metas.push(GridMeta {
                code: g.code.clone(),
                community_code: g.community_code.clone(),
            });
            let b = g.bbox;
            extent = Some(match extent {
                None => b,
                Some(e) => [
                    e[0].min(b[0]),
                    e[1].min(b[1]),
                    e[2].max(b[2]),
                    e[3].max(b[3]),
                ],
            });
        }
        drop(grids);
        let grid_index = GridIndex::build(&polygons, GRID_CELL_M).map_err(index_err)?;
        drop(polygons);

        let points = tx.component_points().await?;
        let mut components = Vec::with_capacity(points.len());
        let mut indexed = Vec::with_capacity(points.len());
        for (i, p) in points.into_iter().enumerate() {
            let class = class_key(&p.class_code);
            indexed.push(IndexedPoint {
                lon: p.lon,
                lat: p.lat,
                id: u32::try_from(i)
                    .map_err(|_| AppError::Internal("too many components".into()))?,
                class,
            });
            components.push((p.id, class));
        }
        let component_index = PointIndex::build(&indexed).map_err(index_err)?;
        drop(indexed);

        let addresses = tx.list_addresses().await?;
        let address_points: Vec<IndexedPoint> = addresses
            .iter()
            .enumerate()
            .map(|(i, a)| IndexedPoint {
                lon: a.lon,
                lat: a.lat,
                id: i as u32,
                class: 0,
            })
            .collect();
        let address_index = PointIndex::build(&address_points).map_err(index_err)?;
        let areas = tx.list_areas().await?;
        let area_names: HashMap<String, String> = areas
            .iter()
            .map(|a| (a.code.clone(), a.name.clone()))
            .collect();
        // Every administrative name may precede an address; the gazetteer drops them before matching.
        let mut prefixes: Vec<String> = areas.iter().map(|a| a.name.clone()).collect();
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.chars().count()));
        let entries = addresses
            .iter()
            .map(|a| {
                let p = cityloop_geo::address::parse(
                    &a.text,
                    &prefixes.iter().map(String::as_str).collect::<Vec<_>>(),
                );
                Entry {
                    id: a.id,
                    road: p.road,
                    number: p.number,
                    normalized: p.normalized,
                }
            })
            .collect();
        let gazetteer = Gazetteer::new(entries, prefixes);

        let mut responsibility: HashMap<String, Vec<String>> = HashMap::new();
        let mut responsibility_info = HashMap::new();
        for r in tx.list_responsibility_grids().await? {
            for g in &r.grid_codes {
                responsibility
                    .entry(g.clone())
                    .or_default()
                    .push(r.code.clone());
            }
            responsibility_info.insert(r.code.clone(), (r.name.clone(), r.inspector_ids.clone()));
        }
        Ok(SpatialState {
            grids: metas,
            grid_index,
            components,
            component_index,
            addresses,
            address_index,
            gazetteer,
            responsibility,
            responsibility_info,
            area_names,
            extent,
        })
    }

    pub fn grid_at(&self, lon: f64, lat: f64) -> Option<&GridMeta> {
        self.grid_index
            .locate(lon, lat)
            .and_then(|i| self.grids.get(i as usize))
    }
}

fn index_err(e: cityloop_spatial::IndexError) -> AppError {
    AppError::Internal(format!("spatial index: {e}"))
}
