#![expect(
    clippy::unwrap_used,
    reason = "conformance stories are tests: a failed step aborts the test"
)]

//! The storage stories every engine must pass identically. Each takes a freshly migrated store.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cityloop_domain::Role;
use cityloop_store::*;
use serde_json::json;

mod cases;
pub use cases::*;

fn t0() -> DateTime<Utc> {
    // Microsecond precision: PostgreSQL keeps microseconds, so tests compare at that precision.
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 30, 0).unwrap() + Duration::microseconds(123_456)
}

async fn seed_areas(tx: &mut dyn Tx) {
    for (code, parent, level, name) in [
        ("330188", None, "district", "临江区"),
        ("330188001", Some("330188"), "street", "江滨街道"),
        ("330188001001", Some("330188001"), "community", "金桂社区"),
        ("330188002", Some("330188"), "street", "城东街道"),
    ] {
        tx.insert_area(&AreaNew {
            code: code.into(),
            parent_code: parent.map(Into::into),
            level: level.into(),
            name: name.into(),
            name_en: None,
            now: t0(),
        })
        .await
        .unwrap();
    }
}

async fn seed_department(tx: &mut dyn Tx, code: &str, parent: Option<i64>) -> Department {
    tx.insert_department(&DepartmentNew {
        code: code.into(),
        name: format!("部门{code}"),
        name_en: Some(format!("Dept {code}")),
        parent_id: parent,
        kind: "department".into(),
        phone: None,
        now: t0(),
    })
    .await
    .unwrap()
}

fn new_user(username: &str, dept: Option<i64>, roles: &[Role], areas: &[&str]) -> UserNew {
    UserNew {
        username: username.into(),
        display_name: format!("用户{username}"),
        phone: Some("13812345678".into()),
        department_id: dept,
        password_hash: "$argon2id$fake".into(),
        must_change_password: false,
        roles: roles.to_vec(),
        areas: areas.iter().map(|a| (*a).to_owned()).collect(),
        now: t0(),
    }
}

pub async fn meta_round_trip(store: &dyn Store) {
    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.get_meta("k").await.unwrap(), None);
    tx.set_meta("k", "v1", t0()).await.unwrap();
    tx.set_meta("k", "v2", t0()).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_meta("k").await.unwrap().as_deref(), Some("v2"));
    assert!(store.schema_version().await.unwrap() >= 20261125000001);
}

pub async fn uncommitted_writes_vanish(store: &dyn Store) {
    {
        let mut tx = store.write().await.unwrap();
        tx.set_meta("ghost", "x", t0()).await.unwrap();
        // dropped without commit
    }
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_meta("ghost").await.unwrap(), None);
}

