//! Records of public participation: partner keys, citizen-facing request facts, posted updates,
//! follow-up ratings, supporters, the moderation queue and 12345 work orders.

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct PartnerKeyNew {
    pub name: String,
    pub key_hash: String,
    pub key_prefix: String,
    pub scopes: Vec<String>,
    pub rate_per_hour: i64,
    pub webhook_url: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A partner's API key (the hash never leaves storage).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartnerKey {
    pub id: i64,
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    pub key_prefix: String,
    pub scopes: Vec<String>,
    pub rate_per_hour: i64,
    pub webhook_url: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Citizen-facing facts of a case reported through a public channel.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicRequest {
    pub case_id: String,
    /// `open311`, `web` or `hotline`.
    pub channel: String,
    pub partner_id: Option<i64>,
    pub media_url: Option<String>,
    pub account_id: Option<String>,
    /// SHA-256 of the reporter's follow-up secret.
    pub followup_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct PublicUpdateNew {
    pub case_id: String,
    pub partner_id: Option<i64>,
    pub external_id: Option<String>,
    pub status: String,
    pub description: String,
    pub media_url: Option<String>,
    pub at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// An update posted by a partner (FixMyStreet `servicerequestupdates`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicUpdate {
    pub id: i64,
    pub case_id: String,
    pub partner_id: Option<i64>,
    pub external_id: Option<String>,
    pub status: String,
    pub description: String,
    pub media_url: Option<String>,
    pub at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A reporter's answer after closure (回访).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowupRecord {
    pub case_id: String,
    /// The case's reopen count when it was rated: each closing can be rated once.
    pub round: i64,
    /// `public` (the reporter's own link) or `hotline` (the 12345 platform's call-back).
    pub channel: String,
    pub fixed: bool,
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub rating: i64,
    pub satisfied: bool,
    pub comment: String,
    /// Lead department at closure.
    pub department: Option<String>,
    pub grid_code: Option<String>,
    pub community_code: Option<String>,
    pub street_code: Option<String>,
    pub district_code: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rated_at: DateTime<Utc>,
}

/// What satisfaction counts are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SatisfactionBy {
    Department,
    District,
    Street,
    Community,
    Grid,
}

impl SatisfactionBy {
    pub fn column(self) -> &'static str {
        match self {
            SatisfactionBy::Department => "department",
            SatisfactionBy::District => "district_code",
            SatisfactionBy::Street => "street_code",
            SatisfactionBy::Community => "community_code",
            SatisfactionBy::Grid => "grid_code",
        }
    }
}

/// Ratings of one department or area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SatisfactionCount {
    /// Department or area code; empty when the case had none.
    pub key: String,
    pub rated: i64,
    pub satisfied: i64,
}

#[derive(Debug, Clone)]
pub struct ModerationNew {
    pub token: String,
    pub channel: String,
    pub partner_id: Option<i64>,
    pub reason: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A public report held for a person to look at before it becomes a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModerationItem {
    pub id: i64,
    pub token: String,
    pub channel: String,
    pub partner_id: Option<i64>,
    pub reason: String,
    pub payload: serde_json::Value,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub case_id: Option<String>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// A 12345 work order and the case it became.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotlineOrder {
    pub partner_id: i64,
    pub order_id: String,
    pub case_id: String,
    /// SHA-256 of the order as first pushed: a re-push must be the same order.
    pub request_hash: String,
    /// The hotline's own status as last reported to it.
    pub hotline_status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which cases a public listing wants. Every `Some` narrows.
#[derive(Debug, Clone, Default)]
pub struct PublicCaseQuery {
    pub ids: Option<Vec<String>>,
    /// Filed or reported class.
    pub classes: Option<Vec<String>>,
    /// `Some(true)`: closed only; `Some(false)`: open only.
    pub closed: Option<bool>,
    pub reported_from: Option<DateTime<Utc>>,
    pub reported_to: Option<DateTime<Utc>>,
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_to: Option<DateTime<Utc>>,
    /// Open cases, plus those closed since this instant (the public map).
    pub open_or_closed_since: Option<DateTime<Utc>>,
    /// Only closed cases that ended resolved (no declined, voided or merged ones).
    pub hide_refused: bool,
    /// Longitude/latitude box.
    pub bbox: Option<[f64; 4]>,
    pub offset: i64,
    pub limit: i64,
}
