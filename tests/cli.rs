//! The command line as users and scripts see it (the README's command list): exit status, messages, output.

use otklik_testkit as support;

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
        .replacen("executor = \"finance\"", "executor = \"nobody\"", 1);
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
    // The example config leaves the topic to the routing model (its rules are phrases).
    assert_eq!(v["verdict"], "routed by the model");
    assert_eq!(v["routed_by"], "model");
    assert_eq!(v["executor"], "housing");
    assert_eq!(v["notification"]["source_id"], "48213");
    // One 9-hour answer deadline for every category (cl. 6), the draft 4 h before it:
    // detected Tue 14:15 → Wed 15:15, draft Wed 10:15.
    assert_eq!(v["deadlines"]["answer"], "2026-12-02T15:15:00+07:00");
    assert_eq!(v["deadlines"]["draft"], "2026-12-02T10:15:00+07:00");
    let text = otklik(&example(), &["route", sample.to_str().unwrap()]);
    assert!(stdout(&text).contains("verdict:   routed by the model"));
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

/// The example config with its `state_dir` in `dir`.
fn config_in(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(example()).unwrap().replacen(
        "state_dir = \"/var/lib/otklik\"",
        &format!("state_dir = {:?}", dir.join("state").display().to_string()),
        1,
    );
    std::fs::copy(
        repo_path("config/exclude-words.txt"),
        dir.join("exclude-words.txt"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let path = dir.join("otklik.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A store with one dead letter (about case 3) and one queued mail; their numbers.
fn store_with_a_dead_letter(state_dir: &std::path::Path) -> (u64, u64) {
    let store = otklik::store::Store::open(state_dir).unwrap();
    a_dead_letter_in(&store)
}

/// A dead letter and a queued mail committed to `store`: their numbers.
fn a_dead_letter_in(store: &otklik::store::Store) -> (u64, u64) {
    use chrono::TimeZone;
    use otklik::store::Commit;
    use otklik_core::compose::OutMail;
    let at = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap();
    let mail = |seq: u64, case: Option<u64>, subject: &str| OutMail {
        seq,
        case,
        message_id: format!("m{seq}@example.ru"),
        envelope_from: "otklik@example.ru".into(),
        to: vec!["housing@example.ru".into()],
        raw: format!("Subject: {subject}\r\nTo: housing@example.ru\r\n\r\nbody\r\n").into_bytes(),
        attempts: 0,
        next_attempt: at,
        last_error: None,
        created: at,
    };
    let dead = mail(
        store.generate_id().unwrap(),
        Some(3),
        "=?UTF-8?B?W09USy0zXSDQndC10YIg0LLQvtC00Ys=?=",
    );
    let queued = mail(store.generate_id().unwrap(), None, "Digest");
    store
        .commit(Commit {
            outbox: vec![dead.clone(), queued.clone()],
            ..Commit::default()
        })
        .unwrap();
    store
        .outbox_failed(&dead, "550 5.1.1 no such user", None)
        .unwrap();
    store.flush_blocking().unwrap();
    (dead.seq, queued.seq)
}

/// `outbox`, `--dead`, `--json`, `--resend` and its errors against one config.
fn check_outbox(config: &std::path::Path, dead: u64, queued: u64) {
    let all = otklik(config, &["outbox"]);
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    let out = stdout(&all);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with(&format!("{queued} ")), "{out}");
    assert!(
        lines[0].contains("queued") && lines[0].contains("01.12.2026 10:00"),
        "{out}"
    );
    assert!(lines[1].starts_with(&format!("{dead} ")), "{out}");
    for field in [
        "dead",
        "housing@example.ru",
        "OTK-3",
        "[OTK-3] Нет воды",
        "no such user",
    ] {
        assert!(lines[1].contains(field), "{field}: {out}");
    }

    let only = otklik(config, &["outbox", "--dead", "--json"]);
    assert_eq!(only.status.code(), Some(0), "{}", stderr(&only));
    let v: serde_json::Value = serde_json::from_str(&stdout(&only)).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["seq"], dead);
    assert_eq!(rows[0]["state"], "dead");
    assert_eq!(rows[0]["to"][0], "housing@example.ru");
    assert_eq!(rows[0]["case"], "OTK-3");
    assert_eq!(rows[0]["subject"], "[OTK-3] Нет воды");
    assert_eq!(rows[0]["attempts"], 0);
    assert_eq!(rows[0]["last_error"], "550 5.1.1 no such user");
    assert_eq!(rows[0]["next_attempt"], serde_json::Value::Null);
    let all = otklik(config, &["outbox", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&all)).unwrap();
    assert_eq!(v[0]["next_attempt"], "2026-12-01T10:00:00+07:00");
    assert_eq!(v[0]["case"], serde_json::Value::Null);

    for (id, why) in [("999", "no mail 999"), (&*queued.to_string(), "not dead")] {
        let bad = otklik(config, &["outbox", "--resend", id]);
        assert_eq!(bad.status.code(), Some(1), "{}", stdout(&bad));
        let err = stderr(&bad);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(why), "{err}");
    }

    let resent = otklik(config, &["outbox", "--resend", &dead.to_string()]);
    assert_eq!(resent.status.code(), Some(0), "{}", stderr(&resent));
    assert!(stdout(&resent).contains(&format!("mail {dead} queued again")));
    let after = otklik(config, &["outbox", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&after)).unwrap();
    let rows = v.as_array().unwrap();
    let back = rows.iter().find(|r| r["seq"] == dead).unwrap();
    assert_eq!(
        (&back["state"], &back["attempts"]),
        (&"queued".into(), &0.into())
    );
    assert_ne!(back["next_attempt"], serde_json::Value::Null);
    let none = otklik(config, &["outbox", "--dead"]);
    assert_eq!(stdout(&none), "");
    let twice = otklik(config, &["outbox", "--resend", &dead.to_string()]);
    assert_eq!(twice.status.code(), Some(1));
}

#[test]
fn outbox_lists_and_resends_dead_letters_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    let (dead, queued) = store_with_a_dead_letter(&dir.path().join("state"));
    check_outbox(&config, dead, queued);
}

