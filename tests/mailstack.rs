//! Smoke tests of the test mail stack itself (crates/otklik-testkit/src/mailstack/):
//! one per protocol path, against real Dovecot and Postfix.

use otklik_testkit as support;

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use support::mailstack::{
    MailStack, Received, TlsMode, become_subreaper, pids_mentioning, process_group,
    reap_process_group,
};

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

    let multipart = b"From: a@otklik.test\r\nTo: b@otklik.test\r\nSubject: files\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
--XX\r\nContent-Type: multipart/alternative; boundary=\"YY\"\r\n\r\n\
--YY\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain text\r\n\
--YY\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html text</p>\r\n\
--YY--\r\n\
--XX\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=\"report.csv\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nYSxiCjEsMgo=\r\n\
--XX--\r\n"
        .to_vec();
    let m = Received::parse(1, multipart);
    assert_eq!(m.text.trim_end(), "plain text");
    assert_eq!(
        m.html.as_deref().map(str::trim_end),
        Some("<p>html text</p>")
    );
    assert_eq!(
        m.attachments,
        vec![(
            "report.csv".to_owned(),
            "text/csv".to_owned(),
            b"a,b\n1,2\n".to_vec()
        )]
    );
}

/// Cyrillic text in windows-1251 (the code page Russian mail still uses).
fn cp1251(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            'А'..='я' => (c as u32 - 'А' as u32 + 0xC0) as u8,
            'Ё' => 0xA8,
            'ё' => 0xB8,
            c if c.is_ascii() => c as u8,
            c => panic!("{c:?} is not in this little cp1251 table"),
        })
        .collect()
}

#[tokio::test]
async fn windows_1251_body_and_utf8_encoded_word_subject_arrive_intact() {
    let stack = MailStack::start();
    let body = "Ёлка во дворе упала, ёж не пострадал. Ответьте, пожалуйста!";
    let mut raw =
        b"From: =?UTF-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <smoke3-monitor@otklik.test>\r\n\
To: smoke3-intake@otklik.test\r\n\
Subject: =?UTF-8?B?0JbQsNC70L7QsdCwOiDQvdC10YIg0LLQvtC00Ys=?=\r\n \
=?UTF-8?B?INCyINGBLiDQktC+0LvRh9C40YXQsCDigJQg0YHRgNC+0YfQvdC+?=\r\n\
Message-ID: <smoke3@mailstack.test>\r\n\
Date: Sat, 28 Nov 2026 10:00:00 +0700\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=windows-1251\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n"
            .to_vec();
    let body_bytes = cp1251(body);
    raw.extend_from_slice(&body_bytes);
    raw.extend_from_slice(b"\r\n");

    stack.send("smoke3-monitor", &["smoke3-intake"], &raw).await;
    let got = stack
        .wait_for(
            "smoke3-intake",
            "INBOX",
            |m| m.message_id.as_deref() == Some("smoke3@mailstack.test"),
            WAIT,
        )
        .await;
    assert_eq!(got.subject, "Жалоба: нет воды в с. Волчиха — срочно");
    assert_eq!(got.text.trim_end(), body);
    // the 8-bit bytes themselves went through SMTP, LMTP and the Maildir unchanged
    assert!(
        got.raw.windows(body_bytes.len()).any(|w| w == body_bytes),
        "the windows-1251 bytes were altered on the way"
    );
    assert!(
        got.raw.ends_with(&raw),
        "the message must arrive byte for byte (after the trace headers)"
    );
}

