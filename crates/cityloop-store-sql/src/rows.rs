use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use cityloop_domain::Role;
use cityloop_domain::calendar::{DayKind, DayRule};
use cityloop_domain::case::Case;
use cityloop_domain::taxonomy::{ClassKind, ClassRef, TaxonomyClass};
use cityloop_store::{
    AddressRecord, ApiToken, Area, AttachmentRecord, AuditEntry, BlobRecord, CaseClock, CaseIntake,
    CaseLink, CaseRecord, ComponentChange, ComponentRecord, Department, GridRecord,
    IdempotencyRecord, MessageRecord, OutboxRecord, RuleSetRecord, Session, StoreError,
    StoredClass, User,
};
use sqlx::FromRow;
use sqlx::types::Json;

#[derive(FromRow)]
pub struct AreaRow {
    pub code: String,
    pub parent_code: Option<String>,
    pub level: String,
    pub name: String,
    pub name_en: Option<String>,
    pub geometry: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<AreaRow> for Area {
    fn from(r: AreaRow) -> Self {
        Area {
            code: r.code,
            parent_code: r.parent_code,
            level: r.level,
            name: r.name,
            name_en: r.name_en,
            geometry: r.geometry,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

#[derive(FromRow)]
pub struct DepartmentRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub parent_id: Option<i64>,
    pub kind: String,
    pub phone: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<DepartmentRow> for Department {
    fn from(r: DepartmentRow) -> Self {
        Department {
            id: r.id,
            code: r.code,
            name: r.name,
            name_en: r.name_en,
            parent_id: r.parent_id,
            kind: r.kind,
            phone: r.phone,
            active: r.active,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

#[derive(FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub department_id: Option<i64>,
    pub password_hash: String,
    pub active: bool,
    pub must_change_password: bool,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub password_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

pub fn assemble_users(
    rows: Vec<UserRow>,
    roles: Vec<(i64, String)>,
    areas: Vec<(i64, String)>,
) -> Result<Vec<User>, StoreError> {
    let mut role_map: HashMap<i64, Vec<Role>> = HashMap::new();
    for (id, role) in roles {
        let role = role
            .parse::<Role>()
            .map_err(|e| StoreError::Other(format!("stored role: {e}")))?;
        role_map.entry(id).or_default().push(role);
    }
    let mut area_map: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, area) in areas {
        area_map.entry(id).or_default().push(area);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut roles = role_map.remove(&r.id).unwrap_or_default();
            roles.sort();
            let mut areas = area_map.remove(&r.id).unwrap_or_default();
            areas.sort();
            User {
                id: r.id,
                username: r.username,
                display_name: r.display_name,
                phone: r.phone,
                department_id: r.department_id,
                active: r.active,
                must_change_password: r.must_change_password,
                failed_logins: r.failed_logins,
                locked_until: r.locked_until,
                password_changed_at: r.password_changed_at,
                created_at: r.created_at,
                updated_at: r.updated_at,
                version: r.version,
                roles,
                areas,
            }
        })
        .collect())
}

#[derive(FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id: r.id,
            user_id: r.user_id,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(FromRow)]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiTokenRow> for ApiToken {
    fn from(r: ApiTokenRow) -> Self {
        ApiToken {
            id: r.id,
            user_id: r.user_id,
            name: r.name,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub result: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub detail: Json<serde_json::Value>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            result: r.result,
            ip: r.ip,
            request_id: r.request_id,
            detail: r.detail.0,
        }
    }
}

#[derive(FromRow)]
pub struct ClassRow {
    pub kind: String,
    pub code: String,
    pub major_code: String,
    pub major_name: String,
    pub name: String,
    pub major_name_en: String,
    pub name_en: String,
    pub confidence: String,
    pub notes: String,
    pub builtin: bool,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TryFrom<ClassRow> for StoredClass {
    type Error = StoreError;
    fn try_from(r: ClassRow) -> Result<Self, StoreError> {
        let kind: ClassKind = r
            .kind
            .parse()
            .map_err(|e: cityloop_domain::FieldError| StoreError::Other(e.message))?;
        let class = ClassRef::new(kind, &r.code)
            .map_err(|e| StoreError::Other(format!("stored class: {}", e.message)))?;
        debug_assert_eq!(class.major(), r.major_code);
        Ok(StoredClass {
            class: TaxonomyClass {
                class,
                major_name: r.major_name,
                name: r.name,
                major_name_en: r.major_name_en,
                name_en: r.name_en,
                confidence: r.confidence,
                notes: r.notes,
                builtin: r.builtin,
                enabled: r.enabled,
            },
            updated_at: r.updated_at,
            version: r.version,
        })
    }
}

#[derive(FromRow)]
pub struct RuleSetRow {
    pub id: i64,
    pub number: i64,
    pub name: String,
    pub status: String,
    pub effective_from: Option<NaiveDate>,
    pub content: Json<serde_json::Value>,
    pub based_on: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub published_by: Option<String>,
    pub version: i64,
}

impl From<RuleSetRow> for RuleSetRecord {
    fn from(r: RuleSetRow) -> Self {
        RuleSetRecord {
            id: r.id,
            number: r.number,
            name: r.name,
            status: r.status,
            effective_from: r.effective_from,
            content: r.content.0,
            based_on: r.based_on,
            created_at: r.created_at,
            created_by: r.created_by,
            updated_at: r.updated_at,
            published_at: r.published_at,
            published_by: r.published_by,
            version: r.version,
        }
    }
}

#[derive(FromRow)]
pub struct DayRow {
    pub date: NaiveDate,
    pub kind: String,
    pub festival: String,
}

impl TryFrom<DayRow> for DayRule {
    type Error = StoreError;
    fn try_from(r: DayRow) -> Result<Self, StoreError> {
        let kind = match r.kind.as_str() {
            "holiday" => DayKind::Holiday,
            "workday" => DayKind::Workday,
            other => return Err(StoreError::Other(format!("stored calendar kind `{other}`"))),
        };
        Ok(DayRule {
            date: r.date,
            kind,
            festival: r.festival,
        })
    }
}

#[derive(FromRow)]
pub struct GridRow {
    pub code: String,
    pub community_code: String,
    pub name: Option<String>,
    pub area_m2: f64,
    pub geometry: String,
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
    pub raw: Option<Json<serde_json::Value>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<GridRow> for GridRecord {
    fn from(r: GridRow) -> Self {
        GridRecord {
            code: r.code,
            community_code: r.community_code,
            name: r.name,
            area_m2: r.area_m2,
            geometry: r.geometry,
            bbox: [r.min_lon, r.min_lat, r.max_lon, r.max_lat],
            raw: r.raw.map(|j| j.0),
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

#[derive(FromRow)]
pub struct ComponentRow {
    pub id: String,
    pub class_code: String,
    pub name: String,
    pub grid_code: Option<String>,
    pub state: String,
    pub dept_supervisor: Option<String>,
    pub dept_owner: Option<String>,
    pub dept_maintainer: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub geometry: Option<String>,
    pub raw: Option<Json<serde_json::Value>>,
    pub initial_date: Option<NaiveDate>,
    pub change_date: Option<NaiveDate>,
    pub data_source: Option<String>,
    pub note: Option<String>,
    pub attributes: Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<ComponentRow> for ComponentRecord {
    fn from(r: ComponentRow) -> Self {
        ComponentRecord {
            id: r.id,
            class_code: r.class_code,
            name: r.name,
            grid_code: r.grid_code,
            state: r.state,
            dept_supervisor: r.dept_supervisor,
            dept_owner: r.dept_owner,
            dept_maintainer: r.dept_maintainer,
            lon: r.lon,
            lat: r.lat,
            geometry: r.geometry,
            raw: r.raw.map(|j| j.0),
            initial_date: r.initial_date,
            change_date: r.change_date,
            data_source: r.data_source,
            note: r.note,
            attributes: r.attributes.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

#[derive(FromRow)]
pub struct ComponentChangeRow {
    pub component_id: String,
    pub version: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub before_state: Option<Json<serde_json::Value>>,
    pub after_state: Json<serde_json::Value>,
}

impl From<ComponentChangeRow> for ComponentChange {
    fn from(r: ComponentChangeRow) -> Self {
        ComponentChange {
            component_id: r.component_id,
            version: r.version,
            at: r.at,
            actor: r.actor,
            action: r.action,
            before: r.before_state.map(|j| j.0),
            after: r.after_state.0,
        }
    }
}

#[derive(FromRow)]
pub struct AddressRow {
    pub id: i64,
    pub text: String,
    pub normalized: String,
    pub road: String,
    pub number: Option<i64>,
    pub lon: f64,
    pub lat: f64,
    pub community_code: Option<String>,
    pub grid_code: Option<String>,
    pub source: String,
}

impl From<AddressRow> for AddressRecord {
    fn from(r: AddressRow) -> Self {
        AddressRecord {
            id: r.id,
            text: r.text,
            normalized: r.normalized,
            road: r.road,
            number: r.number,
            lon: r.lon,
            lat: r.lat,
            community_code: r.community_code,
            grid_code: r.grid_code,
            source: r.source,
        }
    }
}

/// The columns `get_case` and friends read: the state plus what is not derived from it.
#[derive(FromRow)]
pub struct CaseRow {
    pub state: Json<Case>,
    pub reported_class: Option<String>,
    pub address: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub grid_code: Option<String>,
    pub community_code: Option<String>,
    pub street_code: Option<String>,
    pub district_code: Option<String>,
    pub component_id: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub external_ref: Option<String>,
    pub device_id: Option<String>,
    pub confidence: Option<f64>,
    pub due_at: Option<DateTime<Utc>>,
    pub warn_at: Option<DateTime<Utc>>,
    pub urgency: String,
    pub next_timer_at: Option<DateTime<Utc>>,
    pub disposal_overdue: bool,
}

impl From<CaseRow> for CaseRecord {
    fn from(r: CaseRow) -> Self {
        CaseRecord {
            case: r.state.0,
            intake: CaseIntake {
                reported_class: r.reported_class,
                address: r.address,
                lon: r.lon,
                lat: r.lat,
                grid_code: r.grid_code,
                community_code: r.community_code,
                street_code: r.street_code,
                district_code: r.district_code,
                component_id: r.component_id,
                contact_name: r.contact_name,
                contact_phone: r.contact_phone,
                external_ref: r.external_ref,
                device_id: r.device_id,
                confidence: r.confidence,
            },
            clock: CaseClock {
                due_at: r.due_at,
                warn_at: r.warn_at,
                urgency: r.urgency,
                next_timer_at: r.next_timer_at,
                disposal_overdue: r.disposal_overdue,
            },
        }
    }
}

#[derive(FromRow)]
pub struct CaseLinkRow {
    pub from_case: String,
    pub to_case: String,
    pub kind: String,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
}

impl From<CaseLinkRow> for CaseLink {
    fn from(r: CaseLinkRow) -> Self {
        CaseLink {
            from_case: r.from_case,
            to_case: r.to_case,
            kind: r.kind,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

#[derive(FromRow)]
pub struct IdempotencyRow {
    pub owner: i64,
    pub key: String,
    pub request_hash: String,
    pub case_id: String,
    pub created_at: DateTime<Utc>,
}

impl From<IdempotencyRow> for IdempotencyRecord {
    fn from(r: IdempotencyRow) -> Self {
        IdempotencyRecord {
            owner: r.owner,
            key: r.key,
            request_hash: r.request_hash,
            case_id: r.case_id,
            created_at: r.created_at,
        }
    }
}

#[derive(FromRow)]
pub struct BlobRow {
    pub hash: String,
    pub size: i64,
    pub media_type: String,
    pub exif: Option<Json<serde_json::Value>>,
    pub dhash: Option<i64>,
    pub uploaded_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<BlobRow> for BlobRecord {
    fn from(r: BlobRow) -> Self {
        BlobRecord {
            hash: r.hash,
            size: r.size,
            media_type: r.media_type,
            exif: r.exif.map(|j| j.0),
            dhash: r.dhash,
            uploaded_by: r.uploaded_by,
            created_at: r.created_at,
        }
    }
}

#[derive(FromRow)]
pub struct AttachmentRow {
    pub case_id: String,
    pub hash: String,
    pub stage: String,
    pub event_version: i64,
    pub flags: Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

impl From<AttachmentRow> for AttachmentRecord {
    fn from(r: AttachmentRow) -> Self {
        AttachmentRecord {
            case_id: r.case_id,
            hash: r.hash,
            stage: r.stage,
            event_version: r.event_version,
            flags: r.flags.0,
            created_at: r.created_at,
        }
    }
}

#[derive(FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub dedup_key: String,
    pub case_id: Option<String>,
    pub kind: String,
    pub payload: Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl From<OutboxRow> for OutboxRecord {
    fn from(r: OutboxRow) -> Self {
        OutboxRecord {
            id: r.id,
            channel: r.channel,
            recipient: r.recipient,
            dedup_key: r.dedup_key,
            case_id: r.case_id,
            kind: r.kind,
            payload: r.payload.0,
            created_at: r.created_at,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            delivered_at: r.delivered_at,
            last_error: r.last_error,
        }
    }
}

#[derive(FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub recipient: String,
    pub dedup_key: String,
    pub case_id: Option<String>,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<MessageRow> for MessageRecord {
    fn from(r: MessageRow) -> Self {
        MessageRecord {
            id: r.id,
            recipient: r.recipient,
            dedup_key: r.dedup_key,
            case_id: r.case_id,
            kind: r.kind,
            title: r.title,
            body: r.body,
            created_at: r.created_at,
            read_at: r.read_at,
        }
    }
}
