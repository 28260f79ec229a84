use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cityloop_app::{AreaInput, DepartmentInput, DepartmentPatch};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::{
    AreaView, CreateArea, CreateDepartment, DepartmentView, PatchArea, PatchDepartment,
};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, ClientCtx};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_areas, create_area))
        .routes(routes!(get_area, patch_area))
        .routes(routes!(list_departments, create_department))
        .routes(routes!(get_department, patch_department))
}

/// All administrative areas (区县, 街道, 社区), ordered by code.
#[utoipa::path(get, path = "/areas", tag = "organisation", responses((status = 200, body = [AreaView]), (status = 401, body = ErrorBody)))]
async fn list_areas(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
) -> ApiResult<Json<Vec<AreaView>>> {
    let areas = s.app.list_areas(&auth.actor(), &ctx).await?;
    Ok(Json(areas.into_iter().map(AreaView::from).collect()))
}

/// Creates an area under its existing parent (system administrator).
#[utoipa::path(post, path = "/areas", tag = "organisation", request_body = CreateArea,
    responses((status = 201, body = AreaView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_area(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<CreateArea>,
) -> ApiResult<(StatusCode, Json<AreaView>)> {
    let input = AreaInput {
        code: b.code,
        name: b.name,
        name_en: b.name_en,
    };
    let area = s.app.create_area(&auth.actor(), input, &ctx).await?;
    Ok((StatusCode::CREATED, Json(area.into())))
}

#[utoipa::path(get, path = "/areas/{code}", tag = "organisation", params(("code" = String, Path)),
    responses((status = 200, body = AreaView), (status = 404, body = ErrorBody)))]
async fn get_area(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(code): Path<String>,
) -> ApiResult<Json<AreaView>> {
    Ok(Json(
        s.app.get_area(&auth.actor(), &code, &ctx).await?.into(),
    ))
}

/// Renames an area (system administrator). A stale `version` gets 409 with the current state.
#[utoipa::path(patch, path = "/areas/{code}", tag = "organisation", params(("code" = String, Path)), request_body = PatchArea,
    responses((status = 200, body = AreaView), (status = 409, body = ErrorBody)))]
async fn patch_area(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<PatchArea>,
) -> ApiResult<Json<AreaView>> {
    let area = s
        .app
        .rename_area(&auth.actor(), &code, &b.name, b.name_en, b.version, &ctx)
        .await?;
    Ok(Json(area.into()))
}

/// All departments and their sub-units (二级单位).
#[utoipa::path(get, path = "/departments", tag = "organisation", responses((status = 200, body = [DepartmentView])))]
async fn list_departments(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
) -> ApiResult<Json<Vec<DepartmentView>>> {
    let list = s.app.list_departments(&auth.actor(), &ctx).await?;
    Ok(Json(list.into_iter().map(DepartmentView::from).collect()))
}

/// Creates a department, or a sub-unit when `parent_code` is given (system administrator).
#[utoipa::path(post, path = "/departments", tag = "organisation", request_body = CreateDepartment,
    responses((status = 201, body = DepartmentView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_department(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<CreateDepartment>,
) -> ApiResult<(StatusCode, Json<DepartmentView>)> {
    let input = DepartmentInput {
        code: b.code,
        name: b.name,
        name_en: b.name_en,
        parent_code: b.parent_code,
        kind: b.kind,
        phone: b.phone,
    };
    let d = s.app.create_department(&auth.actor(), input, &ctx).await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

#[utoipa::path(get, path = "/departments/{id}", tag = "organisation", params(("id" = i64, Path)),
    responses((status = 200, body = DepartmentView), (status = 404, body = ErrorBody)))]
async fn get_department(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
) -> ApiResult<Json<DepartmentView>> {
    Ok(Json(
        s.app.get_department(&auth.actor(), id, &ctx).await?.into(),
    ))
}

/// Changes a department (system administrator). A stale `version` gets 409 with the current state;
/// disabling a department that still has open cases gets 422 `department_has_open_cases`.
#[utoipa::path(patch, path = "/departments/{id}", tag = "organisation", params(("id" = i64, Path)), request_body = PatchDepartment,
    responses((status = 200, body = DepartmentView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch_department(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PatchDepartment>,
) -> ApiResult<Json<DepartmentView>> {
    let patch = DepartmentPatch {
        parent_code: b.parent_code,
        kind: b.kind,
        name: b.name,
        name_en: b.name_en,
        phone: b.phone,
        active: b.active,
        version: b.version,
    };
    Ok(Json(
        s.app
            .update_department(&auth.actor(), id, patch, &ctx)
            .await?
            .into(),
    ))
}