#[tokio::test]
async fn idle_sees_new_mail() {
    let stack = MailStack::start();
    let mut session = stack.imap("smoke4").await;
    session.select("INBOX").await.unwrap();
    let mut idle = session.idle();
    idle.init().await.unwrap();
    let (wait, _stop) = idle.wait_with_timeout(WAIT);
    let raw = plain_message(
        "smoke4-x@otklik.test",
        "smoke4@otklik.test",
        "smoke4-idle",
        "wake up",
    );
    // IDLE is established (init saw the continuation) before the mail is sent
    let (woke, ()) = tokio::join!(wait, stack.send("smoke4-x", &["smoke4"], &raw));
    match woke.unwrap() {
        async_imap::extensions::idle::IdleResponse::NewData(data) => {
            let text = format!("{:?}", data.parsed());
            assert!(text.contains("Exists") || text.contains("Recent"), "{text}");
        }
        other => panic!("IDLE ended without news: {other:?}"),
    }
    let mut session = idle.done().await.unwrap();
    let fetched: Vec<_> = session
        .uid_fetch("1:*", "(UID BODY.PEEK[])")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!(
        Received::parse(0, fetched[0].body().unwrap().to_vec()).subject,
        "smoke4-idle"
    );
    session.logout().await.unwrap();
}

#[tokio::test]
async fn imap_tls_login_with_the_self_signed_ca() {
    let stack = MailStack::start();
    let raw = plain_message(
        "a@example.org",
        "smoke5@otklik.test",
        "smoke5-tls",
        "secret",
    );
    stack.append("smoke5", "INBOX", &raw).await;
    for mode in [TlsMode::Implicit, TlsMode::StartTls] {
        let mut s = stack
            .try_imap_tls("smoke5", mode)
            .await
            .unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        let mb = s.examine("INBOX").await.unwrap();
        assert_eq!(mb.exists, 1, "{mode:?}");
        s.logout().await.unwrap();
    }
    // a client that does not trust the CA is refused: the certificate is really checked
    let tcp = tokio::net::TcpStream::connect((stack.host(), stack.imaps_port()))
        .await
        .unwrap();
    let untrusting = tokio_rustls::rustls::ClientConfig::builder_with_provider(
        std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider()),
    )
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(tokio_rustls::rustls::RootCertStore::empty())
    .with_no_client_auth();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let refused = tokio_rustls::TlsConnector::from(std::sync::Arc::new(untrusting))
        .connect(name, tcp)
        .await;
    assert!(
        refused.is_err(),
        "a TLS client without the test CA must not connect"
    );
}

#[tokio::test]
async fn smtp_auth_on_submission_and_smtps_is_checked_by_dovecot() {
    use lettre::AsyncTransport;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::Tls;

    let stack = MailStack::start();
    let transport = |port: u16, tls: Tls, password: &str| {
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("localhost")
            .port(port)
            .tls(tls)
            .credentials(Credentials::new(
                stack.addr("smoke6-robot"),
                password.to_owned(),
            ))
            .timeout(Some(WAIT))
            .build()
    };
    let cases = [
        (
            "submission",
            stack.submission_port(),
            Tls::Required(stack.smtp_tls_parameters()),
        ),
        (
            "smtps",
            stack.smtps_port(),
            Tls::Wrapper(stack.smtp_tls_parameters()),
        ),
    ];
    for (name, port, tls) in cases {
        let subject = format!("smoke6-{name}");
        let raw = plain_message(
            &stack.addr("smoke6-robot"),
            &stack.addr("smoke6-boss"),
            &subject,
            name,
        );
        let envelope = lettre::address::Envelope::new(
            Some(stack.addr("smoke6-robot").parse().unwrap()),
            vec![stack.addr("smoke6-boss").parse().unwrap()],
        )
        .unwrap();
        let wrong = transport(port, tls.clone(), "not-the-password")
            .send_raw(&envelope, &raw)
            .await;
        assert!(wrong.is_err(), "{name}: a wrong password must be refused");
        transport(port, tls, MailStack::PASSWORD)
            .send_raw(&envelope, &raw)
            .await
            .unwrap_or_else(|e| panic!("{name}: authenticated send failed: {e}"));
        stack
            .wait_for("smoke6-boss", "INBOX", |m| m.subject == subject, WAIT)
            .await;
    }
    // without AUTH the submission port takes nothing, even for the test domain
    let anonymous =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("localhost")
            .port(stack.submission_port())
            .tls(Tls::Required(stack.smtp_tls_parameters()))
            .timeout(Some(WAIT))
            .build();
    let envelope = lettre::address::Envelope::new(
        Some(stack.addr("smoke6-robot").parse().unwrap()),
        vec![stack.addr("smoke6-boss").parse().unwrap()],
    )
    .unwrap();
    let raw = plain_message(
        "smoke6-robot@otklik.test",
        "smoke6-boss@otklik.test",
        "smoke6-anon",
        "x",
    );
    assert!(anonymous.send_raw(&envelope, &raw).await.is_err());
}

