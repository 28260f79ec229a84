//! The binary's command line: configuration errors, database checks, user management.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn cityloop(args: &[&str], stdin: Option<&str>, dir: &std::path::Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cityloop"))
        .args(args)
        .current_dir(dir)
        .env_remove("CITYLOOP_DATABASE_URL")
        .env_remove("CITYLOOP_CONFIG")
        .env("CITYLOOP_AUTH__ARGON2_MEMORY_KIB", "1024")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

#[test]
fn default_config_is_the_example_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = cityloop(&["default-config"], None, dir.path());
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("[database]"));
}

#[test]
fn malformed_config_is_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "[server]\nrequest_timeout_secs = -3\n",
    )
    .unwrap();
    let out = cityloop(&["--config", "c.toml", "config-test"], None, dir.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("request_timeout_secs"), "{err}");

    let out = cityloop(
        &["config-test", "--database-url", "mysql://x"],
        None,
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("database.url"));
    assert!(!dir.path().join("data").exists(), "nothing written");
}

#[test]
fn unreachable_database_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = cityloop(
        &[
            "config-test",
            "--database-url",
            "postgres://nobody:hunter2@127.0.0.1:1/none",
        ],
        None,
        dir.path(),
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("unavailable"), "{err}");
    assert!(!err.contains("hunter2"), "secrets never printed: {err}");
}

#[tokio::test]
async fn newer_schema_is_refused_and_untouched() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite://db.sqlite3";
    let out = cityloop(&["migrate", "--database-url", url], None, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let file = format!("sqlite://{}/db.sqlite3", dir.path().display());
    let mut conn = sqlx::SqliteConnection::connect(&file).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', '2099-01-01', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    for cmd in ["migrate", "serve"] {
        let out = cityloop(&[cmd, "--database-url", url], None, dir.path());
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(
            err.contains("99990101000000") && err.contains("newer cityloop"),
            "{err}"
        );
    }
}

#[test]
fn users_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let db = ["--database-url", "sqlite://u.sqlite3"];
    let add = |args: &[&str], stdin: Option<&str>| {
        let mut all = vec!["user", "add"];
        all.extend_from_slice(args);
        all.extend_from_slice(&db);
        cityloop(&all, stdin, dir.path())
    };
    let out = add(
        &[
            "admin",
            "--name",
            "管理员",
            "--role",
            "sys_admin",
            "--password-stdin",
        ],
        Some("Strong#2026x\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = add(&["bob", "--name", "Bob", "--role", "wizard"], None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("--role") && err.contains("wizard"), "{err}");
    let out = add(&["carol", "--name", "Carol", "--role", "leader"], None);
    assert!(out.status.success());
    let generated = text(&out.stdout);
    let password = generated.lines().last().unwrap().trim();
    assert_eq!(password.len(), 16, "{generated}");
    let out = add(&["admin", "--name", "again"], Some("Strong#2026x\n"));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("exists"));

    let mut list = vec!["user", "list"];
    list.extend_from_slice(&db);
    let out = cityloop(&list, None, dir.path());
    let listing = text(&out.stdout);
    assert!(
        listing.contains("admin") && listing.contains("sys_admin") && listing.contains("carol"),
        "{listing}"
    );

    let mut passwd = vec!["user", "passwd", "carol", "--password-stdin"];
    passwd.extend_from_slice(&db);
    let out = cityloop(&passwd, Some("weak\n"), dir.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("password"));
    let out = cityloop(&passwd, Some("Blue#Sky2026\n"), dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn rules_and_calendar_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--database-url", "sqlite://r.sqlite3"]);
        cityloop(&all, None, dir.path())
    };
    std::fs::write(
        dir.path().join("bad.csv"),
        "小类代码,小类名称,立案条件,处置时限\n0505,机动车乱停放,占道停放,soon\n0999,?,x,2小时\n",
    )
    .unwrap();
    let out = run(&["rules", "import", "bad.csv", "--kind", "event"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.csv line 2, column 处置时限")
            && err.contains("bad.csv line 3, column 小类代码"),
        "{err}"
    );

    std::fs::write(
        dir.path().join("rules.csv"),
        "大类代码,大类名称,小类代码,小类名称,责任单位,立案条件,处置时限,结案条件,备注\n\
         05,街面秩序,0505,机动车乱停放,,占道停放影响通行,2小时,车辆驶离,\n\
         01,市容环境,0102,暴露垃圾,,成堆暴露垃圾,4个工作时,清除干净,\n",
    )
    .unwrap();
    let out = run(&["rules", "validate", "rules.csv", "--kind", "event"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("2 filing conditions"));
    let out = run(&["rules", "import", "rules.csv", "--kind", "event"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("draft id 1"));
    let out = run(&["rules", "validate", "--id", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("no filing condition"),
        "unruled classes are warned about"
    );
    let out = run(&["rules", "publish", "1", "--effective-from", "2030-01-01"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["rules", "export", "out.xlsx", "--id", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        std::fs::metadata(dir.path().join("out.xlsx"))
            .unwrap()
            .len()
            > 1000
    );
    let out = run(&["rules", "list"]);
    assert!(text(&out.stdout).contains("published"));

    std::fs::write(
        dir.path().join("2027.csv"),
        "date,kind,festival\n2027-01-01,holiday,New Year's Day\n",
    )
    .unwrap();
    let out = run(&["calendar", "import", "2027.csv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["calendar", "list", "--year", "2027"]);
    assert!(
        text(&out.stdout).contains("2018–2027") && text(&out.stdout).contains("2027-01-01 holiday")
    );
    let out = run(&["calendar", "set", "2026-03-04", "workday"]);
    assert!(
        !out.status.success(),
        "a Wednesday is not an adjusted working day"
    );
    assert_eq!(text(&out.stderr).trim().lines().count(), 1);
}
