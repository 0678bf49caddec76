//! Beyond the helpdesks end to end: one's own queue by email, absence and deputies,
//! deadlines in the official's calendar.

use otklik_testkit as support;

use std::collections::BTreeMap;

use support::mailstack::{MailStack, Received, server_mailbox};
use support::service::*;

use otklik_core::workflow::State;

async fn start(prefix: &str) -> (&'static MailStack, People, tempfile::TempDir, Service) {
    start_on_shared(prefix, ALWAYS_CALENDAR).await
}

async fn write(stack: &MailStack, p: &People, from: &str, subject: &str, body: &str) {
    let raw = stack.compose(
        from,
        &[&p.service()],
        subject,
        body,
        &stack.new_message_id(),
        None,
    );
    to_service(stack, p, from, &raw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_cases_for_the_executor_the_coordinator_and_nobody_else() {
    let (stack, p, _dir, svc) = start("queue").await;
    for (id, topic) in [("7001", "ЖКХ"), ("7002", "Дороги"), ("7003", "Образование")]
    {
        stack
            .append(
                &p.service(),
                "INBOX",
                &notification(stack, &p, id, topic, id, "Текст.", ""),
            )
            .await;
    }
    svc.wait_cases(3).await;

    write(stack, &p, &p.executor("housing"), "МОИ ДЕЛА", "").await;
    // Anyone can write the executor's address: the list comes once they confirm.
    confirm(stack, &p.executor("housing"), "МОИ ДЕЛА").await;
    let mine = stack
        .wait_for(
            &p.executor("housing"),
            "INBOX",
            |m| m.subject.starts_with("Мои дела"),
            WAIT,
        )
        .await;
    assert!(
        mine.text.contains("[OTK-1]") && mine.text.contains("[OTK-2]"),
        "{}",
        mine.text
    );
    assert!(!mine.text.contains("[OTK-3]"), "not theirs: {}", mine.text);
    assert!(
        mine.html.as_deref().is_some_and(|h| h.contains("<table")),
        "an HTML table too"
    );
    assert!(mine.text.contains("mailto:"), "links to answer");

    write(stack, &p, &p.coordinator(), "my cases", "").await;
    confirm(stack, &p.coordinator(), "МОИ ДЕЛА").await;
    let all = stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| m.subject.starts_with("Мои дела"),
            WAIT,
        )
        .await;
    for id in ["[OTK-1]", "[OTK-2]", "[OTK-3]"] {
        assert!(all.text.contains(id), "{}", all.text);
    }
    assert!(
        all.text.contains("== Шишова") && all.text.contains("== Кузнецова"),
        "grouped by executor: {}",
        all.text
    );

    // A stranger gets nothing; their mail is rejected.
    write(stack, &p, &p.stranger(), "МОИ ДЕЛА", "").await;
    stack
        .wait_for(
            &p.service(),
            &server_mailbox("otklik/rejected"),
            |m| m.from.starts_with(&p.stranger()),
            WAIT,
        )
        .await;
    assert!(stack.fetch_all(&p.stranger(), "INBOX").await.is_empty());
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absence_sends_new_cases_to_the_deputy_until_back() {
    let (stack, p, _dir, svc) = start("absence").await;
    // A month from today: within service.max_absence (90 days by default).
    let until = (chrono::Utc::now() + chrono::Duration::days(30)).format("%d.%m.%Y");
    write(
        stack,
        &p,
        &p.executor("housing"),
        "Отпуск",
        &format!("ОТСУТСТВУЮ ДО {until}"),
    )
    .await;
    confirm(stack, &p.executor("housing"), "ОТСУТСТВУЮ ДО").await;
    stack
        .wait_for(
            &p.executor("housing"),
            "INBOX",
            |m| m.subject.contains("Отсутствие записано"),
            WAIT,
        )
        .await;
    stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| m.subject.contains("Отсутствие") && m.subject.contains("Шишова"),
            WAIT,
        )
        .await;

    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(stack, &p, "8001", "ЖКХ", "A", "Нет воды.", ""),
        )
        .await;
    let to_deputy = stack
        .wait_for(&p.executor("economy"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    assert!(
        to_deputy
            .text
            .contains("замещаете отсутствующего исполнителя housing"),
        "{}",
        to_deputy.text
    );
    let c = svc.case(1).await;
    assert_eq!(c.executor.as_deref(), Some("economy"));
    assert!(
        c.history
            .iter()
            .any(|h| h.detail.contains("on behalf of absent housing"))
    );

    write(stack, &p, &p.executor("housing"), "НА МЕСТЕ", "").await;
    confirm(stack, &p.executor("housing"), "НА МЕСТЕ").await;
    stack
        .wait_for(
            &p.executor("housing"),
            "INBOX",
            |m| m.subject.contains("С возвращением"),
            WAIT,
        )
        .await;
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(stack, &p, "8002", "ЖКХ", "B", "Нет света.", ""),
        )
        .await;
    stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-2"), WAIT)
        .await;
    assert_eq!(svc.case(2).await.executor.as_deref(), Some("housing"));
    svc.stop().await;
}

/// The events of the iCalendar part of a mail: UID → (DTEND, STATUS), read with an
/// independent parser.
fn events(m: &Received) -> BTreeMap<String, (String, String)> {
    let (_, ctype, bytes) = m
        .attachments
        .iter()
        .find(|a| a.1.starts_with("text/calendar"))
        .unwrap_or_else(|| panic!("no calendar part: {}", m.summary()));
    assert!(ctype.starts_with("text/calendar"));
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("\r\n"), "CRLF line ends");
    assert!(
        text.split("\r\n").all(|l| l.len() <= 75),
        "folded at 75 octets"
    );
    assert!(text.contains("METHOD:PUBLISH"));
    let mut out = BTreeMap::new();
    for cal in ical::IcalParser::new(text.as_bytes()) {
        let cal = cal.expect("the calendar parses");
        for ev in cal.events {
            let get = |name: &str| {
                ev.properties
                    .iter()
                    .find(|p| p.name == name)
                    .and_then(|p| p.value.clone())
                    .unwrap_or_default()
            };
            assert!(!get("DTSTAMP").is_empty(), "DTSTAMP");
            assert!(
                ev.alarms
                    .iter()
                    .all(|a| a.properties.iter().any(|p| p.name == "TRIGGER"))
            );
            out.insert(get("UID"), (get("DTEND"), get("STATUS")));
        }
    }
    out
}

