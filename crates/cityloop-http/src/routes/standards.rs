//! Taxonomy, versioned rule sets, the responsibility matrix and the working calendar.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use cityloop_app::standards::{ClassPatch, ImportRequest, NewClass, RuleSet};
use cityloop_domain::calendar::{DayKind, DayRule, TimeLimit, WorkSchedule};
use cityloop_domain::responsibility::{MatrixEntry, Situation, china_time_of_day};
use cityloop_domain::rules::{AreaClass, ConditionKey, FilingCondition, ProcessLimits};
use cityloop_domain::taxonomy::{ClassKind, ClassRef};
use cityloop_domain::{AreaCode, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, ClientCtx};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_classes, create_class))
        .routes(routes!(patch_class))
        .routes(routes!(list_rule_sets, create_rule_set))
        .routes(routes!(rule_set_in_force))
        .routes(routes!(get_rule_set, discard_rule_set))
        .routes(routes!(import_rules))
        .routes(routes!(export_rules))
        .routes(routes!(set_process))
        .routes(routes!(set_matrix))
        .routes(routes!(put_condition, remove_condition))
        .routes(routes!(check_rule_set))
        .routes(routes!(publish_rule_set))
        .routes(routes!(suggest))
        .routes(routes!(calendar))
        .routes(routes!(set_day, unset_day))
        .routes(routes!(import_calendar))
        .routes(routes!(set_schedule))
        .routes(routes!(due))
}

fn invalid(e: FieldError) -> ApiError {
    cityloop_app::AppError::Invalid(e).into()
}

// ---------- taxonomy ----------

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ClassFilter {
    /// `component` or `event`.
    kind: Option<String>,
    enabled: Option<bool>,
}

/// The component (部件) and event (事件) classes; a class is named `C0101` or `E0101`.
#[utoipa::path(get, path = "/classes", tag = "standards", params(ClassFilter), responses((status = 200, body = Object)))]
async fn list_classes(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(f): Query<ClassFilter>,
) -> ApiResult<Json<Value>> {
    let kind = f
        .kind
        .as_deref()
        .map(str::parse::<ClassKind>)
        .transpose()
        .map_err(invalid)?;
    let list: Vec<_> = s
        .app
        .list_classes(&auth.actor(), &ctx)
        .await?
        .into_iter()
        .filter(|c| kind.is_none_or(|k| c.class.class.kind == k))
        .filter(|c| f.enabled.is_none_or(|e| c.class.enabled == e))
        .collect();
    Ok(Json(json!(list)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateClass {
    /// `C2101` or `E0601`.
    class: String,
    major_name: String,
    name: String,
    #[serde(default)]
    major_name_en: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    notes: String,
}

/// Adds a city's own class (system administrator).
#[utoipa::path(post, path = "/classes", tag = "standards", request_body = CreateClass,
    responses((status = 201, body = Object), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_class(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<CreateClass>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let class: ClassRef = b.class.parse().map_err(invalid)?;
    let c = s
        .app
        .create_class(
            &auth.actor(),
            NewClass {
                class,
                major_name: b.major_name,
                name: b.name,
                major_name_en: b.major_name_en,
                name_en: b.name_en,
                notes: b.notes,
            },
            &ctx,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!(c))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchClass {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    name_en: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    version: i64,
}

/// Enables, disables or renames a class (system administrator).
#[utoipa::path(patch, path = "/classes/{class}", tag = "standards", params(("class" = String, Path, description = "C0101 or E0101")),
    request_body = PatchClass, responses((status = 200, body = Object), (status = 409, body = ErrorBody)))]
async fn patch_class(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(class): Path<String>,
    ApiJson(b): ApiJson<PatchClass>,
) -> ApiResult<Json<Value>> {
    let class: ClassRef = class.parse().map_err(invalid)?;
    let c = s
        .app
        .update_class(
            &auth.actor(),
            class,
            ClassPatch {
                enabled: b.enabled,
                name: b.name,
                name_en: b.name_en,
                notes: b.notes,
                version: b.version,
            },
            &ctx,
        )
        .await?;
    Ok(Json(json!(c)))
}

// ---------- rule sets ----------

fn rule_set_json(set: &RuleSet) -> Value {
    let mut v = json!(set.record);
    if let Some(o) = v.as_object_mut() {
        o.insert("content".into(), json!(set.content));
    }
    v
}

/// All rule set versions (drafts and published), without their content.
#[utoipa::path(get, path = "/rule-sets", tag = "standards", responses((status = 200, body = Object)))]
async fn list_rule_sets(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
) -> ApiResult<Json<Value>> {
    let list = s.app.list_rule_sets(&auth.actor(), &ctx).await?;
    let summary: Vec<Value> = list
        .into_iter()
        .map(|mut r| {
            r.content = Value::Null;
            json!(r)
        })
        .collect();
    Ok(Json(json!(summary)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateRuleSet {
    #[serde(default)]
    name: String,
    /// Copy this rule set; default: the one in force.
    #[serde(default)]
    based_on: Option<i64>,
}

/// Starts a draft (system administrator).
#[utoipa::path(post, path = "/rule-sets", tag = "standards", request_body = CreateRuleSet, responses((status = 201, body = Object)))]
async fn create_rule_set(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<CreateRuleSet>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let set = s
        .app
        .create_draft(&auth.actor(), &b.name, b.based_on, &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(rule_set_json(&set))))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct AtQuery {
    /// Default: now.
    at: Option<DateTime<Utc>>,
}

/// The published rule set in force at an instant.
#[utoipa::path(get, path = "/rule-sets/in-force", tag = "standards", params(AtQuery),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn rule_set_in_force(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<AtQuery>,
) -> ApiResult<Json<Value>> {
    let at = q.at.unwrap_or_else(|| s.app.now());
    let set = s
        .app
        .rule_set_in_force(&auth.actor(), at, &ctx)
        .await?
        .ok_or(cityloop_app::AppError::NotFound("rule set in force"))?;
    Ok(Json(rule_set_json(&set)))
}

/// A rule set with its filing conditions, process limits and responsibility matrix.
#[utoipa::path(get, path = "/rule-sets/{id}", tag = "standards", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_rule_set(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    Ok(Json(rule_set_json(
        &s.app.get_rule_set(&auth.actor(), id, &ctx).await?,
    )))
}

/// Discards a draft. Published rule sets are kept for ever.
#[utoipa::path(delete, path = "/rule-sets/{id}", tag = "standards", params(("id" = i64, Path)),
    responses((status = 204), (status = 409, body = ErrorBody)))]
