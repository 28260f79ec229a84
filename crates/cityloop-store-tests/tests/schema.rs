#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed step aborts the test"
)]

//! The two engines must keep the same schema: the same migrations by name, and (when PostgreSQL is
//! available) the same tables and columns after migrating.

use std::collections::{BTreeMap, BTreeSet};

use cityloop_store_tests::TestDb;
use sqlx::Connection;

fn migration_names(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect()
}

#[test]
fn migrations_have_identical_names() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let sqlite = migration_names(&format!("{root}/cityloop-store-sqlite/migrations"));
    let postgres = migration_names(&format!("{root}/cityloop-store-postgres/migrations"));
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "every schema change is a migration for both engines"
    );
}

type Schema = BTreeMap<String, BTreeSet<String>>;

async fn sqlite_schema(url: &str) -> Schema {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    collect(rows)
}

async fn postgres_schema(url: &str) -> Schema {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    collect(rows)
}

fn collect(rows: Vec<(String, String)>) -> Schema {
    let mut out = Schema::new();
    for (t, c) in rows {
        out.entry(t).or_default().insert(c);
    }
    out
}

#[tokio::test]
async fn engines_have_the_same_tables_and_columns() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let lite = TestDb::sqlite();
    lite.store().await.close().await;
    pg.store().await.close().await;
    let a = sqlite_schema(lite.url()).await;
    let b = postgres_schema(pg.url()).await;
    pg.cleanup().await;
    assert!(a.contains_key("users") && a.contains_key("audit_log") && a.contains_key("cases"));
    assert_eq!(a, b, "SQLite and PostgreSQL schemas diverge");
}

const TAMPER: [&str; 8] = [
    "UPDATE audit_log SET action = 'forged'",
    "DELETE FROM audit_log",
    "UPDATE rule_sets SET name = 'forged'",
    "DELETE FROM rule_sets",
    "UPDATE case_events SET note = 'forged'",
    "DELETE FROM case_events",
    "UPDATE eval_publications SET note = 'forged'",
    "DELETE FROM eval_publications",
];

const SEED: [&str; 5] = [
    "INSERT INTO audit_log (at, actor_name, action, object_type, result, detail) \
     VALUES ('2026-01-01T00:00:00+00:00', 'x', 'a', 'o', 'ok', '{}')",
    "INSERT INTO rule_sets (number, name, status, effective_from, content, created_at, created_by, updated_at) \
     VALUES (1, 'v1', 'published', '2026-01-01', '{}', '2026-01-01T00:00:00+00:00', 'x', '2026-01-01T00:00:00+00:00')",
    "INSERT INTO cases (id, version, source, step, description, lon, lat, reported_by, reported_at, step_since, \
     updated_at, urgency, search_text, state) VALUES ('C1', 1, 'inspector', 'accepting', 'x', 120.0, 30.0, 1, \
     '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', 'none', 'c1 x', '{}')",
    "INSERT INTO case_events (case_id, version, kind, actor_id, actor_role, at, from_step, to_step, note, body) \
     VALUES ('C1', 1, 'opened', 1, 'inspector', '2026-01-01T00:00:00+00:00', 'accepting', 'accepting', '', '{}')",
    "INSERT INTO eval_publications (period_from, period_to, scheme, rule_sets, results, note, published_at) \
     VALUES ('2026-01-01', '2026-02-01', 's', '[]', '{}', '', '2026-02-02T00:00:00+00:00')",
];

/// The audit log, published rule sets, case events and published evaluations refuse changes in the database itself, not
/// only in code.
#[tokio::test]
async fn sqlite_refuses_tampering() {
    let db = TestDb::sqlite();
    db.store().await.close().await;
    let mut conn = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
    for sql in SEED {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    for sql in TAMPER {
        assert!(
            sqlx::query(sql).execute(&mut conn).await.is_err(),
            "{sql} succeeded"
        );
    }
}

#[tokio::test]
async fn postgres_refuses_tampering() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    db.store().await.close().await;
    let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
    for sql in SEED {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    for sql in TAMPER.into_iter().chain([
        "TRUNCATE audit_log",
        "TRUNCATE case_events",
        "TRUNCATE eval_publications",
    ]) {
        assert!(
            sqlx::query(sql).execute(&mut conn).await.is_err(),
            "{sql} succeeded"
        );
    }
    conn.close().await.unwrap();
    db.cleanup().await;
}