/// While the daemon holds the store, the command goes over the control socket, and a
/// resend wakes the sender.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_resends_over_the_control_socket_and_wakes_the_sender() {
    use otklik::control;
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    let state = dir.path().join("state");
    // One handle for the whole test: reopening right after a close can find sled's lock
    // still held by its background thread.
    let store = otklik::store::Store::open(&state).unwrap();
    let (dead, queued) = a_dead_letter_in(&store);
    let listener = tokio::net::UnixListener::bind(control::socket_path(&state)).unwrap();
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let server = tokio::spawn(control::serve(listener, store.clone(), wake.clone()));
    tokio::task::spawn_blocking(move || check_outbox(&config, dead, queued))
        .await
        .unwrap();
    // The store stays held by this process throughout: the command cannot have opened it.
    // The resend left a wake-up for the sender (a permit, as `notify_one` leaves).
    use futures::FutureExt;
    assert!(
        wake.notified().now_or_never().is_some(),
        "the sender was not woken"
    );
    server.abort();
}

/// A notification whose subject and post carry terminal escape sequences: a window title
/// (OSC), a screen clear (CSI), a C1 CSI and a right-to-left override.
fn hostile_notification() -> Vec<u8> {
    let text = "Нет воды\x1b]0;pwned\x07 третий день\x1b[2J\u{9b}31m \u{202e}gnp.exe";
    format!(
        "From: noreply@monitoring.example\r\nTo: incidents@volchiha.example\r\n\
         Subject: Новый инцидент 777\x1b[2J\r\nDate: Tue, 01 Dec 2026 06:16:01 +0300\r\n\
         Message-ID: <hostile-777@monitoring.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Номер инцидента: 777\r\nДата выявления: 01.12.2026 10:15 (МСК)\r\n\
         Рубрика: ЖКХ / Водоснабжение\x1b[5m\r\nЛокация: с. Волчиха\r\n\
         Автор: Иван\x1b]8;;http://evil.example\x07 Петров\r\n\
         Ссылка: https://vk.com/wall-1_777\r\nТекст сообщения:\r\n{text}\r\n"
    )
    .into_bytes()
}

/// Nothing a terminal would act on: no C0 control but newline and tab, no DEL, no C1, no
/// direction override or isolate.
fn assert_terminal_safe(what: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect();
    assert!(bad.is_empty(), "{what} prints raw {bad:?}:\n{text}");
}

