//! The regulation to the letter, end to end: the real service against the real Dovecot and
//! Postfix, a 24/7 calendar and second-scale deadlines.
//!
//! * an interim answer approved and posted, then the final draft after the answer deadline:
//!   no overdue mail to anyone (cl. 9);
//! * an approved answer not posted: a reminder, then an escalation at the answer deadline;
//!   `ОПУБЛИКОВАНО` from the executor or the publisher closes the case, and the report
//!   counts posting beside approval (cl. 6).
//!
//! No timing assertions: the tests wait (generously) for mail that must come, and check
//! absence only once a later event that must come after has arrived.

use otklik_testkit as support;

use std::time::Duration;

use chrono::Utc;
use support::mailstack::{MailStack, Received, server_mailbox};
use support::service::*;

/// Default: answer 90 s after detection, draft 45 s before it.
const DEADLINES: &str = r#"answer = "90s"
draft_before_answer = "45s"
rework = "60s"
final_after_interim = "7d""#;

/// The answer steps: a reminder to the executor 40 s before, the escalation at it.
const LADDER: &str = r#"
[[escalations]]
deadline = "answer"
at = "-40s"
notify = ["executor"]

[[escalations]]
deadline = "answer"
at = "0s"
notify = ["coordinator", "supervisor"]

[[escalations]]
deadline = "final"
at = "0s"
notify = ["coordinator", "supervisor"]
"#;

fn incident(stack: &MailStack, p: &People, id: &str) -> Vec<u8> {
    let body = format!(
        "Поступил новый инцидент для отработки.\n\nНомер инцидента: {id}\nРубрика: ЖКХ\nЛокация: с. Волчиха\nИсточник: ВКонтакте\nАвтор: Автор {id}\nСсылка: https://vk.com/wall-1_{id}\n\nТекст сообщения:\nНет воды третий день.\n"
    );
    stack.compose(
        &p.monitor(),
        &[&p.service()],
        &format!("Новый инцидент №{id}"),
        &body,
        &stack.new_message_id(),
        None,
    )
}

async fn start(prefix: &str) -> (&'static MailStack, People, tempfile::TempDir, Service) {
    let stack = MailStack::shared();
    let p = People::new(prefix);
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(
        stack,
        &p,
        &dir.path().join("state").display().to_string(),
        ALWAYS_CALENDAR,
        DEADLINES,
        LADDER,
    );
    // The coordinator hears of every new case (the default).
    let text = text.replace(", new_cases = false", "");
    let svc = Service::start(dir.path(), &text).await;
    (stack, p, dir, svc)
}

