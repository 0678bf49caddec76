//! Intake end to end (issue "Intake"): notifications appended to the real Dovecot reach the
//! right executor through the real Postfix; what is not a new case does what docs/notifications.md and docs/keywords.md say
//! say; restarts and outages lose nothing.

use otklik_testkit as support;

use std::time::Instant;

use support::mailstack::{MailStack, server_mailbox};
use support::service::*;

fn rejected() -> String {
    server_mailbox("otklik/rejected")
}

fn processed() -> String {
    server_mailbox("otklik/processed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_reach_the_right_executor_with_fields_deadlines_and_attachments() {
    let (stack, p, _dir, svc) = start_on_shared("samples", RU_CALENDAR).await;

    let started = Instant::now();
    stack
        .append(&p.service(), "INBOX", &sample("a-plain-utf8.eml"))
        .await;
    let a = stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    eprintln!(
        "sample A: APPEND → executor's mailbox in {:?}",
        started.elapsed()
    );
    assert_eq!(
        a.subject,
        "[OTK-1] Новое сообщение: ЖКХ / Водоснабжение — Волчихинский район, с. Волчиха"
    );
    assert_eq!(a.header("Auto-Submitted"), Some("auto-generated"));
    assert!(
        a.message_id
            .as_deref()
            .is_some_and(|id| id.starts_with("otk1.") && id.ends_with("@otklik.test")),
        "{:?}",
        a.message_id
    );
    assert!(
        a.in_reply_to
            .as_deref()
            .is_some_and(|id| id.starts_with("otk1.thread."))
    );
    for needle in [
        "Рубрика: ЖКХ / Водоснабжение",
        "Территория: Волчихинский район, с. Волчиха",
        "Автор: Иван Петров",
        "Ссылка: https://vk.com/wall-123456_789",
        "Номер инцидента: 48213",
        "Третий день нет воды на улице Свердлова",
        // 10:15 MSK = 14:15 Barnaul, Tue. +9 working hours (08-12, 13-17): 2h45 on Tue,
        // then 4h + 2h15 on Wed = Wed 15:15. The draft 4 working hours before: 2h15 back to
        // 13:00, lunch, 1h45 back from 12:00 = Wed 10:15.
        "Выявлено: вт 01.12.2026 14:15",
        "Срок проекта ответа: ср 02.12.2026 10:15",
        "Срок ответа: ср 02.12.2026 15:15",
        "ПРОМЕЖУТОЧНЫЙ",
        "mailto:",
    ] {
        assert!(
            a.text.contains(needle),
            "executor mail lacks {needle:?}:\n{}",
            a.text
        );
    }

    let case = svc
        .wait_case(1, "assigned", |c| {
            c.state == otklik_core::workflow::State::Assigned
        })
        .await;
    let json = serde_json::to_value(otklik::cli::CaseJson::new(&svc.config, &case)).unwrap();
    assert_eq!(json["id"], "OTK-1");
    assert_eq!(json["state"], "assigned");
    assert_eq!(json["executor"], "housing");
    assert_eq!(json["topic"], "ЖКХ / Водоснабжение");
    assert_eq!(json["source_id"], "48213");
    assert_eq!(json["detected_at"], "2026-12-01T14:15:00+07:00");
    assert_eq!(json["deadlines"]["draft"], "2026-12-02T10:15:00+07:00");
    assert_eq!(json["deadlines"]["answer"], "2026-12-02T15:15:00+07:00");
    assert_eq!(json["repeat_of"], serde_json::Value::Null);
    let ev: Vec<String> = events(&case);
    assert_eq!(ev, ["created", "assigned", "forwarded"]);

    // B: HTML only, windows-1251, quoted-printable, zone-less time in source_timezone.
    stack
        .append(&p.service(), "INBOX", &sample("b-html-cp1251-qp.eml"))
        .await;
    let b = stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-2"), WAIT)
        .await;
    assert!(
        b.subject.contains("Дороги — Волчихинский район"),
        "{}",
        b.subject
    );
    assert!(
        b.text
            .contains("На трассе «Волчиха — Рубцовск» яма на яме."),
        "{}",
        b.text
    );
    assert!(
        b.text.contains("Выявлено: вт 01.12.2026 18:05"),
        "{}",
        b.text
    );

    // C: flagged repeat, same author and topic as A → A's executor, linked, measures asked.
    stack
        .append(&p.service(), "INBOX", &sample("c-repeat-base64-en.eml"))
        .await;
    let c = stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-3"), WAIT)
        .await;
    assert!(
        c.subject.starts_with("[OTK-3] Повторное сообщение:"),
        "{}",
        c.subject
    );
    assert!(
        c.text.contains("Повторное, прежнее дело: OTK-1"),
        "{}",
        c.text
    );
    assert!(c.text.contains("какие меры приняты"), "{}", c.text);
    let case3 = svc.case(3).await;
    assert_eq!(case3.repeat_of.as_deref(), Some("OTK-1"));
    assert_eq!(case3.executor.as_deref(), Some("housing"));

    // D: the screenshot goes to the executor, byte for byte.
    stack
        .append(&p.service(), "INBOX", &sample("d-attachment.eml"))
        .await;
    let d = stack
        .wait_for(
            &p.executor("education"),
            "INBOX",
            |m| about(m, "OTK-4"),
            WAIT,
        )
        .await;
    let original = otklik_core::inbound::Inbound::parse(&sample("d-attachment.eml")).unwrap();
    let files: Vec<_> = d
        .attachments
        .iter()
        .filter(|a| !a.1.starts_with("text/calendar"))
        .collect();
    assert_eq!(files.len(), 1, "{}", d.summary());
    assert_eq!(files[0].0, "screenshot.png");
    assert_eq!(files[0].1, "image/png");
    assert_eq!(files[0].2, original.attachments[0].data);

    // Every notification left the intake mailbox for processed.
    let done = stack
        .wait_for_count(&p.service(), &processed(), 4, WAIT)
        .await;
    assert_eq!(done.len(), 4);
    assert!(stack.fetch_all(&p.service(), "INBOX").await.is_empty());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_a_new_case_does_what_the_spec_says() {
    let (stack, p, _dir, svc) = start_on_shared("notcase", ALWAYS_CALENDAR).await;

    // A case to refer to.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                &p,
                "1001",
                "ЖКХ",
                "Анна",
                "Нет отопления в школе.",
                "",
            ),
        )
        .await;
    let first = stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;

    // Duplicate: the same incident id again, another Message-ID → history, no new case.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                &p,
                "1001",
                "ЖКХ",
                "Анна",
                "Нет отопления в школе.",
                "",
            ),
        )
        .await;
    svc.wait_case(1, "with a duplicate entry", |c| {
        events(c).contains(&"duplicate".to_string())
    })
    .await;

    // Clause 12: excluded, the coordinator is told, nobody is asked to answer.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                &p,
                "1002",
                "ЖКХ",
                "Злой",
                "Я тебя найду и убью, чиновник.",
                "",
            ),
        )
        .await;
    let excl = stack
        .wait_for(&p.coordinator(), "INBOX", |m| about(m, "OTK-2"), WAIT)
        .await;
    assert!(
        excl.subject.starts_with("[OTK-2] Исключено (п. 12):"),
        "{}",
        excl.subject
    );
    assert_eq!(
        svc.case(2).await.state,
        otklik_core::workflow::State::Excluded
    );

    // No rule matches: unassigned, the coordinator is asked.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                &p,
                "1003",
                "Культура",
                "Пётр",
                "Когда откроют клуб?",
                "",
            ),
        )
        .await;
    let ask = stack
        .wait_for(&p.coordinator(), "INBOX", |m| about(m, "OTK-3"), WAIT)
        .await;
    assert!(
        ask.subject.starts_with("[OTK-3] Назначьте исполнителя:"),
        "{}",
        ask.subject
    );
    assert!(ask.text.contains("НАЗНАЧИТЬ"));
    assert_eq!(
        svc.case(3).await.state,
        otklik_core::workflow::State::Unassigned
    );

    // A stranger's mail: rejected, no case, no answer.
    let raw = stack.compose(
        &p.stranger(),
        &[&p.service()],
        "Вопрос",
        "Здравствуйте, где взять справку?",
        &stack.new_message_id(),
        None,
    );
    to_service(stack, &p, &p.stranger(), &raw).await;
    stack
        .wait_for(&p.service(), &rejected(), |m| m.subject == "Вопрос", WAIT)
        .await;

    // An out-of-office reply to our mail: recorded on the case, never answered.
    let oof_id = stack.new_message_id();
    let oof = format!(
        "From: {exec}\r\nTo: {svc}\r\nSubject: Автоответ: {subj}\r\nMessage-ID: <{oof_id}>\r\nIn-Reply-To: <{parent}>\r\nAuto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nЯ в отпуске до 10 декабря.\r\n",
        exec = stack.addr(&p.executor("housing")),
        svc = stack.addr(&p.service()),
        subj = first.subject,
        parent = first.message_id.clone().unwrap(),
    );
    to_service(stack, &p, &p.executor("housing"), oof.as_bytes()).await;
    svc.wait_case(1, "with the auto-reply recorded", |c| {
        c.history
            .iter()
            .any(|h| h.event == "rejected_reply" && h.detail.contains("automatic"))
    })
    .await;

    // A bounce: rejected, nothing else.
    let bounce = format!(
        "From: MAILER-DAEMON@otklik.test\r\nTo: {svc}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe mail system: unknown user\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; x@y.z\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n",
        svc = stack.addr(&p.service()),
        id = stack.new_message_id()
    );
    stack.append(&p.service(), "INBOX", bounce.as_bytes()).await;
    stack
        .wait_for(
            &p.service(),
            &rejected(),
            |m| m.subject.starts_with("Undelivered"),
            WAIT,
        )
        .await;

    // Malformed MIME: never stops the service.
    let garbage = b"\x00\x01\x02 not a message at all \xff\xfe\r\n\r\n\x00";
    stack.append(&p.service(), "INBOX", garbage).await;
    stack
        .wait_for(
            &p.service(),
            &rejected(),
            |m| m.raw.windows(10).any(|w| w == b"not a mess"),
            WAIT,
        )
        .await;

    // And the service still works.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                &p,
                "1004",
                "Образование",
                "Ольга",
                "Нет учителя физики.",
                "",
            ),
        )
        .await;
    stack
        .wait_for(
            &p.executor("education"),
            "INBOX",
            |m| about(m, "OTK-4"),
            WAIT,
        )
        .await;

    // Exactly the four cases; nobody got anything for the rejected mail.
    assert_eq!(svc.cases().await.len(), 4);
    assert!(
        stack.fetch_all(&p.stranger(), "INBOX").await.is_empty(),
        "a stranger got an answer"
    );
    let housing = stack.fetch_all(&p.executor("housing"), "INBOX").await;
    assert!(
        housing.iter().all(|m| !m.subject.contains("не принято")),
        "the auto-reply was answered"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_and_outages_lose_nothing() {
    // Its own stack: this test stops the servers.
    let stack = MailStack::start();
    let p = People::new("outage");
    let dir = tempfile::tempdir().unwrap();
    let text = config_for(&stack, &p, dir.path(), ALWAYS_CALENDAR);
    let (path, config) = write_config(dir.path(), &text);

    // Notifications arrive while the service is down: each handled exactly once after.
    for i in 0..3 {
        stack
            .append(
                &p.service(),
                "INBOX",
                &notification(
                    &stack,
                    &p,
                    &format!("20{i}"),
                    "ЖКХ",
                    &format!("A{i}"),
                    "Текст.",
                    "",
                ),
            )
            .await;
    }
    let svc = Service::start_with(path.clone(), config.clone()).await;
    svc.wait_cases(3).await;
    stack
        .wait_for_count(&p.executor("housing"), "INBOX", 3, WAIT)
        .await;
    svc.stop().await;
    // Restarted: nothing handled again.
    let svc = Service::start_with(path.clone(), config.clone()).await;
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(&stack, &p, "210", "ЖКХ", "B", "Текст.", ""),
        )
        .await;
    svc.wait_cases(4).await;

    // Dovecot restarted under the service: it reconnects and loses nothing.
    stack.stop_dovecot();
    stack.start_dovecot();
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(&stack, &p, "211", "ЖКХ", "C", "Текст.", ""),
        )
        .await;
    svc.wait_cases(5).await;
    // A forward handed to Postfix while Dovecot was down is deferred by Postfix (4.4.2):
    // otklik's part is done once Postfix accepted it; ask Postfix to retry now.
    stack.flush_queue();
    stack
        .wait_for_count(&p.executor("housing"), "INBOX", 5, WAIT)
        .await;

    // Postfix down: the case is opened, the mail waits in the outbox, and goes once it is back.
    stack.stop_postfix();
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(&stack, &p, "212", "ЖКХ", "D", "Текст.", ""),
        )
        .await;
    svc.wait_cases(6).await;
    let (_, outbox) = svc.status().await;
    assert!(
        outbox >= 1,
        "the mail should wait in the outbox while Postfix is down"
    );
    stack.start_postfix();
    stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-6"), WAIT)
        .await;

    let cases = svc.cases().await;
    assert_eq!(cases.len(), 6, "each notification exactly once");
    // One forward per case: one Message-ID per case. (Postfix may deliver one message twice
    // when Dovecot dies after saving but before answering LMTP; that copy has the same id.)
    let mails = stack.fetch_all(&p.executor("housing"), "INBOX").await;
    let mut ids = std::collections::BTreeMap::new();
    for m in &mails {
        ids.entry(m.header("X-Otklik-Case").unwrap_or_default().to_string())
            .or_insert_with(std::collections::BTreeSet::new)
            .insert(m.message_id.clone());
    }
    assert_eq!(ids.len(), 6, "a forward per case: {ids:#?}");
    assert!(
        ids.values().all(|set| set.len() == 1),
        "one Message-ID per case: {ids:#?}"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_with_the_configured_ca_and_smtp_auth() {
    let stack = MailStack::shared();
    let p = People::new("tls");
    let dir = tempfile::tempdir().unwrap();
    let text = config_for(stack, &p, dir.path(), ALWAYS_CALENDAR);
    // IMAP over implicit TLS, SMTP with STARTTLS and AUTH, both trusting the test CA by
    // `ca_file` (the host is `localhost`, a name in the certificate).
    let ca = stack.ca_pem_path().display().to_string();
    let text = text
        .replacen(
            &format!("host = \"{}\"\nport = {}\ntls = \"none\"", stack.host(), stack.imap_port()),
            &format!("host = \"localhost\"\nport = {}\ntls = \"implicit\"\nca_file = \"{ca}\"", stack.imaps_port()),
            1,
        )
        .replacen(
            &format!("host = \"{}\"\nport = {}\ntls = \"none\"", stack.host(), stack.smtp_port()),
            &format!(
                "host = \"localhost\"\nport = {}\ntls = \"starttls\"\nca_file = \"{ca}\"\nusername = \"{}\"\npassword_env = \"OTKLIK_TEST_IMAP_PASSWORD\"",
                stack.submission_port(),
                stack.addr(&p.service())
            ),
            1,
        );
    assert!(
        text.contains("tls = \"implicit\"") && text.contains("tls = \"starttls\""),
        "{text}"
    );
    let svc = Service::start(dir.path(), &text).await;
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(stack, &p, "4401", "ЖКХ", "T", "Текст.", ""),
        )
        .await;
    stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    svc.stop().await;
}
