//! Stories of public participation: partner keys, citizen-facing request facts, posted updates,
//! follow-up ratings and satisfaction counts, supporters, moderation, 12345 orders, and the
//! public case listing.

use chrono::Duration;
use cityloop_domain::case::{Action, Source};
use cityloop_store::*;
use serde_json::json;

use super::{Flow, case_id, clock, located, staff, t0};

fn partner(name: &str, hash: &str) -> PartnerKeyNew {
    PartnerKeyNew {
        name: name.into(),
        key_hash: hash.into(),
        key_prefix: "cl311_abcd".into(),
        scopes: vec!["hotline".into(), "open311".into()],
        rate_per_hour: 60,
        webhook_url: Some("http://127.0.0.1:9/hook".into()),
        created_by: "admin".into(),
        created_at: t0(),
    }
}

pub async fn partner_keys_are_found_by_digest_and_revoked_once(store: &dyn Store) {
    let mut tx = store.write().await.unwrap();
    let a = tx.insert_partner_key(&partner("app", "h1")).await.unwrap();
    let b = tx
        .insert_partner_key(&partner("12345", "h2"))
        .await
        .unwrap();
    assert_eq!(a.scopes, vec!["hotline", "open311"]);
    assert_eq!(a.created_at, t0());
    let dup = tx.insert_partner_key(&partner("again", "h1")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    drop(tx);
    let mut tx = store.write().await.unwrap();
    let a = tx.insert_partner_key(&partner("app", "h1")).await.unwrap();
    let b2 = tx
        .insert_partner_key(&partner("12345", "h2"))
        .await
        .unwrap();
    assert_eq!(b.name, b2.name);
    assert_eq!(tx.partner_key_by_hash("h1").await.unwrap(), Some(a.clone()));
    assert_eq!(tx.partner_key_by_hash("nope").await.unwrap(), None);
    tx.touch_partner_key(a.id, t0() + Duration::minutes(1))
        .await
        .unwrap();
    assert!(
        tx.revoke_partner_key(a.id, t0() + Duration::minutes(2))
            .await
            .unwrap()
    );
    assert!(
        !tx.revoke_partner_key(a.id, t0() + Duration::minutes(3))
            .await
            .unwrap()
    );
    assert!(!tx.revoke_partner_key(9999, t0()).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let got = tx.get_partner_key(a.id).await.unwrap().unwrap();
    assert_eq!(got.revoked_at, Some(t0() + Duration::minutes(2)));
    assert_eq!(got.last_used_at, Some(t0() + Duration::minutes(1)));
    let all = tx.list_partner_keys().await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].id < all[1].id);
}

