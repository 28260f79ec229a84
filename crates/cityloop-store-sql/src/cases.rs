//! SQL of the closed loop: cases and their events, serial numbers, links, intake idempotency,
//! evidence and notifications.
//!
//! As in the rest of the crate each statement is written once; `impl_case_sql!` stamps out one module
//! of free functions per engine, and the `Tx` implementation in `lib.rs` delegates to them. The
//! engines differ only in row locking: PostgreSQL locks claimed rows (`FOR UPDATE [SKIP LOCKED]`) so
//! that several servers can share a database, while SQLite already serialises writers
//! (`BEGIN IMMEDIATE` on one connection) and has no row locks.

use cityloop_domain::case::{Case, Event, Outcome};
use cityloop_store::{CaseIntake, StoreError};

/// `|A|B|` form of the assisting departments (`''` when none), so that a department is found by
/// looking for `|A|` in one column instead of joining a link table.
pub fn assisting_column(assisting: &[String]) -> String {
    if assisting.is_empty() {
        return String::new();
    }
    let mut out = String::from("|");
    for department in assisting {
        out.push_str(department);
        out.push('|');
    }
    out
}

/// Escapes `LIKE` pattern characters (for `ESCAPE '\'`) without changing case.
fn escape_like(text: &str, out: &mut String) {
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Pattern for "starts with `code`".
fn prefix_pattern(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + 1);
    escape_like(code, &mut out);
    out.push('%');
    out
}

/// `|department|`, the token an `assisting` value contains when the department assists.
fn assisting_token(department: &str) -> String {
    format!("|{department}|")
}

fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Other(format!("{what} {value} is out of range")))
}

/// Values of the columns derived from a case, computed once per row before binding.
pub(crate) struct CaseColumns<'a> {
    pub case: &'a Case,
    pub version: i64,
    pub step: &'static str,
    pub outcome: Option<&'static str>,
    pub assisting: String,
    pub pending: Option<&'static str>,
    pub hold: Option<&'static str>,
    pub supervised: bool,
}

impl<'a> CaseColumns<'a> {
    pub fn new(case: &'a Case) -> Result<Self, StoreError> {
        let pending = if case.extension_pending.is_some() {
            Some("extension")
        } else if case.park_request.is_some() {
            Some("park")
        } else {
            None
        };
        let hold = if case.parked.is_some() {
            Some("parked")
        } else if case.deferred.is_some() {
            Some("deferred")
        } else {
            None
        };
        Ok(CaseColumns {
            case,
            version: to_i64(case.version, "case version")?,
            step: case.step.code(),
            outcome: case.step.outcome().map(Outcome::code),
            assisting: assisting_column(&case.assisting),
            pending,
            hold,
            supervised: !case.supervision.is_empty(),
        })
    }
}

/// The text `CaseQuery::text` searches: case number, description, address and external reference,
/// lower-cased here because SQLite's `lower()` folds ASCII only.
pub(crate) fn search_text(case: &Case, intake: &CaseIntake) -> String {
    let mut out = String::with_capacity(case.id.len() + case.description.len() + 64);
    for part in [
        Some(case.id.as_str()),
        Some(case.description.as_str()),
        intake.address.as_deref(),
        intake.external_ref.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        if !out.is_empty() {
            // A separator no one types keeps a search from matching across two fields.
            out.push('\n');
        }
        // The same folding as `like_pattern`, so that both sides of the LIKE agree.
        out.push_str(&part.to_lowercase());
    }
    out
}

/// Values of one `case_events` row.
pub(crate) struct EventColumns<'a> {
    pub event: &'a Event,
    pub version: i64,
}

impl<'a> EventColumns<'a> {
    pub fn new(event: &'a Event) -> Result<Self, StoreError> {
        Ok(EventColumns {
            event,
            version: to_i64(event.version, "event version")?,
        })
    }
}

/// Columns mirrored from the case state, in bind order of `bind_state`.
macro_rules! state_columns {
    () => {
        "version, source, step, outcome, class, condition, rule_set_id, description, department, \
         sub_unit, assisting, reported_by, reported_at, step_since, updated_at, filed_at, closed_at, \
         pending, hold, supervised, merged_into, state"
    };
}

/// Intake facts, in bind order of `bind_intake`.
macro_rules! intake_columns {
    () => {
        "reported_class, address, lon, lat, grid_code, community_code, street_code, district_code, \
         component_id, contact_name, contact_phone, external_ref, device_id, confidence"
    };
}

/// Clock columns, in bind order of `bind_clock`.
macro_rules! clock_columns {
    () => {
        "due_at, warn_at, urgency, next_timer_at, disposal_overdue"
    };
}

/// What a `CaseRow` reads.
macro_rules! case_select {
    () => {
        concat!("state, ", intake_columns!(), ", ", clock_columns!())
    };
}

const INSERT_EVENT: &str = "INSERT INTO case_events (case_id, version, kind, actor_id, actor_role, \
     actor_department, at, from_step, to_step, note, body) ";

/// Cases per multi-row insert: 43 columns × 300 rows stays well under SQLite's 32 766 bound
/// parameters (and PostgreSQL's 65 535).
const CASE_BATCH: usize = 300;