pub async fn areas_form_a_hierarchy(store: &dyn Store) {
    let mut tx = store.write().await.unwrap();
    seed_areas(tx.as_mut()).await;
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let all = tx.list_areas().await.unwrap();
    let codes: Vec<_> = all.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(codes, ["330188", "330188001", "330188001001", "330188002"]);
    let c = tx.get_area("330188001001").await.unwrap().unwrap();
    assert_eq!(c.parent_code.as_deref(), Some("330188001"));
    assert_eq!(c.name, "金桂社区");
    assert_eq!(c.created_at, t0());
    assert_eq!(c.version, 1);
    assert!(tx.get_area("999999").await.unwrap().is_none());
    drop(tx);

    let mut tx = store.write().await.unwrap();
    let orphan = tx
        .insert_area(&AreaNew {
            code: "330188009001".into(),
            parent_code: Some("330188009".into()),
            level: "community".into(),
            name: "x".into(),
            name_en: None,
            now: t0(),
        })
        .await;
    assert!(matches!(orphan, Err(StoreError::Conflict(_))), "{orphan:?}");
    drop(tx);

    let mut tx = store.write().await.unwrap();
    let dup = tx
        .insert_area(&AreaNew {
            code: "330188".into(),
            parent_code: None,
            level: "district".into(),
            name: "again".into(),
            name_en: None,
            now: t0(),
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    drop(tx);

    let mut tx = store.write().await.unwrap();
    let later = t0() + Duration::hours(1);
    let renamed = tx
        .update_area(
            "330188002",
            &AreaUpdate {
                name: "城东新区街道".into(),
                name_en: Some("Chengdong".into()),
                expected_version: 1,
                now: later,
            },
        )
        .await
        .unwrap();
    assert_eq!((renamed.version, renamed.updated_at), (2, later));
    let stale = tx
        .update_area(
            "330188002",
            &AreaUpdate {
                name: "x".into(),
                name_en: None,
                expected_version: 1,
                now: later,
            },
        )
        .await;
    assert!(matches!(stale, Err(StoreError::VersionConflict)));
    tx.commit().await.unwrap();
}

pub async fn departments_and_sub_units(store: &dyn Store) {
    let mut tx = store.write().await.unwrap();
    let parent = seed_department(tx.as_mut(), "SZ", None).await;
    let child = seed_department(tx.as_mut(), "SZ-ROAD", Some(parent.id)).await;
    tx.commit().await.unwrap();
    assert_eq!(child.parent_id, Some(parent.id));
    assert!(parent.active);

    let mut tx = store.write().await.unwrap();
    let dup = tx
        .insert_department(&DepartmentNew {
            code: "SZ".into(),
            name: "x".into(),
            name_en: None,
            parent_id: None,
            kind: "department".into(),
            phone: None,
            now: t0(),
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    drop(tx);

    let mut tx = store.write().await.unwrap();
    let upd = tx
        .update_department(
            child.id,
            &DepartmentUpdate {
                name: "道路养护所".into(),
                name_en: None,
                parent_id: Some(parent.id),
                kind: "department".into(),
                phone: Some("0571-1234".into()),
                active: false,
                expected_version: 1,
                now: t0(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (upd.version, upd.active, upd.name.as_str()),
        (2, false, "道路养护所")
    );
    tx.commit().await.unwrap();
    // A reorganisation: the sub-unit becomes a department of its own, of another kind.
    let mut tx = store.write().await.unwrap();
    let moved = tx
        .update_department(
            child.id,
            &DepartmentUpdate {
                name: upd.name.clone(),
                name_en: None,
                parent_id: None,
                kind: "street_office".into(),
                phone: upd.phone.clone(),
                active: false,
                expected_version: 2,
                now: t0(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (moved.parent_id, moved.kind.as_str(), moved.version),
        (None, "street_office", 3)
    );
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let list = tx.list_departments().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        tx.get_department_by_code("SZ-ROAD")
            .await
            .unwrap()
            .unwrap()
            .id,
        child.id
    );
    assert!(tx.get_department(999_999).await.unwrap().is_none());
}

pub async fn users_roles_and_scope(store: &dyn Store) {
    let mut tx = store.write().await.unwrap();
    seed_areas(tx.as_mut()).await;
    let dept = seed_department(tx.as_mut(), "CENTRE", None).await;
    let other = seed_department(tx.as_mut(), "HW", None).await;
    let a = tx
        .insert_user(&new_user(
            "inspector1",
            Some(dept.id),
            &[Role::Inspector, Role::Acceptor],
            &["330188001", "330188002"],
        ))
        .await
        .unwrap();
    let b = tx
        .insert_user(&new_user("handler1", Some(other.id), &[Role::Handler], &[]))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(a.roles, vec![Role::Inspector, Role::Acceptor]);
    assert_eq!(a.areas, vec!["330188001", "330188002"]);
    assert_eq!(a.version, 1);

    let mut tx = store.write().await.unwrap();
    let dup = tx
        .insert_user(&new_user("inspector1", None, &[], &[]))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    drop(tx);

    let mut tx = store.read().await.unwrap();
    let creds = tx.get_credentials("inspector1").await.unwrap().unwrap();
    assert_eq!(creds.password_hash, "$argon2id$fake");
    assert_eq!(creds.user, a);
    assert!(tx.get_credentials("nobody").await.unwrap().is_none());
    let q = |text: Option<&str>, role, department_id, active| UserQuery {
        text: text.map(Into::into),
        role,
        department_id,
        active,
    };
    let names = |v: Vec<User>| v.into_iter().map(|u| u.username).collect::<Vec<_>>();
    assert_eq!(
        names(tx.list_users(&q(None, None, None, None)).await.unwrap()),
        ["handler1", "inspector1"]
    );
    assert_eq!(
        names(
            tx.list_users(&q(Some("SPECT"), None, None, None))
                .await
                .unwrap()
        ),
        ["inspector1"]
    );
    assert_eq!(
        names(
            tx.list_users(&q(Some("用户hand"), None, None, None))
                .await
                .unwrap()
        ),
        ["handler1"]
    );
    assert!(
        tx.list_users(&q(Some("%"), None, None, None))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        names(
            tx.list_users(&q(None, Some(Role::Handler), None, None))
                .await
                .unwrap()
        ),
        ["handler1"]
    );
    assert_eq!(
        names(
            tx.list_users(&q(None, None, Some(dept.id), Some(true)))
                .await
                .unwrap()
        ),
        ["inspector1"]
    );
    assert!(
        tx.list_users(&q(None, None, None, Some(false)))
            .await
            .unwrap()
            .is_empty()
    );
    drop(tx);

    let mut tx = store.write().await.unwrap();
    let upd = tx
        .update_user(
            a.id,
            &UserUpdate {
                display_name: "王建国".into(),
                phone: None,
                department_id: Some(other.id),
                active: false,
                areas: vec!["330188001001".into()],
                expected_version: 1,
                now: t0(),
            },
        )
        .await
        .unwrap();
    assert_eq!(upd.areas, vec!["330188001001"]);
    assert_eq!(
        (upd.version, upd.active, upd.department_id),
        (2, false, Some(other.id))
    );
    let stale = tx
        .update_user(
            a.id,
            &UserUpdate {
                display_name: "x".into(),
                phone: None,
                department_id: None,
                active: true,
                areas: vec![],
                expected_version: 1,
                now: t0(),
            },
        )
        .await;
    assert!(matches!(stale, Err(StoreError::VersionConflict)));
    let roles = tx
        .set_user_roles(b.id, &[Role::Leader], 1, t0())
        .await
        .unwrap();
    assert_eq!(
        (roles.roles.clone(), roles.version),
        (vec![Role::Leader], 2)
    );
    assert!(matches!(
        tx.set_user_roles(b.id, &[Role::Handler], 1, t0()).await,
        Err(StoreError::VersionConflict)
    ));
    tx.set_login_state(b.id, 3, Some(t0() + Duration::minutes(30)))
        .await
        .unwrap();
    let locked = tx.get_user(b.id).await.unwrap().unwrap();
    assert_eq!(
        (locked.failed_logins, locked.locked_until),
        (3, Some(t0() + Duration::minutes(30)))
    );
    tx.set_password(
        b.id,
        &PasswordChange {
            password_hash: "$argon2id$new".into(),
            must_change_password: true,
            now: t0() + Duration::days(1),
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        tx.set_password(
            424_242,
            &PasswordChange {
                password_hash: "x".into(),
                must_change_password: false,
                now: t0()
            }
        )
        .await,
        Err(StoreError::NotFound)
    ));
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let creds = tx.get_credentials("handler1").await.unwrap().unwrap();
    assert_eq!(creds.password_hash, "$argon2id$new");
    assert!(creds.user.must_change_password);
    assert_eq!(
        (creds.user.failed_logins, creds.user.locked_until),
        (0, None)
    );
    assert_eq!(creds.user.password_changed_at, t0() + Duration::days(1));
}

pub async fn sessions_and_tokens(store: &dyn Store) {
    let session = |hash: &str, user_id| SessionNew {
        token_hash: hash.into(),
        user_id,
        created_at: t0(),
        expires_at: t0() + Duration::hours(12),
        ip: Some("127.0.0.1".into()),
        user_agent: Some("Mozilla/5.0".into()),
    };
    let mut tx = store.write().await.unwrap();
    let u = tx
        .insert_user(&new_user("acceptor1", None, &[Role::Acceptor], &[]))
        .await
        .unwrap();
    let s1 = tx.insert_session(&session("h1", u.id)).await.unwrap();
    let s2 = tx.insert_session(&session("h2", u.id)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (s1.user_id, s1.last_seen_at, s1.revoked_at),
        (u.id, t0(), None)
    );

    // A failed statement spoils a PostgreSQL transaction, so the conflict gets its own.
    let mut tx = store.write().await.unwrap();
    let dup = tx.insert_session(&session("h1", u.id)).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    drop(tx);

    let mut tx = store.write().await.unwrap();
    tx.touch_session(s1.id, t0() + Duration::minutes(5))
        .await
        .unwrap();
    tx.revoke_session(s2.id, t0()).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let got = tx.get_session("h1").await.unwrap().unwrap();
    assert_eq!(got.last_seen_at, t0() + Duration::minutes(5));
    assert_eq!(got.revoked_at, None);
    assert_eq!(
        tx.get_session("h2").await.unwrap().unwrap().revoked_at,
        Some(t0())
    );
    assert!(tx.get_session("nope").await.unwrap().is_none());
    drop(tx);

    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.revoke_user_sessions(u.id, t0()).await.unwrap(), 1);
    assert_eq!(tx.revoke_user_sessions(u.id, t0()).await.unwrap(), 0);
    let t = tx
        .insert_api_token(&ApiTokenNew {
            token_hash: "th".into(),
            user_id: u.id,
            name: "城管通 phone".into(),
            created_at: t0(),
            expires_at: Some(t0() + Duration::days(90)),
        })
        .await
        .unwrap();
    tx.touch_api_token(t.id, t0() + Duration::hours(1))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    let got = tx.get_api_token("th").await.unwrap().unwrap();
    assert_eq!(got.last_used_at, Some(t0() + Duration::hours(1)));
    assert_eq!(got.name, "城管通 phone");
    assert_eq!(got.expires_at, Some(t0() + Duration::days(90)));
    tx.revoke_api_token(t.id, t0() + Duration::hours(2))
        .await
        .unwrap();
    let listed = tx.list_api_tokens(u.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at, Some(t0() + Duration::hours(2)));
    assert_eq!(
        tx.get_api_token_by_id(t.id).await.unwrap().unwrap().id,
        t.id
    );
    assert!(tx.get_api_token("other").await.unwrap().is_none());
    tx.commit().await.unwrap();
}

pub async fn audit_log_is_ordered_and_filterable(store: &dyn Store) {
    let mut tx = store.write().await.unwrap();
    for i in 0..25i64 {
        tx.append_audit(&AuditNew {
            at: t0() + Duration::minutes(i),
            actor_id: Some(i % 3),
            actor_name: format!("user{}", i % 3),
            action: if i % 2 == 0 {
                "user.update".into()
            } else {
                "auth.login".into()
            },
            object_type: "user".into(),
            object_id: Some(i.to_string()),
            result: if i % 5 == 0 {
                "denied".into()
            } else {
                "ok".into()
            },
            ip: Some("10.0.0.1".into()),
            request_id: None,
            detail: json!({ "i": i, "名": "值" }),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let all = tx
        .list_audit(&AuditQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 25);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(all[0].detail, json!({ "i": 24, "名": "值" }));
    let page = tx
        .list_audit(&AuditQuery {
            limit: 10,
            before_id: Some(all[9].id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.first().map(|e| e.id), Some(all[10].id));
    let denied = tx
        .list_audit(&AuditQuery {
            result: Some("denied".into()),
            actor_id: Some(0),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        denied
            .iter()
            .map(|e| e.object_id.clone().unwrap())
            .collect::<Vec<_>>(),
        ["15", "0"]
    );
    let window = tx
        .list_audit(&AuditQuery {
            since: Some(t0() + Duration::minutes(10)),
            until: Some(t0() + Duration::minutes(12)),
            action: Some("user.update".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(window.len(), 1);
    assert_eq!(window[0].at, t0() + Duration::minutes(10));
}

/// Two writers race on one row with the same version: exactly one wins.
pub async fn optimistic_concurrency_has_one_winner(store: &dyn Store) {
    let mut tx = store.write().await.unwrap();
    let d = seed_department(tx.as_mut(), "RACE", None).await;
    tx.commit().await.unwrap();
    let attempt = |name: &'static str| async move {
        let mut tx = store.write().await.unwrap();
        let r = tx
            .update_department(
                d.id,
                &DepartmentUpdate {
                    name: name.into(),
                    name_en: None,
                    parent_id: None,
                    kind: "department".into(),
                    phone: None,
                    active: true,
                    expected_version: 1,
                    now: t0(),
                },
            )
            .await;
        match r {
            Ok(_) => tx.commit().await.map(|_| true),
            Err(StoreError::VersionConflict) => Ok(false),
            Err(e) => Err(e),
        }
    };
    let (a, b) = tokio::join!(attempt("A"), attempt("B"));
    let wins = [a.unwrap(), b.unwrap()];
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_department(d.id).await.unwrap().unwrap().version, 2);
}

pub async fn taxonomy_rows(store: &dyn Store) {
    use cityloop_domain::taxonomy::builtin_classes;
    let builtin = builtin_classes();
    let mut tx = store.write().await.unwrap();
    for c in &builtin {
        assert!(tx.insert_class_if_absent(c, t0()).await.unwrap());
    }
    assert!(
        !tx.insert_class_if_absent(&builtin[0], t0()).await.unwrap(),
        "second insert is a no-op"
    );
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    let all = tx.list_classes().await.unwrap();
    assert_eq!(all.len(), builtin.len());
    let lamp = all
        .iter()
        .find(|c| c.class.class.to_string() == "C0118")
        .unwrap();
    assert_eq!(
        lamp.class,
        *builtin
            .iter()
            .find(|c| c.class == lamp.class.class)
            .unwrap()
    );
    let mut off = lamp.class.clone();
    off.enabled = false;
    off.name_en = "Street light".into();
    let updated = tx.update_class(&off, 1, t0()).await.unwrap();
    assert_eq!((updated.version, updated.class.enabled), (2, false));
    assert!(matches!(
        tx.update_class(&off, 1, t0()).await,
        Err(StoreError::VersionConflict)
    ));
    tx.commit().await.unwrap();
}

pub async fn rule_sets_are_versioned(store: &dyn Store) {
    let content = json!({ "conditions": [], "matrix": [], "process": { "limits": {}, "warn_at_percent": 80 } });
    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.next_rule_set_number().await.unwrap(), 1);
    let a = tx
        .insert_rule_set(&RuleSetNew {
            number: 1,
            name: "第1版".into(),
            content: content.clone(),
            based_on: None,
            created_by: "system:test".into(),
            now: t0(),
        })
        .await
        .unwrap();
    assert_eq!(
        (a.status.as_str(), a.effective_from, a.version),
        ("draft", None, 1)
    );
    let edited = tx
        .update_rule_set_draft(a.id, "第1版（修订）", &json!({ "x": 1 }), 1, t0())
        .await
        .unwrap();
    assert_eq!(
        (edited.version, edited.content.clone()),
        (2, json!({ "x": 1 }))
    );
    let day = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
    let published = tx
        .publish_rule_set(a.id, day, "admin", 2, t0())
        .await
        .unwrap();
    assert_eq!(
        (published.status.as_str(), published.effective_from),
        ("published", Some(day))
    );
    assert_eq!(published.published_by.as_deref(), Some("admin"));
    tx.commit().await.unwrap();

    // A published rule set never changes again.
    let mut tx = store.write().await.unwrap();
    assert!(matches!(
        tx.update_rule_set_draft(a.id, "x", &content, 3, t0()).await,
        Err(StoreError::VersionConflict)
    ));
    assert!(matches!(
        tx.delete_rule_set_draft(a.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        tx.publish_rule_set(a.id, day, "x", 3, t0()).await,
        Err(StoreError::VersionConflict)
    ));
    assert_eq!(tx.next_rule_set_number().await.unwrap(), 2);
    let b = tx
        .insert_rule_set(&RuleSetNew {
            number: 2,
            name: "第2版".into(),
            content,
            based_on: Some(a.id),
            created_by: "x".into(),
            now: t0(),
        })
        .await
        .unwrap();
    tx.delete_rule_set_draft(b.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let all = tx.list_rule_sets().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0], tx.get_rule_set(a.id).await.unwrap().unwrap());
}

pub async fn calendar_days(store: &dyn Store) {
    use cityloop_domain::calendar::{BUILTIN_HOLIDAYS_CSV, DayKind, DayRule, parse_holiday_csv};
    let days = parse_holiday_csv(BUILTIN_HOLIDAYS_CSV).unwrap();
    let mut tx = store.write().await.unwrap();
    for d in &days {
        tx.upsert_calendar_day(d, t0()).await.unwrap();
    }
    let date = chrono::NaiveDate::from_ymd_opt(2026, 2, 14).unwrap();
    tx.upsert_calendar_day(
        &DayRule {
            date,
            kind: DayKind::Holiday,
            festival: "changed".into(),
        },
        t0(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    let stored = tx.list_calendar_days().await.unwrap();
    assert_eq!(stored.len(), days.len());
    let changed = stored.iter().find(|d| d.date == date).unwrap();
    assert_eq!(
        (changed.kind, changed.festival.as_str()),
        (DayKind::Holiday, "changed")
    );
    assert!(tx.delete_calendar_day(date).await.unwrap());
    assert!(!tx.delete_calendar_day(date).await.unwrap());
    assert_eq!(tx.list_calendar_days().await.unwrap().len(), days.len() - 1);
    tx.commit().await.unwrap();
}

fn square(code: &str, lon: f64, lat: f64) -> GridUpsert {
    let d = 0.001;
    GridUpsert {
        code: code.into(),
        community_code: "330188001001".into(),
        name: None,
        area_m2: 10_000.0,
        geometry: format!(
            "{{\"type\":\"Polygon\",\"coordinates\":[[[{lon},{lat}],[{},{lat}],[{},{}],[{lon},{}],[{lon},{lat}]]]}}",
            lon + d,
            lon + d,
            lat + d,
            lat + d
        ),
        bbox: [lon, lat, lon + d, lat + d],
        raw: Some(json!({ "crs": "gcj02" })),
        now: t0(),
    }
}

fn component(id: &str, class: &str, lon: f64, lat: f64, grid: Option<&str>) -> ComponentUpsert {
    ComponentUpsert {
        id: id.into(),
        class_code: class.into(),
        name: "路灯".into(),
        grid_code: grid.map(Into::into),
        state: "intact".into(),
        dept_supervisor: Some("SZ".into()),
        dept_owner: Some("GD".into()),
        dept_maintainer: None,
        lon,
        lat,
        geometry: None,
        raw: None,
        initial_date: chrono::NaiveDate::from_ymd_opt(2020, 5, 1),
        change_date: None,
        data_source: Some("实测".into()),
        note: None,
        attributes: json!({ "材质": "铸铁" }),
        now: t0(),
    }
}

pub async fn grids_and_responsibility(store: &dyn Store) {
    let mut tx = store.write().await.unwrap();
    seed_areas(tx.as_mut()).await;
    let grids: Vec<GridUpsert> = (1..=3)
        .map(|i| {
            square(
                &format!("3301880010010{i}"),
                120.0 + f64::from(i) * 0.001,
                30.0,
            )
        })
        .collect();
    assert_eq!(tx.upsert_grids(&grids).await.unwrap(), 3);
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    let again = GridUpsert {
        area_m2: 9_500.0,
        ..grids[0].clone()
    };
    tx.upsert_grids(&[again]).await.unwrap();
    let g = tx.get_grid("33018800100101").await.unwrap().unwrap();
    assert_eq!((g.version, g.area_m2), (2, 9_500.0));
    assert_eq!(g.raw, Some(json!({ "crs": "gcj02" })));
    assert_eq!(g.bbox, grids[0].bbox);
    let near = tx
        .list_grids(Some([120.0015, 29.9, 120.0025, 30.1]))
        .await
        .unwrap();
    assert_eq!(
        near.iter().map(|g| g.code.as_str()).collect::<Vec<_>>(),
        ["33018800100101", "33018800100102"]
    );
    assert_eq!(tx.count_grids().await.unwrap(), 3);
    let orphan = GridUpsert {
        community_code: "330188009009".into(),
        ..square("33018800900901", 120.0, 30.0)
    };
    assert!(matches!(
        tx.upsert_grids(&[orphan]).await,
        Err(StoreError::Conflict(_))
    ));
    drop(tx);

    let mut tx = store.write().await.unwrap();
    let u = tx
        .insert_user(&new_user("inspector1", None, &[Role::Inspector], &[]))
        .await
        .unwrap();
    let rg = ResponsibilityGrid {
        code: "R001".into(),
        name: "江滨一组".into(),
        street_code: "330188001".into(),
        grid_codes: vec!["33018800100101".into(), "33018800100102".into()],
        inspector_ids: vec![u.id],
    };
    tx.put_responsibility_grid(&rg, t0()).await.unwrap();
    let smaller = ResponsibilityGrid {
        grid_codes: vec!["33018800100103".into()],
        ..rg.clone()
    };
    tx.put_responsibility_grid(&smaller, t0()).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.list_responsibility_grids().await.unwrap(), vec![smaller]);
}

pub async fn components_keep_history(store: &dyn Store) {
    let mut tx = store.write().await.unwrap();
    seed_areas(tx.as_mut()).await;
    tx.upsert_grids(&[square("33018800100101", 120.0, 30.0)])
        .await
        .unwrap();
    let many: Vec<ComponentUpsert> = (1..=1200)
        .map(|i| {
            component(
                &format!("330188011800{i:04}"),
                "0118",
                120.0 + f64::from(i) * 1e-6,
                30.0005,
                Some("33018800100101"),
            )
        })
        .collect();
    assert_eq!(
        tx.upsert_components(&many).await.unwrap(),
        1200,
        "batched beyond one statement"
    );
    tx.append_component_history(&[ComponentChange {
        component_id: many[0].id.clone(),
        version: 1,
        at: t0(),
        actor: "system:test".into(),
        action: "create".into(),
        before: None,
        after: json!({ "state": "intact" }),
    }])
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.count_components().await.unwrap(), 1200);
    let first = tx
        .get_components(&[many[0].id.clone(), "nope".into()])
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attributes, json!({ "材质": "铸铁" }));
    assert_eq!(
        first[0].initial_date,
        chrono::NaiveDate::from_ymd_opt(2020, 5, 1)
    );
    let broken = ComponentUpsert {
        state: "damaged".into(),
        now: t0() + Duration::days(1),
        ..many[0].clone()
    };
    let updated = tx.update_component(&broken, 1).await.unwrap();
    assert_eq!((updated.version, updated.state.as_str()), (2, "damaged"));
    assert!(matches!(
        tx.update_component(&broken, 1).await,
        Err(StoreError::VersionConflict)
    ));
    tx.append_component_history(&[ComponentChange {
        component_id: many[0].id.clone(),
        version: 2,
        at: t0() + Duration::days(1),
        actor: "sysadmin".into(),
        action: "update".into(),
        before: Some(json!({ "state": "intact" })),
        after: json!({ "state": "damaged" }),
    }])
    .await
    .unwrap();
    let history = tx.component_history(&many[0].id).await.unwrap();
    assert_eq!(
        history.iter().map(|h| h.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(history[1].before, Some(json!({ "state": "intact" })));

    let page = tx
        .list_components(&ComponentQuery {
            bbox: Some([120.0, 30.0, 120.0001, 30.001]),
            class_code: Some("0118".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 10);
    assert!(page.windows(2).all(|w| w[0].id < w[1].id));
    let next = tx
        .list_components(&ComponentQuery {
            after_id: page.last().map(|c| c.id.clone()),
            limit: 5,
            state: Some("intact".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        next.iter()
            .all(|c| c.id > page[9].id && c.state == "intact")
    );
    let points = tx.component_points().await.unwrap();
    assert_eq!(points.len(), 1200);
    tx.commit().await.unwrap();
}

pub async fn addresses_upsert_by_normalised_text(store: &dyn Store) {
    let addr = |text: &str, n: i64| AddressNew {
        text: text.into(),
        normalized: text.replace("临江区", ""),
        road: "解放路".into(),
        number: Some(n),
        lon: 120.1,
        lat: 30.2 + n as f64 * 1e-5,
        community_code: Some("330188001001".into()),
        grid_code: None,
        source: "survey".into(),
        now: t0(),
    };
    let mut tx = store.write().await.unwrap();
    tx.upsert_addresses(&[addr("临江区解放路1号", 1), addr("临江区解放路3号", 3)])
        .await
        .unwrap();
    tx.upsert_addresses(&[addr("临江区解放路3号", 5)])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let all = tx.list_addresses().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].number, Some(5));
}