pub async fn public_participation_rows(store: &dyn Store) {
    let s = staff(7);
    let open = Flow::open(&case_id(1), Source::Public, "路灯不亮", 0, t0()).with(
        CaseIntake {
            reported_class: Some("C0301".into()),
            contact_phone: Some("13800000000".into()),
            ..located("330188001001001", 120.10, 30.20)
        },
        clock(Some(t0() + Duration::hours(4)), "normal"),
    );
    let mut declined = Flow::open(&case_id(2), Source::Inspector, "垃圾", 11, t0()).with(
        CaseIntake {
            reported_class: Some("E0102".into()),
            ..located("330188002001001", 121.0, 31.0)
        },
        clock(None, "none"),
    );
    let mut tx = store.write().await.unwrap();
    tx.insert_cases(&[open.new_case(), declined.new_case()])
        .await
        .unwrap();
    declined
        .act(
            tx.as_mut(),
            &s,
            Action::Decline {
                reason: "不属于本系统".into(),
            },
        )
        .await;
    let key = tx.insert_partner_key(&partner("app", "hx")).await.unwrap();

    // Citizen-facing facts; a retry's follow-up secret replaces the first.
    let req = |hash: Option<&str>| PublicRequest {
        case_id: case_id(1),
        channel: "web".into(),
        partner_id: Some(key.id),
        media_url: Some("http://example.invalid/a.jpg".into()),
        account_id: None,
        followup_hash: hash.map(Into::into),
        created_at: t0(),
    };
    tx.insert_public_request(&req(Some("f1"))).await.unwrap();
    tx.insert_public_request(&req(None)).await.unwrap();
    assert_eq!(
        tx.public_requests(&[case_id(1), case_id(2)]).await.unwrap(),
        vec![req(Some("f1"))]
    );
    tx.insert_public_request(&req(Some("f2"))).await.unwrap();
    assert_eq!(
        tx.public_requests(&[case_id(1)]).await.unwrap()[0]
            .followup_hash
            .as_deref(),
        Some("f2")
    );

    // Posted updates: the same (partner, external id) is one update.
    let upd = |ext: &str, minutes: i64| PublicUpdateNew {
        case_id: case_id(1),
        partner_id: Some(key.id),
        external_id: Some(ext.into()),
        status: "OPEN".into(),
        description: format!("note {ext}"),
        media_url: None,
        at: t0() + Duration::minutes(minutes),
        created_at: t0(),
    };
    let u1 = tx.insert_public_update(&upd("u1", 5)).await.unwrap();
    let again = tx.insert_public_update(&upd("u1", 9)).await.unwrap();
    assert_eq!(u1, again);
    let u2 = tx.insert_public_update(&upd("u2", 1)).await.unwrap();
    let window = tx
        .public_updates(None, t0(), t0() + Duration::minutes(6), 10)
        .await
        .unwrap();
    assert_eq!(window, vec![u2.clone(), u1.clone()]);
    assert_eq!(
        tx.public_updates(
            None,
            t0() + Duration::minutes(2),
            t0() + Duration::minutes(5),
            10
        )
        .await
        .unwrap(),
        Vec::new()
    );
    let ids = [case_id(1)];
    assert_eq!(
        tx.public_updates(Some(&ids), t0(), t0(), 10)
            .await
            .unwrap()
            .len(),
        2
    );

    // Follow-up ratings, one per round, counted per department and area.
    let rating = |case: String, round: i64, dept: &str, street: &str, satisfied: bool, min: i64| {
        FollowupRecord {
            case_id: case,
            round,
            channel: "public".into(),
            fixed: satisfied,
            rating: if satisfied { 5 } else { 2 },
            satisfied,
            comment: String::new(),
            department: Some(dept.into()),
            grid_code: None,
            community_code: None,
            street_code: Some(street.into()),
            district_code: Some("330188".into()),
            closed_at: Some(t0()),
            rated_at: t0() + Duration::minutes(min),
        }
    };
    tx.insert_followup(&rating(case_id(1), 0, "SZ", "330188001", true, 1))
        .await
        .unwrap();
    tx.insert_followup(&rating(case_id(1), 1, "SZ", "330188001", false, 2))
        .await
        .unwrap();
    tx.insert_followup(&rating(case_id(2), 0, "HW", "330188002", true, 3))
        .await
        .unwrap();
    tx.insert_followup(&rating(case_id(2), 1, "HW", "330188002", true, 90))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    let dup = tx
        .insert_followup(&rating(case_id(1), 0, "SZ", "330188001", true, 4))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    drop(tx);
    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.followups_of(&case_id(1)).await.unwrap().len(), 2);
    let hour = t0() + Duration::hours(1);
    assert_eq!(
        tx.satisfaction_counts(t0(), hour, SatisfactionBy::Department)
            .await
            .unwrap(),
        vec![
            SatisfactionCount {
                key: "HW".into(),
                rated: 1,
                satisfied: 1
            },
            SatisfactionCount {
                key: "SZ".into(),
                rated: 2,
                satisfied: 1
            },
        ]
    );
    assert_eq!(
        tx.satisfaction_counts(t0(), t0() + Duration::hours(2), SatisfactionBy::District)
            .await
            .unwrap(),
        vec![SatisfactionCount {
            key: "330188".into(),
            rated: 4,
            satisfied: 3
        }]
    );
    assert_eq!(
        tx.satisfaction_counts(t0(), hour, SatisfactionBy::Grid)
            .await
            .unwrap()[0]
            .key,
        ""
    );

    // Supporters count once each.
    assert!(tx.add_supporter(&case_id(1), "p1", t0()).await.unwrap());
    assert!(!tx.add_supporter(&case_id(1), "p1", t0()).await.unwrap());
    assert!(tx.add_supporter(&case_id(1), "p2", t0()).await.unwrap());
    assert_eq!(
        tx.count_supporters(&[case_id(1), case_id(2)])
            .await
            .unwrap(),
        vec![(case_id(1), 2)]
    );

    // Moderation: decided once.
    let held = tx
        .insert_moderation(&ModerationNew {
            token: "held_1".into(),
            channel: "web".into(),
            partner_id: None,
            reason: "honeypot".into(),
            payload: json!({"report": {"description": "x"}}),
            created_at: t0(),
        })
        .await
        .unwrap();
    assert_eq!(held.status, "pending");
    assert_eq!(held.payload["report"]["description"], "x");
    assert_eq!(
        tx.moderation_by_token("held_1").await.unwrap(),
        Some(held.clone())
    );
    assert_eq!(
        tx.list_moderation("pending", 10).await.unwrap(),
        vec![held.clone()]
    );
    assert!(
        tx.decide_moderation(
            held.id,
            "approved",
            Some(&case_id(1)),
            "acceptor1",
            "",
            t0()
        )
        .await
        .unwrap()
    );
    assert!(
        !tx.decide_moderation(held.id, "rejected", None, "acceptor2", "spam", t0())
            .await
            .unwrap()
    );
    let decided = tx.get_moderation(held.id).await.unwrap().unwrap();
    assert_eq!(
        (
            decided.status.as_str(),
            decided.case_id.as_deref(),
            decided.decided_by.as_deref()
        ),
        ("approved", Some(case_id(1).as_str()), Some("acceptor1"))
    );
    assert!(tx.list_moderation("pending", 10).await.unwrap().is_empty());

    // 12345 orders: one per (partner, order id).
    let order = HotlineOrder {
        partner_id: key.id,
        order_id: "GD-1".into(),
        case_id: case_id(1),
        request_hash: "h".into(),
        hotline_status: "received".into(),
        created_at: t0(),
        updated_at: t0(),
    };
    tx.insert_hotline_order(&order).await.unwrap();
    tx.set_hotline_status(key.id, "GD-1", "processing", t0() + Duration::minutes(1))
        .await
        .unwrap();
    let got = tx.get_hotline_order(key.id, "GD-1").await.unwrap().unwrap();
    assert_eq!(got.hotline_status, "processing");
    assert_eq!(got.updated_at, t0() + Duration::minutes(1));
    assert_eq!(
        tx.hotline_orders_of_case(&case_id(1)).await.unwrap(),
        vec![got]
    );
    assert_eq!(tx.get_hotline_order(key.id, "GD-2").await.unwrap(), None);
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    let dup = tx.insert_hotline_order(&order).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    drop(tx);

    // The phone is forgotten once the follow-up is done.
    let mut tx = store.write().await.unwrap();
    assert!(tx.clear_contact_phone(&case_id(1)).await.unwrap());
    assert!(!tx.clear_contact_phone(&case_id(1)).await.unwrap());
    assert!(!tx.clear_contact_phone(&case_id(2)).await.unwrap());
    let rec = tx.get_case(&case_id(1)).await.unwrap().unwrap();
    assert_eq!(rec.intake.contact_phone, None);
    assert_eq!(rec.intake.reported_class.as_deref(), Some("C0301"));
    tx.commit().await.unwrap();

    // The public listing.
    let mut tx = store.read().await.unwrap();
    let q = |f: &dyn Fn(&mut PublicCaseQuery)| {
        let mut q = PublicCaseQuery {
            limit: 100,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let all = tx.public_case_ids(&q(&|_| {})).await.unwrap();
    assert_eq!(all, vec![case_id(2), case_id(1)]);
    let closed = tx
        .public_case_ids(&q(&|q| q.closed = Some(true)))
        .await
        .unwrap();
    assert_eq!(closed, vec![case_id(2)]);
    let open_only = tx
        .public_case_ids(&q(&|q| q.closed = Some(false)))
        .await
        .unwrap();
    assert_eq!(open_only, vec![case_id(1)]);
    let by_class = tx
        .public_case_ids(&q(&|q| q.classes = Some(vec!["C0301".into()])))
        .await
        .unwrap();
    assert_eq!(by_class, vec![case_id(1)]);
    let boxed = tx
        .public_case_ids(&q(&|q| q.bbox = Some([120.0, 30.0, 120.5, 30.5])))
        .await
        .unwrap();
    assert_eq!(boxed, vec![case_id(1)]);
    let map = tx
        .public_case_ids(&q(&|q| {
            q.open_or_closed_since = Some(t0() - Duration::days(30));
            q.hide_refused = true;
        }))
        .await
        .unwrap();
    assert_eq!(map, vec![case_id(1)], "declined cases stay off the map");
    let later = tx
        .public_case_ids(&q(&|q| q.updated_from = Some(t0() + Duration::seconds(30))))
        .await
        .unwrap();
    assert_eq!(later, vec![case_id(2)]);
    let window = tx
        .public_case_ids(&q(&|q| {
            q.reported_from = Some(t0() + Duration::minutes(1));
        }))
        .await
        .unwrap();
    assert!(window.is_empty());
    let ids = tx
        .public_case_ids(&q(&|q| q.ids = Some(vec![case_id(1), "nope".into()])))
        .await
        .unwrap();
    assert_eq!(ids, vec![case_id(1)]);
    let paged = tx
        .public_case_ids(&q(&|q| {
            q.limit = 1;
            q.offset = 1;
        }))
        .await
        .unwrap();
    assert_eq!(paged, vec![case_id(1)]);
}
