//! Upgrades are safe: a store written by an earlier version opens in this one and holds all
//! it held. `tests/data/store-v1/` keeps a small store of format 1 (a tarball of the sled
//! directory, made by `the_fixture_scenario_packs_and_reads_back_whole` below from a fixed scenario) and
//! `expected.json`, what was in it when it was written: every case with its state, every
//! due escalation step, every queued mail and dead letter, the ledger and the counters.
//! Every later version must open it (migrating it if the format changed) and find all of it.

use otklik_testkit::offline;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use otklik_core::auth::Secret;
use otklik_core::config::Config;

use otklik::handler::Intake;
use otklik::store::{FORMAT_VERSION, MetaKey, Store, StoreError};
use serde::{Deserialize, Serialize};

use offline::DOMAIN;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/store-v1")
}

/// What a reader must find in the fixture (written with it).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Expected {
    format: u32,
    next_case: u64,
    /// `OTK-N state executor`, by number.
    cases: Vec<String>,
    open_cases: Vec<u64>,
    /// `case kind step at`, soonest first.
    due: Vec<String>,
    /// `seq message-id to attempts`, in sequence order.
    queued: Vec<String>,
    dead: Vec<String>,
    /// The ledger of handled messages: their dispositions and cases, by key.
    ledger: Vec<String>,
    /// The attachments of the cases, by hash.
    attachments: Vec<String>,
    last_digest: Option<String>,
}

fn far_future() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap()
}

/// Reads everything the fixture promises out of a store.
fn inventory(store: &Store, ledger_keys: &[String]) -> Expected {
    let mut cases = Vec::new();
    let mut attachments = BTreeSet::new();
    for c in store.cases() {
        let c = c.expect("every case record reads");
        cases.push(format!(
            "{} {} {}",
            c.id,
            c.state.as_str(),
            c.executor.as_deref().unwrap_or("-")
        ));
        // The bytes too: the record holds references, the attachment tree the bytes.
        let full = store
            .case(c.number)
            .expect("the case with its attachments")
            .expect("the case is there");
        for a in &full.notification.attachments {
            assert_eq!(a.data.len() as u64, a.size, "{}: {}", c.id, a.filename);
            attachments.insert(format!("{} {} {}", a.sha256, a.filename, a.size));
        }
    }
    let due = store
        .due_until(far_future())
        .expect("the due index reads")
        .iter()
        .map(|d| format!("{} {:?} {} {}", d.case, d.kind, d.step, d.at.to_rfc3339()))
        .collect();
    let queued = store
        .outbox()
        .expect("the outbox reads")
        .iter()
        .map(|m| {
            assert!(!m.raw.is_empty(), "mail {} has its bytes", m.seq);
            format!(
                "{} {} {} {}",
                m.seq,
                m.message_id,
                m.to.join(","),
                m.attempts
            )
        })
        .collect();
    let dead = store
        .dead_letters()
        .expect("the dead letters read")
        .iter()
        .map(|m| {
            assert!(!m.raw.is_empty(), "dead letter {} has its bytes", m.seq);
            format!(
                "{} {} {} {}",
                m.seq,
                m.message_id,
                m.to.join(","),
                m.last_error.as_deref().unwrap_or("-")
            )
        })
        .collect();
    let ledger = ledger_keys
        .iter()
        .map(|k| {
            let r = store
                .inbound(k)
                .expect("the ledger reads")
                .unwrap_or_else(|| panic!("ledger entry {k} is missing"));
            format!("{k} {:?} {:?}", r.disposition, r.case)
        })
        .collect();
    Expected {
        format: store.format_version().expect("the format version reads"),
        next_case: store.peek_next_case().expect("the case counter reads"),
        cases,
        open_cases: store.open_case_numbers().expect("the open cases read"),
        due,
        queued,
        dead,
        ledger,
        attachments: attachments.into_iter().collect(),
        last_digest: store.meta_get(&MetaKey::LastDigest).expect("meta reads"),
    }
}

/// The fixture's store, unpacked into a fresh directory (the tarball is never opened in
/// place: opening may migrate it).
fn unpack(dir: &Path) {
    unpack_from(&fixture_dir(), dir);
}

