//! Work by email end to end (issue "Work by email"): the executor and the coordinator are
//! test actors that read their own mailboxes over IMAP and reply over SMTP through the real
//! Postfix; the real service runs the cycle of clauses 5–11.

use otklik_testkit as support;

use support::mailstack::{MailStack, Received, server_mailbox};
use support::service::*;

use otklik_core::workflow::State;

async fn start(prefix: &str) -> (&'static MailStack, People, tempfile::TempDir, Service) {
    start_on_shared(prefix, ALWAYS_CALENDAR).await
}

/// Opens case OTK-1 (topic ЖКХ → housing) and returns the executor's copy.
async fn open_case(stack: &MailStack, p: &People, svc: &Service) -> Received {
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                p,
                "5001",
                "ЖКХ",
                "Анна Смирнова",
                "Во дворе дома 5 по ул. Ленина не вывозят мусор.",
                "",
            ),
        )
        .await;
    let m = stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    svc.wait_case(1, "assigned", |c| c.state == State::Assigned)
        .await;
    m
}

fn subject_has(m: &Received, s: &str) -> bool {
    m.subject.contains(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_cycle_draft_rework_approve_publish() {
    let (stack, p, _dir, svc) = start("cycle").await;
    let forward = open_case(stack, &p, &svc).await;

    // The executor answers with a draft (no keyword) and a photo.
    let draft_text = "Здравствуйте, Анна! Мусор вывезут сегодня до 18:00.";
    stack
        .reply(&p.executor("housing"), &forward, draft_text)
        .await;
    let approval = mail_about(stack, &p.coordinator(), "OTK-1", "На согласование").await;
    assert!(approval.text.contains(draft_text), "{}", approval.text);
    assert!(
        approval.text.contains("СОГЛАСОВАНО"),
        "approve link offered"
    );
    assert!(approval.text.contains("mailto:"), "mailto links");
    mail_about(stack, &p.executor("housing"), "OTK-1", "Принято").await;
    svc.wait_case(1, "draft_submitted", |c| c.state == State::DraftSubmitted)
        .await;

    // The coordinator returns it with comments.
    stack
        .reply(
            &p.coordinator(),
            &approval,
            "ДОРАБОТАТЬ\nУкажите номер телефона диспетчерской.",
        )
        .await;
    let returned = mail_about(
        stack,
        &p.executor("housing"),
        "OTK-1",
        "Возвращено на доработку",
    )
    .await;
    assert!(
        returned
            .text
            .contains("Укажите номер телефона диспетчерской."),
        "{}",
        returned.text
    );
    assert!(
        returned.text.contains("Срок доработки"),
        "the rework deadline: {}",
        returned.text
    );
    let c = svc
        .wait_case(1, "rework", |c| c.state == State::Rework)
        .await;
    let rework_due = c.deadlines.rework.expect("rework deadline set");
    let returned_at = c
        .history
        .iter()
        .rev()
        .find(|h| h.event == "rework")
        .unwrap()
        .at;
    assert_eq!(
        (rework_due - returned_at).num_seconds(),
        3600,
        "1 working hour on a 24/7 calendar"
    );

    // The executor reworks; the coordinator approves.
    let final_text = "Здравствуйте, Анна! Мусор вывезут сегодня до 18:00. Диспетчерская: 2-22-22.";
    stack
        .reply(&p.executor("housing"), &returned, final_text)
        .await;
    let approval2 = stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| {
                about(m, "OTK-1") && subject_has(m, "На согласование") && m.text.contains("2-22-22")
            },
            WAIT,
        )
        .await;
    stack
        .reply(&p.coordinator(), &approval2, "Согласовано.")
        .await;

    // Executor and publisher get the approved text.
    let approved = mail_about(stack, &p.executor("housing"), "OTK-1", "] Согласовано:").await;
    assert!(approved.text.contains(final_text), "{}", approved.text);
    let press = stack
        .wait_for(&p.publisher(), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    assert!(press.text.contains(final_text));
    let c = svc
        .wait_case(1, "approved", |c| c.state == State::Approved)
        .await;
    assert!(c.answered_at.is_some());

    // Published → closed.
    stack
        .reply(
            &p.executor("housing"),
            &approved,
            "ОПУБЛИКОВАНО https://vk.com/wall-1_5001?reply=77",
        )
        .await;
    let c = svc
        .wait_case(1, "closed", |c| c.state == State::Closed)
        .await;
    assert_eq!(
        events(&c),
        [
            "created",
            "assigned",
            "forwarded",
            "draft",
            "rework",
            "draft",
            "approved",
            "published"
        ]
    );
    let drafts: Vec<&str> = c
        .history
        .iter()
        .filter(|h| h.event == "draft")
        .map(|h| h.detail.as_str())
        .collect();
    assert_eq!(
        drafts,
        [draft_text, final_text],
        "show must carry the drafts"
    );
    assert!(
        c.history
            .iter()
            .any(|h| h.event == "rework" && h.detail.contains("диспетчерской"))
    );
    // Every mail of the case is one thread: same thread id in References.
    let all = stack.fetch_all(&p.executor("housing"), "INBOX").await;
    let thread = forward.in_reply_to.clone().unwrap();
    assert!(
        all.iter()
            .filter(|m| about(m, "OTK-1"))
            .all(|m| m.references.contains(&thread))
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interim_answer_then_final() {
    let (stack, p, _dir, svc) = start("interim").await;
    let forward = open_case(stack, &p, &svc).await;
    stack
        .reply(
            &p.executor("housing"),
            &forward,
            "ПРОМЕЖУТОЧНЫЙ\nВопрос на контроле, ответим после проверки.",
        )
        .await;
    let approval = mail_about(stack, &p.coordinator(), "OTK-1", "На согласование").await;
    assert!(
        approval.text.contains("промежуточный ответ"),
        "{}",
        approval.text
    );
    stack
        .reply(&p.coordinator(), &approval, "СОГЛАСОВАНО")
        .await;
    let c = svc
        .wait_case(1, "interim_approved", |c| c.state == State::InterimApproved)
        .await;
    // Cl. 9: no final deadline until the interim answer is posted; the mail says how long.
    assert_eq!(c.deadlines.final_, None);
    let approved = mail_about(stack, &p.executor("housing"), "OTK-1", "] Согласовано:").await;
    assert!(
        approved
            .text
            .contains("в течение 7 рабочих дней после размещения промежуточного ответа"),
        "{}",
        approved.text
    );
    stack
        .reply(&p.executor("housing"), &approved, "ОПУБЛИКОВАНО")
        .await;
    let c = svc
        .wait_case(1, "interim posted", |c| c.deadlines.final_.is_some())
        .await;
    let posted_at = c.published_at.expect("posted");
    // 7 working days on a 24/7 calendar: from the next day to the end of the 7th day.
    let expected = (posted_at.date_naive() + chrono::Days::new(8))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    assert_eq!(c.deadlines.final_, Some(expected));

    // The final draft, approved → approved.
    stack
        .reply(
            &p.executor("housing"),
            &approved,
            "Мусор вывезен, график восстановлен.",
        )
        .await;
    let approval2 = stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| about(m, "OTK-1") && subject_has(m, "На согласование") && m.text.contains("график"),
            WAIT,
        )
        .await;
    stack.reply(&p.coordinator(), &approval2, "approve").await;
    svc.wait_case(1, "approved", |c| c.state == State::Approved)
        .await;
    stack
        .reply(
            &p.coordinator(),
            &approval2,
            "ЗАКРЫТЬ ответ опубликован пресс-службой",
        )
        .await;
    let c = svc
        .wait_case(1, "closed", |c| c.state == State::Closed)
        .await;
    assert!(events(&c).contains(&"interim".to_string()));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_decline_assign_exclude_close() {
    let (stack, p, _dir, svc) = start("other").await;
    let forward = open_case(stack, &p, &svc).await;

    // УТОЧНЕНИЕ: a clarifying question goes for approval like a draft.
    stack
        .reply(
            &p.executor("housing"),
            &forward,
            "УТОЧНЕНИЕ\nУточните, пожалуйста, номер дома.",
        )
        .await;
    let q = stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| about(m, "OTK-1") && m.text.contains("уточняющий вопрос"),
            WAIT,
        )
        .await;
    stack.reply(&p.coordinator(), &q, "СОГЛАСОВАНО").await;
    svc.wait_case(1, "assigned again after the question", |c| {
        c.state == State::Assigned && events(c).contains(&"clarification".to_string())
    })
    .await;

    // НЕ МОЯ КОМПЕТЕНЦИЯ → the coordinator reassigns with НАЗНАЧИТЬ.
    stack
        .reply(
            &p.executor("housing"),
            &forward,
            "Не моя компетенция: это вопрос образования",
        )
        .await;
    let declined = mail_about(stack, &p.coordinator(), "OTK-1", "Отказ исполнителя").await;
    svc.wait_case(1, "unassigned", |c| c.state == State::Unassigned)
        .await;
    stack
        .reply(&p.coordinator(), &declined, "НАЗНАЧИТЬ education")
        .await;
    let to_edu = stack
        .wait_for(
            &p.executor("education"),
            "INBOX",
            |m| about(m, "OTK-1"),
            WAIT,
        )
        .await;
    assert!(
        to_edu.text.contains("Во дворе дома 5"),
        "the whole case: {}",
        to_edu.text
    );
    let c = svc
        .wait_case(1, "assigned to education", |c| {
            c.executor.as_deref() == Some("education")
        })
        .await;
    assert_eq!(c.state, State::Assigned);

    // The coordinator excludes it (clause 12).
    stack
        .reply(
            &p.coordinator(),
            &declined,
            "ИСКЛЮЧИТЬ\nОскорбления в адрес главы.",
        )
        .await;
    svc.wait_case(1, "excluded", |c| c.state == State::Excluded)
        .await;
    mail_about(stack, &p.executor("education"), "OTK-1", "Снято с вас").await;
    svc.stop().await;
}

/// The action code printed for the recipient of `m`.
fn code_of(m: &Received) -> String {
    let re = regex::Regex::new(r"#([a-z2-9]{8})\b").unwrap();
    re.captures(&m.text)
        .map(|c| c[1].to_string())
        .expect("an action code in our mail")
}

/// A raw message with optional threading and a PNG attachment.
fn raw_mail(
    stack: &MailStack,
    from: &str,
    to: &str,
    subject: &str,
    body: &str,
    parent: Option<&Received>,
    png: Option<&[u8]>,
) -> Vec<u8> {
    use lettre::message::{Attachment, MultiPart, SinglePart, header::ContentType};
    let mut b = lettre::Message::builder()
        .from(stack.addr(from).parse().unwrap())
        .to(stack.addr(to).parse().unwrap())
        .subject(subject)
        .message_id(Some(format!("<{}>", stack.new_message_id())));
    if let Some(parent) = parent {
        let pid = parent.message_id.clone().unwrap();
        b = b
            .in_reply_to(format!("<{pid}>"))
            .references(format!("<{pid}>"));
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string());
    let m = match png {
        None => b.singlepart(text).unwrap(),
        Some(bytes) => b
            .multipart(
                MultiPart::mixed().singlepart(text).singlepart(
                    Attachment::new("photo.png".into())
                        .body(bytes.to_vec(), ContentType::parse("image/png").unwrap()),
                ),
            )
            .unwrap(),
    };
    m.formatted()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailto_reply_outlook_top_post_and_photo() {
    let (stack, p, _dir, svc) = start("clients").await;
    let forward = open_case(stack, &p, &svc).await;

    // A new message from a mailto: link — no References, the code in the subject.
    let subject = format!("[OTK-1] ПРОМЕЖУТОЧНЫЙ #{}", code_of(&forward));
    let raw = raw_mail(
        stack,
        &p.executor("housing"),
        &p.service(),
        &subject,
        "Проверяем, ответим до пятницы.",
        None,
        None,
    );
    to_service(stack, &p, &p.executor("housing"), &raw).await;
    let approval = stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| about(m, "OTK-1") && m.text.contains("до пятницы"),
            WAIT,
        )
        .await;

    // Outlook, top-posted, the keyword first and the quote below.
    let outlook = format!(
        "ДОРАБОТАТЬ\r\nДобавьте срок.\r\n\r\n-----Original Message-----\r\nFrom: otklik <{svc}>\r\nSent: Tuesday, December 1, 2026 10:20 AM\r\nTo: {coord}\r\nSubject: {subj}\r\n\r\n{quoted}",
        svc = stack.addr(&p.service()),
        coord = stack.addr(&p.coordinator()),
        subj = approval.subject,
        quoted = approval
            .text
            .lines()
            .take(5)
            .collect::<Vec<_>>()
            .join("\r\n"),
    );
    stack.reply(&p.coordinator(), &approval, &outlook).await;
    let returned = mail_about(stack, &p.executor("housing"), "OTK-1", "Возвращено").await;
    let c = svc
        .wait_case(1, "rework", |c| c.state == State::Rework)
        .await;
    let comments = &c
        .history
        .iter()
        .rev()
        .find(|h| h.event == "rework")
        .unwrap()
        .detail;
    assert_eq!(
        comments, "Добавьте срок.",
        "the quoted Outlook block is cut off"
    );

    // The reworked draft with a photo: the photo travels to the coordinator.
    let png = b"\x89PNG\r\n\x1a\n fake image bytes";
    let raw = raw_mail(
        stack,
        &p.executor("housing"),
        &p.service(),
        &format!("Re: {}", returned.subject),
        "Вывезем до пятницы, фото площадки прилагаем.",
        Some(&returned),
        Some(png),
    );
    to_service(stack, &p, &p.executor("housing"), &raw).await;
    let with_photo = stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| about(m, "OTK-1") && m.text.contains("фото площадки"),
            WAIT,
        )
        .await;
    assert_eq!(with_photo.attachments.len(), 1, "{}", with_photo.summary());
    assert_eq!(with_photo.attachments[0].0, "photo.png");
    assert_eq!(with_photo.attachments[0].2, png.to_vec());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_change_nothing() {
    let (stack, p, _dir, svc) = start("refuse").await;
    let forward = open_case(stack, &p, &svc).await;
    let rejected = server_mailbox("otklik/rejected");

    // A stranger replies to a forwarded copy: set aside, never answered, not in the case.
    stack.reply(&p.stranger(), &forward, "Это мой ответ").await;
    stack.wait_for_count(&p.service(), &rejected, 1, WAIT).await;
    // The supervisor replies to it (References to a mail that was not theirs): told why.
    stack
        .reply(&p.supervisor(), &forward, "Это мой ответ")
        .await;
    let why = stack
        .wait_for(&p.supervisor(), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    assert!(why.subject.contains("не принято"), "{}", why.subject);

    // The coordinator's address forged, no References, no code.
    let raw = raw_mail(
        stack,
        &p.coordinator(),
        &p.service(),
        "[OTK-1] СОГЛАСОВАНО",
        "СОГЛАСОВАНО",
        None,
        None,
    );
    to_service(stack, &p, &p.coordinator(), &raw).await;
    mail_about(stack, &p.coordinator(), "OTK-1", "не принято").await;

    // The executor tries to approve.
    stack
        .reply(&p.executor("housing"), &forward, "СОГЛАСОВАНО")
        .await;
    let no = mail_about(stack, &p.executor("housing"), "OTK-1", "не принято").await;
    assert!(no.text.contains("may not approve"), "{}", no.text);

    let c = svc
        .wait_case(1, "three refusals", |c| {
            c.history
                .iter()
                .filter(|h| h.event == "rejected_reply")
                .count()
                == 3
        })
        .await;
    assert_eq!(c.state, State::Assigned, "nothing changed");
    assert!(c.draft.is_none());

    // A reply to a closed case.
    let ask = mail_about(stack, &p.coordinator(), "OTK-1", "не принято").await;
    stack.reply(&p.coordinator(), &ask, "ЗАКРЫТЬ дубль").await;
    svc.wait_case(1, "closed", |c| c.state == State::Closed)
        .await;
    stack
        .reply(&p.executor("housing"), &forward, "Мой проект ответа")
        .await;
    svc.wait_case(1, "a fourth refusal", |c| {
        c.history
            .iter()
            .filter(|h| h.event == "rejected_reply")
            .count()
            == 4
    })
    .await;
    let c = svc.case(1).await;
    assert_eq!(c.state, State::Closed);
    stack.wait_for_count(&p.service(), &rejected, 5, WAIT).await;
    assert!(
        stack.fetch_all(&p.stranger(), "INBOX").await.is_empty(),
        "a stranger is never answered"
    );
    svc.stop().await;
}