#[tokio::test]
async fn nothing_is_relayed_outside_the_test_domain() {
    let stack = MailStack::start();
    let raw = plain_message("smoke7@otklik.test", "someone@example.com", "smoke7", "x");
    let refused = stack
        .try_send("smoke7", &["someone@example.com"], &raw)
        .await;
    let err = refused.expect_err("mail to another domain must be refused");
    assert!(err.contains("Relay access denied"), "{err}");
}

#[tokio::test]
async fn reply_keeps_threading_headers_and_reset_empties_mailboxes() {
    let stack = MailStack::start();
    let raw = plain_message(
        "smoke8-a@otklik.test",
        "smoke8-b@otklik.test",
        "smoke8-question",
        "How?",
    );
    stack.send("smoke8-a", &["smoke8-b"], &raw).await;
    let question = stack
        .wait_for(
            "smoke8-b",
            "INBOX",
            |m| m.subject == "smoke8-question",
            WAIT,
        )
        .await;

    let reply_id = stack
        .reply("smoke8-b", &question, "Like this. Вот так.")
        .await;
    let reply = stack
        .wait_for(
            "smoke8-a",
            "INBOX",
            |m| m.message_id.as_deref() == Some(reply_id.as_str()),
            WAIT,
        )
        .await;
    assert_eq!(reply.subject, "Re: smoke8-question");
    assert_eq!(reply.from, "smoke8-b@otklik.test");
    assert_eq!(
        reply.in_reply_to.as_deref(),
        Some("smoke8-question@mailstack.test")
    );
    assert_eq!(
        reply.references,
        vec!["smoke8-question@mailstack.test".to_owned()]
    );
    assert_eq!(reply.text.trim_end(), "Like this. Вот так.");

    // a reply to the reply carries the whole chain
    let second_id = stack.reply("smoke8-a", &reply, "Thanks").await;
    let second = stack
        .wait_for(
            "smoke8-b",
            "INBOX",
            |m| m.message_id.as_deref() == Some(second_id.as_str()),
            WAIT,
        )
        .await;
    assert_eq!(second.subject, "Re: smoke8-question", "no \"Re: Re:\"");
    assert_eq!(
        second.references,
        vec![
            "smoke8-question@mailstack.test".to_owned(),
            reply_id.clone()
        ]
    );

    // and one that lost its threading headers
    let lost_id = stack
        .reply_with("smoke8-a", &reply, "no thread", "lost", false)
        .await;
    let lost = stack
        .wait_for(
            "smoke8-b",
            "INBOX",
            |m| m.message_id.as_deref() == Some(lost_id.as_str()),
            WAIT,
        )
        .await;
    assert_eq!(lost.in_reply_to, None);
    assert!(lost.references.is_empty());

    stack.append("smoke8-b", "Archive", &raw).await;
    stack.reset("smoke8-b").await;
    assert!(stack.fetch_all("smoke8-b", "INBOX").await.is_empty());
    assert!(stack.fetch_all("smoke8-b", "Archive").await.is_empty());
    assert!(
        stack
            .mailboxes("smoke8-b")
            .await
            .contains(&"Archive".to_owned())
    );
    // other users keep their mail
    assert_eq!(stack.fetch_all("smoke8-a", "INBOX").await.len(), 1);
}