fn ical_utc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_arrive_in_the_calendar_and_are_replaced_and_cancelled() {
    let (stack, p, _dir, svc) = start("ical").await;
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(stack, &p, "9001", "ЖКХ", "A", "Нет воды.", ""),
        )
        .await;
    let forward = stack
        .wait_for(&p.executor("housing"), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    let c = svc.case(1).await;
    let ev = events(&forward);
    assert_eq!(ev.len(), 2, "draft and answer: {ev:?}");
    assert_eq!(
        ev["otklik-1-draft@otklik.test"],
        (ical_utc(c.deadlines.draft.unwrap()), "CONFIRMED".into())
    );
    assert_eq!(
        ev["otklik-1-answer@otklik.test"],
        (ical_utc(c.deadlines.answer.unwrap()), "CONFIRMED".into())
    );

    // A draft, returned for rework: the rework event arrives (the draft one is cancelled).
    stack
        .reply(&p.executor("housing"), &forward, "Проект ответа.")
        .await;
    let approval = mail_about(stack, &p.coordinator(), "OTK-1", "На согласование").await;
    stack
        .reply(&p.coordinator(), &approval, "ДОРАБОТАТЬ добавьте сроки")
        .await;
    let returned = mail_about(stack, &p.executor("housing"), "OTK-1", "Возвращено").await;
    let c = svc
        .wait_case(1, "rework", |c| c.state == State::Rework)
        .await;
    let ev = events(&returned);
    assert_eq!(
        ev["otklik-1-rework@otklik.test"],
        (ical_utc(c.deadlines.rework.unwrap()), "CONFIRMED".into())
    );
    assert_eq!(ev["otklik-1-draft@otklik.test"].1, "CANCELLED");
    assert_eq!(ev["otklik-1-answer@otklik.test"].1, "CONFIRMED");

    // Reworked and approved: what is left is cancelled.
    stack
        .reply(
            &p.executor("housing"),
            &returned,
            "Проект ответа со сроками.",
        )
        .await;
    let approval2 = stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| about(m, "OTK-1") && m.text.contains("со сроками"),
            WAIT,
        )
        .await;
    stack
        .reply(&p.coordinator(), &approval2, "СОГЛАСОВАНО")
        .await;
    let approved = mail_about(stack, &p.executor("housing"), "OTK-1", "] Согласовано:").await;
    // Approved, not yet posted (cl. 6: prepared and posted): the answer deadline stays.
    let ev = events(&approved);
    assert_eq!(ev.len(), 3);
    assert!(
        ev.iter()
            .all(|(uid, (_, status))| (status == "CONFIRMED") == uid.contains("-answer@")),
        "{ev:?}"
    );
    // Posted: what is left is cancelled.
    stack
        .reply(&p.executor("housing"), &approved, "ОПУБЛИКОВАНО")
        .await;
    let posted = stack
        .wait_for(
            &p.executor("housing"),
            "INBOX",
            |m| about(m, "OTK-1") && m.subject.contains("публикация"),
            WAIT,
        )
        .await;
    let ev = events(&posted);
    assert!(
        ev.values().all(|(_, status)| status == "CANCELLED"),
        "{ev:?}"
    );
    assert_eq!(ev.len(), 3);
    // The publisher's copy carries no calendar.
    let press = stack
        .wait_for(&p.publisher(), "INBOX", |m| about(m, "OTK-1"), WAIT)
        .await;
    assert!(
        press
            .attachments
            .iter()
            .all(|a| !a.1.starts_with("text/calendar"))
    );
    svc.stop().await;
}