fn unpack_from(fixture: &Path, dir: &Path) {
    let tarball = fixture.join("store.tar.gz");
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir)
        .output()
        .expect("run tar");
    assert!(
        out.status.success(),
        "tar -xzf {}: {}",
        tarball.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn expected() -> (Expected, Vec<String>) {
    #[derive(Deserialize)]
    struct File {
        ledger_keys: Vec<String>,
        expected: Expected,
    }
    let path = fixture_dir().join("expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let f: File = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (f.expected, f.ledger_keys)
}

#[test]
fn a_format_1_store_opens_and_holds_everything_it_held() {
    let dir = tempfile::tempdir().unwrap();
    unpack(dir.path());
    let (mut want, ledger_keys) = expected();
    // A sanity check of the fixture itself: cases in every state, due steps, queued mail.
    let states: BTreeSet<&str> = want
        .cases
        .iter()
        .filter_map(|c| c.split(' ').nth(1))
        .collect();
    for s in [
        "unassigned",
        "assigned",
        "draft_submitted",
        "rework",
        "interim_approved",
        "approved",
        "closed",
        "excluded",
    ] {
        assert!(states.contains(s), "the fixture has no {s} case");
    }
    assert!(!want.due.is_empty() && !want.queued.is_empty() && !want.dead.is_empty());

    let store = Store::open(dir.path()).expect("a format 1 store opens");
    // Opened by this version, the store is of this version's format.
    want.format = FORMAT_VERSION;
    assert_eq!(inventory(&store, &ledger_keys), want);
    // And it still takes a new case after the old ones (the counter survived).
    assert_eq!(store.peek_next_case().unwrap(), want.next_case);
    drop(store);
    // Opening it again changes nothing more.
    let store = reopen(dir.path());
    assert_eq!(inventory(&store, &ledger_keys), want);
}

/// The migration to format 2 fills the `answered` tree from the cases once: every case of
/// the format 1 fixture whose answer was approved is in the archive after it (as it was
/// when the archive read the cases), and nothing else is.
#[test]
fn a_format_1_store_s_approved_answers_are_in_the_archive_after_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    unpack(dir.path());
    let store = Store::open(dir.path()).expect("a format 1 store opens");
    assert_eq!(store.format_version().unwrap(), 2);
    let zone = chrono_tz::Asia::Barnaul;
    let want: Vec<otklik_core::archive::Entry> = store
        .cases()
        .map(|c| c.expect("every case record reads"))
        .filter_map(|c| otklik_core::archive::Entry::of_case(&c, zone))
        .collect();
    let ids: Vec<&str> = want.iter().map(|e| e.id.as_str()).collect();
    assert!(
        ids.contains(&"OTK-5") && ids.contains(&"OTK-6"),
        "the fixture's approved and closed cases have approved answers: {ids:?}"
    );
    let got: Vec<otklik_core::archive::Entry> = store
        .answered_entries(zone)
        .collect::<Result<_, _>>()
        .expect("the archived answers read");
    assert_eq!(got, want);
    let archive = otklik::archive::Archive::load(&store, zone).expect("the archive loads");
    let imported = store.archive_entries().count();
    assert_eq!(archive.len(), imported + want.len());
    // Each is found, and read back whole, by its own post.
    for e in &want {
        let q = otklik_core::archive::Query {
            text: e.text.clone(),
            topic: e.topic.clone(),
            location: e.location.clone(),
        };
        let found = archive.candidates(&q);
        assert!(
            found.iter().any(|s| s.id == e.id && s.answer == e.answer),
            "{}: {found:?}",
            e.id
        );
    }
    let (_, problems) = store.check().expect("check-store reads the store");
    assert!(problems.is_empty(), "{problems:?}");
    drop((archive, store));
    // Opened again, a store of format 2 is not scanned again: start-up reads the rows only
    // (emptied behind its back here, they stay empty).
    {
        let db = sled_reopen(&dir.path().join("store"));
        db.open_tree("answered").unwrap().clear().unwrap();
        db.flush().unwrap();
    }
    let store = reopen(dir.path());
    assert_eq!(store.answered_entries(zone).count(), 0);
}

/// Opens a store just closed in this process: sled's background thread may still hold its
/// lock for a moment, so wait for it rather than fail on a busy machine.
fn reopen(dir: &std::path::Path) -> Store {
    Store::open_waiting(dir, std::time::Duration::from_secs(60)).expect("the store reopens")
}

/// [`reopen`] for sled itself, on the store's own directory.
fn sled_reopen(path: &std::path::Path) -> sled::Db {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(e) if std::time::Instant::now() >= until => panic!("sled reopens: {e}"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
}

#[test]
fn a_store_without_a_version_is_format_1_and_a_newer_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.format_version().unwrap(), FORMAT_VERSION);
        assert_eq!(
            store.meta_get(&MetaKey::FormatVersion).unwrap().as_deref(),
            Some(FORMAT_VERSION.to_string().as_str())
        );
        // As stores written before the key existed.
        store.meta_remove(&MetaKey::FormatVersion).unwrap();
        store.flush_blocking().unwrap();
    }
    {
        // Reopened at once: sled's thread may still hold the lock of the store just closed.
        let store = Store::open_waiting(dir.path(), std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(
            store.meta_get(&MetaKey::FormatVersion).unwrap().as_deref(),
            Some(FORMAT_VERSION.to_string().as_str()),
            "opening an unversioned store migrates it and writes the key"
        );
        store
            .meta_set(&MetaKey::FormatVersion, &(FORMAT_VERSION + 1).to_string())
            .unwrap();
        store.flush_blocking().unwrap();
    }
    let err = match Store::open_waiting(dir.path(), std::time::Duration::from_secs(10)) {
        Err(e) => e,
        Ok(_) => panic!("a store of a newer format must not open"),
    };
    assert!(
        matches!(err, StoreError::NewerFormat { found, known, .. } if found == FORMAT_VERSION + 1 && known == FORMAT_VERSION),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("newer than this otklik reads") && text.contains("backup"),
        "{text}"
    );
    // The service refuses to start on it with the same words, not "another otklik running".
    let start = otklik::daemon::StartError::from(err);
    assert!(!start.to_string().contains("another otklik"), "{start}");
}

