//! `otklik route` is the service's own decision: for every message of the corpora (the
//! sample notifications, the reply corpus, the inputs the fuzzers found), the dry run of
//! the real binary and the real handler, on the same store at the same moment, agree.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Utc;
use otklik::config::{self, SecretCheck};
use otklik::daemon;
use otklik::handler::Handler;
use otklik::store::{Disposition, Store};

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
    drop(Store::open(&state).expect("store"));

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
        let handler = Handler::new(Store::open(&state).expect("store"), secret.clone());
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
