//! Trusting senders: no action under a borrowed name. Each rule of
//! docs/reliability.md#trusting-senders as a table of messages → decisions. No store, no
//! mail stack, no clock.
mod fixtures;

use chrono::{DateTime, Duration, TimeZone, Utc};
use otklik_core::auth::Secret;
use otklik_core::config::{Config, SecretCheck};
use otklik_core::decide::{self, Decision, Disposition, Facts, Setting};
use otklik_core::inbound::Inbound;
use otklik_core::sender::{Pending, token_text};

const COORD: &str = "coord@volchiha.example";
const HOUSING: &str = "housing@volchiha.example";
const MONITOR: &str = "robot@monitoring.example";
const STRANGER: &str = "someone@mail.example";

fn config_with(extra_intake: &str) -> Config {
    let lexicon = fixtures::root().join("config/exclude-words.txt");
    let text = format!(
        r#"
[service]
state_dir = "/nonexistent/otklik-sender"
case_prefix = "OTK"
[imap]
host = "localhost"
tls = "none"
username = "svc"
password_env = "NONE"
[smtp]
host = "localhost"
tls = "none"
from = "Обратная связь <otklik@volchiha.example>"
[calendar]
timezone = "UTC"
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = ["00:00-24:00"]
[people]
coordinator = {{ name = "Балакирева Ольга", email = "{COORD}" }}
supervisor = {{ name = "Шевич Наталья", email = "super@volchiha.example" }}
[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
email = "{HOUSING}"
deputy = "economy"
[[executors]]
id = "economy"
name = "Попов Андрей"
email = "economy@volchiha.example"
[[rules]]
name = "ЖКХ"
topic = ["ЖКХ*"]
executor = "housing"
[intake]
senders = ["*@monitoring.example"]
exclude_words_file = "{lexicon}"
source_timezone = "Europe/Moscow"
{extra_intake}
"#,
        lexicon = lexicon.display()
    );
    match fixtures::load_str(
        &text,
        std::path::Path::new("/nonexistent/otklik.toml"),
        SecretCheck::Lenient,
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn config() -> Config {
    config_with("")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
}

fn secret() -> Secret {
    Secret::new(vec![7; 32])
}

/// A raw message: `headers` (CRLF-separated lines) and a plain-text body.
fn parse(headers: &str, body: &str) -> Inbound {
    let raw = format!(
        "{headers}\r\nMessage-ID: <{}@mail.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        headers.len() + body.len()
    );
    match Inbound::parse(raw.as_bytes()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

fn decide_with(config: &Config, m: &Inbound, facts: Facts) -> Decision {
    let secret = secret();
    let cx = Setting {
        config,
        secret: &secret,
        now: now(),
        arrival: now(),
        model: None,
    };
    decide::decide(m, &facts, &cx)
}

fn decide(config: &Config, m: &Inbound) -> Decision {
    let q = decide::questions(m, config, now());
    assert!(q.confirmations.is_empty() || m.subject.contains("Подтвердите"));
    decide_with(
        config,
        m,
        Facts {
            next_case: 1,
            ..Facts::default()
        },
    )
}

// 1. Addresses.

#[test]
fn an_encoded_word_hiding_an_address_is_no_sender() {
    // `=?utf-8?b?...?=` decoding to `coord@volchiha.example`: display text, not an address.
    let m = parse(
        "From: =?utf-8?b?Y29vcmRAdm9sY2hpaGEuZXhhbXBsZQ==?=\r\nSubject: МОИ ДЕЛА",
        "",
    );
    assert_eq!(m.from, None);
    let d = decide(&config(), &m);
    assert!(matches!(d, Decision::Drop { .. }), "{d:?}");
    assert!(d.note().contains("no valid From"), "{}", d.note());
    // A display name that looks like a configured address names its real address.
    let m = parse(
        "From: \"coord@volchiha.example\" <someone@mail.example>\r\nSubject: x",
        "",
    );
    assert_eq!(m.from.map(|a| a.email).as_deref(), Some(STRANGER));
}

#[test]
fn the_platforms_wholly_encoded_from_still_opens_cases_and_nothing_else() {
    // `Инцидент Менеджмент <robot@monitoring.example>` as encoded words (the platform's
    // own samples are written so): a notification still, but no person's address.
    let enc = |s: &str| {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in s.as_bytes().chunks(3) {
            let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for (i, sh) in [18, 12, 6, 0].into_iter().enumerate() {
                out.push(if i <= c.len() {
                    A[((n >> sh) & 63) as usize] as char
                } else {
                    '='
                });
            }
        }
        format!("=?utf-8?b?{out}?=")
    };
    let body = "Номер инцидента: 5\r\nРубрика: ЖКХ\r\nТекст сообщения:\r\nНет воды.";
    let platform = parse(
        &format!(
            "From: {}\r\nSubject: Инцидент",
            enc(&format!("Инцидент <{MONITOR}>"))
        ),
        body,
    );
    assert_eq!(platform.from, None);
    assert!(matches!(
        decide(&config(), &platform),
        Decision::Case { new: true, .. }
    ));
    // The same form with a configured person's address: nobody.
    let person = parse(
        &format!(
            "From: {}\r\nSubject: НА МЕСТЕ",
            enc(&format!("Шишова <{HOUSING}>"))
        ),
        "",
    );
    assert!(matches!(decide(&config(), &person), Decision::Drop { .. }));
}

#[test]
fn non_ascii_addresses_are_no_sender_and_case_is_folded_in_ascii_only() {
    // U+212A KELVIN SIGN lower-cases to `k` with Unicode rules.
    let m = parse(
        "From: <COORD@VOL\u{212A}HIHA.example>\r\nSubject: МОИ ДЕЛА",
        "",
    );
    assert_eq!(m.from, None);
    assert!(matches!(decide(&config(), &m), Decision::Drop { .. }));
    let m = parse("From: Ольга <COORD@Volchiha.Example>\r\nSubject: x", "");
    assert_eq!(m.from.map(|a| a.email).as_deref(), Some(COORD));
}

// 2. + 3. Proof: Authentication-Results, or a confirmation.

fn proven_by(id: &str, result: &str) -> String {
    format!("Authentication-Results: {id}; {result}")
}

#[test]
fn a_self_service_request_without_proof_asks_its_person_first() {
    let c = config();
    for (from, subject, what) in [
        (HOUSING, "МОИ ДЕЛА", "МОИ ДЕЛА"),
        (
            HOUSING,
            "ОТСУТСТВУЮ ДО 25.12.2026",
            "ОТСУТСТВУЮ ДО 25.12.2026",
        ),
        (HOUSING, "НА МЕСТЕ", "НА МЕСТЕ"),
        (
            COORD,
            "ОТЧЁТ 01.11.2026-30.11.2026",
            "ОТЧЁТ 01.11.2026-30.11.2026",
        ),
    ] {
        let m = parse(&format!("From: <{from}>\r\nSubject: {subject}"), "");
        match decide(&c, &m) {
            Decision::Confirm { to, what: w, .. } => {
                assert_eq!(to, from, "{subject}");
                assert_eq!(w, what);
            }
            other => panic!("{subject}: {other:?}"),
        }
    }
    // An invalid request is still refused (to the configured address), not confirmed.
    let m = parse(
        &format!("From: <{HOUSING}>\r\nSubject: ОТСУТСТВУЮ ДО 25.11.2026"),
        "",
    );
    assert!(matches!(decide(&c, &m), Decision::Service { .. }));
}

#[test]
fn the_trusted_servers_pass_proves_the_sender_others_do_not() {
    let c = config_with("trusted_authserv_id = \"mx.volchiha.example\"");
    let ask = |ar: &str| {
        let m = parse(
            &format!("{ar}\r\nFrom: <{HOUSING}>\r\nSubject: НА МЕСТЕ"),
            "",
        );
        decide(&c, &m)
    };
    let taken =
        |d: &Decision| matches!(d, Decision::Service { absences, .. } if absences.len() == 1);
    assert!(taken(&ask(&proven_by(
        "mx.volchiha.example",
        "dmarc=pass header.from=volchiha.example"
    ))));
    assert!(taken(&ask(&proven_by(
        "mx.volchiha.example",
        "spf=pass smtp.mailfrom=housing@volchiha.example"
    ))));
    assert!(taken(&ask(&proven_by(
        "mx.volchiha.example",
        "dkim=pass (2048-bit key) header.d=volchiha.example"
    ))));
    // Fails, another server's word, a signature of another domain: confirmation asked.
    for ar in [
        proven_by(
            "mx.volchiha.example",
            "dmarc=fail header.from=volchiha.example",
        ),
        proven_by("mx.evil.example", "dmarc=pass header.from=volchiha.example"),
        proven_by("mx.volchiha.example", "dkim=pass header.d=evil.example"),
    ] {
        assert!(matches!(ask(&ar), Decision::Confirm { .. }), "{ar}");
    }
    // A forged header below the server's own (a Received field in between) is no proof.
    let m = parse(
        &format!(
            "{}\r\nReceived: from evil by mx\r\n{}\r\nFrom: <{HOUSING}>\r\nSubject: НА МЕСТЕ",
            proven_by(
                "mx.volchiha.example",
                "spf=fail smtp.mailfrom=volchiha.example"
            ),
            proven_by("mx.volchiha.example", "dmarc=pass")
        ),
        "",
    );
    assert!(matches!(decide(&c, &m), Decision::Confirm { .. }));
}

/// A reply to the confirmation of `pending`, by subject token and/or Message-ID.
fn confirmation_reply(from: &str, p: &Pending, by_code: bool, by_id: bool) -> Inbound {
    let s = secret();
    let code = s.confirm_code(p.nonce, &p.sender, &p.digest);
    let subject = if by_code {
        format!(
            "Re: Подтвердите: НА МЕСТЕ {}",
            token_text(false, p.nonce, &code)
        )
    } else {
        "Re: Подтвердите: НА МЕСТЕ".to_string()
    };
    let irt = if by_id {
        format!(
            "\r\nIn-Reply-To: <{}>",
            s.message_id(0, &p.sender, p.nonce, "volchiha.example")
        )
    } else {
        String::new()
    };
    parse(
        &format!("From: <{from}>\r\nSubject: {subject}{irt}"),
        "Да, это я.",
    )
}

fn pending() -> Pending {
    Pending {
        nonce: 41,
        sender: HOUSING.into(),
        asked_at: now() - Duration::hours(1),
        digest: "ab".repeat(32),
        what: "НА МЕСТЕ".into(),
        done: false,
    }
}

fn on_reply(c: &Config, m: &Inbound, p: Pending) -> Decision {
    let q = decide::questions(m, c, now());
    assert!(q.confirmations.contains(&p.nonce), "{q:?}");
    decide_with(
        c,
        m,
        Facts {
            pending: vec![p],
            ..Facts::default()
        },
    )
}

#[test]
fn only_the_persons_own_reply_confirms_once_within_a_week() {
    let c = config();
    let p = pending();
    for (by_code, by_id) in [(true, false), (false, true), (true, true)] {
        let d = on_reply(
            &c,
            &confirmation_reply(HOUSING, &p, by_code, by_id),
            p.clone(),
        );
        assert!(
            matches!(d, Decision::Confirmed { nonce: 41, .. }),
            "{by_code} {by_id}: {d:?}"
        );
    }
    let refused = |d: Decision, why: &str| {
        assert!(matches!(d, Decision::Drop { .. }), "{d:?}");
        assert_eq!(d.disposition(), Disposition::Rejected);
        assert!(d.note().contains(why), "{} lacks {why}", d.note());
    };
    // Someone else quoting the subject (the code is the person's own).
    refused(
        on_reply(&c, &confirmation_reply(COORD, &p, true, true), p.clone()),
        "another address",
    );
    // The right person, without the code or our Message-ID.
    let mut bare = confirmation_reply(HOUSING, &p, true, false);
    bare.subject = format!(
        "Re: Подтвердите: НА МЕСТЕ {}",
        token_text(false, 41, "aaaaaaaa")
    );
    refused(on_reply(&c, &bare, p.clone()), "code");
    // An out-of-office answering our mail confirms nothing.
    let mut ooo = confirmation_reply(HOUSING, &p, true, true);
    ooo.subject = format!("Автоответ: {}", ooo.subject);
    refused(on_reply(&c, &ooo, p.clone()), "automatic");
    // Used, or too late.
    let mut used = p.clone();
    used.done = true;
    refused(
        on_reply(&c, &confirmation_reply(HOUSING, &p, true, true), used),
        "already",
    );
    let mut old = p.clone();
    old.asked_at = now() - Duration::days(8);
    refused(
        on_reply(&c, &confirmation_reply(HOUSING, &p, true, true), old),
        "expired",
    );
}

#[test]
fn a_confirmed_request_is_taken() {
    let c = config();
    let m = parse(&format!("From: <{HOUSING}>\r\nSubject: НА МЕСТЕ"), "");
    let d = decide_with(
        &c,
        &m,
        Facts {
            confirmed: true,
            ..Facts::default()
        },
    );
    assert!(
        matches!(&d, Decision::Service { absences, .. } if absences == &[("housing".to_string(), None)]),
        "{d:?}"
    );
}

// 4. Forwarded notifications.

fn forward(from: &str, date: &str, link: &str) -> Inbound {
    parse(
        &format!("From: <{from}>\r\nSubject: Fwd: Новый инцидент"),
        &format!(
            "Посмотрите.\r\n\r\n---------- Forwarded message ---------\r\nFrom: Инцидент <{MONITOR}>\r\n\
             Date: {date}\r\nSubject: Новый инцидент\r\n\r\nНомер инцидента: 88\r\nРубрика: ЖКХ\r\n\
             Локация: с. Волчиха\r\nАвтор: Иван\r\nСсылка: {link}\r\nТекст сообщения:\r\n\
             Подробности: {link}\r\n"
        ),
    )
}

#[test]
fn a_forward_without_proof_asks_the_forwarder_and_opens_nothing() {
    let c = config();
    let m = forward(
        HOUSING,
        "Tue, 01 Dec 2026 07:15:00 +0000",
        "https://vk.com/wall-1_88",
    );
    match decide(&c, &m) {
        Decision::Confirm { to, what, .. } => {
            assert_eq!(to, HOUSING);
            assert!(what.contains("Новый инцидент"), "{what}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_forwarded_notification_from_2099_with_an_off_platform_link_is_defused() {
    let c = config();
    let m = forward(
        HOUSING,
        "Thu, 01 Jan 2099 00:00:00 +0000",
        "https://evil.example/login",
    );
    let d = decide_with(
        &c,
        &m,
        Facts {
            confirmed: true,
            next_case: 1,
            ..Facts::default()
        },
    );
    let Decision::Case { outcome, new, .. } = &d else {
        panic!("{d:?}")
    };
    assert!(new);
    let n = &outcome.case.notification;
    assert_eq!(n.detected_at, now(), "the arrival replaces 2099");
    assert_eq!(n.link.as_deref(), Some("hxxps://evil[.]example/login"));
    assert!(!n.text.contains("https://evil.example"), "{}", n.text);
    let created = &outcome.case.history[0];
    assert!(created.detail.contains("2099"), "{}", created.detail);
    assert!(
        created.detail.contains("forwarded by"),
        "{}",
        created.detail
    );
    // No mail of the case carries a link to it.
    let nonces: Vec<u64> = (2..)
        .take(otklik_core::compose::mails_needed(&outcome.notices))
        .collect();
    let mails = otklik_core::compose::case_mails(
        &c,
        &secret(),
        &outcome.case,
        &outcome.notices,
        now(),
        &nonces,
    )
    .unwrap();
    assert!(!mails.is_empty());
    let mut shown = 0;
    for mail in &mails {
        let parsed = mail_parser::MessageParser::default()
            .parse(&mail.raw[..])
            .unwrap();
        let text = parsed.body_text(0).unwrap_or_default().to_string();
        let html = parsed.body_html(0).unwrap_or_default().to_string();
        for part in [&text, &html] {
            assert!(!part.contains("evil.example"), "{part}");
            assert!(!part.contains("href=\"hxxps"), "{part}");
        }
        shown += usize::from(text.contains("hxxps://evil[.]example/login"));
    }
    assert!(shown >= 1, "the executor sees the address, as text");
}

// 5. No backscatter.

#[test]
fn a_stranger_is_never_answered_and_grows_no_case() {
    let c = config();
    for i in 0..20 {
        let m = parse(
            &format!("From: <stranger{i}@mail.example>\r\nSubject: МОИ ДЕЛА"),
            "",
        );
        let d = decide(&c, &m);
        assert!(matches!(d, Decision::Drop { .. }), "{d:?}");
    }
}

#[test]
fn with_a_trusted_server_the_platform_must_be_vouched_for_too() {
    let c = config_with("trusted_authserv_id = \"mx.volchiha.example\"");
    let body = "Номер инцидента: 5\r\nРубрика: ЖКХ\r\nТекст сообщения:\r\nНет воды.";
    let bare = parse(&format!("From: <{MONITOR}>\r\nSubject: Инцидент"), body);
    let d = decide(&c, &bare);
    assert!(matches!(d, Decision::Drop { .. }), "{d:?}");
    let vouched = parse(
        &format!(
            "{}\r\nFrom: <{MONITOR}>\r\nSubject: Инцидент",
            proven_by(
                "mx.volchiha.example",
                "spf=pass smtp.mailfrom=monitoring.example"
            )
        ),
        body,
    );
    assert!(matches!(
        decide(&c, &vouched),
        Decision::Case { new: true, .. }
    ));
    // Without the key, as before.
    assert!(matches!(
        decide(&config(), &bare),
        Decision::Case { new: true, .. }
    ));
}

#[test]
fn a_stream_of_forged_requests_asks_a_person_a_few_times_a_day() {
    let c = config();
    let m = parse(&format!("From: <{HOUSING}>\r\nSubject: МОИ ДЕЛА"), "");
    assert_eq!(
        decide::questions(&m, &c, now()).asker.as_deref(),
        Some(HOUSING)
    );
    let with = |asked: Vec<DateTime<Utc>>| {
        decide_with(
            &c,
            &m,
            Facts {
                confirmations_asked: asked,
                ..Facts::default()
            },
        )
    };
    let hour = |h: i64| now() - Duration::hours(h);
    assert!(matches!(
        with(vec![hour(1), hour(2)]),
        Decision::Confirm { .. }
    ));
    let d = with(vec![hour(3), hour(2), hour(1)]);
    assert!(matches!(d, Decision::Drop { .. }), "{d:?}");
    assert!(d.note().contains("not asked again"), "{}", d.note());
    // A day later, asked again.
    assert!(matches!(
        with(vec![hour(30), hour(26), hour(25)]),
        Decision::Confirm { .. }
    ));
    // A stranger is no asker.
    let s = parse(&format!("From: <{STRANGER}>\r\nSubject: МОИ ДЕЛА"), "");
    assert_eq!(decide::questions(&s, &c, now()).asker, None);
}