#[test]
fn mail_text_reaches_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    let file = dir.path().join("hostile.eml");
    std::fs::write(&file, hostile_notification()).unwrap();
    let file = file.to_str().unwrap();

    let route = otklik(&config, &["route", file]);
    assert_eq!(route.status.code(), Some(0), "{}", stderr(&route));
    assert_terminal_safe("route", &route.stdout);
    let out = stdout(&route);
    assert!(out.contains("verdict:   routed"), "{out}");
    assert!(
        out.contains("Нет воды\\e]0;pwned\\x07 третий день\\e[2J\\u{009b}31m \\u{202e}gnp.exe"),
        "the post shown escaped: {out}"
    );
    // JSON: serde escapes C0; what it leaves raw is escaped too, and the JSON means the same.
    let json = otklik(&config, &["route", file, "--json"]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    assert_terminal_safe("route --json", &json.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert!(
        v["notification"]["text"]
            .as_str()
            .unwrap()
            .contains("\x1b]0;pwned\x07 третий день\x1b[2J\u{9b}31m \u{202e}gnp.exe")
    );

    // The case in the store: `cases` and `show` print it escaped too.
    {
        let loaded = otklik::cli::load_config(&config, otklik_core::config::SecretCheck::Lenient)
            .expect("config");
        let loaded = std::sync::Arc::new(loaded);
        let store = otklik::store::Store::open(&loaded.service.state_dir).unwrap();
        let handler = otklik::handler::Intake::new(
            store.clone(),
            otklik_core::auth::Secret::new(vec![1; 32]),
        );
        let h = handler
            .handle(&loaded, &hostile_notification(), None, chrono::Utc::now())
            .expect("handled");
        assert_eq!(h.case.as_deref(), Some("OTK-1"), "{h:?}");
        store.flush_blocking().unwrap();
    }
    for args in [&["cases"][..], &["cases", "--all"], &["show", "OTK-1"]] {
        let o = otklik(&config, args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_terminal_safe(&format!("{args:?}"), &o.stdout);
        assert!(stdout(&o).contains("OTK-1"), "{args:?}: {}", stdout(&o));
    }
    let show = stdout(&otklik(&config, &["show", "OTK-1"]));
    assert!(show.contains("\\e]0;pwned\\x07"), "{show}");
    assert!(show.contains("Водоснабжение\\e[5m"), "{show}");
    let json = otklik(&config, &["show", "OTK-1", "--json"]);
    assert_terminal_safe("show --json", &json.stdout);
}

#[test]
fn archive_import_refuses_a_bad_file_whole_and_similar_finds_the_earlier_answer() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    // A bad row on line 3: nothing imported, the line named.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "\u{feff}id;topic;location;text;answer\r\nA-1;ЖКХ;с. Волчиха;Труба;Заменили.\r\nA-2;ЖКХ;с. Волчиха;Текст;\r\n",
    )
    .unwrap();
    let o = otklik(&config, &["archive", "import", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stderr(&o).contains("line 3"), "{}", stderr(&o));
    assert!(stderr(&o).contains("answer is empty"), "{}", stderr(&o));

    let good = dir.path().join("earlier.jsonl");
    std::fs::write(
        &good,
        concat!(
            r#"{"id":"A-1","topic":"ЖКХ","location":"с. Волчиха","text":"Во дворе дома на Ленина прорвало трубу отопления, кипяток течёт","answer":"Аварийная бригада заменила участок трубы отопления.","date":"15.04.2025","executor":"housing"}"#,
            "\n",
            r#"{"id":"A-2","topic":"Дороги","location":"с. Волчиха","text":"Яма на дороге у школы","answer":"Яму засыпали."}"#,
            "\n"
        ),
    )
    .unwrap();
    let o = otklik(&config, &["archive", "import", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "2 imported\n");
    // The same ids again: refused, nothing imported twice.
    let o = otklik(&config, &["archive", "import", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("already in the archive"),
        "{}",
        stderr(&o)
    );

    let eml = dir.path().join("n.eml");
    std::fs::write(
        &eml,
        "From: noreply@monitoring.example\r\nTo: incidents@volchiha.example\r\nSubject: Incident\r\nMessage-ID: <n1@monitoring.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nНомер инцидента: 1\r\nРубрика: ЖКХ\r\nЛокация: с. Волчиха\r\nТекст сообщения:\r\nНа Ленина опять прорвало трубу отопления, горячая вода течёт по двору\r\n",
    )
    .unwrap();
    let o = otklik(&config, &["similar", "--json", eml.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list[0]["id"], "A-1", "{v}");
    assert!(list[0]["score"].as_f64().unwrap() > 0.2, "{v}");
    assert!(
        list[0]["answer"]
            .as_str()
            .unwrap()
            .contains("Аварийная бригада")
    );
    assert!(list.iter().all(|s| s["id"] != "A-2"), "{v}");
    // Nothing fits: an empty array.
    let stranger = dir.path().join("s.eml");
    std::fs::write(
        &stranger,
        "From: noreply@monitoring.example\r\nTo: incidents@volchiha.example\r\nSubject: Incident\r\nMessage-ID: <n2@monitoring.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nНомер инцидента: 2\r\nРубрика: Культура\r\nЛокация: с. Лебяжье\r\nТекст сообщения:\r\nКогда пройдёт фестиваль народного творчества?\r\n",
    )
    .unwrap();
    let o = otklik(&config, &["similar", "--json", stranger.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "[]");
}
