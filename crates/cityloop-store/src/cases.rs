//! Records of the closed loop: cases, their events, intake idempotency, timers, evidence and
//! notifications.

use chrono::{DateTime, Utc};
use cityloop_domain::case::{Case, Event};
use serde::{Deserialize, Serialize};

/// Facts captured at intake that the state machine does not need but every screen does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CaseIntake {
    /// Reported subclass (e.g. `E0101`), before the shift leader files it.
    pub reported_class: Option<String>,
    pub address: Option<String>,
    /// WGS-84 longitude and latitude.
    pub lon: f64,
    pub lat: f64,
    pub grid_code: Option<String>,
    pub community_code: Option<String>,
    pub street_code: Option<String>,
    pub district_code: Option<String>,
    pub component_id: Option<String>,
    /// Caller or citizen name and phone, when given (personal data: shown to the centre only).
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    /// Work-order number in the system that pushed the report (12345 platform, video platform).
    pub external_ref: Option<String>,
    /// Camera or sensor id of a machine alarm.
    pub device_id: Option<String>,
    /// Confidence score of a machine alarm, 0–1.
    pub confidence: Option<f64>,
}

/// Clock columns derived from the case's step clock, kept for queues and the timer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CaseClock {
    pub due_at: Option<DateTime<Utc>>,
    pub warn_at: Option<DateTime<Utc>>,
    /// `normal`, `warning`, `overdue`, `paused` or `none`.
    pub urgency: String,
    /// Next instant the timer should look at this case; `None` when nothing is pending.
    pub next_timer_at: Option<DateTime<Utc>>,
    /// The disposal step has run past its due time at least once (for evaluation).
    pub disposal_overdue: bool,
}

/// A stored case: the state-machine state, its intake facts and its clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRecord {
    pub case: Case,
    pub intake: CaseIntake,
    pub clock: CaseClock,
}

/// A new case with its first event.
#[derive(Debug, Clone)]
pub struct CaseNew {
    pub record: CaseRecord,
    pub event: Event,
}

/// A transition to store: the new state must have `version = expected_version + 1`.
#[derive(Debug, Clone)]
pub struct CaseChange {
    pub case: Case,
    pub clock: CaseClock,
    pub event: Event,
    pub expected_version: i64,
}

/// Filters of work queues and case search. Every `Some` narrows the result.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// Step names as stored (`verifying`, `disposing`, `closed`…).
    pub steps: Option<Vec<String>>,
    pub sources: Option<Vec<String>>,
    /// Filed or reported class.
    pub class: Option<String>,
    pub grid_code: Option<String>,
    /// Area code prefix match: a street code matches its communities' cases.
    pub area_codes: Option<Vec<String>>,
    /// Cases where one of these departments leads, assists or is the sub-unit.
    pub departments: Option<Vec<String>>,
    /// `normal`, `warning`, `overdue`, `paused`.
    pub urgencies: Option<Vec<String>>,
    /// `extension` or `park`: a department request waiting for the shift leader.
    pub pending: Option<Vec<String>>,
    pub reported_by: Option<i64>,
    /// Data scope of the reader: any of these areas, departments, or reported by this user.
    pub scope: Option<CaseScope>,
    pub reported_since: Option<DateTime<Utc>>,
    pub reported_until: Option<DateTime<Utc>>,
    pub closed_since: Option<DateTime<Utc>>,
    pub closed_until: Option<DateTime<Utc>>,
    /// Substring of description, address or case number (any script, case-insensitive).
    pub text: Option<String>,
    pub supervised: Option<bool>,
    /// WGS-84 `[west, south, east, north]`: cases reported inside the box.
    pub bbox: Option<[f64; 4]>,
    pub order: CaseOrder,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Default)]
pub struct CaseScope {
    pub area_codes: Vec<String>,
    pub departments: Vec<String>,
    pub user_id: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseOrder {
    /// Most urgent first: due time ascending, cases without a due time last.
    #[default]
    Due,
    /// Newest report first.
    Newest,
}

/// An intake idempotency key: retries with the same key and body return the same case.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyRecord {
    /// Whose key it is (user id): two clients may use the same key.
    pub owner: i64,
    pub key: String,
    /// SHA-256 of the canonical request body.
    pub request_hash: String,
    pub case_id: String,
    pub created_at: DateTime<Utc>,
}

