#![expect(clippy::unwrap_used, reason = "benchmark: a failed step aborts it")]

//! Intake throughput of `insert_cases` (the hot path of bulk intake). Not part of the normal run:
//!
//! ```text
//! cargo test --release -p cityloop-store-tests --test intake_speed -- --ignored --nocapture
//! ```
//!
//! The PostgreSQL variant runs when `CITYLOOP_TEST_PG_URL` is set.

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use cityloop_domain::case::{Actor, NewCase, Role, Source, open};
use cityloop_store::{CaseClock, CaseIntake, CaseNew, CaseQuery, CaseRecord, Store};
use cityloop_store_tests::TestDb;

const CASES: usize = 100_000;
const PER_TRANSACTION: usize = 5_000;

fn cases() -> Vec<CaseNew> {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let reporter = Actor {
        user_id: 7,
        roles: vec![Role::System],
        department: None,
    };
    (0..CASES)
        .map(|i| {
            let at = t0 + Duration::milliseconds(i64::try_from(i).unwrap() * 37);
            let grid = format!("330188{:03}{:03}{:03}", i % 7 + 1, i % 13 + 1, i % 31 + 1);
            let t = open(
                NewCase {
                    id: format!("20260302-330188-{i:06}"),
                    source: Source::Public,
                    description: format!("井盖缺失，第{i}号，靠近公交站台，存在安全隐患"),
                },
                &reporter,
                at,
            )
            .unwrap();
            let due = at + Duration::hours(2);
            CaseNew {
                record: CaseRecord {
                    case: t.case,
                    intake: CaseIntake {
                        reported_class: Some("E0101".into()),
                        address: Some(format!("江滨路{}号", i % 500)),
                        lon: 120.1 + (i % 1000) as f64 * 1e-4,
                        lat: 30.2 + (i % 997) as f64 * 1e-4,
                        community_code: Some(grid[..12].to_owned()),
                        street_code: Some(grid[..9].to_owned()),
                        district_code: Some(grid[..6].to_owned()),
                        grid_code: Some(grid),
                        contact_phone: Some("13800000000".into()),
                        external_ref: Some(format!("12345-{i}")),
                        ..Default::default()
                    },
                    clock: CaseClock {
                        due_at: Some(due),
                        warn_at: Some(due - Duration::minutes(30)),
                        urgency: "normal".into(),
                        next_timer_at: Some(due - Duration::minutes(30)),
                        disposal_overdue: false,
                    },
                },
                event: t.event,
            }
        })
        .collect()
}

async fn measure(store: &dyn Store, engine: &str) {
    let cases = cases();
    let started = Instant::now();
    for chunk in cases.chunks(PER_TRANSACTION) {
        let mut tx = store.write().await.unwrap();
        tx.insert_cases(chunk).await.unwrap();
        tx.commit().await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{engine}: {CASES} cases in {seconds:.2} s = {:.0} cases/s ({PER_TRANSACTION} per transaction)",
        CASES as f64 / seconds
    );
    let mut tx = store.read().await.unwrap();
    let n = tx
        .count_cases(&CaseQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(n, i64::try_from(CASES).unwrap());
}

#[tokio::test]
#[ignore = "benchmark"]
async fn sqlite_intake_speed() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    measure(store.as_ref(), "sqlite").await;
    store.close().await;
}

#[tokio::test]
#[ignore = "benchmark"]
async fn postgres_intake_speed() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = db.store().await;
    measure(store.as_ref(), "postgres").await;
    store.close().await;
    db.cleanup().await;
}
