//! `otklik route` is the service's own decision: for every message of the corpora (the
//! sample notifications, the reply corpus, the inputs the fuzzers found), the dry run of
//! the real binary and the real handler, on the same store at the same moment, agree.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Utc;

use otklik_core::config::SecretCheck;
use otklik_core::decide::Disposition;

use otklik::config;
use otklik::daemon;
use otklik::handler::Intake;
use otklik::store::Store;

/// Opens the test's store, waiting while the last handle's lock is let go: sled gives its
/// file lock back from a background thread shortly after a store is dropped, so opening it
/// again at once can find it still held on a busy machine.
fn open(state: &Path) -> Store {
    Store::open_waiting(state, std::time::Duration::from_secs(60)).expect("store")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn config_text(state: &Path) -> String {
    let d = "volchiha.example";
    format!(
        r#"
[service]
state_dir = "{state}"
case_prefix = "OTK"
[imap]
host = "127.0.0.1"
tls = "none"
username = "otklik"
password_env = "OTKLIK_TEST_PASSWORD"
[smtp]
host = "127.0.0.1"
tls = "none"
from = "Обратная связь <incidents@{d}>"
[calendar]
timezone = "Asia/Barnaul"
preset = "ru"
[people]
coordinator = {{ name = "Иванов Иван Иванович", email = "ivanov@{d}" }}
supervisor = {{ name = "Шевич Наталья", email = "shevich@{d}" }}
publisher = "press@{d}"
[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
email = "shishova@{d}"
deputy = "economy"
[[executors]]
id = "economy"
name = "Никитин Сергей Владимирович"
email = "nikitin@{d}"
[[rules]]
name = "ЖКХ"
topic = ["ЖКХ*", "Благоустройство*"]
executor = "housing"
[intake]
senders = ["*@monitoring.example", "*@incidents.example", "*@medialogia.example", "*@pos.gosuslugi.example", "*@volchiha.example"]
exclude_words_file = "{lexicon}"
"#,
        state = state.display(),
        lexicon = root().join("config/exclude-words.txt").display(),
    )
}

fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "tests/data/notifications",
        "tests/data/replies",
        "tests/data/fuzz/notification",
        "tests/data/fuzz/reply",
    ] {
        let Ok(rd) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_file() && !name.ends_with(".expect") && !name.starts_with('.') {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn route_and_the_service_agree_on_every_message_of_the_corpora() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    let config_path = dir.path().join("otklik.toml");
    std::fs::write(&config_path, config_text(&state)).expect("config");
    let env = |name: &str| (name == "OTKLIK_TEST_PASSWORD").then(|| "x".to_string());
    let config = match config::load_env(&config_path, SecretCheck::Require, &env) {
        Ok(c) => std::sync::Arc::new(c),
        Err(e) => panic!("{e}"),
    };
    let secret = daemon::load_secret(&state).expect("secret");
    // A store with the service's own state, closed again so that `route` may open it.
    drop(open(&state));

    let files = corpus();
    assert!(files.len() >= 60, "only {} corpus files", files.len());
    let mut compared = 0;
    let mut processed = 0;
    for file in &files {
        let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
            .arg("--config")
            .arg(&config_path)
            .args(["route", "--json"])
            .arg(file)
            .env("OTKLIK_TEST_PASSWORD", "x")
            .output()
            .expect("run otklik route");
        let raw = std::fs::read(file).expect("corpus file");
        let handler = Intake::new(open(&state), secret.clone());
        let handled = match handler.handle(&config, &raw, None, Utc::now()) {
            Ok(h) => h,
            Err(e) => panic!("{}: only the store may fail a message: {e}", file.display()),
        };
        drop(handler);
        let name = file.display();
        if !out.status.success() {
            // route refuses what it cannot read as a message at all; so does the service.
            assert_eq!(handled.disposition, Disposition::Rejected, "{name}");
            assert!(
                handled.note.contains("malformed"),
                "{name}: {}",
                handled.note
            );
            compared += 1;
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("route --json output");
        let verdict = json["verdict"].as_str().unwrap_or_default().to_string();
        let says_rejected = verdict.starts_with("rejected");
        assert_eq!(
            says_rejected,
            handled.disposition == Disposition::Rejected,
            "{name}: route said {verdict:?}, the service {:?} ({})",
            handled.disposition,
            handled.note
        );
        let opened = [
            "routed",
            "repeat of",
            "excluded",
            "unassigned",
            "duplicate of",
        ]
        .iter()
        .any(|w| verdict.starts_with(w));
        if !opened {
            assert!(
                verdict.ends_with(&handled.note),
                "{name}: route said {verdict:?}, the service noted {:?}",
                handled.note
            );
        }
        processed += usize::from(handled.disposition == Disposition::Processed);
        compared += 1;
    }
    assert_eq!(compared, files.len());
    // The corpus holds notifications that open cases: the comparison is not all refusals.
    assert!(processed >= 5, "only {processed} messages were taken in");
}

/// A notification from the platform, as `otklik route` and the service both read it.
fn platform_mail(id: &str, author: &str, auto: Option<&str>) -> String {
    let auto = auto
        .map(|a| format!("Auto-Submitted: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "From: Инцидент Менеджмент <noreply@monitoring.example>\r\n\
         To: incidents@volchiha.example\r\n\
         Subject: =?UTF-8?B?{subject}?=\r\n\
         Date: Tue, 01 Dec 2026 10:00:00 +0700\r\n\
         Message-ID: <route-{id}@monitoring.example>\r\n\
         {auto}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         \r\n\
         Номер инцидента: {id}\r\n\
         Рубрика: ЖКХ / Водоснабжение\r\n\
         Локация: с. Волчиха\r\n\
         Автор: {author}\r\n\
         Ссылка: https://vk.com/wall-1_{id}\r\n\
         Выявлено: 01.12.2026 10:00\r\n\
         \r\n\
         Текст сообщения:\r\n\
         Нет воды третий день.\r\n",
        subject = base64_utf8(&format!("Новый инцидент №{id}")),
    )
}

fn base64_utf8(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The cases the corpora miss: automatic mail from the platform (auto-generated is how
/// platforms send; an auto-reply is never a notification), an executor away (the deputy
/// takes the case), a repeat by the same author on the same topic, and a duplicate — the
/// dry run says what the service then does, message by message, on the same store.
#[test]
fn route_and_the_service_agree_on_automatic_mail_absences_and_repeats() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    let config_path = dir.path().join("otklik.toml");
    let text = config_text(&state).replace(
        "email = \"shishova@volchiha.example\"\n",
        "email = \"shishova@volchiha.example\"\nabsent = [\"2000-01-01..2099-12-31\"]\n",
    );
    assert!(text.contains("absent = "));
    std::fs::write(&config_path, text).expect("config");
    let env = |name: &str| (name == "OTKLIK_TEST_PASSWORD").then(|| "x".to_string());
    let config = match config::load_env(&config_path, SecretCheck::Require, &env) {
        Ok(c) => std::sync::Arc::new(c),
        Err(e) => panic!("{e}"),
    };
    let secret = daemon::load_secret(&state).expect("secret");
    drop(open(&state));
    let mails = [
        // (message, what route must say first)
        (
            platform_mail("8101", "Автор А", Some("auto-generated")),
            "routed",
        ),
        (platform_mail("8102", "Автор А", None), "repeat of OTK-1"),
        (platform_mail("8102", "Автор А", None), "duplicate"),
        (
            platform_mail("8103", "Автор Б", Some("auto-replied")),
            "rejected",
        ),
    ];
    for (i, (raw, expected)) in mails.iter().enumerate() {
        let file = dir.path().join(format!("{i}.eml"));
        std::fs::write(&file, raw).expect("eml");
        let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
            .arg("--config")
            .arg(&config_path)
            .args(["route", "--json"])
            .arg(&file)
            .env("OTKLIK_TEST_PASSWORD", "x")
            .output()
            .expect("run otklik route");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let verdict = json["verdict"].as_str().unwrap_or_default().to_string();
        let handler = Intake::new(open(&state), secret.clone());
        let handled = handler
            .handle(&config, raw.as_bytes(), None, Utc::now())
            .expect("handled");
        drop(handler);
        let cases = open(&state).cases().count();
        assert_eq!(
            verdict.starts_with("rejected"),
            handled.disposition == Disposition::Rejected,
            "mail {i}: route said {verdict:?}, the service {:?} ({})",
            handled.disposition,
            handled.note
        );
        match *expected {
            "duplicate" => assert!(
                json["duplicate_of"].as_str() == Some("OTK-2"),
                "mail {i}: {json}"
            ),
            "rejected" => assert!(verdict.starts_with("rejected"), "mail {i}: {verdict}"),
            w => assert!(verdict.starts_with(w), "mail {i}: {verdict}"),
        }
        // The absent executor's deputy, in the dry run as in the case opened.
        if i < 2 {
            assert_eq!(json["executor"], "economy", "mail {i}: {json}");
            assert_eq!(cases, i + 1);
        }
    }
}

/// Another author's post about the same problem at the same place: `otklik route` shows
/// the flag (verdict and `possible_repeat`), and the service, on the same store, opens the
/// case with the same flag; a post about another problem there has none.
#[test]
fn route_shows_a_possible_repeat_by_another_author() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    let config_path = dir.path().join("otklik.toml");
    std::fs::write(&config_path, config_text(&state)).expect("config");
    let env = |name: &str| (name == "OTKLIK_TEST_PASSWORD").then(|| "x".to_string());
    let config = match config::load_env(&config_path, SecretCheck::Require, &env) {
        Ok(c) => std::sync::Arc::new(c),
        Err(e) => panic!("{e}"),
    };
    let secret = daemon::load_secret(&state).expect("secret");
    drop(open(&state));
    let post = |id: &str, author: &str, text: &str| {
        platform_mail(id, author, None).replace("Нет воды третий день.", text)
    };
    let mails = [
        (
            post(
                "8201",
                "Автор А",
                "На Садовой прорвало водопровод, вода течёт по дороге.",
            ),
            None,
        ),
        (
            post(
                "8202",
                "Автор Б",
                "Третий день из прорванной трубы течёт вода, водопровод не чинят.",
            ),
            Some("OTK-1"),
        ),
        (
            post(
                "8203",
                "Автор В",
                "На Садовой не горят фонари, вечером темно.",
            ),
            None,
        ),
    ];
    for (i, (raw, flagged)) in mails.iter().enumerate() {
        let file = dir.path().join(format!("{i}.eml"));
        std::fs::write(&file, raw).expect("eml");
        let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
            .arg("--config")
            .arg(&config_path)
            .args(["route", "--json"])
            .arg(&file)
            .env("OTKLIK_TEST_PASSWORD", "x")
            .output()
            .expect("run otklik route");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let verdict = json["verdict"].as_str().unwrap_or_default().to_string();
        assert_eq!(
            json["possible_repeat"]["of"].as_str(),
            *flagged,
            "mail {i}: {json}"
        );
        if let Some(of) = flagged {
            assert!(
                verdict.contains(&format!("possible repeat of {of}")),
                "mail {i}: {verdict}"
            );
        }
        let handler = Intake::new(open(&state), secret.clone());
        handler
            .handle(&config, raw.as_bytes(), None, Utc::now())
            .expect("handled");
        drop(handler);
        let store = open(&state);
        let case = store
            .case(i as u64 + 1)
            .expect("store")
            .expect("the case opened");
        assert_eq!(
            case.possible_repeat.as_ref().map(|p| p.of.as_str()),
            *flagged,
            "mail {i}: {:?}",
            case.history
        );
    }
}