macro_rules! impl_case_sql {
    ($module:ident, $db:ty, skip_locked = $skip_locked:literal, for_update = $for_update:literal, packed_rows = $packed_rows:literal) => {
        pub(crate) mod $module {
            use cityloop_store::{
                AttachmentRecord, BlobRecord, CaseChange, CaseClock, CaseIntake, CaseLink, CaseNew,
                CaseOrder, CaseQuery, CaseRecord, IdempotencyRecord, MessageNew, MessageRecord,
                OutboxNew, OutboxRecord, Result, StoreError,
            };
            use sqlx::types::Json;

            use super::{
                CASE_BATCH, CaseColumns, INSERT_EVENT, EventColumns, assisting_token, prefix_pattern,
                search_text,
            };
            use crate::{
                AttachmentRow, BATCH, BlobRow, CaseLinkRow, CaseRow, IdempotencyRow, MessageRow,
                OutboxRow, like_pattern, map_err,
            };

            type Conn = <$db as sqlx::Database>::Connection;
            type Qb = sqlx::QueryBuilder<$db>;
            type Sep<'q> = sqlx::query_builder::Separated<'q, $db, &'static str>;

            fn bind_state(b: &mut Sep<'_>, c: &CaseColumns<'_>) {
                let case = c.case;
                b.push_bind(c.version)
                    .push_bind(case.source.code())
                    .push_bind(c.step)
                    .push_bind(c.outcome)
                    .push_bind(&case.class)
                    .push_bind(&case.condition)
                    .push_bind(case.rule_set_id)
                    .push_bind(&case.description)
                    .push_bind(&case.lead_department)
                    .push_bind(&case.sub_unit)
                    .push_bind(&c.assisting)
                    .push_bind(case.reported_by)
                    .push_bind(case.reported_at)
                    .push_bind(case.step_since)
                    .push_bind(case.updated_at)
                    .push_bind(case.filed_at)
                    .push_bind(case.closed_at)
                    .push_bind(c.pending)
                    .push_bind(c.hold)
                    .push_bind(c.supervised)
                    .push_bind(&case.merged_into)
                    .push_bind(Json(case));
            }

            fn bind_intake(b: &mut Sep<'_>, i: &CaseIntake) {
                b.push_bind(&i.reported_class)
                    .push_bind(&i.address)
                    .push_bind(i.lon)
                    .push_bind(i.lat)
                    .push_bind(&i.grid_code)
                    .push_bind(&i.community_code)
                    .push_bind(&i.street_code)
                    .push_bind(&i.district_code)
                    .push_bind(&i.component_id)
                    .push_bind(&i.contact_name)
                    .push_bind(&i.contact_phone)
                    .push_bind(&i.external_ref)
                    .push_bind(&i.device_id)
                    .push_bind(i.confidence);
            }

            fn bind_clock(b: &mut Sep<'_>, k: &CaseClock) {
                b.push_bind(k.due_at)
                    .push_bind(k.warn_at)
                    .push_bind(&k.urgency)
                    .push_bind(k.next_timer_at)
                    .push_bind(k.disposal_overdue);
            }

            fn bind_event(b: &mut Sep<'_>, c: &EventColumns<'_>) {
                let e = c.event;
                b.push_bind(&e.case_id)
                    .push_bind(c.version)
                    .push_bind(e.kind.code())
                    .push_bind(e.actor_id)
                    .push_bind(e.actor_role.code())
                    .push_bind(&e.actor_department)
                    .push_bind(e.at)
                    .push_bind(e.from.code())
                    .push_bind(e.to.code())
                    .push_bind(&e.note)
                    .push_bind(Json(e));
            }

            /// ` AND column IN (…)`; an empty list matches nothing, as every `Some` filter narrows.
            fn push_in(qb: &mut Qb, column: &str, values: &[String]) {
                if values.is_empty() {
                    qb.push(" AND 1 = 0");
                    return;
                }
                qb.push(" AND ").push(column).push(" IN (");
                let mut sep = qb.separated(", ");
                for v in values {
                    sep.push_bind(v);
                }
                qb.push(")");
            }

            /// The case lies in one of the areas (or their grids): a prefix of its community, street,
            /// district or grid code, because each level's code starts with its parent's.
            fn push_area_match(qb: &mut Qb, codes: &[String]) {
                if codes.is_empty() {
                    qb.push("1 = 0");
                    return;
                }
                qb.push("(");
                for (i, code) in codes.iter().enumerate() {
                    if i > 0 {
                        qb.push(" OR ");
                    }
                    let pattern = prefix_pattern(code);
                    for (j, column) in ["grid_code", "community_code", "street_code", "district_code"]
                        .into_iter()
                        .enumerate()
                    {
                        if j > 0 {
                            qb.push(" OR ");
                        }
                        qb.push(column).push(" LIKE ").push_bind(&pattern).push(" ESCAPE '\\'");
                    }
                }
                qb.push(")");
            }

            /// One of the departments leads, is the sub-unit, or assists.
            fn push_department_match(qb: &mut Qb, departments: &[String]) {
                if departments.is_empty() {
                    qb.push("1 = 0");
                    return;
                }
                for head in ["(department IN (", " OR sub_unit IN ("] {
                    qb.push(head);
                    let mut sep = qb.separated(", ");
                    for d in departments {
                        sep.push_bind(d);
                    }
                    qb.push(")");
                }
                // `replace` instead of `LIKE '%|A|%'`: it is case-sensitive on both engines (SQLite's
                // LIKE folds ASCII case) and needs no escaping of `_` and `%` in codes.
                for d in departments {
                    qb.push(" OR replace(assisting, ")
                        .push_bind(assisting_token(d))
                        .push(", '') <> assisting");
                }
                qb.push(")");
            }

            fn push_filters(qb: &mut Qb, q: &CaseQuery) {
                qb.push(" WHERE 1 = 1");
                if let Some(steps) = &q.steps {
                    push_in(qb, "step", steps);
                }
                if let Some(sources) = &q.sources {
                    push_in(qb, "source", sources);
                }
                if let Some(class) = &q.class {
                    qb.push(" AND (class = ")
                        .push_bind(class)
                        .push(" OR reported_class = ")
                        .push_bind(class)
                        .push(")");
                }
                if let Some(grid) = &q.grid_code {
                    qb.push(" AND grid_code = ").push_bind(grid);
                }
                if let Some(codes) = &q.area_codes {
                    qb.push(" AND ");
                    push_area_match(qb, codes);
                }
                if let Some(departments) = &q.departments {
                    qb.push(" AND ");
                    push_department_match(qb, departments);
                }
                if let Some(urgencies) = &q.urgencies {
                    push_in(qb, "urgency", urgencies);
                }
                if let Some(pending) = &q.pending {
                    push_in(qb, "pending", pending);
                }
                if let Some(user) = q.reported_by {
                    qb.push(" AND reported_by = ").push_bind(user);
                }
                if let Some(scope) = &q.scope {
                    qb.push(" AND (");
                    push_area_match(qb, &scope.area_codes);
                    qb.push(" OR ");
                    push_department_match(qb, &scope.departments);
                    qb.push(" OR reported_by = ").push_bind(scope.user_id).push(")");
                }
                if let Some(t) = q.reported_since {
                    qb.push(" AND reported_at >= ").push_bind(t);
                }
                if let Some(t) = q.reported_until {
                    qb.push(" AND reported_at < ").push_bind(t);
                }
                if let Some(t) = q.closed_since {
                    qb.push(" AND closed_at >= ").push_bind(t);
                }
                if let Some(t) = q.closed_until {
                    qb.push(" AND closed_at < ").push_bind(t);
                }
                if let Some(text) = &q.text {
                    qb.push(" AND search_text LIKE ")
                        .push_bind(like_pattern(text))
                        .push(" ESCAPE '\\'");
                }
                if let Some(supervised) = q.supervised {
                    qb.push(" AND supervised = ").push_bind(supervised);
                }
                if let Some([west, south, east, north]) = q.bbox {
                    // Latitude first: the (lat, lon) index narrows by it.
                    qb.push(" AND lat >= ")
                        .push_bind(south)
                        .push(" AND lat <= ")
                        .push_bind(north)
                        .push(" AND lon >= ")
                        .push_bind(west)
                        .push(" AND lon <= ")
                        .push_bind(east);
                }
            }

            pub async fn reserve_case_serials(
                conn: &mut Conn,
                day: &str,
                district: &str,
                count: i64,
            ) -> Result<i64> {
                if count < 1 {
                    return Err(StoreError::Other(format!(
                        "cannot reserve {count} case serial numbers"
                    )));
                }
                // `next` is the first free serial, so the reserved block ends just before it.
                let next: i64 = sqlx::query_scalar(
                    "INSERT INTO case_serials (day, district, next) VALUES ($1, $2, $3 + 1) \
                     ON CONFLICT (day, district) DO UPDATE SET next = case_serials.next + $3 RETURNING next",
                )
                .bind(day)
                .bind(district)
                .bind(count)
                .fetch_one(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(next - count)
            }

            pub async fn insert_cases(conn: &mut Conn, cases: &[CaseNew]) -> Result<()> {
                for chunk in cases.chunks(CASE_BATCH) {
                    let mut rows = Vec::with_capacity(chunk.len());
                    let mut events = Vec::with_capacity(chunk.len());
                    for new in chunk {
                        let case = &new.record.case;
                        if new.event.case_id != case.id || new.event.version != case.version {
                            return Err(StoreError::Other(format!(
                                "event {}/{} does not belong to case {}/{}",
                                new.event.case_id, new.event.version, case.id, case.version
                            )));
                        }
                        rows.push((CaseColumns::new(case)?, search_text(case, &new.record.intake), new));
                        events.push(EventColumns::new(&new.event)?);
                    }
                    let mut qb = Qb::new(concat!(
                        "INSERT INTO cases (id, search_text, ",
                        state_columns!(),
                        ", ",
                        intake_columns!(),
                        ", ",
                        clock_columns!(),
                        ") "
                    ));
                    qb.push_values(&rows, |mut b, (columns, text, new)| {
                        b.push_bind(&new.record.case.id).push_bind(text);
                        bind_state(&mut b, columns);
                        bind_intake(&mut b, &new.record.intake);
                        bind_clock(&mut b, &new.record.clock);
                    });
                    qb.build().execute(&mut *conn).await.map_err(map_err)?;
                    let mut qb = Qb::new(INSERT_EVENT);
                    qb.push_values(&events, |mut b, e| bind_event(&mut b, e));
                    qb.build().execute(&mut *conn).await.map_err(map_err)?;
                }
                Ok(())
            }

            pub async fn append_case_events(
                conn: &mut Conn,
                events: &[cityloop_domain::case::Event],
            ) -> Result<()> {
                // 11 columns per event: 2 000 rows stay under SQLite's bound-parameter limit.
                for chunk in events.chunks(2_000) {
                    let cols = chunk
                        .iter()
                        .map(EventColumns::new)
                        .collect::<Result<Vec<_>>>()?;
                    let mut qb = Qb::new(INSERT_EVENT);
                    qb.push_values(&cols, |mut b, e| bind_event(&mut b, e));
                    qb.build().execute(&mut *conn).await.map_err(map_err)?;
                }
                Ok(())
            }

            pub async fn evaluation_cases(
                conn: &mut Conn,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<cityloop_store::EvalCaseRef>> {
                let rows: Vec<(String, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT id, grid_code, community_code, street_code FROM cases \
                     WHERE reported_at < $2 AND (closed_at IS NULL OR closed_at >= $1) ORDER BY id",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(rows
                    .into_iter()
                    .map(|(id, grid_code, community_code, street_code)| cityloop_store::EvalCaseRef {
                        id,
                        grid_code,
                        community_code,
                        street_code,
                    })
                    .collect())
            }

            pub async fn events_of_cases(
                conn: &mut Conn,
                ids: &[String],
            ) -> Result<Vec<cityloop_domain::case::Event>> {
                let mut out = Vec::new();
                for chunk in ids.chunks(500) {
                    let mut qb = Qb::new("SELECT body FROM case_events WHERE case_id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id);
                    }
                    qb.push(") ORDER BY case_id, version");
                    let rows: Vec<(sqlx::types::Json<cityloop_domain::case::Event>,)> =
                        qb.build_query_as().fetch_all(&mut *conn).await.map_err(map_err)?;
                    out.extend(rows.into_iter().map(|r| r.0.0));
                }
                Ok(out)
            }

            pub async fn get_rollups_in(
                conn: &mut Conn,
                (table, col): (&str, &str),
                keys: &[(String, String, String)],
            ) -> Result<Vec<cityloop_store::RollupRow>> {
                let mut out = Vec::new();
                for chunk in keys.chunks(300) {
                    let mut qb = Qb::new(format!(
                        "SELECT {col}, object_kind, object_id, counters FROM {table} WHERE "
                    ));
                    for (i, (day, kind, id)) in chunk.iter().enumerate() {
                        if i > 0 {
                            qb.push(" OR ");
                        }
                        qb.push(format!("({col} = "))
                            .push_bind(day)
                            .push(" AND object_kind = ")
                            .push_bind(kind)
                            .push(" AND object_id = ")
                            .push_bind(id)
                            .push(")");
                    }
                    let rows: Vec<(String, String, String, String)> =
                        qb.build_query_as().fetch_all(&mut *conn).await.map_err(map_err)?;
                    out.extend(rows.into_iter().map(|(day, object_kind, object_id, counters)| {
                        cityloop_store::RollupRow {
                            day,
                            object_kind,
                            object_id,
                            counters,
                        }
                    }));
                }
                Ok(out)
            }

            pub async fn put_rollups_in(
                conn: &mut Conn,
                (table, col): (&str, &str),
                rows: &[cityloop_store::RollupRow],
            ) -> Result<()> {
                let (empty, full): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.counters == "{}");
                for r in empty {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE {col} = $1 AND object_kind = $2 AND object_id = $3")))
                        .bind(&r.day)
                        .bind(&r.object_kind)
                        .bind(&r.object_id)
                        .execute(&mut *conn)
                        .await
                        .map_err(map_err)?;
                }
                for chunk in full.chunks(2_000) {
                    let mut qb = Qb::new(format!("INSERT INTO {table} ({col}, object_kind, object_id, counters) "));
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(&r.day)
                            .push_bind(&r.object_kind)
                            .push_bind(&r.object_id)
                            .push_bind(&r.counters);
                    });
                    qb.push(format!(" ON CONFLICT ({col}, object_kind, object_id) DO UPDATE SET counters = excluded.counters"));
                    qb.build().execute(&mut *conn).await.map_err(map_err)?;
                }
                Ok(())
            }

            pub async fn rollups_between_in(
                conn: &mut Conn,
                (table, col): (&str, &str),
                from: &str,
                to: &str,
                kind: Option<&str>,
            ) -> Result<Vec<cityloop_store::RollupRow>> {
                let sql = format!(
                    "SELECT {col}, object_kind, object_id, counters FROM {table} \
                     WHERE {col} >= $1 AND {col} < $2 AND ($3 IS NULL OR object_kind = $3) \
                     ORDER BY {col}, object_kind, object_id"
                );
                let rows: Vec<(String, String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(from)
                .bind(to)
                .bind(kind)
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(rows
                    .into_iter()
                    .map(|(day, object_kind, object_id, counters)| cityloop_store::RollupRow {
                        day,
                        object_kind,
                        object_id,
                        counters,
                    })
                    .collect())
            }

            const DAYS: (&str, &str) = ("eval_rollups", "day");
            const MONTHS: (&str, &str) = ("eval_rollups_month", "month");

            pub async fn get_rollups(
                conn: &mut Conn,
                keys: &[(String, String, String)],
            ) -> Result<Vec<cityloop_store::RollupRow>> {
                get_rollups_in(conn, DAYS, keys).await
            }

            pub async fn put_rollups(conn: &mut Conn, rows: &[cityloop_store::RollupRow]) -> Result<()> {
                put_rollups_in(conn, DAYS, rows).await
            }

            pub async fn rollups_between(
                conn: &mut Conn,
                from: &str,
                to: &str,
                kind: Option<&str>,
            ) -> Result<Vec<cityloop_store::RollupRow>> {
                rollups_between_in(conn, DAYS, from, to, kind).await
            }

            pub async fn get_month_rollups(
                conn: &mut Conn,
                keys: &[(String, String, String)],
            ) -> Result<Vec<cityloop_store::RollupRow>> {
                get_rollups_in(conn, MONTHS, keys).await
            }

            pub async fn put_month_rollups(conn: &mut Conn, rows: &[cityloop_store::RollupRow]) -> Result<()> {
                put_rollups_in(conn, MONTHS, rows).await
            }

            pub async fn month_rollups_between(
                conn: &mut Conn,
                from: &str,
                to: &str,
                kind: Option<&str>,
            ) -> Result<Vec<cityloop_store::RollupRow>> {
                rollups_between_in(conn, MONTHS, from, to, kind).await
            }

            pub async fn put_position(conn: &mut Conn, p: &cityloop_store::PositionRecord) -> Result<()> {
                sqlx::query(
                    "INSERT INTO user_positions (user_id, lon, lat, accuracy_m, at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (user_id) DO UPDATE SET lon = excluded.lon, lat = excluded.lat, \
                     accuracy_m = excluded.accuracy_m, at = excluded.at",
                )
                .bind(p.user_id)
                .bind(p.lon)
                .bind(p.lat)
                .bind(p.accuracy_m)
                .bind(p.at)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            pub async fn positions_since(
                conn: &mut Conn,
                since: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<cityloop_store::PositionRecord>> {
                let rows: Vec<(i64, f64, f64, Option<f64>, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
                    "SELECT user_id, lon, lat, accuracy_m, at FROM user_positions WHERE at >= $1 ORDER BY at DESC",
                )
                .bind(since)
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(rows
                    .into_iter()
                    .map(|(user_id, lon, lat, accuracy_m, at)| cityloop_store::PositionRecord {
                        user_id,
                        lon,
                        lat,
                        accuracy_m,
                        at,
                    })
                    .collect())
            }

            pub async fn rollups_packed(
                conn: &mut Conn,
                months: bool,
                from: &str,
                to: &str,
                kind: Option<&str>,
            ) -> Result<String> {
                let (table, col) = if months { MONTHS } else { DAYS };
                let sql = format!(
                    "SELECT {} FROM {table} WHERE {col} >= $1 AND {col} < $2 AND ($3 IS NULL OR object_kind = $3)",
                    $packed_rows
                );
                let packed: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(from)
                    .bind(to)
                    .bind(kind)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(map_err)?;
                Ok(packed.unwrap_or_default())
            }

            pub async fn bump_rollup_revisions(conn: &mut Conn, months: &[String], revision: &str) -> Result<()> {
                // One row may be named only once per statement (PostgreSQL's ON CONFLICT).
                let mut months = months.to_vec();
                months.sort_unstable();
                months.dedup();
                for chunk in months.chunks(1_000) {
                    let mut qb = Qb::new("INSERT INTO eval_rollup_revisions (month, revision) ");
                    qb.push_values(chunk, |mut b, m| {
                        b.push_bind(m).push_bind(revision);
                    });
                    qb.push(" ON CONFLICT (month) DO UPDATE SET revision = excluded.revision");
                    qb.build().execute(&mut *conn).await.map_err(map_err)?;
                }
                Ok(())
            }

            pub async fn rollup_revisions(conn: &mut Conn, from: &str, to: &str) -> Result<Vec<(String, String)>> {
                sqlx::query_as(
                    "SELECT month, revision FROM eval_rollup_revisions WHERE month >= $1 AND month < $2 ORDER BY month",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)
            }

            pub async fn list_schemes(conn: &mut Conn) -> Result<Vec<cityloop_store::SchemeRecord>> {
                type Row = (
                    i64, String, String, String, String, Option<String>, Option<i64>,
                    chrono::DateTime<chrono::Utc>, Option<i64>, Option<chrono::DateTime<chrono::Utc>>,
                );
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT version, name, overlay, content_hash, status, effective_from, created_by, \
                     created_at, published_by, published_at FROM eval_schemes ORDER BY version",
                )
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(rows
                    .into_iter()
                    .map(|r| cityloop_store::SchemeRecord {
                        version: r.0,
                        name: r.1,
                        overlay: r.2,
                        content_hash: r.3,
                        status: r.4,
                        effective_from: r.5,
                        created_by: r.6,
                        created_at: r.7,
                        published_by: r.8,
                        published_at: r.9,
                    })
                    .collect())
            }

            pub async fn insert_scheme(conn: &mut Conn, s: &cityloop_store::SchemeRecord) -> Result<()> {
                sqlx::query(
                    "INSERT INTO eval_schemes (version, name, overlay, content_hash, status, effective_from, \
                     created_by, created_at, published_by, published_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(s.version)
                .bind(&s.name)
                .bind(&s.overlay)
                .bind(&s.content_hash)
                .bind(&s.status)
                .bind(&s.effective_from)
                .bind(s.created_by)
                .bind(s.created_at)
                .bind(s.published_by)
                .bind(s.published_at)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            pub async fn publish_scheme(
                conn: &mut Conn,
                version: i64,
                effective_from: &str,
                by: Option<i64>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE eval_schemes SET status = 'published', effective_from = $2, published_by = $3, \
                     published_at = $4 WHERE version = $1 AND status = 'draft'",
                )
                .bind(version)
                .bind(effective_from)
                .bind(by)
                .bind(at)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn insert_objection(conn: &mut Conn, o: &cityloop_store::ObjectionRecord) -> Result<i64> {
                sqlx::query_scalar::<_, i64>(
                    "INSERT INTO eval_objections (case_id, object_kind, object_id, counters, reason, status, \
                     filed_by, filed_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) RETURNING id",
                )
                .bind(&o.case_id)
                .bind(&o.object_kind)
                .bind(&o.object_id)
                .bind(&o.counters)
                .bind(&o.reason)
                .bind(o.filed_by)
                .bind(o.filed_at)
                .fetch_one(&mut *conn)
                .await
                .map_err(map_err)
            }

            const OBJECTION_COLUMNS: &str = "id, case_id, object_kind, object_id, counters, reason, status, \
                filed_by, filed_at, decided_by, decided_at, decision_note";

            type ObjectionRow = (
                i64, String, String, String, String, String, String, i64,
                chrono::DateTime<chrono::Utc>, Option<i64>, Option<chrono::DateTime<chrono::Utc>>, Option<String>,
            );

            fn objection_of(r: ObjectionRow) -> cityloop_store::ObjectionRecord {
                cityloop_store::ObjectionRecord {
                    id: r.0,
                    case_id: r.1,
                    object_kind: r.2,
                    object_id: r.3,
                    counters: r.4,
                    reason: r.5,
                    status: r.6,
                    filed_by: r.7,
                    filed_at: r.8,
                    decided_by: r.9,
                    decided_at: r.10,
                    decision_note: r.11,
                }
            }

            pub async fn get_objection(conn: &mut Conn, id: i64) -> Result<Option<cityloop_store::ObjectionRecord>> {
                let row: Option<ObjectionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {OBJECTION_COLUMNS} FROM eval_objections WHERE id = $1"
                )))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(row.map(objection_of))
            }

            pub async fn list_objections(
                conn: &mut Conn,
                q: &cityloop_store::ObjectionQuery,
            ) -> Result<Vec<cityloop_store::ObjectionRecord>> {
                let mut qb = Qb::new(format!("SELECT {OBJECTION_COLUMNS} FROM eval_objections WHERE 1 = 1"));
                if let Some(status) = &q.status {
                    qb.push(" AND status = ").push_bind(status);
                }
                if let Some(case_id) = &q.case_id {
                    qb.push(" AND case_id = ").push_bind(case_id);
                }
                if let Some((kind, ids)) = &q.objects {
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    qb.push(" AND object_kind = ").push_bind(kind);
                    qb.push(" AND object_id IN (");
                    let mut sep = qb.separated(", ");
                    for id in ids {
                        sep.push_bind(id);
                    }
                    qb.push(")");
                }
                qb.push(" ORDER BY id DESC");
                let rows: Vec<ObjectionRow> = qb.build_query_as().fetch_all(&mut *conn).await.map_err(map_err)?;
                Ok(rows.into_iter().map(objection_of).collect())
            }

            pub async fn decide_objection(
                conn: &mut Conn,
                id: i64,
                status: &str,
                by: Option<i64>,
                at: chrono::DateTime<chrono::Utc>,
                note: &str,
            ) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE eval_objections SET status = $2, decided_by = $3, decided_at = $4, decision_note = $5 \
                     WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(status)
                .bind(by)
                .bind(at)
                .bind(note)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn insert_publication(
                conn: &mut Conn,
                p: &cityloop_store::PublicationRecord,
            ) -> Result<i64> {
                sqlx::query_scalar::<_, i64>(
                    "INSERT INTO eval_publications (period_from, period_to, scheme, rule_sets, results, note, \
                     published_by, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(&p.period_from)
                .bind(&p.period_to)
                .bind(&p.scheme)
                .bind(&p.rule_sets)
                .bind(p.results.as_deref().unwrap_or("{}"))
                .bind(&p.note)
                .bind(p.published_by)
                .bind(p.published_at)
                .fetch_one(&mut *conn)
                .await
                .map_err(map_err)
            }

            pub async fn list_publications(
                conn: &mut Conn,
            ) -> Result<Vec<cityloop_store::PublicationRecord>> {
                type Row = (i64, String, String, String, String, String, Option<i64>, chrono::DateTime<chrono::Utc>);
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT id, period_from, period_to, scheme, rule_sets, note, published_by, published_at \
                     FROM eval_publications ORDER BY id DESC",
                )
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(rows
                    .into_iter()
                    .map(|(id, period_from, period_to, scheme, rule_sets, note, published_by, published_at)| {
                        cityloop_store::PublicationRecord {
                            id,
                            period_from,
                            period_to,
                            scheme,
                            rule_sets,
                            results: None,
                            note,
                            published_by,
                            published_at,
                        }
                    })
                    .collect())
            }

            pub async fn get_publication(
                conn: &mut Conn,
                id: i64,
            ) -> Result<Option<cityloop_store::PublicationRecord>> {
                type Row = (i64, String, String, String, String, String, String, Option<i64>, chrono::DateTime<chrono::Utc>);
                let row: Option<Row> = sqlx::query_as(
                    "SELECT id, period_from, period_to, scheme, rule_sets, results, note, published_by, published_at \
                     FROM eval_publications WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(row.map(
                    |(id, period_from, period_to, scheme, rule_sets, results, note, published_by, published_at)| {
                        cityloop_store::PublicationRecord {
                            id,
                            period_from,
                            period_to,
                            scheme,
                            rule_sets,
                            results: Some(results),
                            note,
                            published_by,
                            published_at,
                        }
                    },
                ))
            }

            pub async fn get_case(conn: &mut Conn, id: &str) -> Result<Option<CaseRecord>> {
                sqlx::query_as::<_, CaseRow>(concat!("SELECT ", case_select!(), " FROM cases WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map(|r| r.map(Into::into))
                    .map_err(map_err)
            }

            pub async fn get_case_for_update(conn: &mut Conn, id: &str) -> Result<Option<CaseRecord>> {
                sqlx::query_as::<_, CaseRow>(concat!(
                    "SELECT ",
                    case_select!(),
                    " FROM cases WHERE id = $1",
                    $for_update
                ))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map(|r| r.map(Into::into))
                .map_err(map_err)
            }

            pub async fn get_cases(conn: &mut Conn, ids: &[String]) -> Result<Vec<CaseRecord>> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(BATCH) {
                    let mut qb = Qb::new(concat!("SELECT ", case_select!(), " FROM cases WHERE id IN ("));
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id);
                    }
                    qb.push(")");
                    let rows = qb.build_query_as::<CaseRow>().fetch_all(&mut *conn).await.map_err(map_err)?;
                    out.extend(rows.into_iter().map(CaseRecord::from));
                }
                out.sort_by(|a, b| a.case.id.cmp(&b.case.id));
                Ok(out)
            }

            pub async fn apply_case_change(conn: &mut Conn, change: &CaseChange) -> Result<()> {
                let columns = CaseColumns::new(&change.case)?;
                let event = EventColumns::new(&change.event)?;
                if change.expected_version.checked_add(1) != Some(columns.version) {
                    return Err(StoreError::Other(format!(
                        "case {} version {} does not follow expected version {}",
                        change.case.id, columns.version, change.expected_version
                    )));
                }
                if change.event.case_id != change.case.id || event.version != columns.version {
                    return Err(StoreError::Other(format!(
                        "event {}/{} does not belong to case {}/{}",
                        change.event.case_id, event.version, change.case.id, columns.version
                    )));
                }
                // `search_text` stays: it covers the case number and description, which are fixed
                // at intake, and the intake address, which a change does not carry.
                let mut qb = Qb::new(concat!(
                    "UPDATE cases SET (",
                    state_columns!(),
                    ", ",
                    clock_columns!(),
                    ") = ("
                ));
                let mut sep = qb.separated(", ");
                bind_state(&mut sep, &columns);
                bind_clock(&mut sep, &change.clock);
                qb.push(") WHERE id = ")
                    .push_bind(&change.case.id)
                    .push(" AND version = ")
                    .push_bind(change.expected_version);
                let n = qb.build().execute(&mut *conn).await.map_err(map_err)?.rows_affected();
                if n == 0 {
                    return Err(StoreError::VersionConflict);
                }
                let mut qb = Qb::new(INSERT_EVENT);
                qb.push_values(std::iter::once(&event), |mut b, e| bind_event(&mut b, e));
                qb.build().execute(&mut *conn).await.map_err(map_err)?;
                Ok(())
            }

            pub async fn set_case_clock(
                conn: &mut Conn,
                id: &str,
                version: i64,
                clock: &CaseClock,
            ) -> Result<bool> {
                sqlx::query(
                    "UPDATE cases SET due_at = $1, warn_at = $2, urgency = $3, next_timer_at = $4, \
                     disposal_overdue = $5 WHERE id = $6 AND version = $7",
                )
                .bind(clock.due_at)
                .bind(clock.warn_at)
                .bind(&clock.urgency)
                .bind(clock.next_timer_at)
                .bind(clock.disposal_overdue)
                .bind(id)
                .bind(version)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected() == 1)
                .map_err(map_err)
            }

            pub async fn case_events(conn: &mut Conn, id: &str) -> Result<Vec<cityloop_domain::case::Event>> {
                sqlx::query_scalar::<_, Json<cityloop_domain::case::Event>>(
                    "SELECT body FROM case_events WHERE case_id = $1 ORDER BY version",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map(|v| v.into_iter().map(|j| j.0).collect())
                .map_err(map_err)
            }

            pub async fn case_events_since(
                conn: &mut Conn,
                since: chrono::DateTime<chrono::Utc>,
                after: Option<(String, i64)>,
                limit: i64,
            ) -> Result<Vec<cityloop_domain::case::Event>> {
                let rows = match after {
                    None => sqlx::query_scalar::<_, Json<cityloop_domain::case::Event>>(
                        "SELECT body FROM case_events WHERE at >= $1 ORDER BY at, case_id, version LIMIT $2",
                    )
                    .bind(since)
                    .bind(limit.max(0))
                    .fetch_all(&mut *conn)
                    .await,
                    // The cursor names an event; the page continues after its (at, case_id, version),
                    // looked up in place so that the caller need not carry the instant around.
                    Some((case_id, version)) => sqlx::query_scalar::<_, Json<cityloop_domain::case::Event>>(
                        "SELECT body FROM case_events WHERE at >= $1 AND (at, case_id, version) > \
                         (SELECT at, case_id, version FROM case_events WHERE case_id = $2 AND version = $3) \
                         ORDER BY at, case_id, version LIMIT $4",
                    )
                    .bind(since)
                    .bind(case_id)
                    .bind(version)
                    .bind(limit.max(0))
                    .fetch_all(&mut *conn)
                    .await,
                };
                rows.map(|v| v.into_iter().map(|j| j.0).collect()).map_err(map_err)
            }

            pub async fn list_cases(conn: &mut Conn, q: &CaseQuery) -> Result<Vec<CaseRecord>> {
                let limit = q.limit.max(0);
                let offset = q.offset.max(0);
                if q.order == CaseOrder::Newest {
                    let mut qb = Qb::new(concat!("SELECT ", case_select!(), " FROM cases"));
                    push_filters(&mut qb, q);
                    qb.push(" ORDER BY reported_at DESC, id DESC LIMIT ")
                        .push_bind(limit)
                        .push(" OFFSET ")
                        .push_bind(offset);
                    return qb
                        .build_query_as::<CaseRow>()
                        .fetch_all(&mut *conn)
                        .await
                        .map(|v| v.into_iter().map(Into::into).collect())
                        .map_err(map_err);
                }
                // Most urgent first, cases without a due time last. Written as two queries so
                // that the (step, due_at) index delivers the order: `ORDER BY due_at IS NULL`
                // would make both engines sort every matching row, and a queue of tens of
                // thousands of cases must still answer in milliseconds.
                let want = offset.saturating_add(limit);
                let mut qb = Qb::new(concat!("SELECT ", case_select!(), " FROM cases"));
                push_filters(&mut qb, q);
                qb.push(" AND due_at IS NOT NULL ORDER BY due_at, reported_at, id LIMIT ")
                    .push_bind(want);
                let timed: Vec<CaseRecord> = qb
                    .build_query_as::<CaseRow>()
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(map_err)?
                    .into_iter()
                    .map(Into::into)
                    .collect();
                let seen = i64::try_from(timed.len()).unwrap_or(i64::MAX);
                let mut out: Vec<CaseRecord> = timed
                    .into_iter()
                    .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                    .collect();
                if seen >= want {
                    return Ok(out);
                }
                let rest = limit - i64::try_from(out.len()).unwrap_or(0);
                let mut qb = Qb::new(concat!("SELECT ", case_select!(), " FROM cases"));
                push_filters(&mut qb, q);
                qb.push(" AND due_at IS NULL ORDER BY reported_at, id LIMIT ")
                    .push_bind(rest.max(0))
                    .push(" OFFSET ")
                    .push_bind((offset - seen).max(0));
                out.extend(
                    qb.build_query_as::<CaseRow>()
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(map_err)?
                        .into_iter()
                        .map(Into::into),
                );
                Ok(out)
            }

            pub async fn count_cases(conn: &mut Conn, q: &CaseQuery) -> Result<i64> {
                let mut qb = Qb::new("SELECT COUNT(*) FROM cases");
                push_filters(&mut qb, q);
                qb.build_query_scalar::<i64>().fetch_one(&mut *conn).await.map_err(map_err)
            }

            pub async fn open_cases_near(
                conn: &mut Conn,
                bbox: [f64; 4],
                since: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> Result<Vec<CaseRecord>> {
                sqlx::query_as::<_, CaseRow>(concat!(
                    "SELECT ",
                    case_select!(),
                    // No ORDER BY: sorting by time would tempt the planner into walking the
                    // reported_at index over every recent case in the city instead of the small
                    // box; the few rows in the box are sorted here.
                    " FROM cases WHERE step <> 'closed' AND lon >= $1 AND lon <= $3 AND lat >= $2 \
                     AND lat <= $4 AND reported_at >= $5 LIMIT $6"
                ))
                .bind(bbox[0])
                .bind(bbox[1])
                .bind(bbox[2])
                .bind(bbox[3])
                .bind(since)
                .bind(limit.max(0))
                .fetch_all(&mut *conn)
                .await
                .map(|v| {
                    let mut out: Vec<CaseRecord> = v.into_iter().map(Into::into).collect();
                    out.sort_by(|a, b| {
                        (b.case.reported_at, &b.case.id).cmp(&(a.case.reported_at, &a.case.id))
                    });
                    out
                })
                .map_err(map_err)
            }

            pub async fn case_event_seq_max(conn: &mut Conn) -> Result<i64> {
                sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(seq) FROM case_events")
                    .fetch_one(&mut *conn)
                    .await
                    .map(Option::unwrap_or_default)
                    .map_err(map_err)
            }

            pub async fn case_event_feed(
                conn: &mut Conn,
                after: i64,
                limit: i64,
            ) -> Result<Vec<(i64, String)>> {
                sqlx::query_as::<_, (i64, String)>(
                    "SELECT seq, case_id FROM case_events WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after)
                .bind(limit.max(0))
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)
            }

            pub async fn open_cases_crossing(
                conn: &mut Conn,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> Result<Vec<CaseRecord>> {
                // Each side of the OR is a range on its own partial index; both engines combine
                // the two (bitmap OR / multi-index OR) instead of scanning the open cases.
                sqlx::query_as::<_, CaseRow>(concat!(
                    "SELECT ",
                    case_select!(),
                    " FROM cases WHERE ((warn_at > $1 AND warn_at <= $2) OR (due_at > $1 AND due_at <= $2)) \
                     AND step <> 'closed' ORDER BY due_at, id LIMIT $3"
                ))
                .bind(from)
                .bind(to)
                .bind(limit.max(0))
                .fetch_all(&mut *conn)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            pub async fn claim_due_timers(
                conn: &mut Conn,
                now: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> Result<Vec<CaseRecord>> {
                sqlx::query_as::<_, CaseRow>(concat!(
                    "SELECT ",
                    case_select!(),
                    " FROM cases WHERE next_timer_at <= $1 ORDER BY next_timer_at, id LIMIT $2",
                    $skip_locked
                ))
                .bind(now)
                .bind(limit.max(0))
                .fetch_all(&mut *conn)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            pub async fn insert_case_link(conn: &mut Conn, link: &CaseLink) -> Result<()> {
                sqlx::query(
                    "INSERT INTO case_links (from_case, to_case, kind, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&link.from_case)
                .bind(&link.to_case)
                .bind(&link.kind)
                .bind(link.created_by)
                .bind(link.created_at)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            pub async fn delete_case_link(conn: &mut Conn, from_case: &str, kind: &str) -> Result<bool> {
                sqlx::query("DELETE FROM case_links WHERE from_case = $1 AND kind = $2")
                    .bind(from_case)
                    .bind(kind)
                    .execute(&mut *conn)
                    .await
                    .map(|r| r.rows_affected() == 1)
                    .map_err(map_err)
            }

            pub async fn case_links(conn: &mut Conn, id: &str) -> Result<Vec<CaseLink>> {
                sqlx::query_as::<_, CaseLinkRow>(
                    "SELECT from_case, to_case, kind, created_by, created_at FROM case_links \
                     WHERE from_case = $1 OR to_case = $1 ORDER BY created_at, from_case, kind",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            pub async fn get_idempotency(
                conn: &mut Conn,
                owner: i64,
                keys: &[String],
            ) -> Result<Vec<IdempotencyRecord>> {
                let mut out = Vec::new();
                for chunk in keys.chunks(BATCH) {
                    let mut qb = Qb::new(
                        "SELECT owner, key, request_hash, case_id, created_at FROM idempotency_keys WHERE owner = ",
                    );
                    qb.push_bind(owner).push(" AND key IN (");
                    let mut sep = qb.separated(", ");
                    for key in chunk {
                        sep.push_bind(key);
                    }
                    qb.push(") ORDER BY key");
                    let rows = qb
                        .build_query_as::<IdempotencyRow>()
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(map_err)?;
                    out.extend(rows.into_iter().map(IdempotencyRecord::from));
                }
                Ok(out)
            }

            pub async fn insert_idempotency(conn: &mut Conn, records: &[IdempotencyRecord]) -> Result<()> {
                for chunk in records.chunks(BATCH) {
                    let mut qb = Qb::new(
                        "INSERT INTO idempotency_keys (owner, key, request_hash, case_id, created_at) ",
                    );
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.owner)
                            .push_bind(&r.key)
                            .push_bind(&r.request_hash)
                            .push_bind(&r.case_id)
                            .push_bind(r.created_at);
                    });
                    qb.build().execute(&mut *conn).await.map_err(map_err)?;
                }
                Ok(())
            }

            pub async fn purge_idempotency(
                conn: &mut Conn,
                before: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64> {
                sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                    .bind(before)
                    .execute(&mut *conn)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(map_err)
            }

            pub async fn insert_blobs(conn: &mut Conn, blobs: &[BlobRecord]) -> Result<()> {
                for chunk in blobs.chunks(BATCH) {
                    let mut qb = Qb::new(
                        "INSERT INTO blobs (hash, size, media_type, exif, dhash, uploaded_by, created_at) ",
                    );
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(&r.hash)
                            .push_bind(r.size)
                            .push_bind(&r.media_type)
                            .push_bind(r.exif.as_ref().map(Json))
                            .push_bind(r.dhash)
                            .push_bind(r.uploaded_by)
                            .push_bind(r.created_at);
                    });
                    // Content-addressed: the same bytes uploaded twice are one blob.
                    qb.push(" ON CONFLICT (hash) DO NOTHING");
                    qb.build().execute(&mut *conn).await.map_err(map_err)?;
                }
                Ok(())
            }

            pub async fn get_blobs(conn: &mut Conn, hashes: &[String]) -> Result<Vec<BlobRecord>> {
                let mut out = Vec::new();
                for chunk in hashes.chunks(BATCH) {
                    let mut qb = Qb::new(
                        "SELECT hash, size, media_type, exif, dhash, uploaded_by, created_at FROM blobs WHERE hash IN (",
                    );
                    let mut sep = qb.separated(", ");
                    for hash in chunk {
                        sep.push_bind(hash);
                    }
                    qb.push(") ORDER BY hash");
                    let rows = qb.build_query_as::<BlobRow>().fetch_all(&mut *conn).await.map_err(map_err)?;
                    out.extend(rows.into_iter().map(BlobRecord::from));
                }
                Ok(out)
            }

            pub async fn insert_attachments(conn: &mut Conn, attachments: &[AttachmentRecord]) -> Result<()> {
                for chunk in attachments.chunks(BATCH) {
                    let mut qb = Qb::new(
                        "INSERT INTO case_attachments (case_id, hash, stage, event_version, flags, created_at) ",
                    );
                    qb.push_values(chunk, |mut b, a| {
                        b.push_bind(&a.case_id)
                            .push_bind(&a.hash)
                            .push_bind(&a.stage)
                            .push_bind(a.event_version)
                            .push_bind(Json(&a.flags))
                            .push_bind(a.created_at);
                    });
                    qb.push(" ON CONFLICT DO NOTHING");
                    qb.build().execute(&mut *conn).await.map_err(map_err)?;
                }
                Ok(())
            }

            pub async fn case_attachments(conn: &mut Conn, id: &str) -> Result<Vec<AttachmentRecord>> {
                sqlx::query_as::<_, AttachmentRow>(
                    "SELECT case_id, hash, stage, event_version, flags, created_at FROM case_attachments \
                     WHERE case_id = $1 ORDER BY event_version, stage, hash",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            pub async fn blob_referenced(conn: &mut Conn, hash: &str) -> Result<bool> {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM case_attachments WHERE hash = $1 LIMIT 1) x",
                )
                .bind(hash)
                .fetch_one(&mut *conn)
                .await
                .map(|n| n > 0)
                .map_err(map_err)
            }

            pub async fn unreferenced_blobs(
                conn: &mut Conn,
                before: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> Result<Vec<String>> {
                sqlx::query_scalar::<_, String>(
                    "SELECT b.hash FROM blobs b WHERE b.created_at < $1 \
                     AND NOT EXISTS (SELECT 1 FROM case_attachments a WHERE a.hash = b.hash) \
                     ORDER BY b.created_at, b.hash LIMIT $2",
                )
                .bind(before)
                .bind(limit.max(0))
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)
            }

            pub async fn delete_blobs(conn: &mut Conn, hashes: &[String]) -> Result<u64> {
                let mut n = 0;
                for chunk in hashes.chunks(BATCH) {
                    let mut qb = Qb::new("DELETE FROM blobs WHERE hash IN (");
                    let mut sep = qb.separated(", ");
                    for hash in chunk {
                        sep.push_bind(hash);
                    }
                    qb.push(")");
                    n += qb.build().execute(&mut *conn).await.map_err(map_err)?.rows_affected();
                }
                Ok(n)
            }

            pub async fn insert_outbox(conn: &mut Conn, items: &[OutboxNew]) -> Result<()> {
                for chunk in items.chunks(BATCH) {
                    let mut qb = Qb::new(
                        "INSERT INTO outbox (channel, recipient, dedup_key, case_id, kind, payload, created_at, \
                         attempts, next_attempt_at) ",
                    );
                    qb.push_values(chunk, |mut b, o| {
                        b.push_bind(&o.channel)
                            .push_bind(&o.recipient)
                            .push_bind(&o.dedup_key)
                            .push_bind(&o.case_id)
                            .push_bind(&o.kind)
                            .push_bind(Json(&o.payload))
                            .push_bind(o.created_at)
                            .push_bind(0i32)
                            .push_bind(o.created_at);
                    });
                    // A retried use case may enqueue the same notification again; it is sent once.
                    qb.push(" ON CONFLICT (channel, recipient, dedup_key) DO NOTHING");
                    qb.build().execute(&mut *conn).await.map_err(map_err)?;
                }
                Ok(())
            }

            pub async fn claim_outbox(
                conn: &mut Conn,
                now: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> Result<Vec<OutboxRecord>> {
                sqlx::query_as::<_, OutboxRow>(concat!(
                    "SELECT id, channel, recipient, dedup_key, case_id, kind, payload, created_at, attempts, \
                     next_attempt_at, delivered_at, last_error FROM outbox \
                     WHERE delivered_at IS NULL AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
                    $skip_locked
                ))
                .bind(now)
                .bind(limit.max(0))
                .fetch_all(&mut *conn)
                .await
                .map(|v| v.into_iter().map(Into::into).collect())
                .map_err(map_err)
            }

            pub async fn mark_outbox_delivered(
                conn: &mut Conn,
                ids: &[i64],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<()> {
                for chunk in ids.chunks(BATCH) {
                    let mut qb = Qb::new("UPDATE outbox SET delivered_at = ");
                    qb.push_bind(now).push(" WHERE delivered_at IS NULL AND id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(*id);
                    }
                    qb.push(")");
                    qb.build().execute(&mut *conn).await.map_err(map_err)?;
                }
                Ok(())
            }

            pub async fn mark_outbox_failed(
                conn: &mut Conn,
                id: i64,
                error: &str,
                retry_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<()> {
                let n = sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 \
                     WHERE id = $3",
                )
                .bind(error)
                .bind(retry_at)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            pub async fn count_outbox_pending(conn: &mut Conn) -> Result<i64> {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(map_err)
            }

            pub async fn insert_messages(conn: &mut Conn, messages: &[MessageNew]) -> Result<u64> {
                let mut n = 0;
                for chunk in messages.chunks(BATCH) {
                    let mut qb = Qb::new(
                        "INSERT INTO messages (recipient, dedup_key, case_id, kind, title, body, created_at) ",
                    );
                    qb.push_values(chunk, |mut b, m| {
                        b.push_bind(&m.recipient)
                            .push_bind(&m.dedup_key)
                            .push_bind(&m.case_id)
                            .push_bind(&m.kind)
                            .push_bind(&m.title)
                            .push_bind(&m.body)
                            .push_bind(m.created_at);
                    });
                    qb.push(" ON CONFLICT (recipient, dedup_key) DO NOTHING");
                    n += qb.build().execute(&mut *conn).await.map_err(map_err)?.rows_affected();
                }
                Ok(n)
            }

            pub async fn list_messages(
                conn: &mut Conn,
                recipients: &[String],
                unread_only: bool,
                limit: i64,
            ) -> Result<Vec<MessageRecord>> {
                if recipients.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = Qb::new(
                    "SELECT id, recipient, dedup_key, case_id, kind, title, body, created_at, read_at \
                     FROM messages WHERE recipient IN (",
                );
                let mut sep = qb.separated(", ");
                for r in recipients {
                    sep.push_bind(r);
                }
                qb.push(")");
                if unread_only {
                    qb.push(" AND read_at IS NULL");
                }
                qb.push(" ORDER BY id DESC LIMIT ").push_bind(limit.max(0));
                qb.build_query_as::<MessageRow>()
                    .fetch_all(&mut *conn)
                    .await
                    .map(|v| v.into_iter().map(Into::into).collect())
                    .map_err(map_err)
            }

            pub async fn mark_messages_read(
                conn: &mut Conn,
                recipients: &[String],
                ids: &[i64],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64> {
                if recipients.is_empty() {
                    return Ok(0);
                }
                let mut n = 0;
                for chunk in ids.chunks(BATCH) {
                    let mut qb = Qb::new("UPDATE messages SET read_at = ");
                    qb.push_bind(now).push(" WHERE read_at IS NULL AND id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(*id);
                    }
                    // Only the reader's own messages: ids come from the client.
                    qb.push(") AND recipient IN (");
                    let mut sep = qb.separated(", ");
                    for r in recipients {
                        sep.push_bind(r);
                    }
                    qb.push(")");
                    n += qb.build().execute(&mut *conn).await.map_err(map_err)?.rows_affected();
                }
                Ok(n)
            }
        }
    };
}

impl_case_sql!(
    sqlite,
    sqlx::Sqlite,
    skip_locked = "",
    for_update = "",
    packed_rows =
        "group_concat(object_kind || char(31) || object_id || char(31) || counters, char(30))"
);
// A claimed timer or outbox row stays locked until the claiming transaction ends; another server's
// claim skips it instead of waiting, so two servers never handle the same item.
impl_case_sql!(
    postgres,
    sqlx::Postgres,
    skip_locked = " FOR UPDATE SKIP LOCKED",
    for_update = " FOR UPDATE",
    packed_rows = "string_agg(object_kind || chr(31) || object_id || chr(31) || counters, chr(30))"
);
