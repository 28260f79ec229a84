//! Base data use cases: geocoding a point, unit grids for the map, components with their history,
//! standard addresses (forward and reverse geocoding) and responsibility grids.

use std::sync::Arc;

use cityloop_domain::{Action, FieldError, Target};
use cityloop_geo::codes::ComponentId;
use cityloop_geo::crs::{Crs, LonLat, RawCoordinate};
use cityloop_store::{
    AddressRecord, ComponentChange, ComponentQuery, ComponentRecord, ComponentUpsert, GridRecord,
    ResponsibilityGrid,
};
use serde::Serialize;
use serde_json::json;

use crate::spatial::{SpatialState, class_key, polygon_of};
use crate::{Actor, App, AppError, AppResult, Ctx, Obj};

/// Points further than this outside the grids' bounding box are refused as outside the city.
const EXTENT_MARGIN_DEG: f64 = 0.02;
const META_REVISION: &str = "spatial.revision";

/// Component states (部件状态): stored code and Chinese name; either is accepted on input.
pub const COMPONENT_STATES: [(&str, &str); 5] = [
    ("intact", "完好"),
    ("damaged", "破损"),
    ("missing", "丢失"),
    ("occupied", "占用"),
    ("abandoned", "废弃"),
];

/// The stored code of a state written as a code or in Chinese.
pub fn component_state(text: &str) -> Option<&'static str> {
    COMPONENT_STATES
        .iter()
        .find(|(code, zh)| *code == text || *zh == text)
        .map(|(code, _)| *code)
}