/// The `n`-th (1-based) mail about `case` in `user`'s INBOX whose subject has `what`.
async fn nth_about(stack: &MailStack, user: &str, case: &str, what: &str, n: usize) -> Received {
    let mut all = stack
        .wait_for_count(user, "INBOX", 1, WAIT)
        .await
        .into_iter()
        .filter(|m| about(m, case) && m.subject.contains(what))
        .collect::<Vec<_>>();
    let until = tokio::time::Instant::now() + WAIT;
    while all.len() < n {
        assert!(
            tokio::time::Instant::now() < until,
            "no mail #{n} «{what}» about {case} for {user}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        all = stack
            .fetch_all(user, "INBOX")
            .await
            .into_iter()
            .filter(|m| about(m, case) && m.subject.contains(what))
            .collect();
    }
    all.swap_remove(n - 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_draft_after_a_posted_interim_answer_sends_no_overdue_mail() {
    let (stack, p, _dir, svc) = start("decree-interim").await;
    stack
        .append(&p.service(), "INBOX", &incident(stack, &p, "7101"))
        .await;
    let housing = p.executor("housing");
    let new_case = mail_about(stack, &housing, "OTK-1", "Новое сообщение").await;
    // Officials by name and patronymic; the coordinator named in the signature.
    // The salutation opens the body, after the one-line ask and the subject at the top.
    assert!(
        new_case
            .text
            .lines()
            .any(|l| l == "Уважаемая Татьяна Михайловна!"),
        "{}",
        new_case.text
    );
    assert!(
        new_case.text.contains("Координатор: Балакирева Ольга"),
        "{}",
        new_case.text
    );
    // Cl. 5: the coordinator is told of the new case as it opens, and may reassign it.
    let opened = mail_about(stack, &p.coordinator(), "OTK-1", "Новое дело").await;
    assert!(opened.subject.ends_with("→ housing"), "{}", opened.subject);
    assert!(opened.text.contains("НАЗНАЧИТЬ"), "{}", opened.text);
    assert!(
        opened.text.contains("Шишова Татьяна Михайловна"),
        "{}",
        opened.text
    );
    stack
        .reply(
            &housing,
            &new_case,
            "ПРОМЕЖУТОЧНЫЙ\nЗдравствуйте! Проверяем, ответим до конца недели.",
        )
        .await;
    let for_approval = mail_about(stack, &p.coordinator(), "OTK-1", "согласование").await;
    // Who waits on whom, by name.
    assert!(
        for_approval
            .text
            .contains("Кто кого ждёт: Шишова Татьяна Михайловна"),
        "{}",
        for_approval.text
    );
    stack
        .reply(&p.coordinator(), &for_approval, "СОГЛАСОВАНО")
        .await;
    let approved = mail_about(stack, &housing, "OTK-1", "Согласовано").await;
    assert!(approved.text.contains("ОПУБЛИКОВАНО"), "{}", approved.text);
    stack
        .reply(
            &housing,
            &approved,
            "ОПУБЛИКОВАНО https://vk.com/wall-1_7101?reply=1",
        )
        .await;
    let case = svc
        .wait_case(1, "with the interim answer posted", |c| {
            c.published_at.is_some()
        })
        .await;
    let answer_due = case.deadlines.answer.unwrap();
    assert_eq!(case.state.as_str(), "interim_approved");
    // Posted before the executor's reminder was due, or this test proves nothing.
    assert!(
        case.published_at < Some(answer_due - chrono::Duration::seconds(40)),
        "the interim answer was posted too late for this test: {case:#?}"
    );

    // Past the answer deadline (which is met), the final draft.
    if let Ok(wait) = (answer_due + chrono::Duration::seconds(3) - Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
    let approved_mail = mail_about(stack, &housing, "OTK-1", "Согласовано").await;
    stack
        .reply(
            &housing,
            &approved_mail,
            "Здравствуйте! Водопровод на ул. Свердлова отремонтирован, вода подаётся.",
        )
        .await;
    // The final draft's own request (not the confirmation «Принято: согласование» of the
    // interim answer: a reply to that one would answer an earlier approval round).
    let for_final = nth_about(stack, &p.coordinator(), "OTK-1", "На согласование", 2).await;
    stack
        .reply(&p.coordinator(), &for_final, "СОГЛАСОВАНО")
        .await;
    // The publisher confirms from their own copy of the approved final answer.
    let final_approved = nth_about(stack, &p.publisher(), "OTK-1", "Согласовано", 2).await;
    stack
        .reply(&p.publisher(), &final_approved, "ОПУБЛИКОВАНО")
        .await;
    let case = svc
        .wait_case(1, "closed", |c| c.state.as_str() == "closed")
        .await;
    svc.outbox_drained(WAIT).await;
    assert!(case.final_published_at.is_some(), "{case:#?}");
    // Not one reminder or escalation: the answer deadline was met, the final one not due.
    assert!(
        case.history
            .iter()
            .all(|h| !matches!(h.event.as_str(), "reminder" | "escalation")),
        "{:#?}",
        case.history
    );
    for user in [
        p.coordinator(),
        p.supervisor(),
        housing.clone(),
        p.publisher(),
    ] {
        let mails = deadline_mails(stack, &user, "OTK-1").await;
        assert!(
            mails.is_empty(),
            "{user}: {:?}",
            mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
        );
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_answer_not_posted_is_reminded_then_escalated_until_published() {
    let (stack, p, _dir, svc) = start("decree-post").await;
    let housing = p.executor("housing");
    // Case 1: approved early, posted only after the escalation. Case 2: posted at once by
    // the publisher.
    stack
        .append(&p.service(), "INBOX", &incident(stack, &p, "7201"))
        .await;
    stack
        .append(&p.service(), "INBOX", &incident(stack, &p, "7202"))
        .await;
    for case in ["OTK-1", "OTK-2"] {
        let new_case = mail_about(stack, &housing, case, "Новое сообщение").await;
        stack
            .reply(
                &housing,
                &new_case,
                "Здравствуйте! Бригада выехала, вода будет сегодня.",
            )
            .await;
        let for_approval = mail_about(stack, &p.coordinator(), case, "согласование").await;
        stack
            .reply(&p.coordinator(), &for_approval, "СОГЛАСОВАНО")
            .await;
    }
    // The publisher is offered ОПУБЛИКОВАНО, and may use it.
    let to_press = mail_about(stack, &p.publisher(), "OTK-2", "Согласовано").await;
    assert!(to_press.text.contains("ОПУБЛИКОВАНО"), "{}", to_press.text);
    stack.reply(&p.publisher(), &to_press, "ОПУБЛИКОВАНО").await;
    let two = svc
        .wait_case(2, "posted", |c| c.state.as_str() == "closed")
        .await;
    assert!(two.published_at.is_some());

    // Case 1 approved and not posted: the reminder to the executor, then the escalation.
    let one = svc.case(1).await;
    assert_eq!(one.state.as_str(), "approved");
    assert!(
        one.answered_at < Some(one.deadlines.answer.unwrap() - chrono::Duration::seconds(40)),
        "approved too late for this test: {one:#?}"
    );
    let reminder = stack
        .wait_for(
            &housing,
            "INBOX",
            |m| is_deadline_mail(m, "OTK-1"),
            WAIT + Duration::from_secs(90),
        )
        .await;
    assert!(
        reminder.subject.contains("Напоминание: срок ответа"),
        "{}",
        reminder.subject
    );
    assert!(reminder.text.contains("ОПУБЛИКОВАНО"), "{}", reminder.text);
    let escalation = stack
        .wait_for(
            &p.supervisor(),
            "INBOX",
            |m| is_deadline_mail(m, "OTK-1"),
            WAIT + Duration::from_secs(90),
        )
        .await;
    assert!(
        escalation.subject.contains("Просрочено: срок ответа"),
        "{}",
        escalation.subject
    );
    stack
        .reply(
            &housing,
            &reminder,
            "ОПУБЛИКОВАНО https://vk.com/wall-1_7201?reply=2",
        )
        .await;
    let one = svc
        .wait_case(1, "posted", |c| c.state.as_str() == "closed")
        .await;
    svc.outbox_drained(WAIT).await;
    // Nothing for case 2 (posted in time); case 1: one reminder, one escalation.
    for user in [p.coordinator(), p.supervisor(), housing.clone()] {
        assert!(deadline_mails(stack, &user, "OTK-2").await.is_empty());
    }
    assert_eq!(deadline_mails(stack, &housing, "OTK-1").await.len(), 1);
    assert_eq!(
        deadline_mails(stack, &p.coordinator(), "OTK-1").await.len(),
        1
    );

    // The report: both approved in time; one posted in time, one late.
    let config = svc.config.clone();
    let day = one
        .notification
        .detected_at
        .with_timezone(&config.calendar.timezone())
        .date_naive();
    let cases = svc.cases().await;
    let rows = otklik_core::report::build(&config, &cases, day, day);
    let housing_row = rows.iter().find(|r| r.executor == "housing").unwrap();
    assert_eq!(housing_row.answered_on_time, 2, "{rows:#?}");
    assert_eq!(housing_row.posted_on_time, 1, "{rows:#?}");
    assert_eq!(housing_row.posted_late, 1, "{rows:#?}");

    // The supervisor asks for the report by mail (cl. 13): the table, the chart (a PNG
    // that decodes) and the CSV (Russian dialect: `;`) with the same counts.
    let period = format!("{}-{}", day.format("%d.%m.%Y"), day.format("%d.%m.%Y"));
    let ask = stack.compose(
        &p.supervisor(),
        &[&p.service()],
        &format!("ОТЧЁТ {period}"),
        "",
        &stack.new_message_id(),
        None,
    );
    to_service(stack, &p, &p.supervisor(), &ask).await;
    // Anyone can write the supervisor's address: the report comes once they confirm.
    confirm(stack, &p.supervisor(), "ОТЧЁТ").await;
    let got = stack
        .wait_for(
            &p.supervisor(),
            "INBOX",
            |m| m.subject.contains("Отчёт за"),
            WAIT,
        )
        .await;
    let msg = mail_parser::MessageParser::default()
        .parse(&got.raw)
        .expect("a message");
    let html = msg.body_html(0).expect("an HTML part");
    assert!(html.contains("cid:chart"), "{html}");
    let part = |ctype: &str| {
        msg.parts
            .iter()
            .find(|p| {
                use mail_parser::MimeHeaders;
                p.content_type().is_some_and(|t| {
                    format!("{}/{}", t.ctype(), t.subtype().unwrap_or("")) == ctype
                })
            })
            .map(|p| p.contents().to_vec())
            .unwrap_or_else(|| panic!("no {ctype} part"))
    };
    let png = part("image/png");
    let mut reader = png::Decoder::new(std::io::Cursor::new(&png))
        .read_info()
        .expect("the chart is a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    reader.next_frame(&mut buf).expect("the chart decodes");
    let csv = String::from_utf8(part("text/csv")).expect("UTF-8");
    let lines: Vec<Vec<&str>> = csv
        .trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.split(';').collect())
        .collect();
    assert_eq!(lines[0][0], "Исполнитель", "{csv}");
    let header = |name: &str| lines[0].iter().position(|h| *h == name).unwrap();
    let housing_line = lines.iter().find(|l| l[0] == "housing").expect("housing");
    assert_eq!(housing_line[header("Размещено в срок")], "1", "{csv}");
    assert_eq!(housing_line[header("Размещено с опозданием")], "1", "{csv}");
    assert_eq!(housing_line[header("Согласовано в срок")], "2", "{csv}");
    svc.stop().await;
}

/// The platform's notification as it reached an official's own mailbox (cl. 4), with the
/// detection time in its Date header only.
fn notification_body(id: &str) -> String {
    format!(
        "Поступил новый инцидент для отработки.\n\nНомер инцидента: {id}\nРубрика: ЖКХ\nЛокация: с. Волчиха\nИсточник: ВКонтакте\nАвтор: Автор {id}\nСсылка: https://vk.com/wall-1_{id}\n\nТекст сообщения:\nНет воды третий день.\n"
    )
}

fn original_for(stack: &MailStack, p: &People, id: &str, date: std::time::SystemTime) -> Vec<u8> {
    let body = notification_body(id);
    lettre::Message::builder()
        .from(stack.addr(&p.monitor()).parse().unwrap())
        .to(stack.addr(&p.executor("housing")).parse().unwrap())
        .subject(format!("Новый инцидент №{id}"))
        .date(date)
        .message_id(Some(format!("<{}>", stack.new_message_id())))
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(body)
        .unwrap()
        .formatted()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_forwarded_by_an_official_opens_the_case_and_the_number_goes_back() {
    let (stack, p, _dir, svc) = start("decree-fwd").await;
    let housing = p.executor("housing");
    let detected = Utc::now() - chrono::Duration::minutes(30);
    let detected = chrono::DateTime::from_timestamp(detected.timestamp(), 0).unwrap();
    // As an attached message (Outlook's and Gmail's "forward as attachment").
    let original = original_for(stack, &p, "7301", detected.into());
    let attached = lettre::Message::builder()
        .from(stack.addr(&housing).parse().unwrap())
        .to(stack.addr(&p.service()).parse().unwrap())
        .subject("Fwd: Новый инцидент №7301")
        .message_id(Some(format!("<{}>", stack.new_message_id())))
        .multipart(
            lettre::message::MultiPart::mixed()
                .singlepart(lettre::message::SinglePart::plain(
                    "Пришло мне, пересылаю.".to_string(),
                ))
                .singlepart(
                    lettre::message::Attachment::new("Новый инцидент.eml".to_string()).body(
                        original,
                        lettre::message::header::ContentType::parse("message/rfc822").unwrap(),
                    ),
                ),
        )
        .unwrap()
        .formatted();
    to_service(stack, &p, &housing, &attached).await;
    // A forward proves nothing of its sender: the case opens once they confirm.
    confirm(stack, &housing, "7301").await;
    let case = svc
        .wait_case(1, "opened from the attached forward", |_| true)
        .await;
    assert_eq!(case.notification.source_id.as_deref(), Some("7301"));
    assert_eq!(case.notification.detected_at, detected, "{case:#?}");
    assert_eq!(case.executor.as_deref(), Some("housing"));
    let back = mail_about(stack, &housing, "OTK-1", "Принято").await;
    assert!(
        back.text.contains("пересланное уведомление"),
        "{}",
        back.text
    );

    // Inline, as the coordinator's client forwards it.
    let inner_body = notification_body("7302");
    let inline = format!(
        "Коллеги, это к нам.\n\n---------- Forwarded message ---------\nFrom: Инцидент Менеджмент <{}>\nDate: {}\nSubject: Новый инцидент №7302\nTo: {}\n\n{}",
        stack.addr(&p.monitor()),
        detected.to_rfc2822(),
        stack.addr(&housing),
        inner_body
    );
    let fwd = stack.compose(
        &p.coordinator(),
        &[&p.service()],
        "Fwd: Новый инцидент №7302",
        &inline,
        &stack.new_message_id(),
        None,
    );
    to_service(stack, &p, &p.coordinator(), &fwd).await;
    confirm(stack, &p.coordinator(), "7302").await;
    let case = svc
        .wait_case(2, "opened from the inline forward", |_| true)
        .await;
    assert_eq!(case.notification.source_id.as_deref(), Some("7302"));
    assert_eq!(case.notification.detected_at, detected, "{case:#?}");
    mail_about(stack, &p.coordinator(), "OTK-2", "Принято").await;

    // A stranger's forward opens nothing.
    let fwd = stack.compose(
        &p.stranger(),
        &[&p.service()],
        "Fwd: Новый инцидент №7303",
        &inline.replace("7302", "7303"),
        &stack.new_message_id(),
        None,
    );
    to_service(stack, &p, &p.stranger(), &fwd).await;
    // Rejected as before: moved to the rejected mailbox, no case.
    stack
        .wait_for(
            &p.service(),
            &server_mailbox("otklik/rejected"),
            |m| m.subject.contains("7303"),
            WAIT,
        )
        .await;
    assert_eq!(svc.cases().await.len(), 2);
    svc.stop().await;
}
