//! The message handler without a mail stack: raw bytes in, a disposition and a commit out.
//! Hostile and broken mail must be rejected with a reason and never stop the next message;
//! only a store that cannot be written may fail a message.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use otklik::auth::Secret;
use otklik::config::{self, Config, SecretCheck};
use otklik::handler::{Handled, Handler};
use otklik::store::{Disposition, Store};

const DOMAIN: &str = "volchiha.example";

fn config(dir: &Path) -> Arc<Config> {
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
publisher = "press@{DOMAIN}"

[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
email = "housing@{DOMAIN}"

[[rules]]
name = "ЖКХ"
topic = ["ЖКХ*"]
executor = "housing"

[intake]
senders = ["*@monitoring.example"]
exclude_words_file = "{lexicon}"
source_timezone = "Europe/Moscow"
"#,
        state = dir.join("state").display(),
        lexicon = lexicon.display(),
    );
    let env = |name: &str| (name == "OTKLIK_TEST_PASSWORD").then(|| "x".to_string());
    match config::load_str_env(&text, &dir.join("otklik.toml"), SecretCheck::Require, &env) {
        Ok(c) => Arc::new(c),
        Err(e) => panic!("test config invalid:\n{e}"),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    config: Arc<Config>,
    handler: Handler,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path());
    std::fs::create_dir_all(&config.service.state_dir).expect("state dir");
    let store = Store::open(&config.service.state_dir).expect("store");
    let handler = Handler::new(store, Secret::new(vec![7; 32]));
    Fixture {
        _dir: dir,
        config,
        handler,
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 4, 0, 0).unwrap()
}

impl Fixture {
    fn handle(&self, raw: &[u8]) -> Handled {
        match self.handler.handle(&self.config, raw, None, now()) {
            Ok(h) => h,
            Err(e) => panic!("only the store may fail a message, got: {e}"),
        }
    }

    /// Opens a case from a fresh notification; returns its id (`OTK-N`).
    fn open_case(&self, id: &str) -> String {
        let h = self.handle(&notification(id));
        assert_eq!(h.disposition, Disposition::Processed, "{h:?}");
        h.case.expect("a case")
    }
}

fn notification(id: &str) -> Vec<u8> {
    format!(
        "From: Мониторинг <robot@monitoring.example>\r\nTo: otklik@{DOMAIN}\r\n\
         Subject: Новый инцидент №{id}\r\nMessage-ID: <n{id}@monitoring.example>\r\n\
         Date: Tue, 01 Dec 2026 10:15:00 +0300\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Номер инцидента: {id}\r\nДата выявления: 01.12.2026 10:15 (МСК)\r\nРубрика: ЖКХ\r\n\
         Локация: с. Волчиха\r\nКатегория важности: Средняя\r\nАвтор: Иван Петров\r\n\
         Ссылка: https://vk.com/wall-1_{id}\r\nТекст сообщения:\r\nНет воды третий день.\r\n"
    )
    .into_bytes()
}

/// A reply to a case with the given raw `From:` line (`None`: no From at all).
fn tagged_reply(case: &str, from: Option<&str>, mid: &str) -> Vec<u8> {
    let from = from.map(|f| format!("From: {f}\r\n")).unwrap_or_default();
    format!(
        "{from}To: otklik@{DOMAIN}\r\nSubject: Re: [{case}] ЖКХ\r\nMessage-ID: <{mid}@mail.example>\r\n\
         Date: Tue, 01 Dec 2026 11:00:00 +0300\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Вода будет к вечеру.\r\n"
    )
    .into_bytes()
}

#[test]
fn a_tagged_reply_without_from_is_rejected_and_intake_goes_on() {
    let f = fixture();
    let case = f.open_case("1001");
    let h = f.handle(&tagged_reply(&case, None, "r1"));
    assert_eq!(h.disposition, Disposition::Rejected, "{h:?}");
    assert!(h.note.contains("From"), "{}", h.note);
    // Handled again (a re-delivery), it is the ledger's no-op, not a failure.
    let again = f.handle(&tagged_reply(&case, None, "r1"));
    assert!(again.replay);
    // The next notification is still taken in.
    let next = f.open_case("1002");
    assert_ne!(next, case);
}

#[test]
fn a_tagged_reply_from_an_address_smtp_refuses_is_rejected_without_an_answer() {
    let f = fixture();
    let case = f.open_case("2001");
    let before = f.handler.store.outbox_len();
    for (i, from) in ["foo", "<>", "\"Иван\" <foo>", "a b@c", "x@", "@y"]
        .iter()
        .enumerate()
    {
        let h = f.handle(&tagged_reply(&case, Some(from), &format!("bad{i}")));
        assert_eq!(h.disposition, Disposition::Rejected, "From: {from}: {h:?}");
    }
    assert_eq!(
        f.handler.store.outbox_len(),
        before,
        "nothing may be addressed to an invalid sender"
    );
    f.open_case("2002");
}

#[test]
fn a_short_or_empty_secret_stops_the_start_with_a_clear_error() {
    for (text, ok) in [
        ("", false),
        ("\n", false),
        ("0123456789abcdef0123456789abcdef", false), // 16 bytes in hex
        ("short secret", false),
        (
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            true,
        ),
        ("a passphrase of at least thirty-two bytes!", true),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("secret"), text).expect("write secret");
        match otklik::daemon::load_secret(dir.path()) {
            Ok(_) => assert!(ok, "{text:?} was accepted"),
            Err(e) => {
                assert!(!ok, "{text:?} was refused: {e}");
                let msg = e.to_string();
                assert!(msg.contains("at least 32 random bytes"), "{msg}");
                assert!(msg.contains("secret"), "{msg}");
            }
        }
    }
    // No file at all: one is made, strong enough.
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(otklik::daemon::load_secret(dir.path()).is_ok());
    assert!(otklik::daemon::load_secret(dir.path()).is_ok());
}

#[test]
fn junk_with_a_notifications_message_id_does_not_squat_it() {
    let f = fixture();
    let junk = format!(
        "From: spammer@junk.example\r\nTo: otklik@{DOMAIN}\r\nSubject: Buy now\r\n\
         Message-ID: <n3001@monitoring.example>\r\n\r\nCheap watches.\r\n"
    );
    let h = f.handle(junk.as_bytes());
    assert_eq!(h.disposition, Disposition::Rejected);
    assert!(!h.replay);
    // The real notification with the same Message-ID still opens its case.
    let real = f.handle(&notification("3001"));
    assert!(
        !real.replay,
        "the notification was taken for a replay of the junk"
    );
    assert_eq!(real.disposition, Disposition::Processed, "{real:?}");
    assert!(real.case.is_some());
}

#[test]
fn several_from_addresses_are_nobody() {
    let f = fixture();
    let case = f.open_case("4001");
    for from in [
        "From: housing@volchiha.example\r\nFrom: coord@volchiha.example",
        "From: housing@volchiha.example, coord@volchiha.example",
    ] {
        let raw = format!(
            "{from}\r\nTo: otklik@{DOMAIN}\r\nSubject: Re: [{case}] ЖКХ\r\n\
             Message-ID: <m{}@mail.example>\r\n\r\nСОГЛАСОВАНО\r\n",
            from.len()
        );
        let h = f.handle(raw.as_bytes());
        assert_eq!(h.disposition, Disposition::Rejected, "{from}: {h:?}");
        assert!(h.note.contains("without a valid From"), "{}", h.note);
    }
}
