//! The message handler without a mail stack: raw bytes in, a disposition and a commit out.
//! Hostile and broken mail must be rejected with a reason and never stop the next message;
//! only a store that cannot be written may fail a message.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use otklik_core::auth::Secret;
use otklik_core::config::Config;
use otklik_core::decide::Disposition;

use otklik::handler::{Handled, Intake};
use otklik::store::Store;

use otklik_testkit::offline;

use offline::{DOMAIN, config};

struct Fixture {
    _dir: tempfile::TempDir,
    config: Arc<Config>,
    handler: Intake,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path());
    std::fs::create_dir_all(&config.service.state_dir).expect("state dir");
    let store = Store::open(&config.service.state_dir).expect("store");
    let handler = Intake::new(store, Secret::new(vec![7; 32]));
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

mod any_mail {
    //! Random mail of every shape through the whole handler (parse, questions, facts,
    //! decide, commit): it always returns a disposition, never an error (the store here is
    //! always writable), and the next good notification is still taken in.
    use super::*;
    use proptest::prelude::*;

    fn header_line() -> impl Strategy<Value = String> {
        let addr = prop_oneof![
            Just("housing@volchiha.example".to_string()),
            Just("coord@volchiha.example".to_string()),
            Just("robot@monitoring.example".to_string()),
            Just("otklik@volchiha.example".to_string()),
            Just("foo".to_string()),
            Just("".to_string()),
            Just("a@b, c@d".to_string()),
            "[a-z]{1,8}@[a-z]{1,8}\\.example",
            "\\PC{0,40}",
        ];
        prop_oneof![
            addr.clone().prop_map(|a| format!("From: {a}")),
            "\\PC{0,80}".prop_map(|s| format!("Subject: {s}")),
            (1u64..5, "\\PC{0,30}").prop_map(|(n, s)| format!("Subject: Re: [OTK-{n}] {s}")),
            Just("Subject: МОИ ДЕЛА".to_string()),
            Just("Subject: ОТСУТСТВУЮ ДО 31.12.9999".to_string()),
            "[a-z0-9.]{0,20}@?[a-z.]{0,12}".prop_map(|m| format!("Message-ID: <{m}>")),
            "[a-z0-9.@]{0,30}".prop_map(|m| format!("In-Reply-To: <{m}>")),
            prop_oneof![
                Just("auto-replied"),
                Just("auto-generated"),
                Just("no"),
                Just("")
            ]
            .prop_map(|v| format!("Auto-Submitted: {v}")),
            prop_oneof![
                Just("text/plain; charset=utf-8"),
                Just("text/html; charset=windows-1251"),
                Just("multipart/mixed; boundary=b"),
                Just("multipart/alternative"),
                Just("message/rfc822"),
                Just("application/octet-stream"),
            ]
            .prop_map(|v| format!("Content-Type: {v}")),
            prop_oneof![
                Just("base64"),
                Just("quoted-printable"),
                Just("8bit"),
                Just("x")
            ]
            .prop_map(|v| format!("Content-Transfer-Encoding: {v}")),
            "[A-Za-z-]{1,12}: \\PC{0,40}",
        ]
    }

    fn body_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("Рубрика: ЖКХ".to_string()),
            Just("Ссылка: https://vk.com/wall-1_1".to_string()),
            Just("Текст сообщения:".to_string()),
            Just("СОГЛАСОВАНО".to_string()),
            Just("ДОРАБОТАТЬ".to_string()),
            Just("НАЗНАЧИТЬ economy".to_string()),
            Just("--b".to_string()),
            Just("<html><style><div><br><blockquote>".to_string()),
            Just("> quoted".to_string()),
            "#[a-z2-9]{8}",
            "\\PC{0,120}",
            "[=A-Za-z0-9+/]{0,76}",
        ]
    }

    fn message() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::collection::vec(header_line(), 0..10),
            prop::collection::vec(body_line(), 0..30),
            prop::collection::vec(any::<u8>(), 0..64),
            any::<bool>(),
        )
            .prop_map(|(headers, body, noise, crlf)| {
                let nl = if crlf { "\r\n" } else { "\n" };
                let mut raw = headers.join(nl).into_bytes();
                raw.extend_from_slice(nl.as_bytes());
                raw.extend_from_slice(nl.as_bytes());
                raw.extend_from_slice(body.join(nl).as_bytes());
                raw.extend_from_slice(&noise);
                raw
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_message_gets_a_disposition_and_intake_goes_on(
            msgs in prop::collection::vec(message(), 1..6)
        ) {
            let f = fixture();
            f.open_case("9001");
            for raw in &msgs {
                let h = f.handle(raw);
                prop_assert!(!h.note.is_empty(), "{h:?}");
            }
            let h = f.handle(&notification("9002"));
            prop_assert_eq!(h.disposition, Disposition::Processed, "{:?}", h);
        }
    }
}

#[test]
fn a_damaged_case_record_sets_its_reply_aside_and_intake_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path());
    let state = config.service.state_dir.clone();
    std::fs::create_dir_all(&state).expect("state dir");
    let id = {
        let f = Fixture {
            _dir: tempfile::tempdir().unwrap(),
            config: config.clone(),
            handler: Intake::new(
                Store::open(&state).expect("store"),
                Secret::new(vec![7; 32]),
            ),
        };
        f.open_case("555")
    };
    // Damage the case record behind the store's back.
    {
        let db = sled::open(state.join("store")).expect("sled");
        let cases = db.open_tree("cases").unwrap();
        cases.insert(1u64.to_be_bytes(), &b"{not json"[..]).unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(&state).expect("store");
    let (_, problems) = store.check().expect("check");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("case 1:"), "{problems:?}");
    let outbox_before = store.outbox().unwrap().len();
    let f = Fixture {
        _dir: dir,
        config,
        handler: Intake::new(store, Secret::new(vec![7; 32])),
    };
    let h = f.handle(&tagged_reply(&id, Some("exec@volchiha.example"), "dmg1"));
    assert_eq!(h.disposition, Disposition::Rejected, "{h:?}");
    assert!(h.note.contains("damaged"), "{h:?}");
    // The coordinator is told.
    assert_eq!(f.handler.store.outbox().unwrap().len(), outbox_before + 1);
    // A notification that needs no damaged record still opens its case.
    let other = String::from_utf8(notification("556"))
        .unwrap()
        .replace("Иван Петров", "Пётр Иванов");
    let h = f.handle(other.as_bytes());
    assert_eq!(h.case.as_deref(), Some("OTK-2"), "{h:?}");
}