#[tokio::test]
async fn outages_stop_and_start_postfix_and_dovecot_on_the_same_ports() {
    let stack = MailStack::start();
    let before = plain_message(
        "smoke9-a@otklik.test",
        "smoke9@otklik.test",
        "smoke9-before",
        "1",
    );
    stack.send("smoke9-a", &["smoke9"], &before).await;
    stack
        .wait_for("smoke9", "INBOX", |m| m.subject == "smoke9-before", WAIT)
        .await;

    stack.stop_postfix();
    let during = plain_message(
        "smoke9-a@otklik.test",
        "smoke9@otklik.test",
        "smoke9-smtp-down",
        "2",
    );
    assert!(
        stack
            .try_send("smoke9-a", &["smoke9"], &during)
            .await
            .is_err()
    );
    stack.start_postfix();
    stack.send("smoke9-a", &["smoke9"], &during).await;
    stack
        .wait_for("smoke9", "INBOX", |m| m.subject == "smoke9-smtp-down", WAIT)
        .await;

    stack.stop_dovecot();
    assert!(stack.try_imap("smoke9").await.is_err(), "IMAP must be down");
    let queued = plain_message(
        "smoke9-a@otklik.test",
        "smoke9@otklik.test",
        "smoke9-imap-down",
        "3",
    );
    stack.send("smoke9-a", &["smoke9"], &queued).await; // Postfix takes it and defers it
    stack.start_dovecot();
    stack.flush_queue();
    let all = stack.wait_for_count("smoke9", "INBOX", 3, WAIT).await;
    let subjects: Vec<&str> = all.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        ["smoke9-before", "smoke9-smtp-down", "smoke9-imap-down"]
    );
    assert_eq!(stack.queued(), 0);
}

#[tokio::test]
async fn a_shared_stack_serves_several_tests() {
    let a = MailStack::shared();
    let b = MailStack::shared();
    assert!(std::ptr::eq(a, b));
    let raw = plain_message(
        "smoke10-a@otklik.test",
        "smoke10@otklik.test",
        "smoke10",
        "shared",
    );
    a.send("smoke10-a", &["smoke10"], &raw).await;
    b.wait_for("smoke10", "INBOX", |m| m.subject == "smoke10", WAIT)
        .await;
}

#[test]
fn a_hard_killed_test_binary_leaves_no_servers() {
    use std::io::BufRead;
    // Run again as its own child (no separate ignored helper test): start a stack, report
    // it, and hang until killed.
    if std::env::var_os("OTKLIK_MAILSTACK_HARD_KILL_HELPER").is_some() {
        let stack = MailStack::start();
        println!("STACK {}", stack.root().display());
        std::io::Write::flush(&mut std::io::stdout()).unwrap();
        std::thread::sleep(Duration::from_secs(600));
        return;
    }
    // the killed helper's servers, orphaned, become ours to reap (PID 1 here does not)
    become_subreaper();
    let mut helper = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_hard_killed_test_binary_leaves_no_servers",
            "--nocapture",
        ])
        .env("OTKLIK_MAILSTACK_HARD_KILL_HELPER", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(helper.stdout.take().unwrap());
    let root = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("STACK ").map(std::path::PathBuf::from))
        .expect("the helper never reported its stack");
    let servers = pids_mentioning(&root);
    assert!(
        !servers.is_empty(),
        "the helper's servers should be running"
    );
    let groups: Vec<u32> = servers.iter().filter_map(|&p| process_group(p)).collect();

    helper.kill().unwrap(); // SIGKILL: no Drop, no atexit
    helper.wait().unwrap();

    // PR_SET_PDEATHSIG: the kernel tells the servers their parent is gone
    let deadline = Instant::now() + WAIT;
    while !pids_mentioning(&root).is_empty() {
        assert!(
            Instant::now() < deadline,
            "servers of a SIGKILLed test process still run: {:?}",
            pids_mentioning(&root)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for group in groups {
        assert!(
            reap_process_group(group, WAIT),
            "process group {group} does not go away"
        );
    }
    // and the next start() removes the dead process's stack dir
    let _stack = MailStack::start();
    assert!(!root.exists(), "{} was not reaped", root.display());
}
