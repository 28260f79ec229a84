//! SQL of public participation (partner keys, public request facts, updates, follow-up ratings,
//! supporters, moderation, 12345 orders), written once for both engines.

use chrono::{DateTime, Utc};
use cityloop_store::{
    FollowupRecord, HotlineOrder, ModerationItem, PartnerKey, PublicRequest, PublicUpdate,
};
use sqlx::FromRow;

#[derive(FromRow)]
pub struct PartnerKeyRow {
    pub id: i64,
    pub name: String,
    pub key_prefix: String,
    pub scopes: String,
    pub rate_per_hour: i64,
    pub webhook_url: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<PartnerKeyRow> for PartnerKey {
    fn from(r: PartnerKeyRow) -> Self {
        PartnerKey {
            id: r.id,
            name: r.name,
            key_prefix: r.key_prefix,
            scopes: r.scopes.split_whitespace().map(str::to_owned).collect(),
            rate_per_hour: r.rate_per_hour,
            webhook_url: r.webhook_url,
            created_by: r.created_by,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// What a `PartnerKeyRow` reads (never the digest).
macro_rules! partner_columns {
    () => {
        "id, name, key_prefix, scopes, rate_per_hour, webhook_url, created_by, created_at, revoked_at, \
         last_used_at"
    };
}

#[derive(FromRow)]
pub struct PublicRequestRow {
    pub case_id: String,
    pub channel: String,
    pub partner_id: Option<i64>,
    pub media_url: Option<String>,
    pub account_id: Option<String>,
    pub followup_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<PublicRequestRow> for PublicRequest {
    fn from(r: PublicRequestRow) -> Self {
        PublicRequest {
            case_id: r.case_id,
            channel: r.channel,
            partner_id: r.partner_id,
            media_url: r.media_url,
            account_id: r.account_id,
            followup_hash: r.followup_hash,
            created_at: r.created_at,
        }
    }
}

#[derive(FromRow)]
pub struct PublicUpdateRow {
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

impl From<PublicUpdateRow> for PublicUpdate {
    fn from(r: PublicUpdateRow) -> Self {
        PublicUpdate {
            id: r.id,
            case_id: r.case_id,
            partner_id: r.partner_id,
            external_id: r.external_id,
            status: r.status,
            description: r.description,
            media_url: r.media_url,
            at: r.at,
            created_at: r.created_at,
        }
    }
}

#[derive(FromRow)]
pub struct FollowupRow {
    pub case_id: String,
    pub round: i64,
    pub channel: String,
    pub fixed: bool,
    pub rating: i64,
    pub satisfied: bool,
    pub comment: String,
    pub department: Option<String>,
    pub grid_code: Option<String>,
    pub community_code: Option<String>,
    pub street_code: Option<String>,
    pub district_code: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rated_at: DateTime<Utc>,
}

impl From<FollowupRow> for FollowupRecord {
    fn from(r: FollowupRow) -> Self {
        FollowupRecord {
            case_id: r.case_id,
            round: r.round,
            channel: r.channel,
            fixed: r.fixed,
            rating: r.rating,
            satisfied: r.satisfied,
            comment: r.comment,
            department: r.department,
            grid_code: r.grid_code,
            community_code: r.community_code,
            street_code: r.street_code,
            district_code: r.district_code,
            closed_at: r.closed_at,
            rated_at: r.rated_at,
        }
    }
}

#[derive(FromRow)]
pub struct ModerationRow {
    pub id: i64,
    pub token: String,
    pub channel: String,
    pub partner_id: Option<i64>,
    pub reason: String,
    pub payload: String,
    pub status: String,
    pub case_id: Option<String>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<ModerationRow> for ModerationItem {
    fn from(r: ModerationRow) -> Self {
        ModerationItem {
            id: r.id,
            token: r.token,
            channel: r.channel,
            partner_id: r.partner_id,
            reason: r.reason,
            payload: serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null),
            status: r.status,
            case_id: r.case_id,
            decided_by: r.decided_by,
            decision_note: r.decision_note,
            created_at: r.created_at,
            decided_at: r.decided_at,
        }
    }
}

#[derive(FromRow)]
pub struct HotlineOrderRow {
    pub partner_id: i64,
    pub order_id: String,
    pub case_id: String,
    pub request_hash: String,
    pub hotline_status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<HotlineOrderRow> for HotlineOrder {
    fn from(r: HotlineOrderRow) -> Self {
        HotlineOrder {
            partner_id: r.partner_id,
            order_id: r.order_id,
            case_id: r.case_id,
            request_hash: r.request_hash,
            hotline_status: r.hotline_status,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

macro_rules! impl_public_sql {
    ($module:ident, $db:ty) => {
        pub(crate) mod $module {
            use chrono::{DateTime, Utc};
            use cityloop_store::{
                FollowupRecord, HotlineOrder, ModerationItem, ModerationNew, PartnerKey,
                PartnerKeyNew, PublicCaseQuery, PublicRequest, PublicUpdate, PublicUpdateNew,
                Result, SatisfactionBy, SatisfactionCount,
            };

            use super::{
                FollowupRow, HotlineOrderRow, ModerationRow, PartnerKeyRow, PublicRequestRow,
                PublicUpdateRow,
            };
            use crate::{BATCH, map_err};

            type Conn = <$db as sqlx::Database>::Connection;
            type Qb = sqlx::QueryBuilder<$db>;

            pub async fn insert_partner_key(conn: &mut Conn, n: &PartnerKeyNew) -> Result<PartnerKey> {
                sqlx::query_as::<_, PartnerKeyRow>(concat!(
                    "INSERT INTO partner_keys (name, key_hash, key_prefix, scopes, rate_per_hour, webhook_url, \
                     created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
                    partner_columns!()
                ))
                .bind(&n.name)
                .bind(&n.key_hash)
                .bind(&n.key_prefix)
                .bind(n.scopes.join(" "))
                .bind(n.rate_per_hour)
                .bind(&n.webhook_url)
                .bind(&n.created_by)
                .bind(n.created_at)
                .fetch_one(&mut *conn)
                .await
                .map(Into::into)
                .map_err(map_err)
            }

            pub async fn partner_key_by_hash(conn: &mut Conn, hash: &str) -> Result<Option<PartnerKey>> {
                sqlx::query_as::<_, PartnerKeyRow>(concat!(
                    "SELECT ", partner_columns!(), " FROM partner_keys WHERE key_hash = $1"
                ))
                .bind(hash)
                .fetch_optional(&mut *conn)
                .await
                .map(|r| r.map(Into::into))
                .map_err(map_err)
            }

            pub async fn get_partner_key(conn: &mut Conn, id: i64) -> Result<Option<PartnerKey>> {
                sqlx::query_as::<_, PartnerKeyRow>(concat!(
                    "SELECT ", partner_columns!(), " FROM partner_keys WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map(|r| r.map(Into::into))
                .map_err(map_err)
            }

            pub async fn list_partner_keys(conn: &mut Conn) -> Result<Vec<PartnerKey>> {
                sqlx::query_as::<_, PartnerKeyRow>(concat!(
                    "SELECT ", partner_columns!(), " FROM partner_keys ORDER BY id"
                ))
                .fetch_all(&mut *conn)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            pub async fn revoke_partner_key(conn: &mut Conn, id: i64, now: DateTime<Utc>) -> Result<bool> {
                let r = sqlx::query("UPDATE partner_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            pub async fn touch_partner_key(conn: &mut Conn, id: i64, now: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE partner_keys SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            pub async fn insert_public_request(conn: &mut Conn, r: &PublicRequest) -> Result<()> {
                sqlx::query(
                    "INSERT INTO public_requests (case_id, channel, partner_id, media_url, account_id, \
                     followup_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_id) DO UPDATE \
                     SET followup_hash = COALESCE(excluded.followup_hash, public_requests.followup_hash)",
                )
                .bind(&r.case_id)
                .bind(&r.channel)
                .bind(r.partner_id)
                .bind(&r.media_url)
                .bind(&r.account_id)
                .bind(&r.followup_hash)
                .bind(r.created_at)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            pub async fn public_requests(conn: &mut Conn, ids: &[String]) -> Result<Vec<PublicRequest>> {
                let mut out = Vec::new();
                for chunk in ids.chunks(BATCH) {
                    let mut qb = Qb::new("SELECT * FROM public_requests WHERE case_id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id);
                    }
                    qb.push(")");
                    let rows = qb
                        .build_query_as::<PublicRequestRow>()
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(map_err)?;
                    out.extend(rows.into_iter().map(Into::into));
                }
                Ok(out)
            }

            pub async fn insert_public_update(conn: &mut Conn, u: &PublicUpdateNew) -> Result<PublicUpdate> {
                let inserted = sqlx::query_as::<_, PublicUpdateRow>(
                    "INSERT INTO public_updates (case_id, partner_id, external_id, status, description, media_url, at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (partner_id, external_id) DO NOTHING RETURNING *",
                )
                .bind(&u.case_id)
                .bind(u.partner_id)
                .bind(&u.external_id)
                .bind(&u.status)
                .bind(&u.description)
                .bind(&u.media_url)
                .bind(u.at)
                .bind(u.created_at)
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
                if let Some(row) = inserted {
                    return Ok(row.into());
                }
                sqlx::query_as::<_, PublicUpdateRow>(
                    "SELECT * FROM public_updates WHERE partner_id = $1 AND external_id = $2",
                )
                .bind(u.partner_id)
                .bind(&u.external_id)
                .fetch_one(&mut *conn)
                .await
                .map(Into::into)
                .map_err(map_err)
            }

            pub async fn public_updates(
                conn: &mut Conn,
                case_ids: Option<&[String]>,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                limit: i64,
            ) -> Result<Vec<PublicUpdate>> {
                let mut qb = Qb::new("SELECT * FROM public_updates WHERE ");
                match case_ids {
                    Some(ids) if ids.is_empty() => return Ok(Vec::new()),
                    Some(ids) => {
                        qb.push("case_id IN (");
                        let mut sep = qb.separated(", ");
                        for id in ids.iter().take(BATCH) {
                            sep.push_bind(id);
                        }
                        qb.push(")");
                    }
                    None => {
                        qb.push("at >= ").push_bind(from).push(" AND at < ").push_bind(to);
                    }
                }
                qb.push(" ORDER BY at, id LIMIT ").push_bind(limit);
                qb.build_query_as::<PublicUpdateRow>()
                    .fetch_all(&mut *conn)
                    .await
                    .map(|v| v.into_iter().map(Into::into).collect())
                    .map_err(map_err)
            }

            pub async fn insert_followup(conn: &mut Conn, f: &FollowupRecord) -> Result<()> {
                sqlx::query(
                    "INSERT INTO case_followups (case_id, round, channel, fixed, rating, satisfied, comment, \
                     department, grid_code, community_code, street_code, district_code, closed_at, rated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(&f.case_id)
                .bind(f.round)
                .bind(&f.channel)
                .bind(f.fixed)
                .bind(f.rating)
                .bind(f.satisfied)
                .bind(&f.comment)
                .bind(&f.department)
                .bind(&f.grid_code)
                .bind(&f.community_code)
                .bind(&f.street_code)
                .bind(&f.district_code)
                .bind(f.closed_at)
                .bind(f.rated_at)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            pub async fn followups_of(conn: &mut Conn, case_id: &str) -> Result<Vec<FollowupRecord>> {
                sqlx::query_as::<_, FollowupRow>("SELECT * FROM case_followups WHERE case_id = $1 ORDER BY round")
                    .bind(case_id)
                    .fetch_all(&mut *conn)
                    .await
                    .map(|v| v.into_iter().map(Into::into).collect())
                    .map_err(map_err)
            }

            pub async fn satisfaction_counts(
                conn: &mut Conn,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                by: SatisfactionBy,
            ) -> Result<Vec<SatisfactionCount>> {
                // The column comes from a closed enum, never from input.
                let col = by.column();
                let mut qb = Qb::new("SELECT COALESCE(");
                qb.push(col)
                    .push(", '') AS k, COUNT(*) AS rated, CAST(SUM(CASE WHEN satisfied THEN 1 ELSE 0 END) AS BIGINT) AS sat \
                           FROM case_followups WHERE rated_at >= ")
                    .push_bind(from)
                    .push(" AND rated_at < ")
                    .push_bind(to)
                    .push(" GROUP BY COALESCE(")
                    .push(col)
                    .push(", '') ORDER BY k");
                let rows = qb
                    .build_query_as::<(String, i64, i64)>()
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(map_err)?;
                Ok(rows
                    .into_iter()
                    .map(|(key, rated, satisfied)| SatisfactionCount { key, rated, satisfied })
                    .collect())
            }

            pub async fn add_supporter(conn: &mut Conn, case_id: &str, who: &str, now: DateTime<Utc>) -> Result<bool> {
                let r = sqlx::query(
                    "INSERT INTO case_supporters (case_id, who_hash, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (case_id, who_hash) DO NOTHING",
                )
                .bind(case_id)
                .bind(who)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            pub async fn count_supporters(conn: &mut Conn, ids: &[String]) -> Result<Vec<(String, i64)>> {
                let mut out = Vec::new();
                for chunk in ids.chunks(BATCH) {
                    let mut qb = Qb::new("SELECT case_id, COUNT(*) FROM case_supporters WHERE case_id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id);
                    }
                    qb.push(") GROUP BY case_id");
                    out.extend(
                        qb.build_query_as::<(String, i64)>()
                            .fetch_all(&mut *conn)
                            .await
                            .map_err(map_err)?,
                    );
                }
                Ok(out)
            }

            pub async fn insert_moderation(conn: &mut Conn, n: &ModerationNew) -> Result<ModerationItem> {
                sqlx::query_as::<_, ModerationRow>(
                    "INSERT INTO moderation_queue (token, channel, partner_id, reason, payload, status, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING *",
                )
                .bind(&n.token)
                .bind(&n.channel)
                .bind(n.partner_id)
                .bind(&n.reason)
                .bind(n.payload.to_string())
                .bind(n.created_at)
                .fetch_one(&mut *conn)
                .await
                .map(Into::into)
                .map_err(map_err)
            }

            pub async fn get_moderation(conn: &mut Conn, id: i64) -> Result<Option<ModerationItem>> {
                sqlx::query_as::<_, ModerationRow>("SELECT * FROM moderation_queue WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map(|r| r.map(Into::into))
                    .map_err(map_err)
            }

            pub async fn moderation_by_token(conn: &mut Conn, token: &str) -> Result<Option<ModerationItem>> {
                sqlx::query_as::<_, ModerationRow>("SELECT * FROM moderation_queue WHERE token = $1")
                    .bind(token)
                    .fetch_optional(&mut *conn)
                    .await
                    .map(|r| r.map(Into::into))
                    .map_err(map_err)
            }

            pub async fn list_moderation(conn: &mut Conn, status: &str, limit: i64) -> Result<Vec<ModerationItem>> {
                sqlx::query_as::<_, ModerationRow>(
                    "SELECT * FROM moderation_queue WHERE status = $1 ORDER BY id LIMIT $2",
                )
                .bind(status)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            pub async fn decide_moderation(
                conn: &mut Conn,
                id: i64,
                status: &str,
                case_id: Option<&str>,
                decided_by: &str,
                note: &str,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                let r = sqlx::query(
                    "UPDATE moderation_queue SET status = $1, case_id = $2, decided_by = $3, decision_note = $4, \
                     decided_at = $5 WHERE id = $6 AND status = 'pending'",
                )
                .bind(status)
                .bind(case_id)
                .bind(decided_by)
                .bind(note)
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            pub async fn insert_hotline_order(conn: &mut Conn, o: &HotlineOrder) -> Result<()> {
                sqlx::query(
                    "INSERT INTO hotline_orders (partner_id, order_id, case_id, request_hash, hotline_status, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(o.partner_id)
                .bind(&o.order_id)
                .bind(&o.case_id)
                .bind(&o.request_hash)
                .bind(&o.hotline_status)
                .bind(o.created_at)
                .bind(o.updated_at)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            pub async fn get_hotline_order(conn: &mut Conn, partner_id: i64, order_id: &str) -> Result<Option<HotlineOrder>> {
                sqlx::query_as::<_, HotlineOrderRow>(
                    "SELECT * FROM hotline_orders WHERE partner_id = $1 AND order_id = $2",
                )
                .bind(partner_id)
                .bind(order_id)
                .fetch_optional(&mut *conn)
                .await
                .map(|r| r.map(Into::into))
                .map_err(map_err)
            }

            pub async fn hotline_orders_of_case(conn: &mut Conn, case_id: &str) -> Result<Vec<HotlineOrder>> {
                sqlx::query_as::<_, HotlineOrderRow>(
                    "SELECT * FROM hotline_orders WHERE case_id = $1 ORDER BY partner_id, order_id",
                )
                .bind(case_id)
                .fetch_all(&mut *conn)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            pub async fn set_hotline_status(
                conn: &mut Conn,
                partner_id: i64,
                order_id: &str,
                status: &str,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE hotline_orders SET hotline_status = $1, updated_at = $2 WHERE partner_id = $3 AND order_id = $4",
                )
                .bind(status)
                .bind(now)
                .bind(partner_id)
                .bind(order_id)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            pub async fn clear_contact_phone(conn: &mut Conn, case_id: &str) -> Result<bool> {
                let r = sqlx::query(
                    "UPDATE cases SET contact_phone = NULL WHERE id = $1 AND contact_phone IS NOT NULL",
                )
                .bind(case_id)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            pub async fn public_case_ids(conn: &mut Conn, q: &PublicCaseQuery) -> Result<Vec<String>> {
                let mut qb = Qb::new("SELECT id FROM cases WHERE 1 = 1");
                if let Some(ids) = &q.ids {
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    qb.push(" AND id IN (");
                    let mut sep = qb.separated(", ");
                    for id in ids.iter().take(BATCH) {
                        sep.push_bind(id);
                    }
                    qb.push(")");
                }
                if let Some(classes) = &q.classes {
                    if classes.is_empty() {
                        return Ok(Vec::new());
                    }
                    qb.push(" AND COALESCE(class, reported_class) IN (");
                    let mut sep = qb.separated(", ");
                    for c in classes.iter().take(BATCH) {
                        sep.push_bind(c);
                    }
                    qb.push(")");
                }
                match q.closed {
                    Some(true) => {
                        qb.push(" AND step = 'closed'");
                    }
                    Some(false) => {
                        qb.push(" AND step <> 'closed'");
                    }
                    None => {}
                }
                if q.hide_refused {
                    qb.push(" AND (outcome IS NULL OR outcome = 'resolved')");
                }
                if let Some(t) = q.reported_from {
                    qb.push(" AND reported_at >= ").push_bind(t);
                }
                if let Some(t) = q.reported_to {
                    qb.push(" AND reported_at <= ").push_bind(t);
                }
                if let Some(t) = q.updated_from {
                    qb.push(" AND updated_at >= ").push_bind(t);
                }
                if let Some(t) = q.updated_to {
                    qb.push(" AND updated_at <= ").push_bind(t);
                }
                if let Some(t) = q.open_or_closed_since {
                    qb.push(" AND (step <> 'closed' OR closed_at >= ").push_bind(t).push(")");
                }
                if let Some([w, s, e, n]) = q.bbox {
                    qb.push(" AND lon >= ").push_bind(w);
                    qb.push(" AND lat >= ").push_bind(s);
                    qb.push(" AND lon <= ").push_bind(e);
                    qb.push(" AND lat <= ").push_bind(n);
                }
                qb.push(" ORDER BY reported_at DESC, id DESC LIMIT ")
                    .push_bind(q.limit.max(0))
                    .push(" OFFSET ")
                    .push_bind(q.offset.max(0));
                qb.build_query_scalar::<String>()
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(map_err)
            }
        }
    };
}

impl_public_sql!(sqlite, sqlx::Sqlite);
impl_public_sql!(postgres, sqlx::Postgres);
