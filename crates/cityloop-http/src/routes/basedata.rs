//! Geocoding, unit grids, components and standard addresses.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cityloop_app::basedata::{ComponentInput, GeocodeOptions};
use cityloop_domain::FieldError;
use cityloop_geo::crs::{Crs, RawCoordinate};
use cityloop_store::ComponentQuery;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, ClientCtx};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(geocode))
        .routes(routes!(search_addresses))
        .routes(routes!(reverse))
        .routes(routes!(grids))
        .routes(routes!(area_shapes))
        .routes(routes!(grid))
        .routes(routes!(responsibility_grids))
        .routes(routes!(put_responsibility_grid))
        .routes(routes!(list_components, create_component))
        .routes(routes!(get_component, update_component))
}

fn invalid(e: FieldError) -> ApiError {
    cityloop_app::AppError::Invalid(e).into()
}

fn crs_of(s: Option<&str>) -> Result<Crs, ApiError> {
    match s {
        None => Ok(Crs::Wgs84),
        Some(s) => s.parse().map_err(|e: cityloop_geo::crs::CrsError| {
            invalid(FieldError::new("crs", e.to_string()))
        }),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PointIn {
    /// Longitude (or easting for a projected system).
    lon: f64,
    /// Latitude (or northing).
    lat: f64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct GeocodeRequest {
    #[serde(default)]
    lon: Option<f64>,
    #[serde(default)]
    lat: Option<f64>,
    /// A batch instead of one point.
    #[serde(default)]
    points: Option<Vec<PointIn>>,
    /// wgs84 (default), cgcs2000, gcj02 (Amap/Tencent), bd09 (Baidu), EPSG:4513…4554.
    #[serde(default)]
    crs: Option<String>,
    /// Nearest components to return (default 5, at most 100).
    #[serde(default)]
    k: Option<usize>,
    /// Search radius for components in metres (default 200).
    #[serde(default)]
    radius_m: Option<f64>,
    /// Only these component class codes (e.g. "0118").
    #[serde(default)]
    classes: Vec<String>,
}

/// Locates a point (or a batch): unit grid, community, street, district, responsibility grids and
/// inspectors, nearest components and the nearest standard address. Input in any supported CRS.
#[utoipa::path(post, path = "/geocode", tag = "basedata", request_body = GeocodeRequest,
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn geocode(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<GeocodeRequest>,
) -> ApiResult<Json<Value>> {
    let crs = crs_of(b.crs.as_deref())?;
    let opts = GeocodeOptions {
        k: b.k.unwrap_or(5),
        radius_m: Some(b.radius_m.unwrap_or(200.0)),
        classes: b.classes,
    };
    if let Some(points) = b.points {
        if points.len() > 10_000 {
            return Err(invalid(FieldError::new(
                "points",
                "at most 10 000 points per request",
            )));
        }
        let raws: Vec<RawCoordinate> = points
            .iter()
            .map(|p| RawCoordinate {
                crs,
                x: p.lon,
                y: p.lat,
            })
            .collect();
        let results = s
            .app
            .geocode_many(&auth.actor(), &raws, &opts, &ctx)
            .await?;
        let out: Vec<Value> = results
            .into_iter()
            .map(|r| match r {
                Ok(l) => json!(l),
                Err(e) => {
                    let e = ApiError::from(e);
                    json!({ "error": { "code": e.body.code, "message": e.body.message, "field": e.body.field } })
                }
            })
            .collect();
        return Ok(Json(json!(out)));
    }
    let (Some(lon), Some(lat)) = (b.lon, b.lat) else {
        return Err(invalid(FieldError::new(
            "lon",
            "give lon and lat, or points",
        )));
    };
    let raw = RawCoordinate {
        crs,
        x: lon,
        y: lat,
    };
    Ok(Json(json!(
        s.app.geocode(&auth.actor(), &raw, &opts, &ctx).await?
    )))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct AddressQuery {
    /// Free address text, e.g. 临江区解放路一百二十八号.
    q: String,
    limit: Option<usize>,
}

/// Forward geocoding: standard addresses matching the text, best first, with a score (1.0 exact).
#[utoipa::path(get, path = "/addresses/search", tag = "basedata", params(AddressQuery),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn search_addresses(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<AddressQuery>,
) -> ApiResult<Json<Value>> {
    let list = s
        .app
        .search_addresses(&auth.actor(), &q.q, q.limit.unwrap_or(5), &ctx)
        .await?;
    Ok(Json(json!(list)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ReverseQuery {
    lon: f64,
    lat: f64,
    crs: Option<String>,
}

/// Reverse geocoding: the nearest standard address to a point (within 500 m), with the location.
#[utoipa::path(get, path = "/addresses/reverse", tag = "basedata", params(ReverseQuery),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn reverse(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<ReverseQuery>,
) -> ApiResult<Json<Value>> {
    let raw = RawCoordinate {
        crs: crs_of(q.crs.as_deref())?,
        x: q.lon,
        y: q.lat,
    };
    let opts = GeocodeOptions {
        k: 0,
        ..GeocodeOptions::default()
    };
    let loc = s.app.geocode(&auth.actor(), &raw, &opts, &ctx).await?;
    Ok(Json(
        json!({ "address": loc.address, "grid": loc.grid, "community": loc.community, "street": loc.street }),
    ))
}

/// A viewport `min_lon,min_lat,max_lon,max_lat` (WGS-84), at most 2° across: map data is
/// requested by viewport.
pub(crate) fn parse_bbox(s: &str) -> Result<[f64; 4], ApiError> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| invalid(FieldError::new("bbox", "min_lon,min_lat,max_lon,max_lat")))?;
    match v.as_slice() {
        [a, b, c, d] if a < c && b < d && (c - a) <= 2.0 && (d - b) <= 2.0 => Ok([*a, *b, *c, *d]),
        [_, _, _, _] => Err(invalid(FieldError::new(
            "bbox",
            "min before max, and at most 2° across (request map data by viewport)",
        ))),
        _ => Err(invalid(FieldError::new(
            "bbox",
            "min_lon,min_lat,max_lon,max_lat",
        ))),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct GridsQuery {
    /// min_lon,min_lat,max_lon,max_lat (WGS84)
    bbox: String,
    /// Map zoom: geometry is simplified to about half a pixel.
    zoom: Option<u8>,
}

/// Unit grids in a viewport as GeoJSON, simplified for the zoom level.
#[utoipa::path(get, path = "/grids", tag = "basedata", params(GridsQuery),
    responses((status = 200, body = Object, content_type = "application/geo+json"), (status = 422, body = ErrorBody)))]
async fn grids(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<GridsQuery>,
) -> ApiResult<Json<Value>> {
    let bbox = parse_bbox(&q.bbox)?;
    Ok(Json(
        s.app
            .grids_geojson(&auth.actor(), bbox, q.zoom, &ctx)
            .await?,
    ))
}

/// One unit grid with its full geometry.
#[utoipa::path(get, path = "/grids/{code}", tag = "basedata", params(("code" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn grid(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(code): Path<String>,
) -> ApiResult<Json<Value>> {
    let g = s.app.get_grid(&auth.actor(), &code, &ctx).await?;
    let geometry: Value = serde_json::from_str(&g.geometry).unwrap_or(Value::Null);
    let mut v = json!(g);
    if let Some(o) = v.as_object_mut() {
        o.insert("geometry".into(), geometry);
    }
    Ok(Json(v))
}

/// Responsibility grids (责任网格) with their unit grids and inspectors.
#[utoipa::path(get, path = "/responsibility-grids", tag = "basedata", responses((status = 200, body = Object)))]
async fn responsibility_grids(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.responsibility_grids(&auth.actor(), &ctx).await?
    )))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ComponentFilter {
    bbox: Option<String>,
    class_code: Option<String>,
    grid_code: Option<String>,
    state: Option<String>,
    /// Keyset paging: the last id of the previous page.
    after_id: Option<String>,
    /// Default 500, at most 5000.
    limit: Option<i64>,
}

