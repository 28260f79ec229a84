//! Layer import over HTTP: one multipart upload per file (unit grids, components, standard
//! addresses or area boundaries), with the command line's options and a dry run.

use axum::Json;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use cityloop_app::AppError;
use cityloop_app::import::{ImportKind, ImportParams};
use cityloop_domain::FieldError;
use cityloop_io::FeatureReader;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Auth, ClientCtx};

/// Options are short text; a bigger one is a mistake, not an option.
const TEXT_FIELD_LIMIT: usize = 64 * 1024;

/// A zipped shapefile may unpack to this many times the upload limit.
const UNPACK_FACTOR: u64 = 4;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_layer))
        // The file is counted against `import_limit` as it streams to disk; the general body limit
        // is meant for JSON and would refuse any real layer.
        .layer(DefaultBodyLimit::disable())
}

fn invalid(e: FieldError) -> ApiError {
    AppError::Invalid(e).into()
}

fn internal(e: std::io::Error) -> ApiError {
    AppError::Internal(format!("import upload: {e}")).into()
}

/// The multipart form (documentation only: the handler reads the parts as they stream).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes the multipart form in the API document; never built"
)]
struct ImportForm {
    /// `.geojson`/`.json`, `.csv`, or a `.zip` holding one shapefile (.shp, .dbf, .prj, .cpg).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The file's coordinate system when it declares none (or to override it): wgs84, cgcs2000,
    /// gcj02, bd09, cgcs2000-gk3-25 … 45 (`-prefixed` for zone-prefixed eastings), EPSG:4513…4554.
    crs: Option<String>,
    /// Text encoding of attributes (gbk, gb18030, utf-8); default: .cpg, else detected.
    encoding: Option<String>,
    /// Field mapping, e.g. `code=BGID,name=BGNAME`.
    map: Option<String>,
    /// CSV coordinate columns.
    x: Option<String>,
    y: Option<String>,
    /// `true`: import the good records and list the bad ones instead of refusing the file.
    skip_invalid: Option<bool>,
    /// `true`: close unclosed rings and fix ring orientation instead of rejecting the grid.
    repair: Option<bool>,
    /// 2 (national, 14-digit grid codes) or 3 (15 digits).
    grid_serial_digits: Option<u8>,
    /// `true`: run the whole import and roll it back; the report says what would happen.
    dry_run: Option<bool>,
}

