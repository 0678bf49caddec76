//! A burst does not flood the coordinator, end to end: the real service against the real
//! Dovecot and Postfix, with the coordinator told of new cases (the default).
//!
//! The first case of a quiet minute reaches her at once in its own mail; the five that open
//! right after it wait, and reach her together in one mail at the end of the minute, each
//! with its executor and its own НАЗНАЧИТЬ button; pressing one reassigns that case.
//!
//! No timing assertions: the test waits (generously) for mail that must come, and counts
//! the coordinator's mail once the list has arrived.

use otklik_testkit as support;

use std::time::Duration;

use otklik_core::workflow::State;
use support::mailstack::Received;
use support::service::*;

/// The gathered mail comes a minute after the first notice: wait well beyond it.
const LIST_WAIT: Duration = Duration::from_secs(180);

fn is_new_case_mail(m: &Received) -> bool {
    m.subject.contains("Новое дело") || m.subject.contains("Новые дела")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_reaches_the_coordinator_as_one_list_a_minute() {
    let stack = support::mailstack::MailStack::shared();
    let p = People::new("gather");
    let dir = tempfile::tempdir().unwrap();
    let text = config_for(stack, &p, dir.path(), ALWAYS_CALENDAR);
    // The coordinator hears of every new case (the default).
    let text = text.replace(", new_cases = false", "");
    let svc = Service::start(dir.path(), &text).await;

    // One case on a quiet minute: its own notice, at once.
    stack
        .append(
            &p.service(),
            "INBOX",
            &notification(
                stack,
                &p,
                "8100",
                "ЖКХ",
                "Житель 0",
                "Нет воды на Ленина.",
                "",
            ),
        )
        .await;
    let first = mail_about(stack, &p.coordinator(), "OTK-1", "Новое дело").await;
    assert!(first.subject.ends_with("→ housing"), "{}", first.subject);

    // Five more right after it: three to housing, two to education.
    let burst = [
        ("8101", "ЖКХ", "Нет света на Мира."),
        ("8102", "Образование", "В школе холодно."),
        ("8103", "ЖКХ", "Яма на дороге у почты."),
        ("8104", "Образование", "Детский сад закрыт без объявления."),
        ("8105", "ЖКХ", "Мусор не вывозят неделю."),
    ];
    for (i, (id, topic, post)) in burst.iter().enumerate() {
        stack
            .append(
                &p.service(),
                "INBOX",
                &notification(stack, &p, id, topic, &format!("Житель {}", i + 1), post, ""),
            )
            .await;
    }
    let cases = svc.wait_cases(6).await;
    assert!(
        cases.iter().all(|c| c.state == State::Assigned),
        "{cases:#?}"
    );
    // Every executor gets each case at once, as always.
    for n in 2..=6 {
        let id = format!("OTK-{n}");
        let executor = cases
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.executor.clone())
            .expect("routed");
        mail_about(stack, &p.executor(&executor), &id, "").await;
    }

    // The coordinator: one mail listing the five.
    let list = stack
        .wait_for(
            &p.coordinator(),
            "INBOX",
            |m| m.subject.contains("Новые дела"),
            LIST_WAIT,
        )
        .await;
    assert_eq!(list.subject, "Новые дела: 5", "{}", list.subject);
    for n in 2..=6 {
        assert!(
            list.text.contains(&format!("OTK-{n}")),
            "OTK-{n}:\n{}",
            list.text
        );
    }
    assert!(
        list.text.contains("Шишова Татьяна Михайловна"),
        "{}",
        list.text
    );
    assert!(list.text.contains("Кузнецова Елена"), "{}", list.text);
    let all = stack.fetch_all(&p.coordinator(), "INBOX").await;
    let new_case_mails: Vec<&Received> = all.iter().filter(|m| is_new_case_mail(m)).collect();
    assert_eq!(
        new_case_mails.len(),
        2,
        "{:?}",
        new_case_mails
            .iter()
            .map(|m| &m.subject)
            .collect::<Vec<_>>()
    );

    // One click: the button of OTK-4 (education) reassigns it to economy.
    let html = list.html.clone().unwrap_or_default();
    let code = regex::Regex::new(r"\[OTK-4\] НАЗНАЧИТЬ [^#\n]*#([a-z2-9]{8})")
        .unwrap()
        .captures(&list.text)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| panic!("no button for OTK-4 in\n{}", list.text));
    let href = otklik_core::templates::mailto(
        &stack.addr(&p.service()),
        &format!("[OTK-4] НАЗНАЧИТЬ #{code}"),
        "",
    );
    assert!(
        html.contains(&href.replace('&', "&amp;")),
        "no OTK-4 button in {html}"
    );
    let raw = stack.compose(
        &p.coordinator(),
        &[&p.service()],
        &format!("[OTK-4] НАЗНАЧИТЬ economy #{code}"),
        "",
        &stack.new_message_id(),
        None,
    );
    to_service(stack, &p, &p.coordinator(), &raw).await;
    let c = svc
        .wait_case(4, "reassigned to economy", |c| {
            c.executor.as_deref() == Some("economy")
        })
        .await;
    assert_eq!(c.state, State::Assigned);
    stack
        .wait_for(&p.executor("economy"), "INBOX", |m| about(m, "OTK-4"), WAIT)
        .await;
    svc.stop().await;
}
