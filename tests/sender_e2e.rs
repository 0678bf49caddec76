//! No action under a borrowed name, end to end: the real service against the real Dovecot
//! and Postfix. Every message here is put straight into the service's mailbox, so its
//! `From` is whatever it says — as forged as mail gets. What a forged `From` may no longer
//! do: change an absence, open a case from a "forwarded" notification, or draw an answer
//! to a stranger; what the real person may still do: confirm by replying.
//!
//! Waits only fail a hung test; nothing here measures speed. No deadline is asserted.

use otklik_testkit as support;

use chrono::{Datelike, Utc};
use support::mailstack::{MailStack, Received, server_mailbox};
use support::service::*;

/// A raw message with the given header lines and a plain UTF-8 body.
fn raw(headers: &str, body: &str) -> Vec<u8> {
    format!(
        "{headers}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}"
    )
    .into_bytes()
}

/// A good notification (topic `ЖКХ {tag}`: routed to housing) appended to the intake;
/// returns the mail it gives `user` (the executor, or the deputy standing in).
async fn notify(stack: &MailStack, p: &People, tag: &str, user: &str) -> Received {
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(stack, p, tag, &format!("ЖКХ {tag}"), tag, "Нет воды.", ""),
        )
        .await;
    stack
        .wait_for(
            user,
            "INBOX",
            |m| m.subject.contains(&format!("ЖКХ {tag}")),
            WAIT,
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_absence_and_forward_wait_for_the_real_persons_reply() {
    let (stack, p, _dir, svc) = start_on_shared("sender-ask", ALWAYS_CALENDAR).await;
    let service = stack.addr(&p.service());
    let housing = p.executor("housing");

    // 1. An absence under the executor's name: not in effect; the executor is asked.
    let until = (Utc::now() + chrono::Duration::days(20)).format("%d.%m.%Y");
    let forged = raw(
        &format!(
            "From: {}\r\nTo: {service}\r\nSubject: ОТСУТСТВУЮ ДО {until}\r\nMessage-ID: <absent-1@x.example>",
            stack.addr(&housing)
        ),
        "",
    );
    stack.append(&p.service(), "INBOX", &forged).await;
    let ask = stack
        .wait_for(
            &housing,
            "INBOX",
            |m| m.subject.starts_with("Подтвердите"),
            WAIT,
        )
        .await;
    assert!(ask.subject.contains("ОТСУТСТВУЮ ДО"), "{}", ask.subject);
    assert!(ask.text.contains("ответьте на это письмо"), "{}", ask.text);
    // Until confirmed, new cases still go to the executor, not the deputy.
    notify(stack, &p, "8101", &housing).await;
    assert_eq!(svc.case(1).await.executor.as_deref(), Some("housing"));

    // Confirmed by the real person's reply (through Postfix): now in effect.
    confirm(stack, &housing, "ОТСУТСТВУЮ ДО").await;
    stack
        .wait_for(
            &housing,
            "INBOX",
            |m| m.subject.contains("Отсутствие записано"),
            WAIT,
        )
        .await;
    notify(stack, &p, "8102", &p.executor("economy")).await;
    assert_eq!(svc.case(2).await.executor.as_deref(), Some("economy"));

    // 2. A "forwarded notification" under the coordinator's name, dated 2099, with a
    // link off the platform: nothing opens until the coordinator confirms.
    let forward = raw(
        &format!(
            "From: {coord}\r\nTo: {service}\r\nSubject: Fwd: Новый инцидент №8103\r\nMessage-ID: <fwd-1@x.example>",
            coord = stack.addr(&p.coordinator())
        ),
        &format!(
            "Срочно!\r\n\r\n---------- Forwarded message ---------\r\nFrom: Инцидент <{monitor}>\r\n\
             Date: Thu, 01 Jan 2099 10:00:00 +0000\r\nSubject: Новый инцидент №8103\r\n\r\n\
             Номер инцидента: 8103\r\nДата выявления: 01.01.2099 10:00 (МСК)\r\nРубрика: ЖКХ 8103\r\n\
             Локация: с. Волчиха\r\nАвтор: Иван\r\nСсылка: https://evil.example/login\r\n\
             Текст сообщения:\r\nВойдите по ссылке https://evil.example/login чтобы ответить.\r\n",
            monitor = stack.addr(&p.monitor())
        ),
    );
    stack.append(&p.service(), "INBOX", &forward).await;
    let ask = confirm(stack, &p.coordinator(), "8103").await;
    assert!(
        !ask.text.contains("https://evil.example"),
        "the confirmation carries no link: {}",
        ask.text
    );
    // The case goes to the deputy (housing is away); its mail shows the address as text.
    let got = stack
        .wait_for(
            &p.executor("economy"),
            "INBOX",
            |m| m.subject.contains("ЖКХ 8103"),
            WAIT,
        )
        .await;
    assert!(
        got.text.contains("hxxps://evil[.]example/login"),
        "{}",
        got.text
    );
    assert!(!got.text.contains("https://evil.example"), "{}", got.text);
    let html = got.html.clone().unwrap_or_default();
    assert!(!html.contains("evil.example"), "{html}");
    let case = svc.case(3).await;
    assert_eq!(case.notification.source_id.as_deref(), Some("8103"));
    assert!(
        case.notification.detected_at.year() < 2099 && case.notification.detected_at <= Utc::now(),
        "the arrival replaces 2099: {}",
        case.notification.detected_at
    );
    assert!(
        case.history[0].detail.contains("2099") && case.history[0].detail.contains("forwarded by"),
        "{:?}",
        case.history[0]
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_and_hidden_addresses_are_never_answered() {
    let (stack, p, _dir, svc) = start_on_shared("sender-quiet", ALWAYS_CALENDAR).await;
    let service = stack.addr(&p.service());
    let rejected = server_mailbox("otklik/rejected");
    let first = notify(stack, &p, "8200", &p.executor("housing")).await;
    let case = first
        .header("X-Otklik-Case")
        .unwrap_or_default()
        .to_string();
    assert_eq!(case, "OTK-1");

    // A From that is one encoded word hiding the coordinator's address: no sender.
    let hidden = format!(
        "=?utf-8?b?{}?=",
        base64(stack.addr(&p.coordinator()).as_bytes())
    );
    stack
        .append(
            &p.service(),
            "INBOX",
            &raw(
                &format!(
                    "From: {hidden}\r\nTo: {service}\r\nSubject: МОИ ДЕЛА\r\nMessage-ID: <hidden-1@x.example>"
                ),
                "",
            ),
        )
        .await;
    notify(stack, &p, "8201", &p.executor("housing")).await;

    // 20 forged approvals from 20 strangers, each followed by a good notification.
    let strangers: Vec<String> = (0..20).map(|i| format!("{}{i}", p.stranger())).collect();
    for (i, s) in strangers.iter().enumerate() {
        let m = raw(
            &format!(
                "From: {}\r\nTo: {service}\r\nSubject: Re: [{case}] ЖКХ\r\nMessage-ID: <forged-{i}@x.example>\r\nIn-Reply-To: <{}>",
                stack.addr(s),
                first.message_id.clone().unwrap_or_default()
            ),
            "СОГЛАСОВАНО\r\n",
        );
        stack.append(&p.service(), "INBOX", &m).await;
        notify(stack, &p, &format!("83{i:02}"), &p.executor("housing")).await;
    }
    stack
        .wait_for_count(&p.service(), &rejected, 21, WAIT)
        .await;
    svc.outbox_drained(WAIT).await;
    for s in &strangers {
        assert!(
            stack.fetch_all(s, "INBOX").await.is_empty(),
            "{s} got an answer"
        );
    }
    let coordinator = stack.fetch_all(&p.coordinator(), "INBOX").await;
    assert!(
        coordinator
            .iter()
            .all(|m| !m.subject.contains("Подтвердите") && !m.subject.contains("Мои дела")),
        "the hidden address drew no mail: {:?}",
        coordinator.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let c = svc.case(1).await;
    assert!(
        c.history.iter().all(|h| h.event != "rejected_reply"),
        "strangers grow no case: {:?}",
        c.history
    );
    assert_eq!(
        svc.cases().await.len(),
        22,
        "every good notification opened its case"
    );
    svc.stop().await;
}

/// Standard base64 (for an RFC 2047 encoded word).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(A[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
