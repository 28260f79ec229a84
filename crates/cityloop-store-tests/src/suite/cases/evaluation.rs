//! Evaluation storage: day and month rollups, packed bulk reads, month revisions, scheme versions
//! (published ones immutable) and objections (decisions final).

use chrono::Duration;
use cityloop_store::*;

use super::super::t0;

fn row(day: &str, kind: &str, id: &str, counters: &str) -> RollupRow {
    RollupRow {
        day: day.into(),
        object_kind: kind.into(),
        object_id: id.into(),
        counters: counters.into(),
    }
}

pub async fn evaluation_rollups_schemes_and_objections(store: &dyn Store) {
    let mut tx = store.write().await.unwrap();
    tx.put_rollups(&[
        row("2026-03-01", "department", "SZ", r#"{"dept_due":2}"#),
        row("2026-03-02", "department", "SZ", r#"{"dept_due":1}"#),
        row("2026-03-02", "grid", "G1", r#"{"area_due":1}"#),
        row("2026-04-01", "department", "SZ", r#"{"dept_due":5}"#),
    ])
    .await
    .unwrap();
    tx.put_month_rollups(&[
        row("2026-03", "department", "SZ", r#"{"dept_due":3}"#),
        row("2026-03", "grid", "G1", r#"{"area_due":1}"#),
    ])
    .await
    .unwrap();
    // Replacing and deleting (an empty counter set deletes the row).
    tx.put_month_rollups(&[
        row("2026-03", "grid", "G1", "{}"),
        row("2026-04", "department", "SZ", r#"{"dept_due":5}"#),
    ])
    .await
    .unwrap();
    tx.bump_rollup_revisions(&["2026-03".into(), "2026-03".into()], "r1")
        .await
        .unwrap();
    tx.bump_rollup_revisions(&["2026-03".into(), "2026-04".into()], "r2")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let months = tx
        .month_rollups_between("2026-03", "2026-05", None)
        .await
        .unwrap();
    assert_eq!(
        months
            .iter()
            .map(|r| (r.day.as_str(), r.object_id.as_str()))
            .collect::<Vec<_>>(),
        [("2026-03", "SZ"), ("2026-04", "SZ")]
    );
    let packed = tx
        .rollups_packed(false, "2026-03-01", "2026-04-01", Some("department"))
        .await
        .unwrap();
    let mut rows: Vec<&str> = packed.split('\u{1e}').collect();
    rows.sort_unstable();
    assert_eq!(
        rows,
        [
            "department\u{1f}SZ\u{1f}{\"dept_due\":1}",
            "department\u{1f}SZ\u{1f}{\"dept_due\":2}"
        ]
    );
    assert_eq!(
        tx.rollups_packed(true, "2026-05", "2026-06", None)
            .await
            .unwrap(),
        ""
    );
    assert_eq!(
        tx.rollup_revisions("2026-01", "2026-12").await.unwrap(),
        [
            ("2026-03".to_owned(), "r2".to_owned()),
            ("2026-04".to_owned(), "r2".to_owned())
        ]
    );
    drop(tx);

    // Schemes: versions, publishing once, published rows immutable.
    let scheme = |version: i64| SchemeRecord {
        version,
        name: format!("v{version}"),
        overlay: "[department]\n".into(),
        content_hash: "h".into(),
        status: "draft".into(),
        effective_from: None,
        created_by: Some(1),
        created_at: t0(),
        published_by: None,
        published_at: None,
    };
    let mut tx = store.write().await.unwrap();
    tx.insert_scheme(&scheme(1)).await.unwrap();
    tx.insert_scheme(&scheme(2)).await.unwrap();
    tx.commit().await.unwrap();
    // A refused write spoils its transaction on PostgreSQL: try it in one of its own.
    let mut tx = store.write().await.unwrap();
    assert!(matches!(
        tx.insert_scheme(&scheme(1)).await,
        Err(StoreError::Conflict(_))
    ));
    drop(tx);
    let mut tx = store.write().await.unwrap();
    assert!(
        tx.publish_scheme(1, "2026-03-01", Some(1), t0())
            .await
            .unwrap()
    );
    assert!(
        !tx.publish_scheme(1, "2026-04-01", Some(1), t0())
            .await
            .unwrap(),
        "published once"
    );
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let list = tx.list_schemes().await.unwrap();
    assert_eq!(
        list.iter()
            .map(|s| (s.version, s.status.as_str(), s.effective_from.as_deref()))
            .collect::<Vec<_>>(),
        [(1, "published", Some("2026-03-01")), (2, "draft", None)]
    );
    drop(tx);

    // Objections: one pending per case and object; a decision is final.
    let objection = |case: &str| ObjectionRecord {
        id: 0,
        case_id: case.into(),
        object_kind: "department".into(),
        object_id: "SZ".into(),
        counters: "[]".into(),
        reason: "不属于本单位".into(),
        status: "pending".into(),
        filed_by: 7,
        filed_at: t0(),
        decided_by: None,
        decided_at: None,
        decision_note: None,
    };
    let mut tx = store.write().await.unwrap();
    let a = tx.insert_objection(&objection("C1")).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    assert!(matches!(
        tx.insert_objection(&objection("C1")).await,
        Err(StoreError::Conflict(_))
    ));
    drop(tx);
    let mut tx = store.write().await.unwrap();
    let b = tx.insert_objection(&objection("C2")).await.unwrap();
    assert!(
        tx.decide_objection(a, "accepted", Some(1), t0() + Duration::hours(1), "ok")
            .await
            .unwrap()
    );
    assert!(
        !tx.decide_objection(a, "rejected", Some(1), t0(), "again")
            .await
            .unwrap()
    );
    // A new objection may follow a decided one.
    tx.insert_objection(&objection("C1")).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let accepted = tx
        .list_objections(&ObjectionQuery {
            status: Some("accepted".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].decision_note.as_deref(), Some("ok"));
    let of_c2 = tx
        .list_objections(&ObjectionQuery {
            case_id: Some("C2".into()),
            objects: Some(("department".into(), vec!["SZ".into()])),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(of_c2.iter().map(|o| o.id).collect::<Vec<_>>(), [b]);
    assert_eq!(
        tx.get_objection(b).await.unwrap().unwrap().status,
        "pending"
    );
}
