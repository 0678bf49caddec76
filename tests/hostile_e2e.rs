//! Mail we did not write, end to end: the real service against the real Dovecot and
//! Postfix. Each hostile or broken message is followed by a good notification that must
//! still reach its executor while the same service keeps running — no message may stop,
//! flood or fool it.
//!
//! Waits only fail a hung test; nothing here measures speed.

use otklik_testkit as support;

use std::time::Duration;

use support::mailstack::{MailStack, Received, server_mailbox};
use support::service::*;

/// A notification from the monitoring platform whose topic carries `tag` (routed to
/// housing by the rule `ЖКХ*`), with the given Message-ID, extra body text before the
/// post and attachments (raw MIME parts).
fn notice(stack: &MailStack, p: &People, tag: &str, mid: &str, before_text: &str) -> Vec<u8> {
    let detected = detected_line(chrono::Utc::now());
    let body = format!(
        "Номер инцидента: {tag}\n{detected}\nРубрика: ЖКХ {tag}\n\
         Локация: с. Волчиха\nАвтор: Автор {tag}\nСсылка: https://vk.com/wall-1_{tag}\n\
         Текст сообщения:\n{before_text}Нет воды, проверка {tag}.\n"
    );
    stack.compose(
        &p.monitor(),
        &[&p.service()],
        &format!("Новый инцидент №{tag}"),
        &body,
        mid,
        None,
    )
}

/// Appends a good notification and waits until its executor has it: the service is alive
/// and took in everything before it.
async fn still_forwards(stack: &MailStack, p: &People, tag: &str) -> Received {
    let mid = stack.new_message_id();
    stack
        .append(&p.service(), "INBOX", &notice(stack, p, tag, &mid, ""))
        .await;
    stack
        .wait_for(
            &p.executor("housing"),
            "INBOX",
            |m| m.subject.contains(&format!("ЖКХ {tag}")),
            WAIT,
        )
        .await
}