fn component_upsert(
    input: &ComponentInput,
    id: String,
    class_name: String,
    p: LonLat,
    grid: Option<crate::spatial::GridMeta>,
    now: chrono::DateTime<chrono::Utc>,
) -> ComponentUpsert {
    ComponentUpsert {
        id,
        class_code: input.class_code.clone(),
        name: input.name.clone().unwrap_or(class_name),
        grid_code: grid.map(|g| g.code),
        state: component_state(&input.state).unwrap_or("intact").to_owned(),
        dept_supervisor: input.dept_supervisor.clone(),
        dept_owner: input.dept_owner.clone(),
        dept_maintainer: input.dept_maintainer.clone(),
        lon: p.lon(),
        lat: p.lat(),
        geometry: None,
        raw: (!matches!(input.point.crs, Crs::Wgs84 | Crs::Cgcs2000)).then(|| json!(input.point)),
        initial_date: input.initial_date,
        change_date: None,
        data_source: input.data_source.clone(),
        note: input.note.clone(),
        attributes: input.attributes.clone(),
        now,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaRef {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NearComponent {
    pub id: String,
    pub class_code: String,
    pub distance_m: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NearAddress {
    pub id: i64,
    pub text: String,
    pub distance_m: f64,
}

/// Everything a point is located by.
#[derive(Debug, Clone, Serialize)]
pub struct Location {
    pub lon: f64,
    pub lat: f64,
    /// The coordinate as given, when it was declared in another system.
    pub raw: Option<RawCoordinate>,
    pub grid: Option<String>,
    pub community: Option<AreaRef>,
    pub street: Option<AreaRef>,
    pub district: Option<AreaRef>,
    pub responsibility_grids: Vec<AreaRef>,
    /// Inspectors (user ids) on duty for the point's responsibility grids.
    pub inspector_ids: Vec<i64>,
    pub components: Vec<NearComponent>,
    pub address: Option<NearAddress>,
}

/// What to look up around a point.
#[derive(Debug, Clone)]
pub struct GeocodeOptions {
    pub k: usize,
    pub radius_m: Option<f64>,
    pub classes: Vec<String>,
}

impl Default for GeocodeOptions {
    fn default() -> Self {
        GeocodeOptions {
            k: 5,
            radius_m: Some(200.0),
            classes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AddressMatch {
    pub address: AddressRecord,
    pub score: f64,
}

pub struct ComponentInput {
    /// Given for an existing identifier; otherwise the next serial of the class in the county.
    pub id: Option<String>,
    pub class_code: String,
    pub name: Option<String>,
    pub point: RawCoordinate,
    pub state: String,
    pub dept_supervisor: Option<String>,
    pub dept_owner: Option<String>,
    pub dept_maintainer: Option<String>,
    pub initial_date: Option<chrono::NaiveDate>,
    pub data_source: Option<String>,
    pub note: Option<String>,
    pub attributes: serde_json::Value,
}

fn coord_error(e: cityloop_geo::crs::CrsError) -> AppError {
    let field = e.field().unwrap_or("lon");
    AppError::Invalid(FieldError::new(field, e.to_string()))
}

impl App {
    /// The spatial state in use.
    pub fn spatial(&self) -> Arc<SpatialState> {
        self.spatial
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Rebuilds the spatial state from the database and swaps it in.
    pub async fn reload_spatial(&self) -> AppResult<()> {
        let (state, revision) = {
            let mut tx = self.store.read().await?;
            let revision = tx.get_meta(META_REVISION).await?;
            (SpatialState::load(tx.as_mut()).await?, revision)
        };
        *self.spatial.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(state);
        *self
            .spatial_revision
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = revision;
        Ok(())
    }

    /// The base data revision the spatial state was built at.
    pub(crate) fn spatial_revision_stamp(&self) -> String {
        self.spatial_revision
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_default()
    }

    /// Rebuilds when another instance changed base data (the revision in the database moved).
    pub async fn refresh_spatial_if_changed(&self) -> AppResult<bool> {
        let current = {
            let mut tx = self.store.read().await?;
            tx.get_meta(META_REVISION).await?
        };
        let known = self
            .spatial_revision
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if current != known {
            self.reload_spatial().await?;
            return Ok(true);
        }
        Ok(false)
    }

    pub(crate) async fn bump_spatial_revision(
        &self,
        tx: &mut dyn cityloop_store::Tx,
    ) -> AppResult<()> {
        let now = self.now();
        // Random, not the time: two writes in one clock tick must still differ.
        tx.set_meta(META_REVISION, &crate::secret::new_token(""), now)
            .await?;
        Ok(())
    }

    /// Converts a declared coordinate to storage lon/lat and checks it lies in the city.
    pub fn to_city_point(&self, raw: &RawCoordinate) -> AppResult<LonLat> {
        let p = raw.to_storage().map_err(coord_error)?;
        if let Some(e) = self.spatial().extent {
            let m = EXTENT_MARGIN_DEG;
            if p.lon() < e[0] - m || p.lon() > e[2] + m {
                return Err(FieldError::new("lon", "outside the city extent").into());
            }
            if p.lat() < e[1] - m || p.lat() > e[3] + m {
                return Err(FieldError::new("lat", "outside the city extent").into());
            }
        }
        Ok(p)
    }

    /// Locates a point: grid, community, street, district, responsibility grids and their
    /// inspectors, nearby components and the nearest standard address.
    pub async fn geocode(
        &self,
        actor: &Actor,
        raw: &RawCoordinate,
        opts: &GeocodeOptions,
        ctx: &Ctx,
    ) -> AppResult<Location> {
        self.authorize(
            actor,
            Action::BaseDataRead,
            &Target::Collection,
            Obj::kind("geocode"),
            ctx,
        )
        .await?;
        let p = self.to_city_point(raw)?;
        Ok(self.locate(&self.spatial(), p, Some(*raw), opts))
    }

    /// Many points at once (a batch); each answer is independent.
    pub async fn geocode_many(
        &self,
        actor: &Actor,
        points: &[RawCoordinate],
        opts: &GeocodeOptions,
        ctx: &Ctx,
    ) -> AppResult<Vec<Result<Location, AppError>>> {
        self.authorize(
            actor,
            Action::BaseDataRead,
            &Target::Collection,
            Obj::kind("geocode"),
            ctx,
        )
        .await?;
        let state = self.spatial();
        Ok(points
            .iter()
            .map(|raw| {
                self.to_city_point(raw)
                    .map(|p| self.locate(&state, p, Some(*raw), opts))
            })
            .collect())
    }

    pub(crate) fn locate(
        &self,
        s: &SpatialState,
        p: LonLat,
        raw: Option<RawCoordinate>,
        opts: &GeocodeOptions,
    ) -> Location {
        let area = |code: &str| {
            s.area_names.get(code).map(|name| AreaRef {
                code: code.to_owned(),
                name: name.clone(),
            })
        };
        let grid = s.grid_at(p.lon(), p.lat());
        let community_code = grid.map(|g| g.community_code.clone());
        let responsibility_codes = grid
            .and_then(|g| s.responsibility.get(&g.code))
            .cloned()
            .unwrap_or_default();
        let mut inspector_ids = Vec::new();
        let responsibility_grids = responsibility_codes
            .iter()
            .filter_map(|c| {
                s.responsibility_info.get(c).map(|(name, inspectors)| {
                    inspector_ids.extend(inspectors.iter().copied());
                    AreaRef {
                        code: c.clone(),
                        name: name.clone(),
                    }
                })
            })
            .collect();
        inspector_ids.sort_unstable();
        inspector_ids.dedup();
        let classes: Vec<u16> = opts.classes.iter().map(|c| class_key(c)).collect();
        let components = s
            .component_index
            .nearest(
                p.lon(),
                p.lat(),
                opts.k.min(100),
                opts.radius_m,
                (!classes.is_empty()).then_some(classes.as_slice()),
            )
            .into_iter()
            .filter_map(|(i, d)| {
                s.components
                    .get(i as usize)
                    .map(|(id, class)| NearComponent {
                        id: id.clone(),
                        class_code: format!("{class:04}"),
                        distance_m: (d * 10.0).round() / 10.0,
                    })
            })
            .collect();
        let address = s
            .address_index
            .nearest(p.lon(), p.lat(), 1, Some(500.0), None)
            .first()
            .and_then(|(i, d)| {
                s.addresses.get(*i as usize).map(|a| NearAddress {
                    id: a.id,
                    text: a.text.clone(),
                    distance_m: (d * 10.0).round() / 10.0,
                })
            });
        Location {
            lon: p.lon(),
            lat: p.lat(),
            raw: raw.filter(|r| !matches!(r.crs, Crs::Wgs84 | Crs::Cgcs2000)),
            grid: grid.map(|g| g.code.clone()),
            community: community_code.as_deref().and_then(area),
            street: community_code
                .as_deref()
                .and_then(|c| c.get(..9))
                .and_then(area),
            district: community_code
                .as_deref()
                .and_then(|c| c.get(..6))
                .and_then(area),
            responsibility_grids,
            inspector_ids,
            components,
            address,
        }
    }

    /// Forward geocoding: standard addresses matching free text, best first, with a score.
    pub async fn search_addresses(
        &self,
        actor: &Actor,
        text: &str,
        limit: usize,
        ctx: &Ctx,
    ) -> AppResult<Vec<AddressMatch>> {
        self.authorize(
            actor,
            Action::BaseDataRead,
            &Target::Collection,
            Obj::kind("address"),
            ctx,
        )
        .await?;
        if text.trim().is_empty() {
            return Err(FieldError::new("q", "give an address to search for").into());
        }
        let s = self.spatial();
        let by_id: std::collections::HashMap<i64, &AddressRecord> =
            s.addresses.iter().map(|a| (a.id, a)).collect();
        Ok(s.gazetteer
            .search(text, limit.clamp(1, 50))
            .into_iter()
            .filter_map(|m| {
                by_id.get(&m.id).map(|a| AddressMatch {
                    address: (*a).clone(),
                    score: m.score,
                })
            })
            .collect())
    }

    /// Unit grids whose bounding box meets `bbox`, for the map.
    pub async fn grids_in(
        &self,
        actor: &Actor,
        bbox: Option<[f64; 4]>,
        ctx: &Ctx,
    ) -> AppResult<Vec<GridRecord>> {
        self.authorize(
            actor,
            Action::BaseDataRead,
            &Target::Collection,
            Obj::kind("grid"),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        Ok(tx.list_grids(bbox).await?)
    }

    /// A GeoJSON FeatureCollection of the grids in a viewport, simplified for the zoom level.
    pub async fn grids_geojson(
        &self,
        actor: &Actor,
        bbox: [f64; 4],
        zoom: Option<u8>,
        ctx: &Ctx,
    ) -> AppResult<serde_json::Value> {
        let grids = self.grids_in(actor, Some(bbox), ctx).await?;
        let mut features = Vec::with_capacity(grids.len());
        for g in grids {
            let geometry = match zoom {
                Some(z) => {
                    let p = polygon_of(&g.geometry)?;
                    let simple = cityloop_geo::simplify::simplify_for_zoom(&p, z);
                    serde_json::to_value(geojson::Geometry::from(&simple))
                        .map_err(|e| AppError::Internal(e.to_string()))?
                }
                None => serde_json::from_str(&g.geometry)
                    .map_err(|e| AppError::Internal(e.to_string()))?,
            };
            features.push(json!({
                "type": "Feature",
                "id": g.code,
                "geometry": geometry,
                "properties": { "code": g.code, "community_code": g.community_code, "name": g.name, "area_m2": g.area_m2 },
            }));
        }
        Ok(json!({ "type": "FeatureCollection", "features": features }))
    }

    pub async fn get_grid(&self, actor: &Actor, code: &str, ctx: &Ctx) -> AppResult<GridRecord> {
        self.authorize(
            actor,
            Action::BaseDataRead,
            &Target::Collection,
            Obj::new("grid", code),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        tx.get_grid(code).await?.ok_or(AppError::NotFound("grid"))
    }

    pub async fn responsibility_grids(
        &self,
        actor: &Actor,
        ctx: &Ctx,
    ) -> AppResult<Vec<ResponsibilityGrid>> {
        self.authorize(
            actor,
            Action::BaseDataRead,
            &Target::Collection,
            Obj::kind("responsibility_grid"),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        Ok(tx.list_responsibility_grids().await?)
    }

    pub async fn list_components(
        &self,
        actor: &Actor,
        q: &ComponentQuery,
        ctx: &Ctx,
    ) -> AppResult<Vec<ComponentRecord>> {
        self.authorize(
            actor,
            Action::BaseDataRead,
            &Target::Collection,
            Obj::kind("component"),
            ctx,
        )
        .await?;
        let q = ComponentQuery {
            limit: q.limit.clamp(1, 5000),
            ..q.clone()
        };
        let mut tx = self.store.read().await?;
        Ok(tx.list_components(&q).await?)
    }

    pub async fn get_component(
        &self,
        actor: &Actor,
        id: &str,
        ctx: &Ctx,
    ) -> AppResult<(ComponentRecord, Vec<ComponentChange>)> {
        self.authorize(
            actor,
            Action::BaseDataRead,
            &Target::Collection,
            Obj::new("component", id),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        let c = tx
            .get_components(&[id.to_owned()])
            .await?
            .pop()
            .ok_or(AppError::NotFound("component"))?;
        let history = tx.component_history(id).await?;
        Ok((c, history))
    }

    /// Checks a component's state and class and locates it: (class name, point, grid).
    async fn place_component(
        &self,
        input: &ComponentInput,
    ) -> AppResult<(String, LonLat, Option<crate::spatial::GridMeta>)> {
        if component_state(&input.state).is_none() {
            return Err(FieldError::new(
                "state",
                "intact, damaged, missing, occupied or abandoned (完好/破损/丢失/占用/废弃)",
            )
            .into());
        }
        let class_name = self.check_component_class(&input.class_code).await?;
        let p = self.to_city_point(&input.point)?;
        let grid = self.spatial().grid_at(p.lon(), p.lat()).cloned();
        Ok((class_name, p, grid))
    }

    async fn check_component_class(&self, class_code: &str) -> AppResult<String> {
        let class = cityloop_domain::taxonomy::ClassRef::new(
            cityloop_domain::taxonomy::ClassKind::Component,
            class_code,
        )
        .map_err(|e| FieldError::new("class_code", e.message))?;
        let mut tx = self.store.read().await?;
        let known = tx
            .list_classes()
            .await?
            .into_iter()
            .find(|c| c.class.class == class)
            .ok_or_else(|| FieldError::new("class_code", format!("no component class {class}")))?;
        if !known.class.enabled {
            return Err(FieldError::new(
                "class_code",
                format!("component class {class} is disabled"),
            )
            .into());
        }
        Ok(known.class.name)
    }

    /// Adds a component; its unit grid is computed from its location.
    pub async fn create_component(
        &self,
        actor: &Actor,
        input: ComponentInput,
        ctx: &Ctx,
    ) -> AppResult<ComponentRecord> {
        self.authorize(
            actor,
            Action::BaseDataWrite,
            &Target::Collection,
            Obj::kind("component"),
            ctx,
        )
        .await?;
        let (class_name, p, grid) = self.place_component(&input).await?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        let id = match &input.id {
            Some(id) => {
                let parsed: ComponentId =
                    id.parse().map_err(|e: cityloop_geo::codes::CodeError| {
                        FieldError::new("id", e.to_string())
                    })?;
                if parsed.class_code() != input.class_code {
                    return Err(
                        FieldError::new("id", "its class part differs from class_code").into(),
                    );
                }
                parsed.to_string()
            }
            None => {
                let county = grid
                    .as_ref()
                    .and_then(|g| g.community_code.get(..6))
                    .ok_or_else(|| FieldError::new("lon", "not inside a unit grid; give the id"))?
                    .to_owned();
                let prefix = format!("{county}{}", input.class_code);
                let serial = self.next_component_serial(tx.as_mut(), &prefix).await?;
                ComponentId::new(&county, &input.class_code, serial)
                    .map_err(|e| FieldError::new("id", e.to_string()))?
                    .to_string()
            }
        };
        if !tx
            .get_components(std::slice::from_ref(&id))
            .await?
            .is_empty()
        {
            return Err(AppError::Conflict(format!("component {id} exists")));
        }
        let upsert = component_upsert(&input, id.clone(), class_name, p, grid, now);
        tx.upsert_components(std::slice::from_ref(&upsert)).await?;
        let created = tx
            .get_components(std::slice::from_ref(&id))
            .await?
            .pop()
            .ok_or(AppError::NotFound("component"))?;
        tx.append_component_history(&[ComponentChange {
            component_id: id.clone(),
            version: created.version,
            at: now,
            actor: actor.name(),
            action: "create".into(),
            before: None,
            after: json!(created),
        }])
        .await?;
        self.bump_spatial_revision(tx.as_mut()).await?;
        self.audit(
            tx.as_mut(),
            actor,
            "component.create",
            Obj::new("component", &id),
            "ok",
            ctx,
            json!({ "class_code": created.class_code, "grid": created.grid_code }),
        )
        .await?;
        tx.commit().await?;
        self.reload_spatial().await?;
        Ok(created)
    }

    async fn next_component_serial(
        &self,
        tx: &mut dyn cityloop_store::Tx,
        prefix: &str,
    ) -> AppResult<u32> {
        // Keyset scan of this county and class; ids sort by serial within the prefix.
        let mut after = format!("{prefix}000000");
        let mut last = 0u32;
        loop {
            let page = tx
                .list_components(&ComponentQuery {
                    after_id: Some(after.clone()),
                    limit: 5000,
                    ..Default::default()
                })
                .await?;
            let mine: Vec<&ComponentRecord> =
                page.iter().filter(|c| c.id.starts_with(prefix)).collect();
            if let Some(c) = mine.last() {
                last = c.id.get(10..).and_then(|s| s.parse().ok()).unwrap_or(last);
            }
            if mine.len() < page.len() || page.len() < 5000 {
                break;
            }
            after = page.last().map(|c| c.id.clone()).unwrap_or_default();
        }
        Ok(last + 1)
    }

    /// Changes a component; the previous state goes into its history. Moving it recomputes its grid.
    pub async fn update_component(
        &self,
        actor: &Actor,
        id: &str,
        input: ComponentInput,
        version: i64,
        ctx: &Ctx,
    ) -> AppResult<ComponentRecord> {
        self.authorize(
            actor,
            Action::BaseDataWrite,
            &Target::Collection,
            Obj::new("component", id),
            ctx,
        )
        .await?;
        let (class_name, p, grid) = self.place_component(&input).await?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        let before = tx
            .get_components(&[id.to_owned()])
            .await?
            .pop()
            .ok_or(AppError::NotFound("component"))?;
        if before.version != version {
            return Err(AppError::VersionConflict {
                current: Some(json!(before)),
            });
        }
        let upsert = ComponentUpsert {
            geometry: before.geometry.clone(),
            initial_date: input.initial_date.or(before.initial_date),
            change_date: Some(
                now.with_timezone(&cityloop_domain::calendar::CHINA_OFFSET)
                    .date_naive(),
            ),
            ..component_upsert(&input, id.to_owned(), class_name, p, grid, now)
        };
        let after = self
            .or_current(tx.update_component(&upsert, version).await, "component", id)
            .await?;
        tx.append_component_history(&[ComponentChange {
            component_id: id.to_owned(),
            version: after.version,
            at: now,
            actor: actor.name(),
            action: "update".into(),
            before: Some(json!(before)),
            after: json!(after),
        }])
        .await?;
        self.bump_spatial_revision(tx.as_mut()).await?;
        self.audit(
            tx.as_mut(),
            actor,
            "component.update",
            Obj::new("component", id),
            "ok",
            ctx,
            json!({ "version": after.version }),
        )
        .await?;
        tx.commit().await?;
        self.reload_spatial().await?;
        Ok(after)
    }
}

impl App {
    /// Creates or replaces a responsibility grid: unit grids of one street patrolled by the given
    /// inspectors.
    pub async fn put_responsibility_grid(
        &self,
        actor: &Actor,
        r: ResponsibilityGrid,
        ctx: &Ctx,
    ) -> AppResult<ResponsibilityGrid> {
        self.authorize(
            actor,
            Action::BaseDataWrite,
            &Target::Collection,
            Obj::new("responsibility_grid", &r.code),
            ctx,
        )
        .await?;
        let code = r.code.trim().to_owned();
        if code.is_empty()
            || code.len() > 32
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(FieldError::new("code", "1 to 32 letters, digits, - or _").into());
        }
        let name = crate::org::clean_name("name", &r.name, 64)?;
        let street = cityloop_domain::AreaCode::parse(&r.street_code)
            .map_err(|e| FieldError::new("street_code", e.message))?;
        if street.level() != cityloop_domain::AreaLevel::Street {
            return Err(FieldError::new(
                "street_code",
                "a responsibility grid belongs to a street (9 digits)",
            )
            .into());
        }
        if r.grid_codes.is_empty() {
            return Err(FieldError::new("grid_codes", "at least one unit grid").into());
        }
        let mut tx = self.store.write().await?;
        if tx.get_area(street.as_str()).await?.is_none() {
            return Err(FieldError::new("street_code", format!("no street {street}")).into());
        }
        for g in &r.grid_codes {
            if !g.starts_with(street.as_str()) {
                return Err(FieldError::new(
                    "grid_codes",
                    format!("grid {g} is not in street {street}"),
                )
                .into());
            }
            if tx.get_grid(g).await?.is_none() {
                return Err(FieldError::new("grid_codes", format!("no grid {g}")).into());
            }
        }
        for id in &r.inspector_ids {
            let user = tx
                .get_user(*id)
                .await?
                .ok_or_else(|| FieldError::new("inspector_ids", format!("no user {id}")))?;
            if !user.roles.contains(&cityloop_domain::Role::Inspector) {
                return Err(FieldError::new(
                    "inspector_ids",
                    format!("{} is not an inspector", user.username),
                )
                .into());
            }
        }
        let mut grid_codes = r.grid_codes.clone();
        grid_codes.sort();
        grid_codes.dedup();
        let mut inspector_ids = r.inspector_ids.clone();
        inspector_ids.sort_unstable();
        inspector_ids.dedup();
        let record = ResponsibilityGrid {
            code: code.clone(),
            name,
            street_code: street.to_string(),
            grid_codes,
            inspector_ids,
        };
        let before = tx
            .list_responsibility_grids()
            .await?
            .into_iter()
            .find(|x| x.code == code);
        tx.put_responsibility_grid(&record, self.now()).await?;
        self.bump_spatial_revision(tx.as_mut()).await?;
        self.audit(
            tx.as_mut(),
            actor,
            "responsibility_grid.put",
            Obj::new("responsibility_grid", &code),
            "ok",
            ctx,
            json!({ "before": before, "after": record }),
        )
        .await?;
        tx.commit().await?;
        self.reload_spatial().await?;
        Ok(record)
    }
}

impl App {
    /// District, street or community boundaries as a GeoJSON FeatureCollection, simplified for the
    /// zoom level (map layers by zoom).
    pub async fn area_shapes(
        &self,
        actor: &Actor,
        level: &str,
        zoom: Option<u8>,
        ctx: &Ctx,
    ) -> AppResult<serde_json::Value> {
        self.authorize(
            actor,
            Action::BaseDataRead,
            &Target::Collection,
            Obj::kind("area"),
            ctx,
        )
        .await?;
        let level: cityloop_domain::AreaLevel = level.parse()?;
        let mut tx = self.store.read().await?;
        let mut features = Vec::new();
        for a in tx.list_areas().await? {
            if a.level != level.as_str() {
                continue;
            }
            let Some(text) = a.geometry.as_deref() else {
                continue;
            };
            let geometry: geojson::Geometry = text
                .parse()
                .map_err(|e| AppError::Internal(format!("area geometry: {e}")))?;
            let geometry = match (zoom, geo_types::Geometry::<f64>::try_from(geometry.clone())) {
                (Some(z), Ok(geo_types::Geometry::MultiPolygon(mp))) => geojson::Geometry::from(
                    &cityloop_geo::simplify::simplify_multi_for_zoom(&mp, z),
                ),
                (Some(z), Ok(geo_types::Geometry::Polygon(p))) => {
                    geojson::Geometry::from(&cityloop_geo::simplify::simplify_for_zoom(&p, z))
                }
                _ => geometry,
            };
            features.push(json!({
                "type": "Feature",
                "id": a.code,
                "geometry": geometry,
                "properties": { "code": a.code, "name": a.name, "level": a.level, "parent_code": a.parent_code },
            }));
        }
        Ok(json!({ "type": "FeatureCollection", "features": features }))
    }
}
