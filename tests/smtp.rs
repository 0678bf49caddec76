//! The SMTP sender against the real Postfix of the test harness.
//!
//! Deadlines in here only fail a hung test; nothing measures speed.

use otklik_testkit as support;

use std::sync::OnceLock;
use std::time::Duration;

use otklik_core::config::{Address, Password, SmtpConfig, TlsMode};

use otklik::smtp::{SendError, Smtp};
use otklik::tls::TlsOptions;
use support::mailstack::MailStack;

const WAIT: Duration = Duration::from_secs(60);

fn shared() -> &'static MailStack {
    static STACK: OnceLock<MailStack> = OnceLock::new();
    STACK.get_or_init(MailStack::start)
}

fn harness_ca(stack: &MailStack) -> TlsOptions {
    TlsOptions {
        extra_ca_pem: Some(std::fs::read(stack.ca_pem_path()).unwrap()),
    }
}

/// The relay port (no AUTH, plain), as a loopback Postfix is used in production.
fn relay(stack: &MailStack) -> SmtpConfig {
    SmtpConfig {
        host: stack.host().to_string(),
        port: stack.smtp_port(),
        tls: TlsMode::None,
        username: None,
        password: None,
        from: Address {
            name: None,
            email: stack.addr("otklik"),
        },
        ca_file: None,
        connections: 4,
    }
}

fn submission(stack: &MailStack, tls: TlsMode, password: &str) -> SmtpConfig {
    SmtpConfig {
        port: match tls {
            TlsMode::Implicit => stack.smtps_port(),
            _ => stack.submission_port(),
        },
        tls,
        username: Some(stack.addr("otklik")),
        password: Some(Password(password.to_string())),
        ..relay(stack)
    }
}

/// A message with 8-bit UTF-8 text, a long header and an odd line, to see it
/// arrive byte for byte.
fn raw_message(id: &str, to: &str) -> Vec<u8> {
    format!(
        "From: otklik@{d}\r\nTo: {to}\r\nSubject: [OTK-7] Новое сообщение: ЖКХ — с. Волчиха\r\n\
         Message-ID: <{id}>\r\nDate: Sat, 28 Nov 2026 10:00:00 +0300\r\nX-Otklik-Case: OTK-7\r\nAuto-Submitted: auto-generated\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         Срок ответа: пн 07.12.2026 14:00\r\n.leading dot line\r\n\r\nконец\r\n",
        d = MailStack::DOMAIN,
    )
    .into_bytes()
}

async fn assert_arrives_intact(stack: &MailStack, smtp: &Smtp, user: &str) {
    let id = stack.new_message_id();
    let to = stack.addr(user);
    let raw = raw_message(&id, &to);
    smtp.send(&stack.addr("otklik"), std::slice::from_ref(&to), &raw)
        .await
        .unwrap();
    let got = stack
        .wait_for(
            user,
            "INBOX",
            |m| m.message_id.as_deref() == Some(id.as_str()),
            WAIT,
        )
        .await;
    // Delivery prepends Return-Path/Received; the rest must be exactly what we sent.
    assert!(
        got.raw.ends_with(&raw),
        "message changed in transit:\n{:?}\nsent:\n{:?}",
        String::from_utf8_lossy(&got.raw),
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(got.header("X-Otklik-Case"), Some("OTK-7"));
}

#[tokio::test]
async fn raw_message_arrives_intact_over_the_relay_port() {
    let stack = shared();
    let smtp = Smtp::new(&relay(stack), &TlsOptions::default()).unwrap();
    assert_arrives_intact(stack, &smtp, "smtp-relay").await;
    // The pooled connection is reused for the next one.
    assert_arrives_intact(stack, &smtp, "smtp-relay").await;
}

#[tokio::test]
async fn starttls_and_implicit_tls_with_auth() {
    let stack = shared();
    for (user, mode) in [
        ("smtp-starttls", TlsMode::Starttls),
        ("smtp-implicit", TlsMode::Implicit),
    ] {
        let smtp = Smtp::new(
            &submission(stack, mode, MailStack::PASSWORD),
            &harness_ca(stack),
        )
        .unwrap();
        assert_arrives_intact(stack, &smtp, user).await;
    }
}

#[tokio::test]
async fn relaying_outside_the_test_domain_is_permanent() {
    let stack = shared();
    let smtp = Smtp::new(&relay(stack), &TlsOptions::default()).unwrap();
    let raw = raw_message(&stack.new_message_id(), "someone@example.com");
    let err = smtp
        .send(
            &stack.addr("otklik"),
            &["someone@example.com".to_string()],
            &raw,
        )
        .await
        .unwrap_err();
    // Postfix: "554 5.7.1 <someone@example.com>: Relay access denied".
    assert!(matches!(err, SendError::Rejected(_)), "{err:?}");
    assert!(err.is_permanent());
    assert!(err.to_string().contains("Relay access denied"), "{err}");
}

#[tokio::test]
async fn a_wrong_password_is_a_transient_configuration_error() {
    let stack = shared();
    let smtp = Smtp::new(
        &submission(stack, TlsMode::Starttls, "wrong password"),
        &harness_ca(stack),
    )
    .unwrap();
    let raw = raw_message(&stack.new_message_id(), &stack.addr("smtp-auth"));
    let err = smtp
        .send(&stack.addr("otklik"), &[stack.addr("smtp-auth")], &raw)
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Auth(_)), "{err:?}");
    assert!(err.is_transient() && err.is_config_problem());
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error() {
    let stack = shared();
    let smtp = Smtp::new(
        &submission(stack, TlsMode::Implicit, MailStack::PASSWORD),
        &TlsOptions::default(),
    )
    .unwrap();
    let raw = raw_message(&stack.new_message_id(), &stack.addr("smtp-tls"));
    let err = smtp
        .send(&stack.addr("otklik"), &[stack.addr("smtp-tls")], &raw)
        .await
        .unwrap_err();
    assert!(err.is_transient() && !err.is_permanent(), "{err:?}");
    assert!(err.is_config_problem(), "{err:?}");
}

#[tokio::test]
async fn postfix_stopped_is_transient_and_sending_resumes_after() {
    let stack = MailStack::start();
    let smtp = Smtp::new(&relay(&stack), &TlsOptions::default()).unwrap();
    // Warm the pool so a stale pooled connection is part of the test.
    assert_arrives_intact(&stack, &smtp, "smtp-outage").await;

    stack.stop_postfix();
    let raw = raw_message(&stack.new_message_id(), &stack.addr("smtp-outage"));
    let err = smtp
        .send(&stack.addr("otklik"), &[stack.addr("smtp-outage")], &raw)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(!err.is_permanent(), "{err:?}");

    stack.start_postfix();
    // The outbox retries transient errors; do the same here (a pooled connection
    // from before the outage may fail once more).
    let mut last = None;
    for _ in 0..5 {
        match smtp
            .send(&stack.addr("otklik"), &[stack.addr("smtp-outage")], &raw)
            .await
        {
            Ok(()) => {
                last = None;
                break;
            }
            Err(e) => {
                assert!(e.is_transient(), "{e:?}");
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert!(
        last.is_none(),
        "still failing after Postfix is back: {last:?}"
    );
    stack.wait_for_count("smtp-outage", "INBOX", 2, WAIT).await;
}
