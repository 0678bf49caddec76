//! What an operator watches, end to end with the real `otklik` binary against the running
//! service and a real Dovecot + Postfix: `otklik status` answers OK (0), WARNING (1) and
//! CRITICAL (2) by the Nagios convention, and a mail Postfix refuses for good becomes a
//! dead letter that `otklik outbox` shows and `otklik outbox --resend` sends once the
//! cause is fixed. No test waits on a wall-clock threshold: the WARNING comes from a case
//! detected a month ago, the CRITICAL from a stopped service or a dead letter.

use otklik_testkit as support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::mailstack::MailStack;
use support::service::*;

/// Runs the installed-style binary with the test's config: (exit status, stdout, stderr).
async fn otklik(config: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_otklik"));
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .env_remove("OTKLIK_CONFIG");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the command's task")
        .expect("run otklik");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn status_json(config: &Path) -> (i32, Value) {
    let (code, out, err) = otklik(config, &["status", "--json"]).await;
    let v: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("status --json is no JSON ({e}):\n{out}\n{err}"));
    assert_eq!(v["code"].as_i64(), Some(code as i64), "{v:#}");
    (code, v)
}

/// Runs `otklik status --json` until `pred` holds (the service works asynchronously).
async fn wait_status(config: &Path, what: &str, pred: impl Fn(i32, &Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (code, v) = status_json(config).await;
        if pred(code, &v) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "status never became {what}: {v:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A notification whose post was detected a month before now: its deadlines are long past.
fn month_old_notification(stack: &MailStack, p: &People, id: &str) -> Vec<u8> {
    let month_ago = chrono::Utc::now() - chrono::Duration::days(30);
    let author = format!("Автор {id}");
    notification_detected(
        stack,
        p,
        id,
        "ЖКХ",
        &author,
        "Нет воды с октября.",
        "",
        month_ago,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_is_ok_idle_warning_with_an_overdue_case_and_critical_when_stopped() {
    let (stack, p, _dir, svc) = start_on_shared("stat", ALWAYS_CALENDAR).await;
    let config = svc.config_path.clone();

    // Running, idle, nothing to do: OK, exit status 0.
    let v = wait_status(&config, "connected", |_, v| {
        v["imap"]["connected"] == Value::Bool(true)
    })
    .await;
    assert_eq!(v["status"], "ok", "{v:#}");
    assert_eq!(v["running"], true);
    assert_eq!(v["open_cases"], 0);
    assert_eq!(v["dead_letters"], 0);
    assert_eq!(v["imap"]["state"], "idle", "{v:#}");
    assert!(v["up_since"].is_string() && v["imap"]["last_contact"].is_string());
    let (code, line, err) = otklik(&config, &["status"]).await;
    assert_eq!(code, 0, "{line}{err}");
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    assert!(
        line.starts_with(
            "OTKLIK OK - 0 open cases, 0 overdue, outbox 0, 0 dead letters, imap idle, up "
        ),
        "{line}"
    );
    assert!(
        line.contains("|open_cases=0 overdue_cases=0;0 outbox=0"),
        "{line}"
    );

    // A case past its deadlines: WARNING, exit status 1, naming it.
    to_service(
        stack,
        &p,
        &p.monitor(),
        &month_old_notification(stack, &p, "9301"),
    )
    .await;
    svc.wait_cases(1).await;
    let v = wait_status(&config, "warning", |code, _| code == 1).await;
    assert_eq!(v["status"], "warning");
    assert_eq!(v["overdue_cases"], serde_json::json!(["OTK-1"]), "{v:#}");
    let (code, line, _) = otklik(&config, &["status"]).await;
    assert_eq!(code, 1, "{line}");
    assert!(
        line.starts_with("OTKLIK WARNING - 1 case overdue (OTK-1); 1 open case, 1 overdue,"),
        "{line}"
    );

    // Stopped: CRITICAL, exit status 2.
    svc.stop().await;
    let (code, line, _) = otklik(&config, &["status"]).await;
    assert_eq!(code, 2, "{line}");
    assert!(
        line.starts_with("OTKLIK CRITICAL - not running: "),
        "{line}"
    );
    let (code, v) = status_json(&config).await;
    assert_eq!((code, &v["running"]), (2, &Value::Bool(false)), "{v:#}");

    // A config it cannot read: UNKNOWN, exit status 3, the reason in the line.
    let (code, line, _) = otklik(Path::new("/nonexistent/otklik.toml"), &["status"]).await;
    assert_eq!(code, 3, "{line}");
    assert!(
        line.starts_with("OTKLIK UNKNOWN - /nonexistent/otklik.toml"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_mail_is_a_dead_letter_the_operator_sees_and_resends_once_fixed() {
    // Its own stack: Postfix restarts when the refusal is set and lifted.
    let stack = MailStack::start();
    let p = People::new("dead");
    let housing = stack.addr(&p.executor("housing"));
    stack.refuse_recipient(&housing);
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::start(
        dir.path(),
        &config_for(&stack, &p, dir.path(), ALWAYS_CALENDAR),
    )
    .await;
    let config = svc.config_path.clone();

    to_service(
        &stack,
        &p,
        &p.monitor(),
        &notification(&stack, &p, "9302", "ЖКХ", "Автор", "Нет воды.", ""),
    )
    .await;
    svc.wait_cases(1).await;

    // The executor's mail is refused for good: a dead letter, listed with its reason.
    let deadline = tokio::time::Instant::now() + WAIT;
    let dead = loop {
        let (code, out, err) = otklik(&config, &["outbox", "--dead", "--json"]).await;
        assert_eq!(code, 0, "{out}{err}");
        let list: Vec<Value> = serde_json::from_str(&out).expect("outbox --json");
        if let Some(m) = list.into_iter().next() {
            break m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no dead letter; the log of postfix:\n{}",
            support::mailstack::tail(&stack.postfix_log(), 20)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(dead["state"], "dead", "{dead:#}");
    assert_eq!(dead["to"], serde_json::json!([housing]), "{dead:#}");
    assert_eq!(dead["case"], "OTK-1", "{dead:#}");
    assert!(
        dead["subject"].as_str().unwrap_or("").contains("[OTK-1]"),
        "{dead:#}"
    );
    assert!(
        dead["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("550")
                && e.contains("5.1.1")
                && e.contains("no such mailbox")),
        "{dead:#}"
    );
    let seq = dead["seq"].as_u64().expect("seq").to_string();
    let (_, listing, _) = otklik(&config, &["outbox"]).await;
    let line = listing
        .lines()
        .find(|l| l.starts_with(&format!("{seq} ")))
        .unwrap_or_else(|| panic!("mail {seq} not in the listing:\n{listing}"));
    assert!(
        line.contains("dead") && line.contains(&housing) && line.contains("OTK-1"),
        "{line}"
    );

    // The monitoring check sees it: CRITICAL.
    let (code, line, _) = otklik(&config, &["status"]).await;
    assert_eq!(code, 2, "{line}");
    assert!(
        line.starts_with("OTKLIK CRITICAL - 1 dead letter"),
        "{line}"
    );

    // The operator fixes the cause (the mailbox exists now) and resends it.
    stack.accept_recipient(&housing);
    let (code, out, err) = otklik(&config, &["outbox", "--resend", &seq]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("queued again"), "{out}");
    let got = stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    assert!(got.subject.contains("[OTK-1]"), "{}", got.summary());

    // Gone from the dead letters; the check is OK again; a second resend is refused.
    let v = wait_status(&config, "ok", |code, _| code == 0).await;
    assert_eq!(
        (&v["dead_letters"], &v["outbox"]),
        (&0.into(), &0.into()),
        "{v:#}"
    );
    let (code, out, _) = otklik(&config, &["outbox", "--dead", "--json"]).await;
    assert_eq!((code, out.trim()), (0, "[]"));
    let (code, _, err) = otklik(&config, &["outbox", "--resend", &seq]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("no mail {seq}")), "{err}");
    // Delivered once.
    let all = stack.fetch_all(&p.executor("housing"), "INBOX").await;
    assert_eq!(
        all.iter()
            .filter(|m| m.message_id == got.message_id)
            .count(),
        1,
        "{:?}",
        all.iter().map(|m| m.summary()).collect::<Vec<_>>()
    );
    svc.stop().await;
}