// ------------------------------------------------------------------ the fixture's making

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
}

/// The offline test config with a supervisor and an escalation ladder, so that open cases
/// have due steps.
fn fixture_config(dir: &Path) -> Arc<Config> {
    let lexicon = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/exclude-words.txt");
    let text = format!(
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
from = "Обратная связь <otklik@{DOMAIN}>"

[calendar]
timezone = "UTC"
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = ["00:00-24:00"]

[deadlines]
answer = "9h"
draft_before_answer = "4h"
rework = "1h"
final_after_interim = "7d"

[people]
coordinator = {{ name = "Балакирева Ольга", email = "coord@{DOMAIN}" }}
supervisor = {{ name = "Шевич Наталья", email = "super@{DOMAIN}" }}
publisher = "press@{DOMAIN}"

[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
email = "housing@{DOMAIN}"

[[rules]]
name = "ЖКХ"
topic = ["ЖКХ*"]
executor = "housing"

# One executor: a model would route everything to it; case 7 must stay unassigned.
[routing]
model = false

[[escalations]]
deadline = "draft"
at = "-1h"
notify = ["executor"]

[[escalations]]
deadline = "answer"
at = "0s"
notify = ["coordinator", "supervisor"]

[intake]
senders = ["*@monitoring.example"]
exclude_words_file = "{lexicon}"
source_timezone = "Europe/Moscow"
"#,
        state = dir.join("state").display(),
        lexicon = lexicon.display(),
    );
    let env = |name: &str| (name == "OTKLIK_TEST_PASSWORD").then(|| "x".to_string());
    match otklik::config::load_str_env(
        &text,
        &dir.join("otklik.toml"),
        otklik_core::config::SecretCheck::Require,
        &env,
    ) {
        Ok(c) => Arc::new(c),
        Err(e) => panic!("fixture config invalid:\n{e}"),
    }
}

fn notification(id: &str, topic: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: Мониторинг <robot@monitoring.example>\r\nTo: otklik@{DOMAIN}\r\n\
         Subject: Новый инцидент №{id}\r\nMessage-ID: <n{id}@monitoring.example>\r\n\
         Date: Tue, 01 Dec 2026 10:15:00 +0300\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Номер инцидента: {id}\r\nДата выявления: 01.12.2026 10:15 (МСК)\r\nРубрика: {topic}\r\n\
         Локация: с. Волчиха\r\nКатегория важности: Средняя\r\nАвтор: Автор {id}\r\n\
         Ссылка: https://vk.com/wall-1_{id}\r\nТекст сообщения:\r\n{extra}Нет воды третий день.\r\n"
    )
    .into_bytes()
}

