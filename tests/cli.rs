//! The command line as users and scripts see it (the README's command list): exit status, messages, output.

mod support;

use std::process::{Command, Output};

use support::service::*;

fn otklik(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otklik"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env(
            "OTKLIK_TEST_IMAP_PASSWORD",
            support::mailstack::MailStack::PASSWORD,
        )
        .output()
        .expect("run otklik")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn example() -> std::path::PathBuf {
    repo_path("config/otklik.toml")
}

#[test]
fn check_config_accepts_the_example_and_rejects_a_broken_copy_with_line_and_column() {
    let ok = otklik(&example(), &["check-config"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert_eq!(stdout(&ok), "ok\n");

    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(example()).unwrap();
    std::fs::copy(
        repo_path("config/exclude-words.txt"),
        dir.path().join("exclude-words.txt"),
    )
    .unwrap();
    let broken = text
        .replacen("answer = \"9h\"", "answer = \"9x\"", 1)
        .replacen("executor = \"housing\"", "executor = \"nobody\"", 1);
    let path = dir.path().join("otklik.toml");
    std::fs::write(&path, &broken).unwrap();
    let bad = otklik(&path, &["check-config"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = stderr(&bad);
    let line_of = |needle: &str| broken.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        err.contains(&format!(
            "{}:{}:",
            path.display(),
            line_of("answer = \"9x\"")
        )),
        "{err}"
    );
    assert!(err.contains("deadlines.answer"), "{err}");
    assert!(
        err.contains(&format!(":{}:", line_of("executor = \"nobody\""))),
        "{err}"
    );
    assert!(err.contains("nobody"), "{err}");

    let missing = otklik(&dir.path().join("nope.toml"), &["check-config"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("nope.toml"));
}

#[test]
fn deadline_prints_one_rfc3339_line_in_the_calendar_zone() {
    let o = otklik(
        &example(),
        &[
            "deadline",
            "--from",
            "2026-12-01T10:00:00+07:00",
            "--add",
            "7d",
        ],
    );
    assert_eq!(stdout(&o), "2026-12-10T17:00:00+07:00\n", "{}", stderr(&o));
    let o = otklik(
        &example(),
        &["deadline", "--from", "2026-12-30 16:00", "--add", "9h"],
    );
    assert_eq!(
        stdout(&o),
        "2027-01-11T17:00:00+07:00\n",
        "31 Dec 2026 and the New Year holidays are off"
    );
    let o = otklik(
        &example(),
        &["deadline", "--from", "2026-12-04 15:00", "--add", "1h30m"],
    );
    assert_eq!(stdout(&o), "2026-12-04T16:30:00+07:00\n");
    let bad = otklik(
        &example(),
        &["deadline", "--from", "2026-12-04 15:00", "--add", "1d4h"],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("1d4h"));
    let usage = otklik(&example(), &["deadline", "--from", "2026-12-04 15:00"]);
    assert_eq!(usage.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn route_is_a_dry_run_with_the_verdict() {
    let sample = repo_path("tests/data/notifications/a-plain-utf8.eml");
    let o = otklik(&example(), &["route", sample.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["verdict"], "routed");
    assert_eq!(v["executor"], "housing");
    assert_eq!(v["notification"]["source_id"], "48213");
    // Category «Высокая»: 4 h answer, draft 1 h before (the example's categories).
    assert_eq!(v["deadlines"]["answer"], "2026-12-02T09:15:00+07:00");
    assert_eq!(v["deadlines"]["draft"], "2026-12-02T08:15:00+07:00");
    let text = otklik(&example(), &["route", sample.to_str().unwrap()]);
    assert!(stdout(&text).contains("verdict:   routed"));
}

/// `cases`, `show` and `report` against one config, whoever holds the store.
fn check_reads(config: &std::path::Path) {
    let cases = otklik(config, &["cases"]);
    assert_eq!(cases.status.code(), Some(0), "{}", stderr(&cases));
    let out = stdout(&cases);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.contains("OTK-1") && out.contains("housing") && out.contains("OTK-2"),
        "{out}"
    );

    let show = otklik(config, &["show", "OTK-1", "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&show)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&show)));
    assert_eq!(v["id"], "OTK-1");
    assert_eq!(v["state"], "assigned");
    assert_eq!(v["deadlines"]["answer"], "2026-12-02T15:15:00+07:00");
    assert_eq!(v["history"][0]["event"], "created");
    let text = otklik(config, &["show", "2"]);
    assert!(
        stdout(&text).contains("OTK-2  assigned"),
        "{}",
        stdout(&text)
    );
    let unknown = otklik(config, &["show", "OTK-99"]);
    assert_eq!(unknown.status.code(), Some(1));

    let csv = otklik(
        config,
        &[
            "report",
            "--from",
            "2026-12-01",
            "--to",
            "2026-12-31",
            "--format",
            "csv",
        ],
    );
    let body = stdout(&csv);
    assert!(body.starts_with('\u{feff}'), "BOM");
    assert!(body.lines().any(|l| l.starts_with("housing;")), "{body}");
    let json = otklik(
        config,
        &[
            "report",
            "--from",
            "2026-12-01",
            "--to",
            "2026-12-31",
            "--format",
            "json",
        ],
    );
    let rows: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(rows.as_array().map(|r| r.len()), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_show_and_report_with_the_daemon_running_and_stopped() {
    let (stack, p, _dir, svc) = start_on_shared("cli", RU_CALENDAR).await;
    stack
        .append(&p.service(), "INBOX", &sample("a-plain-utf8.eml"))
        .await;
    stack
        .append(&p.service(), "INBOX", &sample("d-attachment.eml"))
        .await;
    svc.wait_cases(2).await;
    let config = svc.config_path.clone();
    // The daemon holds the store: the CLI asks it over the control socket.
    let c = config.clone();
    tokio::task::spawn_blocking(move || check_reads(&c))
        .await
        .unwrap();
    // The daemon stopped: the CLI opens the store itself.
    svc.stop().await;
    tokio::task::spawn_blocking(move || check_reads(&config))
        .await
        .unwrap();
}