async fn discard_rule_set(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.discard_draft(&auth.actor(), id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    /// The file name; its extension (.csv or .xlsx) decides the format.
    file_name: String,
    /// `component` or `event`, for rows and sheets that do not say.
    kind: Option<String>,
    /// Import into this draft; default: a new draft copied from the rule set in force.
    draft_id: Option<i64>,
    name: Option<String>,
}

/// Imports a rules table (CSV or XLSX in the local layout) into a draft. Every bad row is listed
/// (422 `invalid_rows`) and nothing is stored.
#[utoipa::path(post, path = "/rule-sets/import", tag = "standards", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn import_rules(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let default_kind = q
        .kind
        .as_deref()
        .map(str::parse::<ClassKind>)
        .transpose()
        .map_err(invalid)?;
    let set = s
        .app
        .import_rules(
            &auth.actor(),
            ImportRequest {
                file_name: q.file_name,
                bytes: body.to_vec(),
                default_kind,
                draft_id: q.draft_id,
                name: q.name,
            },
            &ctx,
        )
        .await?;
    Ok(Json(rule_set_json(&set)))
}

/// Downloads a rule set as `xlsx` (one sheet per kind plus process limits) or `csv`.
#[utoipa::path(get, path = "/rule-sets/{id}/export.{format}", tag = "standards",
    params(("id" = i64, Path), ("format" = String, Path, description = "xlsx or csv")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>)))]