/// A notification with a small photo attached.
fn with_photo(id: &str) -> Vec<u8> {
    use lettre::message::header::ContentType;
    use lettre::message::{Attachment as Part, MultiPart, SinglePart};
    let photo: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    let text = format!(
        "Номер инцидента: {id}\r\nДата выявления: 01.12.2026 10:15 (МСК)\r\nРубрика: ЖКХ\r\n\
         Локация: с. Волчиха\r\nАвтор: Автор {id}\r\nСсылка: https://vk.com/wall-1_{id}\r\n\
         Текст сообщения:\r\nЯма во дворе, фото приложено.\r\n"
    );
    lettre::Message::builder()
        .from("Мониторинг <robot@monitoring.example>".parse().unwrap())
        .to(format!("otklik@{DOMAIN}").parse().unwrap())
        .subject(format!("Новый инцидент №{id}"))
        .message_id(Some(format!("<n{id}@monitoring.example>")))
        .date(now().into())
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(text))
                .singlepart(
                    Part::new("yama.jpg".into())
                        .body(photo, ContentType::parse("image/jpeg").unwrap()),
                ),
        )
        .unwrap()
        .formatted()
}

/// Builds the fixture's scenario (a case in every state, due steps, queued and dead mail),
/// packs it as the fixture is packed and checks that the unpacked copy holds all of it.
/// With `OTKLIK_WRITE_STORE_FIXTURE=1` it writes `tests/data/store-v1/` itself — only for a
/// new format's fixture: the committed one stays as it is.
#[test]
fn the_fixture_scenario_packs_and_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture_config(dir.path());
    std::fs::create_dir_all(&config.service.state_dir).unwrap();
    let store = Store::open(&config.service.state_dir).unwrap();
    let secret = Secret::new(vec![7; 32]);
    let handler = Intake::new(store.clone(), secret.clone());
    let mut ledger_keys = Vec::new();
    let mut handle = |raw: Vec<u8>| {
        let h = handler.handle(&config, &raw, None, now()).expect("handled");
        let mail = otklik_core::inbound::Inbound::parse(&raw).expect("parses");
        ledger_keys.push(otklik::store::inbound_key(
            mail.message_id.as_deref(),
            mail.from.as_ref().map(|a| a.email.as_str()),
            &raw,
        ));
        h
    };
    let coord = format!("coord@{DOMAIN}");
    let housing = format!("housing@{DOMAIN}");
    let reply = |n: u64, from: &str, body: &str, mid: &str| -> Vec<u8> {
        // The coordinator's code is bound to the approval round: one draft each here, none
        // on OTK-8 (excluded before any draft).
        let code = if from.starts_with("coord@") {
            secret.round_code(n, from, u64::from(n != 8))
        } else {
            secret.action_code(n, from)
        };
        format!(
            "From: {from}\r\nTo: otklik@{DOMAIN}\r\nSubject: Re: [OTK-{n}] ЖКХ #{code}\r\n\
             Message-ID: <{mid}@mail.example>\r\nDate: Tue, 01 Dec 2026 11:00:00 +0300\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        )
        .into_bytes()
    };
    // 1 assigned (with a photo), 2 draft submitted, 3 rework, 4 interim approved,
    // 5 approved, 6 closed (published), 7 unassigned, 8 excluded.
    for (n, raw) in [
        (1, with_photo("1001")),
        (2, notification("1002", "ЖКХ", "")),
        (3, notification("1003", "ЖКХ", "")),
        (4, notification("1004", "ЖКХ", "")),
        (5, notification("1005", "ЖКХ", "")),
        (6, notification("1006", "ЖКХ", "")),
        (7, notification("1007", "Спорт", "")),
        (8, notification("1008", "ЖКХ", "")),
    ] {
        let h = handle(raw);
        assert_eq!(
            h.case.as_deref(),
            Some(format!("OTK-{n}").as_str()),
            "{h:?}"
        );
    }
    for (i, n, from, body) in [
        (2, &housing, "Вода будет к вечеру."),
        (3, &housing, "Вода будет к вечеру."),
        (3, &coord, "ДОРАБОТАТЬ\r\nУкажите время."),
        (4, &housing, "ПРОМЕЖУТОЧНЫЙ\r\nРаботы идут."),
        (4, &coord, "СОГЛАСОВАНО"),
        (5, &housing, "Вода будет к вечеру."),
        (5, &coord, "СОГЛАСОВАНО"),
        (6, &housing, "Вода будет к вечеру."),
        (6, &coord, "СОГЛАСОВАНО"),
        (6, &coord, "ОПУБЛИКОВАНО"),
        (8, &coord, "ИСКЛЮЧИТЬ\r\nОскорбления."),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (n, from, body))| (i, n, from.clone(), body))
    .collect::<Vec<_>>()
    {
        let h = handle(reply(n, &from, body, &format!("r{i}")));
        assert_eq!(
            h.disposition,
            otklik_core::decide::Disposition::Processed,
            "OTK-{n} {body}: {h:?}"
        );
    }
    // The outbox as the sender leaves it: one mail retried twice, one refused for good.
    let mails = store.outbox().unwrap();
    assert!(mails.len() >= 3, "{} mails", mails.len());
    let retry = now() + chrono::Duration::minutes(5);
    store
        .outbox_failed(&mails[0], "smtp: connection failed: refused", Some(retry))
        .unwrap();
    let again = store.outbox_mail(mails[0].seq).unwrap().unwrap();
    store
        .outbox_failed(&again, "smtp: connection failed: refused", Some(retry))
        .unwrap();
    store
        .outbox_failed(
            &mails[1],
            "smtp: server refused the message permanently: 550 5.1.1 no such user",
            None,
        )
        .unwrap();
    store.meta_set(&MetaKey::LastDigest, "2026-11-30").unwrap();
    store.flush_blocking().unwrap();

    let want = inventory(&store, &ledger_keys);
    for s in [
        "draft_submitted",
        "rework",
        "interim_approved",
        "approved",
        "closed",
        "excluded",
        "unassigned",
    ] {
        assert!(
            want.cases.iter().any(|c| c.contains(&format!(" {s} "))),
            "no {s} case: {:?}",
            want.cases
        );
    }
    assert!(!want.due.is_empty(), "no due steps");
    drop(handler);
    drop(store);

    let scratch = tempfile::tempdir().unwrap();
    let out_dir = if std::env::var_os("OTKLIK_WRITE_STORE_FIXTURE").is_some() {
        fixture_dir()
    } else {
        scratch.path().join("store-v1")
    };
    std::fs::create_dir_all(&out_dir).unwrap();
    #[derive(Serialize)]
    struct File<'a> {
        ledger_keys: &'a [String],
        expected: &'a Expected,
    }
    let json = serde_json::to_string_pretty(&File {
        ledger_keys: &ledger_keys,
        expected: &want,
    })
    .unwrap();
    std::fs::write(out_dir.join("expected.json"), json + "\n").unwrap();
    let status = Command::new("tar")
        .args([
            "--sort=name",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-czf",
        ])
        .arg(out_dir.join("store.tar.gz"))
        .arg("-C")
        .arg(&config.service.state_dir)
        .arg("store")
        .status()
        .unwrap();
    assert!(status.success());
    // What was packed reads back whole.
    let back = tempfile::tempdir().unwrap();
    unpack_from(&out_dir, back.path());
    let store = Store::open(back.path()).unwrap();
    assert_eq!(inventory(&store, &ledger_keys), want);
}