/// Components (部件) by viewport, class, grid or state, ordered by id.
#[utoipa::path(get, path = "/components", tag = "basedata", params(ComponentFilter),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn list_components(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(f): Query<ComponentFilter>,
) -> ApiResult<Json<Value>> {
    let q = ComponentQuery {
        bbox: f.bbox.as_deref().map(parse_bbox).transpose()?,
        class_code: f.class_code,
        grid_code: f.grid_code,
        state: f.state,
        after_id: f.after_id,
        limit: f.limit.unwrap_or(500),
    };
    Ok(Json(json!(
        s.app.list_components(&auth.actor(), &q, &ctx).await?
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ComponentBody {
    /// 16-digit id; omit to number it automatically (county + class + next serial).
    #[serde(default)]
    id: Option<String>,
    /// 4-digit component class, e.g. "0118" (路灯).
    class_code: String,
    #[serde(default)]
    name: Option<String>,
    lon: f64,
    lat: f64,
    #[serde(default)]
    crs: Option<String>,
    /// intact, damaged, missing, occupied, abandoned
    #[serde(default = "intact")]
    state: String,
    #[serde(default)]
    dept_supervisor: Option<String>,
    #[serde(default)]
    dept_owner: Option<String>,
    #[serde(default)]
    dept_maintainer: Option<String>,
    #[serde(default)]
    initial_date: Option<chrono::NaiveDate>,
    #[serde(default)]
    data_source: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    attributes: Option<Value>,
    /// Required when changing a component.
    #[serde(default)]
    version: Option<i64>,
}

fn intact() -> String {
    "intact".into()
}

fn component_input(b: ComponentBody) -> Result<(ComponentInput, Option<i64>), ApiError> {
    Ok((
        ComponentInput {
            id: b.id,
            class_code: b.class_code,
            name: b.name,
            point: RawCoordinate {
                crs: crs_of(b.crs.as_deref())?,
                x: b.lon,
                y: b.lat,
            },
            state: b.state,
            dept_supervisor: b.dept_supervisor,
            dept_owner: b.dept_owner,
            dept_maintainer: b.dept_maintainer,
            initial_date: b.initial_date,
            data_source: b.data_source,
            note: b.note,
            attributes: b.attributes.unwrap_or_else(|| json!({})),
        },
        b.version,
    ))
}

/// Adds a component (system administrator); its unit grid is computed from the location.
#[utoipa::path(post, path = "/components", tag = "basedata", request_body = ComponentBody,
    responses((status = 201, body = Object), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_component(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<ComponentBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (input, _) = component_input(b)?;
    let c = s.app.create_component(&auth.actor(), input, &ctx).await?;
    Ok((StatusCode::CREATED, Json(json!(c))))
}

/// A component with its full change history.
#[utoipa::path(get, path = "/components/{id}", tag = "basedata", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_component(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (c, history) = s.app.get_component(&auth.actor(), &id, &ctx).await?;
    Ok(Json(json!({ "component": c, "history": history })))
}

/// Changes a component (system administrator); the previous state is kept in its history.
#[utoipa::path(put, path = "/components/{id}", tag = "basedata", params(("id" = String, Path)), request_body = ComponentBody,
    responses((status = 200, body = Object), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_component(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ComponentBody>,
) -> ApiResult<Json<Value>> {
    let (input, version) = component_input(b)?;
    let version = version.ok_or_else(|| {
        invalid(FieldError::new(
            "version",
            "required when changing a component",
        ))
    })?;
    Ok(Json(json!(
        s.app
            .update_component(&auth.actor(), &id, input, version, &ctx)
            .await?
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PutResponsibilityGrid {
    name: String,
    /// The street (9 digits) the grids belong to.
    street_code: String,
    grid_codes: Vec<String>,
    /// Inspectors (user ids) on duty for these grids.
    #[serde(default)]
    inspector_ids: Vec<i64>,
}

/// Creates or replaces a responsibility grid (system administrator).
#[utoipa::path(put, path = "/responsibility-grids/{code}", tag = "basedata", params(("code" = String, Path)),
    request_body = PutResponsibilityGrid, responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn put_responsibility_grid(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<PutResponsibilityGrid>,
) -> ApiResult<Json<Value>> {
    let r = cityloop_store::ResponsibilityGrid {
        code,
        name: b.name,
        street_code: b.street_code,
        grid_codes: b.grid_codes,
        inspector_ids: b.inspector_ids,
    };
    Ok(Json(json!(
        s.app
            .put_responsibility_grid(&auth.actor(), r, &ctx)
            .await?
    )))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ShapesQuery {
    /// district, street or community
    level: String,
    zoom: Option<u8>,
}

/// Boundaries of the districts, streets or communities as GeoJSON (those that have one).
#[utoipa::path(get, path = "/area-shapes", tag = "basedata", params(ShapesQuery),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn area_shapes(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<ShapesQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        s.app
            .area_shapes(&auth.actor(), &q.level, q.zoom, &ctx)
            .await?,
    ))
}