/// Imports a layer file: `kind` is grids, components, addresses or areas (boundaries of existing
/// districts, streets and communities). All or nothing: the first bad record refuses the file
/// (422 `validation_failed`, field `file`, naming the record and the reason) and nothing is kept,
/// unless `skip_invalid` lists bad records in the report instead. Re-importing a code replaces
/// the record; unchanged records are left alone. `dry_run=true` rolls everything back. Needs the
/// base-data write permission; audited with the file name and counts.
#[utoipa::path(post, path = "/import/{kind}", tag = "basedata",
    params(("kind" = String, Path, description = "grids, components, addresses or areas")),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 200, body = Object, description = "the report: dry_run, read, imported, replaced, unchanged, rejected (index, reason), warnings"),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn import_layer(
    State(s): State<AppState>,
    auth: Auth,
    ClientCtx(ctx): ClientCtx,
    Path(kind): Path<String>,
    req: Request,
) -> ApiResult<Json<Value>> {
    let kind: ImportKind = kind.parse().map_err(invalid)?;
    let actor = auth.actor();
    // Refuse before taking in what may be hundreds of megabytes.
    s.app.authorize_import(&actor, kind, &ctx).await?;
    let mut form = Multipart::from_request(req, &s).await.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the layer as multipart/form-data: {}", e.body_text()),
        )
    })?;
    let limit = s.http.import_limit;
    let dir = tempfile::tempdir().map_err(internal)?;
    let path = dir.path().join("upload");
    let mut params = ImportParams::default();
    let mut file_name = None;
    while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if file_name.is_some() {
                return Err(invalid(FieldError::new("file", "send one file per import")));
            }
            file_name = Some(save(&mut field, &path, limit).await?);
            continue;
        }
        let text = text_of(&mut field, &name).await?;
        match name.as_str() {
            "crs" => params.crs = Some(text),
            "encoding" => params.encoding = Some(text),
            "map" => params.map = Some(text),
            "x" => params.x = Some(text),
            "y" => params.y = Some(text),
            "skip_invalid" => params.skip_invalid = flag(&name, &text)?,
            "repair" => params.repair = flag(&name, &text)?,
            "dry_run" => params.dry_run = flag(&name, &text)?,
            "grid_serial_digits" if !text.trim().is_empty() => {
                params.grid_serial_digits = Some(
                    text.trim()
                        .parse()
                        .map_err(|_| invalid(FieldError::new("grid_serial_digits", "2 or 3")))?,
                );
            }
            "grid_serial_digits" => {}
            other => {
                return Err(invalid(FieldError::new(
                    other,
                    "unknown field; send file, crs, encoding, map, x, y, skip_invalid, repair, grid_serial_digits, dry_run",
                )));
            }
        }
    }
    let file_name =
        file_name.ok_or_else(|| invalid(FieldError::new("file", "no file was sent")))?;
    let read_opts = params.read_options().map_err(invalid)?;
    let scratch = dir.path().to_path_buf();
    let shown = file_name.clone();
    // Unpacking a zip and reading headers is blocking file work.
    let mut reader = tokio::task::spawn_blocking(move || {
        FeatureReader::open_upload(
            &path,
            &shown,
            &scratch,
            limit.saturating_mul(UNPACK_FACTOR),
            &read_opts,
        )
    })
    .await
    .map_err(|e| ApiError::from(AppError::Internal(e.to_string())))?
    .map_err(|e| invalid(FieldError::new("file", e.to_string())))?;
    let opts = params
        .import_options(file_name.clone(), reader.declared_crs())
        .map_err(invalid)?;
    let mut report = s
        .app
        .import_features(&actor, kind, &mut reader, &opts, &|_| {}, &ctx)
        .await?;
    report.add_reader_warnings(&reader);
    drop(dir);
    let mut out = json!(report);
    out["kind"] = json!(kind.as_str());
    out["file"] = json!(file_name);
    Ok(Json(out))
}

/// Streams the file part to `path`, refusing it once it passes `limit` bytes; answers the file
/// name its sender gave, whose extension says what the file is.
async fn save(field: &mut Field<'_>, path: &std::path::Path, limit: u64) -> ApiResult<String> {
    let file_name = field
        .file_name()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            invalid(FieldError::new(
                "file",
                "the file part has no file name; its extension (.geojson, .json, .csv or .zip) says what it holds",
            ))
        })?;
    let mut out = tokio::fs::File::create(path).await.map_err(internal)?;
    let mut size = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        size += chunk.len() as u64;
        if size > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "{file_name}: the file is larger than the {limit} bytes allowed for an import"
                ),
            )
            .field("file"));
        }
        out.write_all(&chunk).await.map_err(internal)?;
    }
    out.flush().await.map_err(internal)?;
    Ok(file_name)
}

async fn text_of(field: &mut Field<'_>, name: &str) -> ApiResult<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > TEXT_FIELD_LIMIT {
            return Err(invalid(FieldError::new(name, "too long")));
        }
    }
    String::from_utf8(bytes).map_err(|_| invalid(FieldError::new(name, "not UTF-8 text")))
}

/// Form booleans: what a checkbox sends (`on`) as well as `true`/`false`.
fn flag(name: &str, text: &str) -> ApiResult<bool> {
    match text.trim() {
        "true" | "on" | "1" => Ok(true),
        "false" | "off" | "0" | "" => Ok(false),
        _ => Err(invalid(FieldError::new(name, "true or false"))),
    }
}

fn multipart_error(e: MultipartError) -> ApiError {
    let status = e.status();
    let mut err = ApiError::for_status(status);
    if status == StatusCode::BAD_REQUEST {
        err.body.message = format!("malformed multipart body: {}", e.body_text());
    }
    err
}