async fn export_rules(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path((id, format)): Path<(i64, String)>,
) -> ApiResult<impl IntoResponse> {
    let (xlsx, mime) = match format.as_str() {
        "xlsx" => (
            true,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "csv" => (false, "text/csv; charset=utf-8"),
        _ => return Err(invalid(FieldError::new("format", "xlsx or csv"))),
    };
    let bytes = s.app.export_rule_set(&auth.actor(), id, xlsx, &ctx).await?;
    let disposition = format!("attachment; filename=\"rules-{id}.{format}\"");
    Ok((
        [
            (CONTENT_TYPE, mime.to_owned()),
            (CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetProcess {
    /// Step (accept, verify, file, dispatch, check, close, return_review, extension_approval,
    /// park_approval) → time limit such as "30工作分钟" or "1个工作日".
    #[schema(value_type = Object)]
    limits: std::collections::BTreeMap<String, String>,
    warn_at_percent: u8,
    version: i64,
}

/// Sets a draft's process time limits and warning threshold (system administrator).
#[utoipa::path(put, path = "/rule-sets/{id}/process", tag = "standards", params(("id" = i64, Path)),
    request_body = SetProcess, responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn set_process(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<SetProcess>,
) -> ApiResult<Json<Value>> {
    let mut limits = std::collections::BTreeMap::new();
    for (step, limit) in b.limits {
        let step: cityloop_domain::rules::Step = step.parse().map_err(invalid)?;
        let limit: TimeLimit =
            limit
                .parse()
                .map_err(|e: cityloop_domain::calendar::CalendarError| {
                    invalid(FieldError::new(
                        format!("limits.{}", step.as_str()),
                        e.to_string(),
                    ))
                })?;
        limits.insert(step, limit);
    }
    let process = ProcessLimits {
        limits,
        warn_at_percent: b.warn_at_percent,
    };
    let set = s
        .app
        .set_process_limits(&auth.actor(), id, process, b.version, &ctx)
        .await?;
    Ok(Json(rule_set_json(&set)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetMatrix {
    #[schema(value_type = Vec<Object>)]
    entries: Vec<MatrixEntry>,
    version: i64,
}

/// Replaces a draft's responsibility matrix (权责清单) (system administrator).
#[utoipa::path(put, path = "/rule-sets/{id}/matrix", tag = "standards", params(("id" = i64, Path)),
    request_body = SetMatrix, responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn set_matrix(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<SetMatrix>,
) -> ApiResult<Json<Value>> {
    let set = s
        .app
        .set_matrix(&auth.actor(), id, b.entries, b.version, &ctx)
        .await?;
    Ok(Json(rule_set_json(&set)))
}

/// A filing condition named by its key: class, text (compared without spaces, full-width forms
/// as half-width) and area class.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConditionKeyBody {
    /// `C0101` or `E0101`.
    class: String,
    /// 立案条件
    condition: String,
    /// `first` (一类区域) or `second` (二类区域); absent or empty: everywhere.
    #[serde(default)]
    area_class: Option<String>,
}

/// `prefix` names the fields as the body does, so that a form can mark the one to correct.
fn parse_key(
    class: &str,
    condition: &str,
    area_class: Option<&str>,
    prefix: &str,
) -> ApiResult<ConditionKey> {
    let named = |e: FieldError, field: &str| {
        invalid(FieldError::new(format!("{prefix}{field}"), e.message))
    };
    let class: ClassRef = class.parse().map_err(|e| named(e, "class"))?;
    if condition.trim().is_empty() {
        return Err(invalid(FieldError::new(
            format!("{prefix}condition"),
            "the filing condition is empty",
        )));
    }
    let area_class = match area_class.map(str::trim) {
        None | Some("") => None,
        Some(a) => Some(a.parse::<AreaClass>().map_err(|e| named(e, "area_class"))?),
    };
    Ok(ConditionKey::new(class, condition, area_class))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PutCondition {
    /// `C0101` or `E0101`: an enabled class of the taxonomy.
    class: String,
    /// 立案条件
    condition: String,
    /// 处置时限, e.g. "4个工作小时", "2 working_days", "24 calendar_hours" (calendar units run
    /// through nights and holidays: urgent cases).
    limit: String,
    /// 结案条件
    #[serde(default)]
    closing: String,
    /// Default responsible department, by code or name; absent or empty: none.
    #[serde(default)]
    department: Option<String>,
    /// `first` (一类区域) or `second` (二类区域); absent or empty: everywhere.
    #[serde(default)]
    area_class: Option<String>,
    /// 备注
    #[serde(default)]
    note: String,
    /// The condition this one replaces, when its class, text or area class changes; without it
    /// the condition with the same key is replaced, or else the condition is added.
    #[serde(default)]
    replaces: Option<ConditionKeyBody>,
    /// The draft's version.
    version: i64,
}

/// Adds or replaces one filing condition of a draft (system administrator). A field error (422)
/// names the field; a published rule set (409) never changes.
#[utoipa::path(put, path = "/rule-sets/{id}/conditions", tag = "standards", params(("id" = i64, Path)),
    request_body = PutCondition, responses((status = 200, body = Object), (status = 409, body = ErrorBody),
    (status = 422, body = ErrorBody)))]
async fn put_condition(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PutCondition>,
) -> ApiResult<Json<Value>> {
    let key = parse_key(&b.class, &b.condition, b.area_class.as_deref(), "")?;
    let limit: TimeLimit =
        b.limit
            .parse()
            .map_err(|e: cityloop_domain::calendar::CalendarError| {
                invalid(FieldError::new("limit", e.to_string()))
            })?;
    let replaces = b
        .replaces
        .as_ref()
        .map(|k| parse_key(&k.class, &k.condition, k.area_class.as_deref(), "replaces."))
        .transpose()?;
    let condition = FilingCondition {
        class: key.class,
        condition: b.condition,
        limit,
        closing: b.closing,
        department: b.department,
        area_class: key.area_class,
        note: b.note,
    };
    let set = s
        .app
        .put_condition(&auth.actor(), id, condition, replaces, b.version, &ctx)
        .await?;
    Ok(Json(rule_set_json(&set)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RemoveCondition {
    /// `C0101` or `E0101`.
    class: String,
    /// 立案条件
    condition: String,
    /// `first` (一类区域) or `second` (二类区域); absent or empty: everywhere.
    #[serde(default)]
    area_class: Option<String>,
    /// The draft's version.
    version: i64,
}

/// Removes one filing condition of a draft, named by its key (system administrator).
#[utoipa::path(delete, path = "/rule-sets/{id}/conditions", tag = "standards", params(("id" = i64, Path)),
    request_body = RemoveCondition, responses((status = 200, body = Object), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody)))]
async fn remove_condition(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RemoveCondition>,
) -> ApiResult<Json<Value>> {
    let key = parse_key(&b.class, &b.condition, b.area_class.as_deref(), "")?;
    let set = s
        .app
        .remove_condition(&auth.actor(), id, key, b.version, &ctx)
        .await?;
    Ok(Json(rule_set_json(&set)))
}

/// Validation errors and warnings, responsibility-matrix gaps and conflicts, and the diff against
/// the rule set in force.
#[utoipa::path(get, path = "/rule-sets/{id}/check", tag = "standards", params(("id" = i64, Path)),
    responses((status = 200, body = Object)))]
async fn check_rule_set(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.check_rule_set(&auth.actor(), id, &ctx).await?
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Publish {
    /// Local date from which cases are filed under this version (today or later).
    effective_from: NaiveDate,
    version: i64,
}

#[derive(Serialize)]
struct Published {
    rule_set: Value,
    warnings: Vec<String>,
    matrix_gaps: Value,
    matrix_conflicts: Value,
}

/// Publishes a draft (system administrator). Refused with every error listed; gaps in the
/// responsibility matrix come back as warnings.
#[utoipa::path(post, path = "/rule-sets/{id}/publish", tag = "standards", params(("id" = i64, Path)),
    request_body = Publish, responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn publish_rule_set(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<Publish>,
) -> ApiResult<Json<Value>> {
    let (record, check) = s
        .app
        .publish_rule_set(&auth.actor(), id, b.effective_from, b.version, &ctx)
        .await?;
    Ok(Json(json!(Published {
        rule_set: json!(record),
        warnings: check.rules.warnings,
        matrix_gaps: json!(check.matrix.gaps),
        matrix_conflicts: json!(check.matrix.conflicts),
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SuggestRequest {
    /// C0101 / E0505
    class: String,
    /// Community (or street) code of the place.
    #[serde(default)]
    area: Option<String>,
    #[serde(default)]
    grid: Option<String>,
    #[serde(default)]
    owner_department: Option<String>,
    /// Default: now.
    #[serde(default)]
    at: Option<DateTime<Utc>>,
    /// Departments that returned the case (回退); they are skipped.
    #[serde(default)]
    exclude: Vec<String>,
}

/// The departments a case should go to, most specific rule first (from the rule set in force).
#[utoipa::path(post, path = "/dispatch/suggestions", tag = "standards", request_body = SuggestRequest,
    responses((status = 200, body = Object)))]
async fn suggest(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<SuggestRequest>,
) -> ApiResult<Json<Value>> {
    let at = b.at.unwrap_or_else(|| s.app.now());
    let situation = Situation {
        class: b.class.parse().map_err(invalid)?,
        area: b
            .area
            .as_deref()
            .map(AreaCode::parse)
            .transpose()
            .map_err(|e| invalid(FieldError::new("area", e.message)))?,
        grid: b.grid,
        owner_department: b.owner_department,
        local_time: china_time_of_day(at),
    };
    let list = s
        .app
        .suggest_departments(&auth.actor(), &situation, at, &b.exclude, &ctx)
        .await?;
    Ok(Json(json!(list)))
}

// ---------- calendar ----------

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct YearQuery {
    year: Option<i32>,
}

/// Loaded years, working periods, holidays and adjusted working days, and a warning when the next
/// year's schedule is due.
#[utoipa::path(get, path = "/calendar", tag = "standards", params(YearQuery), responses((status = 200, body = Object)))]
async fn calendar(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Query(q): Query<YearQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.app.calendar_overview(&auth.actor(), q.year, &ctx).await?
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetDay {
    /// `holiday` or `workday` (an adjusted working day on a weekend).
    kind: String,
    #[serde(default)]
    festival: String,
}

/// Marks a date as a holiday or an adjusted working day (system administrator).
#[utoipa::path(put, path = "/calendar/days/{date}", tag = "standards", params(("date" = String, Path)),
    request_body = SetDay, responses((status = 204), (status = 422, body = ErrorBody)))]
async fn set_day(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(date): Path<NaiveDate>,
    ApiJson(b): ApiJson<SetDay>,
) -> ApiResult<StatusCode> {
    let kind = match b.kind.as_str() {
        "holiday" => DayKind::Holiday,
        "workday" => DayKind::Workday,
        _ => return Err(invalid(FieldError::new("kind", "holiday or workday"))),
    };
    s.app
        .set_calendar_days(
            &auth.actor(),
            vec![DayRule {
                date,
                kind,
                festival: b.festival,
            }],
            &ctx,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes a date an ordinary day again (system administrator).
#[utoipa::path(delete, path = "/calendar/days/{date}", tag = "standards", params(("date" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn unset_day(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(date): Path<NaiveDate>,
) -> ApiResult<StatusCode> {
    if s.app.unset_calendar_day(&auth.actor(), date, &ctx).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(cityloop_app::AppError::NotFound("calendar day").into())
    }
}

/// Imports a holiday CSV (`date,kind,festival`) such as next year's State Council schedule.
#[utoipa::path(post, path = "/calendar/import", tag = "standards",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn import_calendar(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let n = s
        .app
        .import_calendar(&auth.actor(), "body", &body, &ctx)
        .await?;
    Ok(Json(json!({ "days": n })))
}

/// Sets the daily working periods, with optional seasonal schedules (system administrator).
#[utoipa::path(put, path = "/calendar/schedule", tag = "standards", request_body = Object,
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn set_schedule(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(schedule): ApiJson<WorkSchedule>,
) -> ApiResult<StatusCode> {
    s.app
        .set_work_schedule(&auth.actor(), schedule, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DueRequest {
    start: DateTime<Utc>,
    /// e.g. "3个工作日", "4个工作小时", "24自然小时".
    limit: String,
    /// Warning threshold in percent; default 80.
    #[serde(default)]
    warn_at_percent: Option<u8>,
}

/// When a time limit started at `start` falls due on the working calendar, and when it warns.
#[utoipa::path(post, path = "/calendar/due", tag = "standards", request_body = DueRequest,
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn due(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    ApiJson(b): ApiJson<DueRequest>,
) -> ApiResult<Json<Value>> {
    let limit: TimeLimit =
        b.limit
            .parse()
            .map_err(|e: cityloop_domain::calendar::CalendarError| {
                invalid(FieldError::new("limit", e.to_string()))
            })?;
    let (deadline, warn) = s
        .app
        .due(
            &auth.actor(),
            b.start,
            limit,
            b.warn_at_percent.unwrap_or(80),
            &ctx,
        )
        .await?;
    Ok(Json(json!({
        "limit": limit.to_string(),
        "due": deadline.at,
        "warn_at": warn.at,
        "provisional": deadline.provisional,
    })))
}