/// A stored evidence blob's metadata (the bytes live in the blob store).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlobRecord {
    pub hash: String,
    pub size: i64,
    pub media_type: String,
    /// EXIF facts as JSON (`taken_at`, `gps`, …), when present.
    pub exif: Option<serde_json::Value>,
    /// Perceptual hash for near-duplicate detection.
    pub dhash: Option<i64>,
    pub uploaded_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A photo or file attached to a case at a step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttachmentRecord {
    pub case_id: String,
    pub hash: String,
    /// `report`, `verify`, `feedback`, `check`, …: the event that attached it.
    pub stage: String,
    /// Version of the event that attached it.
    pub event_version: i64,
    /// Plausibility flags computed when it was attached.
    pub flags: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A notification waiting to be delivered (transactional outbox).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRecord {
    pub id: i64,
    /// Adapter: `inbox`, `webhook`, `sms`.
    pub channel: String,
    /// `user:12`, `department:SZ`, `role:shift_leader`, or an address for external channels.
    pub recipient: String,
    /// The receiver deduplicates on (recipient, dedup_key).
    pub dedup_key: String,
    pub case_id: Option<String>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct OutboxNew {
    pub channel: String,
    pub recipient: String,
    pub dedup_key: String,
    pub case_id: Option<String>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// An in-app message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageRecord {
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

#[derive(Debug, Clone)]
pub struct MessageNew {
    pub recipient: String,
    pub dedup_key: String,
    pub case_id: Option<String>,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A link between cases: `merged` (duplicate → main).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseLink {
    pub from_case: String,
    pub to_case: String,
    pub kind: String,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
}

/// A case that may earn evaluation credit in a period, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalCaseRef {
    pub id: String,
    pub grid_code: Option<String>,
    pub community_code: Option<String>,
    pub street_code: Option<String>,
}

/// One stored evaluation rollup row: the counters an object earned on one China day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRow {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub object_kind: String,
    pub object_id: String,
    /// JSON object of counter code → count.
    pub counters: String,
}

/// A published, frozen evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicationRecord {
    pub id: i64,
    /// `YYYY-MM-DD`, inclusive.
    pub period_from: String,
    /// `YYYY-MM-DD`, exclusive.
    pub period_to: String,
    /// The evaluation scheme's name and content hash.
    pub scheme: String,
    /// JSON array of the rule set ids in force during the period.
    pub rule_sets: String,
    /// The results as JSON (absent in listings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<String>,
    pub note: String,
    pub published_by: Option<i64>,
    pub published_at: DateTime<Utc>,
}

/// One version of a city's evaluation scheme (a TOML overlay on the national defaults).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchemeRecord {
    pub version: i64,
    pub name: String,
    pub overlay: String,
    /// Hash of the effective scheme (defaults + overlay), stamped on publications.
    pub content_hash: String,
    /// `draft` or `published`.
    pub status: String,
    /// `YYYY-MM-DD`: periods starting on or after it are evaluated under this version.
    pub effective_from: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub published_by: Option<i64>,
    pub published_at: Option<DateTime<Utc>>,
}

/// An objection (申诉) against the counting of one case for one evaluated object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectionRecord {
    pub id: i64,
    pub case_id: String,
    pub object_kind: String,
    pub object_id: String,
    /// JSON array of counter codes; empty = every counter of the object from this case.
    pub counters: String,
    pub reason: String,
    /// `pending`, `accepted` or `rejected`.
    pub status: String,
    pub filed_by: i64,
    pub filed_at: DateTime<Utc>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
}

/// Filter for listing objections.
#[derive(Debug, Clone, Default)]
pub struct ObjectionQuery {
    pub status: Option<String>,
    /// (object kind, object ids)
    pub objects: Option<(String, Vec<String>)>,
    pub case_id: Option<String>,
}

/// The last known position of a user (WGS-84/CGCS2000 storage lon/lat).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionRecord {
    pub user_id: i64,
    pub lon: f64,
    pub lat: f64,
    pub accuracy_m: Option<f64>,
    pub at: DateTime<Utc>,
}