/// A raw message with the given header lines and body.
fn raw(headers: &str, body: &str) -> Vec<u8> {
    format!(
        "{headers}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
    .into_bytes()
}

fn case_id(m: &Received) -> String {
    m.header("X-Otklik-Case").unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_single_message_stops_floods_or_fools_the_service() {
    let stack = MailStack::shared();
    let p = People::new("hostile");
    let dir = tempfile::tempdir().expect("temp dir");
    let text = config_for(stack, &p, dir.path(), ALWAYS_CALENDAR).replace(
        "poll_seconds = 5",
        "poll_seconds = 5\nmax_message_size = \"12MB\"",
    );
    let svc = Service::start(dir.path(), &text).await;
    let service = stack.addr(&p.service());
    let first = still_forwards(stack, &p, "100").await;
    let case = case_id(&first);
    assert!(!case.is_empty());

    // 1. Tagged replies with no From, and with a From the SMTP library refuses.
    for (i, from) in ["", "From: foo\r\n", "From: <>\r\n", "From: a@b, c@d\r\n"]
        .iter()
        .enumerate()
    {
        let m = raw(
            &format!(
                "{from}To: {service}\r\nSubject: Re: [{case}] ЖКХ\r\nMessage-ID: <nofrom{i}@x.example>"
            ),
            "СОГЛАСОВАНО\r\n",
        );
        stack.append(&p.service(), "INBOX", &m).await;
    }
    still_forwards(stack, &p, "101").await;

    // 2. Megabytes of HTML built to be slow, from the platform itself.
    let mut html = String::from("<html><head>");
    for _ in 0..200_000 {
        html.push_str("<style>");
    }
    html.push_str("</head><body>");
    for _ in 0..100_000 {
        html.push_str("<div><b><i>");
    }
    html.push_str("Рубрика: ЖКХ бомба<br>Текст сообщения:<br>x</body></html>");
    let bomb = format!(
        "From: {}\r\nTo: {service}\r\nSubject: bomb\r\nMessage-ID: <bomb@x.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}",
        stack.addr(&p.monitor())
    );
    stack.append(&p.service(), "INBOX", bomb.as_bytes()).await;
    still_forwards(stack, &p, "102").await;

    // 3. A notification with hundreds of thousands of blank lines before its text.
    let blanks = "\n".repeat(300_000);
    let mid = stack.new_message_id();
    stack
        .append(
            &p.service(),
            "INBOX",
            &notice(stack, &p, "103", &mid, &blanks),
        )
        .await;
    let m = stack
        .wait_for(
            &p.executor("housing"),
            "INBOX",
            |m| m.subject.contains("ЖКХ 103"),
            WAIT,
        )
        .await;
    assert!(m.text.contains("проверка 103"));
    still_forwards(stack, &p, "104").await;

    // 4. Junk that squats a notification's Message-ID arrives first.
    let mid = stack.new_message_id();
    let junk = stack.compose(
        &p.stranger(),
        &[&p.service()],
        "Дешёвые часы",
        "Купите часы.",
        &mid,
        None,
    );
    stack.append(&p.service(), "INBOX", &junk).await;
    stack
        .append(&p.service(), "INBOX", &notice(stack, &p, "105", &mid, ""))
        .await;
    stack
        .wait_for(
            &p.executor("housing"),
            "INBOX",
            |m| m.subject.contains("ЖКХ 105"),
            WAIT,
        )
        .await;

    // 5. A stream of forged replies to one case from a configured person's address (the
    // supervisor's, without their proof): explained once to that person, recorded, never a
    // flood. (A stranger's are never answered at all: tests/sender_e2e.rs.)
    for i in 0..12 {
        let m = stack.compose(
            &p.supervisor(),
            &[&p.service()],
            &format!("Re: [{case}] ЖКХ"),
            &format!("СОГЛАСОВАНО {i}"),
            &stack.new_message_id(),
            None,
        );
        stack.append(&p.service(), "INBOX", &m).await;
    }
    still_forwards(stack, &p, "106").await;
    // Everything before 106 was handled: the supervisor's mailbox holds all there will be.
    let explanations = stack
        .fetch_all(&p.supervisor(), "INBOX")
        .await
        .into_iter()
        .filter(|m| m.subject.contains(&format!("[{case}]")))
        .count();
    assert_eq!(explanations, 1, "a forged stream is explained once");
    let forged = svc.case(1).await;
    let refusals = forged
        .history
        .iter()
        .filter(|h| h.event == "rejected_reply")
        .count();
    assert_eq!(
        refusals, 3,
        "the case records three refusals, the ledger the rest"
    );

    // 6. An absence until 9999: refused with the reason, the executor stays on duty.
    to_service(
        stack,
        &p,
        &p.executor("housing"),
        &stack.compose(
            &p.executor("housing"),
            &[&p.service()],
            "ОТСУТСТВУЮ ДО 31.12.9999",
            "",
            &stack.new_message_id(),
            None,
        ),
    )
    .await;
    let refusal = stack
        .wait_for(
            &p.executor("housing"),
            "INBOX",
            |m| m.subject.contains("Письмо не принято") && m.text.contains("90 days"),
            WAIT,
        )
        .await;
    assert!(!refusal.subject.contains("[OTK-"), "{}", refusal.subject);
    // Still housing's, not the deputy's.
    still_forwards(stack, &p, "107").await;

    // 7. A notification with an 8 MB photo: forwarded with the photo, and intake goes on.
    let photo: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let photo_b64 = base64_lines(&photo);
    let mid = stack.new_message_id();
    let with_photo = format!(
        "From: {monitor}\r\nTo: {service}\r\nSubject: Новый инцидент №108\r\nMessage-ID: <{mid}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Номер инцидента: 108\nРубрика: ЖКХ 108\nЛокация: с. Волчиха\nАвтор: Фото\n\
         Ссылка: https://vk.com/wall-1_108\nТекст сообщения:\nЯма на дороге, фото.\n\r\n\
         --b1\r\nContent-Type: image/jpeg; name=\"photo.jpg\"\r\n\
         Content-Disposition: attachment; filename=\"photo.jpg\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{photo_b64}\r\n--b1--\r\n",
        monitor = stack.addr(&p.monitor()),
    );
    stack
        .append(&p.service(), "INBOX", with_photo.as_bytes())
        .await;
    let fwd = stack
        .wait_for(
            &p.executor("housing"),
            "INBOX",
            |m| m.subject.contains("ЖКХ 108"),
            WAIT,
        )
        .await;
    assert!(
        fwd.raw.len() > 8 * 1024 * 1024,
        "the photo travels with the case: {} bytes",
        fwd.raw.len()
    );
    still_forwards(stack, &p, "109").await;

    // 8. Over imap.max_message_size: set aside unread, the coordinator told once.
    let big = format!(
        "From: {monitor}\r\nTo: {service}\r\nSubject: Огромное\r\nMessage-ID: <big@x.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n{}",
        "x".repeat(13 * 1024 * 1024),
        monitor = stack.addr(&p.monitor()),
    );
    stack.append(&p.service(), "INBOX", big.as_bytes()).await;
    still_forwards(stack, &p, "110").await;
    let told = stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| m.text.contains("Огромное"),
            WAIT,
        )
        .await;
    assert!(told.text.contains("imap.max_message_size"), "{}", told.text);
    let rejected = stack
        .fetch_all(&p.service(), &server_mailbox("otklik/rejected"))
        .await;
    assert!(
        rejected.iter().any(|m| m.subject == "Огромное"),
        "the large message is kept in the rejected mailbox"
    );

    // Nothing is left in the intake mailbox, and the service still runs.
    let left = stack.fetch_all(&p.service(), "INBOX").await;
    assert!(left.is_empty(), "{} messages left in INBOX", left.len());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_secret_file_stops_the_start_with_a_clear_error() {
    let stack = MailStack::shared();
    let p = People::new("hostile-secret");
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    std::fs::write(state.join("secret"), "").expect("empty secret");
    let text = config_for(stack, &p, dir.path(), ALWAYS_CALENDAR);
    let (_, config) = write_config(dir.path(), &text);
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let controls = otklik::daemon::Controls {
        shutdown,
        reload: std::sync::Arc::new(tokio::sync::Notify::new()),
    };
    let run = tokio::time::timeout(
        Duration::from_secs(60),
        otklik::daemon::run(config, controls),
    );
    match run.await {
        Ok(Err(e)) => {
            let msg = e.to_string();
            assert!(msg.contains("at least 32 random bytes"), "{msg}");
            assert_eq!(
                e.exit_code(),
                1,
                "a bad secret needs the admin, not a restart"
            );
        }
        Ok(Ok(())) => panic!("the service ran with an empty secret"),
        Err(_) => panic!("the service started with an empty secret"),
    }
}

/// Base64 in 76-character lines (RFC 2045), written here to need no extra crate.
fn base64_lines(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 57 * 2 + 4);
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
