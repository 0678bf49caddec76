//! Smoke tests of the test mail stack itself (tests/support/mailstack.rs):
//! one per protocol path, against real Dovecot and Postfix.

mod support;

use std::time::{Duration, Instant};

use support::mailstack::{MailStack, Received};

/// A deadline that only fails a hung test; nothing here measures time.
const WAIT: Duration = Duration::from_secs(30);

fn plain_message(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@mailstack.test>\r\n\
         Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn smtp_to_postfix_to_lmtp_to_dovecot_to_imap() {
    let t0 = Instant::now();
    let stack = MailStack::start();
    let started = t0.elapsed();

    let from = stack.addr("smoke1-monitor");
    let to = stack.addr("smoke1-intake");
    let raw = plain_message(&from, &to, "smoke1-hello", "Привет, мир");
    let t1 = Instant::now();
    stack.send(&from, &[&to], &raw).await;
    let got = stack
        .wait_for(
            "smoke1-intake",
            "INBOX",
            |m| m.subject == "smoke1-hello",
            WAIT,
        )
        .await;
    let round_trip = t1.elapsed();
    // a second one, with Postfix's and Dovecot's worker processes already running
    let raw2 = plain_message(&from, &to, "smoke1-again", "again");
    let t2 = Instant::now();
    stack.send(&from, &[&to], &raw2).await;
    let sent = t2.elapsed();
    stack
        .wait_for(
            "smoke1-intake",
            "INBOX",
            |m| m.subject == "smoke1-again",
            WAIT,
        )
        .await;
    let second = t2.elapsed();
    println!(
        "MailStack::start() took {started:?}; first SMTP -> IMAP round trip {round_trip:?}, \
         second {second:?} (of which SMTP {sent:?})"
    );

    assert_eq!(got.from, from);
    assert_eq!(got.to, vec![to.clone()]);
    assert_eq!(got.text.trim_end(), "Привет, мир");
    assert_eq!(
        got.message_id.as_deref(),
        Some("smoke1-hello@mailstack.test")
    );
    // it really went through Postfix and Dovecot's LMTP
    assert!(
        got.header("Received").is_some_and(|r| r.contains("LMTP")),
        "{:?}",
        got.headers
    );
    assert_eq!(got.header("Delivered-To"), Some(to.as_str()));
    // nobody else got it
    assert!(stack.fetch_all("smoke1-monitor", "INBOX").await.is_empty());
    let t3 = Instant::now();
    drop(stack);
    println!("dropping the stack took {:?}", t3.elapsed());
}

#[tokio::test]
async fn append_puts_a_raw_message_into_any_mailbox() {
    let stack = MailStack::start();
    let raw = plain_message(
        "a@example.org",
        "smoke2@otklik.test",
        "smoke2-appended",
        "body",
    );
    stack.append("smoke2", "INBOX", &raw).await;
    stack.append("smoke2", "otklik/processed", &raw).await;

    let inbox = stack.fetch_all("smoke2", "INBOX").await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].raw, raw, "APPEND must store the bytes as given");
    let processed = stack
        .wait_for_count("smoke2", "otklik/processed", 1, WAIT)
        .await;
    assert_eq!(processed[0].subject, "smoke2-appended");
    let mut boxes = stack.mailboxes("smoke2").await;
    boxes.sort();
    assert_eq!(
        boxes,
        vec![
            "INBOX".to_owned(),
            "otklik".to_owned(),
            "otklik.processed".to_owned()
        ]
    );
}

#[tokio::test]
async fn received_parses_what_tests_look_at() {
    let raw = b"From: \"Ivan\" <ivan@otklik.test>\r\nTo: a@otklik.test, b@otklik.test\r\n\
Subject: x\r\nIn-Reply-To: <p@x>\r\nReferences: <r1@x>\r\n <p@x>\r\n\r\nhi\r\n"
        .to_vec();
    let m = Received::parse(7, raw);
    assert_eq!(m.uid, 7);
    assert_eq!(m.from, "ivan@otklik.test");
    assert_eq!(m.to, vec!["a@otklik.test", "b@otklik.test"]);
    assert_eq!(m.in_reply_to.as_deref(), Some("p@x"));
    assert_eq!(m.references, vec!["r1@x", "p@x"]);
    assert_eq!(m.header("references"), Some("<r1@x> <p@x>"));
    assert_eq!(m.text.trim_end(), "hi");
}
