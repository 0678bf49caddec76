#![allow(dead_code)] // each fuzz target uses one of these
//! What each fuzz target does with its input, shared with `tests/fuzz_regressions.rs`
//! (which replays every input kept in `tests/data/fuzz/<target>/`). Each function must
//! return without panicking, whatever the bytes; the results are checked only for the
//! invariants that hold for any input.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{TimeZone, Utc};

use otklik_core::config::Labels;
use otklik_core::config::{Address, SecretCheck};
use otklik_core::inbound::{Automatic, Inbound, MAX_TEXT_BYTES};
use otklik_core::intake;
use otklik_core::reply;

use otklik::config;

/// Notification intake: raw mail → `Inbound::parse` → `intake::parse_notification`.
pub(crate) fn notification(data: &[u8]) {
    let Ok(mail) = Inbound::parse(data) else {
        return;
    };
    check_inbound(&mail);
    // The sender's proof and the link check read the same hostile bytes.
    for (_, value) in &mail.auth_results {
        let _ = otklik_core::authres::parse(value);
    }
    let _ = otklik_core::authres::sender_proven(&mail.auth_results, Some("mx"), "a@b.c");
    let hosts = vec!["vk.com".to_string()];
    let arrival = Utc.with_ymd_and_hms(2026, 12, 1, 7, 15, 0).unwrap();
    let labels = Labels::builtin();
    if let Ok(mut n) =
        intake::parse_notification(&mail, &labels, chrono_tz::Europe::Moscow, arrival)
    {
        otklik_core::sender::sanitise(&mut n, &hosts, Some(arrival));
        assert!(
            n.topic.is_some() || n.link.is_some(),
            "a notification needs a topic or a link"
        );
        assert!(!n.text.trim().is_empty(), "a notification needs a text");
    }
}

/// Replies: the bytes as a raw message, and the bytes as an already parsed message
/// (first line the subject, the rest the text; so the reply parser sees text that
/// mail-parser would have normalised away).
pub(crate) fn reply(data: &[u8]) {
    if let Ok(mail) = Inbound::parse(data) {
        check_inbound(&mail);
        check_reply(&mail);
    }
    let text = String::from_utf8_lossy(data);
    let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
    let mail = Inbound {
        message_id: None,
        in_reply_to: Vec::new(),
        references: Vec::new(),
        from: Some(Address {
            name: Some("Шишова Татьяна Михайловна".to_string()),
            email: "shishova@volchiha.example".to_string(),
        }),
        subject: subject.to_string(),
        date: None,
        automatic: None::<Automatic>,
        text: body.to_string(),
        from_html: false,
        attachments: Vec::new(),
        auth_results: Vec::new(),
        from_encoded: None,
    };
    check_reply(&mail);
}

fn check_inbound(mail: &Inbound) {
    assert!(
        mail.text.len() <= MAX_TEXT_BYTES,
        "the body text is held to MAX_TEXT_BYTES: {}",
        mail.text.len()
    );
}

fn check_reply(mail: &Inbound) {
    let parsed = reply::parse_reply(mail, "OTK");
    assert!(
        parsed.codes.len() <= reply::MAX_CODES,
        "at most MAX_CODES codes: {}",
        parsed.codes.len()
    );
    for code in &parsed.codes {
        assert_eq!(
            code.chars().count(),
            8,
            "an action code is 8 characters: {code:?}"
        );
    }
}

/// The config loader on arbitrary text (secrets lenient, a fixed environment).
pub(crate) fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |name: &str| name.starts_with("OTKLIK_").then(|| "x".to_string());
    // Beside config/exclude-words.txt, so that the example config's relative paths resolve.
    let path = config_dir().join("otklik.toml");
    if let Err(e) = config::load_str_env(text, &path, SecretCheck::Lenient, &env) {
        // Every problem renders (line/column arithmetic on odd text must not panic).
        let _ = e.to_string();
    }
}

/// The repo's `config/` (the fuzz crate's manifest dir is `fuzz/`, the tests' the repo).
fn config_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = if here.join("config").is_dir() {
            here
        } else {
            here.parent().unwrap_or(here)
        };
        root.join("config")
    })
}
